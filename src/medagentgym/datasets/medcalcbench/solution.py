"""Values as written in a note (``Given``) and the self-contained reference solution built from them.

A ``Given`` is one calculator input as stated in the patient note (or in an official "Relevant
Entities" entry): the number in the note's unit plus the conversion into the calculator's unit.
The target and the reference solution are computed from the same givens with the same functions
(their source is embedded with ``inspect.getsource``), so executing the solution reproduces the
target exactly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from medagentgym.catalog.sample import AnswerType

NUMBER_DECIMALS = 3
_CANONICAL_SUFFIXES = ("_mg_dl", "_g_dl", "_10e9_l", "_u_l", "_uiu_ml", "_msec", "_kg", "_cm", "_c")  # MedCalc-Bench reports decimal answers to the thousandth


@dataclass(frozen=True)
class Given:
    """One calculator argument as stated in the source text, with its unit conversion."""

    param: str  # the calculator's keyword argument
    value: Any  # as written: float, int, bool, str, or a tuple (feet, inches)
    unit: str = ""  # as written, for the comment in the solution
    convert: Callable[..., float] | None = None  # into the calculator's canonical unit

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


def finalize(raw: Any, answer_type: AnswerType) -> float | int:
    """The reported answer: an exact int for scores, a float rounded to the thousandth otherwise."""
    if answer_type is AnswerType.INTEGER:
        return int(raw)
    return round(float(raw), NUMBER_DECIMALS)


def compute(function: Callable[..., Any], givens: Sequence[Given], answer_type: AnswerType) -> float | int:
    """The target: the calculator applied to the converted givens, finalised."""
    kwargs = {given.param: given.canonical for given in givens}
    return finalize(function(**kwargs), answer_type)


def render_solution(
    function: Callable[..., Any], givens: Sequence[Given], answer_type: AnswerType
) -> str:
    """Self-contained Python that sets ``answer`` to ``compute(function, givens, answer_type)``."""
    lines = ["import math", "", "# Values as stated in the source text (in its units)"]
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
    else:
        lines.append(f"answer = round(float({function.__name__}({arguments})), {NUMBER_DECIMALS})")
    return "\n".join(lines) + "\n"
