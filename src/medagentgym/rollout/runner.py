"""The episode loop and the async rollout runner.

``run_episode_async`` is the one place where a Policy and the Env meet: it keeps the chat messages
(raw model output included, even when it did not parse), feeds actions to the env and turns the
outcome into a Trajectory. Failures outside the model (the policy's API, the sandbox) end the
episode as ``infra_error`` with a ``failure`` kind; they are recorded and retried on resume, never
scored as wrong. ``run_rollouts`` runs many episodes at once under two global caps: live sandbox
sessions (one per running episode) and model calls in flight.

Model output is cleaned of lone surrogates (``clean_reply``) before it enters the
conversation: a JSON ``"\\udcff"`` escape in an HTTP reply would otherwise make the next request
unencodable and every later write of the episode fail.

One action per turn. A reply with several tool calls (a model that ignores
``parallel_tool_calls: false``) is acted on by its first call only: the recorded assistant message
keeps that call, and its answer starts with a note naming the calls that were not run, so the
model can send them again and the conversation stays valid (every recorded call has its answer).

Each step records ``model_s``, the wall-clock time of the policy call that produced its action
(retries included; waiting for a free model-call slot excluded), beside the env's ``duration_s``.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from medagentgym.catalog.sample import Sample
from medagentgym.catalog.splits import stable_hash
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.env.warm import default_warm_sessions, server_options
from medagentgym.policies.base import Policy, PolicyError, PolicyReply
from medagentgym.rollout.progress import ProgressDisplay
from medagentgym.runs.schema import StepRecord, Timing, TokenUsage, Trajectory
from medagentgym.runs.store import now_iso
from medagentgym.sandbox import SandboxServer
from medagentgym.untrusted import clean_json, clean_text


class RolloutConfig(BaseModel):
    """How a batch of episodes runs. ``max_sessions`` bounds episodes alive at once (each holds
    one sandbox session); ``max_model_calls`` bounds requests in flight to the model."""

    epochs: int = Field(default=1, ge=1)
    max_sessions: int = Field(default=32, ge=1)
    max_model_calls: int = Field(default=32, ge=1)
    max_episode_s: float | None = Field(default=None, gt=0)
    env: EnvConfig = Field(default_factory=EnvConfig)
    progress: bool = False
    #: Warm sandbox sessions per (resources, limits) kept by a server the runner starts (a sandbox
    #: with a pool); None: ``env.warm.default_warm_sessions(max_sessions)``, 0: no pool.
    warm_sessions: int | None = Field(default=None, ge=0, le=256)

    def pool_size(self) -> int:
        """The warm sessions asked of the server (``warm_sessions`` or its default)."""
        return default_warm_sessions(self.max_sessions) if self.warm_sessions is None else self.warm_sessions


class EpisodeSink(Protocol):
    """Where finished episodes go: a run folder (``RunStore``) or memory (``MemorySink``)."""

    @property
    def run_id(self) -> str: ...

    def is_done(self, sample_id: str, epoch: int) -> bool: ...

    def append(self, trajectory: Trajectory) -> bool: ...


@dataclass
class MemorySink:
    """Keeps trajectories in a list (validation, tests)."""

    run_id: str = "memory"
    trajectories: list[Trajectory] = field(default_factory=list)

    def is_done(self, sample_id: str, epoch: int) -> bool:
        return any(t.key == (sample_id, epoch) and t.status != "infra_error" for t in self.trajectories)

    def append(self, trajectory: Trajectory) -> bool:
        self.trajectories.append(trajectory)
        return True


def clean_reply(reply: PolicyReply) -> PolicyReply:
    """The reply with every string of its content and tool calls as valid Unicode."""
    content = clean_text(reply.content) if reply.content is not None else None
    if not reply.tool_calls and content == reply.content:
        return reply
    tool_calls = clean_json(reply.tool_calls) if reply.tool_calls else reply.tool_calls
    return reply.model_copy(update={"content": content, "tool_calls": tool_calls})


def _call_name(call: Any) -> str:
    """A tool call's function name for a note (model output: cleaned and clipped)."""
    function = call.get("function") if isinstance(call, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return clean_text(str(name))[:64] if name else "?"


def first_tool_call_only(reply: PolicyReply) -> tuple[PolicyReply, str | None]:
    """The reply cut to its first tool call, and the note that tells the model what was not run
    (None when the reply had at most one call)."""
    calls = reply.tool_calls or []
    if len(calls) <= 1:
        return reply, None
    skipped = [_call_name(call) for call in calls[1:6]]
    if len(calls) > 6:
        skipped.append(f"and {len(calls) - 6} more")
    note = (
        f"[You sent {len(calls)} tool calls in one turn; only the first ({_call_name(calls[0])}) was run, "
        f"not: {', '.join(skipped)}. Send one tool call per turn.]\n\n"
    )
    return reply.model_copy(update={"tool_calls": calls[:1]}), note


def _with_model_times(steps: list[StepRecord], calls: list[tuple[float, str | None]]) -> list[StepRecord]:
    """The env's step records with each policy call's time (and any one-call note) added.

    The env appends one record per ``step``, and the runner calls ``step`` once per reply, so
    the i-th record belongs to the i-th reply."""
    annotated = []
    for index, step in enumerate(steps):
        if index < len(calls):
            model_s, note = calls[index]
            update: dict[str, Any] = {"model_s": model_s}
            if note:
                update["observation"] = note + step.observation
            step = step.model_copy(update=update)
        annotated.append(step)
    return annotated


def episode_seed(sample_id: str, epoch: int) -> int:
    """The seed of one (sample, epoch): K samples of a task differ, reruns repeat."""
    return stable_hash("episode", sample_id, epoch) % (2**31)


async def run_episode_async(
    env: MedAgentEnv,
    policy: Policy,
    sample: Sample,
    *,
    run_id: str,
    epoch: int = 0,
    seed: int = 0,
    max_episode_s: float | None = None,
    model_calls: asyncio.Semaphore | None = None,
    executor: Executor | None = None,
) -> Trajectory:
    """Play one episode to the end and return its trajectory (env work runs in ``executor``)."""
    loop = asyncio.get_running_loop()
    started_at, started = now_iso(), time.perf_counter()
    deadline = None if max_episode_s is None else started + max_episode_s
    agent = policy.start_episode(sample, seed=seed)
    _, reset_info = await loop.run_in_executor(
        executor, lambda: env.reset(seed=seed, options={"sample": sample})
    )
    # the env's opening messages (system + task) and, after reset, its tools (the FHIR actions
    # only where the sample has a record store)
    tools = reset_info.get("tools")
    messages: list[dict[str, Any]] = [dict(m) for m in reset_info["messages"]]
    usage = TokenUsage()
    status: str | None = None
    error: str | None = None
    failure: str | None = None
    retries: dict[str, int] = {}
    calls: list[tuple[float, str | None]] = []  # per reply: the policy call's seconds, a one-call note
    while True:
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining <= 0:
            status, failure = "timeout", "episode_timeout"
            error = f"episode exceeded {max_episode_s:.0f} s"
            break
        called = time.perf_counter()
        try:
            if model_calls is None:
                reply = await asyncio.wait_for(agent.aact(messages, tools), remaining)
            else:
                async with model_calls:
                    called = time.perf_counter()  # the call's own time, not the wait for a slot
                    reply = await asyncio.wait_for(agent.aact(messages, tools), remaining)
        except TimeoutError:
            status, failure = "timeout", "episode_timeout"
            error = f"episode exceeded {max_episode_s:.0f} s waiting for the model"
            break
        except PolicyError as exc:
            status, error, failure = "infra_error", f"policy: {exc}", exc.kind
            for kind, count in (getattr(exc, "retries", None) or {}).items():
                retries[kind] = retries.get(kind, 0) + count
            break
        except Exception as exc:  # a bug in a policy must not crash the run
            status, failure = "infra_error", "policy_crash"
            error = clean_text(f"policy crashed: {type(exc).__name__}: {exc}")
            break
        model_s = time.perf_counter() - called
        reply, note = first_tool_call_only(clean_reply(reply))
        usage = usage.add(reply.usage)
        for kind, count in reply.retries.items():
            retries[kind] = retries.get(kind, 0) + count
        messages.append(reply.as_message())
        try:
            observation, _, terminated, truncated, info = await loop.run_in_executor(
                executor, env.step, reply.as_action()
            )
        except Exception as exc:
            status, failure = "infra_error", "sandbox"
            error = f"env: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            break
        calls.append((model_s, note))
        if note:
            observation = note + observation
        if reply.tool_calls:
            for call in reply.tool_calls:
                messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": observation})
        else:
            messages.append({"role": "user", "content": observation})
        if terminated or truncated:
            status = info.get("status")
            if status == "infra_error":
                failure = "sandbox"
                error = f"sandbox: {observation[-500:]}"
            break
    await loop.run_in_executor(executor, env.end_episode)
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
        steps=_with_model_times(list(env.steps), calls),
        submitted=env.submitted,
        submitted_answer=env.submitted_answer,
        score=score,
        reward=score.value if score is not None else 0.0,
        status=status or "infra_error",  # type: ignore[arg-type]
        error=error,
        failure=failure,
        api_retries=retries,
        sandbox_level=env.sandbox_level,
        usage=usage,
        timing=Timing(started_at=started_at, ended_at=now_iso(), duration_s=time.perf_counter() - started),
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
    """The synchronous form of :func:`run_episode_async` (env work runs in this thread)."""

    class _Inline(Executor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            from concurrent.futures import Future

            future: Future[Any] = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)
            return future

    return asyncio.run(
        run_episode_async(
            env,
            policy,
            sample,
            run_id=run_id,
            epoch=epoch,
            seed=seed,
            max_episode_s=max_episode_s,
            executor=_Inline(),
        )
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


def plan_episodes(
    samples: Iterable[Sample], sink: EpisodeSink, epochs: int, summary: RunSummary
) -> list[tuple[Sample, int]]:
    """Every (sample, epoch) the sink does not hold yet, in a stable order."""
    todo: list[tuple[Sample, int]] = []
    for sample in samples:
        for epoch in range(epochs):
            summary.planned += 1
            if sink.is_done(sample.id, epoch):
                summary.skipped += 1
            else:
                todo.append((sample, epoch))
    return todo


async def rollout(
    samples: Iterable[Sample],
    policy: Policy,
    sink: EpisodeSink,
    config: RolloutConfig | None = None,
    *,
    sandbox: SandboxServer | None = None,
) -> RunSummary:
    """Run every (sample, epoch) not yet in the sink; each finished episode is written at once."""
    config = config or RolloutConfig()
    summary = RunSummary()
    todo = plan_episodes(samples, sink, config.epochs, summary)
    owns_sandbox = sandbox is None
    server = sandbox or SandboxServer(**server_options(config.pool_size()))
    sessions = asyncio.Semaphore(config.max_sessions)
    model_calls = asyncio.Semaphore(config.max_model_calls)
    executor = ThreadPoolExecutor(max_workers=config.max_sessions, thread_name_prefix="episode")
    display = ProgressDisplay(total=len(todo), enabled=config.progress)

    async def one(sample: Sample, epoch: int) -> None:
        async with sessions:
            env = MedAgentEnv(config=config.env, sandbox=server)
            try:
                trajectory = await run_episode_async(
                    env,
                    policy,
                    sample,
                    run_id=sink.run_id,
                    epoch=epoch,
                    seed=episode_seed(sample.id, epoch),
                    max_episode_s=config.max_episode_s,
                    model_calls=model_calls,
                    executor=executor,
                )
            finally:
                await asyncio.get_running_loop().run_in_executor(executor, env.close)
        if sink.append(trajectory):
            summary.record(trajectory)
            display.update(trajectory)

    try:
        with display:
            await asyncio.gather(*(one(sample, epoch) for sample, epoch in todo))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        closer = getattr(policy, "aclose", None)
        if closer is not None:
            await closer()
        if owns_sandbox:
            server.close()
    return summary


def run_rollouts(
    samples: Iterable[Sample],
    policy: Policy,
    sink: EpisodeSink,
    config: RolloutConfig | None = None,
    *,
    sandbox: SandboxServer | None = None,
) -> RunSummary:
    """Synchronous entry point: ``asyncio.run(rollout(...))``."""
    return asyncio.run(rollout(samples, policy, sink, config, sandbox=sandbox))
