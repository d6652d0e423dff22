"""Level (ii): the fork-server inside bubblewrap, chosen when Landlock is missing.

The attack suite runs at this level too (tests/sandbox/test_adversarial.py is parametrized over
levels); here: detection, the command line, degradation when bwrap cannot run, resource
visibility and the check report.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from medagentgym.catalog.sample import Resource
from medagentgym.sandbox import SandboxError, SandboxLimits, SandboxServer
from medagentgym.sandbox import bwrap as bubblewrap
from medagentgym.sandbox import client as client_module
from medagentgym.sandbox.hardening import BWRAP_LAYERS, DEFAULT_LAYERS, SYSTEM_READ_ONLY

LINUX = sys.platform.startswith("linux")
FOUND, WHY = bubblewrap.find() if LINUX else (None, "Linux-only")
needs_bwrap = pytest.mark.skipif(FOUND is None, reason=f"bubblewrap cannot run here: {WHY}")
LIMITS = SandboxLimits(timeout_s=10.0)


def test_level_ii_layers_replace_landlock_by_bwrap() -> None:
    assert "landlock" in DEFAULT_LAYERS and "bwrap" not in DEFAULT_LAYERS
    assert "landlock" not in BWRAP_LAYERS and "bwrap" in BWRAP_LAYERS
    assert BWRAP_LAYERS.index("scratch_quota") < BWRAP_LAYERS.index("caps") < BWRAP_LAYERS.index("seccomp")
    assert DEFAULT_LAYERS.index("scratch_quota") < DEFAULT_LAYERS.index("landlock")


def test_command_is_an_allow_list_with_every_namespace(tmp_path: Path) -> None:
    fake = bubblewrap.Bubblewrap("/opt/bwrap", "bubblewrap 0", "test")
    argv = bubblewrap.command(
        fake,
        ["python", "-m", "server"],
        system_paths=SYSTEM_READ_ONLY,
        python_paths=[sys.prefix],
        read_only=[tmp_path / "data"],
        writable=tmp_path,
    )
    assert argv[0] == "/opt/bwrap" and argv[-3:] == ["python", "-m", "server"]
    text = " ".join(argv)
    for flag in ("--unshare-user", "--unshare-net", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
                 "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop ALL",
                 "--uid 65534", "--dev /dev", "--proc /proc", "--tmpfs /tmp", "--remount-ro /"):
        assert flag in text, flag
    assert "--ro-bind / /" not in text  # not the whole file system: no /root, /home, /etc/shadow
    assert f"--bind {tmp_path} {tmp_path}" in text  # the only writable place
    assert "--ro-bind /usr /usr" in text
    assert "/etc/shadow" not in text and " /home " not in text
    # The writable root is bound after the /tmp tmpfs (it lies under /tmp), the remounts last.
    assert text.index("--tmpfs /tmp") < text.index(f"--bind {tmp_path}") < text.index("--remount-ro /tmp")


@needs_bwrap
def test_level_ii_is_chosen_when_landlock_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "abi_version", lambda: 0)
    with SandboxServer(LIMITS) as srv:
        assert srv.level == "seccomp+bwrap"
        assert "bwrap" in srv.layers and "landlock" not in srv.layers
        assert srv.bwrap is not None and srv.pid != srv.sandbox_pid  # its own PID namespace
        with srv.open_session() as s:
            result = s.run_python(
                "import os\n(os.getuid(), sorted(os.listdir('/sys/class/net')) if os.path.isdir('/sys/class/net') else [],"
                " open('/proc/self/status').read().count('CapEff:\\t0000000000000000'))"
            )
            assert result.status == "ok", result.error
            uid, _, caps_clear = eval(result.value_repr or "")  # noqa: S307
            assert uid == bubblewrap.SANDBOX_UID and caps_clear == 1
            assert s.pid != s.sandbox_pid


def test_unusable_bwrap_degrades_to_level_iii_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    if not LINUX:
        pytest.skip("seccomp is Linux-only")
    monkeypatch.setattr(bubblewrap, "find", lambda: (None, "user namespaces are disabled (test)"))
    with pytest.warns(RuntimeWarning, match="SANDBOX DEGRADED"), SandboxServer(LIMITS, layers=BWRAP_LAYERS) as srv:
        assert srv.level == "rlimits+seccomp"
        assert "user namespaces are disabled (test)" in srv.skipped_layers["bwrap"]
        assert srv.bwrap is None
        with srv.open_session() as s:
            assert s.run_python("1 + 1").value_repr == "2"


@needs_bwrap
def test_resources_must_be_visible_at_level_ii(tmp_path: Path) -> None:
    visible, hidden = tmp_path / "visible", tmp_path / "hidden"
    for folder in (visible, hidden):
        folder.mkdir()
        con = sqlite3.connect(folder / "db.sqlite")
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (7)")
        con.commit()
        con.close()
    with SandboxServer(LIMITS, layers=BWRAP_LAYERS, read_only_paths=[visible]) as srv:
        ok = Resource(kind="sqlite", name="db", path=str(visible / "db.sqlite"))
        with srv.open_session([ok]) as s:
            result = s.run_sql("SELECT x FROM t")
            assert result.status == "ok" and "7" in result.stdout
            code = "def f():\n    try:\n        open(DATABASES['db'], 'r+b')\n    except OSError as e:\n        return e.errno\nf()"
            write = s.run_python(code)
            assert write.value_repr == "30"  # EROFS: resources are mounted read-only
        with pytest.raises(SandboxError, match="not visible at level seccomp\\+bwrap"):
            srv.open_session([Resource(kind="sqlite", name="db", path=str(hidden / "db.sqlite"))])


@needs_bwrap
def test_server_cannot_be_signalled_or_read_at_level_ii() -> None:
    with SandboxServer(LIMITS, layers=BWRAP_LAYERS) as srv, srv.open_session() as s:
        code = (
            "import os, signal\n"
            "def attempt(f, *a):\n    try:\n        f(*a)\n    except OSError as e:\n        return e.errno\n"
            f"(attempt(os.kill, {srv.sandbox_pid}, signal.SIGKILL), attempt(open, '/proc/{srv.sandbox_pid}/mem', 'rb'),\n"
            f" attempt(__import__('resource').prlimit, {srv.sandbox_pid}, __import__('resource').RLIMIT_NOFILE, (0, 0)),\n"
            f" attempt(os.sched_setaffinity, {srv.sandbox_pid}, {{0}}))"
        )
        result = s.run_python(code)
        assert result.value_repr == "(1, 13, 1, 1)", result.error  # EPERM, EACCES, EPERM, EPERM
        assert srv.running and s.run_python("2 + 2").value_repr == "4"


def test_check_report_says_whether_bwrap_works() -> None:
    from medagentgym.sandbox.check import sandbox_check

    report = sandbox_check()
    assert report.bwrap_available == (FOUND is not None)
    assert ("bubblewrap: available" in report.render()) == (FOUND is not None)
    if FOUND is not None:
        assert FOUND.path in report.bwrap_detail
