"""Session cost against the number of live sibling sessions: the first mount-view design vs today's.

    python benchmarks/bench_session_siblings.py [--siblings 0,256,512,1024] [--cycles 20] [--warm 0]

Two servers run side by side in one run: ``old`` enters each session's view the first way (copy
the server's mount namespace, with every live sibling's scratch tmpfs in it, then detach them one
by one; that function is kept here, not in the package), ``new`` copies the small template built
at server start and moves its own tmpfs in. For each sibling count each server in turn gets that many
live (real, idle) sessions (one at a time: 1,024 idle sessions hold ~8 GB; the order alternates
per count), then open-run-close cycles are timed back to back and split into phases: fork (request to child), each hardening layer (measured inside the session), the
session runtime's set-up (modules dropped, capture files, ready message), the rest of the open
(client side: reading the ready message, pidfd), the first step, and close. Prints medians, ms,
and the ratio old/new.

Both servers run this file as their "interpreter" (``--as-server``) so that the hooks (the old
view, the phase timers) live only in the benchmark. The phase timers write one small file into
the session's scratch dir, which the client reads. ``--warm N`` gives the new server a warm pool
(see ``SandboxServer(warm_sessions=...)``); opens then take pre-hardened sessions, refilled in the
background during ``--gap-ms`` of idle time between cycles (what an episode's model calls give).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

PHASES_FILE = ".phases.json"


# -- the first design of the scratch view, as it was (for comparison only) ----------------------


def _old_mounts_under(root: str) -> list[str]:
    prefix = os.path.realpath(root).rstrip("/") + "/"
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" ")
        if len(fields) >= 5:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point.startswith(prefix):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def old_private_view(session_dir: Path, private_root: Path, masks: tuple[str, ...]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source: bytes, target: Any, fstype: bytes | None, flags: int, data: bytes | None) -> None:
        if libc.mount(source, os.fsencode(str(target)), fstype, ctypes.c_ulong(flags), data) != 0:
            raise OSError(ctypes.get_errno(), f"mount({target})")

    if libc.unshare(0x00020000) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    mount(b"none", "/", None, 0x4000 | (1 << 18), None)
    own = os.path.realpath(session_dir)
    for _ in range(8):
        foreign = [p for p in _old_mounts_under(str(private_root)) if p != own]
        if not foreign:
            break
        for point in foreign:
            libc.umount2(os.fsencode(point), 2)
    else:
        raise OSError(errno.EBUSY, "could not detach other sessions' scratch")
    hardened = 0x2 | 0x4 | 0x8
    for hidden in masks:
        if os.path.isdir(hidden):
            mount(b"tmpfs", hidden, b"tmpfs", 0x1 | hardened, b"size=4k,mode=0555")
    cwd = os.getcwd()
    mount(os.fsencode(str(private_root)), private_root, None, 0x1000 | 0x4000, None)
    mount(b"none", private_root, None, 0x20 | 0x1000 | 0x1 | hardened, None)
    with contextlib.suppress(OSError):
        os.chdir(cwd)


# -- inside the server (this file run as its interpreter) --------------------------------------


def _run_as_server(variant: str, argv: list[str]) -> int:
    from medagentgym.sandbox import hardening, server

    if variant == "old":

        def apply(self: Any, ctx: Any) -> None:
            old_private_view(ctx.session_dir, ctx.private_root, self._masks)

        hardening.ScratchQuotaLayer.apply = apply  # type: ignore[method-assign]

    opened_at = [0.0]
    original_open = server.ForkServer._open

    def timed_open(self: Any, request: Any, conn_fd: int) -> None:
        opened_at[0] = time.perf_counter()  # inherited by the fork: the same clock in the child
        original_open(self, request, conn_fd)

    child: dict[str, Any] = {}

    def timed_apply(layers: Any, ctx: Any) -> None:
        phases = {"fork": (time.perf_counter() - opened_at[0]) * 1000}
        for layer in layers:
            start = time.perf_counter()
            layer.apply(ctx)
            phases[layer.name] = (time.perf_counter() - start) * 1000
        child.update(phases=phases, path=ctx.scratch_dir / PHASES_FILE, at=time.perf_counter())

    def timed_serve(conn: Any, runtime: Any) -> None:
        child["phases"]["runtime set-up"] = (time.perf_counter() - child["at"]) * 1000
        with open(child["path"], "w") as f:
            json.dump(child["phases"], f)
        original_serve(conn, runtime)

    def timed_forget() -> None:
        start = time.perf_counter()
        original_forget()
        child["phases"]["drop modules"] = (time.perf_counter() - start) * 1000
        child["at"] = time.perf_counter()

    original_serve = server.serve
    original_forget = server._forget_project_modules
    server._forget_project_modules = timed_forget  # type: ignore[assignment]
    server.ForkServer._open = timed_open  # type: ignore[method-assign]
    server.apply_layers = timed_apply  # type: ignore[assignment]
    server.serve = timed_serve  # type: ignore[assignment]
    rest = argv[argv.index("medagentgym.sandbox.server") + 1 :]
    return server.main(rest)


def _interpreter(tmp: Path, variant: str) -> str:
    import medagentgym

    src = Path(medagentgym.__file__).resolve().parents[1]  # the server runs the client's tree (PYTHONPATH)
    script = tmp / f"python-{variant}"
    me = Path(__file__).resolve()
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -I {me} --as-server {variant} {src} "$@"\n')
    script.chmod(0o755)
    return str(script)


# -- the client side ------------------------------------------------------------------------------


def _start(tmp: Path, variant: str, warm: int) -> Any:
    from medagentgym.sandbox import SandboxServer

    srv = SandboxServer(warm_sessions=warm) if warm else SandboxServer()
    with mock.patch.object(sys, "executable", _interpreter(tmp, variant)):
        srv.start()
    return srv


def _cycle(srv: Any) -> dict[str, float]:
    t0 = time.perf_counter()
    session = srv.open_session()
    t1 = time.perf_counter()
    result = session.run_python("x = 1 + 1")
    t2 = time.perf_counter()
    try:
        phases = json.loads((session.scratch_dir / PHASES_FILE).read_text())
    except (OSError, ValueError):
        phases = {}
    session.close()
    t3 = time.perf_counter()
    if result.status != "ok":
        raise RuntimeError(f"benchmark step failed: {result.error}")
    row = {"open": (t1 - t0) * 1000, "first step": (t2 - t1) * 1000, "close": (t3 - t2) * 1000}
    row["cycle"] = row["open"] + row["first step"] + row["close"]
    if phases and getattr(srv, "warm_sessions", 0) == 0:  # a warm session's fork and layers were not on this path
        row.update(phases)
        row["rest of open"] = row["open"] - sum(phases.values())
    return row


def _settle(srv: Any) -> None:
    getattr(srv, "wait_teardown", lambda: True)()  # absent before the teardown moved off the caller


def _median(rows: list[dict[str, float]], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--as-server":
        sys.path.insert(0, sys.argv[3])
        sys.exit(_run_as_server(sys.argv[2], sys.argv[4:]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--siblings", default="0,256,512,1024")
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--warm", type=int, default=0, help="warm_sessions of the new server")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="idle time between cycles (an episode's model calls)")
    parser.add_argument("--only", choices=("old", "new"), help="one server (e.g. with PYTHONPATH set to an older tree)")
    args = parser.parse_args()
    counts = sorted(int(c) for c in args.siblings.split(","))

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        names = [args.only] if args.only else ["old", "new"]
        servers = {name: _start(tmp, name, args.warm if name == "new" else 0) for name in names}
        held: dict[str, list[Any]] = {name: [] for name in servers}
        first = next(iter(servers.values()))
        print(f"level: {first.level}  layers: {', '.join(first.layers)}")
        print(f"load average at start: {os.getloadavg()[0]:.2f}; cycles per cell: {args.cycles} (after 2 warm-ups)\n")
        results: dict[int, dict[str, list[dict[str, float]]]] = {}
        try:
            for round_no, count in enumerate(counts):
                rows: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
                order = list(servers.items())
                # One server holds its siblings at a time (1,024 idle sessions are ~8 GB), in
                # alternating order per count; the other's close is settled first.
                for name, srv in order if round_no % 2 == 0 else order[::-1]:
                    held[name] = [srv.open_session() for _ in range(count)]
                    _settle(srv)
                    for _ in range(2):
                        _cycle(srv)
                    for _ in range(args.cycles):
                        time.sleep(args.gap_ms / 1000)
                        rows[name].append(_cycle(srv))
                    for session in held[name]:
                        session.close()
                    held[name] = []
                    _settle(srv)
                results[count] = rows
                cells = ", ".join(f"{name} {_median(rows[name], 'cycle'):.1f} ms" for name in servers)
                ratio = ""
                if len(servers) == 2:
                    ratio = f", old/new {_median(rows['old'], 'cycle') / _median(rows['new'], 'cycle'):.2f}x"  # type: ignore[operator]
                print(f"{count:>5} siblings: open-run-close {cells}{ratio}")
        finally:
            for name, srv in servers.items():
                for s in held[name]:
                    s.close()
                srv.close()

    phase_names = ["cycle", "open", "fork"]
    for count in counts:
        for row in [r for name in results[count] for r in results[count][name]]:
            for key in row:
                if key not in phase_names and key not in ("first step", "close", "rest of open", "runtime set-up", "drop modules"):
                    phase_names.append(key)
    phase_names += ["drop modules", "runtime set-up", "rest of open", "first step", "close"]
    print(f"\nmedian ms per phase ({' / '.join(results[counts[0]])}), by live siblings")
    header = f"{'phase':<16}" + "".join(f"{f'{c} siblings':>22}" for c in counts)
    print(header)
    print("-" * len(header))
    for phase in phase_names:
        cells = []
        for count in counts:
            values = [_median(results[count][name], phase) for name in results[count]]
            cell = "-" if None in values else " / ".join(f"{v:6.2f}" for v in values)
            cells.append(f"{cell:>22}")
        print(f"{phase:<16}" + "".join(cells))
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
