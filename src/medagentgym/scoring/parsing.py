"""Parse a submitted answer into a typed value, strictly, one parser per AnswerType.

Why strict: the original system graded by substring matching of stdout, so printing many
candidates ("1 2 3 4 5", "True False") won. Here a submission must be *one* value of the
expected type; anything that holds several candidates, or extra words, is a parse error with a
message that tells the agent what was wrong. The same parsers read ``Target.value``, so the
canonical answer and the submission are always normalised by the same rules.

Leniency that *is* allowed (it changes the spelling, never the content):
surrounding whitespace everywhere; for text: Unicode NFKC, case, runs of whitespace, surrounding
quotes and one trailing period; for lists: a JSON or Python-literal list given as a string; for
dates: ISO, US ``MM/DD/YYYY`` and ``YYYY/MM/DD``; for booleans: true/false, yes/no, 1/0.
"""

from __future__ import annotations

import ast
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from medagentgym.catalog.sample import AnswerType
from medagentgym.untrusted import UntrustedJSONError, loads_bounded

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_ANSWER_DEPTH",
    "PARSERS",
    "AnswerParseError",
    "EmptyAnswerError",
    "Item",
    "ParsedAnswer",
    "check_answer_bounds",
    "normalize_text",
    "parse_answer",
    "preview",
]

# One numeric literal: optional sign, digits with an optional fraction, optional exponent.
# ASCII only (no Unicode digits), no thousands separators, no underscores (float() takes "1_000").
_NUMBER_LITERAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER_LITERAL, re.ASCII)
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
# A digit string with a leading zero ("0389") is an identifier (ICD-9 code, MRN), not a number.
_LEADING_ZERO_RE = re.compile(r"[+-]?0\d", re.ASCII)

_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME, re.ASCII)
_YMD_SLASH_RE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})" + _TIME, re.ASCII)
_US_DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME, re.ASCII)

_TRUE_WORDS = frozenset({"true", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "no", "0"})
_QUOTE_PAIRS = (('"', '"'), ("'", "'"), ("`", "`"), ("\u201c", "\u201d"), ("\u2018", "\u2019"))
_PREVIEW_CHARS = 60
_MAX_INT_DIGITS = 100  # integers beyond 10**100 are not plausible answers (and cost memory)
#: Largest submitted answer scored: characters of its strings plus one per number and list item.
MAX_ANSWER_CHARS = 20_000
#: Deepest nesting of a submitted answer (a list of values is depth 1; no answer type needs more
#: than a list, the cap only leaves room for a clear "nested list" message).
MAX_ANSWER_DEPTH = 4


class AnswerParseError(ValueError):
    """The submission cannot be read as the expected type; the message is shown to the agent."""


class EmptyAnswerError(AnswerParseError):
    """The submission is empty (None, "", whitespace, [], a list of nothing)."""


@dataclass(frozen=True)
class Item:
    """One element of a text answer (STRING, or an item of STRING_SET / ORDERED_LIST).

    ``text`` is the normalised spelling; ``number`` is set when the text is exactly one numeric
    literal (and not an identifier with a leading zero), so "143" and "143.0" can be compared
    numerically with a tolerance instead of as text.
    """

    text: str
    number: float | None = None


@dataclass(frozen=True)
class ParsedAnswer:
    """A submission read as one typed value.

    ``value`` is what the comparator uses (float, int, Item, tuple[Item, ...], date, datetime,
    bool); ``json`` is its JSON-able rendering (recorded as ``Score.parsed``); ``note`` says how it
    was read, for the explanation.
    """

    answer_type: AnswerType
    value: Any
    json: Any
    note: str


def preview(value: Any, limit: int = _PREVIEW_CHARS) -> str:
    """A short repr for messages, so a megabyte of output never lands in an explanation (and a
    deeply nested value, whose repr would recurse, reads as a placeholder)."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        text = f"<a deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_answer_bounds(submitted: Any) -> None:
    """Refuse a submission nested deeper than MAX_ANSWER_DEPTH or larger than MAX_ANSWER_CHARS.

    Runs before any parser (which may recurse, repr or normalise the whole value). Iterative.
    """
    size = 0
    stack: list[tuple[Any, int]] = [(submitted, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, tuple, dict)):
            if depth >= MAX_ANSWER_DEPTH:
                raise AnswerParseError(f"the answer is nested deeper than {MAX_ANSWER_DEPTH} levels")
            items = list(value.items()) if isinstance(value, dict) else list(value)
            size += len(items)
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            size += len(value)
        elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4_000:
            raise AnswerParseError("the answer holds a number too large to be an answer")
        else:
            size += 1
        if size > MAX_ANSWER_CHARS:
            raise AnswerParseError(
                f"the answer is larger than {MAX_ANSWER_CHARS} characters; submit only the answer"
            )


def format_number(x: float | int) -> str:
    """Render a number for explanations, compactly and without float noise (25.238, 143)."""
    if isinstance(x, int):
        return str(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return f"{x:.12g}"


def normalize_text(text: str) -> str:
    """Normalise spelling only: NFKC, casefold, collapse whitespace, strip quotes and one period.

    Stripping repeats until nothing changes, so '"Po."', 'po.' and ' "po" ' all become 'po'.
    Both the submission and the target go through this, so it can never make a wrong answer
    right except by ignoring case, spacing, quoting and a final full stop.
    """
    out = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    while True:
        before = out
        if out.endswith("."):
            out = out[:-1].rstrip()
        for left, right in _QUOTE_PAIRS:
            if len(out) >= 2 and out.startswith(left) and out.endswith(right):
                out = out[1:-1].strip()
        if out == before:
            return out


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, numbers.Number):
        return "a number"
    return f"a {type(value).__name__}"


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return len(value) == 0
    return False


def _check_not_empty(submitted: Any) -> None:
    if _is_empty(submitted):
        raise EmptyAnswerError(f"empty answer ({preview(submitted)})")


def _is_real(value: Any) -> bool:
    """A JSON number (or a numpy scalar), never a boolean."""
    return (
        isinstance(value, numbers.Real) and not isinstance(value, bool) and not _is_np_bool(value)
    )


def _is_np_bool(value: Any) -> bool:
    return type(value).__name__ in {"bool_", "bool"} and type(value).__module__ == "numpy"


def _count_numbers(text: str) -> int:
    return len(_NUMBER_RE.findall(text))


def _number_literal_error(text: str, what: str) -> AnswerParseError:
    """Explain why a string is not exactly one numeric literal."""
    stripped = text.strip()
    low = stripped.casefold()
    if low.lstrip("+-") in {"nan", "inf", "infinity"}:
        return AnswerParseError(f"{preview(text)} is not finite; submit a finite {what}")
    if _THOUSANDS_RE.fullmatch(stripped):
        return AnswerParseError(
            f"{preview(text)} uses thousands separators; submit the plain {what} (e.g. 1234.5)"
        )
    found = _count_numbers(stripped)
    if found == 0:
        return AnswerParseError(f"{preview(text)} holds no numeric literal; submit one {what}")
    if found > 1:
        return AnswerParseError(
            f"{preview(text)} holds {found} numbers; submit exactly one {what}, nothing else"
        )
    return AnswerParseError(
        f"{preview(text)} holds text besides the number (units or words are not accepted); "
        f"submit the bare {what}"
    )


def _finite_float(value: Any, source: Any) -> float:
    try:
        x = float(value)
    except OverflowError:
        raise AnswerParseError(f"{preview(source)} is too large to be a number") from None
    if not math.isfinite(x):
        raise AnswerParseError(f"{preview(source)} is not finite (NaN or infinity)")
    return x


def _reject_non_scalar(submitted: Any, what: str) -> None:
    if isinstance(submitted, (list, tuple)):
        raise AnswerParseError(f"got a list ({preview(submitted)}); submit {what}, not a list")
    if isinstance(submitted, bool) or _is_np_bool(submitted):
        raise AnswerParseError(
            f"got a boolean ({submitted!r}); a boolean is not accepted as {what}"
        )
    if isinstance(submitted, dict):
        raise AnswerParseError(f"got a JSON object; submit {what}")


# --------------------------------------------------------------------------------- NUMBER


def parse_number(submitted: Any) -> ParsedAnswer:
    """A finite number: a JSON number, or a string that is exactly one numeric literal."""
    _check_not_empty(submitted)
    _reject_non_scalar(submitted, "a single number")
    if _is_real(submitted):
        x = _finite_float(submitted, submitted)
        return ParsedAnswer(AnswerType.NUMBER, x, x, f"parsed {format_number(x)} as a number")
    if isinstance(submitted, str):
        literal = submitted.strip()
        if not _NUMBER_RE.fullmatch(literal):
            raise _number_literal_error(submitted, "number")
        x = _finite_float(literal, submitted)
        return ParsedAnswer(
            AnswerType.NUMBER, x, x, f"parsed {format_number(x)} as a number from a string"
        )
    raise AnswerParseError(f"got {_type_name(submitted)}; submit one number")


# --------------------------------------------------------------------------------- INTEGER


def _integer_from_decimal(d: Decimal, source: Any) -> int:
    if not d.is_finite():
        raise AnswerParseError(f"{preview(source)} is not finite")
    if d.adjusted() > _MAX_INT_DIGITS:
        raise AnswerParseError(f"{preview(source)} is too large to be an answer")
    if d != d.to_integral_value():
        raise AnswerParseError(f"{preview(source)} is not a whole number; submit an integer")
    return int(d)


def parse_integer(submitted: Any) -> ParsedAnswer:
    """An exact integer: an int, an integral float (3.0), or a string "3" / "3.0" / "3e2"."""
    _check_not_empty(submitted)
    _reject_non_scalar(submitted, "a single integer")
    if isinstance(submitted, numbers.Integral) and not isinstance(submitted, bool):
        n = int(submitted)
        if abs(n) >= 10**_MAX_INT_DIGITS:
            raise AnswerParseError(f"{preview(submitted)} is too large to be an answer")
        return ParsedAnswer(AnswerType.INTEGER, n, n, f"parsed {n} as an integer")
    if _is_real(submitted):
        x = _finite_float(submitted, submitted)
        if not x.is_integer():
            raise AnswerParseError(f"{preview(submitted)} is not a whole number; submit an integer")
        n = _integer_from_decimal(Decimal(x), submitted)
        return ParsedAnswer(AnswerType.INTEGER, n, n, f"parsed {n} as an integer")
    if isinstance(submitted, str):
        literal = submitted.strip()
        if not _NUMBER_RE.fullmatch(literal):
            raise _number_literal_error(submitted, "integer")
        try:
            d = Decimal(literal)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
            raise _number_literal_error(submitted, "integer") from None
        n = _integer_from_decimal(d, submitted)
        return ParsedAnswer(AnswerType.INTEGER, n, n, f"parsed {n} as an integer from a string")
    raise AnswerParseError(f"got {_type_name(submitted)}; submit one integer")


# --------------------------------------------------------------------------------- text items


def _number_text(x: float) -> str:
    """Canonical text of a float item: integral values lose ".0", others keep full repr."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


def _item_from_text(text: str) -> Item:
    norm = normalize_text(text)
    if _NUMBER_RE.fullmatch(norm) and not _LEADING_ZERO_RE.match(norm):
        try:
            x = float(norm)
        except OverflowError:  # pragma: no cover - float() returns inf rather than raising
            x = math.inf
        if math.isfinite(x):
            return Item(norm, x)
    return Item(norm)


def _item(value: Any, where: str) -> Item:
    """One text item from a JSON scalar. Numbers are stringified canonically (143.0 -> "143")."""
    if value is None:
        # SQL NULL: the EHRSQL-style gold lists spell it as the string "None".
        return Item("none")
    if isinstance(value, bool) or _is_np_bool(value):
        raise AnswerParseError(f"{where} is a boolean ({value!r}); submit text or numbers")
    if _is_real(value):
        if isinstance(value, numbers.Integral):
            n = int(value)
            return Item(str(n), float(n) if abs(n) < 10**300 else None)
        x = _finite_float(value, value)
        return Item(_number_text(x), x)
    if isinstance(value, str):
        item = _item_from_text(value)
        if not item.text:
            raise AnswerParseError(f"{where} is empty")
        return item
    if isinstance(value, (list, tuple)):
        raise AnswerParseError(
            f"{where} is a nested list ({preview(value)}); submit a flat list of values"
        )
    raise AnswerParseError(f"{where} is {_type_name(value)}; submit text or numbers")


def parse_string(submitted: Any) -> ParsedAnswer:
    """One string (a JSON number is stringified canonically), normalised by normalize_text."""
    _check_not_empty(submitted)
    if isinstance(submitted, (list, tuple)):
        raise AnswerParseError(f"got a list ({preview(submitted)}); submit one string, not a list")
    item = _item(submitted, "the answer")
    return ParsedAnswer(
        AnswerType.STRING, item, item.text, f"parsed {preview(item.text)} as a string (normalised)"
    )


def _decode_list_string(text: str) -> list[Any] | None:
    """A string that spells a list: JSON first, then a Python literal (str(list) output)."""
    try:
        decoded = loads_bounded(text, max_depth=MAX_ANSWER_DEPTH)
    except UntrustedJSONError:
        decoded = None
    if isinstance(decoded, list):
        return decoded
    try:
        decoded = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        return None
    return decoded if isinstance(decoded, list) else None


def _parse_items(submitted: Any) -> tuple[tuple[Item, ...], str]:
    """The items of a list answer, in the submitted order, plus how they were read."""
    _check_not_empty(submitted)
    if isinstance(submitted, dict):
        raise AnswerParseError("got a JSON object; submit a JSON list of values")
    how = "read a single value as a one-item list"
    if isinstance(submitted, str) and submitted.strip().startswith("["):
        decoded = _decode_list_string(submitted.strip())
        if decoded is not None:
            _check_not_empty(decoded)
            items = tuple(_item(v, f"item {i}") for i, v in enumerate(decoded))
            return items, "read a list from a string"
        how = "not a valid JSON/Python list, so read as a single one-item value"
    if isinstance(submitted, (list, tuple)):
        items = tuple(_item(v, f"item {i}") for i, v in enumerate(submitted))
        return items, "read a list"
    # A bare scalar is a one-item answer. No splitting on commas: items may contain commas.
    return (_item(submitted, "the answer"),), how


def _dedupe(items: tuple[Item, ...], rel_tol: float, abs_tol: float) -> tuple[Item, ...]:
    """Collapse duplicates: equal texts, and numbers within the item tolerance of each other."""
    texts = sorted({item.text for item in items if item.number is None})
    numbers_ = sorted((item for item in items if item.number is not None), key=_number_key)
    kept: list[Item] = []
    for item in numbers_:
        if kept and items_equal(kept[-1], item, rel_tol, abs_tol):
            continue
        kept.append(item)
    return tuple(Item(t) for t in texts) + tuple(kept)


def _number_key(item: Item) -> float:
    assert item.number is not None
    return item.number


# Default item tolerance: EHRSQL gold items are str(float) from SQLite, so repr noise must pass.
ITEM_REL_TOL = 1e-6
ITEM_ABS_TOL = 1e-9


def items_equal(
    a: Item, b: Item, rel_tol: float = ITEM_REL_TOL, abs_tol: float = ITEM_ABS_TOL
) -> bool:
    """Two items are equal if both are numbers within tolerance, or their normalised texts match."""
    if a.number is not None and b.number is not None:
        return math.isclose(a.number, b.number, rel_tol=rel_tol, abs_tol=abs_tol)
    return a.text == b.text


def parse_string_set(submitted: Any) -> ParsedAnswer:
    """An unordered set of text items; duplicates collapse (with the default item tolerance)."""
    items, how = _parse_items(submitted)
    unique = _dedupe(items, ITEM_REL_TOL, ITEM_ABS_TOL)
    dropped = len(items) - len(unique)
    note = f"{how}; {len(unique)} distinct item(s)"
    if dropped:
        note += f" ({dropped} duplicate(s) collapsed)"
    return ParsedAnswer(AnswerType.STRING_SET, unique, [i.text for i in unique], note)


def parse_ordered_list(submitted: Any) -> ParsedAnswer:
    """An ordered list of text items; order and repeats are kept."""
    items, how = _parse_items(submitted)
    return ParsedAnswer(
        AnswerType.ORDERED_LIST, items, [i.text for i in items], f"{how}; {len(items)} item(s)"
    )


# --------------------------------------------------------------------------------- DATE


def _build_date(
    groups: tuple[str | None, ...], year: str, month: str, day: str, source: Any, style: str
) -> date:
    hour, minute, second, fraction = groups
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        micro = int((fraction or "0").ljust(6, "0"))
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0), micro
        )
    except ValueError as exc:
        raise AnswerParseError(f"{preview(source)} is not a valid {style} date: {exc}") from None


def date_to_json(value: date) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value.isoformat()


def parse_date(submitted: Any) -> ParsedAnswer:
    """A calendar date, optionally with a time: ISO, US MM/DD/YYYY, or YYYY/MM/DD."""
    _check_not_empty(submitted)
    if not isinstance(submitted, str):
        raise AnswerParseError(
            f"got {_type_name(submitted)}; submit a date string such as 2014-09-23"
        )
    text = submitted.strip()
    for regex, order, style in (
        (_ISO_DATE_RE, (0, 1, 2), "ISO"),
        (_YMD_SLASH_RE, (0, 1, 2), "YYYY/MM/DD"),
        (_US_DATE_RE, (2, 0, 1), "US MM/DD/YYYY"),
    ):
        match = regex.fullmatch(text)
        if match:
            g = match.groups()
            year, month, day = (g[i] for i in order)
            value = _build_date(g[3:], year, month, day, submitted, style)
            kind = "a datetime" if isinstance(value, datetime) else "a date"
            rendered = date_to_json(value)
            return ParsedAnswer(
                AnswerType.DATE, value, rendered, f"parsed {rendered} as {kind} ({style})"
            )
    raise AnswerParseError(
        f"{preview(submitted)} is not a date; submit exactly one date as YYYY-MM-DD "
        "(or MM/DD/YYYY), optionally followed by HH:MM:SS"
    )


# --------------------------------------------------------------------------------- BOOLEAN


def parse_boolean(submitted: Any) -> ParsedAnswer:
    """true/false: a JSON boolean, 0/1, or the words true/false, yes/no, 1/0 (any case)."""
    _check_not_empty(submitted)
    value: bool | None = None
    if isinstance(submitted, bool) or _is_np_bool(submitted):
        value = bool(submitted)
    elif isinstance(submitted, (list, tuple)):
        raise AnswerParseError(f"got a list ({preview(submitted)}); submit one true or false")
    elif _is_real(submitted):
        if submitted in (0, 1):
            value = bool(submitted)
        else:
            raise AnswerParseError(
                f"{preview(submitted)} is not a boolean; only 0 and 1 are read as false/true"
            )
    elif isinstance(submitted, str):
        word = normalize_text(submitted)
        if word in _TRUE_WORDS:
            value = True
        elif word in _FALSE_WORDS:
            value = False
        else:
            tokens = set(re.findall(r"[a-z0-9]+", word))
            if tokens & _TRUE_WORDS and tokens & _FALSE_WORDS:
                raise AnswerParseError(
                    f"{preview(submitted)} holds both a true and a false answer; submit one"
                )
            raise AnswerParseError(
                f"{preview(submitted)} is not a boolean; submit true or false (or yes/no, 1/0)"
            )
    else:
        raise AnswerParseError(f"got {_type_name(submitted)}; submit true or false")
    return ParsedAnswer(
        AnswerType.BOOLEAN, value, value, f"parsed {str(value).lower()} as a boolean"
    )


# --------------------------------------------------------------------------------- WEEKS_DAYS

_WEEKS_DAYS_RE = re.compile(
    r"\(?\s*['\"]?\s*(\d+)\s*weeks?\s*['\"]?\s*(?:,|and|,\s*and)?\s*['\"]?\s*(\d+)\s*days?\s*['\"]?\s*\)?",
    re.ASCII | re.IGNORECASE,
)
_PAIR_RE = re.compile(r"[\(\[]\s*(\d+)\s*,\s*(\d+)\s*[\)\]]", re.ASCII)
_WEEKS_DAYS_HINT = 'submit weeks and days as [4, 3] or "4 weeks, 3 days"'


def _week_part(value: Any, what: str, source: Any) -> int:
    if isinstance(value, bool) or _is_np_bool(value) or not _is_real(value):
        raise AnswerParseError(f"{preview(source)}: the {what} must be a whole number; {_WEEKS_DAYS_HINT}")
    x = _finite_float(value, source)
    if not x.is_integer() or x < 0 or x > 10_000:
        raise AnswerParseError(f"{preview(source)}: the {what} must be a whole number >= 0; {_WEEKS_DAYS_HINT}")
    return int(x)


def parse_weeks_days(submitted: Any) -> ParsedAnswer:
    """A duration as (weeks, days) with 0 <= days <= 6: a JSON pair ``[4, 3]``, an object
    ``{"weeks": 4, "days": 3}``, or text such as "4 weeks, 3 days" / "(4 weeks, 3 days)" /
    "('4 weeks', '3 days')" (the MedCalc-Bench spelling). A bare number is refused (days or
    weeks?), as are days of 7 or more (whole weeks are carried into the weeks)."""
    _check_not_empty(submitted)
    weeks: Any
    days: Any
    if isinstance(submitted, dict):
        if set(submitted) != {"weeks", "days"}:
            raise AnswerParseError(f"an object must hold exactly 'weeks' and 'days'; {_WEEKS_DAYS_HINT}")
        weeks, days = submitted["weeks"], submitted["days"]
    elif isinstance(submitted, (list, tuple)):
        if len(submitted) != 2:
            raise AnswerParseError(f"got a list of {len(submitted)} item(s); {_WEEKS_DAYS_HINT}")
        weeks, days = submitted
        if isinstance(weeks, str) and isinstance(days, str):  # ["4 weeks", "3 days"]
            return parse_weeks_days(f"{weeks}, {days}")
    elif isinstance(submitted, str):
        text = " ".join(submitted.split())  # one space at most between tokens: linear matching
        match = None
        if len(text) <= 60:
            match = _WEEKS_DAYS_RE.fullmatch(text) or _PAIR_RE.fullmatch(text)
        if match is None:
            raise AnswerParseError(f"{preview(submitted)} is not a weeks-and-days duration; {_WEEKS_DAYS_HINT}")
        weeks, days = int(match.group(1)), int(match.group(2))
    else:
        raise AnswerParseError(f"got {_type_name(submitted)}; {_WEEKS_DAYS_HINT}")
    w = _week_part(weeks, "weeks", submitted)
    d = _week_part(days, "days", submitted)
    if d > 6:
        raise AnswerParseError(f"{preview(submitted)} has {d} days; days must be 0-6 (carry whole weeks)")
    return ParsedAnswer(AnswerType.WEEKS_DAYS, (w, d), [w, d], f"parsed {w} weeks, {d} days")


# --------------------------------------------------------------------------------- dispatch

Parser = Callable[[Any], ParsedAnswer]

PARSERS: Mapping[AnswerType, Parser] = MappingProxyType(
    {
        AnswerType.NUMBER: parse_number,
        AnswerType.INTEGER: parse_integer,
        AnswerType.STRING: parse_string,
        AnswerType.STRING_SET: parse_string_set,
        AnswerType.ORDERED_LIST: parse_ordered_list,
        AnswerType.DATE: parse_date,
        AnswerType.BOOLEAN: parse_boolean,
        AnswerType.WEEKS_DAYS: parse_weeks_days,
    }
)


def parse_answer(submitted: Any, answer_type: AnswerType) -> ParsedAnswer:
    """Read ``submitted`` as ``answer_type``; raises AnswerParseError (message for the agent)."""
    return PARSERS[AnswerType(answer_type)](submitted)
