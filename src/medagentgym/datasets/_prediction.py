"""What every prediction dataset (ehrshot, mimic_extract) shares: the build-time baseline, the
bar, the oracle's solution and the hidden target of a cohort.

A prediction sample is one *cohort*: training examples with labels and test examples without,
as files the agent reads, and the test labels only in the hidden target
(``catalog.sample.PredictionTask``). Three models are measured on every cohort's test set:

- the **baseline** (``fit_baseline``): a standardised logistic regression on the features the
  agent is given, with median imputation; what a competent first attempt reaches;
- the **oracle bound**: the latent risk the world drew the label from (the model that knows the
  hidden state); the oracle policy submits it, so ``validate`` proves the bar is reachable;
- the **bar** (``calibrate_bar``): set per task at build time from the baseline's AUROC over
  calibration cohorts (drawn with their own seed, never samples), never below chance plus three
  standard deviations of a random ranking on a test set of that shape, so constant, random and
  label-shuffled predictions fail.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medagentgym.catalog.sample import (
    AnswerType,
    PredictionTask,
    Resource,
    Sample,
    Solution,
    Split,
    Target,
    make_sample_id,
)
from medagentgym.scoring.predictions import auroc, label_matrix

Kind = Literal["binary", "multiclass", "multilabel"]
#: Decimals of the oracle's scores in its solution (its AUROC is computed on the rounded values).
ORACLE_DECIMALS = 5


def fit_baseline(
    kind: Kind,
    x_train: np.ndarray,
    y_train: Sequence[Any],
    x_test: np.ndarray,
    n_columns: int,
    *,
    c: float = 1.0,
) -> np.ndarray:
    """Scores of a median-imputed, standardised logistic regression, shape (n_test, n_columns).

    Multiclass: one multinomial model (a class absent from training scores 0); multilabel: one
    model per label (a label with one class in training scores its training rate).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small fits: threaded BLAS on a busy 2-core box was 20x slower
        return _fit_baseline(kind, x_train, y_train, x_test, n_columns, c=c)


def _fit_baseline(
    kind: Kind, x_train: np.ndarray, y_train: Sequence[Any], x_test: np.ndarray, n_columns: int, *, c: float
) -> np.ndarray:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def model() -> Any:
        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=c, max_iter=2000),
        )

    x_train = np.asarray(x_train, dtype=float)
    x_test = np.asarray(x_test, dtype=float)
    if kind == "multiclass":
        y = np.asarray(y_train, dtype=int)
        out = np.zeros((len(x_test), n_columns))
        if len(set(y.tolist())) < 2:
            out[:, y[0]] = 1.0
            return out
        fitted = model().fit(x_train, y)
        proba = fitted.predict_proba(x_test)
        for j, cls in enumerate(fitted.classes_):
            out[:, int(cls)] = proba[:, j]
        return out
    matrix = label_matrix(kind, y_train, n_columns)
    out = np.zeros((len(x_test), n_columns))
    for j in range(n_columns):
        column = matrix[:, j]
        if column.min() == column.max():
            out[:, j] = float(column.mean())
            continue
        out[:, j] = model().fit(x_train, column).predict_proba(x_test)[:, 1]
    return out


def metric(kind: Kind, labels: Sequence[Any], scores: np.ndarray, columns: Sequence[str]) -> float:
    """The task's AUROC (see ``scoring.predictions.auroc``)."""
    return auroc(kind, labels, np.asarray(scores, dtype=float), columns)[0]


def null_sd(kind: Kind, labels: Sequence[Any], n_columns: int) -> float:
    """Standard deviation of the metric for a random ranking of this test set (Hanley-McNeil under
    the null: sqrt((n1 + n0 + 1) / (12 n1 n0)) per column; a macro average of C columns divides
    the variance by C)."""
    matrix = label_matrix(kind, labels, n_columns)
    variances = []
    for j in range(matrix.shape[1]):
        n1 = int(matrix[:, j].sum())
        n0 = len(matrix) - n1
        if n1 and n0:
            variances.append((n1 + n0 + 1) / (12 * n1 * n0))
    if not variances:
        raise ValueError("a test set needs both classes in some column")
    return math.sqrt(statistics.fmean(variances) / len(variances))


@dataclass(frozen=True)
class Calibration:
    """A task's bar and what it was set from (written at build time, quoted in docs)."""

    task: str
    kind: str
    prevalence: float  # positive share (binary), share of the rarest class, or mean label rate
    n_train: int
    n_test: int
    cohorts: int
    baseline_median: float
    oracle_median: float
    chance_limit: float  # 0.5 + 3 null standard deviations
    bar: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibrate_bar(baseline_aurocs: Sequence[float], null_sds: Sequence[float]) -> tuple[float, float]:
    """(bar, chance limit): the median baseline AUROC rounded down to 0.01, raised to chance plus
    three null standard deviations (rounded up to 0.01) when the baseline is that weak."""
    if not baseline_aurocs or not null_sds:
        raise ValueError("calibration needs at least one cohort")
    chance = math.ceil((0.5 + 3 * statistics.median(null_sds)) * 100) / 100
    baseline = math.floor(statistics.median(baseline_aurocs) * 100) / 100
    return max(baseline, chance), chance


def summarize_calibration(
    task: str,
    kind: Kind,
    *,
    prevalence: float,
    baselines: Sequence[float],
    oracles: Sequence[float],
    null_sds: Sequence[float],
    n_train: Sequence[int],
    n_test: Sequence[int],
) -> Calibration:
    """A task's ``Calibration`` row from its calibration cohorts' measurements (one per cohort)."""
    bar, chance = calibrate_bar(baselines, null_sds)
    return Calibration(
        task=task,
        kind=kind,
        prevalence=round(prevalence, 4),
        n_train=round(statistics.median(n_train)),
        n_test=round(statistics.median(n_test)),
        cohorts=len(baselines),
        baseline_median=round(statistics.median(baselines), 4),
        oracle_median=round(statistics.median(oracles), 4),
        chance_limit=chance,
        bar=bar,
    )


def round_scores(scores: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(scores, dtype=float), ORACLE_DECIMALS)


def oracle_solution(ids: Sequence[str], columns: Sequence[str], scores: np.ndarray, file: str = "predictions.csv") -> Solution:
    """Python that writes ``scores`` (the oracle bound's, rounded) as the predictions file."""
    rounded = round_scores(scores).reshape(len(ids), len(columns))
    rows = [[str(i), *(repr(float(v)) for v in row)] for i, row in zip(ids, rounded, strict=True)]
    body = "\n".join("    " + repr(",".join(r)) + "," for r in rows)
    code = (
        "# The oracle bound: the latent risk the labels were drawn from (not learnable from the files).\n"
        "_rows = [\n"
        f"{body}\n"
        "]\n"
        f"with open({file!r}, 'w') as _f:\n"
        f"    _f.write({','.join(('id', *columns))!r} + '\\n' + '\\n'.join(_rows) + '\\n')\n"
        f"answer = {file!r}\n"
    )
    return Solution(code=code)


def prediction_target(
    kind: Kind,
    columns: Sequence[str],
    ids: Sequence[str],
    labels: Sequence[Any],
    *,
    bar: float,
    baseline_scores: np.ndarray,
    oracle_scores: np.ndarray,
    baseline_name: str = "logistic regression",
    file: str = "predictions.csv",
) -> Target:
    """The hidden target of a cohort: its labels, the bar, and the baseline's and the oracle's
    AUROC on this test set (the oracle's on its rounded scores, as its solution writes them)."""
    labels = tuple(tuple(int(x) for x in v) if kind == "multilabel" else int(v) for v in labels)
    task = PredictionTask(
        kind=kind,
        columns=tuple(columns),
        ids=tuple(str(i) for i in ids),
        labels=labels,
        bar=bar,
        baseline=round(metric(kind, labels, baseline_scores, columns), 4),
        oracle=round(metric(kind, labels, round_scores(oracle_scores), columns), 4),
        baseline_name=baseline_name,
        file=file,
    )
    return Target(answer_type=AnswerType.PREDICTIONS, value=None, predictions=task)


def cohort_sample(
    *,
    dataset: str,
    category: str,
    split: Split,
    index: int,
    seed: int,
    prompt: str,
    folder: Path,
    description: str,
    kind: Kind,
    columns: Sequence[str],
    ids: Sequence[str],
    labels: Sequence[Any],
    bar: float,
    baseline_scores: np.ndarray,
    oracle_scores: np.ndarray,
    metadata: dict[str, Any],
) -> Sample:
    """The sample of one cohort: its folder as the ``cohort`` directory resource, the hidden
    target (labels, bar, baseline and oracle AUROC) and the oracle's solution."""
    return Sample(
        id=make_sample_id(dataset, category, split, index, seed),
        dataset=dataset,
        category=category,
        split=split,
        index=index,
        seed=seed,
        prompt=prompt,
        resources=(Resource(kind="directory", name="cohort", path=str(folder), description=description),),
        target=prediction_target(
            kind, columns, ids, labels, bar=bar, baseline_scores=baseline_scores, oracle_scores=oracle_scores
        ),
        solution=oracle_solution(ids, columns, oracle_scores),
        metadata=metadata,
    )


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write a CSV atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
