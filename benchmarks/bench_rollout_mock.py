"""Throughput of the async rollout runner against a mock LLM with a fixed latency per call.

    python benchmarks/bench_rollout_mock.py [--latency-s 0.05] [--levels 1,16,64,256]
                                            [--max-episodes 768] [--format json]

The mock server (``python -m medagentgym.mock_llm``) runs in its own process and answers every
episode with the same three turns (inspect, ``print(1)``, submit) after ``latency_s`` each. With
``c`` episodes in flight and nothing else costing time, the runner would finish
``c / (3 x latency)`` episodes per second: that is the ideal each level is compared with
(ratio = achieved / ideal). Episodes are medcalcbench samples, so every one opens a real
sandbox session and runs code in it. Also printed: this process's CPU time per model call
(``time.process_time``: the runner, the env and the HTTP client; the mock's CPU is in another
process and the sandbox's in its workers), and, as a baseline beside it, the CPU per call of the
HTTP policy alone driven at the same concurrency without env or sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from collections.abc import Iterator

import httpx

from medagentgym.catalog import get_dataset
from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig
from medagentgym.policies.openai_chat import OpenAIChatPolicy
from medagentgym.rollout import MemorySink, RolloutConfig, run_rollouts
from medagentgym.sandbox import SandboxServer

TURNS = 3


def cpu_of(pid: int | None) -> float:
    """CPU seconds of a process and of its children it has reaped (Linux /proc), 0 if unknown."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@contextmanager
def mock_process(latency_s: float) -> Iterator[tuple[str, int]]:
    """The mock LLM in a child process on a free loopback port; yields (base URL, pid)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "medagentgym.mock_llm", "--port", str(port), "--latency-s", str(latency_s)],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the mock LLM did not start") from None
                time.sleep(0.05)
        yield f"{base}/v1", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def medcalc_samples(n: int) -> list[Sample]:
    dataset = get_dataset("medcalcbench")
    categories = [c.name for c in dataset.categories()]
    return [dataset.generate(categories[i % len(categories)], "test", i // len(categories)) for i in range(n)]


def run_level(
    base_url: str, samples: list[Sample], concurrency: int, action_format: str, sandbox: SandboxServer
) -> tuple[float, float, MemorySink]:
    policy = OpenAIChatPolicy("mock", base_url=base_url, api_key_env=None, action_format=action_format,  # type: ignore[arg-type]
                              timeout_s=60, max_retries=0)
    config = RolloutConfig(
        max_sessions=concurrency, max_model_calls=concurrency, env=EnvConfig(action_format=action_format)  # type: ignore[arg-type]
    )
    sink = MemorySink(run_id=f"bench-c{concurrency}")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run_rollouts(samples, policy, sink, config, sandbox=sandbox)
    return time.perf_counter() - wall0, time.process_time() - cpu0, sink


def policy_only(base_url: str, calls: int, concurrency: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``calls`` bare model calls, ``concurrency`` at a time."""
    policy = OpenAIChatPolicy("mock", base_url=base_url, api_key_env=None, timeout_s=60, max_retries=0)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-s", type=float, default=0.05)
    parser.add_argument("--levels", default="1,16,64,256")
    parser.add_argument("--min-episodes", type=int, default=20)
    parser.add_argument("--max-episodes", type=int, default=768)
    parser.add_argument("--waves", type=int, default=4, help="episodes per level = waves x concurrency (clamped)")
    parser.add_argument("--format", choices=["json", "tools"], default="json")
    args = parser.parse_args()
    os.environ.setdefault("MEDAGENTGYM_CACHE", tempfile.mkdtemp(prefix="medagentgym-bench-"))
    levels = [int(x) for x in args.levels.split(",")]
    counts = {c: max(args.min_episodes, min(args.max_episodes, args.waves * c)) for c in levels}
    samples = medcalc_samples(max(counts.values()))

    print(f"mock latency {args.latency_s * 1000:.0f} ms/call, {TURNS} calls/episode, format {args.format}, "
          f"{os.cpu_count()} CPU(s); episodes: medcalcbench, one sandbox session each")
    header = (f"{'conc':>5} {'episodes':>8} {'wall s':>7} {'eps/s':>8} {'ideal':>8} {'ratio':>6} "
              f"{'calls/s':>8} {'CPU ms/call':>11} {'mock ms/call':>12} {'sandbox ms/ep':>13}  statuses")
    with mock_process(args.latency_s) as (base_url, mock_pid), SandboxServer() as sandbox:
        print(f"sandbox level: {sandbox.level}")
        run_level(base_url, samples[:4], 4, args.format, sandbox)  # warm-up, not measured
        print(header)
        for c in levels:
            n = counts[c]
            mock0, box0 = cpu_of(mock_pid), cpu_of(sandbox.pid)
            wall, cpu, sink = run_level(base_url, samples[:n], c, args.format, sandbox)
            mock_cpu, box_cpu = cpu_of(mock_pid) - mock0, cpu_of(sandbox.pid) - box0
            achieved, ideal = n / wall, c / (TURNS * args.latency_s)
            calls = sum(len([m for m in t.messages if m["role"] == "assistant"]) for t in sink.trajectories)
            statuses = Counter(t.status for t in sink.trajectories)
            print(f"{c:>5} {n:>8} {wall:>7.2f} {achieved:>8.2f} {ideal:>8.2f} {achieved / ideal:>6.3f} "
                  f"{calls / wall:>8.1f} {1000 * cpu / calls:>11.3f} {1000 * mock_cpu / calls:>12.3f} "
                  f"{1000 * box_cpu / n:>13.1f}  {dict(statuses)}")
            for t in sink.trajectories:
                if t.status != "ok":
                    why = t.error or next((s.observation for s in reversed(t.steps)), "")
                    print(f"      {t.sample_id}: {t.status} {t.failure}: {' | '.join(why.splitlines())[:200]}")
        print("\nbaseline: the HTTP policy alone (no env, no sandbox), same mock")
        print(f"{'conc':>5} {'calls':>8} {'wall s':>7} {'calls/s':>8} {'ideal':>8} {'ratio':>6} {'CPU ms/call':>11} "
              f"{'mock ms/call':>12}")
        for c in levels:
            calls = counts[c] * TURNS
            mock0 = cpu_of(mock_pid)
            wall, cpu = policy_only(base_url, calls, c)
            mock_cpu = cpu_of(mock_pid) - mock0
            ideal = c / args.latency_s
            print(f"{c:>5} {calls:>8} {wall:>7.2f} {calls / wall:>8.1f} {ideal:>8.1f} "
                  f"{(calls / wall) / ideal:>6.3f} {1000 * cpu / calls:>11.3f} {1000 * mock_cpu / calls:>12.3f}")


if __name__ == "__main__":
    main()
