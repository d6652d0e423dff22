"""k-shot cohorts: drawing them, scoring the baseline and the oracle on them, calibrating bars.

A cohort is what one sample is made of: ``k`` training examples per class (per label for
multilabel tasks: ``k`` positives each) from the label-visible patients, and a test set of about
``n_test`` examples from the hidden group of the sample's split. Every patient appears at most
once in a cohort: a second example of the same patient would carry the first one's result (or its
readmission, or its later diagnosis) in its record, so a test label could be read off another
example's features.

Test sets are stratified: each class (each label's positives and negatives) first gets up to
``min_test_per_class`` examples, rarest class first, then random patients fill the set up to
``n_test`` with their natural mix. A class the group does not hold (the world never produces it)
is simply absent and skipped by the macro AUROC.
"""

from __future__ import annotations

import json
import random
import statistics
from dataclasses import dataclass

import numpy as np

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets._prediction import Calibration, fit_baseline, metric, null_sd, summarize_calibration
from medagentgym.datasets.ehrshot.examples import TaskSpec
from medagentgym.datasets.ehrshot.pool import Pool, hidden_dir, load_pool

CALIBRATION_COHORTS = 30
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class Cohort:
    train: np.ndarray  # pool rows
    test: np.ndarray
    attempt: int = 0


def _class_members(pool: Pool, rows: np.ndarray, kind: str, n_columns: int) -> dict[str, list[int]]:
    """Pool rows per stratum: each class (binary, multiclass) or each label's positives and
    negatives (multilabel)."""
    members: dict[str, list[int]] = {}
    for r in rows.tolist():
        if kind == "multilabel":
            for j in range(n_columns):
                members.setdefault(f"{j}:{int(pool.labels[r, j])}", []).append(r)
        else:
            members.setdefault(str(int(pool.labels[r])), []).append(r)
    return members


def _pick(pool: Pool, rows: np.ndarray, quota: dict[str, int], total: int, rng: random.Random,
          kind: str, n_columns: int) -> list[int]:
    """One example per patient: strata quotas first (rarest stratum first), then random patients."""
    members = _class_members(pool, rows, kind, n_columns)
    counts = {key: len({int(pool.subjects[r]) for r in rs}) for key, rs in members.items()}
    used: set[int] = set()
    chosen: list[int] = []
    have = dict.fromkeys(members, 0)

    def take(r: int) -> None:
        used.add(int(pool.subjects[r]))
        chosen.append(r)
        for key in _keys_of(pool, r, kind, n_columns):
            have[key] = have.get(key, 0) + 1

    for key in sorted(members, key=lambda k: (counts[k], k)):
        candidates = list(members[key])
        rng.shuffle(candidates)
        for r in candidates:
            if have[key] >= quota.get(key, 0):
                break
            if int(pool.subjects[r]) not in used:
                take(r)
    if len(chosen) < total:
        by_patient: dict[int, list[int]] = {}
        for r in rows.tolist():
            by_patient.setdefault(int(pool.subjects[r]), []).append(r)
        patients = sorted(set(by_patient) - used)
        rng.shuffle(patients)
        for sid in patients[: total - len(chosen)]:
            take(rng.choice(by_patient[sid]))
    return chosen


def _keys_of(pool: Pool, r: int, kind: str, n_columns: int) -> list[str]:
    if kind == "multilabel":
        return [f"{j}:{int(pool.labels[r, j])}" for j in range(n_columns)]
    return [str(int(pool.labels[r]))]


def draw_cohort(task: TaskSpec, pool: Pool, group: str, rng: random.Random) -> Cohort:
    n_columns = len(task.columns)
    k = int(task.params.get("k", 32))
    n_test = int(task.params.get("n_test", 200))
    min_test = int(task.params.get("min_test_per_class", 20))
    train_rows = np.flatnonzero(pool.groups == "visible")
    test_rows = np.flatnonzero(pool.groups == group)
    if task.kind == "multilabel":
        train_quota = {f"{j}:1": k for j in range(n_columns)}
        train_total = 2 * k
        test_quota = {f"{j}:{v}": min_test for j in range(n_columns) for v in (0, 1)}
    else:
        classes = range(n_columns) if task.kind == "multiclass" else range(2)
        train_quota = {str(c): k for c in classes}
        train_total = 0
        test_quota = {str(c): min_test for c in classes}
    train = _pick(pool, train_rows, train_quota, train_total, rng, task.kind, n_columns)
    test = _pick(pool, test_rows, test_quota, n_test, rng, task.kind, n_columns)
    rng.shuffle(train)
    rng.shuffle(test)
    return Cohort(np.asarray(train, dtype=int), np.asarray(test, dtype=int))


def cohort_scores(task: TaskSpec, pool: Pool, cohort: Cohort) -> dict[str, object]:
    """Baseline and oracle scores and AUROCs of a cohort's test set."""
    n_columns = len(task.columns)
    y_train = pool.label_list(cohort.train, task.kind)
    y_test = pool.label_list(cohort.test, task.kind)
    baseline = fit_baseline(task.kind, pool.features[cohort.train], y_train, pool.features[cohort.test], n_columns)
    oracle = pool.risks[cohort.test]
    return {
        "y_test": y_test,
        "baseline_scores": baseline,
        "oracle_scores": oracle,
        "baseline": metric(task.kind, y_test, baseline, task.columns),
        "oracle": metric(task.kind, y_test, oracle, task.columns),
        "null_sd": null_sd(task.kind, y_test, n_columns),
    }


def prevalence(task: TaskSpec, labels: list) -> float:
    if task.kind == "binary":
        return statistics.fmean(labels)
    if task.kind == "multiclass":
        shares = [labels.count(c) / len(labels) for c in range(len(task.columns))]
        return min(s for s in shares if s > 0)
    return float(np.mean(np.asarray(labels)))


def calibrate(task: TaskSpec, cohorts: int = CALIBRATION_COHORTS) -> Calibration:
    """The task's bar from the baseline over calibration cohorts (own seeds, ``train`` group)."""
    pool = load_pool(task.name)
    base, orac, sds, prev, n_train, n_test = [], [], [], [], [], []
    for i in range(cohorts):
        cohort = draw_cohort(task, pool, "train", random.Random(stable_hash("ehrshot-calibration", task.name, i)))
        scores = cohort_scores(task, pool, cohort)
        base.append(scores["baseline"])
        orac.append(scores["oracle"])
        sds.append(scores["null_sd"])
        prev.append(prevalence(task, scores["y_test"]))  # type: ignore[arg-type]
        n_train.append(len(cohort.train))
        n_test.append(len(cohort.test))
    return summarize_calibration(
        task.name,
        task.kind,  # type: ignore[arg-type]
        prevalence=statistics.median(prev),
        baselines=base,
        oracles=orac,
        null_sds=sds,
        n_train=n_train,
        n_test=n_test,
    )


def calibration_path():
    return hidden_dir() / "calibration.json"


def load_calibrations() -> dict[str, Calibration]:
    path = calibration_path()
    if not path.exists():
        return {}
    return {row["task"]: Calibration(**row) for row in json.loads(path.read_text())}


def save_calibrations(rows: dict[str, Calibration]) -> None:
    path = calibration_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([c.as_dict() for c in rows.values()], indent=1))
    tmp.replace(path)
