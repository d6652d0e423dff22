"""Grading a predictions file against hidden labels (``AnswerType.PREDICTIONS``).

The agent writes a CSV file in its session (``id`` plus the task's score columns, one row per
test example) and submits its name. The env reads the file's text inside the episode's session
(``codetests.runner.read_session_file``), so the labels never enter the sandbox; this module
parses that text here, in the harness, and computes the task's metric:

- binary: AUROC of the ``score`` column;
- multiclass: macro one-vs-rest AUROC, each class scored by its own column;
- multilabel: macro AUROC over the labels.

The text is hostile input: a size cap, a strict header, every test id exactly once (a missing,
duplicate or unknown id is a clear error that scores 0, never a silent partial), finite numbers
only (``true``/``false`` read as 1/0). A constant column gives AUROC 0.5, which is below every bar.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from medagentgym.catalog.sample import PredictionTask

if TYPE_CHECKING:  # numpy is imported where a predictions file is graded, not with the scorer
    import numpy as np

#: Largest predictions file read back from a session (bytes).
MAX_PREDICTIONS_BYTES = 2_000_000
_WORDS = {"true": 1.0, "false": 0.0}


@dataclass(frozen=True)
class SessionFile:
    """A submitted file as read inside the episode's session: its text, or why it could not be read."""

    path: str
    text: str | None = None
    error: str | None = None


class PredictionsError(ValueError):
    """The predictions file cannot be graded; the message says why in one line."""


@dataclass(frozen=True)
class PredictionVerdict:
    """The metric of a graded predictions file and whether it reached the task's bar."""

    metric: float
    bar: float
    baseline: float
    oracle: float
    n: int
    metric_name: str
    per_column: dict[str, float] = field(default_factory=dict)

    @property
    def reached(self) -> bool:
        return self.metric >= self.bar


def metric_name(kind: str) -> str:
    return {"binary": "AUROC", "multiclass": "macro one-vs-rest AUROC", "multilabel": "macro AUROC over labels"}[kind]


def _number(text: str, where: str) -> float:
    raw = text.strip()
    if raw.lower() in _WORDS:
        return _WORDS[raw.lower()]
    try:
        value = float(raw)
    except ValueError:
        raise PredictionsError(f"{where}: {raw[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise PredictionsError(f"{where}: scores must be finite numbers (got {raw[:40]!r})")
    return value


def parse_predictions(text: str, task: PredictionTask) -> np.ndarray:
    """The score matrix (rows in ``task.ids`` order, one column per ``task.columns``)."""
    import numpy as np

    if len(text.encode("utf-8", "replace")) > MAX_PREDICTIONS_BYTES:
        raise PredictionsError(f"the predictions file is over {MAX_PREDICTIONS_BYTES:,} bytes")
    expected_header = ",".join(("id", *task.columns))
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise PredictionsError(f"the predictions file is empty (expected the header {expected_header})") from None
    except csv.Error as exc:
        raise PredictionsError(f"the predictions file is not CSV: {exc}") from None
    missing = [c for c in ("id", *task.columns) if c not in header]
    if missing:
        raise PredictionsError(
            f"the header lacks {', '.join(missing)} (expected {expected_header}; got {','.join(header)[:120]})"
        )
    if len(set(header)) != len(header):
        raise PredictionsError("the header repeats a column")
    id_at = header.index("id")
    column_at = [header.index(c) for c in task.columns]
    position = {example: i for i, example in enumerate(task.ids)}
    scores = np.full((len(task.ids), len(task.columns)), np.nan)
    seen: set[str] = set()
    unknown: list[str] = []
    try:
        for line_no, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise PredictionsError(f"line {line_no} has {len(row)} fields, the header {len(header)}")
            example = row[id_at].strip()
            if example in seen:
                raise PredictionsError(f"id {example[:40]!r} appears more than once (line {line_no})")
            seen.add(example)
            if example not in position:
                unknown.append(example)
                continue
            i = position[example]
            for j, at in enumerate(column_at):
                scores[i, j] = _number(row[at], f"line {line_no}, column {task.columns[j]}")
    except csv.Error as exc:
        raise PredictionsError(f"the predictions file is not CSV: {exc}") from None
    absent = [example for example in task.ids if example not in seen]
    if unknown or absent:
        parts = []
        if absent:
            parts.append(f"{len(absent)} of the {len(task.ids)} test ids are missing (e.g. {absent[0]!r})")
        if unknown:
            parts.append(f"{len(unknown)} rows have ids that are not test examples (e.g. {unknown[0][:40]!r})")
        raise PredictionsError("; ".join(parts) + ": every test id exactly once, nothing else")
    return scores


def _binary_auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """AUROC with ties counted half (None when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    if labels.min() == labels.max():
        return None
    return float(roc_auc_score(labels, scores))


def label_matrix(kind: str, labels: Sequence, n_columns: int) -> np.ndarray:
    """Labels as a 0/1 matrix with one column per score column (one-vs-rest for multiclass)."""
    import numpy as np

    if kind == "binary":
        return np.asarray(labels, dtype=int).reshape(-1, 1)
    if kind == "multiclass":
        y = np.asarray(labels, dtype=int)
        return np.stack([(y == c).astype(int) for c in range(n_columns)], axis=1)
    return np.asarray([list(v) for v in labels], dtype=int)


def auroc(kind: str, labels: Sequence, scores: np.ndarray, columns: Sequence[str]) -> tuple[float, dict[str, float]]:
    """The task's metric and its per-column AUROCs (columns lacking a class in the test set are left out)."""
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    matrix = label_matrix(kind, labels, len(columns))
    per_column = {}
    for j, name in enumerate(columns):
        value = _binary_auroc(matrix[:, j], scores[:, j])
        if value is not None:
            per_column[name] = value
    if not per_column:
        raise ValueError("no column of the test set has both classes (a binary test set needs both)")
    return float(np.mean(list(per_column.values()))), per_column


def judge_predictions(text: str, task: PredictionTask) -> PredictionVerdict:
    """Parse the file's text and compute the metric (raises ``PredictionsError`` on a bad file)."""
    scores = parse_predictions(text, task)
    metric, per_column = auroc(task.kind, task.labels, scores, task.columns)
    return PredictionVerdict(
        metric=metric,
        bar=task.bar,
        baseline=task.baseline,
        oracle=task.oracle,
        n=len(task.ids),
        metric_name=metric_name(task.kind),
        per_column=per_column,
    )
