"""The world's record as a timeline per patient, and the two views of it an agent gets.

EHRSHOT gives every example (a) a representation computed by a pretrained foundation model
(CLMBR) from the patient's record before the prediction time and (b) the record itself. Here:

- ``Record.embedding``: a fixed, seeded "pretrained" encoder. A raw summary of the timeline before
  the prediction time (age, sex, visits, the number of distinct diagnoses, procedures and drugs,
  hashed code counts over the whole history and the last 48 hours, the last value of the main
  labs as z-scores against their reference ranges) goes through one fixed random projection and
  a tanh into ``EMBED_DIM`` numbers. It is the same function for every task, so the same
  (patient, time) always gets the same vector; like a frozen foundation model, it is good but not
  tuned to any one label.
- ``Record.events_before``: the MEDS-style events (time, code, value, unit) strictly before the
  prediction time, for agents that engineer their own features.

Only agent-visible tables are read (never ``latent``/``outcomes``); chartevents and fluids are left
out to keep the per-cohort files small.
"""

from __future__ import annotations

import math
import sqlite3
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from medagentgym.catalog.splits import stable_hash

EMBED_DIM = 96
HISTORY_BUCKETS = 64
RECENT_BUCKETS = 32
RECENT_HOURS = 48
#: Labs whose last value enters the embedding (by world label).
MAIN_LABS: tuple[str, ...] = (
    "sodium", "potassium", "glucose", "creatinine", "urea nitrogen", "bicarbonate", "anion gap",
    "chloride", "hemoglobin", "hematocrit", "platelet count", "white blood cells", "inr(pt)",
    "lactate", "ph", "albumin", "bilirubin, total", "troponin t", "magnesium", "phosphate",
)
ENCODER_SEED = 20_240_701
#: Code kinds whose distinct codes are counted (a breadth of history a hashed count blurs).
DISTINCT_KINDS: tuple[str, ...] = ("ICD9CM/", "ICD9Proc/", "DRUG/")
RAW_DIM = 5 + len(DISTINCT_KINDS) + HISTORY_BUCKETS + RECENT_BUCKETS + 2 * len(MAIN_LABS)


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Timeline:
    """One patient's events sorted by time (codes as MEDS-style strings)."""

    gender: str
    dob: str
    times: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)
    units: list[str | None] = field(default_factory=list)
    history_bucket: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    recent_bucket: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    distinct: np.ndarray = field(default_factory=lambda: np.zeros((1, 0)))  # (n + 1, kinds) cumulative
    lab_times: dict[str, list[str]] = field(default_factory=dict)
    lab_values: dict[str, list[float]] = field(default_factory=dict)
    visits: list[str] = field(default_factory=list)  # admission times, sorted


class Record:
    """Every patient's timeline, loaded once from the world (read-only connection)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.timelines: dict[int, Timeline] = {
            sid: Timeline(gender, dob)
            for sid, gender, dob in con.execute("SELECT subject_id, gender, dob FROM patients")
        }
        self.lab_ranges = {
            label: ((low + high) / 2, (high - low) / 2 or 1.0)
            for label, low, high in con.execute("SELECT label, ref_low, ref_high FROM lab_items")
        }
        rows: list[tuple[int, str, str, float | None, str | None]] = []
        for sid, admit, disch, kind in con.execute(
            "SELECT subject_id, admittime, dischtime, admission_type FROM admissions"
        ):
            rows.append((sid, admit, f"VISIT/{kind}", None, None))
            if disch is not None:
                rows.append((sid, disch, "VISIT_END", None, None))
            self.timelines[sid].visits.append(admit)
        rows += con.execute(
            "SELECT l.subject_id, l.charttime, 'LAB/' || d.label, l.valuenum, l.valueuom "
            "FROM labevents l JOIN d_labitems d ON d.itemid = l.itemid"
        ).fetchall()
        rows += con.execute(
            "SELECT subject_id, charttime, 'ICD9CM/' || icd9_code, NULL, NULL FROM diagnoses_icd"
        ).fetchall()
        rows += con.execute(
            "SELECT subject_id, charttime, 'ICD9Proc/' || icd9_code, NULL, NULL FROM procedures_icd"
        ).fetchall()
        rows += con.execute(
            "SELECT subject_id, startdate, 'DRUG/' || drug, CAST(dose_val_rx AS REAL), dose_unit_rx FROM prescriptions"
        ).fetchall()
        rows += con.execute("SELECT subject_id, intime, 'ICU/' || first_careunit, NULL, NULL FROM icustays").fetchall()
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        for sid, time, code, value, unit in rows:
            tl = self.timelines[sid]
            tl.times.append(time)
            tl.codes.append(code)
            tl.values.append(value)
            tl.units.append(unit)
            if code.startswith("LAB/") and value is not None:
                label = code[4:]
                tl.lab_times.setdefault(label, []).append(time)
                tl.lab_values.setdefault(label, []).append(float(value))
        cache: dict[str, tuple[int, int]] = {}
        for tl in self.timelines.values():
            tl.visits.sort()
            pairs = []
            for code in tl.codes:
                if code not in cache:
                    cache[code] = (
                        stable_hash("ehrshot-history", code) % HISTORY_BUCKETS,
                        stable_hash("ehrshot-recent", code) % RECENT_BUCKETS,
                    )
                pairs.append(cache[code])
            arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
            tl.history_bucket, tl.recent_bucket = arr[:, 0], arr[:, 1]
            seen: set[str] = set()
            firsts = np.zeros((len(tl.codes) + 1, len(DISTINCT_KINDS)))
            for i, code in enumerate(tl.codes):
                if code in seen:
                    continue
                seen.add(code)
                for j, prefix in enumerate(DISTINCT_KINDS):
                    if code.startswith(prefix):
                        firsts[i + 1, j] = 1.0
            tl.distinct = np.cumsum(firsts, axis=0)
        rng = np.random.default_rng(ENCODER_SEED)
        self._w = rng.normal(0.0, 1.0, size=(RAW_DIM, EMBED_DIM)) * (1.6 / math.sqrt(RAW_DIM))
        self._b = rng.normal(0.0, 0.2, size=EMBED_DIM)

    # ---- the raw summary and the frozen encoder

    def raw_features(self, subject_id: int, time: str) -> np.ndarray:
        """The summary the encoder reads: only events strictly before ``time``."""
        tl = self.timelines[subject_id]
        now = datetime.fromisoformat(time)
        end = bisect_left(tl.times, time)
        start_recent = bisect_left(tl.times, _fmt(now - timedelta(hours=RECENT_HOURS)), 0, end)
        age = (now - datetime.fromisoformat(tl.dob)).days / 365.25
        n_visits = bisect_left(tl.visits, time)
        last_visit = tl.visits[n_visits - 1] if n_visits else None
        hours_in = (now - datetime.fromisoformat(last_visit)).total_seconds() / 3600 if last_visit else 0.0
        head = [
            (age - 65) / 15,
            1.0 if tl.gender == "f" else -1.0,
            math.log1p(n_visits),
            math.log1p(max(hours_in, 0.0)) / 3,
            math.log1p(end) / 4,
        ]
        history = np.log1p(np.bincount(tl.history_bucket[:end], minlength=HISTORY_BUCKETS))
        recent = np.log1p(np.bincount(tl.recent_bucket[start_recent:end], minlength=RECENT_BUCKETS))
        labs = np.zeros(2 * len(MAIN_LABS))
        for j, label in enumerate(MAIN_LABS):
            times = tl.lab_times.get(label)
            if not times:
                continue
            i = bisect_left(times, time)
            if i == 0:
                continue
            centre, half = self.lab_ranges[label]
            labs[2 * j] = max(min((tl.lab_values[label][i - 1] - centre) / half, 8.0), -8.0) / 2
            labs[2 * j + 1] = 1.0
        distinct = np.log1p(tl.distinct[end]) / 2
        return np.concatenate([np.asarray(head), distinct, history / 2, recent / 2, labs])

    def embedding(self, subject_id: int, time: str) -> np.ndarray:
        """The frozen representation of the record before ``time`` (``EMBED_DIM`` numbers)."""
        return np.round(np.tanh(self.raw_features(subject_id, time) @ self._w + self._b), 4)

    def embeddings(self, keys: list[tuple[int, str]]) -> np.ndarray:
        if not keys:
            return np.zeros((0, EMBED_DIM))
        return np.stack([self.embedding(sid, t) for sid, t in keys])

    # ---- the raw record

    def events_before(self, subject_id: int, time: str) -> list[tuple[str, str, float | None, str | None]]:
        """(time, code, value, unit) of every event strictly before ``time``."""
        tl = self.timelines[subject_id]
        end = bisect_left(tl.times, time)
        return list(zip(tl.times[:end], tl.codes[:end], tl.values[:end], tl.units[:end], strict=True))
