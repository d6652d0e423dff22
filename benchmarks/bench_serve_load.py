"""Load on the environment server (``medagentgym serve``) against the same episodes played in process.

    python benchmarks/bench_serve_load.py [--episodes 256] [--concurrency N] [--mimic-every K]

The server runs in its own process (``python -m medagentgym.integrations.serve_command``) on
127.0.0.1. ``--episodes`` episodes are played at once (``--concurrency``, default all of them)
by an ``asyncio`` client over one ``httpx.AsyncClient``; each creates an episode, runs one cheap
``execute_python`` step (every K-th episode a mimic_iii sample with an ``execute_sql`` step
instead, with ``--mimic-every K``), submits the correct answer and closes the episode.

Printed: episodes per second, client-side latency of the create and of the steps (p50, p95),
errors (non-2xx replies and transport failures), episodes lost (did not end with reward 1.0:
must be 0) and episodes the server still holds at the end (must be 0). The baseline beside it:
the same episodes through ``MedAgentEnv`` directly in this process, at the same concurrency in
threads, with the ratio server / in-process. The two phases run one after the other, so they do
not compete for the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from medagentgym.catalog.selection import find_sample
from medagentgym.env.env import MedAgentEnv
from medagentgym.http_thread import free_socket


@dataclass(frozen=True)
class Plan:
    """One episode: the sample and its two actions (decided before timing starts)."""

    sample_id: str
    work: dict[str, Any]
    answer: Any


@dataclass
class Tally:
    create_s: list[float] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    solved: int = 0


def plans(n: int, mimic_every: int) -> list[Plan]:
    out = []
    for i in range(n):
        if mimic_every and i % mimic_every == mimic_every - 1:
            sample_id = f"mimic_iii/demographics/train/0/{i}"
            work = {"action": "execute_sql", "query": "select count(*) from patients"}
        else:
            sample_id = f"medcalcbench/bmi/train/0/{i}"
            work = {"action": "execute_python", "code": f"print(sum(range({i + 10})))"}
        out.append(Plan(sample_id, work, find_sample(sample_id).target.value))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def server_process(max_sessions: int, workers: int) -> Iterator[str]:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()  # the child binds it again (a race only another process on this machine could win)
    env = {k: v for k, v in os.environ.items() if k != "MEDAGENTGYM_SERVE_TOKEN"}
    command = [
        sys.executable, "-m", "medagentgym.integrations.serve_command", "--port", str(port),
        "--max-sessions", str(max_sessions), "--workers", str(workers), "--idle-timeout-s", "600",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def play_remote(client: httpx.AsyncClient, plan: Plan, tally: Tally, gate: asyncio.Semaphore) -> None:
    async with gate:
        try:
            started = time.perf_counter()
            reply = await client.post("/v1/episodes", json={"sample_id": plan.sample_id})
            tally.create_s.append(time.perf_counter() - started)
            if reply.status_code != 201:
                tally.errors.append(f"create {reply.status_code}: {reply.text[:200]}")
                return
            episode_id = reply.json()["episode_id"]
            body: dict[str, Any] = {}
            try:
                for action in (plan.work, {"action": "submit", "answer": plan.answer}):
                    started = time.perf_counter()
                    reply = await client.post(f"/v1/episodes/{episode_id}/step", json={"action": action})
                    tally.step_s.append(time.perf_counter() - started)
                    if reply.status_code != 200:
                        tally.errors.append(f"step {reply.status_code}: {reply.text[:200]}")
                        return
                    body = reply.json()
            finally:
                closed = await client.delete(f"/v1/episodes/{episode_id}")
                if closed.status_code != 200:
                    tally.errors.append(f"close {closed.status_code}")
            if body.get("terminated") and body.get("reward") == 1.0:
                tally.solved += 1
        except httpx.HTTPError as exc:
            tally.errors.append(f"{type(exc).__name__}: {exc}")


async def run_remote(base: str, episodes: list[Plan], concurrency: int) -> tuple[Tally, float, int]:
    tally = Tally()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(300)) as client:
        await play_remote(client, episodes[0], Tally(), gate)  # warm-up: sandbox server, generators
        started = time.perf_counter()
        await asyncio.gather(*(play_remote(client, plan, tally, gate) for plan in episodes))
        wall = time.perf_counter() - started
        left = len((await client.get("/v1/episodes")).json()["episodes"])
    return tally, wall, left


def play_local(plan: Plan, tally: Tally) -> None:
    try:
        env = MedAgentEnv()
        try:
            started = time.perf_counter()
            env.reset(options={"sample": find_sample(plan.sample_id)})
            tally.create_s.append(time.perf_counter() - started)
            reward, terminated = 0.0, False
            for action in (plan.work, {"action": "submit", "answer": plan.answer}):
                started = time.perf_counter()
                _, reward, terminated, _, _ = env.step(action)
                tally.step_s.append(time.perf_counter() - started)
            if terminated and reward == 1.0:
                tally.solved += 1
        finally:
            env.close()
    except Exception as exc:  # noqa: BLE001 - counted, like the server's errors
        tally.errors.append(f"{type(exc).__name__}: {exc}")


def run_local(episodes: list[Plan], concurrency: int) -> tuple[Tally, float]:
    play_local(episodes[0], Tally())  # warm-up
    tally = Tally()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda plan: play_local(plan, tally), episodes))
    return tally, time.perf_counter() - started


def summary(name: str, tally: Tally, wall: float, n: int) -> dict[str, Any]:
    return {
        "path": name,
        "episodes": n,
        "episodes_per_s": round(n / wall, 2),
        "wall_s": round(wall, 2),
        "create_p50_ms": round(1000 * percentile(tally.create_s, 0.5), 1),
        "step_p50_ms": round(1000 * percentile(tally.step_s, 0.5), 1),
        "step_p95_ms": round(1000 * percentile(tally.step_s, 0.95), 1),
        "errors": len(tally.errors),
        "lost": n - tally.solved,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=None, help="episodes in flight (default: all)")
    parser.add_argument("--mimic-every", type=int, default=0, help="every K-th episode a mimic_iii SQL one")
    parser.add_argument("--workers", type=int, default=64, help="the server's step threads")
    args = parser.parse_args(argv)
    n = args.episodes
    concurrency = args.concurrency or n
    episodes = plans(n, args.mimic_every)

    with server_process(max_sessions=n + 8, workers=args.workers) as base:
        tally, wall, left = asyncio.run(run_remote(base, episodes, concurrency))
    remote = summary("server", tally, wall, n)
    remote["left_on_server"] = left
    local_tally, local_wall = run_local(episodes, concurrency)
    local = summary("in-process", local_tally, local_wall, n)
    ratio = remote["episodes_per_s"] / local["episodes_per_s"] if local["episodes_per_s"] else float("nan")
    header = f"{'path':<11} {'eps':>5} {'ep/s':>8} {'wall s':>8} {'create p50':>11} {'step p50':>9} {'step p95':>9} {'errors':>7} {'lost':>5}"
    print(f"episodes={n} concurrency={concurrency} mimic_every={args.mimic_every} server_workers={args.workers} cpus={os.cpu_count()}")
    print(header)
    for row in (remote, local):
        print(
            f"{row['path']:<11} {row['episodes']:>5} {row['episodes_per_s']:>8} {row['wall_s']:>8} "
            f"{row['create_p50_ms']:>9}ms {row['step_p50_ms']:>7}ms {row['step_p95_ms']:>7}ms {row['errors']:>7} {row['lost']:>5}"
        )
    print(f"server / in-process episodes per second: {ratio:.2f}; episodes left on the server: {left}")
    for error in (tally.errors + local_tally.errors)[:5]:
        print("error:", error)
    result = {"server": remote, "in_process": local, "ratio": round(ratio, 3)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
