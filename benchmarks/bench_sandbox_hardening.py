"""What the sandbox hardening costs: hardened sessions versus unhardened ones versus a subprocess.

    python benchmarks/bench_sandbox_hardening.py [--repeats N] [--seconds S] [--sessions 20,100]

Three designs are measured in the same run, interleaved so that a load spike on a shared machine
hits all of them alike:

- ``hardened``: a session of a server with every default layer (level ``landlock+seccomp`` on a
  kernel that offers it);
- ``off``: a session of a second server with only the layers a session needs to work at all
  (parent-death signal, stdin from /dev/null, inherited descriptors closed, environment scrubbed;
  level ``none``, started with ``allow_insecure=True``);
- ``subprocess``: a fresh ``python -c`` per execution (imports included), the naive baseline.

Printed: per snippet (trivial, pandas, SQLite group-by over 10k rows) the client-observed median
and p90 latency of one client and the ratios hardened/off (the overhead of hardening) and
subprocess/hardened (the speed-up of sessions); executions per second with two concurrent
clients (two threads, each with its own session, or each spawning its own processes); session
open latency; and the memory (PSS, so pages shared copy-on-write with the server are split
fairly) of idle and of working sessions at each ``--sessions`` count, hardened, and at the
smallest count with hardening off. The load average is printed at start and end because the
numbers mean little on a machine that other jobs are using.

Reuses the helpers of ``bench_sandbox_step.py`` (same directory).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported from elsewhere

from bench_sandbox_step import GROUP_BY, _build_db, _pss_kib, _stats, _step, _subprocess  # noqa: E402

from medagentgym.catalog.sample import Resource  # noqa: E402
from medagentgym.sandbox import DEFAULT_LAYERS, SandboxServer, Session  # noqa: E402

# The least a session needs to run and be cleaned up; none of these confines agent code.
UNHARDENED_LAYERS: tuple[str, ...] = ("pdeathsig", "stdin_null", "close_fds", "scrub_env")
DESIGNS: tuple[str, ...] = ("hardened", "off", "subprocess")
ROUNDS = 3  # a throughput cell is split into this many rounds, interleaved with the other designs
# What a "working" session holds: a 10k-row DataFrame read from the database, and a group-by of it.
WORKING_CODE = (
    "df = pd.read_sql_query('SELECT * FROM t', "
    "sqlite3.connect('file:' + DATABASES['bench'] + '?mode=ro', uri=True))\n"
    "by_group = df.groupby('g').v.agg(['count', 'mean'])\n"
    "len(df), len(by_group)"
)


@dataclass(frozen=True)
class Case:
    label: str
    kind: str  # "python" or "sql" inside a session
    step_code: str  # what a session runs (pandas is already imported there)
    baseline_code: str  # what ``python -c`` runs (it has to import what it uses)


def _cases(db: Path) -> list[Case]:
    return [
        Case("trivial", "python", "x = 1 + 1", "x = 1 + 1"),
        Case(
            "pandas",
            "python",
            "pd.DataFrame({'a': range(1000)}).a.sum()",
            "import pandas as pd; print(pd.DataFrame({'a': range(1000)}).a.sum())",
        ),
        Case(
            "sqlite group-by 10k",
            "sql",
            GROUP_BY,
            f"import sqlite3; print(len(sqlite3.connect({str(db)!r}).execute({GROUP_BY!r}).fetchall()))",
        ),
    ]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


@contextmanager
def _servers() -> Iterator[dict[str, SandboxServer]]:
    """Both servers, started once; the unhardened one warns (level ``none``), which is the point."""
    with ExitStack() as stack:
        hardened = stack.enter_context(SandboxServer(layers=DEFAULT_LAYERS))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            off = stack.enter_context(SandboxServer(layers=UNHARDENED_LAYERS, allow_insecure=True))
        yield {"hardened": hardened, "off": off}


def _runner(design: str, case: Case, sessions: dict[str, Session]) -> Callable[[], object]:
    if design == "subprocess":
        return _subprocess(case.baseline_code)
    return _step(sessions[design], case.kind, case.step_code)


# -- latency, one client ------------------------------------------------------------------------


def _latency(
    cases: Sequence[Case], sessions: dict[str, Session], repeats: int
) -> dict[tuple[str, str], tuple[float, float]]:
    """Median and p90 (ms) per (snippet, design); designs alternate, starting design rotates."""
    result: dict[tuple[str, str], tuple[float, float]] = {}
    for case in cases:
        runners = {design: _runner(design, case, sessions) for design in DESIGNS}
        samples: dict[str, list[float]] = {design: [] for design in DESIGNS}
        for run in runners.values():
            run()  # warm-up, not measured
        for i in range(repeats):
            order = DESIGNS[i % 3 :] + DESIGNS[: i % 3]
            for design in order:
                start = time.perf_counter()
                runners[design]()
                samples[design].append(time.perf_counter() - start)
        for design in DESIGNS:
            result[(case.label, design)] = _stats(samples[design])
    return result


# -- throughput, two clients --------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (clock-tick resolution, so measured over
    hundreds of executions)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    """CPU seconds of this process's reaped children (the ``python -c`` baselines)."""
    times = os.times()
    return times.children_user + times.children_system


@dataclass(frozen=True)
class Throughput:
    rate: float  # executions per second, both clients together
    count: int
    cpu_ms: float  # CPU per execution where the code runs: session process, or the subprocess
    elapsed: float = 0.0

    @staticmethod
    def combine(parts: Sequence[Throughput]) -> Throughput:
        count = sum(p.count for p in parts)
        elapsed = sum(p.elapsed for p in parts)
        cpu_ms = sum(p.cpu_ms * p.count for p in parts) / count
        return Throughput(count / elapsed, count, cpu_ms, elapsed)


def _throughput(
    design: str, case: Case, servers: dict[str, SandboxServer], resources: list[Resource], seconds: float
) -> Throughput:
    """Two threads running ``case`` for ``seconds``: executions per second and CPU per execution.

    Each thread owns its session (or spawns its own processes); the clock starts when both are
    ready and stops when the later one finishes the execution that crossed the deadline. CPU is
    counted where the code runs, so it is less sensitive than wall-clock to other load on the
    machine: the session processes, or the reaped ``python -c`` children.
    """
    clients = 2
    counts = [0] * clients
    finished = [0.0] * clients
    cpu = [0.0] * clients
    errors: list[BaseException] = []
    started: list[float] = []  # set once, by the barrier's action, before any thread goes on
    children_cpu: list[float] = []

    def on_start() -> None:
        children_cpu.append(_children_cpu_s())
        started.append(time.perf_counter())

    barrier = threading.Barrier(clients, action=on_start)

    def client(index: int) -> None:
        try:
            with ExitStack() as stack:
                sessions: dict[str, Session] = {}
                if design != "subprocess":
                    sessions[design] = stack.enter_context(servers[design].open_session(resources))
                run = _runner(design, case, sessions)
                pid = sessions[design].pid if sessions else None
                if pid:
                    run()  # warm-up of a fresh session (a subprocess has nothing to warm)
                barrier.wait()
                cpu_start = _cpu_s(pid) if pid else 0.0
                deadline = started[0] + seconds
                while time.perf_counter() < deadline:
                    run()
                    counts[index] += 1
                finished[index] = time.perf_counter()
                cpu[index] = _cpu_s(pid) - cpu_start if pid else 0.0
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0])
        raise RuntimeError(f"throughput client failed ({design}, {case.label})") from first
    elapsed = max(finished) - started[0]
    total = sum(counts)
    cpu_s = _children_cpu_s() - children_cpu[0] if design == "subprocess" else sum(cpu)
    return Throughput(total / elapsed, total, cpu_s / total * 1000, elapsed)


# -- session open -------------------------------------------------------------------------------


def _open_latency(
    servers: dict[str, SandboxServer], resources: list[Resource], repeats: int
) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """(open, close) median/p90 in ms per server; the two servers alternate."""
    opens: dict[str, list[float]] = {name: [] for name in servers}
    closes: dict[str, list[float]] = {name: [] for name in servers}
    for name, server in servers.items():  # warm-up
        server.open_session(resources).close()
    for _ in range(repeats):
        for name, server in servers.items():
            t0 = time.perf_counter()
            session = server.open_session(resources)
            t1 = time.perf_counter()
            session.close()
            opens[name].append(t1 - t0)
            closes[name].append(time.perf_counter() - t1)
    return {name: (_stats(opens[name]), _stats(closes[name])) for name in servers}


# -- memory -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """PSS of n concurrent sessions in one state, MiB."""

    design: str
    sessions: int
    state: str  # "idle" or "working"
    mean_pss: float
    max_pss: float
    mean_private: float  # what one more such session costs, roughly
    sessions_pss: float
    server_pss: float

    @property
    def total(self) -> float:
        return self.sessions_pss + self.server_pss


def _memory(design: str, server: SandboxServer, resources: list[Resource], n: int) -> list[Memory]:
    """Open n sessions, measure them idle (after one trivial step), then working, then close."""

    def measure(state: str, sessions: list[Session]) -> Memory:
        usage = [_pss_kib(s.pid) for s in sessions]
        pss = [u[0] / 1024 for u in usage]
        return Memory(
            design=design,
            sessions=n,
            state=state,
            mean_pss=statistics.fmean(pss),
            max_pss=max(pss),
            mean_private=statistics.fmean(u[1] / 1024 for u in usage),
            sessions_pss=sum(pss),
            server_pss=_pss_kib(server.pid)[0] / 1024 if server.pid else 0.0,
        )

    sessions: list[Session] = []
    try:
        for _ in range(n):
            sessions.append(server.open_session(resources))
        for session in sessions:
            _step(session, "python", "x = 1")()
        idle = measure("idle", sessions)
        for session in sessions:
            result = session.run_python(WORKING_CODE)
            if result.status != "ok" or result.value_repr != "(10000, 50)":
                raise RuntimeError(f"working snippet failed: {result.error or result.value_repr}")
        working = measure("working", sessions)
    finally:
        for session in sessions:
            session.close()
    return [idle, working]


# -- report -------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], first_width: int = 22) -> None:
    widths = [first_width] + [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header) if i]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    print()


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def _print_memory(memory: Sequence[Memory], compare_at: int) -> None:
    print("Memory of concurrent sessions, MiB PSS (idle: after `x = 1`; working: holds a 10k-row")
    print("DataFrame read from SQLite and its group-by); private = not shared with any process")
    rows = [
        [
            m.design,
            str(m.sessions),
            m.state,
            f"{m.mean_pss:.1f}",
            f"{m.max_pss:.1f}",
            f"{m.mean_private:.1f}",
            f"{m.sessions_pss:.0f}",
            f"{m.server_pss:.0f}",
            f"{m.total:.0f}",
        ]
        for m in memory
    ]
    _table(
        ["design", "sessions", "state", "mean/session", "max", "private", "all sessions", "server", "total"],
        rows,
        first_width=8,
    )
    by_key = {(m.design, m.sessions, m.state): m for m in memory}
    for state in ("idle", "working"):
        hard, off = by_key[("hardened", compare_at, state)], by_key[("off", compare_at, state)]
        print(f"{state} session PSS hardened/off at {compare_at}: {_ratio(hard.mean_pss / off.mean_pss)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=30, help="latency samples per cell")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of a throughput cell")
    parser.add_argument("--sessions", default="20,100", help="concurrent session counts for memory")
    args = parser.parse_args()
    counts = [int(c) for c in args.sessions.split(",") if c.strip()]

    load_start = _load()
    wall_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        _build_db(db)
        resources = [Resource(kind="sqlite", name="bench", path=str(db))]
        cases = _cases(db)
        with _servers() as servers:
            levels = {name: (server.level, server.layers) for name, server in servers.items()}
            with ExitStack() as stack:
                one_client = {
                    name: stack.enter_context(server.open_session(resources))
                    for name, server in servers.items()
                }
                latency = _latency(cases, one_client, args.repeats)
            throughput: dict[tuple[str, str], Throughput] = {}
            for case in cases:
                cells: dict[str, list[Throughput]] = {design: [] for design in DESIGNS}
                for i in range(ROUNDS):  # short rounds, designs rotated: load drift hits all alike
                    for design in DESIGNS[i % 3 :] + DESIGNS[: i % 3]:
                        cells[design].append(
                            _throughput(design, case, servers, resources, args.seconds / ROUNDS)
                        )
                for design, parts in cells.items():
                    throughput[(case.label, design)] = Throughput.combine(parts)
            opening = _open_latency(servers, resources, args.repeats)
            memory: list[Memory] = []
            memory_note = ""
            try:
                for n in counts:
                    memory += _memory("hardened", servers["hardened"], resources, n)
                if counts:
                    memory += _memory("off", servers["off"], resources, min(counts))
            except PermissionError as exc:  # sessions are not dumpable: needs root (CAP_SYS_PTRACE)
                memory, memory_note = [], f"memory not measured: {exc} (run as root to read smaps)"
    wall = time.perf_counter() - wall_start

    print("sandbox hardening benchmark")
    for name, (level, layers) in levels.items():
        print(f"  {name:<9} level {level:<17} layers: {', '.join(layers)}")
    print("  subprocess: a fresh `python -c` per execution (imports pandas / sqlite3 itself)")
    print(f"  python {sys.version.split()[0]}, load average at start: {load_start}")
    print()

    print(f"Latency, one client, ms ({args.repeats} samples per cell after one warm-up, designs interleaved)")
    rows = []
    for case in cases:
        (h_med, h_p90), (o_med, o_p90), (s_med, s_p90) = (latency[(case.label, d)] for d in DESIGNS)
        rows.append(
            [
                case.label,
                f"{h_med:.3f}",
                f"{h_p90:.3f}",
                f"{o_med:.3f}",
                f"{o_p90:.3f}",
                f"{s_med:.1f}",
                f"{s_p90:.1f}",
                _ratio(h_med / o_med),
                _ratio(s_med / h_med),
            ]
        )
    _table(
        ["snippet", "hardened", "p90", "off", "p90", "subprocess", "p90", "hardened/off", "subproc/hardened"],
        rows,
    )

    print(
        f"Throughput, 2 concurrent clients, executions/s ({args.seconds:g} s per cell in {ROUNDS} "
        "interleaved rounds; count in brackets)"
    )
    rows = []
    for case in cases:
        h, o, s = (throughput[(case.label, d)] for d in DESIGNS)
        rows.append(
            [
                case.label,
                f"{h.rate:.1f} ({h.count})",
                f"{o.rate:.1f} ({o.count})",
                f"{s.rate:.2f} ({s.count})",
                _ratio(h.rate / o.rate),
                _ratio(h.rate / s.rate),
            ]
        )
    _table(["snippet", "hardened", "off", "subprocess", "hardened/off", "hardened/subproc"], rows)

    print("CPU per execution where the code runs, ms (same cells; session process user+sys, or the")
    print("`python -c` child's; less sensitive to other load than wall-clock)")
    rows = []
    for case in cases:
        h, o, s = (throughput[(case.label, d)] for d in DESIGNS)
        rows.append(
            [
                case.label,
                f"{h.cpu_ms:.3f}",
                f"{o.cpu_ms:.3f}",
                f"{s.cpu_ms:.1f}",
                _ratio(h.cpu_ms / o.cpu_ms) if o.cpu_ms else "n/a",
                _ratio(s.cpu_ms / h.cpu_ms) if h.cpu_ms else "n/a",
            ]
        )
    _table(["snippet", "hardened", "off", "subprocess", "hardened/off", "subproc/hardened"], rows)

    print(f"Session open and close, ms ({args.repeats} samples, servers interleaved)")
    rows = []
    for name in ("hardened", "off"):
        (open_med, open_p90), (close_med, close_p90) = opening[name]
        rows.append([name, f"{open_med:.2f}", f"{open_p90:.2f}", f"{close_med:.2f}", f"{close_p90:.2f}"])
    _table(["server", "open median", "p90", "close median", "p90"], rows)
    ratio = opening["hardened"][0][0] / opening["off"][0][0]
    print(f"open latency hardened/off: {_ratio(ratio)}\n")

    if memory_note:
        print(memory_note)
    elif memory:
        _print_memory(memory, min(counts))
    print(f"\nload average at end: {_load()}; whole run {wall:.0f} s")


if __name__ == "__main__":
    main()
