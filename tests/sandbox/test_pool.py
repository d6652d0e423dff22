"""The warm pool: pre-forked, hardened sessions handed out once, never carrying an episode's state."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.catalog.sample import Resource
from medagentgym.sandbox import SandboxLimits, SandboxServer
from medagentgym.sandbox.pool import WarmPool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the hardened server is Linux-only")

FAST = SandboxLimits(timeout_s=5.0, hard_grace_s=1.0)


def _wait(predicate, timeout_s: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture(scope="module")
def pooled() -> Iterator[SandboxServer]:
    with SandboxServer(FAST, warm_sessions=2) as srv:
        yield srv


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pooldb") / "ehr.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    connection.commit()
    connection.close()
    return path


def _ready(server: SandboxServer, resources: tuple[Resource, ...] = (), limits: SandboxLimits = FAST) -> int:
    from medagentgym.sandbox.client import _pool_key

    return server._pool.ready(_pool_key(resources, limits)[0])


# A previous episode leaves everything it can behind: variables, a module of its own, files in
# scratch, environment, working dir, an imported module patched, a thread still running.
LEAVE_STATE = (
    "import os, sys, threading, time, types\n"
    "secret = 'episode-1'\n"
    "open('left.txt', 'w').write('x')\n"
    "os.mkdir('sub'); os.chdir('sub')\n"
    "os.environ['LEFT'] = '1'\n"
    "sys.modules['planted'] = types.ModuleType('planted')\n"
    "import statistics; statistics.mean = lambda *a: 'poisoned'\n"
    "threading.Thread(target=lambda: time.sleep(60), daemon=True).start()\n"
)
CHECK_STATE = (
    "import os, sys, statistics, threading\n"
    "('secret' in globals(), sorted(os.listdir(os.environ['HOME'])), os.getcwd() == os.environ['HOME'],\n"
    " 'LEFT' in os.environ, 'planted' in sys.modules, statistics.mean([1]), threading.active_count())"
)
CLEAN = (False, [], True, False, False, 1, 1)


def test_state_of_one_episode_is_never_visible_to_the_next(pooled: SandboxServer) -> None:
    pooled.prewarm(n=2)
    seen = set()
    for _ in range(4):  # warm ones, and ones started while the pool refills
        with pooled.open_session() as s:
            seen.add(s.pid)
            assert eval(s.run_python(CHECK_STATE).value_repr or "") == CLEAN  # noqa: S307
            assert s.run_python(LEAVE_STATE).status == "ok"
            assert eval(s.run_python(CHECK_STATE).value_repr or "")[0] is True  # noqa: S307 - it did leave state
    assert len(seen) == 4  # a process is never handed out twice


def test_prewarm_fills_and_open_takes_a_ready_session(pooled: SandboxServer, database: Path) -> None:
    resources = (Resource(kind="sqlite", name="ehr", path=str(database)),)
    assert pooled.prewarm(resources, n=2) == 2
    assert _ready(pooled, resources) == 2
    waiting = [child.pid for child in pooled._pool._stocks[next(reversed(pooled._pool._stocks))].ready]
    with pooled.open_session(resources) as s:
        assert s.pid in waiting  # taken from the pool, not started
        assert s.run_sql("SELECT COUNT(*) AS n FROM t").stdout.count("10") == 1
    assert _wait(lambda: _ready(pooled, resources) == 2)  # refilled in the background
    with pooled.open_session() as other:  # another key never gets these
        assert other.pid not in waiting


def test_a_pooled_session_killed_while_waiting_is_never_handed_out(pooled: SandboxServer) -> None:
    limits = SandboxLimits(timeout_s=4.0, hard_grace_s=1.0)  # a key of its own
    assert pooled.prewarm(limits=limits, n=2) == 2
    stock = pooled._pool._stocks[next(reversed(pooled._pool._stocks))]
    victims = [child.pid for child in stock.ready]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: all(child.exited() for child in list(stock.ready) if child.pid in victims))
    with pooled.open_session(limits=limits) as s:
        assert s.pid not in victims
        assert s.run_python("1 + 1").value_repr == "2"


def test_a_garbled_pooled_session_is_discarded(pooled: SandboxServer) -> None:
    limits = SandboxLimits(timeout_s=3.0, hard_grace_s=1.0)
    assert pooled.prewarm(limits=limits, n=1) == 1
    stock = pooled._pool._stocks[next(reversed(pooled._pool._stocks))]
    child = stock.ready[0]
    child.sock.shutdown(1)  # the session sees EOF and exits: its socket turns readable
    assert _wait(lambda: not child.usable())
    with pooled.open_session(limits=limits) as s:
        assert s.pid != child.pid
        assert s.run_python("2 * 3").value_repr == "6"


def test_many_threads_opening_at_once_get_distinct_working_sessions(pooled: SandboxServer) -> None:
    pooled.prewarm(n=2)
    results: list[tuple[int, str | None]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def episode(i: int) -> None:
        try:
            with pooled.open_session() as s:
                value = s.run_python(f"x = {i}\nx * 2").value_repr
                with lock:
                    results.append((s.pid, value))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=episode, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sorted(v for _, v in results) == sorted(str(2 * i) for i in range(12))
    assert len({pid for pid, _ in results}) == 12


def test_closing_the_server_while_the_refiller_runs_leaves_nothing() -> None:
    srv = SandboxServer(FAST, warm_sessions=4)
    srv.start()
    root = srv._handle.root if srv._handle else None
    srv.open_session().close()
    srv.open_session().close()  # seen twice: the refiller starts filling 4 in the background
    pool = srv._pool
    time.sleep(0.05)
    pids = [child.pid for stock in pool._stocks.values() for child in stock.ready]
    srv.close()
    assert pool._thread is None or not pool._thread.is_alive()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert root is not None and not root.exists()
    with pytest.raises(Exception):
        srv.open_session()


def test_pool_off_is_todays_behaviour() -> None:
    with SandboxServer(FAST) as srv:
        assert srv.warm_sessions == 0
        with srv.open_session() as s:
            assert s.run_python("1").value_repr == "1"
        assert srv._pool._stocks == {} and srv._pool.spawned == 0
        scratch = None
        with srv.open_session() as s:
            scratch = s.scratch_dir
        assert srv.wait_teardown() and _wait(lambda: not scratch.exists(), 10)


def test_restart_after_a_crash_is_clean_with_the_pool(pooled: SandboxServer) -> None:
    with pooled.open_session() as s:
        s.run_python("kept = 1")
        result = s.run_python("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
        assert result.session_restarted
        assert s.run_python("'kept' in globals()").value_repr == "False"


def test_prewarm_refuses_bad_arguments(pooled: SandboxServer) -> None:
    with pytest.raises(ValueError):
        pooled.prewarm(n=-1)
    with pytest.raises(ValueError):
        SandboxServer(warm_sessions=-1)


def test_a_key_seen_once_keeps_one_ready_and_keys_are_bounded() -> None:
    made: list[int] = []
    gone: list[int] = []
    counter = iter(range(10_000))

    def spawn(spec: object) -> int:
        value = next(counter)
        made.append(value)
        return value

    pool: WarmPool[int] = WarmPool(3, spawn, gone.append, lambda item: True, max_keys=2)
    try:
        assert pool.take("a", None) is None
        assert _wait(lambda: pool.ready("a") == 1, 5) and len(made) == 1  # seen once: one ready
        assert pool.take("a", None) == 0
        assert _wait(lambda: pool.ready("a") == 3, 5)  # seen twice: the full size
        pool.take("b", None)
        pool.take("c", None)  # evicts "a": its ready items are discarded
        assert _wait(lambda: sorted(gone) == sorted(made[1:4]), 5)
        assert pool.ready("a") == 0
    finally:
        pool.close()
    assert pool.drain(1)


def test_a_failing_spawn_stops_the_key_until_the_next_take() -> None:
    calls: list[int] = []

    def spawn(spec: object) -> int:
        calls.append(1)
        raise RuntimeError("server gone")

    pool: WarmPool[int] = WarmPool(2, spawn, lambda item: None, lambda item: True)
    try:
        pool.take("k", None)
        pool.take("k", None)
        time.sleep(0.2)
        assert len(calls) <= 2  # no hot loop
    finally:
        pool.close()
