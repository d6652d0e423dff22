"""Shared fixtures for dataset tests: per EHR dataset, its view built once into the session's
world cache (``<name>_cache``) and, per test, the cache selected with the view's path
(``<name>_env``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medagentgym.catalog import get_dataset


def _view_fixtures(name: str) -> tuple[Callable[..., Iterator[Path]], Callable[..., Path]]:
    """The pair of fixtures of one EHR dataset (same shape for every view of the world)."""

    def cache(world_cache: Path) -> Iterator[Path]:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MEDAGENTGYM_CACHE", str(world_cache))
            get_dataset(name).build()
        yield world_cache

    def env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
        built = request.getfixturevalue(f"{name}_cache")
        monkeypatch.setenv("MEDAGENTGYM_CACHE", str(built))
        return get_dataset(name).db_path()

    cache.__doc__ = f"The session's world cache with the {name} view built (once per session)."
    env.__doc__ = f"Select the {name} cache for one test; returns the view's path."
    return pytest.fixture(scope="session", name=f"{name}_cache")(cache), pytest.fixture(name=f"{name}_env")(env)


mimic_iii_cache, mimic_iii_env = _view_fixtures("mimic_iii")
treqs_cache, treqs_env = _view_fixtures("treqs")
eicu_cache, eicu_env = _view_fixtures("eicu")
