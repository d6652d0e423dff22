"""Pregnancy dating calculators of MedCalc-Bench: due date, conception date, gestational age.

Dates travel as "MM/DD/YYYY" strings, the spelling of the official files and of the answers they
expect: the calculators read and return that spelling, and a note that writes a date another way
(ISO "2013-12-11", "December 11, 2013", "11 December 2013") converts it with the functions below,
the way ``units.py`` converts a creatinine in µmol/L. Like every calculator, these are embedded
verbatim (``inspect.getsource``) in reference solutions, so they use nothing but the ``datetime``
module (which the solution imports) and arithmetic.

The three follow MDCalc's "Pregnancy Due Dates Calculator", the source of MedCalc-Bench's
calculators 13, 68 and 69; where the official labels differ from the published rule, the
calculator's docstring says how and why (docs/medcalcbench.md lists every disagreeing row).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from medagentgym.datasets.medcalcbench.facts import Display, Quantity

# --------------------------------------------------------------------------- calculators


def estimated_due_date(last_menstrual_period: str, cycle_length_days: int) -> str:
    """Estimated due date by Naegele's rule adjusted for cycle length (MM/DD/YYYY).

    Naegele's rule puts delivery 280 days (40 weeks) after the first day of the last menstrual
    period (LMP) for a 28-day cycle, with ovulation on day 14. Ovulation comes about 14 days
    before the next period, so a cycle of C days moves ovulation, and the due date, by (C - 28)
    days: EDD = LMP + 280 days + (C - 28) days (earlier for a shorter cycle, later for a longer
    one). Sources: Naegele 1812 (280 days from the LMP); the cycle-length adjustment as in
    MDCalc's Pregnancy Due Dates Calculator, the source MedCalc-Bench names.

    MedCalc-Bench's labels add |C - 28| days for every cycle, so for cycles shorter than 28
    days they move the date later by (28 - C) instead of earlier; their own method summary says
    to subtract. This calculator follows the published rule.
    """
    lmp = datetime.datetime.strptime(last_menstrual_period.strip(), "%m/%d/%Y").date()
    if isinstance(cycle_length_days, bool) or cycle_length_days != int(cycle_length_days) or cycle_length_days <= 0:
        raise ValueError(f"cycle length must be a positive whole number of days, not {cycle_length_days!r}")
    due = lmp + datetime.timedelta(days=280 + int(cycle_length_days) - 28)
    return f"{due.month:02d}/{due.day:02d}/{due.year:04d}"


def estimated_conception_date(last_menstrual_period: str) -> str:
    """Estimated date of conception: 14 days (2 weeks) after the first day of the LMP (MM/DD/YYYY).

    The obstetric dating convention counts gestational age from the LMP and puts conception
    (ovulation) two weeks later, so conceptional age = gestational age - 2 weeks (e.g. Moore &
    Persaud, The Developing Human, 10th ed., 2016). MedCalc-Bench (calculator 68, "Estimated of
    Conception") applies exactly this, leaving the cycle length out even when a note states it;
    so does this calculator. A cycle-adjusted estimate would be LMP + (cycle length - 14) days.
    """
    lmp = datetime.datetime.strptime(last_menstrual_period.strip(), "%m/%d/%Y").date()
    conception = lmp + datetime.timedelta(days=14)
    return f"{conception.month:02d}/{conception.day:02d}/{conception.year:04d}"


def gestational_age(last_menstrual_period: str, current_date: str) -> tuple[int, int]:
    """Gestational age by dates: (completed weeks, remaining days 0-6) from the LMP to today.

    Gestational age is the time elapsed since the first day of the last menstrual period
    (ACOG Committee Opinion 700, 2017): days = current date - LMP, reported as days // 7 weeks
    and days % 7 days (e.g. 13 days -> 1 week 6 days). A current date before the LMP is refused
    (MedCalc-Bench's code would take the absolute gap; no official row needs it).
    """
    lmp = datetime.datetime.strptime(last_menstrual_period.strip(), "%m/%d/%Y").date()
    today = datetime.datetime.strptime(current_date.strip(), "%m/%d/%Y").date()
    days = (today - lmp).days
    if days < 0:
        raise ValueError(f"the current date {current_date} is before the last menstrual period {last_menstrual_period}")
    return days // 7, days % 7


# --------------------------------------------------------------------------- date spellings


def iso_date_to_us(value: str) -> str:
    """Convert an ISO date ("2013-12-11") to the calculators' spelling ("12/11/2013")."""
    year, month, day = value.strip().split("-")
    return f"{int(month):02d}/{int(day):02d}/{int(year):04d}"


def written_date_to_us(value: str) -> str:
    """Convert "December 11, 2013" or "11 December 2013" (English month names) to "12/11/2013"."""
    months = (
        "january", "february", "march", "april", "may", "june",
        "july", "august", "september", "october", "november", "december",
    )
    words = value.replace(",", " ").split()
    if len(words) != 3:
        raise ValueError(f"not a written date: {value!r}")
    if words[0].isdigit():
        day, name, year = words
    else:
        name, day, year = words
    month = months.index(name.lower()) + 1
    return f"{month:02d}/{int(day):02d}/{int(year):04d}"


# --------------------------------------------------------------------------- vocabulary

# The menstrual cycle length, in days (a regular cycle is 21-35 days; 28 on average).
QUANTITIES: dict[str, Quantity] = {
    "cycle_length": Quantity(
        "cycle_length", "pregnancy", ("menstrual cycle length", "cycle length"), (21, 28, 35), (20, 40),
        (Display("days", 0),),
        templates=(
            "{His} menstrual cycles are regular, every {text}.",
            "{He} describes regular cycles of {text}.",
            "Cycle length: {text}, regular.",
            "Before this pregnancy {his} cycles came every {text}.",
            "{His} usual cycle length is {text}.",
        ),
    ),
}
FINDINGS: dict[str, Any] = {}
CHOICES: dict[str, Any] = {}

ENTITY_MAP: dict[str, dict[str, str]] = {
    "estimated-due-date": {"Last menstrual date": "last_menstrual_period", "cycle length": "cycle_length_days"},
    # the official rows also give the cycle length, which this rule does not use
    "estimated-conception-date": {"Last menstrual date": "last_menstrual_period"},
    "estimated-gestational-age": {"Last menstrual date": "last_menstrual_period", "Current Date": "current_date"},
}

# Date kinds hold a date string; the keys are the spellings entities.py recognises
# ("mm/dd/yyyy" marks a kind as a date kind).
_DATE_SPELLINGS: dict[str, Callable[..., str] | None] = {"mm/dd/yyyy": None, "yyyy-mm-dd": iso_date_to_us}
UNIT_TABLE: dict[str, dict[str, Callable[..., Any] | None]] = {
    "lmp_date": _DATE_SPELLINGS,
    "visit_date": _DATE_SPELLINGS,
    "cycle_length": {"": None, "days": None},
}
