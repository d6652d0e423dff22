"""Whole episodes at the token level, for trainers that generate token ids themselves.

verl's agent loops and OpenRLHF's agent executors hand the adapter a generation server that takes
token ids and returns token ids. Both need the same thing back: the prompt's ids, the response's
ids (the model's turns *and* the observations between them), a mask that is 1 exactly on the
tokens the model sampled, the sampling logprobs, and the episode's reward. ``TokenEpisode`` plays
one episode that way over any ``generate(ids, max_tokens)`` coroutine, so the framework modules
only translate their server's call and their output type.

Why it is built this way:
- Observations are the chat template's user turn plus the next assistant header
  (``ChatTurns.observation_ids``), appended with mask 0, so the ids the trainer scores are the ids
  the model was conditioned on: no re-tokenisation of the model's own text ever happens.
- Whether a reply closed its turn is read off its last token (an end-of-sequence id), because
  servers do not agree on how they report it (verl says "completed" for both a stop and a length
  cut); a reply cut by its budget gets the template's closing tokens before the observation.
- The response budget is a hard cap: an observation that would leave fewer than
  ``min_turn_tokens`` for the next reply is not appended and the episode ends there ("max_length"),
  so nothing has to be truncated afterwards (truncating would cut an observation in half).
- The episode is closed in ``finally`` on every path: a generation server that raises, a cancelled
  task or an env failure must not leave a sandbox session behind for the rest of a training run.
- The reward is the env's benchmark reward; ``None`` after an infrastructure failure (the sandbox,
  not the model, failed), for the adapter to report as the framework allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from medagentgym.integrations.common import ChatTurns, Episode

#: The fewest new tokens a turn is worth starting with; below it the episode stops (length cap).
MIN_TURN_TOKENS = 8


@dataclass
class TokenTrace:
    """The token record of one episode: prompt, response, loss mask and sampling logprobs.

    ``add_model`` appends sampled tokens (mask 1), ``add_env`` appends the template's and the
    environment's tokens (mask 0, logprob 0.0). ``has_logprobs`` turns False as soon as one model
    chunk came without logprobs, so a partial list is never mistaken for a complete one.
    """

    prompt_ids: list[int] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)
    response_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    has_logprobs: bool = True

    def add_model(self, ids: Sequence[int], logprobs: Sequence[float] | None = None) -> None:
        ids = [int(i) for i in ids]
        if logprobs is None or len(logprobs) != len(ids):
            self.has_logprobs = self.has_logprobs and not ids
            values = [0.0] * len(ids)
        else:
            values = [float(v) for v in logprobs]
        self.response_ids.extend(ids)
        self.response_mask.extend([1] * len(ids))
        self.logprobs.extend(values)

    def add_env(self, ids: Sequence[int]) -> None:
        ids = [int(i) for i in ids]
        self.response_ids.extend(ids)
        self.response_mask.extend([0] * len(ids))
        self.logprobs.extend([0.0] * len(ids))

    @property
    def ids(self) -> list[int]:
        """Everything so far: what the next generation is conditioned on."""
        return self.prompt_ids + self.response_ids

    @property
    def model_tokens(self) -> int:
        return sum(self.response_mask)


@dataclass
class Generation:
    """One reply from a generation server: its token ids and (optionally) their logprobs."""

    token_ids: list[int]
    logprobs: list[float] | None = None


#: ``generate(ids, max_tokens)``: one reply to the whole sequence so far, at most ``max_tokens`` long.
Generate = Callable[[list[int], int], Awaitable[Generation]]


@dataclass
class TokenRollout:
    """A finished episode: its trace, reward and how it ended (no target, no hidden data)."""

    sample_id: str
    trace: TokenTrace
    reward: float | None
    status: str
    model_turns: int
    observation_turns: int
    submitted: bool
    prompt_truncated: bool = False

    @property
    def infra_error(self) -> bool:
        return self.reward is None

    def log(self) -> dict[str, float]:
        """Numeric per-episode figures for a trainer's logs (same keys for every episode)."""
        return {
            "medagentgym/benchmark_reward": 0.0 if self.reward is None else float(self.reward),
            "medagentgym/infra_error": float(self.infra_error),
            "medagentgym/submitted": float(self.submitted),
            "medagentgym/max_length": float(self.status == "max_length"),
            "medagentgym/model_turns": float(self.model_turns),
        }


def eos_ids(tokenizer: Any, extra: Iterable[int] = ()) -> frozenset[int]:
    """The ids that end a reply: the tokenizer's end-of-sequence id plus any the server stops on."""
    ids = {int(i) for i in extra}
    if getattr(tokenizer, "eos_token_id", None) is not None:
        ids.add(int(tokenizer.eos_token_id))
    return frozenset(ids)


class TokenEpisode:
    """One episode played at the token level; ``await run(generate)`` plays it to the end.

    ``max_response_tokens`` caps everything after the prompt (replies and observations);
    ``max_turn_tokens`` caps one reply; ``max_prompt_tokens`` keeps the prompt's last tokens when
    it is longer (as verl does), flagged in the result. The episode is closed when ``run``
    returns or raises; ``close`` is there for a caller that never runs it.
    """

    def __init__(
        self,
        episode: Episode,
        turns: ChatTurns,
        *,
        max_response_tokens: int,
        max_turn_tokens: int | None = None,
        max_prompt_tokens: int | None = None,
        min_turn_tokens: int = MIN_TURN_TOKENS,
        stop_ids: Iterable[int] = (),
    ) -> None:
        if max_response_tokens < min_turn_tokens:
            raise ValueError(f"max_response_tokens must be at least {min_turn_tokens}")
        self.episode = episode
        self.turns = turns
        self.max_response_tokens = max_response_tokens
        self.max_turn_tokens = max_turn_tokens
        self.min_turn_tokens = min_turn_tokens
        self.stop_ids = eos_ids(turns.tokenizer, stop_ids)
        prompt = turns.prompt_ids(episode.messages)
        self.prompt_truncated = max_prompt_tokens is not None and len(prompt) > max_prompt_tokens
        if self.prompt_truncated:
            prompt = prompt[-max_prompt_tokens:]
        self.trace = TokenTrace(prompt_ids=prompt)
        self.model_turns = 0
        self.observation_turns = 0
        self._stopped: str | None = None

    async def run(self, generate: Generate) -> TokenRollout:
        try:
            while not self.episode.done and self._stopped is None:
                await self._turn(generate)
            return self._result()
        finally:
            self.close()

    def close(self) -> None:
        self.episode.close()

    async def _turn(self, generate: Generate) -> None:
        trace = self.trace
        room = self.max_response_tokens - len(trace.response_ids)
        budget = room if self.max_turn_tokens is None else min(room, self.max_turn_tokens)
        if budget < self.min_turn_tokens:
            self._stop("max_length")
            return
        reply = await generate(trace.ids, budget)
        ids = [int(i) for i in reply.token_ids][:budget]  # a server that overshoots is cut here
        if not ids:  # an aborted request: nothing was sampled, so nothing can be learned
            self._stop("aborted")
            return
        logprobs = None if reply.logprobs is None else list(reply.logprobs)[: len(ids)]
        trace.add_model(ids, logprobs)
        self.model_turns += 1
        ended = ids[-1] in self.stop_ids
        text = self.turns.tokenizer.decode(ids, skip_special_tokens=True)
        try:
            turn = await self.episode.aact(text)
        except Exception:  # noqa: BLE001 - the env failed, not the model: the episode is not scored
            self._stop("infra_error")
            return
        if turn.done:
            return
        observation = self.turns.observation_ids(turn.observation, ended)
        if len(trace.response_ids) + len(observation) + self.min_turn_tokens > self.max_response_tokens:
            self._stop("max_length")
            return
        trace.add_env(observation)
        self.observation_turns += 1

    def _stop(self, status: str) -> None:
        self._stopped = status
        self.episode.end()

    def _result(self) -> TokenRollout:
        reward = None if self._stopped == "infra_error" else self.episode.reward()
        env = self.episode.env
        status = self._stopped if self._stopped is not None else (env.status or "max_turns")
        return TokenRollout(
            sample_id=self.episode.sample.id,
            trace=self.trace,
            reward=reward,
            status="infra_error" if reward is None else status,
            model_turns=self.model_turns,
            observation_turns=self.observation_turns,
            submitted=bool(env.submitted),
            prompt_truncated=self.prompt_truncated,
        )


async def start_episode(sample_id: Any, **options: Any) -> Episode:
    """An ``Episode`` started in a worker thread (``reset`` may copy a database: keep the loop free)."""
    return await asyncio.to_thread(lambda: Episode(sample_id, **options))
