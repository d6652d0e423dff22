"""EHRSHOT's "new diagnosis within a year" family over the synthetic world.

Six binary tasks: ``new_hypertension``, ``new_hyperlipidemia``, ``new_pancan``, ``new_celiac``,
``new_lupus`` and ``new_acutemi``. As in EHRSHOT, an example is one admission, the prediction time
is 11:59pm on its day of discharge, a patient already diagnosed at or before that time gives no
example, and the label says whether the diagnosis first appears within the next 365 days.

The world cannot supply most of these events: its chronic conditions are fixed per patient (coded
on every admission, so never *newly* diagnosed), and it has no pancreatic cancer, celiac disease or
lupus. So two kinds of labels:

* ``new_acutemi`` comes from the world where it can. Myocardial infarction is a presenting
  problem of admissions; a recorded MI is an ICD-9 410.x code on a later admission charted in the
  365 days after the prediction time. Only admissions with a full year of follow-up before the
  world's "now" count (otherwise a negative would be unknown). The world's part of the risk is the
  probability it drew that event from *given its admission schedule*: for each later admission
  inside the window, the chance that ``generate.draw_problem`` picked myocardial infarction for the
  patient's conditions (or that the long tail of diagnoses coded 410.71), combined as
  ``1 - prod(1 - p)``; zero when the world schedules no admission in the window (the oracle knows
  the latent future schedule, not the problem draw). The default world has too few such events
  (33 in 954 examples) and they are unlearnable from the record (who gets readmitted is mostly
  chance), so a label model for MI (age, male sex, coronary disease, diabetes, hypertension,
  hyperlipidemia, kidney disease) adds a second, independent draw: the
  label is ``recorded MI or Bernoulli(p_model)`` and the risk ``1 - (1 - p_world)(1 - p_model)``.
* the five others come from a documented label model: ``p = sigmoid(intercept + sum of
  coefficients x facts)`` over the latent conditions and record facts of the admission that ends
  at the prediction time (age, sex, mean labs, weights, ICU blood pressure), with coefficients
  chosen from general clinical knowledge (not fitted). The label is ``Bernoulli(p)`` from a
  stream seeded by (task, example); the oracle risk is ``p``. Such a label is the model's draw, not
  an event of the record (later admissions do not carry the new code), and every admission
  discharged alive counts, whatever its follow-up. Patients with the condition in the latent state
  or any of its codes recorded at or before the prediction time are excluded.

Labels are computed here, in memory, from a read-only connection; they are never written to any
world table or file.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets.ehrshot.examples import Example, TaskSpec
from medagentgym.world import WORLD_NOW, clinical, vocab

WINDOW = timedelta(days=365)
_FMT = "%Y-%m-%d %H:%M:%S"

#: ICD-9 prefixes of each task's diagnosis (a recorded code at or before the prediction time
#: excludes the patient; for ``new_acutemi`` a later code is the label).
CODE_PREFIXES: dict[str, tuple[str, ...]] = {
    "new_hypertension": ("401", "402", "403", "404", "405"),
    "new_hyperlipidemia": ("272",),
    "new_pancan": ("157",),
    "new_celiac": ("5790",),
    "new_lupus": ("7100",),
    "new_acutemi": ("410",),
}
#: The world condition that means the patient already has the diagnosis.
LATENT_CONDITION: dict[str, str] = {
    "new_hypertension": "hypertension",
    "new_hyperlipidemia": "hyperlipidemia",
}
TASKS: tuple[str, ...] = tuple(CODE_PREFIXES)

# Lab item ids of the world (``lab_items``) the label models read.
HEMOGLOBIN, PLATELETS, CREATININE, ALBUMIN, BILIRUBIN, GLUCOSE = 51222, 51265, 50912, 50862, 50885, 50931
_LABS = (HEMOGLOBIN, PLATELETS, CREATININE, ALBUMIN, BILIRUBIN, GLUCOSE)
#: Used when a lab was not drawn in the admission: the centre of its reference range (no signal).
_LAB_NORMAL = {HEMOGLOBIN: 14.5, PLATELETS: 295.0, CREATININE: 0.95, ALBUMIN: 4.4, BILIRUBIN: 0.65, GLUCOSE: 90.0}
_SYSTOLIC_ITEMS = (51, 455)  # arterial and non-invasive systolic pressure (ICU charts only)


@dataclass(frozen=True)
class Facts:
    """What the label models read about one admission discharged alive (all known at discharge)."""

    subject_id: int
    hadm_id: int
    admittime: datetime
    dischtime: datetime
    age: int
    female: bool
    conditions: frozenset[str]  # latent chronic conditions
    labs: dict[int, float]  # admission mean per lab item (missing -> reference centre)
    bmi: float
    weight_loss_kg: float  # admission minus discharge weight
    systolic: float | None  # mean ICU systolic pressure, None without ICU charts

    def lab(self, itemid: int) -> float:
        return self.labs.get(itemid, _LAB_NORMAL[itemid])

    def has(self, condition: str) -> bool:
        return condition in self.conditions


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _anaemia(f: Facts) -> float:
    """g/dl of haemoglobin below the sex-specific lower limit (12 female, 13 male)."""
    return max((12.0 if f.female else 13.0) - f.lab(HEMOGLOBIN), 0.0)


def _age10(f: Facts) -> float:
    return (f.age - 60) / 10


# The label models (log-odds). Coefficients follow general clinical knowledge of the risk factors
# and are scaled so each task has a useful share of positives; they are not fitted to any data.
def _logit_hypertension(f: Facts) -> float:
    sbp = 0.0 if f.systolic is None else max(f.systolic - 125.0, 0.0)
    return (-2.3 + 0.55 * _age10(f) + 1.1 * f.has("diabetes") + 1.3 * f.has("chronic kidney disease")
            + 0.6 * f.has("hyperlipidemia") + 0.12 * (f.bmi - 27.0) + 0.04 * sbp
            + 0.6 * max(f.lab(CREATININE) - 1.3, 0.0))


def _logit_hyperlipidemia(f: Facts) -> float:
    return (-3.3 + 0.45 * _age10(f) + 1.3 * f.has("diabetes") + 1.5 * f.has("coronary artery disease")
            + 0.6 * f.has("hypertension") + 0.08 * (f.bmi - 27.0) + 0.008 * max(f.lab(GLUCOSE) - 110.0, 0.0))


def _logit_pancan(f: Facts) -> float:
    return (-4.7 + 0.6 * _age10(f) + 1.3 * f.has("diabetes") + 0.9 * f.has("cancer")
            + 0.5 * max(f.weight_loss_kg, 0.0) + 1.2 * max(f.lab(BILIRUBIN) - 1.2, 0.0)
            + 0.01 * max(f.lab(GLUCOSE) - 110.0, 0.0))


def _logit_celiac(f: Facts) -> float:
    return (-4.5 - 0.55 * _age10(f) + 0.9 * f.female + 1.3 * f.has("hypothyroidism")
            + 0.6 * _anaemia(f) + 1.4 * max(3.4 - f.lab(ALBUMIN), 0.0))


def _logit_lupus(f: Facts) -> float:
    return (-5.0 - 0.6 * _age10(f) + 1.6 * f.female + 0.5 * _anaemia(f)
            + 0.012 * max(150.0 - f.lab(PLATELETS), 0.0) + 0.8 * max(f.lab(CREATININE) - 1.3, 0.0))


def _logit_acutemi(f: Facts) -> float:
    return (-4.6 + 0.5 * _age10(f) + 0.6 * (not f.female) + 1.6 * f.has("coronary artery disease")
            + 0.7 * f.has("diabetes") + 0.5 * f.has("hypertension") + 0.5 * f.has("hyperlipidemia")
            + 0.7 * f.has("chronic kidney disease"))


LABEL_MODELS: dict[str, Callable[[Facts], float]] = {
    "new_hypertension": _logit_hypertension,
    "new_hyperlipidemia": _logit_hyperlipidemia,
    "new_pancan": _logit_pancan,
    "new_celiac": _logit_celiac,
    "new_lupus": _logit_lupus,
    "new_acutemi": _logit_acutemi,
}


def uniform(*parts: object) -> float:
    """A seeded uniform number in [0, 1) per key: the label draw of one (task, example)."""
    return (stable_hash("ehrshot-label", *parts) % (1 << 53)) / float(1 << 53)


def prediction_time(dischtime: datetime) -> datetime:
    """EHRSHOT predicts at 11:59pm of the day of discharge."""
    return dischtime.replace(hour=23, minute=59, second=0, microsecond=0)


# --------------------------------------------------------------------------- the world's MI draw


def mi_problem_probability(conditions: frozenset[str]) -> float:
    """P(presenting problem = myocardial infarction) for a patient's conditions: the world's own
    problem weights (``clinical.problem_weights``, which its generator draws from)."""
    weights = clinical.problem_weights(conditions)
    names = [p.name for p in clinical.PROBLEMS]
    return weights[names.index("myocardial infarction")] / sum(weights)


def _tail_mi_probability() -> float:
    """Chance that the long tail of diagnoses codes 410.71 on a non-MI admission.

    The generator adds 1-6 (mean 3.5) distinct codes drawn from the common diagnoses (by weight)
    and 900 other codes of weight 0.35 each; 41071 is a common one.
    """
    common = vocab.read_toml("vocab/hospital.toml")["common_diagnoses"]
    total = sum(common.values()) + 0.35 * 900
    return min(3.5 * common.get("41071", 0.0) / total, 1.0)


TAIL_MI = _tail_mi_probability()


# --------------------------------------------------------------------------- reading the world


def _dt(text: str) -> datetime:
    return datetime.strptime(text, _FMT)


def load_facts(con: sqlite3.Connection) -> list[Facts]:
    """Facts of every admission discharged alive, in (subject, admission time) order."""
    labs: dict[int, dict[int, float]] = defaultdict(dict)
    marks = ",".join("?" * len(_LABS))
    for hadm_id, itemid, value in con.execute(
        f"SELECT hadm_id, itemid, AVG(valuenum) FROM labevents WHERE itemid IN ({marks}) "
        "AND valuenum IS NOT NULL GROUP BY hadm_id, itemid", _LABS
    ):
        labs[hadm_id][itemid] = value
    sbp_marks = ",".join("?" * len(_SYSTOLIC_ITEMS))
    systolic = dict(con.execute(
        f"SELECT hadm_id, AVG(valuenum) FROM chartevents WHERE itemid IN ({sbp_marks}) GROUP BY hadm_id",
        _SYSTOLIC_ITEMS,
    ).fetchall())
    rows = con.execute(
        "SELECT a.subject_id, a.hadm_id, a.admittime, a.dischtime, a.age, p.gender, l.conditions, "
        "ai.admit_weight_kg, ai.discharge_weight_kg, pi.height_cm "
        "FROM admissions a JOIN patients p USING (subject_id) JOIN latent l USING (hadm_id) "
        "JOIN admission_info ai USING (hadm_id) JOIN patient_info pi ON pi.subject_id = a.subject_id "
        "JOIN outcomes o USING (hadm_id) "
        "WHERE a.dischtime IS NOT NULL AND o.died_in_hospital = 0 "
        "ORDER BY a.subject_id, a.admittime, a.hadm_id"
    ).fetchall()
    out: list[Facts] = []
    for subject_id, hadm_id, admit, disch, age, gender, conds, w_in, w_out, height in rows:
        out.append(Facts(
            subject_id=subject_id, hadm_id=hadm_id, admittime=_dt(admit), dischtime=_dt(disch), age=age,
            female=gender == "f", conditions=frozenset(c for c in conds.split(";") if c),
            labs=labs.get(hadm_id, {}), bmi=w_in / (height / 100) ** 2,
            weight_loss_kg=(w_in - w_out) if w_out is not None else 0.0, systolic=systolic.get(hadm_id),
        ))
    return out


def _diagnoses(con: sqlite3.Connection, prefixes: tuple[str, ...]) -> dict[int, list[datetime]]:
    """Charting times of a diagnosis (any code with one of the prefixes) per patient, sorted."""
    where = " OR ".join("icd9_code LIKE ?" for _ in prefixes)
    times: dict[int, list[datetime]] = defaultdict(list)
    for subject_id, when in con.execute(
        f"SELECT subject_id, charttime FROM diagnoses_icd WHERE {where}", [p + "%" for p in prefixes]
    ):
        times[subject_id].append(_dt(when))
    return {k: sorted(v) for k, v in times.items()}


def _later_admissions(con: sqlite3.Connection) -> dict[int, list[tuple[datetime, frozenset[str]]]]:
    """Every admission (finished or not) per patient: admission time and latent conditions."""
    out: dict[int, list[tuple[datetime, frozenset[str]]]] = defaultdict(list)
    for subject_id, admit, conds in con.execute(
        "SELECT a.subject_id, a.admittime, l.conditions FROM admissions a JOIN latent l USING (hadm_id)"
    ):
        out[subject_id].append((_dt(admit), frozenset(c for c in conds.split(";") if c)))
    return out


# --------------------------------------------------------------------------- examples


def examples(con: sqlite3.Connection, task: TaskSpec) -> list[Example]:
    """The labelled examples of one new-diagnosis task (deterministic)."""
    if task.name not in CODE_PREFIXES:
        raise KeyError(f"unknown new-diagnosis task {task.name!r}; known: {', '.join(TASKS)}")
    facts = load_facts(con)
    coded = _diagnoses(con, CODE_PREFIXES[task.name])
    if task.name == "new_acutemi":
        return _acutemi_examples(con, facts, coded)
    condition = LATENT_CONDITION.get(task.name)
    model = LABEL_MODELS[task.name]
    out: list[Example] = []
    for f in facts:
        t = prediction_time(f.dischtime)
        if condition is not None and f.has(condition):
            continue
        if any(when <= t for when in coded.get(f.subject_id, ())):
            continue
        p = sigmoid(model(f))
        example_id = str(f.hadm_id)
        label = int(uniform(task.name, example_id) < p)
        out.append(Example(example_id, f.subject_id, f.hadm_id, t.strftime(_FMT), label, round(p, 6)))
    return out


def _acutemi_examples(con: sqlite3.Connection, facts: list[Facts], coded: dict[int, list[datetime]]) -> list[Example]:
    now = _dt(WORLD_NOW)
    schedule = _later_admissions(con)
    out: list[Example] = []
    for f in facts:
        t = prediction_time(f.dischtime)
        if t + WINDOW > now:
            continue  # no full year of follow-up: a negative label would be unknown
        times = coded.get(f.subject_id, ())
        if any(when <= t for when in times):
            continue
        end = t + WINDOW
        recorded = any(t < when <= end for when in times)
        miss = 1.0
        for admit, conds in schedule.get(f.subject_id, ()):
            if t < admit <= end:
                miss *= (1.0 - mi_problem_probability(conds)) * (1.0 - TAIL_MI)
        p_model = sigmoid(_logit_acutemi(f))
        example_id = str(f.hadm_id)
        label = int(recorded or uniform("new_acutemi", example_id) < p_model)
        risk = 1.0 - miss * (1.0 - p_model)
        out.append(Example(example_id, f.subject_id, f.hadm_id, t.strftime(_FMT), label, round(risk, 6)))
    return out
