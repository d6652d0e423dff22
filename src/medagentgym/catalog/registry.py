"""Finding datasets without naming them.

Built-in datasets are the subpackages of ``medagentgym.datasets`` that expose a module-level
``DATASET``; third-party datasets register through the ``medagentgym.datasets`` entry-point group.
Adding a dataset therefore means adding a package, never editing a list or an if/elif.
"""

from __future__ import annotations

import importlib
import pkgutil
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


def get_dataset(name: str) -> Dataset:
    datasets = _discover()
    if name not in datasets:
        known = ", ".join(datasets) or "none"
        raise UnknownDatasetError(f"unknown dataset {name!r} (known: {known})")
    return datasets[name]
