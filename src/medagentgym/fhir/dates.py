"""FHIR date, dateTime and instant values as half-open ranges of UTC microseconds.

FHIR compares dates by the *range* a value covers at its precision: ``2023`` covers the whole
year, ``2023-11-13`` the day, ``2023-11-13T10:15:00+00:00`` one second. Search prefixes (``gt``,
``le``, ...) are defined on those ranges, so the store indexes every date as ``[low, high)`` in
integer microseconds since the epoch and a search value is read the same way.

Two readers, because FHIR has two grammars:

* :func:`parse_value` reads a *stored* value strictly (the R4 ``date`` / ``dateTime`` /
  ``instant`` grammar): a time needs seconds and a time zone, the calendar must be valid.
* :func:`parse_search` reads a *search* value with its prefix, more leniently, as servers do: a
  time may lack seconds or a time zone (then UTC), and a ``+`` of the zone that a query string
  decoded into a space is read back as ``+``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Search prefixes the store understands (FHIR R4 "ap" is not supported: its width is server-defined).
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = 1_000_000

# YYYY, YYYY-MM, YYYY-MM-DD, or a full time with seconds (fraction optional) and a zone.
_VALUE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?P<f>\.\d{1,9})?(?P<tz>Z|[+-]\d{2}:\d{2}))?)?)?"
)
# The search grammar: seconds and zone optional; a space where the zone's "+" was.
_SEARCH = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d{1,9})?)?(?P<tz>Z|[+\- ]\d{2}:\d{2})?)?)?)?"
)


class FhirDateError(ValueError):
    """A value that is not a FHIR date; the message names the value and the expected form."""


@dataclass(frozen=True)
class DateRange:
    """``[low, high)`` in microseconds since 1970-01-01T00:00:00Z."""

    low: int
    high: int


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _SECOND + delta.microseconds


def _zone(text: str | None) -> timedelta:
    if text is None or text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise FhirDateError(f"time zone {text!r} is out of range")
    return sign * timedelta(hours=hours, minutes=minutes)


def _range(match: re.Match[str], original: str) -> DateRange:
    """The range a matched value covers at its precision."""
    year = int(match["y"])
    if year < 1:
        raise FhirDateError(f"{original!r}: year 0000 does not exist")
    try:
        if match["m"] is None:
            start = datetime(year, 1, 1, tzinfo=UTC)
            days = 366 if calendar.isleap(year) else 365
            return DateRange(_micros(start), _micros(start) + days * 86_400 * _SECOND)
        month = int(match["m"])
        if match["d"] is None:
            start = datetime(year, month, 1, tzinfo=UTC)
            days = calendar.monthrange(year, month)[1]
            return DateRange(_micros(start), _micros(start) + days * 86_400 * _SECOND)
        day = int(match["d"])
        if match["H"] is None:
            start = datetime(year, month, day, tzinfo=UTC)
            return DateRange(_micros(start), _micros(start) + 86_400 * _SECOND)
        hour, minute = int(match["H"]), int(match["M"])
        second = int(match["S"]) if match["S"] is not None else 0
        if second == 60:
            raise FhirDateError(f"{original!r}: leap seconds are not supported")
        fraction = match["f"]
        micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:  # month 13, February 30, hour 25
        raise FhirDateError(f"{original!r} is not a calendar date ({exc})") from None
    try:
        moment = local - _zone(match["tz"])
    except OverflowError:
        raise FhirDateError(f"{original!r} is out of range") from None
    if match["S"] is None:
        width = 60 * _SECOND
    elif fraction:
        width = max(1, 10 ** (6 - min(len(fraction) - 1, 6)))
    else:
        width = _SECOND
    low = _micros(moment)
    return DateRange(low, low + width)


def parse_value(text: object) -> DateRange:
    """A stored ``date`` / ``dateTime`` / ``instant`` value (strict R4 grammar)."""
    if not isinstance(text, str):
        raise FhirDateError(f"a date must be a string, not {type(text).__name__}")
    match = _VALUE.fullmatch(text)
    if match is None:
        raise FhirDateError(
            f"{text[:40]!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD, or "
            "YYYY-MM-DDThh:mm:ss with a time zone such as +00:00 or Z)"
        )
    return _range(match, text)


def is_datetime_with_time(text: object) -> bool:
    """True for a valid dateTime that carries a time of day (not just a date)."""
    return isinstance(text, str) and "T" in text and _VALUE.fullmatch(text) is not None


def parse_search(text: str) -> tuple[str, DateRange]:
    """A search value ``[prefix]date`` as (prefix, range); the prefix defaults to ``eq``."""
    prefix = "eq"
    if len(text) >= 2 and text[:2].isalpha():
        prefix = text[:2]
        if prefix not in PREFIXES:
            raise FhirDateError(f"unknown date prefix {prefix!r} (supported: {', '.join(PREFIXES)})")
        text = text[2:]
    match = _SEARCH.fullmatch(text)
    if match is None:
        raise FhirDateError(
            f"{text[:40]!r} is not a date to search by (YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][+hh:mm])"
        )
    return prefix, _range(match, text)


def to_iso(micros: int) -> str:
    """A UTC instant written as FHIR writes it (``2023-11-13T10:15:00+00:00``)."""
    moment = _EPOCH + timedelta(microseconds=micros)
    return moment.isoformat(timespec="seconds" if moment.microsecond == 0 else "microseconds")


def micros_of(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return _micros(moment.astimezone(UTC))
