"""MedAgentGym as a prime/verifiers environment (verifiers 0.4, the ``verifiers.v1`` stack).

verifiers 0.4 composes an environment from a *taskset* (the tasks and how each is scored) and a
*harness* (the agent program that talks to the model); ``SingleAgentEnv`` plays one harness run
per task. The pieces here:

- ``MedAgentGymTaskset`` yields one ``MedAgentGymTask`` per sample (train split by default).
  The task data carries the sample id and the opening messages only: never the target.
- ``MedAgentGymTask`` opens our ``Episode`` in ``setup``, ends it in ``finalize`` and scores it:
  the ``benchmark`` reward is the env's score, unchanged; ``shaped`` is a second reward, 0 unless
  ``shaped_weight`` is set, so the trace's total equals the benchmark score by default.
- ``MedAgentGymHarness`` is the agent loop, run in-process: it sends the conversation to the
  rollout's interception endpoint (so verifiers records every model call, tokens included when
  training), executes the model's tool calls on the episode, and stops when the episode ends.
  ``cleanup`` closes the episode's sandbox session; verifiers calls it after scoring and on
  every failure path (``Rollout.close``/``abort``), and the ``Episode`` finaliser covers a
  rollout dropped without either.

Why an in-process harness and not an MCP toolset with a stock harness: verifiers' stock
harnesses run a separate program whose dependencies ``uv`` resolves at run time, and a toolset
is a separate server process; both need the network on first use, and the sandbox session
would live in another process than the reward. The loop here needs neither, so a rollout is
offline and the reward reads the very episode the model acted on.

An infrastructure failure (the sandbox died, not the model) raises from the reward, so
verifiers marks the trace failed and leaves it out, instead of recording a false 0.

The taskset id is ``medagentgym_verifiers``. verifiers' loader imports a plugin by a name
without dots (it looks for ``verifiers.v1.tasksets.<id>`` first, which fails for a dotted id),
so importing this module registers it under that name too; the module exports its ``Taskset``
and ``Harness`` subclasses through ``__all__`` as the loader requires, which also makes the
harness the taskset's default. A process that receives only a config (a verifiers env-server
worker) must import this module before loading the env.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import verifiers.v1 as vf
from pydantic import Field
from verifiers.v1.runtimes import ProgramResult

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig
from medagentgym.integrations.common import Episode, require_split, resolve_sample

__all__ = ["MedAgentGymHarness", "MedAgentGymTaskset"]

#: The taskset id verifiers resolves: an alias of this module (see the module docstring).
TASKSET_ID = "medagentgym_verifiers"
sys.modules.setdefault(TASKSET_ID, sys.modules[__name__])

# Open episodes by trace id: the task opens one, the harness acts on it, the harness closes it.
_EPISODES: dict[str, Episode] = {}
_EPISODES_LOCK = threading.Lock()


def _episode(trace_id: str) -> Episode | None:
    with _EPISODES_LOCK:
        return _EPISODES.get(trace_id)


def open_episodes() -> int:
    """How many episodes are open (tests check that rollouts leave none behind)."""
    with _EPISODES_LOCK:
        return len(_EPISODES)


# -- task -------------------------------------------------------------------------------------


class MedAgentGymTaskConfig(vf.TaskConfig):
    """Per-episode knobs (the env's ``EnvConfig`` plus the shaped-reward weight)."""

    split: Literal["train", "test"] = "train"
    max_turns: int = 15
    step_timeout_s: float = 30.0
    max_observation_chars: int = 8_000
    shaped_weight: float = 0.0


class MedAgentGymTaskData(vf.TaskData):
    """The wire half of a task: which sample, and its opening messages (no target)."""

    sample_id: str = ""


class MedAgentGymTask(vf.Task[MedAgentGymTaskData, vf.State, MedAgentGymTaskConfig]):
    """One sample: its episode's life cycle and its rewards."""

    @property
    def key(self) -> str:
        return self.data.sample_id or self.hash

    def env_config(self) -> EnvConfig:
        return EnvConfig(
            max_turns=self.config.max_turns,
            action_format="tools",
            step_timeout_s=self.config.step_timeout_s,
            max_observation_chars=self.config.max_observation_chars,
        )

    async def setup(self, trace: vf.Trace) -> None:
        episode = await asyncio.to_thread(
            Episode, self.data.sample_id, config=self.env_config(), split=self.config.split
        )
        with _EPISODES_LOCK:
            stale = _EPISODES.pop(trace.id, None)
            _EPISODES[trace.id] = episode
        if stale is not None:
            stale.close()

    async def finalize(self, trace: vf.Trace) -> None:
        episode = _episode(trace.id)
        if episode is not None:
            await asyncio.to_thread(episode.end)

    @vf.reward
    async def benchmark(self, trace: vf.Trace) -> float:
        """The benchmark score of the episode (0.0 without a graded answer)."""
        episode = _episode(trace.id)
        if episode is None:
            raise RuntimeError("no MedAgentGym episode for this rollout (the harness is not MedAgentGymHarness?)")
        value = episode.reward()
        if value is None:
            raise RuntimeError("the sandbox failed during the episode (infra_error): not a model error, not scored")
        return value

    @vf.reward
    async def shaped(self, trace: vf.Trace) -> float:
        """``shaped_weight`` times the shaped reward (valid actions, code that ran, a submission)."""
        episode = _episode(trace.id)
        if episode is None or self.config.shaped_weight <= 0:
            return 0.0
        return episode.shaped(self.config.shaped_weight)

    @vf.metric
    async def progress(self, trace: vf.Trace) -> dict[str, float]:
        episode = _episode(trace.id)
        if episode is None:
            return {}
        return {"turns": float(episode.env.turn), "submitted": float(episode.env.submitted)}


# -- taskset ----------------------------------------------------------------------------------


class MedAgentGymTasksetConfig(vf.TasksetConfig):
    """Which samples: a dataset/category selection or explicit ``sample_ids``."""

    dataset: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)
    split: Literal["train", "test"] = "train"
    sample_ids: list[str] = Field(default_factory=list)
    limit_per_category: int | None = None
    seed: int = 0
    task: MedAgentGymTaskConfig = MedAgentGymTaskConfig()


class MedAgentGymTaskset(vf.Taskset[MedAgentGymTask, MedAgentGymTasksetConfig]):
    def samples(self) -> list[Sample]:
        config = self.config
        if config.sample_ids:
            chosen = [resolve_sample(sid) for sid in config.sample_ids]
        else:
            from medagentgym.catalog.selection import checked_selection, select_samples

            selection = checked_selection(
                config.dataset, config.category, config.split, config.limit_per_category, config.seed
            )
            chosen = list(select_samples(selection))
        require_split(chosen, config.split)
        return chosen

    def load(self) -> list[MedAgentGymTask]:
        from medagentgym.env.prompts import render_task, system_prompt
        from medagentgym.untrusted import clean_text

        task_config = self.config.task.model_copy(update={"split": self.config.split})
        return [
            MedAgentGymTask(
                MedAgentGymTaskData(
                    id=sample.id,
                    name=f"{sample.dataset}/{sample.category}",
                    sample_id=sample.id,
                    system_prompt=clean_text(system_prompt(sample)),
                    prompt=clean_text(render_task(sample, action_format="tools")),
                ),
                task_config,
            )
            for sample in self.samples()
        ]


# -- harness ----------------------------------------------------------------------------------


class MedAgentGymHarnessConfig(vf.HarnessConfig):
    #: Seconds one model call may take (the interception server relays it to the model).
    request_timeout_s: float = 600.0


class MedAgentGymHarness(vf.Harness[MedAgentGymHarnessConfig]):
    """The tool-calling agent loop over the episode, run inside the verifiers process."""

    APPENDS_SYSTEM_PROMPT: ClassVar[bool] = True
    EXECUTES_CODE: ClassVar[bool] = False  # code runs in MedAgentGym's sandbox, not the runtime
    NEEDS_CONTAINER: ClassVar[bool] = False

    async def launch(
        self,
        ctx: vf.ModelContext,
        trace: vf.Trace,
        runtime: vf.Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        **_: Any,
    ) -> ProgramResult:
        import httpx

        episode = _episode(trace.id)
        if episode is None:
            return ProgramResult(exit_code=1, stdout="", stderr="no MedAgentGym episode was opened for this rollout")
        system, prompt = self.resolve_prompt(data)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        else:
            messages.extend(message.model_dump(exclude_none=True) for message in prompt or [])
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(headers=headers, timeout=self.config.request_timeout_s) as http:
            while not episode.done:
                body = {"model": ctx.model, "messages": messages, "tools": episode.tools}
                reply = await http.post(endpoint.rstrip("/") + "/chat/completions", json=body)
                if reply.status_code != 200:
                    return ProgramResult(exit_code=1, stdout="", stderr=f"model call failed: {reply.text[:2000]}")
                message = _first_message(reply.json())
                messages.append(message)
                calls = message.get("tool_calls") or []
                if not calls:
                    # Plain text: the env reads it as a JSON action; a reply that is none costs a turn.
                    turn = await episode.aact(message.get("content") or "")
                    if not turn.done:
                        messages.append({"role": "user", "content": turn.observation})
                    continue
                for call in calls:
                    turn = await episode.aact(call)
                    messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": turn.observation})
        return ProgramResult(exit_code=0, stdout="", stderr="")

    async def cleanup(self, trace: vf.Trace, runtime: vf.Runtime) -> None:
        with _EPISODES_LOCK:
            episode = _EPISODES.pop(trace.id, None)
        if episode is not None:
            await asyncio.to_thread(episode.close)


def _first_message(payload: Any) -> dict[str, Any]:
    """The assistant message of a chat-completions reply, as a plain message dict."""
    try:
        message = dict(payload["choices"][0]["message"])
    except (KeyError, IndexError, TypeError):
        return {"role": "assistant", "content": json.dumps(payload)[:2000]}
    out: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [call for call in calls if isinstance(call, dict)]
    return out


# -- entry point ------------------------------------------------------------------------------


def load_environment(
    dataset: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    split: Literal["train", "test"] = "train",
    *,
    sample_ids: Sequence[str] | None = None,
    limit_per_category: int | None = None,
    seed: int = 0,
    max_turns: int = 15,
    step_timeout_s: float = 30.0,
    max_observation_chars: int = 8_000,
    shaped_weight: float = 0.0,
) -> vf.SingleAgentEnv:
    """A verifiers ``SingleAgentEnv`` over MedAgentGym samples (train split unless asked).

    Run it as verifiers runs any env: inside ``async with env.serving():``, plan rollouts with
    ``env.slots(task, n)`` over ``env.taskset`` and play them with ``env.run_slot(slot, ctx)``
    (or ``env.run_episode(task, ctx)``), where ``ctx = vf.ModelContext(model=...,
    client=vf.ClientConfig(base_url=...))``; each episode's trace carries the rewards.
    """
    names = [dataset] if isinstance(dataset, str) else list(dataset or [])
    categories = [category] if isinstance(category, str) else list(category or [])
    taskset = {
        "id": TASKSET_ID,
        "dataset": names,
        "category": categories,
        "split": split,
        "sample_ids": list(sample_ids or []),
        "limit_per_category": limit_per_category,
        "seed": seed,
        "task": {
            "max_turns": max_turns,
            "step_timeout_s": step_timeout_s,
            "max_observation_chars": max_observation_chars,
            "shaped_weight": shaped_weight,
        },
    }
    # The harness runs in this process, so the seat's runtime is the local subprocess one (a
    # scratch folder); verifiers' default, a remote Prime sandbox, would need a tunnel and a login.
    config = vf.resolve_env_config({"taskset": taskset, "agent": {"runtime": {"type": "subprocess"}}})
    return vf.load_environment(config)
