"""The Score of one submission, and ``score_answer`` which produces it.

A Score is recorded in trajectories, so it is pydantic and JSON-able. Parsing failures never
raise out of ``score_answer``: they are a 0 with the reason in ``explanation``, which is short
enough to show the agent. A bad *target* does raise (InvalidTargetError): that is a dataset bug.
A submission nested deeper than ``MAX_ANSWER_DEPTH`` or larger than ``MAX_ANSWER_CHARS`` scores 0
before any parser walks it, so no submission can make scoring recurse or run long.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from medagentgym.catalog.sample import AnswerType, Target
from medagentgym.scoring.comparators import COMPARATORS, parse_target
from medagentgym.scoring.parsing import AnswerParseError, check_answer_bounds, parse_answer

__all__ = ["Score", "score_answer"]


class Score(BaseModel):
    """The verdict on one submitted answer."""

    model_config = ConfigDict(frozen=True)

    value: float  # 1.0 correct, 0.0 wrong; a float so partial credit can come later
    correct: bool
    answer_type: AnswerType
    parsed: Any | None  # the parsed submission (JSON-able), None when it could not be parsed
    explanation: str  # how the answer was read and why it scored so


def score_answer(submitted: Any, target: Target) -> Score:
    """Score a submitted JSON value against a hidden target with the target's typed scorer."""
    answer_type = target.answer_type
    gold = parse_target(target)
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
        )
    verdict = COMPARATORS[answer_type](parsed, gold, target)
    return Score(
        value=1.0 if verdict.correct else 0.0,
        correct=verdict.correct,
        answer_type=answer_type,
        parsed=parsed.json,
        explanation=f"{parsed.note}; {verdict.explanation}; "
        + ("correct" if verdict.correct else "wrong"),
    )
