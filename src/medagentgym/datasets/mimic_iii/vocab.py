"""Package data of the mimic_iii dataset (its category table); the world owns the vocabularies."""

from __future__ import annotations

from typing import Any

from medagentgym.world import vocab as _world_vocab

_PACKAGE = "medagentgym.datasets.mimic_iii"


def read_toml(name: str) -> dict[str, Any]:
    """A TOML file shipped with this dataset (``categories.toml``)."""
    return _world_vocab.read_toml(name, _PACKAGE)
