"""Every AnswerType: right, wrong, empty, malformed and gaming answers, as parametrized tables."""

from __future__ import annotations

import json
from typing import Any

import pytest

from medagentgym.catalog.sample import VALUE_ANSWER_TYPES, AnswerType, Target
from medagentgym.scoring import (
    COMPARATORS,
    PARSERS,
    AnswerParseError,
    EmptyAnswerError,
    InvalidTargetError,
    Score,
    parse_answer,
    score_answer,
)

A = AnswerType

# MedCalc-style official range (Creatinine clearance: 25.238 in [23.9761, 26.4999]).
RANGE = Target(answer_type=A.NUMBER, value="25.238", lower=23.9761, upper=26.4999)
TOL = Target(answer_type=A.NUMBER, value=12.5, rel_tol=0.01)
DEFAULT = Target(answer_type=A.NUMBER, value=0.1)
INT = Target(answer_type=A.INTEGER, value=4)
INT_RANGE = Target(answer_type=A.INTEGER, value=20, lower=19, upper=21)
STR = Target(answer_type=A.STRING, value="S2703270")
STR_NUM = Target(answer_type=A.STRING, value="92")
SET = Target(answer_type=A.STRING_SET, value=["po", "po/ng"])
SET_ONE = Target(answer_type=A.STRING_SET, value=["143"])
SET_FLOAT = Target(answer_type=A.STRING_SET, value=["1367.3271844982999"])
SET_NONE = Target(answer_type=A.STRING_SET, value=["M", "None"])
SET_CODE = Target(answer_type=A.STRING_SET, value=["0389"])
LIST = Target(answer_type=A.ORDERED_LIST, value=["b", "a", "c"])
LIST_NUM = Target(answer_type=A.ORDERED_LIST, value=["3", "1", "2"])
DATE = Target(answer_type=A.DATE, value="2014-09-23")
DATE_US = Target(answer_type=A.DATE, value="09/23/2014")
DATETIME = Target(answer_type=A.DATE, value="2104-04-18 13:57:46")
DATETIME_MIDNIGHT = Target(answer_type=A.DATE, value="2104-04-18 00:00:00")
WEEKS_DAYS = Target(answer_type=A.WEEKS_DAYS, value=[4, 3])
TRUE = Target(answer_type=A.BOOLEAN, value=True)
FALSE = Target(answer_type=A.BOOLEAN, value=False)

NAN = float("nan")
INF = float("inf")

# (target, submitted, expected score, a fragment the explanation must hold)
CASES: list[tuple[str, Target, Any, float, str]] = [
    # ---------------------------------------------------------------- WEEKS_DAYS (more in test_weeks_days.py)
    ("wd-right", WEEKS_DAYS, "(4 weeks, 3 days)", 1.0, "parsed 4 weeks, 3 days"),
    ("wd-wrong", WEEKS_DAYS, [4, 4], 0.0, "expected 4 weeks, 3 days"),
    ("wd-uncarried", WEEKS_DAYS, [3, 10], 0.0, "days must be 0-6"),
    # ---------------------------------------------------------------- NUMBER
    ("num-right", RANGE, 25.1, 1.0, "accepted range [23.9761, 26.4999]"),
    ("num-right-str", RANGE, " 25.1 ", 1.0, "from a string"),
    ("num-right-int", RANGE, 25, 1.0, "correct"),
    ("num-right-sci", RANGE, "2.51e1", 1.0, "correct"),
    ("num-lower-bound", RANGE, 23.9761, 1.0, "correct"),
    ("num-upper-bound", RANGE, "26.4999", 1.0, "correct"),
    ("num-below", RANGE, 23.976, 0.0, "wrong"),
    ("num-above", RANGE, 26.5, 0.0, "wrong"),
    ("num-far", RANGE, 1000, 0.0, "wrong"),
    ("num-negative", RANGE, -25.1, 0.0, "wrong"),
    ("num-tol-right", TOL, 12.6, 1.0, "rel_tol 0.01"),
    ("num-tol-wrong", TOL, 12.7, 0.0, "wrong"),
    ("num-default-float-noise", DEFAULT, 0.1 + 0.2 - 0.2, 1.0, "correct"),
    ("num-default-wrong", DEFAULT, 0.1001, 0.0, "wrong"),
    ("num-empty-none", RANGE, None, 0.0, "empty answer"),
    ("num-empty-str", RANGE, "", 0.0, "empty answer"),
    ("num-empty-ws", RANGE, "  \n ", 0.0, "empty answer"),
    ("num-empty-list", RANGE, [], 0.0, "empty answer"),
    ("num-word", RANGE, "twenty-five", 0.0, "no numeric literal"),
    ("num-unit", RANGE, "25.1 mL/min", 0.0, "units or words"),
    ("num-sentence", RANGE, "The answer is 25.1", 0.0, "units or words"),
    ("num-thousands", Target(answer_type=A.NUMBER, value=1234), "1,234", 0.0, "thousands"),
    ("num-underscore", Target(answer_type=A.NUMBER, value=1000), "1_000", 0.0, "holds 2 numbers"),
    ("num-percent", RANGE, "25.1%", 0.0, "units or words"),
    ("num-dict", RANGE, {"answer": 25.1}, 0.0, "JSON object"),
    ("num-game-two", RANGE, "25.2 or 25.3", 0.0, "holds 2 numbers"),
    ("num-game-many", RANGE, "1 2 3 4 5 25.1", 0.0, "holds 6 numbers"),
    ("num-game-gold-among", RANGE, "24 25.238 26", 0.0, "holds 3 numbers"),
    ("num-game-list", RANGE, [25.1], 0.0, "not a list"),
    ("num-game-list-many", RANGE, [24, 25, 26], 0.0, "not a list"),
    ("num-game-nested", RANGE, [[25.1]], 0.0, "not a list"),
    ("num-nan", RANGE, NAN, 0.0, "not finite"),
    ("num-inf", RANGE, INF, 0.0, "not finite"),
    ("num-nan-str", RANGE, "NaN", 0.0, "not finite"),
    ("num-inf-str", RANGE, "-inf", 0.0, "not finite"),
    ("num-overflow-str", RANGE, "1e999", 0.0, "not finite"),
    ("num-overflow-int", RANGE, 10**400, 0.0, "too large"),
    ("num-bool-true", Target(answer_type=A.NUMBER, value=1), True, 0.0, "boolean"),
    ("num-bool-false", Target(answer_type=A.NUMBER, value=0), False, 0.0, "boolean"),
    # ---------------------------------------------------------------- INTEGER
    ("int-right", INT, 4, 1.0, "expected exactly 4"),
    ("int-right-float", INT, 4.0, 1.0, "correct"),
    ("int-right-str", INT, "4", 1.0, "correct"),
    ("int-right-str-float", INT, " 4.0 ", 1.0, "correct"),
    ("int-right-plus", INT, "+4", 1.0, "correct"),
    ("int-wrong", INT, 5, 0.0, "wrong"),
    ("int-wrong-negative", INT, -4, 0.0, "wrong"),
    ("int-range-low", INT_RANGE, 19, 1.0, "accepted range [19, 21]"),
    ("int-range-high", INT_RANGE, "21", 1.0, "correct"),
    ("int-range-out", INT_RANGE, 22, 0.0, "wrong"),
    ("int-empty", INT, None, 0.0, "empty answer"),
    ("int-empty-str", INT, " ", 0.0, "empty answer"),
    ("int-fraction", INT, 3.5, 0.0, "not a whole number"),
    ("int-fraction-str", INT, "4.5", 0.0, "not a whole number"),
    ("int-near-integer", INT, 4.000001, 0.0, "not a whole number"),
    ("int-word", INT, "four", 0.0, "no numeric literal"),
    ("int-unit", INT, "4 points", 0.0, "units or words"),
    ("int-game-many", INT, "1 2 3 4 5", 0.0, "holds 5 numbers"),
    ("int-game-two", INT, "4 or 5", 0.0, "holds 2 numbers"),
    ("int-game-list", INT, [3, 4, 5], 0.0, "not a list"),
    ("int-game-nested", INT, [[4]], 0.0, "not a list"),
    ("int-nan", INT, NAN, 0.0, "not finite"),
    ("int-inf", INT, INF, 0.0, "not finite"),
    ("int-bool", Target(answer_type=A.INTEGER, value=1), True, 0.0, "boolean"),
    ("int-huge", INT, "1e1000", 0.0, "too large"),
    # ---------------------------------------------------------------- STRING
    ("str-right", STR, "S2703270", 1.0, "expected 's2703270'"),
    ("str-right-case", STR, "  s2703270 ", 1.0, "correct"),
    ("str-right-quoted", STR, '"S2703270".', 1.0, "correct"),
    (
        "str-right-nfkc",
        Target(answer_type=A.STRING, value="Patient not found"),
        "PATIENT\tnot\u00a0 found.",
        1.0,
        "correct",
    ),
    ("str-number-json", STR_NUM, 92, 1.0, "compared as numbers"),
    ("str-number-float", STR_NUM, "92.0", 1.0, "correct"),
    ("str-wrong", STR, "S2703271", 0.0, "wrong"),
    ("str-empty", STR, "", 0.0, "empty answer"),
    ("str-empty-quotes", STR, '""', 0.0, "empty"),
    ("str-list", STR, ["S2703270"], 0.0, "not a list"),
    ("str-bool", STR, True, 0.0, "boolean"),
    ("str-dict", STR, {"mrn": "S2703270"}, 0.0, "JSON object"),
    ("str-game-sentence", STR, "The MRN is S2703270", 0.0, "wrong"),
    ("str-game-many", STR, "S2703270 S2703271", 0.0, "wrong"),
    ("str-game-nested", STR, [["S2703270"]], 0.0, "not a list"),
    ("str-nan", STR_NUM, NAN, 0.0, "not finite"),
    # ---------------------------------------------------------------- STRING_SET
    ("set-right", SET, ["po", "po/ng"], 1.0, "matched 2 of 2"),
    ("set-right-order", SET, ["PO/NG", "po"], 1.0, "correct"),
    ("set-right-dupes", SET, ["po", "po/ng", "po"], 1.0, "duplicate"),
    ("set-right-json-str", SET, '["po", "po/ng"]', 1.0, "from a string"),
    ("set-right-py-str", SET, "['po', 'po/ng']", 1.0, "from a string"),
    ("set-right-tuple", SET, ("po", "po/ng"), 1.0, "correct"),
    ("set-one-bare", SET_ONE, "143", 1.0, "one-item list"),
    ("set-one-int", SET_ONE, 143, 1.0, "correct"),
    ("set-one-float", SET_ONE, [143.0], 1.0, "correct"),
    ("set-one-str-float", SET_ONE, ["143.0"], 1.0, "correct"),
    ("set-float-repr", SET_FLOAT, [1367.3271844983], 1.0, "correct"),
    ("set-float-rounded-2dp", SET_FLOAT, ["1367.33"], 0.0, "wrong"),
    ("set-null-item", SET_NONE, ["M", None], 1.0, "correct"),
    ("set-code-leading-zero", SET_CODE, ["0389"], 1.0, "correct"),
    ("set-code-not-number", SET_CODE, ["389"], 0.0, "wrong"),
    ("set-code-not-number-json", SET_CODE, [389], 0.0, "wrong"),
    ("set-missing", SET, ["po"], 0.0, "1 missing"),
    ("set-wrong", SET, ["iv", "oral"], 0.0, "matched 0 of 2"),
    ("set-empty", SET, [], 0.0, "empty answer"),
    ("set-empty-none", SET, None, 0.0, "empty answer"),
    ("set-empty-json", SET, "[]", 0.0, "empty answer"),
    ("set-empty-item", SET, ["po", ""], 0.0, "item 1 is empty"),
    ("set-bool-item", SET, ["po", True], 0.0, "boolean"),
    ("set-nan-item", SET_ONE, [NAN], 0.0, "not finite"),
    ("set-nan-item-json", SET_ONE, "[NaN]", 0.0, "not finite"),
    ("set-inf-item", SET_ONE, [INF], 0.0, "not finite"),
    ("set-dict", SET, {"a": "po"}, 0.0, "JSON object"),
    ("set-malformed-list-str", SET, "['po', 'po/ng'", 0.0, "not a valid JSON/Python list"),
    ("set-game-extra", SET, ["po", "po/ng", "iv"], 0.0, "1 extra: 'iv'"),
    ("set-game-superset", SET_ONE, [str(i) for i in range(200)], 0.0, "199 extra"),
    ("set-game-one-string", SET, "po po/ng", 0.0, "wrong"),
    ("set-game-comma-string", SET, "po, po/ng", 0.0, "wrong"),
    ("set-game-many-numbers", SET_ONE, "1 2 3 143 5", 0.0, "wrong"),
    ("set-game-nested", SET, [["po"], ["po/ng"]], 0.0, "nested list"),
    ("set-game-nested-str", SET, '[["po", "po/ng"]]', 0.0, "nested list"),
    # ---------------------------------------------------------------- ORDERED_LIST
    ("list-right", LIST, ["b", "a", "c"], 1.0, "all 3 item(s) match"),
    ("list-right-str", LIST, '["B", "a", "c."]', 1.0, "correct"),
    ("list-right-num", LIST_NUM, [3, 1.0, "2"], 1.0, "correct"),
    ("list-order", LIST, ["a", "b", "c"], 0.0, "different order"),
    ("list-wrong", LIST, ["b", "a", "d"], 0.0, "item 2 is 'd'"),
    ("list-short", LIST, ["b", "a"], 0.0, "expected 3 item(s), got 2"),
    ("list-dupe", LIST, ["b", "a", "c", "c"], 0.0, "got 4"),
    ("list-empty", LIST, [], 0.0, "empty answer"),
    ("list-empty-str", LIST, "  ", 0.0, "empty answer"),
    ("list-bool-item", LIST, ["b", False, "c"], 0.0, "boolean"),
    ("list-game-extra", LIST, ["b", "a", "c", "d"], 0.0, "wrong"),
    ("list-game-nested", LIST, [["b", "a", "c"]], 0.0, "nested list"),
    ("list-game-one-string", LIST, "b a c", 0.0, "got 1"),
    # ---------------------------------------------------------------- DATE
    ("date-right", DATE, "2014-09-23", 1.0, "expected 2014-09-23"),
    ("date-right-us", DATE, "09/23/2014", 1.0, "US MM/DD/YYYY"),
    ("date-right-us-short", DATE, "9/23/2014", 1.0, "correct"),
    ("date-right-ymd-slash", DATE, "2014/09/23", 1.0, "correct"),
    ("date-right-us-target", DATE_US, "2014-09-23", 1.0, "correct"),
    ("date-right-midnight", DATE, "2014-09-23 00:00:00", 1.0, "correct"),
    ("date-right-ws", DATE, " 2014-09-23\n", 1.0, "correct"),
    ("date-wrong", DATE, "2014-09-24", 0.0, "wrong"),
    ("date-wrong-year", DATE, "2015-09-23", 0.0, "wrong"),
    ("date-time-of-day", DATE, "2014-09-23 10:00", 0.0, "without a time of day"),
    ("date-european", DATE, "23/09/2014", 0.0, "not a valid US MM/DD/YYYY date"),
    ("date-invalid", DATE, "2014-02-30", 0.0, "not a valid ISO date"),
    ("date-empty", DATE, "", 0.0, "empty answer"),
    ("date-none", DATE, None, 0.0, "empty answer"),
    ("date-words", DATE, "September 23, 2014", 0.0, "is not a date"),
    ("date-number", DATE, 20140923, 0.0, "a number"),
    ("date-tz", DATETIME, "2104-04-18T13:57:46Z", 0.0, "is not a date"),
    ("date-game-two", DATE, "2014-09-23 or 2014-09-24", 0.0, "is not a date"),
    ("date-game-list", DATE, ["2014-09-23"], 0.0, "a list"),
    ("date-game-nested", DATE, [["2014-09-23"]], 0.0, "a list"),
    ("date-game-sentence", DATE, "due date: 2014-09-23", 0.0, "is not a date"),
    ("dt-right", DATETIME, "2104-04-18 13:57:46", 1.0, "expected 2104-04-18 13:57:46"),
    ("dt-right-t", DATETIME, "2104-04-18T13:57:46", 1.0, "correct"),
    ("dt-wrong-second", DATETIME, "2104-04-18 13:57:47", 0.0, "wrong"),
    ("dt-date-only", DATETIME, "2104-04-18", 0.0, "wrong"),
    ("dt-midnight-date-only", DATETIME_MIDNIGHT, "2104-04-18", 1.0, "correct"),
    ("dt-fraction", DATETIME, "2104-04-18 13:57:46.500", 0.0, "wrong"),
    ("dt-fraction-zero", DATETIME, "2104-04-18 13:57:46.000", 1.0, "correct"),
    # ---------------------------------------------------------------- BOOLEAN
    ("bool-right", TRUE, True, 1.0, "expected true"),
    ("bool-right-str", TRUE, " TRUE ", 1.0, "correct"),
    ("bool-right-yes", TRUE, "Yes.", 1.0, "correct"),
    ("bool-right-one", TRUE, 1, 1.0, "correct"),
    ("bool-right-one-str", TRUE, "1", 1.0, "correct"),
    ("bool-right-false", FALSE, "no", 1.0, "correct"),
    ("bool-right-zero", FALSE, 0, 1.0, "correct"),
    ("bool-wrong", TRUE, False, 0.0, "wrong"),
    ("bool-wrong-str", FALSE, "true", 0.0, "wrong"),
    ("bool-empty", TRUE, "", 0.0, "empty answer"),
    ("bool-none", TRUE, None, 0.0, "empty answer"),
    ("bool-two", TRUE, 2, 0.0, "only 0 and 1"),
    ("bool-nan", TRUE, NAN, 0.0, "only 0 and 1"),
    ("bool-word", TRUE, "maybe", 0.0, "not a boolean"),
    ("bool-game-both", TRUE, "True False", 0.0, "both a true and a false"),
    ("bool-game-both-false", FALSE, "False\nTrue", 0.0, "both a true and a false"),
    ("bool-game-yes-no", TRUE, "yes/no", 0.0, "both"),
    ("bool-game-sentence", TRUE, "The answer is true", 0.0, "not a boolean"),
    ("bool-game-list", TRUE, [True, False], 0.0, "a list"),
    ("bool-game-list-one", TRUE, [True], 0.0, "a list"),
    ("bool-game-nested", TRUE, [[True]], 0.0, "a list"),
]


@pytest.mark.parametrize(
    ("target", "submitted", "expected", "fragment"),
    [pytest.param(t, s, e, f, id=name) for name, t, s, e, f in CASES],
)
def test_score_table(target: Target, submitted: Any, expected: float, fragment: str) -> None:
    score = score_answer(submitted, target)
    assert score.value == expected, score.explanation
    assert score.correct is (expected == 1.0)
    assert score.answer_type == target.answer_type
    assert fragment.casefold() in score.explanation.casefold(), score.explanation
    assert score.explanation.endswith(
        "correct" if expected == 1.0 else ("wrong", "scored 0")
    ), score.explanation
    # The record must be JSON-able (it goes into trajectories) and round-trip.
    dumped = score.model_dump_json()
    assert Score.model_validate_json(dumped) == score
    json.dumps(score.parsed)


def test_every_answer_type_has_a_parser_and_a_comparator() -> None:
    assert set(PARSERS) == set(VALUE_ANSWER_TYPES)
    assert set(COMPARATORS) == set(VALUE_ANSWER_TYPES)
    covered = {t.answer_type for _, t, _, _, _ in CASES}
    assert covered == set(VALUE_ANSWER_TYPES)


@pytest.mark.parametrize("answer_type", list(VALUE_ANSWER_TYPES))
def test_every_type_rejects_empty_and_gaming(answer_type: AnswerType) -> None:
    """Empty and common multi-candidate submissions never parse as a correct single answer."""
    for empty in (None, "", "   ", []):
        with pytest.raises(EmptyAnswerError):
            parse_answer(empty, answer_type)
    for nested in ([[1]], [["a", "b"]]):
        with pytest.raises(AnswerParseError):
            parse_answer(nested, answer_type)


def test_parse_failures_never_raise_out_of_score_answer() -> None:
    weird: list[Any] = [object(), {"a": 1}, b"bytes", {1, 2}, 1j, [object()], "[" * 5000]
    for answer_type in VALUE_ANSWER_TYPES:
        target = ROUND_TRIP_EXAMPLES[answer_type]
        for submitted in weird:
            score = score_answer(submitted, target)
            assert score.value == 0.0
            assert score.parsed is None or isinstance(score.parsed, (list, str))


def test_parsed_answer_is_recorded() -> None:
    assert score_answer("25.1", RANGE).parsed == 25.1
    assert score_answer("4.0", INT).parsed == 4
    assert score_answer('"Po".', Target(answer_type=A.STRING, value="po")).parsed == "po"
    assert score_answer(["b", "a", "c"], LIST).parsed == ["b", "a", "c"]
    assert score_answer("09/23/2014", DATE).parsed == "2014-09-23"
    assert score_answer("2104-04-18T13:57:46", DATETIME).parsed == "2104-04-18 13:57:46"
    assert score_answer("yes", TRUE).parsed is True
    assert score_answer("1 2", RANGE).parsed is None


def test_expected_answer_is_recorded_on_its_own_whatever_the_submission() -> None:
    """Reports show the gold answer beside the submitted one (issue 14) instead of leaving it in
    the explanation; a submission that does not even parse still records it."""
    assert score_answer("4.0", INT).expected == 4
    assert score_answer("garbage", INT).expected == 4
    assert score_answer("09/23/2014", DATE).expected == score_answer("09/23/2014", DATE).parsed
    assert score_answer("yes", TRUE).expected is True
    assert score_answer(["b", "a", "c"], LIST).expected is not None


def test_explanation_is_short_even_for_huge_answers() -> None:
    huge = " ".join(str(i) for i in range(100_000))
    for target in (RANGE, INT, STR, SET_ONE, DATE, TRUE):
        assert len(score_answer(huge, target).explanation) < 300
    many = [str(i) for i in range(100_000)]
    score = score_answer(many, SET_ONE)
    assert score.value == 0.0
    assert len(score.explanation) < 300


def test_one_sided_range() -> None:
    at_least = Target(answer_type=A.NUMBER, value=10, lower=10)
    assert score_answer(10, at_least).value == 1.0
    assert score_answer(1e9, at_least).value == 1.0
    assert score_answer(9.99, at_least).value == 0.0
    at_most = Target(answer_type=A.NUMBER, value=10, upper=10)
    assert score_answer(-5, at_most).value == 1.0
    assert score_answer(10.01, at_most).value == 0.0


def test_exact_number_when_tolerances_are_zero() -> None:
    exact = Target(answer_type=A.NUMBER, value=0.3, rel_tol=0.0, abs_tol=0.0)
    assert score_answer(0.3, exact).value == 1.0
    assert score_answer(0.1 + 0.2, exact).value == 0.0


def test_set_item_tolerance_follows_the_target() -> None:
    loose = Target(answer_type=A.STRING_SET, value=["9.8", "11.27"], abs_tol=0.01)
    assert score_answer(["9.801", "11.265"], loose).value == 1.0
    strict = Target(answer_type=A.STRING_SET, value=["9.8", "11.27"])
    assert score_answer(["9.801", "11.265"], strict).value == 0.0


def test_numeric_items_pair_one_to_one() -> None:
    """Two gold numbers cannot both be matched by one submitted number (and vice versa)."""
    gold = Target(answer_type=A.STRING_SET, value=["1", "2"])
    assert score_answer(["1", "1.0"], gold).value == 0.0
    assert score_answer(["2", "1"], gold).value == 1.0
    assert score_answer(["1", "2", "2.0000000001"], gold).value == 1.0  # a duplicate, collapsed
    assert score_answer(["1", "2", "3"], gold).value == 0.0


@pytest.mark.parametrize(
    "target",
    [
        Target(answer_type=A.NUMBER, value="abc"),
        Target(answer_type=A.NUMBER, value=1.0, lower=2.0, upper=1.0),
        Target(answer_type=A.NUMBER, value=1.0, lower=NAN),
        Target(answer_type=A.NUMBER, value=1.0, rel_tol=-1.0),
        Target(answer_type=A.NUMBER, value=30.0, lower=23.9761, upper=26.4999),
        Target(answer_type=A.INTEGER, value=4, lower=5, upper=6),
        Target(answer_type=A.INTEGER, value=2.5),
        Target(answer_type=A.STRING_SET, value=[]),
        Target(answer_type=A.DATE, value="not a date"),
        Target(answer_type=A.BOOLEAN, value="perhaps"),
    ],
)
def test_bad_targets_raise(target: Target) -> None:
    """A target that cannot be read is a dataset bug: loud, never a silent 0 or 1."""
    with pytest.raises(InvalidTargetError):
        score_answer("1", target)


def test_the_original_or_bug_is_absent() -> None:
    """The original MedCalc check used `or`, passing almost any number; ours must not."""
    for x in (0, -1e6, 1e6, 23.97, 26.5, 100):
        assert score_answer(x, RANGE).value == 0.0


ROUND_TRIP_EXAMPLES: dict[AnswerType, Target] = {
    A.NUMBER: RANGE,
    A.INTEGER: INT,
    A.STRING: STR,
    A.STRING_SET: SET,
    A.ORDERED_LIST: LIST,
    A.DATE: DATETIME,
    A.BOOLEAN: FALSE,
    A.WEEKS_DAYS: WEEKS_DAYS,
}


def test_round_trip_examples_score_one() -> None:
    for target in ROUND_TRIP_EXAMPLES.values():
        assert score_answer(target.value, target).value == 1.0
