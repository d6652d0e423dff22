"""What every adapter needs from the env, written once.

Each framework wants the same four things: start an episode from a sample id, act (text or a tool
call) and get an observation, done flag and reward back, read the final reward, and clean up an
episode the framework abandoned. ``Episode`` is that, over a ``MedAgentEnv`` on the process's
shared sandbox server. Token-level trainers (verl, the TRL rollout) also need an observation as
the chat template renders a user turn between two assistant turns: ``ChatTurns``.

Rewards: ``benchmark_value`` is the env's score when the episode ended normally, 0.0 when it ended
without a graded answer, and ``None`` after an infrastructure failure (the sandbox, not the
model, failed: a trainer should leave it out rather than learn from a false 0).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.runs.schema import StepRecord
from medagentgym.sandbox import SandboxServer


class IntegrationError(ValueError):
    """A request an adapter cannot serve (unknown sample, wrong split, bad row); one line."""


def resolve_sample(sample_id: Any, samples: Mapping[str, Sample] | None = None) -> Sample:
    """The sample with this id: from ``samples`` when given (and only from there), else
    regenerated from the id (``dataset/category/split/seed/index``)."""
    if not isinstance(sample_id, str) or not sample_id:
        raise IntegrationError("a sample_id (a non-empty string) is needed to pick the task")
    if samples is not None:
        sample = samples.get(sample_id)
        if sample is None:
            raise IntegrationError(f"sample {sample_id} is not among this environment's samples")
        return sample
    from medagentgym.catalog.selection import find_sample

    try:
        return find_sample(sample_id)
    except KeyError as exc:
        raise IntegrationError(f"unknown sample {sample_id}: {exc.args[0] if exc.args else exc}") from None


def require_split(samples: Iterable[Sample], split: str = "train") -> None:
    """Refuse samples of another split (a test sample must never shape a model)."""
    for sample in samples:
        if sample.split != split:
            raise IntegrationError(
                f"sample {sample.id} is from the {sample.split!r} split; only {split!r} samples are accepted here"
            )


def benchmark_value(env: MedAgentEnv) -> float | None:
    """The benchmark reward of the env's episode (see the module docstring)."""
    if env.status == "infra_error":
        return None
    if env.status == "ok" and env.score is not None:
        return float(env.score.value)
    return 0.0


def shaping_score(steps: Sequence[StepRecord], submitted: bool, weight: float) -> float:
    """A shaped reward: ``weight`` times the mean of three parts in [0, 1].

    The parts are the share of turns whose output parsed as an action, whether any code or SQL
    ran without error, and whether an answer was submitted. At most ``weight``, so shaping stays
    below one correct answer; it is reported apart and never changes the benchmark score.
    """
    if not steps:
        return 0.0
    parsed = sum(step.action is not None for step in steps) / len(steps)
    ran = any(step.execution is not None and step.execution.status == "ok" for step in steps)
    return weight * (parsed + float(ran) + float(submitted)) / 3.0


@dataclass
class Turn:
    """What one action gave back."""

    observation: str
    reward: float
    done: bool
    info: dict[str, Any] = field(default_factory=dict)


class Episode:
    """One episode for an adapter: ``messages`` to start from, ``act``, ``reward``, ``close``.

    ``close`` is idempotent and also runs when the object is garbage-collected or the process
    exits, so an episode a framework drops (a cancelled request, a crashed worker loop) does not
    keep its sandbox session. Acting after the end returns a plain "episode is over" turn instead
    of raising, because frameworks often call the env once more after ``done``.
    """

    def __init__(
        self,
        sample: Sample | str,
        *,
        config: EnvConfig | None = None,
        sandbox: SandboxServer | None = None,
        samples: Mapping[str, Sample] | None = None,
        split: str | None = None,
        seed: int | None = None,
    ) -> None:
        self.sample = sample if isinstance(sample, Sample) else resolve_sample(sample, samples)
        if split is not None:
            require_split([self.sample], split)
        self.env = MedAgentEnv(config=config, sandbox=sandbox)
        self._finalizer = weakref.finalize(self, _close_env, self.env)
        try:
            self.task, info = self.env.reset(seed=seed, options={"sample": self.sample})
        except BaseException:
            self.close()
            raise
        #: system and task messages, as a chat model starts the episode
        self.messages: list[dict[str, Any]] = info["messages"]
        #: OpenAI tool definitions (``action_format="tools"``), else None
        self.tools: list[dict[str, Any]] | None = info.get("tools")
        self.info = info

    @property
    def done(self) -> bool:
        return self.env.done

    @property
    def status(self) -> str | None:
        return self.env.status

    @property
    def system_prompt(self) -> str:
        return str(self.messages[0]["content"])

    def act(self, action: Any) -> Turn:
        """One step: JSON text, an action dict, or an OpenAI-style tool call (or a list of one)."""
        if self.env.done:
            return Turn("The episode is over; no further actions are accepted.", 0.0, True, {"status": self.status})
        observation, reward, terminated, truncated, info = self.env.step(action)
        return Turn(observation, float(reward), bool(terminated or truncated), info)

    async def aact(self, action: Any) -> Turn:
        import asyncio

        return await asyncio.to_thread(self.act, action)

    def tool_call(self, name: str, arguments: Mapping[str, Any]) -> Turn:
        """Act with a named tool and its arguments (``None`` values dropped: optional ones)."""
        return self.act({"action": name, **{k: v for k, v in arguments.items() if v is not None}})

    def reward(self) -> float | None:
        """The benchmark reward so far (0.0 until a graded answer; ``None`` after an infra failure)."""
        return benchmark_value(self.env)

    def shaped(self, weight: float = 0.2) -> float:
        return shaping_score(self.env.steps, self.env.submitted, weight)

    def end(self) -> None:
        """End the episode now (the framework gave up); the reward stays readable."""
        if not self.env.done:
            self.env.end_episode()

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Episode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _close_env(env: MedAgentEnv) -> None:
    try:
        env.close()
    except Exception:  # a dead session is gone anyway; closing must never raise from a finalizer
        pass


# -- chat-template rendering for token-level trainers -----------------------------------------

_MARKER = "\u2063MEDAGENTGYM-OBSERVATION\u2063"
_REPLY = "\u2063R\u2063"


def render_chat(tokenizer: Any, messages: Sequence[Mapping[str, Any]], *, generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=generation_prompt)


def encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


class ChatTurns:
    """Observation tokens as the chat template renders them between two assistant turns.

    ``observation_ids(obs, ended)`` returns what closes the model's turn (when generation stopped
    before the end-of-turn token), the observation as a user turn, and the opening of the next
    assistant turn: the tokens a token-level trainer appends with loss mask 0. The template's
    pieces are read once by rendering a probe conversation.
    """

    def __init__(self, tokenizer: Any, *, max_observation_tokens: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.max_observation_tokens = max_observation_tokens
        messages = [
            {"role": "user", "content": "task"},
            {"role": "assistant", "content": _REPLY},
            {"role": "user", "content": _MARKER},
        ]
        full = render_chat(tokenizer, messages, generation_prompt=True)
        after = full[full.index(_REPLY) + len(_REPLY) :]
        eos = tokenizer.eos_token or ""
        self.closing = eos if eos and after.startswith(eos) else ""
        self.between = after[len(self.closing) :]

    def prompt_ids(self, messages: Sequence[Mapping[str, Any]]) -> list[int]:
        """The episode's opening messages with the generation prompt, as token ids."""
        return encode(self.tokenizer, render_chat(self.tokenizer, messages, generation_prompt=True))

    def observation_text(self, observation: str, ended: bool = True) -> str:
        """The observation turn as text (for frameworks that take feedback as a string);
        encoding it gives ``observation_ids(observation, ended)``."""
        limit = self.max_observation_tokens
        if limit is not None:
            ids = encode(self.tokenizer, observation)
            if len(ids) > limit:
                observation = self.tokenizer.decode(ids[:limit], skip_special_tokens=True)
                observation += f"\n...[observation clipped to {limit} tokens]"
        return ("" if ended else self.closing) + self.between.replace(_MARKER, observation)

    def observation_ids(self, observation: str, ended: bool = True) -> list[int]:
        return encode(self.tokenizer, self.observation_text(observation, ended))
