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


_OPEN_PROBE = """
import sqlite3
def _medagentgym_can_open(path):
    try:
        with open(path, 'rb') as handle:
            handle.read(1)
    except OSError:
        return False
    if path.endswith('.sqlite'):
        try:
            sqlite3.connect(f'file:{path}?mode=ro', uri=True).execute('select count(*) from sqlite_master').fetchone()
        except sqlite3.Error:
            return False
    return True
"""


@pytest.fixture
def can_open(sandbox_server) -> Callable[..., list[bool]]:  # type: ignore[no-untyped-def]
    """``can_open(resources, *paths)``: whether a sandbox session given ``resources`` can read each
    path (and query it, for a ``.sqlite`` file). Hidden files must come back False."""

    def probe(resources, *paths: object) -> list[bool]:  # type: ignore[no-untyped-def]
        code = _OPEN_PROBE + f"[_medagentgym_can_open(p) for p in {[str(p) for p in paths]!r}]"
        with sandbox_server.open_session(tuple(resources)) as session:
            result = session.run_python(code, timeout_s=30)
        assert result.status == "ok", result
        return [flag == "True" for flag in result.value_repr.strip("[]").split(", ")]

    return probe
