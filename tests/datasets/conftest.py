"""Shared fixtures for dataset tests. Each dataset adds only its own, clearly prefixed fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# --------------------------------------------------------------------------- mimic_iii


@pytest.fixture(scope="session")
def mimic_iii_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache dir holding the embedded MIMIC-III database, built once per test session."""
    cache = tmp_path_factory.mktemp("mimic_iii_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(cache))
        from medagentgym.datasets.mimic_iii import DATASET

        DATASET.build()
    yield cache


@pytest.fixture
def mimic_iii_env(mimic_iii_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MEDAGENTGYM_CACHE at the session's built cache for one test; returns the DB path."""
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(mimic_iii_cache))
    from medagentgym.datasets.mimic_iii import DATASET

    return DATASET.db_path()
