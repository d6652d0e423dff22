"""Generate the synthetic hospital world: a seeded population with a latent state.

Every value is drawn from a fixed seed, the clinical model (``clinical.py``) and registry
vocabularies (``vocab.py``), so the same code always writes the same content. For each patient:
chronic conditions and frailty from age; per admission a presenting problem, a severity and an
outcome (``clinical.Outcome``); then the record that state implies: diagnoses, procedures, daily
labs and ICU vitals shifted by conditions, problem and a severity that improves in survivors and
worsens before a death, drugs (home medications, the problem's treatment, vasopressors), fluids,
cultures, allergies, transfers and costs.

Timelines are consistent: admissions fall in 2100-2105, stays and events lie inside their
admissions, a readmission follows its discharge, a few patients are still in hospital (some in
the ICU) at the fixed "now", 2105-12-31 23:59:00 (``WORLD_NOW``), the moment EHRSQL questions
treat as now.

The events are stored in the 17 EHRSQL MIMIC-III tables (``schema/mimic_iii.sql``), the facts
other schemas need in the tables of ``schema/extras.sql``, and the latent state and outcomes in
the hidden ``latent`` and ``outcomes`` tables.
"""

from __future__ import annotations

import math
import random
import sqlite3
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from medagentgym.catalog.splits import stable_hash
from medagentgym.world import clinical, vocab
from medagentgym.world.clinical import Condition, Outcome, Problem

BUILD_VERSION = 2  # bump when the generator's logic changes
SEED = 20_240_605
N_PATIENTS = 1_000
#: The moment EHRSQL-style questions treat as "now" (the end of the shifted timeline).
WORLD_NOW = "2105-12-31 23:59:00"

MIMIC_TABLES: tuple[str, ...] = (
    "patients",
    "admissions",
    "icustays",
    "transfers",
    "diagnoses_icd",
    "procedures_icd",
    "d_icd_diagnoses",
    "d_icd_procedures",
    "labevents",
    "d_labitems",
    "chartevents",
    "d_items",
    "inputevents_cv",
    "outputevents",
    "prescriptions",
    "microbiologyevents",
    "cost",
)
EXTRA_TABLES: tuple[str, ...] = (
    "patient_info", "admission_info", "allergies", "lab_items", "drug_info", "latent", "outcomes",
)

NOW = datetime.fromisoformat(WORLD_NOW)
_START = datetime(2100, 1, 1)
VOCAB_FILES = (
    "schema/mimic_iii.sql",
    "schema/extras.sql",
    "schema/indexes.sql",
    "clinical.py",
    "vocab/lab_items.csv",
    "vocab/chart_items.csv",
    "vocab/input_items.csv",
    "vocab/output_items.csv",
    "vocab/icu_drugs.csv",
    "vocab/hospital.toml",
    "vocab/microbiology.toml",
)
_VASOPRESSOR_ITEMS = ("levophed", "vasopressin")


# --------------------------------------------------------------------------- helpers


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class _Weighted:
    """Weighted choice with precomputed cumulative weights (fast, deterministic)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(float(w) for w in weights))

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


def _weighted_table(table: dict[str, float]) -> _Weighted:
    return _Weighted(list(table), list(table.values()))


def _price(event_type: str, key: object, low: float, high: float) -> float:
    """A fixed price per (event type, code): the same item always costs the same."""
    fraction = (stable_hash("price", event_type, key) % 100_000) / 100_000
    return round(low + fraction * (high - low), 2)


@dataclass
class _Rows:
    """Rows per table, in insertion order; for tables with a row_id it is the 1-based position."""

    data: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {t: [] for t in MIMIC_TABLES + EXTRA_TABLES}
    )

    def add(self, table: str, *values: Any) -> int:
        rows = self.data[table]
        row_id = len(rows) + 1
        rows.append((row_id, *values))
        return row_id

    def put(self, table: str, *values: Any) -> None:
        """A row of a table keyed by its own columns (no row_id)."""
        self.data[table].append(values)


@dataclass(frozen=True)
class _LabItem:
    itemid: int
    label: str
    fluid: str
    category: str
    unit: str
    low: float
    high: float
    decimals: int
    panel: str

    @property
    def centre(self) -> float:
        return (self.low + self.high) / 2

    @property
    def half(self) -> float:
        return (self.high - self.low) / 2 or 0.01


@dataclass(frozen=True)
class _ChartItem:
    itemid: int
    label: str
    unit: str
    mean: float
    sd: float
    low: float
    high: float
    decimals: int
    kind: str


@dataclass
class _Vocab:
    hospital: dict[str, Any]
    diagnoses: list[vocab.IcdTitle]
    procedures: list[vocab.IcdTitle]
    labs: list[_LabItem]
    charts: list[_ChartItem]
    inputs: list[dict[str, str]]
    outputs: list[dict[str, str]]
    drug_forms: list[vocab.DrugForm]
    specimens: list[dict[str, Any]]


def _load_vocab() -> _Vocab:
    labs = [
        _LabItem(
            int(r["itemid"]), r["label"], r["fluid"], r["category"], r["unit"], float(r["low"]),
            float(r["high"]), int(r["decimals"]), r["panel"],
        )
        for r in vocab.read_csv("vocab/lab_items.csv")
    ]
    charts = [
        _ChartItem(
            int(r["itemid"]), r["label"], r["unit"], float(r["mean"]), float(r["sd"]),
            float(r["min"]), float(r["max"]), int(r["decimals"]), r["kind"],
        )
        for r in vocab.read_csv("vocab/chart_items.csv")
    ]
    return _Vocab(
        hospital=vocab.read_toml("vocab/hospital.toml"),
        diagnoses=vocab.icd9_titles("dx"),
        procedures=vocab.icd9_titles("sg"),
        labs=labs,
        charts=charts,
        inputs=vocab.read_csv("vocab/input_items.csv"),
        outputs=vocab.read_csv("vocab/output_items.csv"),
        drug_forms=vocab.icu_drugs() + vocab.omop_drugs(),
        specimens=vocab.read_toml("vocab/microbiology.toml")["specimen"],
    )


# --------------------------------------------------------------------------- latent state


@dataclass
class _Patient:
    subject_id: int
    gender: str
    age_first: int
    conditions: tuple[Condition, ...]
    frailty: float
    lab_offsets: dict[str, float]
    allergies: tuple[tuple[str, str], ...]


@dataclass
class _Admission:
    hadm_id: int
    admit: datetime
    disch: datetime | None  # None: still in hospital at NOW
    problem: Problem
    severity: float
    outcome: Outcome | None  # None while still in hospital
    age: int = 0

    @property
    def end(self) -> datetime:
        return self.disch or NOW

    def severity_at(self, moment: datetime) -> float:
        """Severity over the stay: survivors improve, a patient who will die worsens."""
        days = max((moment - self.admit).total_seconds() / 86400, 0.0)
        if self.outcome is not None and self.outcome.died:
            return self.severity + 0.35 * days
        return self.severity * 0.72**days - 0.08 * days


@dataclass
class _IcuStay:
    icustay_id: int
    hadm: _Admission
    intime: datetime
    outtime: datetime | None
    careunit: str = ""
    wardid: int = 0

    @property
    def end(self) -> datetime:
        return self.outtime or NOW


# --------------------------------------------------------------------------- the generator


class _Generator:
    def __init__(self, seed: int, n_patients: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_patients = n_patients
        self.v = _load_vocab()
        self.rows = _Rows()
        h = self.v.hospital
        self.pick = {key: _weighted_table(h[key]) for key in (
            "admission_type", "admission_location", "discharge_location", "insurance",
            "language", "marital_status", "ethnicity", "careunit", "gender",
        )}
        dx_codes = [d.code for d in self.v.diagnoses]
        sg_codes = [p.code for p in self.v.procedures]
        # A long tail: common codes carry most weight, a fixed random subset the rest.
        tail_rng = random.Random(seed + 1)
        self.dx_pick = self._code_picker(h["common_diagnoses"], tail_rng.sample(dx_codes, 900))
        self.sg_pick = self._code_picker(h["common_procedures"], tail_rng.sample(sg_codes, 300))
        self.specimens = {s["name"]: s for s in self.v.specimens}
        self.specimen_pick = _Weighted(self.v.specimens, [s["weight"] for s in self.v.specimens])
        routine_inputs = [r for r in self.v.inputs if r["label"] not in _VASOPRESSOR_ITEMS]
        self.input_pick = _Weighted(routine_inputs, [float(r["weight"]) for r in routine_inputs])
        self.vasopressor_inputs = [r for r in self.v.inputs if r["label"] in _VASOPRESSOR_ITEMS]
        self.output_pick = _Weighted(self.v.outputs, [float(r["weight"]) for r in self.v.outputs])
        self.drug_pick = _Weighted(self.v.drug_forms, [d.weight for d in self.v.drug_forms])
        self.drug_by_name: dict[str, vocab.DrugForm] = {}
        for form in self.v.drug_forms:
            self.drug_by_name.setdefault(form.drug, form)
        self.lab_panels: dict[str, list[_LabItem]] = {}
        for lab in self.v.labs:
            self.lab_panels.setdefault(lab.panel, []).append(lab)
        self.problem_pick = {p.name: p for p in clinical.PROBLEMS}
        self.religion_pick = _weighted_table(clinical.RELIGIONS)
        self.wards = {unit: sorted(self.rng.sample(range(7, 60), 3)) for unit in h["careunit"]}
        span = max(99_999, n_patients * 8)
        self.hadm_ids = iter(self.rng.sample(range(100_001, 100_001 + span), n_patients * 7))
        self.icustay_ids = iter(self.rng.sample(range(200_001 + span, 200_001 + 2 * span), n_patients * 8))
        self.hospitals = sorted(self.rng.sample(range(60, 460), 12))

    @staticmethod
    def _code_picker(common: dict[str, float], tail: list[str]) -> _Weighted:
        items = list(common) + [c for c in tail if c not in common]
        weights = list(common.values()) + [0.35] * (len(items) - len(common))
        return _Weighted(items, weights)

    # ---- dictionaries

    def dictionaries(self) -> None:
        for d in self.v.diagnoses:
            self.rows.add("d_icd_diagnoses", d.code, d.short_title, d.long_title)
        for p in self.v.procedures:
            self.rows.add("d_icd_procedures", p.code, p.short_title, p.long_title)
        for lab in sorted(self.v.labs, key=lambda x: x.itemid):
            self.rows.add("d_labitems", lab.itemid, lab.label)
            self.rows.put("lab_items", lab.itemid, lab.label, lab.fluid, lab.category,
                          lab.unit or None, lab.low, lab.high)
        items = [(c.itemid, c.label, "chartevents") for c in self.v.charts]
        items += [(int(r["itemid"]), r["label"], "inputevents_cv") for r in self.v.inputs]
        items += [(int(r["itemid"]), r["label"], "outputevents") for r in self.v.outputs]
        for itemid, label, linksto in sorted(items):
            self.rows.add("d_items", itemid, label, linksto)
        for drug in sorted(self.drug_by_name):
            h = stable_hash("drug", drug)
            drug_type = "additive" if h % 17 == 0 else ("base" if h % 11 == 0 else "main")
            code = "".join(ch for ch in drug.upper() if ch.isalpha())[:4] + str(h % 1000)
            self.rows.put("drug_info", drug, drug_type, code)

    # ---- patients

    def patients(self) -> None:
        rng = self.rng
        subject_ids = sorted(rng.sample(range(2, max(100_000, self.n_patients * 40)), self.n_patients))
        n_current = max(3, self.n_patients // 30)
        current = set(rng.sample(subject_ids, n_current))
        for subject_id in subject_ids:
            self.patient(subject_id, subject_id in current)

    def latent_patient(self, subject_id: int) -> _Patient:
        rng = self.rng
        gender = self.pick["gender"].pick(rng)
        age_first = min(int(rng.triangular(18, 91, 66)), 90)
        conditions = tuple(
            c for c in clinical.CONDITIONS
            if rng.random() < clinical.sigmoid(
                math.log(c.base_rate / (1 - c.base_rate)) + c.age_slope * (age_first - 60) / 10
            )
        )
        frailty = (age_first - 65) / 15 + 0.25 * len(conditions) + rng.gauss(0, 0.5)
        offsets = {lab.label: rng.gauss(0, 0.35) for lab in self.v.labs}
        allergies: tuple[tuple[str, str], ...] = ()
        if rng.random() < 0.18:
            allergies = tuple(rng.sample(clinical.ALLERGIES, 1 + (rng.random() < 0.3)))
        return _Patient(subject_id, gender, age_first, conditions, frailty, offsets, allergies)

    def draw_problem(self, patient: _Patient) -> Problem:
        weights = clinical.problem_weights({c.name for c in patient.conditions})
        return _Weighted(clinical.PROBLEMS, weights).pick(self.rng)

    def patient(self, subject_id: int, is_current: bool) -> None:
        rng = self.rng
        pat = self.latent_patient(subject_id)
        max_adm = 1 + min(int(rng.expovariate(1.3)), 5)
        admits: list[_Admission] = []
        moment = _START + timedelta(days=rng.uniform(0, 365 * 5.4))
        dob_offset = timedelta(days=365.25 * pat.age_first + rng.uniform(1, 360))
        dob: datetime | None = None
        while len(admits) < max_adm + 2:
            if moment > NOW - timedelta(days=45):
                break
            problem = self.draw_problem(pat)
            severity = problem.severity_mean + 0.3 * pat.frailty + rng.gauss(0, 0.85)
            admit = _minute(moment.replace(hour=0, minute=0) + timedelta(minutes=rng.randint(0, 1439)))
            if dob is None:
                dob = (admit - dob_offset).replace(hour=0, minute=0, second=0)
            age = admit.year - dob.year - ((admit.month, admit.day) < (dob.month, dob.day))
            outcome = Outcome.draw(rng, severity=severity, age=age,
                                   n_conditions=len(pat.conditions), problem=problem)
            disch = _minute(admit + timedelta(days=outcome.los_days))
            if disch >= NOW - timedelta(days=30):
                break
            admits.append(_Admission(next(self.hadm_ids), admit, disch, problem, severity, outcome, age))
            if outcome.died:
                break
            if outcome.readmit_30d:
                moment = disch + timedelta(days=rng.uniform(2, 29))
            elif len(admits) >= max_adm:
                break
            else:
                moment = disch + timedelta(days=rng.uniform(31, 700))
        if is_current and not (admits and admits[-1].outcome and admits[-1].outcome.died):
            admit = _minute(NOW - timedelta(days=rng.uniform(0.4, 14)))
            while admits and admits[-1].end > admit - timedelta(days=10):
                admits.pop()
            problem = self.draw_problem(pat)
            severity = problem.severity_mean + 0.3 * pat.frailty + rng.gauss(0, 0.85)
            admits.append(_Admission(next(self.hadm_ids), admit, None, problem, severity, None))
        if not admits:  # a very late first admission: move it back a year
            admit = _minute(NOW - timedelta(days=rng.uniform(200, 400)))
            problem = self.problem_pick["urinary tract infection"]
            outcome = Outcome(False, 3.0, False, False, False, False, False)
            admits.append(_Admission(next(self.hadm_ids), admit, _minute(admit + timedelta(days=3)),
                                     problem, -0.5, outcome))
        if dob is None or (admits[0].admit - dob).days < 365 * 18:
            dob = (admits[0].admit - dob_offset).replace(hour=0, minute=0, second=0)
        for adm in admits:
            adm.age = adm.admit.year - dob.year - ((adm.admit.month, adm.admit.day) < (dob.month, dob.day))

        last = admits[-1]
        died_in_hospital = bool(last.outcome and last.outcome.died)
        dod: datetime | None = None
        if died_in_hospital and last.disch:
            dod = last.disch.replace(hour=0, minute=0, second=0)
        elif last.disch is not None:
            frail_death = clinical.sigmoid(-2.6 + 0.5 * pat.frailty)
            if rng.random() < frail_death:
                later = last.disch + timedelta(days=rng.uniform(10, 900))
                if later < NOW:
                    dod = later.replace(hour=0, minute=0, second=0)
        self.rows.add("patients", subject_id, pat.gender, _ts(dob), _ts(dod) if dod else None)
        first = rng.choice(clinical.FIRST_NAMES[pat.gender])
        last_name = rng.choice(clinical.LAST_NAMES)
        height = rng.gauss(176 if pat.gender == "m" else 162, 7)
        uniquepid = f"{stable_hash('pid', self.seed, subject_id) % 1000:03d}-{subject_id:05d}"
        religion = self.religion_pick.pick(rng) if rng.random() > 0.05 else None
        self.rows.put("patient_info", subject_id, first, last_name, religion, uniquepid, round(height, 1))

        marital = self.pick["marital_status"].pick(rng) if rng.random() > 0.1 else None
        insurance = ("medicare" if pat.age_first >= 65 and rng.random() < 0.8
                     else self.pick["insurance"].pick(rng))
        ethnicity = self.pick["ethnicity"].pick(rng)
        language = self.pick["language"].pick(rng) if rng.random() > 0.25 else None
        weight = max(38.0, rng.gauss(82 if pat.gender == "m" else 70, 16))
        for i, adm in enumerate(admits):
            is_last = i == len(admits) - 1
            if adm.disch is None:
                discharge_location = None
            elif is_last and died_in_hospital:
                discharge_location = "dead/expired"
            elif adm.severity > 1.0 and rng.random() < 0.6:
                discharge_location = rng.choice(("snf", "rehab/distinct part hosp", "long term care hospital"))
            else:
                discharge_location = self.pick["discharge_location"].pick(rng)
            adm_type = "elective" if adm.problem.elective else (
                "urgent" if rng.random() < 0.12 else "emergency")
            location = (
                "emergency room admit" if adm_type == "emergency" and rng.random() < 0.6
                else ("phys referral/normal deli" if adm_type == "elective"
                      else self.pick["admission_location"].pick(rng))
            )
            self.rows.add(
                "admissions", subject_id, adm.hadm_id, _ts(adm.admit),
                _ts(adm.disch) if adm.disch else None, adm_type, location, discharge_location,
                insurance, language, marital, ethnicity, adm.age,
            )
            admit_weight = round(weight + rng.gauss(0, 1.5), 1)
            disch_weight = (round(admit_weight + rng.gauss(-0.4 * (adm.outcome.los_days if adm.outcome else 0) / 3, 1.0), 1)
                            if adm.disch else None)
            self.rows.put("admission_info", adm.hadm_id, subject_id, rng.choice(self.hospitals),
                          adm.problem.admit_diagnosis, admit_weight, disch_weight,
                          int(is_last and died_in_hospital))
            self.rows.put("latent", subject_id, adm.hadm_id,
                          ";".join(c.name for c in pat.conditions), round(pat.frailty, 4),
                          adm.problem.name, round(adm.severity, 4))
            stays = self.admission_events(pat, adm)
            self.record_outcome(pat, adm, stays, admits[i + 1] if not is_last else None)

    def record_outcome(self, pat: _Patient, adm: _Admission, stays: list[_IcuStay],
                       following: _Admission | None) -> None:
        out = adm.outcome
        if adm.disch is None or out is None:
            self.rows.put("outcomes", adm.hadm_id, pat.subject_id, 0, None, None, None,
                          int(bool(stays)), 0, 0, 0)
            return
        los = (adm.disch - adm.admit).total_seconds() / 86400
        readmit = int(following is not None and (following.admit - adm.disch).days < 30)
        icu_transfer = int(any(s.intime - adm.admit > timedelta(hours=24) for s in stays))
        self.rows.put("outcomes", adm.hadm_id, pat.subject_id, int(out.died), round(los, 4),
                      int(los >= 7), None if out.died else readmit, int(bool(stays)),
                      icu_transfer, int(out.vasopressor and bool(stays)),
                      int(out.ventilation and bool(stays)))

    # ---- everything inside one admission

    def admission_events(self, pat: _Patient, adm: _Admission) -> list[_IcuStay]:
        rng = self.rng
        subject_id = pat.subject_id
        stays = self.icu_stays(subject_id, adm)
        self.transfers(subject_id, adm, stays)
        span = (adm.end - adm.admit).total_seconds()

        def inside(lo: float = 0.0, hi: float = 1.0) -> datetime:
            return _minute(adm.admit + timedelta(seconds=span * rng.uniform(lo, hi)))

        codes = list(adm.problem.codes[: 1 + (rng.random() < 0.7)])
        codes += [c for cond in pat.conditions for c in cond.codes if rng.random() < 0.85]
        for code in self.distinct(self.dx_pick, rng.randint(1, 6)):
            if code not in codes:
                codes.append(code)
        for code in dict.fromkeys(codes):
            when = inside(0.0, 0.15)
            rid = self.rows.add("diagnoses_icd", subject_id, adm.hadm_id, code, _ts(when))
            self.charge(subject_id, adm, "diagnoses_icd", rid, when, _price("dx", code, 2, 60))
        self.procedures(subject_id, adm, stays, inside)
        self.labs(pat, adm, stays)
        self.prescriptions(pat, adm, stays)
        self.microbiology(subject_id, adm)
        for stay in stays:
            self.chart(subject_id, stay)
            self.inputs_outputs(subject_id, stay)
        for drug, reaction in pat.allergies:
            self.rows.add("allergies", subject_id, adm.hadm_id, drug, reaction,
                          _ts(_minute(adm.admit + timedelta(minutes=rng.randint(10, 240)))))
        return stays

    def procedures(self, subject_id: int, adm: _Admission, stays: list[_IcuStay], inside: Any) -> None:
        rng = self.rng
        out = adm.outcome
        planned: list[tuple[str, datetime]] = []
        for code in adm.problem.procedures:
            if rng.random() < (0.9 if adm.problem.elective else 0.55):
                planned.append((code, inside(0.02, 0.5)))
        if stays and out is not None:
            start = stays[0].intime + timedelta(hours=rng.uniform(0.2, 3))
            if out.ventilation:
                planned.append(("9604", start))
                planned.append(("9672" if out.los_days > 5 else "9671", start + timedelta(minutes=20)))
            if out.vasopressor:
                planned.append(("3893", start + timedelta(minutes=40)))
        if rng.random() < 0.45:
            for code in self.distinct(self.sg_pick, rng.randint(1, 2)):
                planned.append((code, inside(0.02, 0.9)))
        seen: set[str] = set()
        for code, when in planned:
            if code in seen:
                continue
            seen.add(code)
            when = _minute(min(max(when, adm.admit), adm.end - timedelta(minutes=1)))
            rid = self.rows.add("procedures_icd", subject_id, adm.hadm_id, code, _ts(when))
            self.charge(subject_id, adm, "procedures_icd", rid, when, _price("sg", code, 150, 3000))

    def distinct(self, picker: _Weighted, k: int) -> list[str]:
        out: list[str] = []
        for _ in range(k * 3):
            code = picker.pick(self.rng)
            if code not in out:
                out.append(code)
            if len(out) == k:
                break
        return out

    def charge(self, subject_id: int, adm: _Admission, event_type: str, event_id: int,
               when: datetime, amount: float) -> None:
        self.rows.add("cost", subject_id, adm.hadm_id, event_type, event_id, _ts(when), amount)

    def icu_stays(self, subject_id: int, adm: _Admission) -> list[_IcuStay]:
        rng = self.rng
        out = adm.outcome
        if out is None:  # still in hospital
            n = 1 if rng.random() < 0.7 else 0
        else:
            n = (2 if rng.random() < 0.07 else 1) if out.icu else 0
        stays: list[_IcuStay] = []
        if out is not None and out.icu_delayed and out.los_days > 2.5:
            cursor = adm.admit + timedelta(days=rng.uniform(1.05, min(3.5, out.los_days * 0.5)))
        else:
            cursor = adm.admit + timedelta(hours=rng.uniform(0.5, 12))
        for k in range(n):
            if cursor >= adm.end - timedelta(hours=6):
                break
            intime = _minute(cursor)
            remaining = (adm.end - intime).total_seconds() / 86400
            acuity = clinical.softplus(adm.severity)
            length = min(rng.lognormvariate(math.log(1.4 + 0.9 * acuity), 0.5), max(remaining - 0.2, 0.3))
            outtime: datetime | None = _minute(intime + timedelta(days=length))
            dies_here = out is not None and out.died and k == n - 1
            current = adm.disch is None and k == n - 1 and rng.random() < 0.65
            if current:
                outtime = None
            elif dies_here:
                outtime = _minute(adm.end - timedelta(minutes=rng.randint(5, 90)))
            elif outtime is not None and outtime >= adm.end:
                outtime = _minute(adm.end - timedelta(hours=1))
            if outtime is not None and outtime <= intime:
                break
            unit = ("csru" if adm.problem.elective else
                    "ccu" if adm.problem.name in ("myocardial infarction", "heart failure exacerbation")
                    and rng.random() < 0.7 else self.pick["careunit"].pick(rng))
            last_unit = unit if rng.random() < 0.9 else self.pick["careunit"].pick(rng)
            ward = rng.choice(self.wards[unit])
            stay = _IcuStay(next(self.icustay_ids), adm, intime, outtime, unit, ward)
            self.rows.add(
                "icustays", subject_id, adm.hadm_id, stay.icustay_id, unit, last_unit,
                ward, rng.choice(self.wards[last_unit]), _ts(intime),
                _ts(outtime) if outtime else None,
            )
            stays.append(stay)
            if outtime is None:
                break
            cursor = outtime + timedelta(days=rng.uniform(0.5, 4))
        return stays

    def transfers(self, subject_id: int, adm: _Admission, stays: list[_IcuStay]) -> None:
        rng = self.rng
        floor_ward = lambda: rng.choice((2, 3, 4, 12, 14, 15, 17, 27, 36, 45))  # noqa: E731
        segments: list[tuple[str, int | None, str | None, int, datetime, datetime | None]] = []
        cursor = adm.admit
        for stay in stays:
            if stay.intime > cursor:
                segments.append(("ward", None, None, floor_ward(), cursor, stay.intime))
            segments.append(
                ("icu", stay.icustay_id, stay.careunit, stay.wardid, stay.intime, stay.outtime)
            )
            cursor = stay.outtime or NOW
        if adm.disch is not None and cursor < adm.disch:
            segments.append(("ward", None, None, floor_ward(), cursor, adm.disch))
        elif adm.disch is None and not (stays and stays[-1].outtime is None):
            segments.append(("ward", None, None, floor_ward(), cursor, None))
        for i, (_, icustay_id, unit, ward, start, end) in enumerate(segments):
            eventtype = "admit" if i == 0 else "transfer"
            self.rows.add("transfers", subject_id, adm.hadm_id, icustay_id, eventtype, unit, ward,
                          _ts(start), _ts(end) if end else None)
        if adm.disch is not None:
            self.rows.add("transfers", subject_id, adm.hadm_id, None, "discharge", None, None,
                          _ts(adm.disch), None)

    # ---- measurements driven by the latent state

    def lab_shift(self, pat: _Patient, adm: _Admission, label: str) -> float:
        """The chronic and problem shift of one lab (half ranges), before severity."""
        shift = pat.lab_offsets.get(label, 0.0)
        for cond in pat.conditions:
            shift += cond.labs.get(label, 0.0)
        return shift

    def labs(self, pat: _Patient, adm: _Admission, stays: list[_IcuStay]) -> None:
        rng = self.rng
        base = {lab.label: self.lab_shift(pat, adm, lab.label) for lab in self.v.labs}
        day = adm.admit.replace(hour=0, minute=0)
        first = True
        while day < adm.end:
            draw = day + timedelta(hours=rng.uniform(3, 7))
            if first:
                draw = adm.admit + timedelta(minutes=rng.randint(20, 120))
            if draw >= adm.end:
                break
            in_icu = any(s.intime <= draw <= s.end for s in stays)
            sick = adm.severity_at(draw)
            panels = ["bmp", "cbc"] if first else []
            if not first:
                panels += [p for p, chance in (("bmp", 0.7), ("cbc", 0.45)) if rng.random() < chance]
            for panel, chance in (("coag", 0.35 if not first else 0.6), ("lft", 0.2 if not first else 0.5),
                                  ("diff", 0.2 if not first else 0.5), ("urine", 0.08),
                                  ("cardiac", 0.35 if first else 0.05),
                                  ("gas", 0.6 if in_icu or (first and sick > 0.8) else 0.02)):
                if rng.random() < chance:
                    panels.append(panel)
            if first and adm.problem.name == "myocardial infarction" and "cardiac" not in panels:
                panels.append("cardiac")
            for offset, panel in enumerate(panels):
                when = _minute(draw + timedelta(minutes=offset * 7))
                if when >= adm.end:
                    break
                for lab in self.lab_panels[panel]:
                    self.lab_row(pat.subject_id, adm, lab, when, base[lab.label], sick)
            for lab in self.lab_panels["rare"]:
                if rng.random() < 0.04:
                    when = _minute(draw + timedelta(minutes=rng.randint(60, 600)))
                    if when < adm.end:
                        self.lab_row(pat.subject_id, adm, lab, when, base[lab.label], adm.severity_at(when))
            first = False
            day += timedelta(days=1)

    def lab_row(self, subject_id: int, adm: _Admission, lab: _LabItem, when: datetime,
                shift: float, sick: float) -> None:
        acuity = clinical.softplus(sick)
        problem = adm.problem.labs.get(lab.label, 0.0) * (0.5 + 0.5 * min(acuity, 2.5))
        effect = shift + problem + clinical.LAB_SEVERITY.get(lab.label, 0.0) * acuity
        value = lab.centre + lab.half * (effect + self.rng.gauss(0, 0.3))
        if lab.label == "ph":
            value = min(max(value, 6.8), 7.8)
        elif lab.label != "base excess":
            value = max(value, lab.low * 0.3 if lab.low > 0 else 0.0)
        value = round(value, lab.decimals)
        rid = self.rows.add("labevents", subject_id, adm.hadm_id, lab.itemid, _ts(when), value,
                            lab.unit or None)
        self.charge(subject_id, adm, "labevents", rid, when, _price("lab", lab.itemid, 3, 45))

    def prescriptions(self, pat: _Patient, adm: _Admission, stays: list[_IcuStay]) -> None:
        rng = self.rng
        span_h = max((adm.end - adm.admit).total_seconds() / 3600, 2)
        forms: list[tuple[vocab.DrugForm, float]] = []
        for cond in pat.conditions:
            for name in cond.drugs:
                if name in self.drug_by_name and rng.random() < 0.8:
                    forms.append((self.drug_by_name[name], rng.uniform(0, 0.1)))
        for name in adm.problem.drugs:
            if name in self.drug_by_name:
                forms.append((self.drug_by_name[name], rng.uniform(0, 0.05)))
        if stays and adm.outcome is not None and adm.outcome.vasopressor:
            forms.append((self.drug_by_name["norepinephrine"], 0.0))
        for _ in range(rng.randint(3, 12)):
            forms.append((self.drug_pick.pick(rng), rng.uniform(0, 0.8)))
        for form, at in forms:
            start = (adm.admit + timedelta(hours=span_h * at)).replace(minute=0)
            start = max(start, adm.admit.replace(minute=0))
            end = start + timedelta(days=rng.randint(1, 7))
            if adm.disch is not None and end > adm.disch:
                end = adm.disch.replace(minute=0)
            rid = self.rows.add("prescriptions", pat.subject_id, adm.hadm_id, _ts(start), _ts(end),
                                form.drug, form.dose_val, form.dose_unit, form.route)
            self.charge(pat.subject_id, adm, "prescriptions", rid, start,
                        _price("rx", form.drug, 0.5, 250))

    def microbiology(self, subject_id: int, adm: _Admission) -> None:
        rng = self.rng
        targeted = [self.specimens[name] for name in adm.problem.specimens if name in self.specimens]
        if not targeted and rng.random() > 0.35:
            return
        span = (adm.end - adm.admit).total_seconds()
        times = sorted({rng.randint(600, max(int(span) - 60, 700)) // 60 for _ in range(rng.randint(1, 5))})
        for i, minutes in enumerate(times):
            when = adm.admit + timedelta(minutes=minutes)
            spec = targeted[i] if i < len(targeted) else self.specimen_pick.pick(rng)
            boost = 2.0 if spec in targeted else 1.0
            org = rng.choice(spec["organisms"]) if rng.random() < min(spec["positive"] * boost, 0.9) else None
            self.rows.add("microbiologyevents", subject_id, adm.hadm_id, _ts(_minute(when)),
                          spec["name"], org)

    def vital_target(self, c: _ChartItem, adm: _Admission, sick: float) -> float:
        kind = clinical.vital_kind(c.label)
        coef = clinical.VITAL_SEVERITY.get(kind, 0.0)
        drive = sick if kind in ("heart rate", "respiratory rate") else clinical.softplus(sick)
        shift = coef * drive + adm.problem.vitals.get(kind, 0.0) * (0.5 + 0.5 * min(clinical.softplus(sick), 2.5))
        if c.label == "temperature f":
            shift *= 1.8
        return c.mean + shift

    def chart(self, subject_id: int, stay: _IcuStay) -> None:
        rng = self.rng
        adm = stay.hadm
        vitals = [c for c in self.v.charts if c.kind == "vital"]
        arterial = rng.random() < clinical.sigmoid(0.2 + 0.8 * adm.severity)
        wanted = [
            c for c in vitals
            if (c.label.startswith("arterial") and arterial)
            or (c.label.startswith("nbp") and not arterial)
            or not (c.label.startswith("arterial") or c.label.startswith("nbp"))
        ]
        personal = {c.itemid: rng.gauss(0, c.sd * 0.35) for c in wanted}
        state = {c.itemid: self.vital_target(c, adm, adm.severity_at(stay.intime)) + personal[c.itemid]
                 for c in wanted}
        for c in self.v.charts:
            if c.kind == "admit":
                value = round(min(max(rng.gauss(c.mean, c.sd), c.low), c.high), c.decimals)
                when = stay.intime + timedelta(minutes=rng.randint(5, 90))
                self.rows.add("chartevents", subject_id, adm.hadm_id, stay.icustay_id,
                              c.itemid, _ts(_minute(when)), value, c.unit)
        when = stay.intime + timedelta(minutes=rng.randint(10, 50))
        step = 0
        while when < stay.end:
            sick = adm.severity_at(when)
            for c in wanted:
                if c.label.startswith("temperature") and step % 4:
                    continue
                target = self.vital_target(c, adm, sick) + personal[c.itemid]
                x = state[c.itemid]
                x = x + 0.35 * (target - x) + rng.gauss(0, c.sd * 0.3)
                state[c.itemid] = x
                value = round(min(max(x, c.low), c.high), c.decimals)
                self.rows.add("chartevents", subject_id, adm.hadm_id, stay.icustay_id,
                              c.itemid, _ts(_minute(when)), value, c.unit)
            step += 1
            when += timedelta(minutes=rng.choice((120, 120, 180, 240)))

    def inputs_outputs(self, subject_id: int, stay: _IcuStay) -> None:
        rng = self.rng
        chosen_in = {self.input_pick.pick(rng)["itemid"]: None for _ in range(rng.randint(1, 5))}
        out = stay.hadm.outcome
        if out is not None and out.vasopressor:
            for item in self.vasopressor_inputs[: 1 + (stay.hadm.severity > 1.5)]:
                chosen_in[item["itemid"]] = None
        chosen_out = {self.output_pick.pick(rng)["itemid"]: None for _ in range(rng.randint(1, 3))}
        by_id = {r["itemid"]: r for r in self.v.inputs + self.v.outputs}
        for table, chosen, gap in (("inputevents_cv", chosen_in, (2, 8)),
                                   ("outputevents", chosen_out, (1, 4))):
            for itemid in chosen:
                item = by_id[itemid]
                low, high = float(item["low"]), float(item["high"])
                when = stay.intime + timedelta(minutes=rng.randint(15, 240))
                while when < stay.end:
                    amount = round(rng.uniform(low, high) / 5) * 5 or low
                    self.rows.add(table, subject_id, stay.hadm.hadm_id, stay.icustay_id,
                                  _ts(_minute(when)), int(itemid), float(amount))
                    when += timedelta(hours=rng.uniform(*gap))


def write_world(path: Path, *, seed: int, n_patients: int) -> None:
    """Generate the world into a new SQLite file at ``path`` (the caller stamps and moves it)."""
    gen = _Generator(seed, n_patients)
    gen.dictionaries()
    gen.patients()
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.executescript(vocab.read_text("schema/mimic_iii.sql"))
        con.executescript(vocab.read_text("schema/extras.sql"))
        for table in MIMIC_TABLES + EXTRA_TABLES:
            rows = gen.rows.data[table]
            if not rows:
                continue
            marks = ", ".join("?" * len(rows[0]))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        con.executescript(vocab.read_text("schema/indexes.sql"))
        con.commit()
    finally:
        con.close()
