"""Cohorts of mimic_extract: the stay partition, seeded training and test subsets, their files,
the baseline's features and the per-task bars calibrated at build time.

Patients (not stays) are partitioned by ``stable_hash``: 50% *label-visible* (every cohort's
training stays come from here), 20% *catalog-train hidden* (test stays of train-split samples)
and 30% *catalog-test hidden* (test stays of test-split samples; the larger share keeps the
evaluation sets near 230-270 stays). A hidden stay's label is written nowhere: only the target
of a sample (and aggregate calibration numbers) carry it.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medagentgym.catalog.sample import SPLITS, Split
from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets._prediction import (
    Calibration,
    fit_baseline,
    metric,
    null_sd,
    summarize_calibration,
    write_csv,
)
from medagentgym.datasets.mimic_extract import extract as extract_module
from medagentgym.datasets.mimic_extract.extract import VARIABLES, Stay, column_names, extract
from medagentgym.datasets.mimic_extract.tasks import TASKS, Task
from medagentgym.paths import dataset_cache_dir
from medagentgym.world import build_world, world_stamp

NAME = "mimic_extract"
COHORT_VERSION = 1  # bump when the cohort logic changes (the stamp also covers the module sources)
TRAIN_FRACTION = 0.85  # of the label-visible pool, per cohort
TEST_FRACTION = 0.9  # of the split's hidden pool, per cohort
CALIBRATION_COHORTS = 20  # per task and split (tests use fewer)
#: Shares of patients (hash buckets out of 100): label-visible, catalog-train hidden, catalog-test hidden.
POOL_BOUNDS = (50, 70)
CATEGORICAL = ("admission_type", "first_careunit", "admission_diagnosis")

Pool = str  # "visible" | "train" | "test"


def pool_of(subject_id: int) -> Pool:
    """Which pool a patient's stays belong to, forever (hash of the patient, not of a stay)."""
    bucket = stable_hash(NAME, "pool", subject_id) % 100
    return "visible" if bucket < POOL_BOUNDS[0] else ("train" if bucket < POOL_BOUNDS[1] else "test")


def stay_key(stay: Stay) -> str:
    """The opaque id the files use for a stay (no world id appears in them)."""
    return f"S{stable_hash(NAME, 'stay', stay.icustay_id) % 10**9:09d}"


@functools.cache
def _sources() -> str:
    """The source of the modules that decide a cohort's content (part of the stamp)."""
    from medagentgym.datasets.mimic_extract import tasks

    return "".join(inspect.getsource(m) for m in (extract_module, tasks, sys.modules[__name__]))


def stamp() -> int:
    """A fingerprint of the world and of the code that turns it into cohorts."""
    return stable_hash(NAME, COHORT_VERSION, world_stamp(), _sources()) & 0x7FFF_FFFF


@functools.cache
def _stays_for(path: str, world: int) -> tuple[Stay, ...]:
    return tuple(extract(Path(path)))


def stays() -> tuple[Stay, ...]:
    """Every extracted stay of the current world (built on first use; kept per process)."""
    path = build_world()
    return _stays_for(str(path), world_stamp())


@dataclass(frozen=True)
class Cohort:
    task: Task
    train: tuple[Stay, ...]
    test: tuple[Stay, ...]

    @property
    def test_labels(self) -> list[int]:
        return [s.labels[self.task.name] for s in self.test]

    @property
    def train_labels(self) -> list[int]:
        return [s.labels[self.task.name] for s in self.train]


def pools(task: Task) -> dict[Pool, list[Stay]]:
    """The eligible stays of a task by pool, in a stable order."""
    return _pools(stays(), task.name)


@functools.lru_cache(maxsize=16)
def _pools(all_stays: tuple[Stay, ...], task: str) -> dict[Pool, list[Stay]]:
    out: dict[Pool, list[Stay]] = {"visible": [], "train": [], "test": []}
    for stay in all_stays:
        if task in stay.labels:
            out[pool_of(stay.subject_id)].append(stay)
    return out


def _draw_subsets(rng: random.Random, visible: Sequence[Stay], hidden: Sequence[Stay], task: str,
                  ) -> tuple[list[Stay], list[Stay]] | None:
    """A seeded training subset and test subset; None when a side lacks a class."""
    train = rng.sample(list(visible), round(TRAIN_FRACTION * len(visible)))
    test = rng.sample(list(hidden), round(TEST_FRACTION * len(hidden)))
    for side in (train, test):
        if len({s.labels[task] for s in side}) < 2:
            return None
    return train, test


def draw_cohort(task: Task, hidden: Pool, rng: random.Random) -> Cohort:
    """A cohort whose test stays come from the ``hidden`` pool ("train" or "test")."""
    by_pool = pools(task)
    for _ in range(100):
        drawn = _draw_subsets(rng, by_pool["visible"], by_pool[hidden], task.name)
        if drawn is not None:
            return Cohort(task, tuple(drawn[0]), tuple(drawn[1]))
    raise RuntimeError(f"no cohort of {task.name} with both classes on each side")


# --------------------------------------------------------------------------- features


@functools.cache
def _levels() -> dict[str, tuple[str, ...]]:
    """The categories of each categorical static field (from the record: no label involved)."""
    return {name: tuple(sorted({str(s.static[name]) for s in stays()})) for name in CATEGORICAL}


def baseline_features(stay: Stay, window_h: int) -> np.ndarray:
    """What the baseline sees: age, sex, hours to ICU, one-hot categorical fields, and per
    variable the mean, minimum, maximum and last hourly value of the window (NaN when never
    measured; the baseline imputes the training median)."""
    static = stay.static
    values: list[float] = [float(static["age"]), float(static["sex"] == "M"), float(static["hours_to_icu"])]
    for name, levels in _levels().items():
        values += [float(str(stay.static[name]) == level) for level in levels]
    for variable in VARIABLES:
        xs = [stay.grid[(variable, h)] for h in range(window_h) if (variable, h) in stay.grid]
        values += [statistics.fmean(xs), min(xs), max(xs), xs[-1]] if xs else [math.nan] * 4
    return np.asarray(values, dtype=float)


def baseline_scores(cohort: Cohort) -> np.ndarray:
    """The baseline's test scores (n_test, 1), on per-variable summaries of the window."""
    w = cohort.task.window_h
    x_train = np.stack([_features(s, w) for s in cohort.train])
    x_test = np.stack([_features(s, w) for s in cohort.test])
    return fit_baseline("binary", x_train, cohort.train_labels, x_test, 1)


def _features(stay: Stay, window_h: int) -> np.ndarray:
    """``baseline_features`` kept on the stay per window (cohorts reuse the same stays)."""
    if window_h not in stay.memo:
        stay.memo[window_h] = baseline_features(stay, window_h)
    return stay.memo[window_h]


def oracle_scores(cohort: Cohort) -> np.ndarray:
    return np.asarray([[s.oracle[cohort.task.name]] for s in cohort.test], dtype=float)


# --------------------------------------------------------------------------- files


def write_cohort(cohort: Cohort, folder: Path) -> None:
    """``train.csv`` (id, features, label) and ``test.csv`` (id, features), written once."""
    header = ("id", *column_names(cohort.task.window_h))
    train_path, test_path = folder / "train.csv", folder / "test.csv"
    if not train_path.exists():
        rows = [[stay_key(s), *s.row(cohort.task.window_h), s.labels[cohort.task.name]] for s in cohort.train]
        write_csv(train_path, (*header, cohort.task.name), rows)
    if not test_path.exists():
        write_csv(test_path, header, [[stay_key(s), *s.row(cohort.task.window_h)] for s in cohort.test])


def cohort_folder(category: str, split: Split, index: int, seed: int, attempt: int = 0) -> Path:
    """A sample's own folder. The stamp in its path keeps files of another world or code apart;
    a redrawn cohort (``attempt`` > 0, which depends on the bar) gets its own folder too."""
    name = f"{category}-{index:04d}" + (f"-r{attempt}" if attempt else "")
    return dataset_cache_dir(NAME) / "cohorts" / f"{stamp():08x}" / split / str(seed) / name


def remove_stale_cohorts() -> int:
    """Delete the cohort folders of other stamps; returns how many stamp folders went."""
    root = dataset_cache_dir(NAME) / "cohorts"
    current = f"{stamp():08x}"
    stale = [p for p in root.iterdir() if p.is_dir() and p.name != current] if root.is_dir() else []
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


# --------------------------------------------------------------------------- calibration


def calibration_path() -> Path:
    return dataset_cache_dir(NAME) / "calibration.json"


def calibrate_task(task: Task, hidden: Pool, n_cohorts: int | None = None) -> Calibration:
    """The task's bar for samples whose test stays come from the ``hidden`` pool: the baseline
    over calibration cohorts of that pool (drawn with their own seed, never samples)."""
    n_cohorts = n_cohorts or CALIBRATION_COHORTS
    baseline, oracle, nulls, prevalence, n_train, n_test = [], [], [], [], [], []
    for i in range(n_cohorts):
        rng = random.Random(stable_hash(NAME, "calibration", task.name, hidden, i))
        cohort = draw_cohort(task, hidden, rng)
        labels = cohort.test_labels
        baseline.append(metric("binary", labels, baseline_scores(cohort), ("score",)))
        oracle.append(metric("binary", labels, oracle_scores(cohort), ("score",)))
        nulls.append(null_sd("binary", labels, 1))
        prevalence.append(statistics.fmean(labels))
        n_train.append(len(cohort.train))
        n_test.append(len(cohort.test))
    return summarize_calibration(
        task.name,
        "binary",
        prevalence=statistics.fmean(prevalence),
        baselines=baseline,
        oracles=oracle,
        null_sds=nulls,
        n_train=n_train,
        n_test=n_test,
    )


Calibrations = dict[str, dict[str, Calibration]]  # split -> task -> row


def build_calibration(force: bool = False) -> Calibrations:
    """Every (split, task) calibration, from the stamped JSON in the cache when it is current.

    Each split has its own bars: a train-split sample is tested on the catalog-train hidden
    pool, a test-split sample on the catalog-test one, and a bar is only fair against the
    baseline on the same pool.
    """
    path = calibration_path()
    current = stamp()
    if not force and path.exists():
        try:
            data = json.loads(path.read_text())
            if data.get("stamp") == current and data.get("cohorts") == CALIBRATION_COHORTS:
                return {
                    split: {row["task"]: Calibration(**row) for row in rows} for split, rows in data["splits"].items()
                }
        except (ValueError, KeyError, TypeError):
            pass
    table = {split: {name: calibrate_task(task, split) for name, task in TASKS.items()} for split in SPLITS}
    splits = {split: [r.as_dict() for r in rows.values()] for split, rows in table.items()}
    text = json.dumps({"stamp": current, "cohorts": CALIBRATION_COHORTS, "splits": splits}, indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibration.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return table


@functools.cache
def _calibration_for(cache: str, current: int, cohorts: int) -> Calibrations:
    return build_calibration()


def calibration() -> Calibrations:
    """The current calibration (built on first use; kept per process, cache and stamp)."""
    return _calibration_for(str(calibration_path()), stamp(), CALIBRATION_COHORTS)


def calibration_table(split: Split = "test", rows: Calibrations | None = None) -> str:
    """The docs table (docs/mimic_extract.md) of one split, as measured at build time."""
    table = (rows or calibration())[split]
    lines = [
        "| task | test prevalence | train / test stays | baseline AUROC (median) | bar | oracle AUROC (median) "
        "| chance limit |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.values():
        lines.append(
            f"| {r.task} | {r.prevalence:.3f} | {r.n_train} / {r.n_test} | {r.baseline_median:.3f} | {r.bar:.2f} "
            f"| {r.oracle_median:.3f} | {r.chance_limit:.2f} |"
        )
    return "\n".join(lines)
