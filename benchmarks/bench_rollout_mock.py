"""Throughput of the rollout runner against a mock LLM with a fixed latency per call.

    python benchmarks/bench_rollout_mock.py [--latency-s 0.05] [--levels 1,16,64,256]
                                            [--max-episodes 768] [--format json] [--mocks 1]
    # issue 15's realistic-latency grid: 1 s and 5 s per call, 256 and 1,024 episodes at once
    python benchmarks/bench_rollout_mock.py --latency-s 1,5 --levels 256,1024 --waves 1

The mock server (``python -m medagentgym.mock_llm``) runs in its own process(es) and answers
every episode with the same three turns (inspect, ``print(1)``, submit) after ``latency_s`` each.
With ``c`` episodes in flight and nothing else costing time, the runner would finish
``c / (3 x latency)`` episodes per second: that is the ideal each level is compared with
(ratio = achieved / ideal; with one wave of ``c`` episodes the ramp-up and tail count against it).
Episodes are medcalcbench samples, so every one opens a real sandbox session and runs code in it.

Where the CPU went over each level's window, from /proc: the gym (this process, its threads, the
sandbox server and its sessions: every descendant of this process but the mock), the mock
(its process tree), and the whole machine (``/proc/stat``, so other users of a shared machine
show up as the difference). Shares are of the machine's capacity (wall x CPUs). Also sampled
every 0.2 s: the machine's memory in use above the level's start, and this process's open
file descriptors, at their peaks.

As a baseline beside it, the HTTP policy alone driven at the same concurrency without env or
sandbox: its calls/s against ``c / latency`` says whether the client and the mock keep up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from medagentgym.catalog import get_dataset
from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig
from medagentgym.policies.openai_chat import OpenAIChatPolicy
from medagentgym.rollout import MemorySink, RolloutConfig, run_rollouts
from medagentgym.sandbox import SandboxServer

TURNS = 3
_TICK = os.sysconf("SC_CLK_TCK")


# -- CPU and memory from /proc --------------------------------------------------------------------


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_of(pid: int | None) -> float:
    """CPU seconds of a process and of the children it has reaped (Linux /proc), 0 if unknown."""
    fields = _stat_fields(pid) if pid is not None else None
    return sum(int(x) for x in fields[11:15]) / _TICK if fields else 0.0


def tree_cpu(roots: Sequence[int], exclude: Sequence[int] = ()) -> float:
    """CPU seconds (user+system, own and reaped children's) of the process trees under ``roots``,
    leaving out the trees under ``exclude``.

    A process that exits inside a measured window moves its CPU into its reaping ancestor's
    children's time, so the difference of two calls counts it once, wherever it lived."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu[pid] = sum(int(x) for x in fields[11:15]) / _TICK
    skip, total, stack = set(exclude), 0.0, [r for r in roots if r not in exclude]
    seen: set[int] = set()
    while stack:
        pid = stack.pop()
        if pid in seen or pid in skip:
            continue
        seen.add(pid)
        total += cpu.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (``/proc/stat``: all but idle and iowait)."""
    with open("/proc/stat") as handle:
        values = [int(x) for x in handle.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICK


def memory_used() -> int:
    """Bytes of memory in use on the machine (MemTotal - MemAvailable)."""
    info: dict[str, int] = {}
    with open("/proc/meminfo") as handle:
        for line in handle:
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0]) * 1024
    return info["MemTotal"] - info["MemAvailable"]


class PeakSampler:
    """Peaks of memory in use (above the start) and of this process's open fds, sampled in a thread."""

    def __init__(self, period_s: float = 0.2) -> None:
        self.period_s = period_s
        self.base = memory_used()
        self.memory = 0
        self.fds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-sampler", daemon=True)

    def _sample(self) -> None:
        self.memory = max(self.memory, memory_used() - self.base)
        self.fds = max(self.fds, len(os.listdir("/proc/self/fd")))

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self._sample()

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


@dataclass
class Window:
    """CPU seconds spent over one measured window: the gym's, the mock's, the machine's."""

    wall: float
    gym: float
    mock: float
    machine: float

    def share(self, seconds: float) -> float:
        return seconds / (self.wall * (os.cpu_count() or 1))


@contextmanager
def measured(gym_roots: Callable[[], Sequence[int]], mock_pids: Sequence[int]) -> Iterator[list[Window]]:
    """Yields a list that holds the window's :class:`Window` once the block ends."""
    out: list[Window] = []
    gym0, mock0, machine0 = tree_cpu(gym_roots(), mock_pids), tree_cpu(mock_pids), machine_busy()
    wall0 = time.perf_counter()
    yield out
    wall = time.perf_counter() - wall0
    gym = tree_cpu(gym_roots(), mock_pids) - gym0
    out.append(Window(wall, gym, tree_cpu(mock_pids) - mock0, machine_busy() - machine0))


def raise_fd_limit() -> int:
    """The soft limit on open files raised to the hard one (each episode holds a session socket, an
    HTTP connection and, in the mock, its other end); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


# -- the mock -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mock_process(latency_s: float, processes: int = 1) -> Iterator[tuple[str, list[int]]]:
    """The mock LLM in ``processes`` child processes sharing one loopback port (SO_REUSEPORT: the
    kernel spreads connections over them); yields (base URL, pids)."""
    port = free_port()
    command = [sys.executable, "-m", "medagentgym.mock_llm", "--port", str(port), "--latency-s", str(latency_s)]
    if processes > 1:
        command.append("--reuse-port")
    children = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(processes)]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if any(c.poll() is not None for c in children) or time.monotonic() > deadline:
                    raise RuntimeError("the mock LLM did not start") from None
                time.sleep(0.05)
        time.sleep(0.3 if processes > 1 else 0)  # the others bind the port too
        yield f"{base}/v1", [c.pid for c in children]
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


# -- the runs -------------------------------------------------------------------------------------


def medcalc_samples(n: int) -> list[Sample]:
    dataset = get_dataset("medcalcbench")
    categories = [c.name for c in dataset.categories()]
    return [dataset.generate(categories[i % len(categories)], "test", i // len(categories)) for i in range(n)]


def make_policy(base_url: str, action_format: str = "json") -> OpenAIChatPolicy:
    return OpenAIChatPolicy("mock", base_url=base_url, api_key_env=None, action_format=action_format,  # type: ignore[arg-type]
                            timeout_s=120, max_retries=0)


def run_level(
    base_url: str, samples: list[Sample], concurrency: int, action_format: str, sandbox: SandboxServer
) -> tuple[float, float, MemorySink]:
    policy = make_policy(base_url, action_format)
    config = RolloutConfig(
        max_sessions=concurrency, max_model_calls=concurrency, env=EnvConfig(action_format=action_format)  # type: ignore[arg-type]
    )
    sink = MemorySink(run_id=f"bench-c{concurrency}")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run_rollouts(samples, policy, sink, config, sandbox=sandbox)
    return time.perf_counter() - wall0, time.process_time() - cpu0, sink


def policy_only(base_url: str, calls: int, concurrency: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``calls`` bare model calls, ``concurrency`` at a time."""
    policy = make_policy(base_url)
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "task " * 200}]

    async def go() -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                await policy.start_episode(None, seed=i).aact(messages, None)  # type: ignore[arg-type]

        try:
            await asyncio.gather(*(one(i) for i in range(calls)))
        finally:
            await policy.aclose()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    asyncio.run(go())
    return time.perf_counter() - wall0, time.process_time() - cpu0


HEADER = (f"{'lat s':>5} {'conc':>5} {'eps':>5} {'wall s':>7} {'eps/s':>7} {'ideal':>7} {'ratio':>6} "
          f"{'gym ms/ep':>9} {'gym%':>5} {'mock%':>5} {'mach%':>5} {'mem MiB':>7} {'fds':>5}  statuses")


def level_line(latency: float, c: int, n: int, window: Window, sink: MemorySink, peaks: PeakSampler) -> str:
    achieved, ideal = n / window.wall, c / (TURNS * latency)
    statuses = Counter(t.status for t in sink.trajectories)
    return (f"{latency:>5g} {c:>5} {n:>5} {window.wall:>7.2f} {achieved:>7.2f} {ideal:>7.2f} "
            f"{achieved / ideal:>6.3f} {1000 * window.gym / n:>9.1f} {100 * window.share(window.gym):>5.1f} "
            f"{100 * window.share(window.mock):>5.1f} {100 * window.share(window.machine):>5.1f} "
            f"{peaks.memory / 2**20:>7.0f} {peaks.fds:>5}  {dict(statuses)}")


def failures(sink: MemorySink, limit: int = 5) -> list[str]:
    lines = []
    for t in [t for t in sink.trajectories if t.status != "ok"][:limit]:
        why = t.error or next((s.observation for s in reversed(t.steps)), "")
        lines.append(f"      {t.sample_id}: {t.status} {t.failure}: {' | '.join(why.splitlines())[:200]}")
    return lines


def sandbox_options(warm_sessions: int | None, max_sessions: int) -> dict[str, Any]:
    """The server the runner itself would start (its warm-session pool); ``warm_sessions=0`` turns
    the pool off."""
    from medagentgym.env.warm import default_warm_sessions, server_options

    return server_options(default_warm_sessions(max_sessions) if warm_sessions is None else warm_sessions)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-s", default="0.05", help="seconds per model call; a comma list runs each")
    parser.add_argument("--levels", default="1,16,64,256", help="episodes in flight, comma-separated")
    parser.add_argument("--min-episodes", type=int, default=20)
    parser.add_argument("--max-episodes", type=int, default=1024)
    parser.add_argument("--waves", type=int, default=4, help="episodes per level = waves x concurrency (clamped)")
    parser.add_argument("--format", choices=["json", "tools"], default="json")
    parser.add_argument("--mocks", type=int, default=1, help="mock server processes sharing one port")
    parser.add_argument("--no-baseline", action="store_true", help="skip the policy-only baseline")
    parser.add_argument("--warm-sessions", type=int, default=None,
                        help="the sandbox's warm-session pool (default: the runner's; 0: none)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MEDAGENTGYM_CACHE", tempfile.mkdtemp(prefix="medagentgym-bench-"))
    latencies = [float(x) for x in args.latency_s.split(",")]
    levels = [int(x) for x in args.levels.split(",")]
    counts = {c: max(args.min_episodes, min(args.max_episodes, args.waves * c)) for c in levels}
    samples = medcalc_samples(max(counts.values()))
    fd_limit = raise_fd_limit()

    print(f"{TURNS} calls/episode, format {args.format}, {os.cpu_count()} CPU(s), open-file limit {fd_limit}, "
          f"{args.mocks} mock process(es); episodes: medcalcbench, one sandbox session each")
    print("gym% / mock% / mach%: CPU of the gym (this process + sandbox), of the mock, of the whole machine, "
          "as shares of wall x CPUs; mem: machine memory in use above the level's start (peak)")
    options = sandbox_options(args.warm_sessions, max(levels))
    with SandboxServer(**options) as sandbox:
        print(f"sandbox level: {sandbox.level}, warm sessions: {options.get('warm_sessions', 0)}")
        for latency in latencies:
            with mock_process(latency, args.mocks) as (base_url, mock_pids):
                if latency == latencies[0]:
                    run_level(base_url, samples[:4], 4, args.format, sandbox)  # warm-up, not measured
                print(f"\nmock latency {latency * 1000:.0f} ms/call\n{HEADER}")
                for c in levels:
                    n = counts[c]
                    with PeakSampler() as peaks, measured(lambda: [os.getpid()], mock_pids) as out:
                        _, _, sink = run_level(base_url, samples[:n], c, args.format, sandbox)
                    print(level_line(latency, c, n, out[0], sink, peaks), flush=True)
                    print(*failures(sink), sep="\n") if any(t.status != "ok" for t in sink.trajectories) else None
                if args.no_baseline:
                    continue
                print(f"baseline, latency {latency:g} s: the HTTP policy alone (no env, no sandbox), same mock")
                print(f"{'conc':>5} {'calls':>6} {'wall s':>7} {'calls/s':>8} {'ideal':>8} {'ratio':>6} "
                      f"{'client ms/call':>14} {'mock ms/call':>12}")
                for c in levels:
                    calls = c * TURNS
                    with measured(lambda: [os.getpid()], mock_pids) as out:
                        wall, cpu = policy_only(base_url, calls, c)
                    window, ideal = out[0], c / latency
                    print(f"{c:>5} {calls:>6} {wall:>7.2f} {calls / wall:>8.1f} {ideal:>8.1f} "
                          f"{(calls / wall) / ideal:>6.3f} {1000 * cpu / calls:>14.3f} "
                          f"{1000 * window.mock / calls:>12.3f}", flush=True)


if __name__ == "__main__":
    main()
