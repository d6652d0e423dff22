"""The category table (``categories.toml``) as ``TaskSpec`` and ``Category`` rows, and the label
family module each task names.

Families are modules, not classes, so the modules written by different people only share the
``examples.py`` contract; a family module that is not there yet makes its tasks unavailable
(``family_module`` raises ``FamilyMissing``) without breaking the others.
"""

from __future__ import annotations

import importlib
import tomllib
from functools import cache
from importlib import resources
from types import ModuleType
from typing import Any

from medagentgym.catalog.dataset import Category
from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.ehrshot.examples import TaskSpec

DATASET_NAME = "ehrshot"
FAMILIES = ("operational", "lab", "new_diagnosis", "imaging")
#: The module of each family (``families_<module>.py``).
FAMILY_MODULES = {"operational": "operational", "lab": "lab", "new_diagnosis": "diagnosis", "imaging": "imaging"}
#: The class columns of every lab task (label = index).
LAB_CLASSES = ("normal", "mild", "moderate", "severe")


class FamilyMissing(LookupError):
    """A task's family module is not installed (yet)."""


@cache
def _table() -> dict[str, Any]:
    return tomllib.loads(resources.files(__package__).joinpath("categories.toml").read_text(encoding="utf-8"))


@cache
def load_tasks() -> tuple[tuple[TaskSpec, Category], ...]:
    """Every task with its catalog row, in table order; unknown families, kinds or repeats are errors."""
    table = _table()
    defaults = dict(table["defaults"])
    counts = defaults.pop("counts")
    full = defaults.pop("full")
    out: list[tuple[TaskSpec, Category]] = []
    seen: set[str] = set()
    for row in table["category"]:
        row = dict(row)
        name, title, family, kind = row.pop("name"), row.pop("title"), row.pop("family"), row.pop("kind")
        if name in seen or family not in FAMILIES or kind not in ("binary", "multiclass", "multilabel"):
            raise ValueError(f"bad ehrshot category row {name!r}")
        seen.add(name)
        columns = tuple(row.pop("columns", ()))
        if kind == "binary":
            columns = ("score",)
        elif kind == "multiclass" and not columns:
            columns = LAB_CLASSES
        params = {**defaults, **row}
        spec = TaskSpec(name=name, family=family, kind=kind, columns=columns, params=params)
        category = Category(
            name=name,
            dataset=DATASET_NAME,
            title=title,
            answer_type=AnswerType.PREDICTIONS,
            counts=dict(row.get("counts", counts)),
            full_counts=dict(row.get("full", full)),
            params={"family": family, "kind": kind, "columns": list(columns), **params},
        )
        out.append((spec, category))
    return tuple(out)


def task_spec(name: str) -> TaskSpec:
    for spec, _ in load_tasks():
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s, _ in load_tasks())
    raise KeyError(f"unknown ehrshot category {name!r} (known: {known})")


def family_module(family: str) -> ModuleType:
    """The module labelling a family's tasks; ``FamilyMissing`` when it is not there."""
    module_name = f"{__package__}.families_{FAMILY_MODULES[family]}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise FamilyMissing(f"ehrshot family {family!r} ({module_name}) is not installed") from error
        raise


def family_available(family: str) -> bool:
    try:
        family_module(family)
    except FamilyMissing:
        return False
    return True
