"""The labelled ICU stays of mimic_extract, read from the synthetic world (build time only).

MIMIC-Extract turns each ICU stay into an hourly grid: per hour since ICU admission and per
variable, the mean of the measurements charted in that hour (an hour without one is missing).
Here the grid covers 19 variables (7 vitals from ``chartevents``, 12 labs from ``labevents``
joined to the stay by admission and time), plus the static facts a record shows at ICU
admission (age, sex, admission type, first care unit, the admission diagnosis text, hours from
hospital admission to ICU admission).

Two windows (documented in docs/mimic_extract.md):

- **24 h** for mortality and length of stay: stays still in the ICU 30 h after admission (the
  24 h window plus a 6 h gap), so no label is settled inside the window or the gap;
- **6 h** for the interventions: stays still in the ICU 16 h after admission (the window, a 6 h
  gap and the 4 h prediction window).

Labels and the oracle's latent risks are computed here from the hidden ``outcomes`` and
``latent`` tables and the record's times; they go into the hidden targets only. The ``Stay``
rows never leave the harness: the agent sees the CSV files written from their ``features``.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from medagentgym.world.clinical import PROBLEMS, sigmoid, softplus

#: (column name, chart itemids, conversion) of the vitals; both blood-pressure sources (arterial
#: line, cuff) feed one variable, as MIMIC-Extract groups its items.
VITALS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("heart_rate", (211,)),
    ("systolic_bp", (51, 455)),
    ("diastolic_bp", (8368, 8441)),
    ("mean_bp", (52, 456)),
    ("respiratory_rate", (618,)),
    ("oxygen_saturation", (646,)),
    ("temperature", (677, 678)),
)
FAHRENHEIT_ITEMS = (678,)
#: (column name, lab itemid) of the labs (blood only: the gas pH, not the urine pH).
LABS: tuple[tuple[str, int], ...] = (
    ("lactate", 50813),
    ("creatinine", 50912),
    ("blood_urea_nitrogen", 51006),
    ("white_blood_cells", 51301),
    ("platelets", 51265),
    ("bicarbonate", 50882),
    ("ph", 50820),
    ("hemoglobin", 51222),
    ("sodium", 50983),
    ("potassium", 50971),
    ("glucose", 50931),
    ("inr", 51237),
)
VARIABLES: tuple[str, ...] = tuple(v for v, _ in VITALS) + tuple(v for v, _ in LABS)
STATIC: tuple[str, ...] = ("age", "sex", "admission_type", "first_careunit", "admission_diagnosis", "hours_to_icu")

LONG_WINDOW_H = 24  # mortality and length of stay
SHORT_WINDOW_H = 6  # interventions
GAP_H = 6
PREDICTION_WINDOW_H = 4
VASOPRESSOR_ITEMS = (30047, 30051)  # levophed, vasopressin (inputevents_cv)
VENTILATION_CODES = ("9604", "9670", "9671", "9672")
#: A death counts as "in the ICU" when the hospital stay ends (the world's death time) within
#: this many hours after the ICU stay ends (the world closes a dying patient's ICU stay minutes
#: before the death is recorded).
ICU_DEATH_TOLERANCE_H = 3.0

_PROBLEMS = {p.name: p for p in PROBLEMS}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def column_names(window_h: int) -> tuple[str, ...]:
    """The wide table's feature columns: static first, then ``<variable>_hNN`` hour by hour."""
    return STATIC + tuple(f"{v}_h{h:02d}" for v in VARIABLES for h in range(window_h))


@dataclass(eq=False)  # compared (and hashed) by identity: the extracted stays are kept per process
class Stay:
    """One ICU stay: its static facts, hourly grid, labels and latent risks (hidden ones too)."""

    icustay_id: int
    subject_id: int
    hadm_id: int
    static: dict[str, object]
    icu_hours: float
    grid: dict[tuple[str, int], float] = field(default_factory=dict)  # (variable, hour) -> mean
    labels: dict[str, int] = field(default_factory=dict)  # task -> 0/1 (tasks the stay is eligible for)
    oracle: dict[str, float] = field(default_factory=dict)  # task -> latent risk
    memo: dict[int, object] = field(default_factory=dict, repr=False, compare=False)  # derived features

    def row(self, window_h: int) -> list[object]:
        """The stay's feature values in ``column_names(window_h)`` order (None: missing)."""
        values: list[object] = [self.static[name] for name in STATIC]
        for variable in VARIABLES:
            for hour in range(window_h):
                value = self.grid.get((variable, hour))
                values.append(None if value is None else round(value, 3))
        return values


def _death_logit(severity: float, age: float, n_conditions: int, elective: bool) -> float:
    """The world's in-hospital death model (``clinical.Outcome.draw``)."""
    return -4.0 + 1.7 * severity + 0.35 * (age - 65) / 10 + 0.15 * n_conditions - (1.5 if elective else 0.0)


def severity_at(severity: float, died: bool, days: float) -> float:
    """The world's hidden severity ``days`` after hospital admission (``generate._Admission``):
    a patient who will die worsens, a survivor improves."""
    days = max(days, 0.0)
    return severity + 0.35 * days if died else severity * 0.72**days - 0.08 * days


def extract(world: Path) -> list[Stay]:
    """Every finished ICU stay of at least 16 h, with its grid over the first 24 h, the labels of
    the tasks it is eligible for and the oracle's latent risks."""
    con = sqlite3.connect(f"file:{world}?mode=ro", uri=True)
    try:
        return _extract(con)
    finally:
        con.close()


def _extract(con: sqlite3.Connection) -> list[Stay]:
    rows = con.execute(
        """
        SELECT i.icustay_id, i.subject_id, i.hadm_id, i.intime, i.outtime, i.first_careunit,
               a.admittime, a.dischtime, a.admission_type, a.age, p.gender, ai.admit_diagnosis,
               l.conditions, l.problem, l.severity, o.died_in_hospital,
               (SELECT MAX(i2.outtime) FROM icustays i2 WHERE i2.hadm_id = i.hadm_id)
        FROM icustays i
        JOIN admissions a ON a.hadm_id = i.hadm_id
        JOIN patients p ON p.subject_id = i.subject_id
        JOIN admission_info ai ON ai.hadm_id = i.hadm_id
        JOIN latent l ON l.hadm_id = i.hadm_id
        JOIN outcomes o ON o.hadm_id = i.hadm_id
        WHERE i.outtime IS NOT NULL AND a.dischtime IS NOT NULL
        ORDER BY i.icustay_id
        """
    ).fetchall()
    stays: dict[int, Stay] = {}
    times: dict[int, datetime] = {}
    for (icustay_id, subject_id, hadm_id, intime_s, outtime_s, careunit, admit_s, disch_s, adm_type, age,
         gender, diagnosis, conditions, problem_name, severity, died, last_out_s) in rows:
        intime, outtime, admit, disch = _time(intime_s), _time(outtime_s), _time(admit_s), _time(disch_s)
        icu_hours = _hours(outtime, intime)
        if icu_hours < SHORT_WINDOW_H + GAP_H + PREDICTION_WINDOW_H:
            continue
        stay = Stay(
            icustay_id=icustay_id,
            subject_id=subject_id,
            hadm_id=hadm_id,
            static={
                "age": int(age),
                "sex": "M" if gender == "m" else "F",
                "admission_type": adm_type,
                "first_careunit": careunit.upper(),
                "admission_diagnosis": diagnosis.upper(),
                "hours_to_icu": round(_hours(intime, admit), 2),
            },
            icu_hours=icu_hours,
        )
        problem = _PROBLEMS[problem_name]
        n_conditions = len([c for c in conditions.split(";") if c])
        died = bool(died)
        _label_and_oracle(stay, intime, outtime, admit, disch, _time(last_out_s), severity, died, problem,
                          n_conditions)
        stays[icustay_id] = stay
        times[icustay_id] = intime
    _fill_grid(con, stays, times)
    _interventions(con, stays, times)
    return [stays[k] for k in sorted(stays)]


def _label_and_oracle(stay: Stay, intime: datetime, outtime: datetime, admit: datetime, disch: datetime,
                      last_icu_out: datetime, severity: float, died: bool, problem: object, n_conditions: int) -> None:
    """Mortality and length-of-stay labels (stays lasting past the 24 h window and the gap) and
    their oracle risks, plus the interventions' oracle risks (their labels need the events)."""
    age = float(stay.static["age"])
    elective = bool(getattr(problem, "elective", False))
    respiratory = bool(getattr(problem, "respiratory", False))
    acuity = softplus(severity)
    if stay.icu_hours >= LONG_WINDOW_H + GAP_H:
        in_icu_death = died and outtime == last_icu_out and _hours(disch, outtime) <= ICU_DEATH_TOLERANCE_H
        stay.labels["mort_icu"] = int(in_icu_death)
        stay.labels["mort_hosp"] = int(died)
        stay.labels["los_3"] = int(stay.icu_hours > 72)
        stay.labels["los_7"] = int(stay.icu_hours > 168)
        # The oracle knows the hidden severity at the prediction time (it already drifts with
        # the coming outcome, as the world's record does) and scores it in the death model.
        days = _hours(intime, admit) / 24 + (LONG_WINDOW_H + GAP_H) / 24
        now = severity_at(severity, died, days)
        risk = sigmoid(_death_logit(now, age, n_conditions, elective))
        stay.oracle["mort_icu"] = risk
        stay.oracle["mort_hosp"] = risk
        # ICU length: log-normal with median 1.4 + 0.9 acuity days and sigma 0.5 (generate.icu_stays).
        median = math.log(1.4 + 0.9 * acuity)
        stay.oracle["los_3"] = _normal_sf((math.log(3.0) - median) / 0.5)
        stay.oracle["los_7"] = _normal_sf((math.log(7.0) - median) / 0.5)
    # Interventions: the world's logistic probabilities given ICU care (clinical.Outcome.draw).
    stay.oracle["vasopressor"] = sigmoid(-2.6 + 1.9 * severity)
    stay.oracle["ventilation"] = sigmoid(
        -2.2 + 1.7 * severity + (0.9 if respiratory else 0.0) + (1.2 if elective else 0.0)
    )


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _fill_grid(con: sqlite3.Connection, stays: dict[int, Stay], intimes: dict[int, datetime]) -> None:
    """Hourly means of the vitals (by ICU stay) and labs (by admission and time)."""
    sums: dict[tuple[int, str, int], list[float]] = defaultdict(list)
    vital_of = {item: name for name, items in VITALS for item in items}
    marks = ",".join(str(i) for i in vital_of)
    for icustay_id, itemid, charttime, value in con.execute(
        f"SELECT icustay_id, itemid, charttime, valuenum FROM chartevents WHERE itemid IN ({marks}) "
        "AND valuenum IS NOT NULL"
    ):
        if icustay_id not in stays:
            continue
        hour = math.floor(_hours(_time(charttime), intimes[icustay_id]))
        if 0 <= hour < LONG_WINDOW_H:
            if itemid in FAHRENHEIT_ITEMS:
                value = (value - 32) / 1.8
            sums[(icustay_id, vital_of[itemid], hour)].append(float(value))
    by_hadm: dict[int, list[int]] = defaultdict(list)
    for stay in stays.values():
        by_hadm[stay.hadm_id].append(stay.icustay_id)
    lab_of = {item: name for name, item in LABS}
    marks = ",".join(str(i) for i in lab_of)
    for hadm_id, itemid, charttime, value in con.execute(
        f"SELECT hadm_id, itemid, charttime, valuenum FROM labevents WHERE itemid IN ({marks}) "
        "AND valuenum IS NOT NULL"
    ):
        for icustay_id in by_hadm.get(hadm_id, ()):
            hour = math.floor(_hours(_time(charttime), intimes[icustay_id]))
            if 0 <= hour < LONG_WINDOW_H:
                sums[(icustay_id, lab_of[itemid], hour)].append(float(value))
    for (icustay_id, variable, hour), values in sums.items():
        stays[icustay_id].grid[(variable, hour)] = sum(values) / len(values)


def _interventions(con: sqlite3.Connection, stays: dict[int, Stay], intimes: dict[int, datetime]) -> None:
    """Intervention status in the prediction window (hours 12-16 after ICU admission).

    The world starts vasopressors (``inputevents_cv`` levophed / vasopressin rows) and
    ventilation (ICD-9 procedure 96.04 intubation, then 96.7x) within a few hours of the first ICU
    admission of a treated admission and keeps them until ICU discharge; so "on in the window"
    means started before the window ends and the stay lasting through it (the stays here all do).
    """
    window_end = SHORT_WINDOW_H + GAP_H + PREDICTION_WINDOW_H
    started: dict[str, set[int]] = {"vasopressor": set(), "ventilation": set()}
    marks = ",".join(str(i) for i in VASOPRESSOR_ITEMS)
    for icustay_id, charttime in con.execute(
        f"SELECT icustay_id, MIN(charttime) FROM inputevents_cv WHERE itemid IN ({marks}) GROUP BY icustay_id"
    ):
        if icustay_id in stays and _hours(_time(charttime), intimes[icustay_id]) < window_end:
            started["vasopressor"].add(icustay_id)
    by_hadm: dict[int, list[int]] = defaultdict(list)
    for stay in stays.values():
        by_hadm[stay.hadm_id].append(stay.icustay_id)
    codes = ",".join(f"'{c}'" for c in VENTILATION_CODES)
    for hadm_id, charttime in con.execute(
        f"SELECT hadm_id, MIN(charttime) FROM procedures_icd WHERE icd9_code IN ({codes}) GROUP BY hadm_id"
    ):
        for icustay_id in by_hadm.get(hadm_id, ()):
            offset = _hours(_time(charttime), intimes[icustay_id])
            if -1.0 <= offset < window_end:
                started["ventilation"].add(icustay_id)
    for icustay_id, stay in stays.items():
        for task, ids in started.items():
            stay.labels[task] = int(icustay_id in ids)
