"""EHRSHOT's ``chexpert`` task over the synthetic world: 14 chest X-ray findings, multilabel.

The world takes no images, so this module decides which admissions get a chest X-ray, when, and
what it shows, from the latent state and the record at the study time. Everything is a seeded
draw per admission, so the same world always gives the same examples.

* Imaging: an admission is imaged with probability ``sigmoid(-0.9 + respiratory problem 1.5 +
  sepsis 1.0 + cardiac surgery 1.0 + trauma 0.8 + ICU care 0.8 + 0.4 x severity)``; the study time
  is a seeded moment between 5% and 80% of the stay (minute precision). The prediction time is the
  study time; one example per imaged admission.
* Findings: each finding other than "No Finding" is ``Bernoulli(sigmoid(logit))`` with a
  documented logit (``_logits``) of facts at the study time: heart failure (condition or
  exacerbation) for cardiomegaly, enlarged cardiomediastinum, edema and effusion; pneumonia or
  sepsis for opacity, consolidation and pneumonia; intubation, a central line, an ICU stay and
  cardiac surgery already done for support devices; surgery and ventilation for atelectasis;
  trauma for fracture and pneumothorax (also ventilation, lines, surgery; rare); cancer for a lung
  lesion and pleural findings; severity for the acute findings. "No Finding" is 1 exactly when no
  other finding is drawn, so its risk is ``prod(1 - p_k)``.
* The oracle risk of each column is that probability; labels exist only in memory.

Facts come from the record where the record shows them (procedure and ICU times before the study)
and from the latent state otherwise (conditions, problem, severity); the problem and conditions
are coded on the admission's diagnoses, so a model can learn the findings from the record.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets.ehrshot.examples import Example, TaskSpec
from medagentgym.world import WORLD_NOW

_FMT = "%Y-%m-%d %H:%M:%S"

#: EHRSHOT's CheXpert findings, as (column slug, CheXpert name), in the official order.
FINDINGS: tuple[tuple[str, str], ...] = (
    ("no_finding", "No Finding"),
    ("enlarged_cardiomediastinum", "Enlarged Cardiomediastinum"),
    ("cardiomegaly", "Cardiomegaly"),
    ("lung_lesion", "Lung Lesion"),
    ("lung_opacity", "Lung Opacity"),
    ("edema", "Edema"),
    ("consolidation", "Consolidation"),
    ("pneumonia", "Pneumonia"),
    ("atelectasis", "Atelectasis"),
    ("pneumothorax", "Pneumothorax"),
    ("pleural_effusion", "Pleural Effusion"),
    ("pleural_other", "Pleural Other"),
    ("fracture", "Fracture"),
    ("support_devices", "Support Devices"),
)
COLUMNS: tuple[str, ...] = tuple(slug for slug, _ in FINDINGS)

_RESPIRATORY = ("pneumonia", "heart failure exacerbation", "copd exacerbation")
_INTUBATION = ("9604", "9670", "9671", "9672")
_CENTRAL_LINE = ("3893",)
_CARDIAC_SURGERY = ("3615", "3961")


@dataclass(frozen=True)
class Study:
    """Facts about one chest X-ray at its study time."""

    subject_id: int
    hadm_id: int
    time: datetime
    age: int
    conditions: frozenset[str]
    problem: str
    severity: float
    in_icu: bool
    intubated: bool  # intubation / ventilation charted before the study
    central_line: bool
    cardiac_surgery: bool  # bypass or valve surgery charted before the study

    def has(self, condition: str) -> bool:
        return condition in self.conditions


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def uniform(*parts: object) -> float:
    """A seeded uniform number in [0, 1) per key."""
    return (stable_hash("ehrshot-chexpert", *parts) % (1 << 53)) / float(1 << 53)


def _logits(s: Study) -> dict[str, float]:
    """Log-odds of every finding but "No Finding" (coefficients from clinical knowledge, not fitted)."""
    age10 = (s.age - 65) / 10
    hf = s.has("heart failure") or s.problem == "heart failure exacerbation"
    hf_acute = s.problem == "heart failure exacerbation"
    pna = s.problem == "pneumonia"
    sepsis = s.problem == "sepsis"
    trauma = s.problem == "trauma"
    cancer = s.has("cancer")
    sev = s.severity
    return {
        "enlarged_cardiomediastinum": -3.0 + 1.3 * hf + 1.0 * s.cardiac_surgery + 0.3 * age10,
        "cardiomegaly": -2.7 + 2.4 * hf + 0.6 * s.has("atrial fibrillation") + 0.4 * age10,
        "lung_lesion": -3.8 + 2.8 * cancer + 0.6 * s.has("copd") + 0.3 * age10,
        "lung_opacity": -2.0 + 2.0 * pna + 1.1 * sepsis + 0.9 * hf_acute + 0.4 * sev,
        "edema": -3.2 + 2.2 * hf_acute + 1.0 * hf + 0.8 * s.has("chronic kidney disease") + 0.5 * sev,
        "consolidation": -3.3 + 2.4 * pna + 1.1 * sepsis + 0.4 * sev,
        "pneumonia": -3.6 + 3.0 * pna + 0.9 * sepsis + 0.5 * s.intubated + 0.3 * sev,
        "atelectasis": -2.8 + 2.0 * s.cardiac_surgery + 0.9 * s.intubated + 0.6 * trauma + 0.3 * age10,
        "pneumothorax": -4.4 + 2.6 * trauma + 1.0 * s.intubated + 0.8 * s.central_line + 1.2 * s.cardiac_surgery,
        "pleural_effusion": (-2.8 + 1.6 * hf + 0.8 * pna + 1.1 * cancer + 0.8 * s.cardiac_surgery
                             + 0.9 * s.has("cirrhosis") + 0.3 * sev),
        "pleural_other": -4.0 + 2.0 * cancer + 1.6 * trauma + 0.8 * s.cardiac_surgery,
        "fracture": -4.1 + 3.8 * trauma + 0.3 * age10,
        "support_devices": (-3.6 + 3.6 * s.intubated + 1.8 * s.central_line + 1.5 * s.in_icu
                            + 2.5 * s.cardiac_surgery),
    }


def probabilities(s: Study) -> tuple[float, ...]:
    """The probability of each column of ``COLUMNS`` ("No Finding" = no other finding)."""
    others = {k: sigmoid(v) for k, v in _logits(s).items()}
    none = math.prod(1.0 - p for p in others.values())
    return tuple(none if slug == "no_finding" else others[slug] for slug in COLUMNS)


def imaging_probability(problem: str, severity: float, icu: bool) -> float:
    """How likely an admission gets a chest X-ray (see the module docstring)."""
    return sigmoid(-0.9 + 1.5 * (problem in _RESPIRATORY) + 1.0 * (problem == "sepsis")
                   + 1.0 * (problem == "elective surgery") + 0.8 * (problem == "trauma")
                   + 0.8 * icu + 0.4 * severity)


def _dt(text: str) -> datetime:
    return datetime.strptime(text, _FMT)


def load_studies(con: sqlite3.Connection) -> list[Study]:
    """The seeded chest X-rays of the world, in (subject, study time) order."""
    now = _dt(WORLD_NOW)
    stays: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for hadm_id, intime, outtime in con.execute("SELECT hadm_id, intime, outtime FROM icustays"):
        stays[hadm_id].append((_dt(intime), _dt(outtime) if outtime else now))
    procs: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    codes = _INTUBATION + _CENTRAL_LINE + _CARDIAC_SURGERY
    marks = ",".join("?" * len(codes))
    for hadm_id, code, when in con.execute(
        f"SELECT hadm_id, icd9_code, charttime FROM procedures_icd WHERE icd9_code IN ({marks})", codes
    ):
        procs[hadm_id].append((code, _dt(when)))
    out: list[Study] = []
    for subject_id, hadm_id, admit, disch, age, conds, problem, severity in con.execute(
        "SELECT a.subject_id, a.hadm_id, a.admittime, a.dischtime, a.age, l.conditions, l.problem, l.severity "
        "FROM admissions a JOIN latent l USING (hadm_id) ORDER BY a.subject_id, a.admittime, a.hadm_id"
    ):
        start, end = _dt(admit), (_dt(disch) if disch else now)
        if uniform("imaged", hadm_id) >= imaging_probability(problem, severity, bool(stays.get(hadm_id))):
            continue
        fraction = 0.05 + 0.75 * uniform("time", hadm_id)
        time = (start + timedelta(seconds=(end - start).total_seconds() * fraction)).replace(second=0)
        if not start < time < end:
            continue
        before = {code for code, when in procs.get(hadm_id, ()) if when < time}
        out.append(Study(
            subject_id=subject_id, hadm_id=hadm_id, time=time, age=age,
            conditions=frozenset(c for c in conds.split(";") if c), problem=problem, severity=severity,
            in_icu=any(i <= time < o for i, o in stays.get(hadm_id, ())),
            intubated=bool(before & set(_INTUBATION)), central_line=bool(before & set(_CENTRAL_LINE)),
            cardiac_surgery=bool(before & set(_CARDIAC_SURGERY)),
        ))
    return out


def examples(con: sqlite3.Connection, task: TaskSpec) -> list[Example]:
    """The labelled chest X-rays (deterministic); columns must be ``COLUMNS``."""
    if task.name != "chexpert":
        raise KeyError(f"unknown imaging task {task.name!r}; known: chexpert")
    if tuple(task.columns) != COLUMNS:
        raise ValueError(f"chexpert columns must be {COLUMNS}, got {tuple(task.columns)}")
    out: list[Example] = []
    for s in load_studies(con):
        risk = probabilities(s)
        drawn = {slug: int(uniform("finding", s.hadm_id, slug) < p)
                 for slug, p in zip(COLUMNS, risk) if slug != "no_finding"}
        labels = tuple(int(not any(drawn.values())) if slug == "no_finding" else drawn[slug] for slug in COLUMNS)
        out.append(Example(str(s.hadm_id), s.subject_id, s.hadm_id, s.time.strftime(_FMT), labels,
                           tuple(round(p, 6) for p in risk)))
    return out
