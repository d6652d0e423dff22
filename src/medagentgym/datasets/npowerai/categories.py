"""The category table (``categories.toml``) loaded into specs and ``Category`` rows, and the
registry of test types the rows name."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from medagentgym.catalog.dataset import Category
from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.npowerai.design import TestType
from medagentgym.datasets.npowerai.design_counts import (
    ChiSquareGoodnessOfFit,
    ChiSquareIndependence,
    CorrelationTest,
    TwoProportions,
)
from medagentgym.datasets.npowerai.design_means import (
    OneSampleT,
    OneWayAnova,
    PairedT,
    TwoSampleT,
    UnequalAllocationT,
)
from medagentgym.datasets.npowerai.design_survival import CoxFreedman, LogRankEvents

DATASET_NAME = "npowerai"
POWER_REL_TOL = 0.01  # power answers are scored within 1% relative

TEST_TYPES: dict[str, TestType] = {
    test.key: test
    for test in (
        OneSampleT(),
        PairedT(),
        TwoSampleT(),
        UnequalAllocationT(),
        OneWayAnova(),
        ChiSquareIndependence(),
        ChiSquareGoodnessOfFit(),
        TwoProportions(),
        CorrelationTest(),
        CoxFreedman(),
        LogRankEvents(),
    )
}


@dataclass(frozen=True)
class CategorySpec:
    """One row of the table, with its test type resolved."""

    name: str
    title: str
    test: TestType
    asks: Literal["size", "power"]
    official: str
    counts: dict[str, int]
    full_counts: dict[str, int]

    @property
    def answer_type(self) -> AnswerType:
        return AnswerType.INTEGER if self.asks == "size" else AnswerType.NUMBER

    def category(self) -> Category:
        return Category(
            name=self.name,
            dataset=DATASET_NAME,
            title=self.title,
            answer_type=self.answer_type,
            counts=dict(self.counts),
            full_counts=dict(self.full_counts),
            params={
                "test": self.test.key,
                "method": self.test.method,
                "asks": self.asks,
                "official_task_type": self.official,
                "rel_tol": POWER_REL_TOL if self.asks == "power" else 0.0,
            },
        )


@cache
def load_specs() -> tuple[CategorySpec, ...]:
    """Parse the table once; unknown test types, bad ``asks`` and repeated names are errors."""
    table = tomllib.loads(resources.files(__package__).joinpath("categories.toml").read_text(encoding="utf-8"))
    defaults = table.get("defaults", {})
    specs = []
    for row in table.get("category", []):
        if row["test"] not in TEST_TYPES:
            raise ValueError(f"npowerai category {row['name']!r} names unknown test type {row['test']!r}")
        if row["asks"] not in ("size", "power"):
            raise ValueError(f"npowerai category {row['name']!r}: asks must be 'size' or 'power'")
        specs.append(
            CategorySpec(
                name=row["name"],
                title=row["title"],
                test=TEST_TYPES[row["test"]],
                asks=row["asks"],
                official=row.get("official", ""),
                counts=dict(row.get("counts", defaults.get("counts", {"train": 80, "test": 20}))),
                full_counts=dict(row.get("full", defaults.get("full", {}))),
            )
        )
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError("npowerai category table repeats a name")
    return tuple(specs)


def spec_by_name(name: str) -> CategorySpec:
    for spec in load_specs():
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in load_specs())
    raise KeyError(f"unknown npowerai category {name!r} (known: {known})")


def spec_for_official(task_type: str, asks: str) -> CategorySpec | None:
    """The category answering an official row's (task_type, estimate_target)."""
    for spec in load_specs():
        if spec.official and spec.official == task_type and spec.asks == asks:
            return spec
    return None
