"""Attacks on a real session, each of which must be contained at level landlock+seccomp (i)
and, where bubblewrap works here, at level seccomp+bwrap (ii) (forced with ``BWRAP_LAYERS``).

Every test runs its attack in a real session of one shared server per level; after each test the
server must still be running and a fresh session must work normally. Network attacks aim only at
listeners the test itself opens on 127.0.0.1 (nothing here may send a packet anywhere else; at
level ii the session is in its own network namespace, so even a socket could not reach them).
Where the levels fail differently (a path that is absent or read-only under bubblewrap rather
than refused by Landlock), the expected errnos are per level; containment is asserted at both.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.catalog.sample import Resource
from medagentgym.sandbox import SandboxLimits, SandboxServer, Session
from medagentgym.sandbox import bwrap as bubblewrap
from medagentgym.sandbox.hardening import BWRAP_LAYERS
from medagentgym.sandbox.landlock import abi_version

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or abi_version() < 4,
    reason="the adversarial suite asserts level landlock+seccomp (Linux, Landlock ABI >= 4)",
)

SECRET_VAR = "MEDAGENTGYM_ADVERSARIAL_SECRET"
SECRET_VALUE = "adversarial-secret-3f9a"
LIMITS = SandboxLimits(timeout_s=5.0, hard_grace_s=1.0, memory_bytes=1024**3, file_size_bytes=8 * 1024**2)


LEVEL_I, LEVEL_II = "landlock+seccomp", "seccomp+bwrap"
# How a refused file-system access fails: Landlock says EACCES; the server's private dir is
# mounted read-only in each session (EROFS, both levels, see quota.py); in the session's own root
# (fs_jail, level i) and under bubblewrap a path outside the allow-list is absent (ENOENT) and the
# mounted ones are read-only (EROFS).
DENIED = {LEVEL_I: {errno.EACCES, errno.EROFS, errno.ENOENT}, LEVEL_II: {errno.EACCES, errno.EROFS, errno.ENOENT}}


def _bwrap_missing() -> str:
    found, why = bubblewrap.find()
    return "" if found is not None else why


@pytest.fixture(scope="module", params=[LEVEL_I, LEVEL_II])
def server(request: pytest.FixtureRequest, database: Path) -> Iterator[SandboxServer]:
    layers = None
    if request.param == LEVEL_II:
        why = _bwrap_missing()
        if why:
            pytest.skip(f"level seccomp+bwrap cannot be tested here: {why}")
        layers = BWRAP_LAYERS
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_VAR, SECRET_VALUE)  # in the client's environment before the server starts
        with SandboxServer(LIMITS, layers=layers, read_only_paths=[database.parent]) as srv:
            assert srv.level == request.param
            yield srv


def denied(server: SandboxServer, value: str, count: int) -> None:
    """``value`` is the repr of a list of errnos, each a refusal at this server's level."""
    errnos = eval(value)  # noqa: S307 - a list of ints produced by our own snippet
    assert len(errnos) == count and set(errnos) <= DENIED[server.level], errnos


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ro-db") / "ehr.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x INTEGER)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    con.commit()
    con.close()
    return path


@pytest.fixture()
def session(server: SandboxServer) -> Iterator[Session]:
    with server.open_session() as s:
        yield s


@pytest.fixture(autouse=True)
def server_survives(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every attack: the server is alive and the next session works normally."""
    yield
    if "server" not in request.fixturenames:
        return
    srv: SandboxServer = request.getfixturevalue("server")
    assert srv.running, "the attack took the server down"
    with srv.open_session() as fresh:
        result = fresh.run_python("import pandas as pd\nint(pd.Series([1, 2, 3]).sum())")
        assert result.status == "ok", result.error
        assert result.value_repr == "6"


def session_level(session: Session) -> str:
    return session._server.level


def run_ok(session: Session, code: str) -> str:
    result = session.run_python(code)
    assert result.status == "ok", result.error
    assert result.value_repr is not None
    return result.value_repr


# Snippet helper: ``attempt(f)`` is the errno f failed with, or None if it succeeded.
ATTEMPT = (
    "def attempt(f, *a):\n"
    "    try:\n"
    "        f(*a)\n"
    "    except OSError as e:\n"
    "        return e.errno\n"
    "    return None\n"
)


# -- network ----------------------------------------------------------------------------------


def test_tcp_egress_to_a_local_listener_is_refused(session: Session) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        code = ATTEMPT + f"import socket\nattempt(socket.create_connection, ('127.0.0.1', {port}), 2)"
        assert run_ok(session, code) == str(errno.EPERM)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()


def test_udp_egress_to_a_local_listener_is_refused(session: Session) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        code = ATTEMPT + (
            "import socket\n"
            "def send():\n"
            "    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:\n"
            f"        s.sendto(b'leak', ('127.0.0.1', {port}))\n"
            "attempt(send)"
        )
        assert run_ok(session, code) == str(errno.EPERM)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.recvfrom(512)


def test_dns_query_to_a_local_resolver_is_refused(session: Session) -> None:
    # A well-formed DNS query for an A record, sent to a "resolver" this test runs on loopback.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as resolver:
        resolver.bind(("127.0.0.1", 0))
        port = resolver.getsockname()[1]
        code = ATTEMPT + (
            "import socket, struct\n"
            "header = struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0)\n"
            "name = b''.join(bytes([len(p)]) + p for p in (b'leak', b'example', b'test')) + b'\\0'\n"
            "packet = header + name + struct.pack('!HH', 1, 1)\n"
            "def ask():\n"
            "    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:\n"
            f"        s.sendto(packet, ('127.0.0.1', {port}))\n"
            "(attempt(ask), attempt(socket.socket, socket.AF_INET6, socket.SOCK_DGRAM))"
        )
        assert run_ok(session, code) == repr((errno.EPERM, errno.EPERM))
        resolver.settimeout(0.2)
        with pytest.raises(TimeoutError):
            resolver.recvfrom(512)


def test_netlink_packet_and_unix_sockets_are_refused(session: Session) -> None:
    code = ATTEMPT + (
        "import socket\n"
        "[attempt(socket.socket, fam, socket.SOCK_RAW if fam != socket.AF_UNIX else socket.SOCK_STREAM)\n"
        " for fam in (socket.AF_NETLINK, socket.AF_PACKET, socket.AF_UNIX)]"
    )
    assert run_ok(session, code) == repr([errno.EPERM] * 3)


# -- file system ------------------------------------------------------------------------------


def test_writes_outside_scratch_are_refused(session: Session, server: SandboxServer, tmp_path: Path) -> None:
    targets = [
        tmp_path / "planted.txt",  # a root-owned test dir
        Path("/tmp") / f"medagentgym-adversarial-{os.getpid()}",
        session.scratch_dir.parents[2] / "escape.txt",  # the server's private root
    ]
    if server.level == LEVEL_I:  # beside scratch: Landlock allows only scratch and io (at level ii
        # the session dir is its own quota tmpfs, so a file there is inside the quota)
        targets.append(session.scratch_dir.parent / "escape.txt")
    code = ATTEMPT + f"[attempt(lambda p: open(p, 'w').close(), p) for p in {[str(t) for t in targets]!r}]"
    denied(server, run_ok(session, code), len(targets))
    assert not any(t.exists() for t in targets)
    assert run_ok(session, "open('inside.txt', 'w').write('ok')") == "2"  # scratch is writable


def test_planted_secret_file_is_unreadable(session: Session, server: SandboxServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_VALUE)
    code = ATTEMPT + f"[attempt(open, {str(secret)!r}), attempt(os.listdir, {str(tmp_path)!r})]"
    result = session.run_python("import os\n" + code)
    assert result.value_repr is not None
    denied(server, result.value_repr, 2)
    assert SECRET_VALUE not in result.stdout + result.stderr
    shadow = run_ok(session, ATTEMPT + "[attempt(open, '/etc/shadow')]")
    denied(server, shadow, 1)
    if server.level == LEVEL_I:
        assert run_ok(session, ATTEMPT + "import os\n[attempt(os.listdir, '/root')]") == repr([errno.EACCES])
    else:  # only the parents of bound paths exist there (the data cache, a Python under /root)
        from medagentgym.paths import cache_dir
        from medagentgym.sandbox.hardening import python_read_only_paths

        bound = [Path(p) for p in (*python_read_only_paths(), os.path.realpath(cache_dir()))]
        parents = {p.parts[2] for p in bound if len(p.parts) > 2 and p.parts[1] == "root"}
        listing = run_ok(session, "import os\nsorted(os.listdir('/root')) if os.path.isdir('/root') else []")
        assert set(eval(listing)) <= parents, listing  # noqa: S307


def test_parent_environment_is_invisible(session: Session, server: SandboxServer) -> None:
    assert os.environ.get(SECRET_VAR) == SECRET_VALUE  # the client has it
    read = "lambda p: open(p, 'rb').read().decode(errors='replace')"
    code = (
        "import os\n"
        "own = open('/proc/self/environ', 'rb').read().decode()\n"
        f"def peek(p):\n    try:\n        return ({read})(p)\n    except OSError as e:\n        return e.errno\n"
        f"(own, dict(os.environ), peek('/proc/{server.sandbox_pid}/environ'),\n"
        f" attempt(os.listdir, '/proc/{server.sandbox_pid}/fd'), peek('/proc/1/environ'))"
    )
    result = session.run_python(ATTEMPT + code)
    assert result.status == "ok", result.error
    assert result.value_repr is not None
    assert SECRET_VALUE not in result.value_repr and SECRET_VAR not in result.value_repr
    if server.level == LEVEL_I:
        assert result.value_repr.endswith(f"{errno.EACCES}, {errno.EACCES}, {errno.EACCES})")
    else:  # the server is not dumpable; pid 1 is bwrap, whose environment is the minimal one
        assert f"{errno.EACCES}, " in result.value_repr


def test_read_only_database_cannot_be_written(server: SandboxServer, database: Path) -> None:
    s_server = server
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    with server.open_session([Resource(kind="sqlite", name="ehr", path=str(database))]) as s:
        code = ATTEMPT + (
            "import os, sqlite3\n"
            "db = DATABASES['ehr']\n"
            "ro = sqlite3.connect(f'file:{db}?mode=ro', uri=True).execute('SELECT COUNT(*) FROM t').fetchone()[0]\n"
            "con = sqlite3.connect(db)\n"
            "rows = con.execute('SELECT COUNT(*) FROM t').fetchone()[0]\n"
            "try:\n"
            "    con.execute('INSERT INTO t VALUES (99)'); con.commit(); insert = 'written'\n"
            "except sqlite3.OperationalError as e:\n"
            "    insert = str(e)\n"
            "(ro, rows, insert, attempt(open, db, 'r+b'), attempt(os.unlink, db),\n"
            " attempt(lambda: open(db + '-journal', 'w')))"
        )
        value = eval(run_ok(s, code))  # noqa: S307
        assert value[:3] == (10, 10, "attempt to write a readonly database")
        denied(s_server, repr(list(value[3:])), 3)
        assert s.run_sql("SELECT COUNT(*) AS n FROM t").status == "ok"
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert not Path(str(database) + "-journal").exists()


def test_another_sessions_scratch_is_unreadable(server: SandboxServer) -> None:
    with server.open_session() as victim, server.open_session() as attacker:
        run_ok(victim, "open('diary.txt', 'w').write('private')")
        target = victim.scratch_dir / "diary.txt"
        code = ATTEMPT + (
            "import os\n"
            f"(attempt(open, {str(target)!r}), attempt(os.listdir, {str(victim.scratch_dir)!r}),\n"
            f" attempt(lambda: open({str(victim.scratch_dir / 'planted')!r}, 'w')))"
        )
        value = run_ok(attacker, code)
        read, listing, write = eval(value)  # noqa: S307
        # Level i: the victim's dir does not exist in the attacker's own root (or Landlock
        # refuses it); level ii: it is detached from the attacker's mount namespace.
        assert read in (errno.EACCES, errno.ENOENT) and listing in (errno.EACCES, errno.ENOENT, None)
        assert write in (errno.EACCES, errno.EROFS, errno.ENOENT)
        assert run_ok(victim, "open('diary.txt').read()") == "'private'"
        assert not (victim.scratch_dir / "planted").exists()


def test_disk_filling_is_bounded_by_file_size_limit(session: Session) -> None:
    # One file may not grow past RLIMIT_FSIZE (8 MiB here); the loop is bounded to 32 MiB anyway.
    code = (
        "written, failed = 0, None\n"
        "with open('fill.bin', 'wb', buffering=0) as f:\n"
        "    for _ in range(32):\n"
        "        try:\n"
        "            written += f.write(b'0' * 1024**2)\n"
        "        except OSError as e:\n"
        "            failed = e.errno\n"
        "            break\n"
        "(written, failed)"
    )
    assert run_ok(session, code) == repr((8 * 1024**2, errno.EFBIG))
    assert session.alive


# -- processes, memory, time, output ----------------------------------------------------------


def test_fork_bomb_and_subprocess_are_refused(session: Session) -> None:
    code = ATTEMPT + (
        "import os, subprocess\n"
        "forks = 0\n"
        "for _ in range(64):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if pid == 0:\n"
        "        os._exit(0)\n"
        "    forks += 1\n"
        "(forks, attempt(subprocess.run, ['true']), attempt(os.posix_spawn, '/bin/true', ['true'], {}),\n"
        " attempt(os.execv, '/bin/sh', ['sh']))"
    )
    assert run_ok(session, code) == repr((0, errno.EPERM, errno.EPERM, errno.EPERM))


def test_threads_still_work(session: Session) -> None:
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    total = sum(pool.map(lambda n: n * n, range(100)))\n"
        "total"
    )
    assert run_ok(session, code) == str(sum(n * n for n in range(100)))


def test_huge_allocation_is_a_memory_error(session: Session) -> None:
    result = session.run_python("block = bytearray(4 * 1024**3)")
    assert result.status == "error"
    assert result.error is not None and "MemoryError" in result.error
    assert session.alive and run_ok(session, "len(bytearray(1024))") == "1024"


def test_endless_loops_are_stopped(server: SandboxServer) -> None:
    limits = LIMITS.model_copy(update={"timeout_s": 0.3, "hard_grace_s": 0.5})
    with server.open_session(limits=limits) as s:
        soft = s.run_python("while True:\n    pass")
        assert soft.status == "timeout" and not soft.session_restarted
        blocked = "import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\nwhile True:\n    pass"
        hard = s.run_python(blocked)
        assert hard.status == "timeout" and hard.session_restarted  # killed from outside the sandbox
        assert run_ok(s, "1 + 1") == "2"


def test_100_mb_of_output_is_capped(session: Session) -> None:
    code = (
        "import os, sys\n"
        "print('x' * 50_000_000)\n"
        "for _ in range(50):\n"
        "    try:\n"
        "        os.write(1, b'y' * 1024**2)\n"
        "    except OSError:\n"
        "        break\n"
    )
    result = session.run_python(code)
    assert result.status == "ok", result.error
    assert result.truncated
    assert len(result.stdout) < LIMITS.output_bytes + 200
    assert session.alive


# -- signals, ptrace, privileges, raw system calls --------------------------------------------


def test_signals_to_server_and_other_sessions_are_refused(server: SandboxServer) -> None:
    assert server.pid is not None
    with server.open_session() as bystander, server.open_session() as attacker:
        assert bystander.run_python("mine = 'alive'").status == "ok"
        code = ATTEMPT + (
            "import os, signal\n"
            f"(attempt(os.kill, {server.sandbox_pid}, signal.SIGKILL),\n"
            f" attempt(os.kill, {bystander.sandbox_pid}, signal.SIGKILL),\n"
            f" attempt(os.killpg, {bystander.sandbox_pid}, signal.SIGKILL), attempt(os.kill, os.getppid(), signal.SIGTERM),\n"
            " attempt(os.kill, -1, signal.SIGKILL), attempt(os.kill, os.getpid(), 0))"
        )
        assert run_ok(attacker, code) == repr((errno.EPERM,) * 5 + (None,))
        assert run_ok(bystander, "mine") == "'alive'"
    assert server.running


def test_ptrace_is_refused(session: Session, server: SandboxServer) -> None:
    code = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"rc = libc.ptrace(16, {server.sandbox_pid}, 0, 0)  # PTRACE_ATTACH\n"
        "(rc, ctypes.get_errno())"
    )
    assert run_ok(session, code) == repr((-1, errno.EPERM))


def test_privilege_changes_are_refused(session: Session) -> None:
    code = ATTEMPT + (
        "import os\n"
        "(attempt(os.setuid, 1000), attempt(os.setgid, 1000), attempt(os.setgroups, []),\n"
        " attempt(os.chroot, '.'), attempt(os.nice, -1), attempt(os.chown, '.', 1000, 1000))"
    )
    refused = {errno.EPERM}
    if session_level(session) == LEVEL_II:
        refused.add(errno.EINVAL)  # uid/gid 1000 does not exist in bubblewrap's user namespace
    values = eval(run_ok(session, code))  # noqa: S307
    assert len(values) == 6 and set(values) <= refused, values
    status = run_ok(session, "[l for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd', 'NoNewPrivs', 'Seccomp:'))]")
    assert "CapEff:\\t0000000000000000" in status
    assert "CapBnd:\\t0000000000000000" in status
    assert "NoNewPrivs:\\t1" in status and "Seccomp:\\t2" in status


def test_raw_system_calls_are_refused(session: Session) -> None:
    seccomp = pytest.importorskip("pyseccomp")

    def nr(name: str) -> int:
        return seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)

    calls = {  # name -> (arguments, expected errno)
        "socket": ((socket.AF_INET, socket.SOCK_STREAM, 0), errno.EPERM),
        "clone": ((17, 0, 0, 0, 0), errno.EPERM),  # SIGCHLD only: a new process
        "clone3": ((0, 0), errno.ENOSYS),
        "unshare": ((0x10000000,), errno.EPERM),  # CLONE_NEWUSER
        "setns": ((0, 0), errno.EPERM),
        "mount": ((0, 0, 0, 0, 0), errno.EPERM),
        "bpf": ((0, 0, 0), errno.EPERM),
        "perf_event_open": ((0, 0, -1, -1, 0), errno.EPERM),
        "keyctl": ((0, 0), errno.EPERM),
        "io_uring_setup": ((1, 0), errno.EPERM),
        "userfaultfd": ((0,), errno.EPERM),
        "init_module": ((0, 0, 0), errno.EPERM),
        "kexec_load": ((0, 0, 0, 0), errno.EPERM),
        "ptrace": ((0, 0, 0, 0), errno.EPERM),  # PTRACE_TRACEME
        "open_by_handle_at": ((0, 0, 0), errno.EPERM),
    }
    lines = ["import ctypes", "libc = ctypes.CDLL(None, use_errno=True)", "libc.syscall.restype = ctypes.c_long", "out = {}"]
    for name, (args, _) in calls.items():
        arg_text = ", ".join(f"ctypes.c_long({a})" for a in args)
        lines.append(f"out[{name!r}] = (libc.syscall({nr(name)}, {arg_text}), ctypes.get_errno())")
    lines.append("out")
    result = session.run_python("\n".join(lines))
    assert result.status == "ok", result.error
    assert result.value_repr == repr({name: (-1, want) for name, (_, want) in calls.items()})


# -- level ------------------------------------------------------------------------------------


def test_level_is_recorded_and_strongest(server: SandboxServer) -> None:
    assert server.level in (LEVEL_I, LEVEL_II)
    confinement = "landlock" if server.level == LEVEL_I else "bwrap"
    assert {"caps", "no_new_privs", confinement, "pid_scope", "scratch_quota", "seccomp"} <= set(server.layers)
    assert set(server.skipped_layers) <= ({"fs_jail"} if server.level == LEVEL_II else set())
    assert server.scratch_quota_enforced


# -- as an unprivileged user ------------------------------------------------------------------

_AS_NOBODY = """
import errno, json, os, sys
from medagentgym.sandbox import SandboxServer, SandboxLimits
with SandboxServer(SandboxLimits(timeout_s=5.0)) as srv, srv.open_session() as s:
    r = s.run_python(
        "import os, socket\\n"
        "def attempt(f, *a):\\n"
        "    try:\\n        f(*a)\\n    except OSError as e:\\n        return e.errno\\n"
        "(os.getuid(), attempt(socket.socket), attempt(os.fork), attempt(os.kill, %d, 9), attempt(open, '/etc/passwd', 'a'))"
        % srv.pid
    )
    print(json.dumps({"level": srv.level, "value": r.value_repr, "error": r.error, "running": srv.running}))
"""


def test_contained_when_the_server_runs_as_nobody(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to start a server as uid 65534")

    def become_nobody() -> None:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": str(tmp_path), "HOME": str(tmp_path)}
    os.chmod(tmp_path, 0o777)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import medagentgym.sandbox"],
            preexec_fn=become_nobody,
            env=env,
            capture_output=True,
            timeout=60,
        )
        why = probe.stderr[-200:].decode("utf-8", "replace") if probe.returncode else ""
    except PermissionError as exc:
        why = str(exc)
    if why:
        pytest.skip(f"the interpreter or the package is not reachable by uid 65534 here: {why}")
    done = subprocess.run(
        [sys.executable, "-c", _AS_NOBODY],
        preexec_fn=become_nobody,
        env=env,
        capture_output=True,
        timeout=120,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["level"] == "landlock+seccomp"
    assert report["running"]
    assert report["value"] == repr((65534, errno.EPERM, errno.EPERM, errno.EPERM, errno.EACCES))
