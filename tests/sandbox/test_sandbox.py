"""Behaviour of the fork-server sandbox, through its public API only."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.catalog.sample import Resource
from medagentgym.sandbox import SandboxLimits, SandboxServer, Session

SECRET_VAR = "MEDAGENTGYM_TEST_SECRET_TOKEN"
SECRET_VALUE = "s3cr3t-value-that-must-not-leak"
FAST = SandboxLimits(timeout_s=5.0, hard_grace_s=1.0)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    # The secret is in the client's environment before the server starts: it must not get through.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_VAR, SECRET_VALUE)
        with SandboxServer(FAST) as srv:
            yield srv


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "ehr.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE visits (id INTEGER, ward TEXT, cost REAL)")
    connection.executemany(
        "INSERT INTO visits VALUES (?, ?, ?)", [(i, f"w{i % 3}", float(i)) for i in range(100)]
    )
    connection.commit()
    connection.close()
    return path


@pytest.fixture()
def session(server: SandboxServer) -> Iterator[Session]:
    with server.open_session() as s:
        yield s


@pytest.fixture()
def db_session(server: SandboxServer, database: Path) -> Iterator[Session]:
    with server.open_session([Resource(kind="sqlite", name="ehr", path=str(database))]) as s:
        yield s


# -- Python steps -----------------------------------------------------------------------------


def test_state_persists_across_steps(session: Session) -> None:
    assert session.run_python("x = 20").status == "ok"
    assert session.run_python("y = x + 1").status == "ok"
    result = session.run_python("x + y")
    assert result.status == "ok"
    assert result.value_repr == "41"


def test_last_expression_is_echoed_like_a_notebook(session: Session) -> None:
    assert session.run_python("a = 3\na * 2").value_repr == "6"
    assert session.run_python("None").value_repr is None
    assert session.run_python("a = 4").value_repr is None
    assert session.run_python("a * 10;").value_repr is None  # trailing semicolon silences it
    assert session.run_python("_").value_repr == "6"  # ``_`` holds the last echoed value
    assert session.run_python("'text'").value_repr == "'text'"


def test_namespace_is_preseeded(session: Session) -> None:
    result = session.run_python(
        "(pd.__name__, np.__name__, sqlite3.__name__, json.__name__, math.pi > 3, DATABASES)"
    )
    assert result.value_repr == "('pandas', 'numpy', 'sqlite3', 'json', True, {})"


def test_pandas_works_in_a_session(session: Session) -> None:
    result = session.run_python(
        "df = pd.DataFrame({'a': range(1000), 'g': [i % 2 for i in range(1000)]})\n"
        "int(df.groupby('g').a.sum().loc[1])"
    )
    assert result.status == "ok", result.error
    assert result.value_repr == str(sum(range(1, 1000, 2)))


def test_stdout_and_stderr_are_kept_apart(session: Session) -> None:
    result = session.run_python("import sys\nprint('to out')\nprint('to err', file=sys.stderr)")
    assert result.stdout == "to out\n"
    assert result.stderr == "to err\n"


def test_fd_level_output_is_captured(session: Session) -> None:
    code = (
        "import os, ctypes\n"
        "os.write(1, b'raw out\\n')\n"
        "os.write(2, b'raw err\\n')\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.printf(b'from C\\n')\n"
    )
    result = session.run_python(code)
    assert result.status == "ok", result.error
    assert "raw out\n" in result.stdout
    assert "from C\n" in result.stdout  # C stdio buffer flushed after the step
    assert result.stderr == "raw err\n"
    assert session.run_python("print('next')").stdout == "next\n"  # files reset per step


def test_huge_print_is_capped_with_a_marker(session: Session) -> None:
    result = session.run_python("print('x' * 100_000_000)")
    assert result.status == "ok"
    assert result.truncated
    cap = FAST.output_bytes
    assert result.stdout.startswith("x" * cap)
    assert result.stdout.endswith(f"\n...[output truncated: {100_000_001 - cap} more bytes]")
    assert len(result.stdout) < cap + 100


def test_many_small_prints_are_capped(session: Session) -> None:
    result = session.run_python("for i in range(200_000):\n    print(i)")
    assert result.truncated
    assert "[output truncated:" in result.stdout
    assert result.stdout.startswith("0\n1\n2\n")


def test_fd_level_flood_is_capped(session: Session) -> None:
    result = session.run_python("import os\nos.write(1, b'y' * 5_000_000)")
    assert result.truncated
    assert result.stdout.endswith(f"[output truncated: {5_000_000 - FAST.output_bytes} more bytes]")


def test_output_cap_is_configurable(server: SandboxServer) -> None:
    with server.open_session(limits=SandboxLimits(output_bytes=300)) as s:
        result = s.run_python("print('z' * 1000)\n'q' * 1000")
    assert result.stdout == "z" * 300 + "\n...[output truncated: 701 more bytes]"
    assert result.value_repr is not None and result.value_repr.startswith("'qqq")
    assert result.value_repr.endswith("more bytes]")
    assert result.truncated


def test_exception_gives_error_with_trimmed_traceback(session: Session) -> None:
    result = session.run_python("def f():\n    return 1 / 0\nf()")
    assert result.status == "error"
    assert result.error is not None
    assert "ZeroDivisionError: division by zero" in result.error
    assert 'File "<step' in result.error and "in f" in result.error
    assert "runtime.py" not in result.error and "sandbox" not in result.error
    assert "ZeroDivisionError" in result.stderr


def test_syntax_error_is_an_error(session: Session) -> None:
    result = session.run_python("def broken(:\n")
    assert result.status == "error"
    assert result.error is not None and "SyntaxError" in result.error
    assert "ast.py" not in result.error


def test_system_exit_does_not_end_the_session(session: Session) -> None:
    result = session.run_python("import sys\nkeep = 1\nsys.exit(3)")
    assert result.status == "error"
    assert session.run_python("keep").value_repr == "1"


def test_stdin_is_empty(session: Session) -> None:
    result = session.run_python("input()")
    assert result.status == "error"
    assert result.error is not None and "EOFError" in result.error


# -- timeouts and crashes ---------------------------------------------------------------------


def test_soft_timeout_keeps_state(session: Session) -> None:
    session.run_python("kept = 'still here'")
    pid = session.pid
    result = session.run_python("while True:\n    pass", timeout_s=0.3)
    assert result.status == "timeout"
    assert result.timed_out
    assert not result.session_restarted
    assert result.error is not None and "StepTimeout" in result.error
    assert session.pid == pid
    assert session.run_python("kept").value_repr == "'still here'"


def test_soft_timeout_is_not_swallowed_by_except_exception(session: Session) -> None:
    code = "try:\n    while True:\n        pass\nexcept Exception:\n    caught = True"
    result = session.run_python(code, timeout_s=0.3)
    assert result.status == "timeout"
    assert session.run_python("'caught' in globals()").value_repr == "False"


def test_hard_timeout_kills_and_restarts(server: SandboxServer) -> None:
    limits = SandboxLimits(timeout_s=0.3, hard_grace_s=0.5)
    with server.open_session(limits=limits) as s:
        s.run_python("lost = 1")
        old_pid, old_scratch = s.pid, s.scratch_dir
        code = (
            "import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\nwhile True:\n    pass"
        )
        result = s.run_python(code)
        assert result.status == "timeout"
        assert result.timed_out and result.session_restarted
        assert s.pid != old_pid
        assert server.wait_teardown()  # files go off the caller's path, right after
        assert not old_scratch.exists()
        assert s.alive
        assert s.run_python("'lost' in globals()").value_repr == "False"
        assert s.run_python("1 + 1").value_repr == "2"


def test_segfault_is_reported_as_crash_and_session_restarts(session: Session) -> None:
    session.run_python("before = 1")
    old_pid = session.pid
    result = session.run_python("import ctypes\nctypes.string_at(0)")
    assert result.status == "crashed"
    assert result.session_restarted
    assert result.error is not None and "SIGSEGV" in result.error
    assert "Segmentation fault" in result.stderr  # faulthandler's report from the dead process
    assert session.pid != old_pid
    assert session.run_python("'before' in globals()").value_repr == "False"
    assert session.run_python("2 * 21").value_repr == "42"


def test_hard_exit_is_a_crash(session: Session) -> None:
    result = session.run_python("import os\nos._exit(7)")
    assert result.status == "crashed"
    assert result.error is not None and "exited with code 7" in result.error
    assert session.run_python("1").value_repr == "1"


def test_malformed_reply_is_untrusted(session: Session) -> None:
    # Agent code writes a frame header announcing 4 GiB onto the session's own connection.
    code = (
        "import os, stat\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
        "            os.write(fd, b'\\xff\\xff\\xff\\xff')\n"
        "    except OSError:\n"
        "        pass\n"
    )
    old_pid = session.pid
    result = session.run_python(code)
    assert result.status == "crashed"
    assert result.error is not None and "malformed reply" in result.error
    assert result.session_restarted
    assert session.pid != old_pid
    assert session.run_python("3").value_repr == "3"


def test_closed_connection_is_a_crash(session: Session) -> None:
    code = (
        "import os, stat, time\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
        "            os.close(fd)\n"
        "    except OSError:\n"
        "        pass\n"
        "time.sleep(60)\n"
    )
    result = session.run_python(code)
    assert result.status == "crashed"
    assert result.session_restarted
    assert session.run_python("4").value_repr == "4"


def test_memory_limit_gives_memory_error_and_session_survives(server: SandboxServer) -> None:
    with server.open_session(limits=SandboxLimits(memory_bytes=1024**3)) as s:
        result = s.run_python("block = bytearray(2 * 1024**3)")
        assert result.status == "error"
        assert result.error is not None and "MemoryError" in result.error
        assert s.run_python("len(bytearray(10 * 1024**2))").value_repr == str(10 * 1024**2)


def test_server_survives_a_session_crash(server: SandboxServer) -> None:
    with server.open_session() as bystander, server.open_session() as victim:
        bystander.run_python("mine = 'safe'")
        assert victim.run_python("import ctypes\nctypes.string_at(0)").status == "crashed"
        assert bystander.run_python("mine").value_repr == "'safe'"
        with server.open_session() as fresh:
            assert fresh.run_python("5").value_repr == "5"
    assert server.running


# -- SQL ---------------------------------------------------------------------------------------


def test_sql_renders_a_table_with_total_rows(db_session: Session) -> None:
    result = db_session.run_sql("SELECT ward, COUNT(*) AS n FROM visits GROUP BY ward ORDER BY ward")
    assert result.status == "ok", result.error
    lines = result.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "ward" and lines[0].split("|")[1].strip() == "n"
    assert [line.split("|")[1].strip() for line in lines[2:5]] == ["34", "33", "33"]
    assert lines[-1] == "(3 rows)"


def test_sql_caps_rows_and_reports_the_total(db_session: Session) -> None:
    result = db_session.run_sql("SELECT * FROM visits ORDER BY id", max_rows=5)
    assert result.status == "ok"
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 5 + 1
    assert lines[-1] == "(showing first 5 of 100 rows)"


def test_sql_is_read_only(db_session: Session, database: Path) -> None:
    result = db_session.run_sql("INSERT INTO visits VALUES (999, 'x', 1.0)")
    assert result.status == "error"
    assert result.error is not None and "readonly" in result.error
    assert sqlite3.connect(database).execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 100


def test_sql_errors_carry_sqlite_message(db_session: Session) -> None:
    result = db_session.run_sql("SELECT no_such_column FROM visits")
    assert result.status == "error"
    assert result.error is not None and "no such column: no_such_column" in result.error
    unknown = db_session.run_sql("SELECT 1", database="nope")
    assert unknown.status == "error" and unknown.error is not None and "unknown database" in unknown.error


def test_sql_without_database_is_an_error(session: Session) -> None:
    result = session.run_sql("SELECT 1")
    assert result.status == "error"


def test_sql_soft_timeout_interrupts_the_query(db_session: Session) -> None:
    db_session.run_python("survivor = 1")
    pid = db_session.pid
    query = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
    result = db_session.run_sql(query, timeout_s=0.3)
    assert result.status == "timeout"
    assert result.timed_out and not result.session_restarted
    assert db_session.pid == pid
    assert db_session.run_python("survivor").value_repr == "1"
    assert db_session.run_sql("SELECT COUNT(*) FROM visits").status == "ok"


def test_databases_are_visible_to_python(db_session: Session, database: Path) -> None:
    result = db_session.run_python(
        "con = sqlite3.connect(DATABASES['ehr'])\ncon.execute('SELECT COUNT(*) FROM visits').fetchone()[0]"
    )
    assert result.value_repr == "100"


# -- isolation ---------------------------------------------------------------------------------


def test_scratch_dir_per_session_with_home_and_tmpdir(server: SandboxServer) -> None:
    with server.open_session() as first, server.open_session() as second:
        assert first.scratch_dir != second.scratch_dir
        assert first.scratch_dir.is_dir()
        where = first.run_python(
            "import os, tempfile\n"
            "(os.getcwd(), os.environ['HOME'], os.environ['TMPDIR'], tempfile.gettempdir())"
        )
        assert where.value_repr == repr((str(first.scratch_dir),) * 4)
        first.run_python("open('note.txt', 'w').write('hello')\nsecret_var = 1")
        assert (first.scratch_dir / "note.txt").read_text() == "hello"
        assert not (second.scratch_dir / "note.txt").exists()
        assert second.run_python("'secret_var' in globals()").value_repr == "False"
        scratch = first.scratch_dir
    assert server.wait_teardown()  # closing removes it, off the caller's path
    assert not scratch.exists()


def test_environment_is_scrubbed(session: Session, server: SandboxServer) -> None:
    assert os.environ.get(SECRET_VAR) == SECRET_VALUE  # the client has it; the sandbox must not
    result = session.run_python("import os\n(sorted(os.environ), open('/proc/self/environ', 'rb').read())")
    assert result.status == "ok"
    assert result.value_repr is not None
    assert SECRET_VAR not in result.value_repr and SECRET_VALUE not in result.value_repr
    assert "'HOME'" in result.value_repr and "'TMPDIR'" in result.value_repr
    assert server.pid is not None
    server_environ = Path(f"/proc/{server.pid}/environ").read_bytes()
    assert SECRET_VALUE.encode() not in server_environ
    assert set(item.split(b"=")[0] for item in server_environ.split(b"\0") if item) <= {b"PATH", b"LANG"}


def test_rlimits_are_applied(server: SandboxServer) -> None:
    limits = SandboxLimits(memory_bytes=2 * 1024**3, cpu_s=123, file_size_bytes=8 * 1024**2, open_files=64)
    with server.open_session(limits=limits) as s:
        result = s.run_python(
            "import resource as r\n"
            "names = ('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_CORE')\n"
            "[r.getrlimit(getattr(r, n))[0] for n in names]"
        )
        assert result.value_repr == repr([2 * 1024**3, 123, 8 * 1024**2, 64, 0])
        too_big = s.run_python("open('big.bin', 'wb').write(b'0' * (9 * 1024**2))")
        assert too_big.status == "error"
        assert too_big.error is not None and "File too large" in too_big.error
        assert s.alive


def test_inherited_descriptors_are_closed(session: Session) -> None:
    result = session.run_python(
        "import os, stat\n"
        "def kind(fd):\n"
        "    try:\n"
        "        return stat.S_IFMT(os.fstat(fd).st_mode)\n"
        "    except OSError:\n"
        "        return None  # the descriptor listdir itself used\n"
        "kinds = [kind(int(f)) for f in os.listdir('/proc/self/fd')]\n"
        "kinds.count(stat.S_IFSOCK), kinds.count(stat.S_IFIFO)"
    )
    assert result.value_repr == "(1, 0)"  # only the session's own connection; no server pipes


def test_layers_and_level_are_reported(server: SandboxServer) -> None:
    from medagentgym.sandbox.hardening import DEFAULT_LAYERS, isolation_level

    assert set(server.layers) <= set(DEFAULT_LAYERS)
    assert server.layers[:5] == ("pdeathsig", "stdin_null", "close_fds", "scrub_env", "rlimits")
    assert server.level == isolation_level(server.layers)
    assert set(server.layers) | set(server.skipped_layers) == set(DEFAULT_LAYERS)


# Without seccomp a session may start processes; the machinery that kills them must still work.
WEAK_LAYERS = ("pdeathsig", "stdin_null", "close_fds", "scrub_env", "rlimits")


# -- concurrency and lifecycle ----------------------------------------------------------------


def test_sessions_in_parallel_threads(server: SandboxServer) -> None:
    results: dict[int, list[str | None]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with server.open_session() as s:
                s.run_python(f"mine = {n}")
                results[n] = [s.run_python(f"mine * {k}").value_repr for k in range(1, 6)]
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {n: [str(n * k) for k in range(1, 6)] for n in range(12)}


def test_closed_session_refuses_steps(server: SandboxServer) -> None:
    s = server.open_session()
    s.close()
    assert not s.alive
    with pytest.raises(RuntimeError):
        s.run_python("1")


def test_closing_the_server_leaves_no_processes_or_files() -> None:
    srv = SandboxServer()
    srv.start()
    sessions = [srv.open_session() for _ in range(3)]
    pids = [s.pid for s in sessions] + [srv.pid]
    scratch = [s.scratch_dir for s in sessions]
    srv.close()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie_of_someone_else(pid)
    assert not any(path.exists() for path in scratch)
    assert not scratch[0].parents[2].exists()  # the server's private root dir


def _is_zombie_of_someone_else(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def _gone(pid: int, within_s: float = 10.0) -> bool:
    """Poll until ``pid`` has exited (or is only a zombie); a limit, not a speed assertion."""
    import time

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _is_zombie_of_someone_else(pid):
            return True
        time.sleep(0.02)
    return False


@pytest.mark.filterwarnings("ignore:SANDBOX DEGRADED")
def test_processes_spawned_by_agent_code_die_with_the_session() -> None:
    with SandboxServer(layers=WEAK_LAYERS, allow_insecure=True) as server:
        _spawned_process_dies_with_session(server)


def _spawned_process_dies_with_session(server: SandboxServer) -> None:
    s = server.open_session()
    result = s.run_python("import subprocess\nsubprocess.Popen(['sleep', '300']).pid")
    assert result.status == "ok", result.error
    assert result.value_repr is not None
    spawned = int(result.value_repr)
    assert Path(f"/proc/{spawned}").exists()
    s.close()
    assert _gone(spawned)


@pytest.mark.filterwarnings("ignore:SANDBOX DEGRADED")
def test_escaped_processes_die_with_the_server() -> None:
    with SandboxServer(layers=WEAK_LAYERS, allow_insecure=True) as srv, srv.open_session() as s:
        result = s.run_python(
            "import subprocess\nsubprocess.Popen(['sleep', '300'], start_new_session=True).pid"
        )
        assert result.value_repr is not None
        escaped = int(result.value_repr)
    assert _gone(escaped)


def test_sessions_die_with_a_killed_server_and_steps_report_infra_error() -> None:
    import signal

    with SandboxServer() as srv, srv.open_session() as s:
        session_pid = s.pid
        assert srv.pid is not None
        os.kill(srv.pid, signal.SIGKILL)
        assert _gone(session_pid)  # PR_SET_PDEATHSIG
        first = s.run_python("1")
        assert first.status == "crashed"
        assert not first.session_restarted
        assert first.error is not None and "failed" in first.error
        second = s.run_python("1")
        assert second.status == "infra_error"
        assert not srv.running


def test_close_during_a_step_ends_the_step(server: SandboxServer) -> None:
    import time

    s = server.open_session()
    marker = s.scratch_dir / "running"
    outcome: list[str] = []

    def step() -> None:
        code = "import time\nopen('running', 'w').close()\ntime.sleep(30)"
        outcome.append(s.run_python(code, timeout_s=60).status)

    thread = threading.Thread(target=step)
    thread.start()
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:  # wait until the step runs
        time.sleep(0.01)
    assert marker.exists()
    s.close()  # from another thread, while that thread holds the session's step lock
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome == ["infra_error"]
    assert not s.alive
