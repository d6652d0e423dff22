"""Grading predictions files: the metrics, the strict reading of hostile files, and the build-time
toolkit (baseline, bar, oracle solution) every prediction dataset shares."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medagentgym.catalog.sample import AnswerType, PredictionTask, Target
from medagentgym.datasets._prediction import (
    calibrate_bar,
    fit_baseline,
    null_sd,
    oracle_solution,
    prediction_target,
)
from medagentgym.scoring import score_answer
from medagentgym.scoring.predictions import (
    MAX_PREDICTIONS_BYTES,
    PredictionsError,
    SessionFile,
    auroc,
    parse_predictions,
)

RNG = np.random.default_rng(7)
N = 240
IDS = tuple(f"s{i:04d}" for i in range(N))
RISK = RNG.random(N)
LABELS = tuple(int(v) for v in (RNG.random(N) < RISK))


def _binary(bar: float = 0.7) -> Target:
    task = PredictionTask(kind="binary", columns=("score",), ids=IDS, labels=LABELS, bar=bar, baseline=0.7, oracle=0.8)
    return Target(answer_type=AnswerType.PREDICTIONS, value=None, predictions=task)


def _csv(ids, columns, rows) -> str:
    lines = [",".join(("id", *columns))]
    lines += [",".join((i, *(repr(float(v)) for v in np.atleast_1d(r)))) for i, r in zip(ids, rows, strict=True)]
    return "\n".join(lines) + "\n"


def _score(target: Target, text: str):
    return score_answer("predictions.csv", target, predictions_file=SessionFile("predictions.csv", text=text))


def test_informative_predictions_reach_the_bar_and_report_every_number() -> None:
    score = _score(_binary(), _csv(IDS, ("score",), RISK))
    assert score.correct and score.value == 1.0
    assert score.parsed["metric"] == pytest.approx(roc_auc_score(LABELS, RISK), abs=1e-6)
    assert {"bar", "baseline", "oracle", "n"} <= set(score.parsed)
    assert "AUROC" in score.explanation and "bar 0.700" in score.explanation


@pytest.mark.parametrize(
    "scores",
    [
        np.full(N, 0.3),  # constant
        np.random.default_rng(1).random(N),  # random
        np.random.default_rng(2).permutation(np.asarray(LABELS, dtype=float)),  # the labels, shuffled
        1 - RISK,  # inverted
    ],
    ids=["constant", "random", "shuffled-labels", "inverted"],
)
def test_uninformative_predictions_score_zero(scores) -> None:
    score = _score(_binary(), _csv(IDS, ("score",), scores))
    assert not score.correct and score.value == 0.0, score.explanation


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("id,prob\ns0000,0.1\n", "lacks score"),
        ("score\n0.1\n", "lacks id"),
        ("id,score,score\ns0000,1,1\n", "repeats"),
        (_csv(IDS[:-1], ("score",), RISK[:-1]), "missing"),
        (_csv((*IDS, "intruder"), ("score",), np.r_[RISK, 0.5]), "not test examples"),
        (_csv((*IDS, IDS[0]), ("score",), np.r_[RISK, 0.5]), "more than once"),
        ("id;score\n" + "\n".join(f"{i};0.5" for i in IDS), "lacks"),
        ("id,score\n" + "\n".join(f"{i},nan" for i in IDS), "finite"),
        ("id,score\n" + "\n".join(f"{i},inf" for i in IDS), "finite"),
        ("id,score\n" + "\n".join(f"{i},high" for i in IDS), "not a number"),
        ("id,score\n" + "\n".join(f"{i},0.5,extra" for i in IDS), "fields"),
    ],
    ids=["empty", "no-score-column", "no-id", "repeated-column", "missing-row", "extra-row", "duplicate-row",
         "broken-header", "nan", "inf", "word", "ragged"],
)
def test_bad_files_score_zero_with_a_one_line_reason(text: str, message: str) -> None:
    score = _score(_binary(), text)
    assert score.value == 0.0 and not score.correct
    assert message in score.explanation and "\n" not in score.explanation


def test_huge_files_are_refused_before_parsing() -> None:
    text = "id,score\n" + "x" * (MAX_PREDICTIONS_BYTES + 10)
    with pytest.raises(PredictionsError, match="over"):
        parse_predictions(text, _binary().predictions)


def test_lenient_where_it_is_harmless() -> None:
    """A BOM, extra columns, blank lines, spaces, any row order and true/false words all read."""
    order = RNG.permutation(N)
    lines = ["\ufeffid , note, score"]
    lines += [f" {IDS[i]} ,x,{'true' if RISK[i] > 0.5 else 'false'}" for i in order]
    score = _score(_binary(bar=0.6), "\n".join(lines) + "\n\n")
    assert score.correct, score.explanation


def test_a_missing_or_unreadable_file_scores_zero() -> None:
    target = _binary()
    assert score_answer("p.csv", target).value == 0.0
    gone = score_answer("p.csv", target, predictions_file=SessionFile("p.csv", error="p.csv could not be read"))
    assert gone.value == 0.0 and "could not be read" in gone.explanation


def test_multiclass_and_multilabel_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 300)
    proba = rng.dirichlet(np.ones(4), 300)
    proba[np.arange(300), y] += 0.3
    proba /= proba.sum(axis=1, keepdims=True)
    columns = ("normal", "mild", "moderate", "severe")
    value, per_column = auroc("multiclass", y.tolist(), proba, columns)
    assert value == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert set(per_column) == set(columns)
    labels = (rng.random((300, 3)) < 0.3).astype(int)
    scores = labels + rng.normal(0, 1.0, (300, 3))
    value, _ = auroc("multilabel", [tuple(r) for r in labels], scores, ("a", "b", "c"))
    assert value == pytest.approx(roc_auc_score(labels, scores, average="macro"))


def test_a_label_absent_from_the_test_set_is_left_out_of_the_macro_average() -> None:
    labels = [(1, 0), (0, 0), (1, 0), (0, 0)]
    value, per_column = auroc("multilabel", labels, np.array([[0.9, 0.1], [0.1, 0.2], [0.8, 0.3], [0.2, 0.4]]), ("a", "b"))
    assert per_column == {"a": 1.0} and value == 1.0


def test_task_validation_rejects_inconsistent_targets() -> None:
    with pytest.raises(ValueError):
        PredictionTask(kind="binary", columns=("score",), ids=("a", "a"), labels=(0, 1), bar=0.6, baseline=0.6, oracle=0.7)
    with pytest.raises(ValueError):
        PredictionTask(kind="multiclass", columns=("x", "y"), ids=("a", "b"), labels=(0, 2), bar=0.6, baseline=0.6, oracle=0.7)
    with pytest.raises(ValueError):
        Target(answer_type=AnswerType.PREDICTIONS, value=None)


def test_toolkit_baseline_bar_and_oracle_solution(tmp_path) -> None:
    x = np.c_[RISK + RNG.normal(0, 0.3, N), RNG.normal(size=N)]
    x[RNG.random(N) < 0.1, 0] = np.nan  # missing values are imputed
    train, test = slice(0, 120), slice(120, N)
    baseline = fit_baseline("binary", x[train], LABELS[train], x[test], 1)
    assert baseline.shape == (N - 120, 1)
    target = prediction_target(
        "binary", ("score",), IDS[test], LABELS[test], bar=0.6, baseline_scores=baseline, oracle_scores=RISK[test]
    )
    task = target.predictions
    assert 0.6 < task.baseline < task.oracle
    solution = oracle_solution(IDS[test], ("score",), RISK[test])
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(solution.code, namespace)
    finally:
        os.chdir(cwd)
    text = (tmp_path / namespace["answer"]).read_text()
    score = _score(target, text)
    assert score.correct and score.parsed["metric"] == pytest.approx(task.oracle, abs=1e-4)
    sd = null_sd("binary", LABELS[test], 1)
    bar, chance = calibrate_bar([0.55, 0.56, 0.58], [sd])
    assert bar == chance == pytest.approx(0.5 + 3 * sd, abs=0.011)
    assert calibrate_bar([0.81, 0.86, 0.9], [sd])[0] == 0.86


def test_multiclass_baseline_handles_classes_missing_from_training() -> None:
    x = RNG.normal(size=(60, 3))
    y = [0, 1] * 30  # classes 2 and 3 never seen in training
    scores = fit_baseline("multiclass", x, y, RNG.normal(size=(10, 3)), 4)
    assert scores.shape == (10, 4) and np.allclose(scores[:, 2:], 0)
