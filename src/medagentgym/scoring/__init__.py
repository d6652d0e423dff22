"""Typed scoring of submitted answers: strict parsing, then one comparator per AnswerType.

``score_answer(submitted, target) -> Score`` is the entry point. Metrics over many scores
(success rate, pass@k, confidence intervals) live in ``medagentgym.scoring.metrics``.

Rules (a submission is one JSON value; the target value is read by the same parser):

- A submission nested deeper than MAX_ANSWER_DEPTH (4) or larger than MAX_ANSWER_CHARS (20,000
  characters) scores 0 with the reason, before any parser looks at it.
- Empty (None, "", whitespace, [], and "[]" for list types) scores 0. Parse failures score 0
  with the reason; they never raise. A target that cannot be read, or lies outside its own
  range, raises InvalidTargetError (a dataset bug).
- NUMBER: a JSON number, or a string that is exactly one numeric literal (sign, decimals and
  scientific notation allowed; no units, words, "%", thousands separators or underscores).
  Booleans, lists (even of one number), NaN and infinities are rejected. With lower/upper:
  lower <= x <= upper, inclusive, one side may be open. Otherwise math.isclose with the target's
  rel_tol/abs_tol, each defaulting to 1e-6 / 1e-9 (set both to 0 for an exact match).
- INTEGER: an int, an integral float (3.0) or a numeric string with an integral value ("3",
  "3.0", "3e2"); 3.5, words and booleans are rejected. Exact equality, or lower/upper when set.
- STRING: a string or a JSON number (stringified canonically); a list is rejected. Compared
  after NFKC + casefold, whitespace collapsed, surrounding quotes and one trailing period
  stripped. Two numeric strings compare as numbers (see items below).
- STRING_SET: a JSON list, a string holding a JSON or Python list, or a bare scalar (a one-item
  set; strings are never split on commas). Items are normalised like STRING; null becomes
  "none" (the EHRSQL gold spelling of SQL NULL); booleans, nested lists, empty items and
  non-finite numbers are rejected. Duplicates collapse. Correct iff the sets are equal: no gold
  item missing, no extra item.
- Items that are both numeric literals compare as numbers with rel 1e-6 / abs 1e-9 (or the
  target's tolerances), so "143" == "143.0" == 143 and float repr noise passes; a digit string
  with a leading zero ("0389") is an identifier and compares as text.
- ORDERED_LIST: parsed like STRING_SET, but order and repeats count: same length, equal item by
  item.
- DATE: "YYYY-MM-DD", "YYYY/MM/DD" or US "MM/DD/YYYY" (slash dates are always US), optionally
  with " HH:MM[:SS[.ffffff]]" or "T..." ; no time zones, no month names. Exact calendar date;
  to the second for a datetime target. A date and the same date at 00:00:00 are equal; any
  other time of day never matches a date-only target.
- WEEKS_DAYS: a duration of whole weeks plus 0-6 days: a JSON pair [4, 3], {"weeks": 4, "days":
  3}, or text "4 weeks, 3 days" / "(4 weeks, 3 days)" / "('4 weeks', '3 days')". A bare number,
  days above 6, negative or fractional parts are rejected. Equal weeks and days.
- BOOLEAN: true/false, 1/0 (int or float), or the words true/false, yes/no, 1/0 (any case,
  quotes and a final period ignored). Anything holding both ("True False") is rejected.
- WRITES (a target with ``state``, write tasks over a record store): ``score_answer(submitted,
  target, writes=...)`` also grades the resources the episode created (``scoring/state.py``):
  every expected resource created once with the right subject, codes, values, units, doses and
  times, and nothing else when other writes are forbidden. Both parts must be right.
- CODE_TESTS (code checked by hidden tests, ``scoring/code_tests.py``): the env runs the target's
  cases in the sandbox after submission (a fresh session loading the submitted function, or the
  episode's own session for the variables it left) and passes what they observed as
  ``score_answer(submitted, target, observations=...)``. Each observation is judged here against
  expected values that never enter a sandbox; the score is passed / total, correct only when all
  pass; the explanation names the failed cases, never their expected values.
"""

from medagentgym.scoring.comparators import (
    COMPARATORS,
    DEFAULT_ABS_TOL,
    DEFAULT_REL_TOL,
    InvalidTargetError,
    Verdict,
    parse_target,
)
from medagentgym.scoring.parsing import (
    ITEM_ABS_TOL,
    ITEM_REL_TOL,
    MAX_ANSWER_CHARS,
    MAX_ANSWER_DEPTH,
    PARSERS,
    AnswerParseError,
    EmptyAnswerError,
    Item,
    ParsedAnswer,
    normalize_text,
    parse_answer,
)
from medagentgym.scoring.score import Score, combine_scores, score_answer
from medagentgym.scoring.state import StateVerdict, check_state

__all__ = [
    "check_state",
    "combine_scores",
    "COMPARATORS",
    "DEFAULT_ABS_TOL",
    "DEFAULT_REL_TOL",
    "ITEM_ABS_TOL",
    "ITEM_REL_TOL",
    "MAX_ANSWER_CHARS",
    "MAX_ANSWER_DEPTH",
    "PARSERS",
    "AnswerParseError",
    "EmptyAnswerError",
    "InvalidTargetError",
    "Item",
    "ParsedAnswer",
    "Score",
    "StateVerdict",
    "Verdict",
    "normalize_text",
    "parse_answer",
    "parse_target",
    "score_answer",
]
