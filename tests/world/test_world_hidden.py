"""The world file holds the latent state and outcome labels: agent code must never reach it."""

from __future__ import annotations

from pathlib import Path

import pytest

from medagentgym.catalog import Resource
from medagentgym.world import build_world, view_path


@pytest.fixture
def paths(world_cache: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(world_cache))
    from medagentgym.datasets.mimic_iii import DATASET

    DATASET.build()
    return build_world(), view_path("mimic_iii")


def test_an_episode_over_a_view_cannot_read_the_world(sandbox_server, paths: tuple[Path, Path]) -> None:
    world, view = paths
    resource = Resource(kind="sqlite", name="mimic_iii", path=str(view))
    attacks = {
        "read the file": f"open({str(world)!r}, 'rb').read(100)",
        "open it with sqlite": (
            "import sqlite3\n"
            f"sqlite3.connect('file:{world}?mode=ro', uri=True).execute('select * from outcomes').fetchall()"
        ),
        "attach it to the view": (
            "import sqlite3\n"
            "c = sqlite3.connect(DATABASES['mimic_iii'])\n"
            f"c.execute(\"attach database '{world}' as w\")\n"
            "c.execute('select count(*) from w.latent').fetchall()"
        ),
        "list the cache": f"import os; os.listdir({str(world.parent)!r})",
    }
    with sandbox_server.open_session((resource,)) as session:
        for name, code in attacks.items():
            result = session.run_python(code)
            assert result.status == "error", (name, result)
            assert "severity" not in (result.stdout + result.stderr) and "died_in_hospital" not in (result.stdout + result.stderr)
        # the view itself stays readable, and holds nothing hidden
        ok = session.run_python(
            "import sqlite3\n"
            "c = sqlite3.connect(f\"file:{DATABASES['mimic_iii']}?mode=ro\", uri=True)\n"
            "sorted(r[0] for r in c.execute(\"select name from sqlite_master where type='table'\"))"
        )
        assert ok.status == "ok" and "latent" not in ok.value_repr and "outcomes" not in ok.value_repr
    with sandbox_server.open_session((resource,)) as fresh:  # the next episode is unaffected
        assert fresh.run_python("1 + 1").value_repr == "2"
