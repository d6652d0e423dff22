"""The gym's own cost per episode, phase by phase, for today's path and the new one in one run.

    python benchmarks/bench_episode_cost.py [--episodes 40] [--datasets medcalcbench,mimic_iii]

One episode is three steps played by a scripted policy through the async runner's episode loop
(``run_episode_async`` with a one-thread executor, as ``rollout`` runs it): inspect
(``list_tables``, or ``list_files`` without a database), execute (``x = 6 * 7``), submit (the
correct answer), then the trajectory is appended to a run folder (``RunStore``, fsync included).

"Gym CPU" is every CPU second the episode costs except the agent's own code and the model: this
process (env, runner, scoring, sandbox client, trajectory write), the sandbox server and the
session process (fork, hardening, the step protocol). The agent code is a multiplication and the
policy returns a fixed string, so what the session spends is the sandbox's own overhead.

Columns, per episode (CPU ms over wall ms):
  open      reset plus the session start (the env starts it at the first execute; here it is
            started inside reset's phase so that the step columns hold steps only)
  harden    the session process's own CPU from fork to ready (read from /proc at open; with a
            warm pool this work happened earlier, off the episode's path, but it is still spent)
  inspect / execute / submit   the three steps (submit without scoring)
  scoring   ``score_answer``
  write     ``RunStore.append`` of the trajectory (the runner builds it outside every phase)
  close     ending the episode and closing the env (session teardown)
  server    the sandbox server's CPU over the episode (fork, mounts, reaping; sessions excluded)
Totals are also taken over the whole loop ("loop cpu": this process + the server with every
session it reaped + the sessions still alive), which also catches work done in background
threads and a session's exit; "harness" is this process's share of it (env, runner, scoring,
write, sandbox client) and "sandbox" the rest (server and session processes).

Today's path: no warm pool, database inspectors per env (``EnvConfig(shared_indexes=False)``).
New path: the warm pool (when this sandbox has one: ``SandboxServer(warm_sessions=N)``) and the
shared inspectors. Both run in this process, alternating dataset blocks; ratios are today / new.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import medagentgym.env.env as env_module
from medagentgym.catalog import get_dataset
from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.env.inspect import shared_inspectors
from medagentgym.env.warm import server_options
from medagentgym.policies.scripted import ScriptedPolicy
from medagentgym.rollout.runner import run_episode_async
from medagentgym.runs.store import RunManifest, RunStore
from medagentgym.sandbox import SandboxServer

PHASES = ("open", "harden", "inspect", "execute", "submit", "scoring", "write", "close", "server")
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int | None, *, children: bool = False) -> float:
    """CPU seconds of a process (with ``children``: plus the children it reaped), 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return sum(int(x) for x in fields[11 : 15 if children else 13]) / TICK


def children_of(pid: int | None) -> list[int]:
    """Live child processes of ``pid`` (the server's sessions, warm ones included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def samples_of(dataset: str, n: int) -> list[Sample]:
    ds = get_dataset(dataset)
    categories = [c.name for c in ds.categories()]
    return [ds.generate(categories[i % len(categories)], "test", i // len(categories)) for i in range(n)]


def script(sample: Sample) -> ScriptedPolicy:
    inspect_action = {"action": "list_tables"} if any(r.kind == "sqlite" for r in sample.resources) else {"action": "list_files"}
    return ScriptedPolicy(
        [
            json.dumps(inspect_action),
            json.dumps({"action": "execute_python", "code": "x = 6 * 7\nprint(x)"}),
            json.dumps({"action": "submit", "answer": sample.target.value}),
        ]
    )


class Meter:
    """CPU (this process, the server, the session) and wall time per phase of one episode."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.session_pid: int | None = None

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        c0, w0 = time.process_time(), time.perf_counter()
        s0 = proc_cpu(self.server.pid)
        p0 = proc_cpu(self.session_pid)
        try:
            yield
        finally:
            self.cpu[name] += time.process_time() - c0
            self.wall[name] += time.perf_counter() - w0
            self.cpu["server"] += proc_cpu(self.server.pid) - s0
            if self.session_pid is not None and name not in ("open", "close"):
                self.cpu[name] += max(0.0, proc_cpu(self.session_pid) - p0)


class TimedEnv(MedAgentEnv):
    """The env with each call inside a meter phase; the session starts inside ``reset``."""

    meter: Meter

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        with self.meter.phase("open"):
            out = super().reset(seed=seed, options=options)
            session = self._session_for_episode()
        self.meter.session_pid = session.pid
        self.meter.cpu["harden"] += proc_cpu(session.pid)  # all it did so far: start and harden
        return out

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        name = ("inspect", "execute", "submit")[min(self.turn, 2)]
        with self.meter.phase(name):
            return super().step(action)

    def end_episode(self) -> None:
        with self.meter.phase("close"):
            super().end_episode()


@contextmanager
def metered_scoring(meters: list[Meter]) -> Iterator[None]:
    """``score_answer`` as the env calls it, timed into the current episode's meter."""
    original: Callable[..., Any] = env_module.score_answer

    def timed(*args: Any, **kwargs: Any) -> Any:
        meter = meters[-1]
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            meter.cpu["scoring"] += cpu
            meter.wall["scoring"] += wall
            meter.cpu["submit"] -= cpu  # the submit phase's meter sees it too
            meter.wall["submit"] -= wall

    env_module.score_answer = timed  # type: ignore[assignment]
    try:
        yield
    finally:
        env_module.score_answer = original  # type: ignore[assignment]


def run_block(
    server: SandboxServer, config: EnvConfig, samples: list[Sample], store: RunStore
) -> tuple[list[Meter], float, float, float]:
    """Episodes one after another: per-episode meters, and over the whole loop the gym's CPU,
    this process's share of it (harness and sandbox client) and the wall time (s)."""
    meters: list[Meter] = []
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="episode")

    async def go() -> None:
        loop = asyncio.get_running_loop()
        for sample in samples:
            meter = Meter(server)
            meters.append(meter)
            env = TimedEnv(config=config, sandbox=server)
            env.meter = meter
            trajectory = await run_episode_async(env, script(sample), sample, run_id=store.run_id, executor=executor)
            if trajectory.status != "ok" or trajectory.reward != 1.0:
                raise RuntimeError(f"{sample.id}: {trajectory.status} {trajectory.error or trajectory.steps[-1].observation}")
            with meter.phase("write"):
                store.append(trajectory)
            with meter.phase("close"):
                await loop.run_in_executor(executor, env.close)

    def sessions_cpu() -> float:
        return sum(proc_cpu(pid) for pid in children_of(server.pid))

    c0, s0, k0, w0 = time.process_time(), proc_cpu(server.pid, children=True), sessions_cpu(), time.perf_counter()
    with metered_scoring(meters):
        asyncio.run(go())
    executor.shutdown()
    time.sleep(0.2)  # let the server reap the last sessions
    wall = time.perf_counter() - w0
    harness = time.process_time() - c0
    total = harness + proc_cpu(server.pid, children=True) - s0 + sessions_cpu() - k0
    return meters, total, harness, wall


def summarize(meters: list[Meter]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean CPU and wall ms per phase (/proc counts CPU in ticks of 10 ms: only a mean over many episodes resolves it)."""
    cpu = {p: 1000 * statistics.fmean(m.cpu[p] for m in meters) for p in PHASES}
    wall = {p: 1000 * statistics.fmean(m.wall[p] for m in meters) for p in PHASES}
    return cpu, wall


def print_table(title: str, rows: list[tuple[str, dict[str, float], dict[str, float], float, float, float]]) -> None:
    print(title)
    print(
        f"  {'path':<8}" + "".join(f"{p:>13}" for p in PHASES)
        + f"{'sum cpu':>9}{'loop cpu':>10}{'harness':>9}{'sandbox':>9}{'loop wall':>10}"
    )
    for label, cpu, wall, loop_cpu, own, loop_wall in rows:
        cells = "".join(f"{cpu[p]:>6.2f}/{wall[p]:<6.2f}" for p in PHASES)
        print(
            f"  {label:<8}{cells}{sum(cpu.values()):>9.2f}{loop_cpu:>10.2f}{own:>9.2f}{loop_cpu - own:>9.2f}{loop_wall:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=40, help="measured episodes per dataset and path")
    parser.add_argument("--warm-up", type=int, default=5)
    parser.add_argument("--datasets", default="medcalcbench,mimic_iii")
    parser.add_argument("--warm-sessions", type=int, default=4, help="the new path's pool size")
    args = parser.parse_args()
    datasets = args.datasets.split(",")
    paths = {
        "today": (EnvConfig(shared_indexes=False), {}),
        "new": (EnvConfig(warm_sessions=args.warm_sessions), server_options(args.warm_sessions)),
    }
    print(
        f"{os.cpu_count()} CPU(s); {args.episodes} episodes per dataset and path after {args.warm_up} warm-up; "
        f"values are mean CPU ms / wall ms per episode"
    )
    results: dict[str, dict[str, tuple[dict[str, float], dict[str, float], float, float, float]]] = defaultdict(dict)
    with tempfile.TemporaryDirectory(prefix="bench-episode-") as tmp:
        servers = {name: SandboxServer(**options) for name, (_, options) in paths.items()}
        try:
            for server in servers.values():
                server.start()
            print(f"sandbox level: {servers['today'].level}")
            for dataset in datasets:
                samples = samples_of(dataset, args.warm_up + args.episodes)
                for name, (config, _) in paths.items():
                    shared_inspectors().clear()  # each path starts cold; warm-up episodes fill it
                    store = RunStore(Path(tmp) / f"{dataset}-{name}", RunManifest(run_id=f"{dataset}-{name}", created_at="bench"))
                    with store:
                        run_block(servers[name], config, samples[: args.warm_up], store)
                        meters, loop_cpu, own, loop_wall = run_block(servers[name], config, samples[args.warm_up :], store)
                    cpu, wall = summarize(meters)
                    n = len(meters)
                    results[dataset][name] = (cpu, wall, 1000 * loop_cpu / n, 1000 * own / n, 1000 * loop_wall / n)
        finally:
            for server in servers.values():
                server.close()
    for dataset in datasets:
        rows = [(name, *results[dataset][name]) for name in paths]
        print_table(f"\n{dataset}", rows)
        today, new = results[dataset]["today"], results[dataset]["new"]
        print(
            f"  ratio today/new: gym CPU per episode (loop) {today[2] / new[2]:.2f}x ({today[2]:.2f} -> {new[2]:.2f} ms), "
            f"harness (this process) {today[3] / new[3]:.2f}x ({today[3]:.2f} -> {new[3]:.2f} ms), "
            f"wall {today[4] / new[4]:.2f}x ({today[4]:.2f} -> {new[4]:.2f} ms)"
        )
    search_costs()


def search_costs() -> None:
    """The ``search`` action on mimic_iii: first in a fresh env and again, per path."""
    sample = samples_of("mimic_iii", 1)[0]
    print("\nsearch on mimic_iii (ms wall): first in an env / the same term again / in a second env: the same term, a new term")
    for name, config in (("today", EnvConfig(shared_indexes=False)), ("new", EnvConfig())):
        shared_inspectors().clear()
        timings = []
        for env_index in range(2):
            env = MedAgentEnv(config=config)
            env.reset(options={"sample": sample})
            for term in ("furosemide", "furosemide") if env_index == 0 else ("furosemide", "heparin"):
                w0 = time.perf_counter()
                observation, *_ = env.step(json.dumps({"action": "search", "term": term}))
                timings.append(1000 * (time.perf_counter() - w0))
                assert term in observation
            env.close()
        print(f"  {name:<6} " + " / ".join(f"{t:.1f}" for t in timings))


if __name__ == "__main__":
    main()
