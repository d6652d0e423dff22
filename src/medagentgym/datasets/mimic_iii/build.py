"""Build the embedded, license-clean MIMIC-III database (EHRSQL's 17-table version).

Every value is generated from a fixed seed and registry vocabularies (see ``vocab.py``), so the
same code always writes the same content. Timelines are kept consistent: admissions fall in
2100-2105, stays and events lie inside their admissions, a few patients are still in hospital
(and some in the ICU) at EHRSQL's fixed "now", 2105-12-31 23:59:00.

The file is written to a temporary name beside the target and moved into place with
``os.replace``, so a killed or concurrent build never leaves a half-written database. The
database's ``PRAGMA user_version`` holds a stamp of the build inputs (code version, seed, schema,
vocabularies); a different stamp triggers a rebuild.
"""

from __future__ import annotations

import math
import os
import random
import sqlite3
import tempfile
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets._ehrsql import MIMIC_III_NOW
from medagentgym.datasets.mimic_iii import vocab
from medagentgym.paths import dataset_cache_dir

BUILD_VERSION = 1  # bump when the generator's logic changes
SEED = 20_240_605
N_PATIENTS = 1_000
DB_FILENAME = "mimic_iii.sqlite"

TABLES: tuple[str, ...] = (
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

NOW = datetime.fromisoformat(MIMIC_III_NOW)
_START = datetime(2100, 1, 1)
_VOCAB_FILES = (
    "schema.sql",
    "indexes.sql",
    "vocab/lab_items.csv",
    "vocab/chart_items.csv",
    "vocab/input_items.csv",
    "vocab/output_items.csv",
    "vocab/icu_drugs.csv",
    "vocab/hospital.toml",
    "vocab/microbiology.toml",
)


def default_db_path() -> Path:
    """Where the embedded database lives: ``<cache>/datasets/mimic_iii/mimic_iii.sqlite``."""
    return dataset_cache_dir("mimic_iii") / DB_FILENAME


def build_stamp(seed: int = SEED, n_patients: int = N_PATIENTS) -> int:
    """A 31-bit fingerprint of everything the build depends on (fits ``PRAGMA user_version``)."""
    texts = [vocab.read_text(name) for name in _VOCAB_FILES]
    return stable_hash(BUILD_VERSION, seed, n_patients, *texts) & 0x7FFF_FFFF


def stamp_of(path: Path) -> int | None:
    """The stamp stored in a built database, or None when it is missing or unreadable."""
    if not path.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(con.execute("PRAGMA user_version").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return None


def build_database(
    path: Path | None = None,
    *,
    force: bool = False,
    seed: int = SEED,
    n_patients: int = N_PATIENTS,
) -> Path:
    """Build the database at ``path`` (default: the cache) unless an identical build is there."""
    target = path or default_db_path()
    stamp = build_stamp(seed, n_patients)
    if not force and stamp_of(target) == stamp:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".mimic_iii-", suffix=".sqlite.tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        write_database(tmp, seed=seed, n_patients=n_patients, stamp=stamp)
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            if leftover.exists():
                leftover.unlink()
    return target


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
    """Rows per table, in insertion order; row_id is the 1-based position."""

    data: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def add(self, table: str, *values: Any) -> int:
        rows = self.data[table]
        row_id = len(rows) + 1
        rows.append((row_id, *values))
        return row_id


@dataclass(frozen=True)
class _LabItem:
    itemid: int
    label: str
    unit: str
    low: float
    high: float
    decimals: int
    panel: str


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
    drugs: _Weighted
    specimens: list[dict[str, Any]]


def _load_vocab() -> _Vocab:
    labs = [
        _LabItem(
            int(r["itemid"]), r["label"], r["unit"], float(r["low"]), float(r["high"]),
            int(r["decimals"]), r["panel"],
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
    drug_forms = vocab.icu_drugs() + vocab.omop_drugs()
    return _Vocab(
        hospital=vocab.read_toml("vocab/hospital.toml"),
        diagnoses=vocab.icd9_titles("dx"),
        procedures=vocab.icd9_titles("sg"),
        labs=labs,
        charts=charts,
        inputs=vocab.read_csv("vocab/input_items.csv"),
        outputs=vocab.read_csv("vocab/output_items.csv"),
        drugs=_Weighted(drug_forms, [d.weight for d in drug_forms]),
        specimens=vocab.read_toml("vocab/microbiology.toml")["specimen"],
    )


# --------------------------------------------------------------------------- generation


@dataclass
class _Admission:
    hadm_id: int
    admit: datetime
    disch: datetime | None  # None: still in hospital at NOW

    @property
    def end(self) -> datetime:
        return self.disch or NOW


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


class _Generator:
    def __init__(self, seed: int, n_patients: int) -> None:
        self.rng = random.Random(seed)
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
        self.specimens = _Weighted(self.v.specimens, [s["weight"] for s in self.v.specimens])
        self.input_pick = _Weighted(self.v.inputs, [float(r["weight"]) for r in self.v.inputs])
        self.output_pick = _Weighted(self.v.outputs, [float(r["weight"]) for r in self.v.outputs])
        self.lab_panels: dict[str, list[_LabItem]] = {}
        for lab in self.v.labs:
            self.lab_panels.setdefault(lab.panel, []).append(lab)
        self.wards = {unit: sorted(self.rng.sample(range(7, 60), 3)) for unit in h["careunit"]}
        self.hadm_ids = iter(self.rng.sample(range(100_001, 200_000), n_patients * 4))
        self.icustay_ids = iter(self.rng.sample(range(200_001, 300_000), n_patients * 6))

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
        items = [(c.itemid, c.label, "chartevents") for c in self.v.charts]
        items += [(int(r["itemid"]), r["label"], "inputevents_cv") for r in self.v.inputs]
        items += [(int(r["itemid"]), r["label"], "outputevents") for r in self.v.outputs]
        for itemid, label, linksto in sorted(items):
            self.rows.add("d_items", itemid, label, linksto)

    # ---- patients and admissions

    def patients(self) -> None:
        rng = self.rng
        subject_ids = sorted(rng.sample(range(2, 100_000), self.n_patients))
        n_current = max(3, self.n_patients // 30)
        current = set(rng.sample(subject_ids, n_current))
        for subject_id in subject_ids:
            self.patient(subject_id, subject_id in current)

    def patient(self, subject_id: int, is_current: bool) -> None:
        rng = self.rng
        gender = self.pick["gender"].pick(rng)
        n_adm = 1 + min(int(rng.expovariate(1.6)), 5)
        admits: list[_Admission] = []
        moment = _START + timedelta(days=rng.uniform(0, 365 * 5.4))
        for _ in range(n_adm):
            if moment > NOW - timedelta(days=45):
                break
            los = min(max(rng.lognormvariate(math.log(4.5), 0.65), 0.6), 45.0)
            admit = _minute(moment.replace(hour=0, minute=0) + timedelta(minutes=rng.randint(0, 1439)))
            disch = _minute(admit + timedelta(days=los))
            if disch >= NOW - timedelta(days=30):
                break
            admits.append(_Admission(next(self.hadm_ids), admit, disch))
            moment = disch + timedelta(days=rng.uniform(20, 700))
        if is_current:
            admit = _minute(NOW - timedelta(days=rng.uniform(0.4, 14)))
            if admits and admits[-1].disch and admits[-1].disch > admit - timedelta(days=10):
                admits.pop()
            admits.append(_Admission(next(self.hadm_ids), admit, None))
        if not admits:  # very late first admission: move it back a year
            admit = _minute(NOW - timedelta(days=rng.uniform(200, 400)))
            admits.append(_Admission(next(self.hadm_ids), admit, _minute(admit + timedelta(days=3))))

        age_first = min(int(rng.triangular(18, 91, 66)), 90)
        dob = (admits[0].admit - timedelta(days=365.25 * age_first + rng.uniform(1, 360))).replace(
            hour=0, minute=0, second=0
        )
        dies_in_hospital = not is_current and rng.random() < 0.09
        dies_later = not is_current and not dies_in_hospital and rng.random() < 0.12
        dod: datetime | None = None
        last = admits[-1]
        if dies_in_hospital and last.disch:
            dod = last.disch.replace(hour=0, minute=0, second=0)
        elif dies_later and last.disch:
            later = last.disch + timedelta(days=rng.uniform(10, 900))
            if later < NOW:
                dod = later.replace(hour=0, minute=0, second=0)
        self.rows.add("patients", subject_id, gender, _ts(dob), _ts(dod) if dod else None)

        marital = self.pick["marital_status"].pick(rng) if rng.random() > 0.1 else None
        insurance = "medicare" if age_first >= 65 and rng.random() < 0.8 else self.pick["insurance"].pick(rng)
        ethnicity = self.pick["ethnicity"].pick(rng)
        language = self.pick["language"].pick(rng) if rng.random() > 0.25 else None
        for i, adm in enumerate(admits):
            is_last = i == len(admits) - 1
            if adm.disch is None:
                discharge_location = None
            elif is_last and dies_in_hospital:
                discharge_location = "dead/expired"
            else:
                discharge_location = self.pick["discharge_location"].pick(rng)
            age = adm.admit.year - dob.year - ((adm.admit.month, adm.admit.day) < (dob.month, dob.day))
            adm_type = self.pick["admission_type"].pick(rng)
            location = (
                "emergency room admit" if adm_type == "emergency" and rng.random() < 0.6
                else self.pick["admission_location"].pick(rng)
            )
            self.rows.add(
                "admissions", subject_id, adm.hadm_id, _ts(adm.admit),
                _ts(adm.disch) if adm.disch else None, adm_type, location, discharge_location,
                insurance, language, marital, ethnicity, age,
            )
            self.admission_events(subject_id, adm)

    # ---- everything inside one admission

    def admission_events(self, subject_id: int, adm: _Admission) -> None:
        rng = self.rng
        stays = self.icu_stays(subject_id, adm)
        self.transfers(subject_id, adm, stays)
        span = (adm.end - adm.admit).total_seconds()

        def inside(lo: float = 0.0, hi: float = 1.0) -> datetime:
            return _minute(adm.admit + timedelta(seconds=span * rng.uniform(lo, hi)))

        for code in self.distinct(self.dx_pick, rng.randint(3, 13)):
            when = inside(0.0, 0.15)
            rid = self.rows.add("diagnoses_icd", subject_id, adm.hadm_id, code, _ts(when))
            self.charge(subject_id, adm, "diagnoses_icd", rid, when, _price("dx", code, 2, 60))
        if rng.random() < 0.62:
            for code in self.distinct(self.sg_pick, rng.randint(1, 5)):
                when = inside(0.02, 0.9)
                rid = self.rows.add("procedures_icd", subject_id, adm.hadm_id, code, _ts(when))
                self.charge(subject_id, adm, "procedures_icd", rid, when, _price("sg", code, 150, 3000))
        self.labs(subject_id, adm, stays)
        self.prescriptions(subject_id, adm)
        self.microbiology(subject_id, adm)
        for stay in stays:
            self.chart(subject_id, stay)
            self.inputs_outputs(subject_id, stay)

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
        roll = rng.random()
        n = 0 if roll < 0.22 else (2 if roll > 0.93 else 1)
        if adm.disch is None:
            n = max(n, 1) if rng.random() < 0.7 else n
        stays: list[_IcuStay] = []
        cursor = adm.admit + timedelta(hours=rng.uniform(0.5, 12))
        for k in range(n):
            if cursor >= adm.end - timedelta(hours=6):
                break
            intime = _minute(cursor)
            remaining = (adm.end - intime).total_seconds() / 86400
            length = min(rng.lognormvariate(math.log(2.2), 0.7), max(remaining - 0.2, 0.3))
            outtime: datetime | None = _minute(intime + timedelta(days=length))
            current = adm.disch is None and k == n - 1 and rng.random() < 0.65
            if current:
                outtime = None
            elif outtime is not None and outtime >= adm.end:
                outtime = _minute(adm.end - timedelta(hours=1))
            unit = self.pick["careunit"].pick(rng)
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

    def labs(self, subject_id: int, adm: _Admission, stays: list[_IcuStay]) -> None:
        rng = self.rng
        baseline: dict[int, float] = {}
        for lab in self.v.labs:
            span = lab.high - lab.low
            centre = rng.uniform(lab.low + 0.15 * span, lab.high - 0.15 * span)
            if rng.random() < 0.2:
                centre = lab.high + rng.uniform(0.1, 0.8) * span if rng.random() < 0.6 else lab.low - rng.uniform(0.05, 0.3) * span
            baseline[lab.itemid] = centre
        day = adm.admit.replace(hour=0, minute=0)
        first = True
        while day < adm.end:
            draw = day + timedelta(hours=rng.uniform(3, 7))
            if first:
                draw = adm.admit + timedelta(minutes=rng.randint(20, 120))
            if draw >= adm.end:
                break
            in_icu = any(s.intime <= draw <= s.end for s in stays)
            panels = ["bmp", "cbc"] if first else []
            if not first:
                panels += [p for p, chance in (("bmp", 0.7), ("cbc", 0.45)) if rng.random() < chance]
            for panel, chance in (("coag", 0.35), ("lft", 0.2), ("diff", 0.2), ("urine", 0.08),
                                  ("cardiac", 0.35 if first else 0.05), ("gas", 0.5 if in_icu else 0.02)):
                if rng.random() < chance:
                    panels.append(panel)
            for offset, panel in enumerate(panels):
                when = _minute(draw + timedelta(minutes=offset * 7))
                if when >= adm.end:
                    break
                for lab in self.lab_panels[panel]:
                    self.lab_row(subject_id, adm, lab, when, baseline[lab.itemid])
            for lab in self.lab_panels["rare"]:
                if rng.random() < 0.04:
                    when = _minute(draw + timedelta(minutes=rng.randint(60, 600)))
                    if when < adm.end:
                        self.lab_row(subject_id, adm, lab, when, baseline[lab.itemid])
            first = False
            day += timedelta(days=1)

    def lab_row(self, subject_id: int, adm: _Admission, lab: _LabItem, when: datetime,
                centre: float) -> None:
        value = self.rng.gauss(centre, (lab.high - lab.low) / 6 or 0.01)
        if lab.label != "base excess":
            value = max(value, lab.low * 0.3 if lab.low > 0 else 0.0)
        value = round(value, lab.decimals)
        rid = self.rows.add("labevents", subject_id, adm.hadm_id, lab.itemid, _ts(when), value,
                            lab.unit or None)
        self.charge(subject_id, adm, "labevents", rid, when, _price("lab", lab.itemid, 3, 45))

    def prescriptions(self, subject_id: int, adm: _Admission) -> None:
        rng = self.rng
        span_h = max((adm.end - adm.admit).total_seconds() / 3600, 2)
        for _ in range(rng.randint(4, 18)):
            form: vocab.DrugForm = self.v.drugs.pick(rng)
            start = (adm.admit + timedelta(hours=rng.uniform(0, span_h * 0.8))).replace(minute=0)
            start = max(start, adm.admit.replace(minute=0))
            end = start + timedelta(days=rng.randint(1, 7))
            if adm.disch is not None and end > adm.disch:
                end = adm.disch.replace(minute=0)
            rid = self.rows.add("prescriptions", subject_id, adm.hadm_id, _ts(start), _ts(end),
                                form.drug, form.dose_val, form.dose_unit, form.route)
            self.charge(subject_id, adm, "prescriptions", rid, start,
                        _price("rx", form.drug, 0.5, 250))

    def microbiology(self, subject_id: int, adm: _Admission) -> None:
        rng = self.rng
        if rng.random() > 0.45:
            return
        span = (adm.end - adm.admit).total_seconds()
        times = sorted({rng.randint(600, max(int(span) - 60, 700)) // 60 for _ in range(rng.randint(1, 5))})
        for minutes in times:
            when = adm.admit + timedelta(minutes=minutes)
            spec = self.specimens.pick(rng)
            org = rng.choice(spec["organisms"]) if rng.random() < spec["positive"] else None
            self.rows.add("microbiologyevents", subject_id, adm.hadm_id, _ts(_minute(when)),
                          spec["name"], org)

    def chart(self, subject_id: int, stay: _IcuStay) -> None:
        rng = self.rng
        vitals = [c for c in self.v.charts if c.kind == "vital"]
        arterial = rng.random() < 0.55
        wanted = [
            c for c in vitals
            if (c.label.startswith("arterial") and arterial)
            or (c.label.startswith("nbp") and not arterial)
            or not (c.label.startswith("arterial") or c.label.startswith("nbp"))
        ]
        state = {c.itemid: rng.gauss(c.mean, c.sd * 0.6) for c in wanted}
        for c in self.v.charts:
            if c.kind == "admit":
                value = round(min(max(rng.gauss(c.mean, c.sd), c.low), c.high), c.decimals)
                when = stay.intime + timedelta(minutes=rng.randint(5, 90))
                self.rows.add("chartevents", subject_id, stay.hadm.hadm_id, stay.icustay_id,
                              c.itemid, _ts(_minute(when)), value, c.unit)
        when = stay.intime + timedelta(minutes=rng.randint(10, 50))
        step = 0
        while when < stay.end:
            for c in wanted:
                if c.label.startswith("temperature") and step % 4:
                    continue
                x = state[c.itemid]
                x = x + 0.3 * (c.mean - x) + rng.gauss(0, c.sd * 0.35)
                state[c.itemid] = x
                value = round(min(max(x, c.low), c.high), c.decimals)
                self.rows.add("chartevents", subject_id, stay.hadm.hadm_id, stay.icustay_id,
                              c.itemid, _ts(_minute(when)), value, c.unit)
            step += 1
            when += timedelta(minutes=rng.choice((120, 120, 180, 240)))

    def inputs_outputs(self, subject_id: int, stay: _IcuStay) -> None:
        rng = self.rng
        chosen_in = {self.input_pick.pick(rng)["itemid"]: None for _ in range(rng.randint(1, 5))}
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


def write_database(path: Path, *, seed: int, n_patients: int, stamp: int) -> None:
    """Generate all tables into a new SQLite file at ``path``."""
    gen = _Generator(seed, n_patients)
    gen.dictionaries()
    gen.patients()
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.executescript(vocab.read_text("schema.sql"))
        for table in TABLES:
            rows = gen.rows.data[table]
            if not rows:
                continue
            marks = ", ".join("?" * len(rows[0]))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        con.executescript(vocab.read_text("indexes.sql"))
        con.execute(f"PRAGMA user_version = {int(stamp)}")
        con.commit()
        con.execute("ANALYZE")
        con.commit()
    finally:
        con.close()
