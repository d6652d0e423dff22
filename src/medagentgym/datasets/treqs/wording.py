"""Question wording: conditions and columns put into words from ``categories.toml``.

A phrase is chosen at random per condition and per column; none of it enters the content key.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medagentgym.datasets.mimic_iii.generate import Instance
from medagentgym.datasets.treqs.conditions import Column, Cond

_OP_NAMES = {"=": "eq", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def phrase_keys(cond: Cond) -> tuple[str, str]:
    """Phrase table keys: value-specific first (``demographic.gender.eq.f``), then general."""
    general = f"{cond.table}.{cond.column}.{_OP_NAMES[cond.op]}"
    return f"{general}.{cond.value}", general


@dataclass(frozen=True)
class Phrases:
    """The wording tables of ``categories.toml``: condition phrases (``{value}`` placeholder)
    and the nouns of columns (also used for the measure of an aggregate)."""

    conditions: Mapping[str, Sequence[str]]
    columns: Mapping[str, Sequence[str]]

    def condition(self, cond: Cond, rng: random.Random) -> str:
        for key in phrase_keys(cond):
            if key in self.conditions:
                value = cond.value[:-2] if cond.value.endswith(".0") else cond.value
                return rng.choice(list(self.conditions[key])).format(value=value)
        raise KeyError(f"no phrase for condition {phrase_keys(cond)[1]!r} in categories.toml")

    def column(self, column: Column | str, rng: random.Random) -> str:
        key = str(column)
        if key not in self.columns:
            raise KeyError(f"no phrase for column {key!r} in categories.toml")
        return rng.choice(list(self.columns[key]))


def render(inst: Instance, wording: str, phrases: Phrases, rng: random.Random) -> str:
    """The question text: ``wording`` with every parameter put into words."""
    words: dict[str, str] = {}
    for key, value in inst.params:
        if isinstance(value, Cond):
            words[key] = phrases.condition(value, rng)
        elif isinstance(value, Column):
            words[key] = phrases.column(value, rng)
        elif key == "measure":
            words[key] = phrases.column(f"demographic.{value}", rng)
        elif key == "name":
            words[key] = " ".join(w[:1].upper() + w[1:] for w in str(value).split(" "))
        else:
            words[key] = str(value)
    return wording.format(**words)


def json_params(inst: Instance) -> dict[str, Any]:
    """The instance's parameters as JSON values (conditions and columns as their key text)."""
    return {k: v if isinstance(v, int | float) else str(v) for k, v in inst.params}
