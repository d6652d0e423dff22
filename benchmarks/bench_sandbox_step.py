"""Latency of one step in a warm sandbox session versus a fresh ``python -c`` per execution.

    python benchmarks/bench_sandbox_step.py [--repeats N] [--idle-sessions M]

Prints, for three snippets (trivial, pandas, SQLite group-by over 10k rows), the median and p90
client-observed latency of both designs and their ratio (baseline / session), then the cost of
opening a session and the memory of M idle sessions (PSS, so shared copy-on-write pages are
split fairly between processes).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from medagentgym.catalog.sample import Resource
from medagentgym.sandbox import SandboxServer, Session

GROUP_BY = "SELECT g, COUNT(*) AS n, AVG(v) AS mean_v FROM t GROUP BY g ORDER BY g"


def _build_db(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, g TEXT, v REAL)")
    connection.executemany(
        "INSERT INTO t VALUES (?, ?, ?)", [(i, f"g{i % 50}", i * 0.5) for i in range(10_000)]
    )
    connection.commit()
    connection.close()


def _time(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up, not measured
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _stats(samples: list[float]) -> tuple[float, float]:
    median = statistics.median(samples)
    p90 = statistics.quantiles(samples, n=10)[8] if len(samples) >= 2 else median
    return median * 1000, p90 * 1000


def _subprocess(code: str) -> Callable[[], object]:
    def run() -> None:
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)

    return run


def _step(session: Session, kind: str, code: str) -> Callable[[], object]:
    def run() -> None:
        result = session.run_sql(code) if kind == "sql" else session.run_python(code)
        if result.status != "ok":
            raise RuntimeError(f"benchmark step failed: {result.error}")

    return run


def _pss_kib(pid: int) -> tuple[int, int]:
    """(PSS, private) of a process in KiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--idle-sessions", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        _build_db(db)
        cases = [
            ("trivial", "python", "x = 1 + 1", "x = 1 + 1"),
            (
                "pandas",
                "python",
                "pd.DataFrame({'a': range(1000)}).a.sum()",
                "import pandas as pd; print(pd.DataFrame({'a': range(1000)}).a.sum())",
            ),
            (
                "sqlite group-by (10k rows)",
                "sql",
                GROUP_BY,
                f"import sqlite3; print(len(sqlite3.connect({str(db)!r}).execute({GROUP_BY!r}).fetchall()))",
            ),
        ]
        started = time.perf_counter()
        with SandboxServer() as server:
            start_s = time.perf_counter() - started
            resources = [Resource(kind="sqlite", name="bench", path=str(db))]
            rows = []
            with server.open_session(resources) as session:
                for label, kind, step_code, baseline_code in cases:
                    warm = _stats(_time(_step(session, kind, step_code), args.repeats))
                    cold = _stats(_time(_subprocess(baseline_code), args.repeats))
                    rows.append((label, cold, warm))

            opens: list[float] = []
            closes: list[float] = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                s = server.open_session(resources)
                t1 = time.perf_counter()
                s.close()
                opens.append(t1 - t0)
                closes.append(time.perf_counter() - t1)

            memory = None
            if args.idle_sessions > 0:
                idle = [server.open_session(resources) for _ in range(args.idle_sessions)]
                for s in idle:
                    s.run_python("x = 1")
                usage = [_pss_kib(s.pid) for s in idle]
                server_pss = _pss_kib(server.pid)[0] if server.pid else 0
                memory = (
                    args.idle_sessions,
                    sum(u[0] for u in usage) / len(usage) / 1024,
                    sum(u[1] for u in usage) / len(usage) / 1024,
                    sum(u[0] for u in usage) / 1024,
                    server_pss / 1024,
                )
                for s in idle:
                    s.close()
            level, layers = server.level, server.layers

    print(f"sandbox level: {level}  layers: {', '.join(layers)}")
    print(f"repeats per cell: {args.repeats} (after one warm-up); latency is client-observed, ms\n")
    header = (
        f"{'snippet':<28} {'python -c median':>17} {'p90':>8} {'session median':>15} {'p90':>8} {'ratio':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, (cold_med, cold_p90), (warm_med, warm_p90) in rows:
        ratio = cold_med / warm_med
        print(
            f"{label:<28} {cold_med:>17.2f} {cold_p90:>8.2f} "
            f"{warm_med:>15.3f} {warm_p90:>8.3f} {ratio:>7.0f}x"
        )
    print()
    open_med, open_p90 = _stats(opens)
    close_med, close_p90 = _stats(closes)
    print(f"server start (imports pandas, numpy, scipy once): {start_s * 1000:.0f} ms")
    print(f"session open: median {open_med:.2f} ms, p90 {open_p90:.2f} ms")
    print(f"session close: median {close_med:.2f} ms, p90 {close_p90:.2f} ms")
    if memory is not None:
        n, pss, private, total, server_pss = memory
        print(
            f"{n} idle sessions: {pss:.1f} MiB PSS each ({private:.1f} MiB private), "
            f"{total:.0f} MiB PSS in all; server {server_pss:.0f} MiB PSS"
        )


if __name__ == "__main__":
    main()
