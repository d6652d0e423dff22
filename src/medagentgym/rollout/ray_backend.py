"""Distributing episodes over a Ray cluster while the driver keeps writing one run folder.

Each node runs episode workers (async Ray actors). A worker owns a sandbox server and its own
copy of the policy (rebuilt from a ``PolicySpec``, so no client or model object is pickled) and
runs several episodes at once with the same loop as the local runner. Results come back to the
driver as trajectory JSON and are appended by the one writer, so resume, deduplication and the
file format are exactly those of a local run.

Nodes find built data at the same cache path (``MEDAGENTGYM_CACHE``, passed to the workers); a
worker builds a sample's dataset on first use if the files are missing on its node.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from medagentgym.catalog.sample import Sample
from medagentgym.policies import PolicySpec, make_policy
from medagentgym.rollout.progress import ProgressDisplay
from medagentgym.rollout.runner import (
    EpisodeSink,
    RolloutConfig,
    RunSummary,
    episode_seed,
    plan_episodes,
    run_episode_async,
)
from medagentgym.env.warm import server_options
from medagentgym.runs.schema import Trajectory
from medagentgym.untrusted import model_json


def _sandbox_options(config: RolloutConfig) -> dict[str, Any]:
    """A worker's sandbox server is set up like the local runner's (its warm-session pool)."""
    return server_options(config.pool_size())


class EpisodeWorker:
    """One Ray actor: a sandbox server, a policy, and a bounded number of episodes at once."""

    def __init__(self, spec: dict[str, Any], config_json: str, run_id: str, model_calls: int) -> None:
        from medagentgym.env.env import MedAgentEnv
        from medagentgym.sandbox import SandboxServer

        self._env_type = MedAgentEnv
        self.config = RolloutConfig.model_validate_json(config_json)
        self.policy = make_policy(PolicySpec.model_validate(spec))
        self.run_id = run_id
        self.sandbox = SandboxServer(**_sandbox_options(self.config))
        self.executor = ThreadPoolExecutor(max_workers=self.config.max_sessions)
        self.model_calls_limit = model_calls
        self._model_calls: asyncio.Semaphore | None = None
        self._built: set[str] = set()
        import ray

        self.node_id = ray.get_runtime_context().get_node_id()

    def node(self) -> str:
        """The id of the Ray node this worker lives on."""
        return self.node_id

    def _ensure_data(self, sample: Sample) -> None:
        if sample.dataset in self._built:
            return
        if any(not os.path.exists(r.path) for r in sample.resources):
            from medagentgym.catalog.registry import get_dataset

            get_dataset(sample.dataset).build()
        self._built.add(sample.dataset)

    async def run(self, sample_json: str, epoch: int) -> str:
        if self._model_calls is None:  # created inside the actor's event loop
            self._model_calls = asyncio.Semaphore(self.model_calls_limit)
        sample = Sample.model_validate_json(sample_json)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self._ensure_data, sample)
        env = self._env_type(config=self.config.env, sandbox=self.sandbox)
        try:
            trajectory = await run_episode_async(
                env,
                self.policy,
                sample,
                run_id=self.run_id,
                epoch=epoch,
                seed=episode_seed(sample.id, epoch),
                max_episode_s=self.config.max_episode_s,
                model_calls=self._model_calls,
                executor=self.executor,
            )
        finally:
            await loop.run_in_executor(self.executor, env.close)
        return model_json(trajectory)  # never fails on a lone surrogate from the model or the code

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)
        self.sandbox.close()


def worker_homes(nodes: list[dict[str, Any]], count: int) -> list[str | None]:
    """The node each of ``count`` workers goes to: the alive nodes with CPUs, in turn, each as
    often as it has CPUs (one node's second CPU comes after every node's first). A worker asks
    for no CPU, so Ray's own strategies pack them (both workers of a two-node run landed on one
    node, with ``SPREAD`` too); None where no node reports a CPU (Ray decides)."""
    cpus = {
        str(n["NodeID"]): int(n.get("Resources", {}).get("CPU", 0))
        for n in nodes
        if n.get("Alive") and n.get("NodeID")
    }
    slots = sorted((k, node) for node, n in cpus.items() for k in range(n))
    if not slots:
        return [None] * count
    return [slots[i % len(slots)][1] for i in range(count)]


def _on_node(node_id: str | None) -> Any:
    if node_id is None:
        return "DEFAULT"
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=True)  # elsewhere if that node is gone


def run_rollouts_ray(
    samples: Iterable[Sample],
    spec: PolicySpec,
    sink: EpisodeSink,
    config: RolloutConfig | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    placement: dict[str, int] | None = None,
) -> RunSummary:
    """Run every (sample, epoch) not in the sink on Ray workers; the driver writes the sink.

    ``address`` names an existing cluster; without it a local Ray instance is started (and
    stopped again). ``workers`` defaults to the cluster's CPU count; they are spread over the
    nodes by their CPUs (``worker_homes``). ``config.max_sessions`` and
    ``config.max_model_calls`` are global caps, split evenly over the workers. ``placement``, when
    given, is filled with the number of episodes each node ran (by Ray node id).
    """
    import ray

    config = config or RolloutConfig()
    summary = RunSummary()
    todo = plan_episodes(samples, sink, config.epochs, summary)
    started_here = not ray.is_initialized()
    if started_here:
        env_vars = {k: os.environ[k] for k in ("MEDAGENTGYM_CACHE",) if k in os.environ}
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": env_vars} if env_vars else None,
        )
    actors: list[Any] = []
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = max(1, min(count, config.max_sessions, max(1, len(todo))))
        per_actor = math.ceil(config.max_sessions / count)
        calls_per_actor = max(1, math.ceil(config.max_model_calls / count))
        actor_config = config.model_copy(update={"max_sessions": per_actor}).model_dump_json()
        remote = ray.remote(num_cpus=0)(EpisodeWorker)
        homes = worker_homes(ray.nodes(), count)
        actors = [
            remote.options(max_concurrency=per_actor, scheduling_strategy=_on_node(home)).remote(
                spec.model_dump(), actor_config, sink.run_id, calls_per_actor
            )
            for home in homes
        ]
        nodes = ray.get([actor.node.remote() for actor in actors]) if placement is not None else []
        pending: dict[Any, int] = {}  # object ref -> actor index
        load = [0] * count  # episodes in flight per actor
        queue = deque(todo)
        display = ProgressDisplay(total=len(todo), enabled=config.progress)
        with display:
            while queue or pending:
                while queue and len(pending) < config.max_sessions:
                    target = min(range(count), key=load.__getitem__)
                    sample, epoch = queue.popleft()
                    pending[actors[target].run.remote(model_json(sample), epoch)] = target
                    load[target] += 1
                    if placement is not None:
                        placement[nodes[target]] = placement.get(nodes[target], 0) + 1
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    load[pending.pop(ref)] -= 1
                    trajectory = Trajectory.model_validate_json(ray.get(ref))
                    if sink.append(trajectory):
                        summary.record(trajectory)
                        display.update(trajectory)
    finally:
        for actor in actors:
            try:
                ray.get(actor.shutdown.remote(), timeout=30)
            except Exception:  # the node may be gone; its sessions die with it
                pass
        if started_here:
            ray.shutdown()
    return summary
