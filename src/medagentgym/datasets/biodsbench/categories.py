"""The category table (``categories.toml``) loaded into specs and ``Category`` rows, and the
registry of question families the rows name."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from medagentgym.catalog.dataset import Category
from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.biodsbench.clinical import ClinicalCrosstab, TreatmentDuration
from medagentgym.datasets.biodsbench.genomics import (
    CoOccurrence,
    CopyNumberBySubtype,
    CopyNumberFrequency,
    FusionPartners,
    MutationFrequency,
    Oncoprint,
    TmbComparison,
    TopGenes,
    VariantClasses,
)
from medagentgym.datasets.biodsbench.questions import Family
from medagentgym.datasets.biodsbench.survival import (
    CoxHazard,
    KaplanMeier,
    LogRank,
    MedianSurvival,
)

DATASET_NAME = "biodsbench"

FAMILIES: dict[str, Family] = {
    family.key: family
    for family in (
        KaplanMeier(),
        MedianSurvival(),
        LogRank(),
        CoxHazard(),
        MutationFrequency(),
        TopGenes(),
        VariantClasses(),
        CopyNumberFrequency(),
        CopyNumberBySubtype(),
        CoOccurrence(),
        ClinicalCrosstab(),
        TmbComparison(),
        Oncoprint(),
        FusionPartners(),
        TreatmentDuration(),
    )
}


@dataclass(frozen=True)
class CategorySpec:
    name: str
    title: str
    family: Family
    counts: dict[str, int]
    full_counts: dict[str, int]

    def category(self) -> Category:
        return Category(
            name=self.name,
            dataset=DATASET_NAME,
            title=self.title,
            answer_type=AnswerType.CODE_TESTS,
            counts=dict(self.counts),
            full_counts=dict(self.full_counts),
            params={"family": self.family.key, "mode": "namespace"},
        )


@cache
def load_specs() -> tuple[CategorySpec, ...]:
    """Parse the table once; unknown families and repeated names are errors."""
    table = tomllib.loads(resources.files(__package__).joinpath("categories.toml").read_text(encoding="utf-8"))
    defaults = table.get("defaults", {})
    specs = []
    for row in table.get("category", []):
        if row["family"] not in FAMILIES:
            raise ValueError(f"biodsbench category {row['name']!r} names unknown family {row['family']!r}")
        specs.append(
            CategorySpec(
                name=row["name"],
                title=row["title"],
                family=FAMILIES[row["family"]],
                counts=dict(row.get("counts", defaults.get("counts", {"train": 5, "test": 5}))),
                full_counts=dict(row.get("full", defaults.get("full", {}))),
            )
        )
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError("biodsbench category table repeats a name")
    return tuple(specs)


def spec_by_name(name: str) -> CategorySpec:
    for spec in load_specs():
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in load_specs())
    raise KeyError(f"unknown biodsbench category {name!r} (known: {known})")
