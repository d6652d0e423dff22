"""Finding datasets without naming them.

Built-in datasets are the subpackages of ``medagentgym.datasets`` that expose a module-level
``DATASET``; third-party datasets register through the ``medagentgym.datasets`` entry-point group.
Adding a dataset therefore means adding a package, never editing a list or an if/elif.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points

from medagentgym.catalog.dataset import Dataset

ENTRY_POINT_GROUP = "medagentgym.datasets"


class UnknownDatasetError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; this reads better in the CLI
        return str(self.args[0])


@cache
def _discover() -> dict[str, Dataset]:
    import medagentgym.datasets as builtin

    found: dict[str, Dataset] = {}
    for module_info in pkgutil.iter_modules(builtin.__path__):
        module = importlib.import_module(f"{builtin.__name__}.{module_info.name}")
        dataset = getattr(module, "DATASET", None)
        if isinstance(dataset, Dataset):
            found[dataset.name] = dataset
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        dataset = entry.load()
        if isinstance(dataset, Dataset) and dataset.name not in found:
            found[dataset.name] = dataset
    return dict(sorted(found.items()))


def dataset_names() -> list[str]:
    return list(_discover())


def all_datasets() -> list[Dataset]:
    return list(_discover().values())


def close_names(name: str, known: Iterable[str]) -> list[str]:
    """Up to three known names close to ``name``, closest first (what a typo probably meant)."""
    return difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """"; did you mean 'bmi'?" when ``name`` is close to a known name, else "".

    Typos are the usual reason a name is unknown, so every unknown-name error ends with the
    closest known names instead of leaving the user to read the whole list."""
    close = close_names(name, known)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def get_dataset(name: str) -> Dataset:
    datasets = _discover()
    if name not in datasets:
        known = ", ".join(datasets) or "none"
        raise UnknownDatasetError(f"unknown dataset {name!r} (known: {known}{did_you_mean(name, datasets)})")
    return datasets[name]
