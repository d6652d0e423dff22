"""The rollout benchmark on a two-node Ray cluster started on this machine, beside the local backend.

    python benchmarks/bench_rollout_ray.py [--latency-s 1] [--level 128] [--episodes 256]

Starts a head (``ray start --head --num-cpus 1``) and a worker node (``ray start --address ...
--num-cpus 1``) with their own ports under a fresh temp dir, runs the same mock-LLM workload as
``bench_rollout_mock.py`` with the local backend and then with ``--backend ray``
(``run_rollouts_ray``: one episode worker per CPU, spread over the nodes), and prints the same
columns for both, plus the episodes each Ray node ran. Every process of the cluster is stopped at
the end, also on error or Ctrl-C: this process makes itself their subreaper (``ray start``
daemonizes them), so it knows them by pid and stops them by pid (a machine-wide ``ray stop``
would also stop other users' Ray instances).

CPU columns as in ``bench_rollout_mock.py``; on Ray the gym is the driver plus the episode workers
and their sandboxes, and Ray's own processes (GCS, raylets, agents, idle workers) are a column of
their own.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rollout_mock import (  # noqa: E402
    TURNS,
    PeakSampler,
    failures,
    free_port,
    machine_busy,
    measured,
    medcalc_samples,
    mock_process,
    raise_fd_limit,
    run_level,
    sandbox_options,
)

from medagentgym.env.env import EnvConfig  # noqa: E402
from medagentgym.policies import PolicySpec  # noqa: E402
from medagentgym.rollout import MemorySink, RolloutConfig  # noqa: E402
from medagentgym.sandbox import SandboxServer  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphans below this process (the daemons ``ray start`` leaves) are re-parented here."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _process_table() -> dict[int, tuple[int, float, float]]:
    """pid -> (parent pid, own CPU s, own + reaped children's CPU s) for every live process."""
    table: dict[int, tuple[int, float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            own = (int(fields[11]) + int(fields[12])) / tick
            table[int(entry)] = (int(fields[1]), own, own + (int(fields[13]) + int(fields[14])) / tick)
    return table


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live process below ``root``."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in _process_table().items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, str] = {}
    stack = list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        found[pid] = _cmdline(pid)
        stack.extend(children.get(pid, ()))
    return found


def cpu_by_role(mock_pids: list[int]) -> dict[str, float]:
    """CPU seconds so far of this process (``driver``: its own, not its children's), of the
    episode workers with their sandboxes (``workers``), of the mock (``mock``) and of Ray's own
    processes (``ray``: every other process below this one, which is their subreaper)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    roles = {"driver": table[os.getpid()][1], "workers": 0.0, "mock": 0.0, "ray": 0.0}
    stack = [(pid, "") for pid in children.get(os.getpid(), ())]
    while stack:
        pid, role = stack.pop()
        if not role:
            role = ("mock" if pid in mock_pids else
                    "workers" if _cmdline(pid).startswith("ray::EpisodeWorker") else "")
        # a process that exits moves its CPU into its reaper's children's time: a worker's
        # sessions stay the workers', a Ray daemon's workers the daemon's
        roles[role or "ray"] += table[pid][2]
        stack.extend((child, role) for child in children.get(pid, ()))
    return roles


def reap() -> None:
    """Collect exited children that no Popen waits for (the re-parented Ray daemons)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_tree(keep: set[int], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, every descendant of this process not in ``keep``, by pid."""
    victims = {pid for pid in descendants(os.getpid()) if pid not in keep}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in victims:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while victims and time.monotonic() < deadline:
            reap()
            victims &= set(descendants(os.getpid()))
            time.sleep(0.1)
        if not victims:
            return


@contextmanager
def two_node_cluster(object_store_bytes: int = 200_000_000) -> Iterator[str]:
    """A head and a worker node, one CPU each, on this machine; yields the head's address."""
    ray_bin = str(Path(sys.executable).with_name("ray"))
    temp = tempfile.mkdtemp(prefix="mag-ray-", dir="/tmp")  # short: Ray's Unix socket paths
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus", "1", "--object-store-memory", str(object_store_bytes), "--disable-usage-stats"]
    keep = set(descendants(os.getpid()))  # the mock and anything else started before
    try:
        subprocess.run(
            [ray_bin, "start", "--head", "--port", str(port), "--node-ip-address", "127.0.0.1",
             "--include-dashboard", "false", "--temp-dir", temp,
             "--dashboard-agent-listen-port", str(free_port()), *common],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=180,
        )
        subprocess.run(
            [ray_bin, "start", "--address", address, "--node-ip-address", "127.0.0.1",
             "--dashboard-agent-listen-port", str(free_port()), *common],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=180,
        )
        yield address
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"ray start failed: {exc.stderr.decode(errors='replace')[-2000:]}") from None
    finally:
        stop_tree(keep)
        reap()
        shutil.rmtree(temp, ignore_errors=True)


HEADER = (f"{'backend':>7} {'lat s':>5} {'conc':>5} {'eps':>5} {'wall s':>7} {'eps/s':>7} {'ideal':>7} "
          f"{'ratio':>6} {'gym ms/ep':>9} {'gym%':>5} {'ray%':>5} {'mock%':>5} {'mach%':>5} {'mem MiB':>7}  statuses")


def line(backend: str, latency: float, c: int, n: int, wall: float, gym: float, ray_cpu: float | None,
         mock: float, machine: float, memory: int, sink: MemorySink) -> str:
    capacity = wall * (os.cpu_count() or 1)
    achieved, ideal = n / wall, c / (TURNS * latency)
    statuses: dict[str, int] = {}
    for t in sink.trajectories:
        statuses[t.status] = statuses.get(t.status, 0) + 1
    ray_share = "-" if ray_cpu is None else f"{100 * ray_cpu / capacity:.1f}"
    return (f"{backend:>7} {latency:>5g} {c:>5} {n:>5} {wall:>7.2f} {achieved:>7.2f} {ideal:>7.2f} "
            f"{achieved / ideal:>6.3f} {1000 * gym / n:>9.1f} {100 * gym / capacity:>5.1f} {ray_share:>5} "
            f"{100 * mock / capacity:>5.1f} {100 * machine / capacity:>5.1f} {memory / 2**20:>7.0f}  {statuses}")


def run_on_ray(address: str, base_url: str, samples: list, level: int, action_format: str,
               latency: float, mock_pids: list[int]) -> None:
    import ray

    from medagentgym.rollout.ray_backend import run_rollouts_ray

    env_vars = {"MEDAGENTGYM_CACHE": os.environ["MEDAGENTGYM_CACHE"]}
    ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env_vars})
    try:
        nodes = {n["NodeID"]: n for n in ray.nodes() if n["Alive"]}
        print(f"ray cluster: {len(nodes)} node(s), {int(ray.cluster_resources().get('CPU', 0))} CPU(s)")
        spec = PolicySpec(name="openai", options={
            "model": "mock", "base_url": base_url, "api_key_env": "", "action_format": action_format,
            "timeout_s": 120, "max_retries": 0,
        })
        config = RolloutConfig(max_sessions=level, max_model_calls=level,
                               env=EnvConfig(action_format=action_format))  # type: ignore[arg-type]
        warm = MemorySink(run_id="ray-warm")
        run_rollouts_ray(samples[:4], spec, warm, config.model_copy(update={"max_sessions": 4}))  # workers, data
        deadline = time.monotonic() + 30  # the warm-up's workers go once their handles are gone
        while any(c.startswith("ray::EpisodeWorker") for c in descendants(os.getpid()).values()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)

        sink, placement = MemorySink(run_id="ray-bench"), {}
        before, machine0, wall0 = cpu_by_role(mock_pids), machine_busy(), time.perf_counter()
        with PeakSampler() as peaks:
            run_rollouts_ray(samples, spec, sink, config, placement=placement)
        after, wall = cpu_by_role(mock_pids), time.perf_counter() - wall0
        spent = {role: after[role] - before[role] for role in after}
        print(line("ray", latency, level, len(samples), wall, spent["driver"] + spent["workers"], spent["ray"],
                   spent["mock"], machine_busy() - machine0, peaks.memory, sink), flush=True)
        print(*failures(sink), sep="\n") if any(t.status != "ok" for t in sink.trajectories) else None
        for node_id, episodes in sorted(placement.items(), key=lambda kv: -kv[1]):
            role = "head" if nodes.get(node_id, {}).get("Resources", {}).get("node:__internal_head__") else "worker"
            print(f"    node {node_id[:16]} ({role}): {episodes} episodes")
        if len(placement) < 2:
            print("    WARNING: the episodes did not spread over both nodes")
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-s", type=float, default=1.0)
    parser.add_argument("--level", type=int, default=128, help="episodes in flight (over the whole cluster)")
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--format", choices=["json", "tools"], default="json")
    parser.add_argument("--skip-local", action="store_true", help="run the Ray backend only")
    args = parser.parse_args()
    os.environ.setdefault("MEDAGENTGYM_CACHE", tempfile.mkdtemp(prefix="medagentgym-bench-"))
    raise_fd_limit()
    become_subreaper()
    samples = medcalc_samples(args.episodes)
    print(f"{TURNS} calls/episode, format {args.format}, {os.cpu_count()} CPU(s), mock latency "
          f"{args.latency_s:g} s; gym% ray% mock% mach%: shares of wall x CPUs")
    with mock_process(args.latency_s) as (base_url, mock_pids):
        print(HEADER)
        if not args.skip_local:
            with SandboxServer(**sandbox_options(None, args.level)) as sandbox:
                run_level(base_url, samples[:4], 4, args.format, sandbox)  # warm-up, not measured
                with PeakSampler() as peaks, measured(lambda: [os.getpid()], mock_pids) as out:
                    _, _, sink = run_level(base_url, samples, args.level, args.format, sandbox)
            w = out[0]
            print(line("local", args.latency_s, args.level, len(samples), w.wall, w.gym, None, w.mock,
                       w.machine, peaks.memory, sink), flush=True)
        started = time.perf_counter()
        with two_node_cluster() as address:
            print(f"    (cluster up in {time.perf_counter() - started:.1f} s)")
            run_on_ray(address, base_url, samples, args.level, args.format, args.latency_s, mock_pids)
        leftovers = {pid: cmd for pid, cmd in descendants(os.getpid()).items() if pid not in mock_pids}
        print(f"cluster stopped; processes left below this one besides the mock: {len(leftovers)}")


if __name__ == "__main__":
    main()
