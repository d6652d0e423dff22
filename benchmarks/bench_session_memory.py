"""Memory of live sessions: idle and working PSS per session, and the server's own.

    python benchmarks/bench_session_memory.py [--sessions 256] [--rows 10000]

Opens N sessions on one server and reads ``/proc/<pid>/smaps_rollup`` of each: PSS (shared pages
split fairly among the processes sharing them, so N sessions' PSS adds up to what they cost
together) and private memory (what closing that one session frees). Idle: after one trivial
step. Working: after a pandas group-by over a frame of ``--rows`` rows built in the session.
Also the server's PSS, and with ``--warm`` a pool of that many warm sessions is included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from medagentgym.sandbox import SandboxServer

GROUP_BY = (
    "import numpy as np\n"
    "df = pd.DataFrame({{'g': np.arange({rows}) % 50, 'v': np.arange({rows}, dtype=float)}})\n"
    "out = df.groupby('g').v.agg(['count', 'mean'])\n"
    "len(out)"
)


def _rollup_kib(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name.strip()] = int(value.split()[0])
    return fields


def _summary(pids: list[int]) -> tuple[float, float, float]:
    """(mean PSS MiB, mean private MiB, total PSS MiB) over the sessions."""
    rollups = [_rollup_kib(pid) for pid in pids]
    pss = [r["Pss"] / 1024 for r in rollups]
    private = [(r["Private_Clean"] + r["Private_Dirty"]) / 1024 for r in rollups]
    return statistics.mean(pss), statistics.mean(private), sum(pss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=256)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--warm", type=int, default=0)
    args = parser.parse_args()

    with SandboxServer(warm_sessions=args.warm) as server:
        server_before = _rollup_kib(server.pid or 0)["Pss"] / 1024 if server.pid else 0.0
        started = time.perf_counter()
        sessions = [server.open_session() for _ in range(args.sessions)]
        open_s = time.perf_counter() - started
        try:
            for s in sessions:
                if s.run_python("x = 1").status != "ok":
                    raise RuntimeError("idle step failed")
            idle = _summary([s.pid for s in sessions])
            server_idle = _rollup_kib(server.pid)["Pss"] / 1024 if server.pid else 0.0
            code = GROUP_BY.format(rows=args.rows)
            for s in sessions:
                result = s.run_python(code)
                if result.status != "ok":
                    raise RuntimeError(f"group-by failed: {result.error}")
            working = _summary([s.pid for s in sessions])
            server_working = _rollup_kib(server.pid)["Pss"] / 1024 if server.pid else 0.0
            warm_pids = [child.pid for stock in server._pool._stocks.values() for child in stock.ready]
            warm = _summary(warm_pids) if warm_pids else None
        finally:
            for s in sessions:
                s.close()
        level, layers = server.level, server.layers

    print(f"level: {level}  layers: {', '.join(layers)}")
    print(f"{args.sessions} sessions opened in {open_s:.1f} s; load average {os.getloadavg()[0]:.2f}\n")
    print(f"{'state':<34} {'PSS/session':>12} {'private/session':>16} {'PSS all sessions':>17}")
    print(f"{'idle (after x = 1)':<34} {idle[0]:>9.1f} MiB {idle[1]:>12.1f} MiB {idle[2]:>13.0f} MiB")
    label = f"working (pandas group-by, {args.rows} rows)"
    print(f"{label:<34} {working[0]:>9.1f} MiB {working[1]:>12.1f} MiB {working[2]:>13.0f} MiB")
    if warm is not None:
        print(f"{f'warm in the pool ({len(warm_pids)})':<34} {warm[0]:>9.1f} MiB {warm[1]:>12.1f} MiB {warm[2]:>13.0f} MiB")
    print(
        f"\nserver PSS: {server_before:.0f} MiB before any session, {server_idle:.0f} MiB with {args.sessions} idle, "
        f"{server_working:.0f} MiB with {args.sessions} working (it shares its pages with every session)"
    )


if __name__ == "__main__":
    main()
