"""Level detection, degradation, the check/exec entry points, and what a hardened session can still do."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.sandbox import SandboxError, SandboxLimits, SandboxServer
from medagentgym.sandbox.check import exec_snippet, sandbox_check
from medagentgym.sandbox.hardening import prepare_layers
from medagentgym.sandbox.landlock import (
    NET_CONNECT_TCP,
    SCOPE_SIGNAL,
    LandlockPlan,
    abi_version,
)

LINUX = sys.platform.startswith("linux")
ABI = abi_version()
WEAK = ("pdeathsig", "stdin_null", "close_fds", "scrub_env", "rlimits")


@pytest.mark.skipif(not LINUX, reason="the level can only be asserted on Linux")
def test_level_does_not_silently_degrade() -> None:
    """CI on the reference machine kind (Landlock ABI >= 4) must reach level (i)."""
    prepared = prepare_layers()
    if ABI >= 4:
        assert prepared.skipped == {}, prepared.skipped
        assert prepared.level == "landlock+seccomp"
    else:
        assert prepared.level != "none"


@pytest.mark.skipif(not LINUX or ABI < 4, reason="asserts level (i) (Linux, Landlock ABI >= 4)")
def test_sandbox_check_reports_level_i_and_passes_its_self_test() -> None:
    report = sandbox_check()
    assert report.level == "landlock+seccomp"
    assert report.strong and report.ok, report.render()
    assert report.landlock_abi == ABI
    assert [layer.name for layer in report.layers if not layer.applied] == []
    assert {test.name for test in report.self_tests} >= {"no network socket", "no new process", "server survived"}
    text = report.render()
    assert "level: landlock+seccomp" in text and "result: OK" in text


def test_exec_snippet_returns_a_result() -> None:
    result = exec_snippet("print('hi')\n6 * 7")
    assert result.status == "ok", result.error
    assert result.stdout == "hi\n" and result.value_repr == "42"
    assert result.duration_s > 0 and not result.truncated
    failing = exec_snippet("1 / 0")
    assert failing.status == "error" and failing.error is not None and "ZeroDivisionError" in failing.error


def test_rlimits_only_is_refused_without_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDAGENTGYM_SANDBOX_ALLOW_INSECURE", raising=False)
    with pytest.raises(SandboxError, match="refusing to run agent code at isolation level 'rlimits'"):
        SandboxServer(layers=WEAK).start()
    with pytest.warns(RuntimeWarning, match="SANDBOX DEGRADED"), SandboxServer(
        layers=WEAK, allow_insecure=True
    ) as srv:
        assert srv.level == "rlimits"
        with srv.open_session() as s:
            assert s.run_python("1 + 1").value_repr == "2"


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux-only")
def test_rlimits_plus_seccomp_warns_loudly() -> None:
    with pytest.warns(RuntimeWarning, match="'rlimits\\+seccomp'"), SandboxServer(
        layers=(*WEAK, "caps", "no_new_privs", "seccomp")
    ) as srv:
        assert srv.level == "rlimits+seccomp"
        with srv.open_session() as s:
            code = "import os\ndef f():\n    try:\n        os.fork()\n    except OSError as e:\n        return e.errno\nf()"
            result = s.run_python(code)
            assert result.value_repr == "1"  # EPERM: seccomp alone still stops processes


@pytest.mark.skipif(ABI < 1, reason="no Landlock on this kernel")
def test_landlock_plan_allows_little() -> None:
    from medagentgym.sandbox.hardening import DEVICES, SYSTEM_READ_ONLY, python_read_only_paths

    plan = LandlockPlan.build(ABI, (*SYSTEM_READ_ONLY, *python_read_only_paths()), DEVICES)
    paths = {rule.path for rule in plan.rules}
    assert "/usr" in paths and "/dev/null" in paths
    assert not paths & {"/", "/etc", "/root", "/home", "/tmp", "/var", "/proc", "/dev"}
    assert all(Path(path).exists() for path in paths)
    assert bool(plan.handled_access_net & NET_CONNECT_TCP) == (ABI >= 4)
    assert bool(plan.scoped & SCOPE_SIGNAL) == (ABI >= 6)


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux-only")
def test_seccomp_program_is_built_once_as_bpf() -> None:
    pytest.importorskip("pyseccomp")
    from medagentgym.sandbox.seccomp import build_program

    program = build_program()
    assert program.bpf and len(program.bpf) % 8 == 0
    assert {"socket", "fork", "vfork", "ptrace", "unshare", "bpf", "io_uring_setup", "clone3"} <= set(
        program.rules
    )
    assert "clone(!CLONE_THREAD)" in program.rules


# -- what a hardened session must still be able to do ------------------------------------------


@pytest.fixture(scope="module")
def hardened() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxLimits(timeout_s=30.0)) as srv:
        yield srv


def test_session_can_still_do_its_work(hardened: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    import sqlite3

    from medagentgym.catalog.sample import Resource

    db = tmp_path_factory.mktemp("db") / "data.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    con.commit()
    con.close()
    with hardened.open_session([Resource(kind="sqlite", name="d", path=str(db))]) as s:
        code = (
            "import statistics, zoneinfo, datetime, os, threading, tempfile\n"
            "import scipy.optimize\n"
            "pd.DataFrame({'a': [1, 2, 3]}).to_csv('f.csv', index=False)\n"
            "frame = pd.read_csv('f.csv')\n"
            "con = sqlite3.connect(f\"file:{DATABASES['d']}?mode=ro\", uri=True)\n"
            "rows = con.execute('SELECT SUM(x) FROM t').fetchone()[0]\n"
            "tz = datetime.datetime(2024, 1, 1, 12, tzinfo=zoneinfo.ZoneInfo('Europe/Paris')).utcoffset()\n"
            "root = scipy.optimize.brentq(lambda x: x * x - 4, 0, 5)\n"
            "with tempfile.NamedTemporaryFile() as tmp:\n"
            "    in_scratch = tmp.name.startswith(os.getcwd())\n"
            "(int(frame.a.sum()), rows, tz.total_seconds(), round(root, 6), len(os.urandom(8)),\n"
            " statistics.median([3, 1, 2]), in_scratch, int(np.arange(10).sum()))"
        )
        result = s.run_python(code)
        assert result.status == "ok", result.error
        assert result.value_repr == "(6, 10, 3600.0, 2.0, 8, 2, True, 45)"
