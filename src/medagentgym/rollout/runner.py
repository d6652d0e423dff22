"""The episode loop and a threaded runner over a run store.

``run_episode`` is the one place where a Policy and the Env meet: it keeps the chat messages
(raw model output included, even when it did not parse), feeds actions to the env and turns the
outcome into a Trajectory. Failures outside the model (the policy's API, the sandbox) end the
episode as ``infra_error``; they are recorded and retried on resume, never scored as wrong.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.policies.base import Policy, PolicyError
from medagentgym.runs.schema import Timing, TokenUsage, Trajectory
from medagentgym.runs.store import RunStore, now_iso
from medagentgym.sandbox import SandboxServer

SYSTEM_PROMPT = (
    "You are a careful biomedical data scientist. Solve the task by inspecting the data and "
    "running code, then submit the final answer with the submit action."
)


def run_episode(
    env: MedAgentEnv,
    policy: Policy,
    sample: Sample,
    *,
    run_id: str,
    epoch: int = 0,
    seed: int = 0,
    max_episode_s: float | None = None,
) -> Trajectory:
    """Play one episode to the end and return its trajectory."""
    started_at, started = now_iso(), time.perf_counter()
    agent = policy.start_episode(sample, seed=seed)
    tools = env.tools() if env.config.action_format == "tools" else None
    observation, _ = env.reset(seed=seed, options={"sample": sample})
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": observation},
    ]
    usage = TokenUsage()
    status = None
    error: str | None = None
    while True:
        if max_episode_s is not None and time.perf_counter() - started > max_episode_s:
            status, error = "timeout", f"episode exceeded {max_episode_s:.0f} s"
            break
        try:
            reply = agent.act(messages, tools)
        except PolicyError as exc:
            status, error = "infra_error", f"policy: {exc}"
            break
        except Exception as exc:  # a bug in a policy must not crash the run
            status, error = "infra_error", f"policy crashed: {type(exc).__name__}: {exc}"
            break
        usage = usage.add(reply.usage)
        messages.append(reply.as_message())
        try:
            observation, _, terminated, truncated, info = env.step(reply.as_action())
        except Exception as exc:
            status = "infra_error"
            error = f"env: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            break
        if reply.tool_calls:
            for call in reply.tool_calls:
                messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": observation})
        else:
            messages.append({"role": "user", "content": observation})
        if terminated or truncated:
            status = info.get("status")
            break
    if status != "ok" and not env.done:
        env.done = True
    score = env.score if status == "ok" else None
    return Trajectory(
        run_id=run_id,
        sample_id=sample.id,
        dataset=sample.dataset,
        category=sample.category,
        split=sample.split,
        epoch=epoch,
        seed=seed,
        policy=policy.info,
        messages=messages,
        steps=list(env.steps),
        submitted=env.submitted,
        submitted_answer=env.submitted_answer,
        score=score,
        reward=score.value if score is not None else 0.0,
        status=status or "infra_error",
        error=error,
        sandbox_level=env.sandbox_level,
        usage=usage,
        timing=Timing(started_at=started_at, ended_at=now_iso(), duration_s=time.perf_counter() - started),
    )


@dataclass
class RunSummary:
    planned: int = 0
    skipped: int = 0
    written: int = 0
    successes: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def record(self, trajectory: Trajectory) -> None:
        self.written += 1
        self.successes += int(trajectory.success)
        self.by_status[trajectory.status] = self.by_status.get(trajectory.status, 0) + 1


def run_samples(
    samples: Iterable[Sample],
    policy: Policy,
    store: RunStore,
    *,
    env_config: EnvConfig | None = None,
    sandbox: SandboxServer | None = None,
    epochs: int = 1,
    workers: int = 1,
    max_episode_s: float | None = None,
    on_episode: Callable[[Trajectory], None] | None = None,
) -> RunSummary:
    """Run every (sample, epoch) not yet in the store; each finished episode is flushed at once."""
    summary = RunSummary()
    todo: list[tuple[Sample, int]] = []
    for sample in samples:
        for epoch in range(epochs):
            summary.planned += 1
            if store.is_done(sample.id, epoch):
                summary.skipped += 1
            else:
                todo.append((sample, epoch))
    owns_sandbox = sandbox is None
    server = sandbox or SandboxServer()
    local = threading.local()
    envs: list[MedAgentEnv] = []
    envs_lock = threading.Lock()

    def env_for_thread() -> MedAgentEnv:
        if not hasattr(local, "env"):
            local.env = MedAgentEnv(config=env_config, sandbox=server)
            with envs_lock:
                envs.append(local.env)
        return local.env

    def one(sample: Sample, epoch: int) -> Trajectory:
        seed = epoch
        return run_episode(
            env_for_thread(),
            policy,
            sample,
            run_id=store.manifest.run_id,
            epoch=epoch,
            seed=seed,
            max_episode_s=max_episode_s,
        )

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(one, sample, epoch) for sample, epoch in todo]
            for future in as_completed(futures):
                trajectory = future.result()
                if store.append(trajectory):
                    summary.record(trajectory)
                    if on_episode is not None:
                        on_episode(trajectory)
    finally:
        for env in envs:
            env.close()
        if owns_sandbox:
            server.close()
    return summary
