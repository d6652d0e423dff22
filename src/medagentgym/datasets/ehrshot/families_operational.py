"""Operational outcomes (EHRSHOT's ``guo_*`` tasks), predicted at 23:59 on the day of admission.

Examples are the world's finished admissions that last past the day of admission (a discharge on
that day makes the visit too short, as in EHRSHOT). Labels come from the record:

- ``guo_los``: the stay lasts 7 days or more (``outcomes.long_stay_7d``);
- ``guo_readmission``: the next admission starts within 30 days of discharge
  (``outcomes.readmit_30d``; in-hospital deaths have no label and are left out). EHRSHOT predicts
  it at 23:59 on the day of admission, and so do we;
- ``guo_icu``: an ICU stay starts after the prediction time; admissions with an ICU stay that
  starts on the day of admission are left out (EHRSHOT ignores same-day transfers).

The oracle risk is the probability ``clinical.Outcome.draw`` gives the label from the latent
state (severity, age, number of chronic conditions, problem) without the draw's noise.
"""

from __future__ import annotations

import math
import sqlite3
from statistics import NormalDist

from medagentgym.datasets.ehrshot.examples import Example, TaskSpec
from medagentgym.world.clinical import sigmoid, softplus

_NORMAL = NormalDist()
LOS_SD = 0.33  # the noise of log length of stay in Outcome.draw
_U_GRID = [0.3 + 0.7 * (i + 0.5) / 20 for i in range(20)]  # the shrink factor of a death's stay


def _los_mu(severity: float, n_conditions: int, age: int) -> float:
    return math.log(3.6) + 0.42 * severity + 0.07 * n_conditions + 0.04 * (age - 65) / 10


def _p_death(severity: float, n_conditions: int, age: int, elective: bool) -> float:
    return sigmoid(-4.0 + 1.7 * severity + 0.35 * (age - 65) / 10 + 0.15 * n_conditions - (1.5 if elective else 0.0))


def long_stay_risk(severity: float, n_conditions: int, age: int, elective: bool) -> float:
    """P(stay >= 7 days): log-normal stay, shortened by a uniform factor when the patient dies."""
    mu = _los_mu(severity, n_conditions, age)

    def p_at_least(days: float) -> float:
        return 1.0 - _NORMAL.cdf((math.log(days) - mu) / LOS_SD)

    p_die = _p_death(severity, n_conditions, age, elective)
    p_die_long = sum(p_at_least(7.0 / u) for u in _U_GRID) / len(_U_GRID)
    return (1 - p_die) * p_at_least(7.0) + p_die * p_die_long


def readmission_risk(severity: float, n_conditions: int) -> float:
    """P(readmission within 30 days | alive at discharge)."""
    return sigmoid(-2.4 + 0.35 * n_conditions + 0.3 * softplus(severity))


def icu_later_risk(severity: float, n_conditions: int, age: int, elective: bool, admit: str) -> float:
    """P(first ICU stay after the admission day | none on the admission day).

    A delayed ICU stay (transfer from the ward) starts 1.05 days or more after admission when the
    stay lasts over 2.5 days; otherwise ICU care starts 0.5-12 hours after admission, which may
    cross midnight."""
    p_icu = 1.0 if elective else sigmoid(0.2 + 1.6 * severity)
    p_delay = 0.0 if elective else sigmoid(-1.4 + 0.5 * severity)
    p_long = 1.0 - _NORMAL.cdf((math.log(2.5) - _los_mu(severity, n_conditions, age)) / LOS_SD)
    delayed = p_icu * p_delay * p_long
    early = p_icu - delayed
    hours_left = 24 - int(admit[11:13]) - int(admit[14:16]) / 60
    same_day = min(max((hours_left - 0.5) / 11.5, 0.0), 1.0)
    later = delayed + early * (1 - same_day)
    return later / max(1e-9, 1 - early * same_day)


def examples(con: sqlite3.Connection, task: TaskSpec) -> list[Example]:
    rows = con.execute(
        "SELECT a.subject_id, a.hadm_id, a.admittime, a.dischtime, a.age, o.long_stay_7d, o.readmit_30d, "
        "l.conditions, l.problem, l.severity, "
        "(SELECT MIN(i.intime) FROM icustays i WHERE i.hadm_id = a.hadm_id) "
        "FROM admissions a JOIN outcomes o ON o.hadm_id = a.hadm_id JOIN latent l ON l.hadm_id = a.hadm_id "
        "WHERE a.dischtime IS NOT NULL ORDER BY a.hadm_id"
    ).fetchall()
    out: list[Example] = []
    for sid, hadm, admit, disch, age, long_stay, readmit, conditions, problem, severity, first_icu in rows:
        if disch[:10] == admit[:10]:
            continue
        when = f"{admit[:10]} 23:59:00"
        n_cond = len([c for c in conditions.split(";") if c])
        elective = problem == "elective surgery"
        if task.name == "guo_los":
            label, risk = int(long_stay), long_stay_risk(severity, n_cond, age, elective)
        elif task.name == "guo_readmission":
            if readmit is None:
                continue
            label, risk = int(readmit), readmission_risk(severity, n_cond)
        elif task.name == "guo_icu":
            if first_icu is not None and first_icu < when:
                continue
            label = int(first_icu is not None)
            risk = icu_later_risk(severity, n_cond, age, elective, admit)
        else:
            raise KeyError(f"not an operational task: {task.name!r}")
        out.append(Example(str(hadm), sid, hadm, when, label, round(risk, 6)))
    return out
