"""The category table (``categories.toml``): one row per function family, and the family modules
it names.

A row's module is imported only when the category is used (a sample generated), so listing the
catalog stays cheap and a family module being written does not break the others. A row whose
module is not in the package at all is left out of ``categories()`` (``present_specs``): the tree
keeps working while a family is missing, and asking for that category says which module is
missing (``MissingFamilyError``).
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from medagentgym.catalog.dataset import Category
from medagentgym.catalog.sample import AnswerType, Split
from medagentgym.datasets.biocoder.spec import FunctionTemplate

DATASET_NAME = "biocoder"
#: Share of a family's templates that must be test-only (a function asked in test is never trained on).
MIN_TEST_SHARE = 0.2


class MissingFamilyError(KeyError):
    """A category whose family module is not in the package."""

    def __str__(self) -> str:  # KeyError quotes its message
        return str(self.args[0])


class FamilyError(ValueError):
    """A family module that does not define a usable ``TEMPLATES`` (a dataset bug)."""


@dataclass(frozen=True)
class CategorySpec:
    """One row of the table."""

    name: str
    title: str
    module: str
    imports: str
    counts: dict[str, int]
    full_counts: dict[str, int]

    @property
    def module_path(self) -> str:
        return f"{__package__}.{self.module}"

    def present(self) -> bool:
        """Whether the family's module exists in the package (it is not imported here)."""
        return importlib.util.find_spec(self.module_path) is not None

    def category(self) -> Category:
        return Category(
            name=self.name,
            dataset=DATASET_NAME,
            title=self.title,
            answer_type=AnswerType.CODE_TESTS,
            counts=dict(self.counts),
            full_counts=dict(self.full_counts),
            params={"module": self.module, "mode": "function"},
        )


@cache
def load_specs() -> tuple[CategorySpec, ...]:
    """Parse the table once; repeated names or modules and unusable counts are errors."""
    table = tomllib.loads(resources.files(__package__).joinpath("categories.toml").read_text(encoding="utf-8"))
    defaults = table.get("defaults", {})
    specs = []
    for row in table.get("category", []):
        counts = {split: int(n) for split, n in row.get("counts", {}).items()}
        full = {split: int(n) for split, n in row.get("full", counts).items()}
        for split in ("train", "test"):
            if counts.get(split, 0) < 0 or full.get(split, 0) < 0:
                raise ValueError(f"biocoder category {row['name']!r}: negative count")
        specs.append(CategorySpec(
            name=row["name"],
            title=row["title"],
            module=row["module"],
            imports=row.get("imports", defaults.get("imports", "the Python standard library")),
            counts=counts,
            full_counts=full,
        ))
    for field in ("name", "module"):
        values = [getattr(spec, field) for spec in specs]
        if len(set(values)) != len(values):
            raise ValueError(f"biocoder category table repeats a {field}")
    return tuple(specs)


def present_specs() -> tuple[CategorySpec, ...]:
    """The rows whose family module is in the package."""
    return tuple(spec for spec in load_specs() if spec.present())


def spec_by_name(name: str) -> CategorySpec:
    """The row named ``name``; KeyError for an unknown category, MissingFamilyError for a row
    whose module is not in the package."""
    for spec in load_specs():
        if spec.name == name:
            if not spec.present():
                raise MissingFamilyError(
                    f"biocoder category {name!r} needs the family module {spec.module_path}, which is not installed"
                )
            return spec
    known = ", ".join(spec.name for spec in present_specs())
    raise KeyError(f"unknown biocoder category {name!r} (known: {known})")


@cache
def templates_of(category: str) -> tuple[FunctionTemplate, ...]:
    """The family's templates (its module imported now), checked by ``checked_templates``."""
    spec = spec_by_name(category)
    module = importlib.import_module(spec.module_path)
    return checked_templates(f"biocoder family {spec.module_path}", getattr(module, "TEMPLATES", None))


def checked_templates(where: str, templates: object) -> tuple[FunctionTemplate, ...]:
    """``templates`` if it is a non-empty tuple of FunctionTemplate with unique keys, both splits
    present and at least ``MIN_TEST_SHARE`` of them test-only; FamilyError otherwise."""
    if not isinstance(templates, tuple) or not templates:
        raise FamilyError(f"{where} must define TEMPLATES as a non-empty tuple")
    if not all(isinstance(t, FunctionTemplate) for t in templates):
        raise FamilyError(f"{where}: every TEMPLATES item must be a FunctionTemplate")
    keys = [t.key for t in templates]
    if len(set(keys)) != len(keys):
        raise FamilyError(f"{where} repeats a template key")
    test = sum(1 for t in templates if t.split == "test")
    if test == len(templates) or test < MIN_TEST_SHARE * len(templates):
        raise FamilyError(f"{where}: {test} of {len(templates)} templates are test-only; train needs some and test"
                          f" at least {MIN_TEST_SHARE:.0%}")
    return templates


def templates_in(category: str, split: Split) -> tuple[FunctionTemplate, ...]:
    return tuple(t for t in templates_of(category) if t.split == split)
