"""Compare a parsed submission with the parsed target, one comparator per AnswerType.

The target's ``value`` is read by the same parser as the submission (see parsing.py), so both
sides are normalised alike. A target that cannot be read, or has a bad range, is a data bug and
raises InvalidTargetError: it must surface in the registry-wide contract tests, not hide as a 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from types import MappingProxyType

from medagentgym.catalog.sample import AnswerType, Target
from medagentgym.scoring.parsing import (
    ITEM_ABS_TOL,
    ITEM_REL_TOL,
    AnswerParseError,
    Item,
    ParsedAnswer,
    date_to_json,
    format_number,
    items_equal,
    parse_answer,
    preview,
)

__all__ = [
    "COMPARATORS",
    "DEFAULT_ABS_TOL",
    "DEFAULT_REL_TOL",
    "InvalidTargetError",
    "Verdict",
    "parse_target",
]

# NUMBER without a range or explicit tolerances: equal up to float noise. Datasets that accept
# rounding set rel_tol / abs_tol (or lower / upper) explicitly; rel_tol=0, abs_tol=0 is exact.
DEFAULT_REL_TOL = 1e-6
DEFAULT_ABS_TOL = 1e-9
_SHOWN_ITEMS = 3
_ITEM_CHARS = 40


class InvalidTargetError(ValueError):
    """The target itself cannot be read as its answer type (a dataset bug)."""


@dataclass(frozen=True)
class Verdict:
    correct: bool
    explanation: str


def parse_target(target: Target) -> ParsedAnswer:
    """Read ``target.value`` with the submission's parser and check its range and tolerances."""
    for name in ("lower", "upper", "rel_tol", "abs_tol"):
        bound = getattr(target, name)
        if bound is not None and not math.isfinite(bound):
            raise InvalidTargetError(f"target {name} must be finite, got {bound!r}")
    for name in ("rel_tol", "abs_tol"):
        tol = getattr(target, name)
        if tol is not None and tol < 0:
            raise InvalidTargetError(f"target {name} must be >= 0, got {tol!r}")
    if target.lower is not None and target.upper is not None and target.lower > target.upper:
        raise InvalidTargetError(f"target range is empty: [{target.lower}, {target.upper}]")
    try:
        gold = parse_answer(target.value, target.answer_type)
    except AnswerParseError as exc:
        raise InvalidTargetError(
            f"target value {preview(target.value)} is not a valid "
            f"{target.answer_type.value}: {exc}"
        ) from None
    numeric = target.answer_type in (AnswerType.NUMBER, AnswerType.INTEGER)
    if numeric and _has_range(target) and not _in_range(gold.value, target).correct:
        raise InvalidTargetError(
            f"target value {preview(target.value)} lies outside its own range "
            f"[{target.lower}, {target.upper}]"
        )
    return gold


def _tolerances(target: Target, rel_default: float, abs_default: float) -> tuple[float, float]:
    rel = target.rel_tol if target.rel_tol is not None else rel_default
    abs_ = target.abs_tol if target.abs_tol is not None else abs_default
    return rel, abs_


def _in_range(x: float, target: Target) -> Verdict:
    low, high = target.lower, target.upper
    ok = (low is None or low <= x) and (high is None or x <= high)
    low_s = "-inf" if low is None else format_number(low)
    high_s = "inf" if high is None else format_number(high)
    return Verdict(ok, f"accepted range [{low_s}, {high_s}] (inclusive)")


def _has_range(target: Target) -> bool:
    return target.lower is not None or target.upper is not None


def compare_number(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    """In [lower, upper] when a range is given, else math.isclose with the target tolerances."""
    if _has_range(target):
        return _in_range(parsed.value, target)
    rel, abs_ = _tolerances(target, DEFAULT_REL_TOL, DEFAULT_ABS_TOL)
    ok = math.isclose(parsed.value, gold.value, rel_tol=rel, abs_tol=abs_)
    return Verdict(ok, f"expected {format_number(gold.value)} (rel_tol {rel:g}, abs_tol {abs_:g})")


def compare_integer(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    """Exact equality; an explicit [lower, upper] range, when given, is honoured instead."""
    if _has_range(target):
        return _in_range(parsed.value, target)
    return Verdict(parsed.value == gold.value, f"expected exactly {gold.value}")


def _item_tolerances(target: Target) -> tuple[float, float]:
    return _tolerances(target, ITEM_REL_TOL, ITEM_ABS_TOL)


def compare_string(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    """Normalised text equality; two numeric texts compare as numbers with the item tolerance."""
    rel, abs_ = _item_tolerances(target)
    ok = items_equal(parsed.value, gold.value, rel, abs_)
    numeric = parsed.value.number is not None and gold.value.number is not None
    how = " (compared as numbers)" if numeric else ""
    return Verdict(ok, f"expected {preview(gold.value.text)}{how}")


def _show(items: list[Item]) -> str:
    shown = ", ".join(preview(i.text, _ITEM_CHARS) for i in items[:_SHOWN_ITEMS])
    more = len(items) - _SHOWN_ITEMS
    return shown + (f", ... (+{more})" if more > 0 else "")


def _match_sets(
    submitted: tuple[Item, ...], gold: tuple[Item, ...], rel: float, abs_: float
) -> tuple[int, list[Item], list[Item]]:
    """(matched, missing gold items, extra submitted items) for two de-duplicated item sets.

    Text items match by equal text; numeric items are sorted and paired in order with the
    tolerance (two-pointer), which is exact for values further apart than the tolerance.
    """
    sub_text = {i.text: i for i in submitted if i.number is None}
    gold_text = {i.text: i for i in gold if i.number is None}
    matched = len(sub_text.keys() & gold_text.keys())
    missing = [gold_text[t] for t in sorted(gold_text.keys() - sub_text.keys())]
    extra = [sub_text[t] for t in sorted(sub_text.keys() - gold_text.keys())]
    sub_num = sorted((i for i in submitted if i.number is not None), key=lambda i: i.number)
    gold_num = sorted((i for i in gold if i.number is not None), key=lambda i: i.number)
    a = b = 0
    while a < len(sub_num) and b < len(gold_num):
        s, g = sub_num[a], gold_num[b]
        if items_equal(s, g, rel, abs_):
            matched += 1
            a += 1
            b += 1
        elif s.number < g.number:  # type: ignore[operator]
            extra.append(s)
            a += 1
        else:
            missing.append(g)
            b += 1
    extra.extend(sub_num[a:])
    missing.extend(gold_num[b:])
    return matched, missing, extra


def compare_string_set(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    """Equal as sets: every gold item present and no extra item."""
    rel, abs_ = _item_tolerances(target)
    matched, missing, extra = _match_sets(parsed.value, gold.value, rel, abs_)
    parts = [f"matched {matched} of {len(gold.value)} gold item(s)"]
    if missing:
        parts.append(f"{len(missing)} missing")
    if extra:
        parts.append(f"{len(extra)} extra: {_show(extra)}")
    return Verdict(not missing and not extra, "; ".join(parts))


def compare_ordered_list(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    """Same length and equal item by item, in order."""
    rel, abs_ = _item_tolerances(target)
    sub, ref = parsed.value, gold.value
    if len(sub) != len(ref):
        return Verdict(False, f"expected {len(ref)} item(s), got {len(sub)}")
    for index, (s, g) in enumerate(zip(sub, ref, strict=True)):
        if not items_equal(s, g, rel, abs_):
            same_items = _same_multiset(sub, ref, rel, abs_)
            hint = "; same items in a different order" if same_items else ""
            return Verdict(
                False,
                f"item {index} is {preview(s.text, _ITEM_CHARS)}, "
                f"expected {preview(g.text, _ITEM_CHARS)}{hint}",
            )
    return Verdict(True, f"all {len(ref)} item(s) match in order")


def _same_multiset(sub: tuple[Item, ...], ref: tuple[Item, ...], rel: float, abs_: float) -> bool:
    key = lambda i: (i.number is None, i.number or 0.0, i.text)  # noqa: E731
    return all(
        items_equal(s, g, rel, abs_)
        for s, g in zip(sorted(sub, key=key), sorted(ref, key=key), strict=True)
    )


def _as_datetime(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def compare_date(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    """Exact calendar date; to the second when the target has a time part.

    A date-only value and the same date at 00:00:00 are the same answer (either side).
    A time of day other than midnight never matches a date-only target.
    """
    sub, ref = parsed.value, gold.value
    if isinstance(ref, datetime):
        ok = _as_datetime(sub) == ref
        return Verdict(ok, f"expected {date_to_json(ref)}")
    if isinstance(sub, datetime) and sub.time() != time():
        return Verdict(False, f"expected the date {ref.isoformat()} without a time of day")
    ok = _as_datetime(sub) == _as_datetime(ref)
    return Verdict(ok, f"expected {ref.isoformat()}")


def compare_boolean(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    return Verdict(parsed.value == gold.value, f"expected {str(gold.value).lower()}")


def compare_weeks_days(parsed: ParsedAnswer, gold: ParsedAnswer, target: Target) -> Verdict:
    """The same weeks and the same days (days are 0-6 on both sides, so equal durations)."""
    weeks, days = gold.value
    return Verdict(parsed.value == gold.value, f"expected {weeks} weeks, {days} days")


Comparator = Callable[[ParsedAnswer, ParsedAnswer, Target], Verdict]

COMPARATORS: Mapping[AnswerType, Comparator] = MappingProxyType(
    {
        AnswerType.NUMBER: compare_number,
        AnswerType.INTEGER: compare_integer,
        AnswerType.STRING: compare_string,
        AnswerType.STRING_SET: compare_string_set,
        AnswerType.ORDERED_LIST: compare_ordered_list,
        AnswerType.DATE: compare_date,
        AnswerType.BOOLEAN: compare_boolean,
        AnswerType.WEEKS_DAYS: compare_weeks_days,
    }
)
