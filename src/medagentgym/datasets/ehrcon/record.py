"""What a note can be rendered from: one admission's rows of the MIMIC-III view, read once.

Only the measured entities of ``entities.MEASURED`` and prescriptions with a plain numeric dose
and a clean drug name are kept, so every statement a note makes can be checked by one rule.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medagentgym.datasets.ehrcon.entities import BY_NAME, MEASURED

_CLEAN_DRUG = re.compile(r"^[a-z][a-z0-9\- ]{2,40}$")
_NUMERIC = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Measurement:
    entity: str
    time: str  # YYYY-MM-DD HH:MM
    value: float
    unit: str


@dataclass(frozen=True)
class Prescription:
    drug: str
    dose: str  # as charted (numeric text)
    unit: str
    route: str
    start: str  # YYYY-MM-DD HH:MM


@dataclass(frozen=True)
class Admission:
    hadm_id: int
    subject_id: int
    admittime: str
    dischtime: str
    age: int
    gender: str
    discharge_location: str
    careunit: str  # first ICU care unit, "" when the stay had none
    diagnoses: tuple[str, ...]
    measurements: tuple[Measurement, ...]  # sorted by time
    prescriptions: tuple[Prescription, ...]  # sorted by start

    def drugs(self) -> set[str]:
        return {p.drug for p in self.prescriptions}


def clean_drug(name: str) -> bool:
    """Whether a drug name can be an entity (a line head that no lab name or regex confuses)."""
    return bool(_CLEAN_DRUG.match(name)) and "  " not in name and name.lower() not in {k.lower() for k in BY_NAME}


@lru_cache(maxsize=4)
def finished_admissions(db: Path) -> tuple[int, ...]:
    """Admissions with a discharge (a discharge summary needs one) and some measured values."""
    with closing(_connect(db)) as con:
        rows = con.execute(
            "SELECT hadm_id FROM admissions WHERE dischtime IS NOT NULL AND hadm_id IN "
            "(SELECT DISTINCT hadm_id FROM labevents) ORDER BY hadm_id"
        ).fetchall()
    return tuple(r[0] for r in rows)


@lru_cache(maxsize=4)
def drug_pool(db: Path) -> tuple[Prescription, ...]:
    """Typical (drug, dose, unit, route) of the whole database: events a note may wrongly claim."""
    with closing(_connect(db)) as con:
        rows = con.execute(
            "SELECT drug, dose_val_rx, dose_unit_rx, route, count(*) AS n FROM prescriptions "
            "GROUP BY drug, dose_val_rx, dose_unit_rx, route ORDER BY n DESC, drug"
        ).fetchall()
    seen: set[str] = set()
    pool = []
    for drug, dose, unit, route, _ in rows:
        if drug in seen or not clean_drug(drug) or not _NUMERIC.match(str(dose)):
            continue
        seen.add(drug)
        pool.append(Prescription(drug, str(dose), unit, route, ""))
    return tuple(sorted(pool, key=lambda p: p.drug))


def load_admission(db: Path, hadm_id: int) -> Admission:
    """One admission's rows (from the whole-database read, done once per process)."""
    return load_all(db)[hadm_id]


@lru_cache(maxsize=2)
def load_all(db: Path) -> dict[int, Admission]:
    """Every finished admission's rows, read in one pass per table (a full catalog draws thousands
    of notes; one query per admission costs ~0.1 s each)."""
    wanted = set(finished_admissions(db))
    with closing(_connect(db)) as con:
        gender = dict(con.execute("SELECT subject_id, gender FROM patients"))
        units: dict[int, str] = {}
        for hadm_id, unit in con.execute("SELECT hadm_id, first_careunit FROM icustays ORDER BY intime DESC"):
            units[hadm_id] = unit  # the earliest stay's unit is written last
        diagnoses: dict[int, list[str]] = {}
        for hadm_id, title in con.execute(
            "SELECT x.hadm_id, d.short_title FROM diagnoses_icd x JOIN d_icd_diagnoses d ON d.icd9_code = x.icd9_code "
            "ORDER BY x.row_id"
        ):
            diagnoses.setdefault(hadm_id, []).append(title)
        measurements: dict[int, list[Measurement]] = {}
        for table in ("labevents", "chartevents"):
            names = {m.itemid: m.name for m in MEASURED if m.table == table}
            marks = ",".join("?" * len(names))
            for hadm_id, itemid, time, value, uom in con.execute(
                f"SELECT hadm_id, itemid, substr(charttime, 1, 16), valuenum, valueuom FROM {table} "
                f"WHERE itemid IN ({marks}) AND valuenum IS NOT NULL",
                tuple(names),
            ):
                if hadm_id in wanted:
                    measurements.setdefault(hadm_id, []).append(
                        Measurement(names[itemid], time, float(value), uom or "")
                    )
        prescriptions: dict[int, list[Prescription]] = {}
        for hadm_id, drug, dose, unit_rx, route, start in con.execute(
            "SELECT hadm_id, drug, dose_val_rx, dose_unit_rx, route, substr(startdate, 1, 16) FROM prescriptions"
        ):
            prescriptions.setdefault(hadm_id, []).append(Prescription(drug, str(dose), unit_rx, route, start))
        out: dict[int, Admission] = {}
        for hadm_id, subject_id, admittime, dischtime, age, location in con.execute(
            "SELECT hadm_id, subject_id, admittime, dischtime, age, discharge_location FROM admissions"
        ):
            if hadm_id not in wanted:
                continue
            out[hadm_id] = Admission(
                hadm_id=hadm_id,
                subject_id=subject_id,
                admittime=admittime[:16],
                dischtime=dischtime[:16],
                age=int(age),
                gender=gender.get(subject_id, ""),
                discharge_location=location or "home",
                careunit=units.get(hadm_id, ""),
                diagnoses=tuple(diagnoses.get(hadm_id, [])[:4]),
                measurements=tuple(sorted(measurements.get(hadm_id, []), key=lambda m: (m.time, m.entity))),
                prescriptions=tuple(sorted(prescriptions.get(hadm_id, []), key=lambda p: (p.start, p.drug))),
            )
    return out


def usable_prescriptions(adm: Admission) -> list[Prescription]:
    """Prescriptions a note can state (clean name, numeric dose)."""
    return [p for p in adm.prescriptions if clean_drug(p.drug) and _NUMERIC.match(p.dose)]


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)
