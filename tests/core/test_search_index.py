"""Database inspectors shared by every env of a process (env/inspect.py's ``InspectorCache``):
one build per database, a changed file or a starved build never reaches the next episode."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from medagentgym.catalog import AnswerType, Resource, Sample, Solution, Target
from medagentgym.env import inspect as inspection
from medagentgym.env.actions import tool_schemas
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.env.inspect import DatabaseInspector, InspectorCache, ResourceInspector


def _db(path: Path, drugs: list[str]) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("create table rx (id integer, drug text)")
    conn.executemany("insert into rx values (?, ?)", list(enumerate(drugs)))
    conn.commit()
    conn.close()
    return path


def _sample(path: Path) -> Sample:
    return Sample(
        id="toy/rx/test/0/0",
        dataset="toy",
        category="rx",
        split="test",
        index=0,
        seed=0,
        prompt="How many prescriptions?",
        resources=(Resource(kind="sqlite", name="toy", path=str(path)),),
        target=Target(answer_type=AnswerType.INTEGER, value=2),
        solution=Solution(code="answer = 2"),
    )


def _rows(listing: str) -> str:
    """The row count of the one table in a ``list_tables`` listing."""
    return listing.splitlines()[2].split("|")[-1].strip()


def _act(env: MedAgentEnv, **action: object) -> str:
    observation, *_ = env.step(json.dumps(action))
    return observation


def test_one_inspector_per_database_for_every_env(tmp_path: Path) -> None:
    cache = InspectorCache()
    db = _db(tmp_path / "a.sqlite", ["furosemide", "heparin"])
    first = ResourceInspector((Resource(kind="sqlite", name="a", path=str(db)),), cache).database(None)
    second = ResourceInspector((Resource(kind="sqlite", name="a", path=str(db)),), cache).database(None)
    assert first is second and len(cache) == 1
    assert "furosemide" in first.search("furosemid", 3)


def test_a_changed_file_gets_a_new_inspector(tmp_path: Path) -> None:
    cache = InspectorCache()
    db = _db(tmp_path / "a.sqlite", ["furosemide"])
    old = cache.get(db)
    assert "furosemide" in old.search("furosemide", 3) and _rows(old.list_tables()) == "1"
    os.remove(db)  # the attack: another database at the same path between two episodes
    _db(db, ["warfarin", "warfarin sodium", "aspirin"])
    new = cache.get(db)
    assert new is not old
    assert "warfarin" in new.search("warfarin", 3) and "furosemide" not in new.search("furosemide", 3)
    assert _rows(new.list_tables()) == "3"


def test_a_starved_build_is_not_handed_to_the_next_episode(tmp_path: Path) -> None:
    cache = InspectorCache()
    db = _db(tmp_path / "a.sqlite", ["furosemide"])
    starved = cache.get(db, time_limit_s=0.0)
    assert "?" in starved.list_tables() and starved.incomplete
    assert cache.get(db, time_limit_s=0.0) is not starved  # tried again, not kept
    normal = cache.get(db, time_limit_s=5.0)
    assert "furosemide" in normal.search("furosemide", 3) and "?" not in normal.list_tables()
    assert cache.get(db, time_limit_s=5.0) is normal


def test_the_cache_is_bounded_and_a_missing_file_is_not_kept(tmp_path: Path) -> None:
    cache = InspectorCache(max_entries=2)
    paths = [_db(tmp_path / f"{i}.sqlite", ["x"]) for i in range(3)]
    for path in paths:
        cache.get(path)
    assert len(cache) == 2
    gone = cache.get(tmp_path / "missing.sqlite")
    assert cache.get(tmp_path / "missing.sqlite") is not gone  # no stamp: never reused


def test_concurrent_first_searches_build_once_and_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _db(tmp_path / "a.sqlite", [f"drug {i}" for i in range(2_000)] + ["furosemide"])
    inspector = DatabaseInspector(db)
    builds = 0
    original = DatabaseInspector._read_vocabulary

    def counted(self: DatabaseInspector) -> list[tuple[str, str, str]]:
        nonlocal builds
        builds += 1
        return original(self)

    monkeypatch.setattr(DatabaseInspector, "_read_vocabulary", counted)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(inspector.search("furosemide", 5))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == 1 and len(set(results)) == 1 and "furosemide" in results[0]


def test_search_finds_the_same_values_in_the_same_order_as_a_full_scan(tmp_path: Path) -> None:
    from rapidfuzz import fuzz

    values = ["furosemide", "furosemide 20mg", "Furosemide", "heparin", "heparin sodium", "aspirin", "x", "a b c"]
    values += [f"value {i} furo" for i in range(50)]
    db = _db(tmp_path / "a.sqlite", values)
    inspector = DatabaseInspector(db)
    for term in ("furosemide", "hep", "x", "   ", "zzz", "value 1"):
        for limit in (1, 3, 10):
            text = inspector.search(term, limit)
            choices = inspector._choices
            ranked = sorted(range(len(choices)), key=lambda i: (-fuzz.WRatio(term.lower(), choices[i]), i))[:limit]
            expected = [inspector._vocabulary[i][0] for i in ranked]
            shown = [line.split("|")[0].strip() for line in text.splitlines()[2:] if "|" in line]
            assert shown == expected[: len(shown)] and len(shown) == len(expected), (term, limit)


def test_envs_share_inspectors_unless_told_not_to(tmp_path: Path) -> None:
    sample = _sample(_db(tmp_path / "a.sqlite", ["furosemide", "heparin"]))
    inspection.shared_inspectors().clear()
    envs = [MedAgentEnv(config=EnvConfig()) for _ in range(2)] + [MedAgentEnv(config=EnvConfig(shared_indexes=False))]
    try:
        for env in envs:
            env.reset(options={"sample": sample})
            assert "furosemide" in _act(env, action="search", term="furosemide")
        shared = [env._inspector.database(None) for env in envs]
        assert shared[0] is shared[1] and shared[2] is not shared[0]
        assert _act(envs[0], action="describe_table", table='rx"; drop table rx; --').startswith("Error: No table")
        assert "2 rows" in _act(envs[1], action="describe_table", table="rx")  # the next env is unaffected
    finally:
        for env in envs:
            env.close()


def test_performance_knobs_stay_out_of_a_runs_identity() -> None:
    dumped = EnvConfig(warm_sessions=4, shared_indexes=False).model_dump()
    assert "warm_sessions" not in dumped and "shared_indexes" not in dumped
    assert dumped == EnvConfig().model_dump()


def test_tool_schemas_are_built_once_and_each_caller_gets_a_copy() -> None:
    first = tool_schemas()
    first[0]["function"]["name"] = "tampered"
    assert tool_schemas()[0]["function"]["name"] != "tampered"
    assert tool_schemas(include_fhir=True) != tool_schemas()


def test_warm_sessions_are_asked_once_per_server_and_a_failing_pool_is_harmless() -> None:
    from medagentgym.env.warm import ask_warm_sessions

    class Pool:
        def __init__(self, fail: bool = False) -> None:
            self.calls: list[tuple[tuple[Resource, ...], int]] = []
            self.fail = fail

        def prewarm(self, resources: tuple[Resource, ...] = (), limits: object = None, n: int | None = None) -> int:
            self.calls.append((resources, n or 0))
            if self.fail:
                raise OSError("no room for another session")
            return n or 0

    db = (Resource(kind="sqlite", name="a", path="/nonexistent/a.sqlite"),)
    pool = Pool()
    assert all(ask_warm_sessions(pool, db, 2) for _ in range(3)) and pool.calls == [(db, 2)]
    assert ask_warm_sessions(pool, (), 2) and len(pool.calls) == 2
    broken = Pool(fail=True)
    assert not ask_warm_sessions(broken, db, 2) and not ask_warm_sessions(broken, db, 2)
    assert len(broken.calls) == 2  # a failure is not remembered: the next reset asks again
    assert not ask_warm_sessions(object(), db, 2) and not ask_warm_sessions(pool, db, 0)
