"""Containment, round 2: each attack of issue 7 (items 1-10) in a real session, at level
landlock+seccomp (i) and, where bubblewrap works here, at level seccomp+bwrap (ii).

After every test the shared server is alive and a fresh session runs pandas normally (autouse
fixture). Attacks aim only at this machine: files the test makes, listeners on 127.0.0.1.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.catalog.sample import Resource
from medagentgym.sandbox import SandboxLimits, SandboxServer, Session
from medagentgym.sandbox import bwrap as bubblewrap
from medagentgym.sandbox.cgroups import leftover_tasks
from medagentgym.sandbox.hardening import BWRAP_LAYERS
from medagentgym.sandbox.landlock import abi_version
from medagentgym.sandbox.limits import MIB, io_bytes
from medagentgym.sandbox.quota import mounts_under
# The same snippet helpers as round 1, and its autouse check that after every attack the server
# is alive and a fresh session runs pandas normally.
from test_adversarial import ATTEMPT, run_ok, server_survives  # noqa: F401

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or abi_version() < 4,
    reason="the containment suite asserts level landlock+seccomp (Linux, Landlock ABI >= 4)",
)

LEVEL_I, LEVEL_II = "landlock+seccomp", "seccomp+bwrap"
MAX_TASKS = 64
LIMITS = SandboxLimits(
    timeout_s=10.0,
    hard_grace_s=2.0,
    memory_bytes=1024**3,
    file_size_bytes=64 * MIB,
    scratch_bytes=16 * MIB,
    max_tasks=MAX_TASKS,
)
# A refusal, whichever layer gives it: permission (seccomp, caps, DAC), Landlock, a read-only
# mount (the session's own root, bubblewrap), or a path that does not exist in its view.
REFUSED = {errno.EPERM, errno.EACCES, errno.EROFS, errno.ENOENT}



@pytest.fixture(scope="module")
def host_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of host files the sessions may read (a database) or must not touch."""
    folder = tmp_path_factory.mktemp("containment2")
    con = sqlite3.connect(folder / "ehr.sqlite")
    con.execute("CREATE TABLE t (x INTEGER)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    con.commit()
    con.close()
    (folder / "host.txt").write_text("host file")
    return folder


@pytest.fixture(scope="module", params=[LEVEL_I, LEVEL_II])
def server(request: pytest.FixtureRequest, host_dir: Path) -> Iterator[SandboxServer]:
    layers = None
    if request.param == LEVEL_II:
        found, why = bubblewrap.find()
        if found is None:
            pytest.skip(f"level seccomp+bwrap cannot be tested here: {why}")
        layers = BWRAP_LAYERS
    with SandboxServer(LIMITS, layers=layers, read_only_paths=[host_dir]) as srv:
        assert srv.level == request.param
        yield srv


@pytest.fixture()
def db(host_dir: Path) -> Resource:
    return Resource(kind="sqlite", name="ehr", path=str(host_dir / "ehr.sqlite"))


@pytest.fixture()
def session(server: SandboxServer, db: Resource) -> Iterator[Session]:
    with server.open_session([db]) as s:
        yield s


def _snapshot(path: Path) -> tuple[int, int, int, int, list[str]]:
    st = os.stat(path)
    return (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, sorted(os.listxattr(path)))


# -- 1. metadata of host files ---------------------------------------------------------------


def test_1_metadata_changes_outside_scratch_fail(server: SandboxServer, session: Session, host_dir: Path) -> None:
    targets = [host_dir / "ehr.sqlite", host_dir / "host.txt", Path(sys.executable).resolve()]
    before = {t: _snapshot(t) for t in targets}
    code = ATTEMPT + (
        "import os\nout = []\n"
        f"for p in {[str(t) for t in targets]!r}:\n"
        "    out += [attempt(os.chmod, p, 0o4777), attempt(os.utime, p, (0, 0)), attempt(os.utime, p),\n"
        "            attempt(os.setxattr, p, 'user.evil', b'1'), attempt(os.chown, p, 0, 0)]\n"
        "    try:\n"
        "        fd = os.open(p, os.O_RDONLY)\n"
        "        out += [attempt(os.fchmod, fd, 0), attempt(os.utime, fd, (0, 0))]\n"
        "        os.close(fd)\n"
        "    except OSError as e:\n"
        "        out += [e.errno, e.errno]\n"
        "out"
    )
    errnos = eval(run_ok(session, code))  # noqa: S307
    assert len(errnos) == 7 * len(targets) and set(errnos) <= REFUSED, errnos
    assert {t: _snapshot(t) for t in targets} == before
    # inside its own scratch a session may still manage its files where it has its own root
    own = ATTEMPT + "import os\nopen('mine.txt', 'w').close()\n(attempt(os.chmod, 'mine.txt', 0o600), attempt(os.utime, 'mine.txt'))"
    if "fs_jail" in server.layers:
        assert run_ok(session, own) == "(None, None)"
    with server.open_session([session.resources[0]]) as fresh:  # the database still opens
        result = fresh.run_sql("SELECT count(*) AS n FROM t")
        assert result.status == "ok" and "100" in result.stdout


# -- 2. writes beside scratch ------------------------------------------------------------------


def test_2_writes_beside_scratch_are_inside_the_quota(session: Session) -> None:
    code = (
        "import os\nwritten, failed = 0, None\nchunk = b'x' * (1 << 20)\n"
        "targets = ['../io/fill.bin', '../io/stdout', 'fill.bin']\n"
        "for target in targets:\n"
        "    try:\n"
        "        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND)\n"
        "    except OSError as e:\n"
        "        failed = e.errno\n"
        "        continue\n"
        "    try:\n"
        "        for _ in range(600):\n"
        "            written += os.write(fd, chunk)\n"
        "    except OSError as e:\n"
        "        failed = e.errno\n"
        "    os.close(fd)\n"
        "(written, failed)"
    )
    written, failed = eval(run_ok(session, code))  # noqa: S307
    assert failed in (errno.ENOSPC, errno.EFBIG, errno.EACCES), failed
    assert written <= LIMITS.scratch_bytes + io_bytes(LIMITS)
    # the step still reports (its capture shares the full tmpfs) and the session still works
    assert session.run_python("1 + 1").status in ("ok", "error")


# -- 3. memory held outside the address space ---------------------------------------------------


def test_3_memory_held_by_memfd_is_bounded(server: SandboxServer, session: Session) -> None:
    code = (
        "import os\nheld, failed = 0, None\nchunk = b'x' * (8 << 20)\nfds = []\n"
        "try:\n"
        "    while held < (3 << 29):\n"  # 1.5 GiB under a 1 GiB limit
        "        fd = os.memfd_create('hold')\n"
        "        fds.append(fd)\n"
        "        for _ in range(6):\n"
        "            held += os.write(fd, chunk)\n"
        "except (OSError, MemoryError) as e:\n"
        "    failed = getattr(e, 'errno', None) or type(e).__name__\n"
        "(held, failed)"
    )
    result = session.run_python(code)
    if result.status == "ok":  # refused (no memory cgroup: memfd_create is denied) or stopped
        held, failed = eval(result.value_repr or "")  # noqa: S307
        assert failed is not None and held < LIMITS.memory_bytes, (held, failed)
    else:  # the memory cgroup's OOM killer ended the session: reported as its own crash
        assert result.status == "crashed", result
        assert result.session_restarted
    if "cgroups" not in server.layers:
        assert result.status == "ok" and eval(result.value_repr or "") == (0, errno.EPERM)  # noqa: S307
    assert session.run_python("sum(range(10))").value_repr == "45"


# -- 4. SysV IPC across episodes -----------------------------------------------------------------


def test_4_sysv_ipc_is_refused_and_nothing_survives(server: SandboxServer) -> None:
    key = 0x4D41_4731
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nout = []\n"
        f"for call in (lambda: libc.msgget({key}, 0o1666), lambda: libc.shmget({key}, 4096, 0o1666),\n"
        f"             lambda: libc.semget({key}, 1, 0o1666), lambda: libc.mq_open(b'/mag', 0o100 | 2, 0o666, None)):\n"
        "    ctypes.set_errno(0)\n"
        "    out.append((call(), ctypes.get_errno()))\n"
        "out"
    )
    with server.open_session() as first:
        assert eval(run_ok(first, code)) == [(-1, errno.EPERM)] * 4  # noqa: S307
    with server.open_session() as second:  # nothing was left for the next episode to read
        reader = f"import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n(libc.msgget({key}, 0), ctypes.get_errno())"
        assert eval(run_ok(second, reader)) == (-1, errno.EPERM)  # noqa: S307
    libc = ctypes.CDLL(None, use_errno=True)  # and nothing exists on the host either
    assert libc.msgget(key, 0) == -1 and ctypes.get_errno() == errno.ENOENT
    assert libc.shmget(key, 0, 0) == -1 and ctypes.get_errno() == errno.ENOENT


# -- 5. threads ----------------------------------------------------------------------------------


def test_5_threads_are_capped(server: SandboxServer, session: Session) -> None:
    assert "cgroups" in server.layers, server.skipped_layers
    code = (
        "import threading\nthreading.stack_size(64 * 1024)\nstop = threading.Event()\nstarted = []\n"
        "try:\n"
        "    for _ in range(10000):\n"
        "        t = threading.Thread(target=stop.wait)\n"
        "        t.start()\n"
        "        started.append(t)\n"
        "except RuntimeError:\n"
        "    pass\n"
        "stop.set()\n"
        "for t in started:\n"
        "    t.join()\n"
        "len(started)"
    )
    started = int(run_ok(session, code))
    assert started == MAX_TASKS - 1, started  # the cap counts every task: the main thread + 63
    assert run_ok(session, "import threading\nt = threading.Thread(target=print)\nt.start(); t.join()\n'ok'") == "'ok'"


# -- 6. host information -------------------------------------------------------------------------


def test_6_host_information_is_hidden(server: SandboxServer, session: Session, tmp_path: Path) -> None:
    secret = tmp_path / "other-episode-trajectory.jsonl"  # a host file outside every allow-list
    secret.write_text("{}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener, server.open_session() as other:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = f"{listener.getsockname()[1]:04X}"
        run_ok(other, "open('other.txt', 'w').write('x')")
        code = ATTEMPT + (
            "import os, ctypes\n"
            "def peek(p):\n"
            "    try:\n"
            "        return open(p).read()\n"
            "    except OSError as e:\n"
            "        return e.errno\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "(peek('/proc/net/tcp'), peek('/proc/self/net/tcp'), peek('/proc/self/mountinfo'),\n"
            f" attempt(os.stat, {str(secret)!r}), attempt(os.stat, {str(other.scratch_dir / 'other.txt')!r}),\n"
            " (libc.inotify_init1(0), ctypes.get_errno()), attempt(os.listdir, '/proc') or sorted(os.listdir('/proc')))"
        )
        tcp, self_tcp, mountinfo, stat_secret, stat_other, inotify, procs = eval(run_ok(session, code))  # noqa: S307
    for table in (tcp, self_tcp):
        assert isinstance(table, int) or f":{port} " not in table, "the host's listener is visible"
    assert isinstance(mountinfo, int) or str(tmp_path) not in mountinfo and " /proc " not in mountinfo.split("\n")[0]
    if server.level == LEVEL_I:
        assert isinstance(tcp, int) and isinstance(mountinfo, int)
    assert stat_secret == errno.ENOENT and stat_other in (errno.ENOENT, errno.EACCES)
    assert inotify == (-1, errno.EPERM)
    pids = [] if isinstance(procs, int) else [p for p in procs if p.isdigit()]
    assert str(server.pid) not in pids and str(os.getpid()) not in pids  # no host process listed


# -- 7. outliving the server ---------------------------------------------------------------------


def test_7_sessions_die_with_a_killed_server_and_leave_nothing() -> None:
    srv = SandboxServer(LIMITS)
    srv.start()
    root = srv._handle.root if srv._handle else None
    assert root is not None
    groups = srv._handle.cgroups if srv._handle else ()
    sessions = [srv.open_session() for _ in range(2)]
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "(libc.prctl(1, 0, 0, 0, 0), ctypes.get_errno(), libc.prctl(36, 1, 0, 0, 0))"
    )
    for s in sessions:
        assert eval(run_ok(s, code))[:2] == (-1, errno.EPERM)  # noqa: S307 - PR_SET_PDEATHSIG refused
    pids = [s.pid for s in sessions]
    assert srv.pid is not None
    os.kill(srv.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "a session outlived its server"
    assert not leftover_tasks(groups)
    srv.close()
    assert not root.exists()
    assert not [m for m in mounts_under(root.parent) if root in [m, *m.parents]]
    assert all(not group.exists() for group in groups)
    with SandboxServer(LIMITS) as again, again.open_session() as fresh:
        assert run_ok(fresh, "import pandas as pd\nint(pd.Series([2, 2]).sum())") == "4"


def test_7_a_later_server_cleans_up_after_a_killed_client_and_server() -> None:
    script = (
        "import json, sys, time\n"
        "from medagentgym.sandbox import SandboxServer, SandboxLimits\n"
        "srv = SandboxServer(SandboxLimits(scratch_bytes=4 << 20))\n"
        "s = srv.open_session()\n"
        "s.run_python(\"open('x', 'w').write('x')\")\n"
        "print(json.dumps({'root': str(srv._handle.root), 'server': srv.pid, 'session': s.pid,\n"
        "                  'cgroups': [str(g) for g in srv._handle.cgroups]}), flush=True)\n"
        "time.sleep(60)\n"
    )
    client = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(client.stdout.readline() if client.stdout else "{}")
    finally:
        client.kill()  # the client dies first: nothing of it may clean up
    os.kill(info["server"], signal.SIGKILL)
    client.wait()
    root = Path(info["root"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(info["session"]):
        time.sleep(0.05)
    assert not _alive(info["session"])
    assert root.exists() and [m for m in mounts_under(root.parent) if root in [m, *m.parents]]  # left behind
    with SandboxServer(LIMITS) as later:  # the next server start removes what was left
        assert later.running
        assert not root.exists()
        assert not [m for m in mounts_under(root.parent) if root in [m, *m.parents]]
        assert all(not Path(g).exists() for g in info["cgroups"])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# -- 8. the hidden targets -----------------------------------------------------------------------


def test_8_the_project_package_is_unreachable(session: Session, host_dir: Path) -> None:
    import medagentgym

    package = Path(medagentgym.__file__).resolve().parent
    registry = package / "catalog" / "registry.py"
    code = ATTEMPT + (
        "import os, sys, importlib\n"
        f"os.environ['MEDAGENTGYM_CACHE'] = {str(host_dir)!r}\n"
        "def load(name):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        return 'imported'\n"
        "    except ImportError as e:\n"
        "        return type(e).__name__\n"
        "(load('medagentgym.datasets.mimic_iii'), load('medagentgym.datasets.medcalcbench'),\n"
        " load('medagentgym.catalog.registry'), load('medagentgym.scoring'),\n"
        f" attempt(open, {str(registry)!r}), attempt(os.listdir, {str(package)!r}) in (None,) and os.listdir({str(package)!r}),\n"
        " sorted(m for m in sys.modules if m.startswith('medagentgym.') and not m.startswith('medagentgym.sandbox')))"
    )
    *imports, read, listing, modules = eval(run_ok(session, code))  # noqa: S307
    assert imports == ["ModuleNotFoundError"] * 4
    assert read in REFUSED
    assert not listing, listing  # refused, or an empty mask
    assert modules == ["medagentgym.textfmt"]


# -- 9. malformed frames from a session ------------------------------------------------------------


def test_9_a_deeply_nested_reply_is_the_sessions_own_crash(session: Session) -> None:
    code = (
        "import os, socket, struct\n"
        "body = b'[' * 200000 + b']' * 200000\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        s = socket.socket(fileno=os.dup(fd))\n"
        "    except OSError:\n"
        "        continue\n"
        "    if s.type == socket.SOCK_STREAM:\n"
        "        s.sendall(struct.pack('!I', len(body)) + body)\n"
        "    s.detach()\n"
    )
    result = session.run_python(code)
    assert result.status == "crashed", result
    assert "malformed reply" in (result.error or "")
    assert result.session_restarted
    assert session.run_python("sum(range(4))").value_repr == "6"


def test_9_env_records_a_malformed_reply_as_the_episodes_outcome(server: SandboxServer) -> None:
    from medagentgym.env.env import MedAgentEnv

    sample = _any_sample()
    env = MedAgentEnv(sandbox=server)
    try:
        env.reset(options={"sample": sample})
        nested = (
            "import os, socket, struct\\nbody = b'{\\\"a\\\":' * 100000\\n"
            "for fd in range(3, 64):\\n    try:\\n        s = socket.socket(fileno=os.dup(fd))\\n"
            "    except OSError:\\n        continue\\n"
            "    if s.type == socket.SOCK_STREAM:\\n        s.sendall(struct.pack('!I', len(body)) + body)\\n    s.detach()"
        )
        _, _, terminated, truncated, info = env.step('{"action": "execute_python", "code": "' + nested + '"}')
        assert not terminated and not truncated
        assert info["execution"]["status"] == "crashed", info["execution"]
        _, reward, terminated, _, _ = env.step('{"action": "submit", "answer": "0"}')
        assert terminated
    finally:
        env.close()


def _any_sample():  # noqa: ANN202 - a catalog Sample
    from medagentgym.catalog.registry import get_dataset

    dataset = get_dataset("medcalcbench")
    return dataset.generate(dataset.categories()[0].name, "test", 0)


# -- 10. SQLite temporary files, deep recursion ----------------------------------------------------


def test_10_sqlite_spills_to_scratch(session: Session) -> None:
    code = (
        "import sqlite3\ncon = sqlite3.connect(DATABASES['ehr'].join(['file:', '?mode=ro']), uri=True)\n"
        "con.execute('PRAGMA cache_size = 8')\n"
        "n = con.execute(\"SELECT count(*) FROM (SELECT DISTINCT a.x || '-' || b.x || '-' || c.x FROM t a, t b, t c)\").fetchone()[0]\n"
        "ids = ','.join(str(i) for i in range(30000))\n"
        "m = con.execute(f'SELECT count(*) FROM t WHERE x IN ({ids})').fetchone()[0]\n"
        "mem = sqlite3.connect(':memory:')\nmem.execute('PRAGMA temp_store = FILE')\n"
        "mem.execute('CREATE TEMP TABLE z AS SELECT 1 AS y')\n"
        "(n, m, mem.execute('SELECT y FROM z').fetchone()[0])"
    )
    assert run_ok(session, code) == "(1000000, 100, 1)"
    result = session.run_sql("SELECT x FROM t ORDER BY x DESC LIMIT 1")
    assert result.status == "ok" and "99" in result.stdout


def test_10_deep_recursion_times_out_softly(server: SandboxServer) -> None:
    with server.open_session() as s:
        assert s.run_python("kept = 41").status == "ok"
        code = (
            "import sys\nsys.setrecursionlimit(1_000_000)\n"
            "def down(n):\n    if n == 0:\n        while True:\n            pass\n    return down(n - 1)\n"
            "down(150_000)"
        )
        result = s.run_python(code, timeout_s=2.0)
        assert result.status == "timeout" and not result.session_restarted, result.error
        assert "StepTimeout" in (result.error or "") and "outer frames omitted" in (result.error or "")
        assert run_ok(s, "kept + 1") == "42"  # the soft timeout kept the session and its variables
