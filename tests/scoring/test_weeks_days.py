"""The (weeks, days) answer type of gestational age: right, wrong, empty, malformed and gaming answers."""

from __future__ import annotations

import pytest

from medagentgym.catalog.sample import AnswerType, Target
from medagentgym.scoring import InvalidTargetError, parse_target, score_answer

TARGET = Target(answer_type=AnswerType.WEEKS_DAYS, value=[4, 3])


@pytest.mark.parametrize(
    "answer",
    [[4, 3], (4, 3), {"weeks": 4, "days": 3}, "[4, 3]", "(4, 3)", "4 weeks, 3 days", "(4 weeks, 3 days)",
     "('4 weeks', '3 days')", ["4 weeks", "3 days"], " 4 Weeks and 3 Days ", [4.0, 3.0]],
)
def test_spellings_of_the_right_answer_score_1(answer) -> None:
    score = score_answer(answer, TARGET)
    assert score.correct and score.value == 1.0, score.explanation
    assert score.parsed == [4, 3]


@pytest.mark.parametrize("answer", [[4, 4], [3, 3], [3, 10 - 7], "3 weeks, 3 days", [0, 31], "(3 weeks, 10 days)"])
def test_wrong_durations_score_0(answer) -> None:
    assert not score_answer(answer, TARGET).correct


@pytest.mark.parametrize("answer", [None, "", "   ", [], {}])
def test_empty_answers_score_0(answer) -> None:
    score = score_answer(answer, TARGET)
    assert not score.correct and score.parsed is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (31, "submit weeks and days"),  # a bare number: days or weeks?
        ("31 days", "not a weeks-and-days duration"),
        ([4, 10], "days must be 0-6"),  # 4 weeks 10 days is 5 weeks 3 days: carry whole weeks
        ([4, 3, 1], "list of 3"),
        ([4.5, 3], "whole number"),
        ([-4, 3], "whole number >= 0"),
        ([True, 3], "whole number"),
        ({"weeks": 4}, "exactly 'weeks' and 'days'"),
        ("four weeks, three days", "not a weeks-and-days duration"),
    ],
)
def test_malformed_answers_score_0_with_a_reason(answer, reason: str) -> None:
    score = score_answer(answer, TARGET)
    assert not score.correct and score.parsed is None
    assert reason in score.explanation


@pytest.mark.parametrize(
    "answer",
    [
        "4 weeks, 3 days or 5 weeks, 0 days",  # several candidates
        [[4, 3], [5, 0]],  # a list of candidates
        "(4 weeks, 3 days) " + "(" * 5_000,  # long junk after the answer: no match, no slow regex
        "(" + " " * 19_000 + "x 4 weeks, 3 days)",  # whitespace padding cannot slow matching
    ],
)
def test_gaming_answers_score_0(answer) -> None:
    assert not score_answer(answer, TARGET).correct


def test_a_target_must_itself_be_a_valid_duration() -> None:
    with pytest.raises(InvalidTargetError):
        parse_target(Target(answer_type=AnswerType.WEEKS_DAYS, value=[4, 9]))
