"""The category tables loaded into ``Category`` rows and calculator specs.

``categories.toml`` holds the defaults and the first calculators; each calculator family adds its
own table ``categories_<family>.toml`` (read in name order) with the same row shape. A row's
``function`` is a name in ``calculators.py`` or ``<module>.<name>`` for a function of a family
module of this package (``criteria.wells_pe``). A row's optional ``generator`` names a module of
this package that writes its notes (``propose`` and ``render_note``, as ``generate.py`` does);
rows without one use ``generate.py``'s narrative notes.
"""

from __future__ import annotations

import importlib
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
    full_counts: dict[str, int]
    generator: str = ""  # module of this package that writes the notes; "" = generate.py

    def category(self) -> Category:
        return Category(
            name=self.name,
            dataset=DATASET_NAME,
            title=self.official_name,
            answer_type=self.answer_type,
            counts=dict(self.counts),
            full_counts=dict(self.full_counts),
            params={
                "official_id": self.official_id,
                "official_name": self.official_name,
                "function": self.function.__name__,
                "tolerance": self.tolerance if self.answer_type is AnswerType.NUMBER else 0.0,
                "arguments": dict(self.params),
            },
        )


def _resolve_function(reference: str) -> Callable[..., Any]:
    """``name`` in calculators.py, or ``module.name`` in a family module of this package."""
    module_name, _, name = reference.rpartition(".")
    module = importlib.import_module(f"{__package__}.{module_name}") if module_name else calculators
    return getattr(module, name)


def _table_names() -> list[str]:
    package = resources.files(__package__)
    extra = sorted(
        entry.name for entry in package.iterdir() if entry.name.startswith("categories_") and entry.name.endswith(".toml")
    )
    return ["categories.toml", *extra]


@cache
def load_specs() -> tuple[CalculatorSpec, ...]:
    """Parse the tables once; the result is immutable."""
    package = resources.files(__package__)
    tables = [tomllib.loads(package.joinpath(name).read_text(encoding="utf-8")) for name in _table_names()]
    defaults = tables[0].get("defaults", {})
    rows = [row for table in tables for row in table.get("category", [])]
    specs = []
    for row in rows:
        specs.append(
            CalculatorSpec(
                name=row["name"],
                official_id=int(row["official_id"]),
                official_name=row["official_name"],
                answer_type=AnswerType(row["answer_type"]),
                function=_resolve_function(row["function"]),
                params=dict(row["params"]),
                ranges={k: (float(v[0]), float(v[1])) for k, v in row.get("ranges", {}).items()},
                question=row["question"],
                theme=row.get("theme", "general"),
                tolerance=float(row.get("tolerance", defaults.get("tolerance", 0.05))),
                counts=dict(row.get("counts", defaults.get("counts", {"train": 100, "test": 20}))),
                full_counts=dict(row.get("full", defaults.get("full", {}))),
                generator=row.get("generator", ""),
            )
        )
    names = [spec.name for spec in specs]
    ids = [spec.official_id for spec in specs]
    if len(set(names)) != len(names) or len(set(ids)) != len(ids):
        raise ValueError("medcalcbench category tables repeat a category name or an official id")
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
