"""Lab value grades (EHRSHOT's ``lab_*`` tasks): predict, when a lab is ordered, which of four
grades (normal, mild, moderate, severe) its result falls in.

An example is one result of the lab's items in the world; the prediction time is one second
before its charttime (the order precedes the result; the features see nothing at that minute).
Thresholds are EHRSHOT's, converted to the world's units where they differ (glucose mg/dL with
18 mg/dL per mmol/L: 70.2 / 63 / 54; hemoglobin g/dL: 12 / 11 / 7).

The oracle risk is the grade probabilities under the world's lab model (``generate.lab_row``): the
value is ``centre + half-range x (chronic shifts + problem shift x (0.5 + 0.5 min(acuity, 2.5)) +
severity effect x acuity + personal offset + noise)`` with acuity = softplus(severity at that
time); the personal offset (SD 0.35) is not stored, so it joins the noise (SD 0.3) in one normal,
whose mass is integrated over each grade's interval.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

from medagentgym.datasets.ehrshot.examples import Example, TaskSpec
from medagentgym.world import clinical

_NORMAL = NormalDist()
NOISE_SD = math.hypot(0.35, 0.3)  # personal offset and measurement noise, in half ranges


@dataclass(frozen=True)
class LabGrade:
    """Grade cut points of a lab: ``low_is_bad`` grades fall with the value (>= c0 normal, >= c1
    mild, >= c2 moderate, else severe); otherwise they rise (<= c0 normal, <= c1 mild, <= c2
    moderate, else severe)."""

    items: tuple[str, ...]  # world lab labels
    cuts: tuple[float, float, float]
    low_is_bad: bool
    unit: str
    text: str  # the grades as the prompt states them

    def grade(self, value: float) -> int:
        for index, cut in enumerate(self.cuts):
            if (value >= cut) if self.low_is_bad else (value <= cut):
                return index
        return 3

    def probabilities(self, mean: float, sd: float) -> tuple[float, float, float, float]:
        cdf = [_NORMAL.cdf((c - mean) / sd) for c in self.cuts]
        if self.low_is_bad:  # P(v >= c0), P(c1 <= v < c0), ...
            p = (1 - cdf[0], cdf[0] - cdf[1], cdf[1] - cdf[2], cdf[2])
        else:
            p = (cdf[0], cdf[1] - cdf[0], cdf[2] - cdf[1], 1 - cdf[2])
        return tuple(max(x, 0.0) for x in p)  # type: ignore[return-value]


LABS: dict[str, LabGrade] = {
    "thrombocytopenia": LabGrade(
        ("platelet count",), (150, 100, 50), True, "K/uL (10^9/L)",
        "normal >= 150, mild 100 to < 150, moderate 50 to < 100, severe < 50 (platelets, K/uL = 10^9/L)",
    ),
    "hyperkalemia": LabGrade(
        ("potassium",), (5.5, 6.0, 7.0), False, "mEq/L (mmol/L)",
        "normal <= 5.5, mild > 5.5 to 6, moderate > 6 to 7, severe > 7 (potassium, mEq/L = mmol/L)",
    ),
    "hypoglycemia": LabGrade(
        ("glucose", "glucose, whole blood"), (70.2, 63.0, 54.0), True, "mg/dL",
        "normal >= 70.2, mild 63 to < 70.2, moderate 54 to < 63, severe < 54 (glucose, mg/dL; "
        "EHRSHOT's 3.9 / 3.5 / 3.0 mmol/L)",
    ),
    "hyponatremia": LabGrade(
        ("sodium",), (135, 130, 125), True, "mEq/L (mmol/L)",
        "normal >= 135, mild 130 to < 135, moderate 125 to < 130, severe < 125 (sodium, mEq/L = mmol/L)",
    ),
    "anemia": LabGrade(
        ("hemoglobin",), (12.0, 11.0, 7.0), True, "g/dL",
        "normal >= 12, mild 11 to < 12, moderate 7 to < 11, severe < 7 (hemoglobin, g/dL; EHRSHOT's "
        "120 / 110 / 70 g/L)",
    ),
}

_CONDITIONS = {c.name: c for c in clinical.CONDITIONS}
_PROBLEMS = {p.name: p for p in clinical.PROBLEMS}


def severity_at(severity: float, admit: str, died: bool, moment: str) -> float:
    """``generate._Admission.severity_at``: survivors improve, a patient who will die worsens."""
    days = max((datetime.fromisoformat(moment) - datetime.fromisoformat(admit)).total_seconds() / 86400, 0.0)
    if died:
        return severity + 0.35 * days
    return severity * 0.72**days - 0.08 * days


def expected_effect(label: str, conditions: list[str], problem: str, acuity: float) -> float:
    """The lab's expected shift in half ranges (everything of ``lab_row`` but offset and noise)."""
    shift = sum(_CONDITIONS[c].labs.get(label, 0.0) for c in conditions if c in _CONDITIONS)
    shift += _PROBLEMS[problem].labs.get(label, 0.0) * (0.5 + 0.5 * min(acuity, 2.5))
    return shift + clinical.LAB_SEVERITY.get(label, 0.0) * acuity


def examples(con: sqlite3.Connection, task: TaskSpec) -> list[Example]:
    grade = LABS[task.params["lab"]]
    marks = ", ".join("?" * len(grade.items))
    rows = con.execute(
        "SELECT e.row_id, e.subject_id, e.hadm_id, e.charttime, e.valuenum, d.label, i.ref_low, i.ref_high, "
        "a.admittime, o.died_in_hospital, l.conditions, l.problem, l.severity "
        "FROM labevents e JOIN d_labitems d ON d.itemid = e.itemid JOIN lab_items i ON i.itemid = e.itemid "
        "JOIN admissions a ON a.hadm_id = e.hadm_id JOIN outcomes o ON o.hadm_id = e.hadm_id "
        "JOIN latent l ON l.hadm_id = e.hadm_id "
        f"WHERE d.label IN ({marks}) AND e.valuenum IS NOT NULL ORDER BY e.row_id",
        grade.items,
    ).fetchall()
    out: list[Example] = []
    for row_id, sid, hadm, charttime, value, label, low, high, admit, died, conditions, problem, severity in rows:
        when = (datetime.fromisoformat(charttime) - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
        acuity = clinical.softplus(severity_at(severity, admit, bool(died), charttime))
        centre, half = (low + high) / 2, (high - low) / 2
        mean = centre + half * expected_effect(label, [c for c in conditions.split(";") if c], problem, acuity)
        probs = grade.probabilities(mean, half * NOISE_SD)
        out.append(Example(f"{hadm}-{row_id}", sid, hadm, when, grade.grade(value), tuple(round(p, 6) for p in probs)))
    return out
