"""The Score of one submission, and ``score_answer`` which produces it.

A Score is recorded in trajectories, so it is pydantic and JSON-able. Parsing failures never
raise out of ``score_answer``: they are a 0 with the reason in ``explanation``, which is short
enough to show the agent. A bad *target* does raise (InvalidTargetError): that is a dataset bug.
A submission nested deeper than ``MAX_ANSWER_DEPTH`` or larger than ``MAX_ANSWER_CHARS`` scores 0
before any parser walks it, so no submission can make scoring recurse or run long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from medagentgym.catalog.sample import AnswerType, Target
from medagentgym.scoring.code_tests import CaseResult, judge, splice_submission
from medagentgym.scoring.comparators import COMPARATORS, parse_target
from medagentgym.scoring.parsing import AnswerParseError, check_answer_bounds, parse_answer
from medagentgym.scoring.predictions import PredictionsError, SessionFile, judge_predictions
from medagentgym.scoring.state import check_state

__all__ = ["Score", "combine_scores", "score_answer"]


class Score(BaseModel):
    """The verdict on one submitted answer."""

    model_config = ConfigDict(frozen=True)

    value: float  # 1.0 correct, 0.0 wrong; a float so partial credit can come later
    correct: bool
    answer_type: AnswerType
    parsed: Any | None  # the parsed submission (JSON-able), None when it could not be parsed
    explanation: str  # how the answer was read and why it scored so
    # The sub-scores of a sequential sample, one per question in order (empty otherwise).
    parts: tuple[Score, ...] = ()
    # The gold answer's class for yes/no questions ("true"/"false"; None for other types), so a
    # run can report balanced accuracy, where answering one class always is worth 0.5.
    gold_class: str | None = None
    # The gold answer as JSON (typed value answers only; None for code tests, predictions and
    # sequences), recorded once the episode is over so a report shows it on its own instead of
    # leaving readers to dig it out of the explanation. Never part of what the agent sees.
    expected: Any | None = None


def combine_scores(parts: list[Score], n_questions: int) -> Score:
    """The score of a sequential episode: the mean of its sub-scores over all ``n_questions``
    (an unanswered question counts 0); correct only when every question was answered right."""
    if not parts or n_questions < len(parts):
        raise ValueError("combine_scores needs 1..n_questions sub-scores")
    n_right = sum(1 for p in parts if p.correct)
    lines = [f"q{i + 1}: {'correct' if p.correct else 'wrong'}" for i, p in enumerate(parts)]
    lines += [f"q{i + 1}: unanswered" for i in range(len(parts), n_questions)]
    return Score(
        value=sum(p.value for p in parts) / n_questions,
        correct=n_right == n_questions,
        answer_type=parts[0].answer_type,
        parsed=[p.parsed for p in parts],
        explanation=f"{n_right}/{n_questions} sub-answers correct (" + "; ".join(lines) + ")",
        parts=tuple(parts),
    )


def score_answer(
    submitted: Any,
    target: Target,
    *,
    writes: Sequence[Any] | None = None,
    observations: Sequence[CaseResult] | None = None,
    predictions_file: SessionFile | None = None,
) -> Score:
    """Score a submitted JSON value against a hidden target with the target's typed scorer.

    A ``code_tests`` target is graded from ``observations``, what its hidden tests observed in
    the sandbox (None: they were not run, which scores 0): the score is the fraction of tests
    passed, correct only when all passed, and the explanation names the failed tests (never
    their expected values). A function-mode submission that is not code defining the asked
    function scores 0 with the reason, whatever the observations.

    A target with a ``state`` (a write task over a record store) is also graded from
    ``writes``, the resources the episode created (None: none were): the score is 1 only when
    the answer (if graded) and the writes are both right, and the explanation lists what was
    missing or extra. Without a ``state``, ``writes`` is ignored.

    A ``predictions`` target is graded from ``predictions_file``, the submitted file as read in
    the episode's session (None: it was not read, which scores 0): 1 when the metric reaches the
    task's bar, else 0; ``parsed`` holds the metric, the bar, the baseline and the oracle bound.
    """
    if target.predictions is not None:
        return _score_predictions(target, predictions_file)
    if target.tests is not None:
        return _score_code(submitted, target, observations)
    if target.state is None:
        return _score_value(submitted, target)
    state = check_state(target.state, writes)
    if not target.answer_graded:
        return Score(
            value=1.0 if state.correct else 0.0,
            correct=state.correct,
            answer_type=target.answer_type,
            parsed=None,
            explanation=f"answer not graded; writes: {state.explanation}; "
            + ("correct" if state.correct else "wrong"),
        )
    answer = _score_value(submitted, target)
    correct = answer.correct and state.correct
    return Score(
        value=1.0 if correct else 0.0,
        correct=correct,
        answer_type=target.answer_type,
        parsed=answer.parsed,
        expected=answer.expected,
        explanation=f"answer: {answer.explanation}; writes: {state.explanation}; "
        + ("correct" if correct else "wrong"),
    )


def _score_code(submitted: Any, target: Target, observations: Sequence[CaseResult] | None) -> Score:
    """Hidden tests: the fraction passed (see ``scoring/code_tests.py``)."""
    tests = target.tests
    assert tests is not None
    zero = Score(value=0.0, correct=False, answer_type=target.answer_type, parsed=None, explanation="")
    if tests.mode == "function":
        try:
            splice_submission(submitted, tests)
        except AnswerParseError as exc:
            return zero.model_copy(update={"explanation": f"{exc}; scored 0"})
    if observations is None:
        return zero.model_copy(update={"explanation": "the hidden tests were not run; scored 0"})
    verdict = judge(tests, observations)
    explanation = f"{verdict.passed}/{verdict.total} hidden tests passed"
    if verdict.failures:
        shown = "; ".join(verdict.failures[:8])
        more = len(verdict.failures) - 8
        explanation += f"; failed: {shown}" + (f"; and {more} more" if more > 0 else "")
    return Score(
        value=verdict.passed / verdict.total,
        correct=verdict.correct,
        answer_type=target.answer_type,
        parsed={"passed": verdict.passed, "total": verdict.total},
        explanation=explanation + ("; correct" if verdict.correct else "; wrong"),
    )


def _score_predictions(target: Target, read: SessionFile | None) -> Score:
    """Predictions on hidden labels: reaching the bar is success (see ``scoring/predictions.py``)."""
    task = target.predictions
    assert task is not None
    zero = Score(value=0.0, correct=False, answer_type=target.answer_type, parsed=None, explanation="")
    if read is None:
        return zero.model_copy(update={"explanation": "the predictions file was not read; scored 0"})
    if read.text is None:
        return zero.model_copy(update={"explanation": f"{read.error or 'the predictions file could not be read'}; scored 0"})
    try:
        verdict = judge_predictions(read.text, task)
    except PredictionsError as exc:
        return zero.model_copy(update={"explanation": f"{read.path}: {exc}; scored 0"})
    reached = verdict.reached
    return Score(
        value=1.0 if reached else 0.0,
        correct=reached,
        answer_type=target.answer_type,
        parsed={
            "metric": round(verdict.metric, 6),
            "metric_name": verdict.metric_name,
            "bar": task.bar,
            "baseline": task.baseline,
            "oracle": task.oracle,
            "n": verdict.n,
        },
        explanation=(
            f"{verdict.metric_name} {verdict.metric:.3f} over {verdict.n} test rows; bar {task.bar:.3f} "
            f"({task.baseline_name} {task.baseline:.3f}, oracle bound {task.oracle:.3f}); "
            + ("reached the bar; correct" if reached else "below the bar; wrong")
        ),
    )


def _score_value(submitted: Any, target: Target) -> Score:
    """The typed comparison of one submitted value (every target's answer part)."""
    answer_type = target.answer_type
    gold = parse_target(target)
    gold_class = str(bool(gold.value)).lower() if answer_type is AnswerType.BOOLEAN else None
    try:
        check_answer_bounds(submitted)
        parsed = parse_answer(submitted, answer_type)
    except AnswerParseError as exc:
        return Score(
            value=0.0,
            correct=False,
            answer_type=answer_type,
            parsed=None,
            explanation=f"{exc}; scored 0",
            gold_class=gold_class,
            expected=gold.json,
        )
    verdict = COMPARATORS[answer_type](parsed, gold, target)
    return Score(
        value=1.0 if verdict.correct else 0.0,
        correct=verdict.correct,
        answer_type=answer_type,
        gold_class=gold_class,
        expected=gold.json,
        parsed=parsed.json,
        explanation=f"{parsed.note}; {verdict.explanation}; "
        + ("correct" if verdict.correct else "wrong"),
    )
