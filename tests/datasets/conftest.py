"""Shared fixtures for dataset tests. Each dataset adds only its own, clearly prefixed fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# --------------------------------------------------------------------------- mimic_iii


@pytest.fixture(scope="session")
def mimic_iii_cache(world_cache: Path) -> Iterator[Path]:
    """The shared world cache with the MIMIC-III view built, once per test session."""
    cache = world_cache
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


# --------------------------------------------------------------------------- treqs


@pytest.fixture(scope="session")
def treqs_cache(world_cache: Path) -> Iterator[Path]:
    """The shared world cache with the treqs view built, once per test session."""
    cache = world_cache
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(cache))
        from medagentgym.datasets.treqs import DATASET

        DATASET.build()
    yield cache


@pytest.fixture
def treqs_env(treqs_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MEDAGENTGYM_CACHE at the session's treqs cache for one test; returns the view's path."""
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(treqs_cache))
    from medagentgym.datasets.treqs import DATASET

    return DATASET.db_path()


# --------------------------------------------------------------------------- eicu


@pytest.fixture(scope="session")
def eicu_cache(world_cache: Path) -> Iterator[Path]:
    """The shared world cache with the eicu view built, once per test session."""
    cache = world_cache
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(cache))
        from medagentgym.datasets.eicu import DATASET

        DATASET.build()
    yield cache


@pytest.fixture
def eicu_env(eicu_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MEDAGENTGYM_CACHE at the session's eicu cache for one test; returns the view's path."""
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(eicu_cache))
    from medagentgym.datasets.eicu import DATASET

    return DATASET.db_path()
