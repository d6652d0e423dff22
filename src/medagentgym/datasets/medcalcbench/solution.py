"""Values as written in a note (``Given``) and the self-contained reference solution built from them.

A ``Given`` is one calculator input as stated in the patient note (or in an official "Relevant
Entities" entry): the number in the note's unit plus the conversion into the calculator's unit
(or a date in the note's spelling plus the conversion into "MM/DD/YYYY"). The target and the
reference solution are computed from the same givens with the same functions (their source is
embedded with ``inspect.getsource``), so executing the solution reproduces the target exactly.

Answers by type: an integer score, a number rounded to the thousandth, a date as the string
"MM/DD/YYYY" (the official spelling), or a gestational age as the list ``[weeks, days]``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from medagentgym.catalog.sample import AnswerType

NUMBER_DECIMALS = 3  # MedCalc-Bench reports decimal answers to the thousandth
# Unit suffixes of calculator arguments, dropped from the name of a variable holding another unit
_CANONICAL_SUFFIXES = (
    "_mg_dl", "_g_dl", "_10e9_l", "_u_l", "_uiu_ml", "_msec", "_kg", "_cm", "_c", "_per_day", "_ug_hr", "_ug", "_mg",
)
_US_DATE = re.compile(r"\d{2}/\d{2}/\d{4}", re.ASCII)


@dataclass(frozen=True)
class Given:
    """One calculator argument as stated in the source text, with its unit conversion."""

    param: str  # the calculator's keyword argument
    value: Any  # as written: float, int, bool, str, or a tuple (feet, inches)
    unit: str = ""  # as written, for the comment in the solution
    convert: Callable[..., Any] | None = None  # into the calculator's canonical unit (or date spelling)

    @property
    def canonical(self) -> Any:
        if self.convert is None:
            return self.value
        if isinstance(self.value, tuple):
            return self.convert(*self.value)
        return self.convert(self.value)

    @property
    def variable(self) -> str:
        """The solution's variable holding the value as written."""
        if self.convert is None:
            return self.param
        base = self.param
        for suffix in _CANONICAL_SUFFIXES:
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        unit = "".join(ch if ch.isalnum() else "_" for ch in self.unit.lower().replace("µ", "u").replace("°", "deg_"))
        unit = "_".join(part for part in unit.split("_") if part) or "as_written"
        return f"{base}_{unit}"


def finalize(raw: Any, answer_type: AnswerType) -> Any:
    """The reported answer: an exact int for scores, "MM/DD/YYYY" for dates, ``[weeks, days]``
    for a gestational age, a float rounded to the thousandth otherwise. The reference solution
    applies the same rule (its last line), so both give the same value and type."""
    if answer_type is AnswerType.INTEGER:
        return int(raw)
    if answer_type is AnswerType.DATE:
        text = str(raw)
        if not _US_DATE.fullmatch(text):
            raise ValueError(f"a date answer must be spelled MM/DD/YYYY, not {text!r}")
        return text
    if answer_type is AnswerType.WEEKS_DAYS:
        weeks, days = raw
        if int(weeks) != weeks or int(days) != days or weeks < 0 or not 0 <= days <= 6:
            raise ValueError(f"a gestational age must be whole weeks and 0-6 days, not {raw!r}")
        return [int(weeks), int(days)]
    return round(float(raw), NUMBER_DECIMALS)


def compute(function: Callable[..., Any], givens: Sequence[Given], answer_type: AnswerType) -> Any:
    """The target: the calculator applied to the converted givens, finalised."""
    kwargs = {given.param: given.canonical for given in givens}
    return finalize(function(**kwargs), answer_type)


def content_key(name: str, givens: Sequence[Given]) -> str:
    """The instance's identity (decides its split): the calculator and its canonical inputs,
    numbers rounded to 0.01 and written without a trailing ".0" (so "every 6 hours" and "4
    times a day" are one instance); the spelling a note chose for a value does not count."""
    parts = []
    for given in givens:
        value = given.canonical
        if isinstance(value, float):
            value = f"{round(value, 2):g}"
        parts.append(f"{given.param}={value}")
    return f"{name}|" + ",".join(parts)


def render_solution(
    function: Callable[..., Any], givens: Sequence[Given], answer_type: AnswerType
) -> str:
    """Self-contained Python that sets ``answer`` to ``compute(function, givens, answer_type)``."""
    sources = [inspect.getsource(function)] + [
        inspect.getsource(given.convert) for given in givens if given.convert is not None
    ]
    imports = ["import math"] + (["import datetime"] if any("datetime." in source for source in sources) else [])
    lines = [*imports, "", "# Values as stated in the source text (in its units)"]
    for given in givens:
        comment = f"  # {given.unit}" if given.unit else ""
        lines.append(f"{given.variable} = {given.value!r}{comment}")
    converters: list[Callable[..., float]] = []
    for given in givens:
        if given.convert is not None and given.convert not in converters:
            converters.append(given.convert)
    if converters:
        lines += ["", "", "# Unit conversions into the calculator's units"]
        for converter in converters:
            lines += [inspect.getsource(converter).rstrip(), ""]
        for given in givens:
            if given.convert is not None:
                star = "*" if isinstance(given.value, tuple) else ""
                lines.append(f"{given.param} = {given.convert.__name__}({star}{given.variable})")
    lines += ["", "", "# The calculator (published formula and source in its docstring)"]
    lines += [inspect.getsource(function).rstrip(), "", ""]
    arguments = ", ".join(f"{given.param}={given.param}" for given in givens)
    if answer_type is AnswerType.INTEGER:
        lines.append(f"answer = int({function.__name__}({arguments}))")
    elif answer_type is AnswerType.DATE:
        lines.append(f"answer = str({function.__name__}({arguments}))  # MM/DD/YYYY")
    elif answer_type is AnswerType.WEEKS_DAYS:
        lines.append(f"weeks, days = {function.__name__}({arguments})")
        lines.append("answer = [int(weeks), int(days)]")
    else:
        lines.append(f"answer = round(float({function.__name__}({arguments})), {NUMBER_DECIMALS})")
    return "\n".join(lines) + "\n"
