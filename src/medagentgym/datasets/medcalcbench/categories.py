"""The category table (``categories.toml``) loaded into ``Category`` rows and calculator specs."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from medagentgym.catalog.dataset import Category
from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.medcalcbench import calculators

DATASET_NAME = "medcalcbench"


@dataclass(frozen=True)
class CalculatorSpec:
    """One row of the table, resolved: the calculator function and its argument -> fact bindings."""

    name: str
    official_id: int
    official_name: str
    answer_type: AnswerType
    function: Callable[..., Any]
    params: dict[str, str]
    ranges: dict[str, tuple[float, float]]
    question: str
    theme: str
    tolerance: float
    counts: dict[str, int]

    def category(self) -> Category:
        return Category(
            name=self.name,
            dataset=DATASET_NAME,
            title=self.official_name,
            answer_type=self.answer_type,
            counts=dict(self.counts),
            params={
                "official_id": self.official_id,
                "official_name": self.official_name,
                "function": self.function.__name__,
                "tolerance": self.tolerance if self.answer_type is AnswerType.NUMBER else 0.0,
                "arguments": dict(self.params),
            },
        )


@cache
def load_specs() -> tuple[CalculatorSpec, ...]:
    """Parse the table once; the result is immutable."""
    text = resources.files(__package__).joinpath("categories.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    defaults = table.get("defaults", {})
    specs = []
    for row in table["category"]:
        specs.append(
            CalculatorSpec(
                name=row["name"],
                official_id=int(row["official_id"]),
                official_name=row["official_name"],
                answer_type=AnswerType(row["answer_type"]),
                function=getattr(calculators, row["function"]),
                params=dict(row["params"]),
                ranges={k: (float(v[0]), float(v[1])) for k, v in row.get("ranges", {}).items()},
                question=row["question"],
                theme=row.get("theme", "general"),
                tolerance=float(row.get("tolerance", defaults.get("tolerance", 0.05))),
                counts=dict(row.get("counts", defaults.get("counts", {"train": 100, "test": 20}))),
            )
        )
    return tuple(specs)


def spec_by_name(name: str) -> CalculatorSpec:
    for spec in load_specs():
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in load_specs())
    raise KeyError(f"unknown medcalcbench category {name!r} (known: {known})")


def spec_by_official_id(official_id: int) -> CalculatorSpec | None:
    for spec in load_specs():
        if spec.official_id == official_id:
            return spec
    return None
