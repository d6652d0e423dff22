"""What containment round 2 costs: sessions with the new layers versus the round-1 layer set.

    python benchmarks/bench_containment_round2.py [--opens N] [--repeats N]

Two servers in the same run, measured interleaved (alternating which goes first) so that load
spikes on a shared machine hit both alike:

- ``round2``: every default layer, including ``cgroups`` (a memory and a pids group per session)
  and ``fs_jail`` (the session's own root: tmpfs, read-only binds, a fresh procfs, chroot);
- ``round1``: the same list without those two layers (the round-1 design; the seccomp filter
  still carries the round-2 denials, which cost nothing measurable: a few more BPF instructions).

Printed: median and p90 of opening and closing a session (client-observed: fork, hardening,
first reply; then kill, unmount, group removal), the CPU that costs the server and the session
(from the server's own and its reaped children's CPU times), and of one step (trivial Python, a pandas
snippet, a SQLite group-by over 10k rows), with the ratio round2/round1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sandbox_step import GROUP_BY, _build_db, _stats, _step  # noqa: E402

from medagentgym.catalog.sample import Resource  # noqa: E402
from medagentgym.sandbox import DEFAULT_LAYERS, SandboxServer  # noqa: E402

NEW_LAYERS = ("cgroups", "fs_jail")
ROUND1 = tuple(name for name in DEFAULT_LAYERS if name not in NEW_LAYERS)
DESIGNS = ("round1", "round2")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=60, help="sessions opened and closed per design")
    parser.add_argument("--repeats", type=int, default=200, help="steps per snippet per design")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        _build_db(db)
        resources = (Resource(kind="sqlite", name="bench", path=str(db)),)
        with SandboxServer(layers=ROUND1, read_only_paths=[tmp]) as r1, SandboxServer(
            layers=DEFAULT_LAYERS, read_only_paths=[tmp]
        ) as r2:
            servers = {"round1": r1, "round2": r2}
            for name, server in servers.items():
                print(f"{name}: level {server.level}, layers {','.join(server.layers)}")
            missing = [n for n in NEW_LAYERS if n not in r2.layers]
            if missing:
                print(f"note: this machine does not apply {missing}: {r2.skipped_layers}")
            opens: dict[str, list[float]] = {d: [] for d in DESIGNS}
            cpu: dict[str, float] = {d: 0.0 for d in DESIGNS}
            for i in range(args.opens + 2):
                order = DESIGNS if i % 2 == 0 else DESIGNS[::-1]
                for design in order:
                    cpu_before = _server_cpu_s(servers[design])
                    start = time.perf_counter()
                    session = servers[design].open_session(resources)
                    session.run_python("None")
                    session.close()
                    if i >= 2:  # the first two rounds warm up
                        opens[design].append(time.perf_counter() - start)
                        cpu[design] += _server_cpu_s(servers[design]) - cpu_before
            print(f"\nsession open + first step + close ({args.opens} each)")
            _print_row("open+close", {d: _stats(opens[d]) for d in DESIGNS})
            per = {d: 1000 * cpu[d] / args.opens for d in DESIGNS}
            print(
                f"  {'CPU (server+session)':<22} round1 {per['round1']:8.3f} ms"
                f"{'':17}round2 {per['round2']:8.3f} ms{'':17}round2/round1 {per['round2'] / max(per['round1'], 1e-9):5.2f}x"
            )
            sessions = {d: servers[d].open_session(resources) for d in DESIGNS}
            cases = [
                ("trivial", "python", "x = 1 + 1"),
                ("pandas", "python", "pd.DataFrame({'a': range(1000)}).a.sum()"),
                ("sqlite group-by 10k", "sql", GROUP_BY),
            ]
            print(f"\none step ({args.repeats} each)")
            for label, kind, code in cases:
                runners = {d: _step(sessions[d], kind, code) for d in DESIGNS}
                samples: dict[str, list[float]] = {d: [] for d in DESIGNS}
                for run in runners.values():
                    run()
                for i in range(args.repeats):
                    for design in DESIGNS if i % 2 == 0 else DESIGNS[::-1]:
                        start = time.perf_counter()
                        runners[design]()
                        samples[design].append(time.perf_counter() - start)
                _print_row(label, {d: _stats(samples[d]) for d in DESIGNS})
            for session in sessions.values():
                session.close()
    return 0


def _server_cpu_s(server: SandboxServer) -> float:
    """CPU seconds of the server and of its reaped sessions (utime, stime, cutime, cstime); a
    session's CPU is counted once the server has reaped it, so this lags by at most one session."""
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _print_row(label: str, stats: dict[str, tuple[float, float]]) -> None:
    (m1, p1), (m2, p2) = stats["round1"], stats["round2"]
    print(
        f"  {label:<22} round1 {m1:8.3f} ms (p90 {p1:8.3f})   round2 {m2:8.3f} ms (p90 {p2:8.3f})"
        f"   round2/round1 {m2 / m1:5.2f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
