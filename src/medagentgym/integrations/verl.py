"""MedAgentGym as a verl agent loop (verl 0.9.1, ``verl.experimental.agent_loop``).

verl runs one agent loop per dataset row: it instantiates the class registered under the row's
``agent_name`` and awaits ``run(sampling_params, **row)``, which returns an ``AgentLoopOutput``
(prompt ids, response ids, response mask, logprobs, ``reward_score``). ``MedAgentGymAgentLoop``
plays one whole JSON-action episode there, generating with verl's server manager and stepping the
live env in between (the token bookkeeping is ``tokens.TokenEpisode``).

Why it is built this way:
- The row carries only the sample id (``extra_info["sample_id"]``, see ``dataset_row``); the
  episode always starts from the env's own task and system prompt for that id, never from text a
  dataset could get out of step with. Only train-split samples are accepted.
- Each reply is limited to the rest of ``rollout.response_length`` (and ``max_turn_tokens``) by
  passing ``max_tokens`` per request, so the response never has to be cut afterwards.
- ``reward_score`` is set on every output: verl 0.9.1 builds ``rm_scores`` only when *every*
  output in the batch has one, and then skips its reward function. An episode that failed for
  infrastructure reasons therefore gets 0.0 with ``extra_fields["medagentgym"]["infra_error"]``
  set, so it can be filtered; verl has no way to leave one trajectory out of a batch.
- verl's continuous-token builder is not used: it renders chat messages, while the env's
  observations are appended as ids rendered by ``ChatTurns`` from the same tokenizer and chat
  template, which keeps the loop testable without verl.
- When verl is importable the class subclasses its ``AgentLoopBase`` and is registered as
  ``"medagentgym"``; otherwise a local stand-in with the same constructor lets the loop be used
  and tested against the documented interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig
from medagentgym.env.prompts import opening_messages
from medagentgym.integrations.common import ChatTurns, IntegrationError, require_split
from medagentgym.integrations.tokens import (
    Generation,
    TokenEpisode,
    start_episode,
)

AGENT_NAME = "medagentgym"

try:  # verl is optional; its agent-loop module needs ray, hydra, tensordict and torch
    from verl.experimental.agent_loop.agent_loop import AgentLoopBase as _AgentLoopBase
    from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
    from verl.experimental.agent_loop.agent_loop import register as _register

    VERL_AVAILABLE = True
except ImportError:  # pragma: no cover - exercised where verl is installed
    VERL_AVAILABLE = False
    from pydantic import BaseModel

    class AgentLoopOutput(BaseModel):  # type: ignore[no-redef]
        """The fields of verl 0.9.1's ``AgentLoopOutput`` this loop fills."""

        prompt_ids: list[int]
        response_ids: list[int]
        response_mask: list[int]
        response_logprobs: list[float] | None = None
        reward_score: float | None = None
        num_turns: int = 0
        metrics: dict[str, Any] = {}
        extra_fields: dict[str, Any] = {}

    class _AgentLoopBase:  # type: ignore[no-redef]
        """Stand-in for verl's ``AgentLoopBase``: the same keyword constructor, the attributes read here."""

        def __init__(
            self,
            trainer_config: Any,
            server_manager: Any,
            tokenizer: Any,
            processor: Any = None,
            dataset_cls: Any = None,
            data_config: Any = None,
            **kwargs: Any,
        ) -> None:
            self.config = trainer_config.config
            self.rollout_config = self.config.actor_rollout_ref.rollout
            self.server_manager = server_manager
            self.tokenizer = tokenizer
            self.processor = processor

    def _register(agent_name: str) -> Any:
        return lambda cls: cls


def dataset_row(sample: Sample, index: int = 0, *, agent_name: str = AGENT_NAME) -> dict[str, Any]:
    """One verl dataset row (a parquet row for ``RLHFDataset``) for a train sample.

    ``prompt`` is the task as chat messages (verl shows and logs it as ``raw_prompt``); the loop
    reads only ``extra_info["sample_id"]``. ``reward_model`` is present because verl's default
    reward path expects the column; its ``ground_truth`` is empty on purpose (the env grades).
    """
    require_split([sample], "train")
    return {
        "data_source": f"medagentgym/{sample.dataset}",
        "agent_name": agent_name,
        "prompt": opening_messages(sample),
        "ability": sample.category,
        "reward_model": {"style": "medagentgym", "ground_truth": ""},
        "extra_info": {"sample_id": sample.id, "index": index, "split": sample.split},
    }


def dataset_rows(samples: list[Sample], *, agent_name: str = AGENT_NAME) -> list[dict[str, Any]]:
    """``dataset_row`` for each sample, indexed in order (write them with pandas ``to_parquet``)."""
    return [dataset_row(sample, i, agent_name=agent_name) for i, sample in enumerate(samples)]


def _option(config: Any, name: str) -> Any:
    """``config.name`` of an OmegaConf node, dataclass or mapping; None when absent."""
    if config is None:
        return None
    if isinstance(config, Mapping):
        return config.get(name)
    return getattr(config, name, None)


@_register(AGENT_NAME)
class MedAgentGymAgentLoop(_AgentLoopBase):
    """A verl agent loop that plays one MedAgentGym episode per dataset row.

    Options (keyword arguments; in verl, extra keys of the agent-loop YAML entry):
    ``max_turns`` (default: ``rollout.multi_turn.max_assistant_turns`` when set, else the env's),
    ``max_turn_tokens`` (one reply's cap; default none beyond the response budget),
    ``max_observation_tokens`` (clip each observation), ``step_timeout_s``, ``env_config`` (an
    ``EnvConfig`` or a mapping of its fields) and ``split`` (default "train").
    """

    def __init__(
        self,
        *args: Any,
        max_turns: int | None = None,
        max_turn_tokens: int | None = None,
        max_observation_tokens: int | None = None,
        step_timeout_s: float | None = None,
        env_config: EnvConfig | Mapping[str, Any] | None = None,
        split: str = "train",
        tools: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        rollout = self.rollout_config
        self.prompt_length = int(_option(rollout, "prompt_length"))
        self.response_length = int(_option(rollout, "response_length"))
        base = env_config if isinstance(env_config, EnvConfig) else EnvConfig(**dict(env_config or {}))
        update: dict[str, Any] = {"action_format": "json"}
        turns = max_turns or _option(_option(rollout, "multi_turn"), "max_assistant_turns")
        if turns:
            update["max_turns"] = int(turns)
        if step_timeout_s is not None:
            update["step_timeout_s"] = step_timeout_s
        self.env_config = base.model_copy(update=update)
        self.max_turn_tokens = max_turn_tokens
        self.max_observation_tokens = max_observation_tokens
        self.split = split

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        extra_info = kwargs.get("extra_info") or {}
        sample_id = extra_info.get("sample_id") if isinstance(extra_info, Mapping) else None
        if not isinstance(sample_id, str) or not sample_id:
            raise IntegrationError("the verl row has no extra_info.sample_id; build rows with dataset_row()")
        episode = await start_episode(sample_id, config=self.env_config, split=self.split)
        try:
            turns = ChatTurns(self.tokenizer, max_observation_tokens=self.max_observation_tokens)
            player = TokenEpisode(
                episode,
                turns,
                max_response_tokens=self.response_length,
                max_turn_tokens=self.max_turn_tokens,
                max_prompt_tokens=self.prompt_length,
            )
            request_id = uuid4().hex  # one id per episode: the server keeps its prefix cache warm
            base_params = dict(sampling_params)

            async def generate(ids: list[int], max_tokens: int) -> Generation:
                output = await self.server_manager.generate(
                    request_id=request_id,
                    prompt_ids=ids,
                    sampling_params={**base_params, "max_tokens": max_tokens},
                )
                logprobs = output.log_probs if output.log_probs else None
                return Generation(list(output.token_ids), logprobs)

            result = await player.run(generate)
        finally:
            episode.close()
        trace = result.trace
        return AgentLoopOutput(
            prompt_ids=trace.prompt_ids,
            response_ids=trace.response_ids,
            response_mask=trace.response_mask,
            response_logprobs=trace.logprobs if trace.has_logprobs and trace.response_ids else None,
            reward_score=0.0 if result.reward is None else float(result.reward),
            num_turns=1 + result.model_turns + result.observation_turns,
            metrics={},
            extra_fields={
                "turn_scores": [],
                "tool_rewards": [],
                "medagentgym": {
                    "sample_id": result.sample_id,
                    "status": result.status,
                    "infra_error": result.infra_error,
                    "submitted": result.submitted,
                    "model_turns": result.model_turns,
                    "prompt_truncated": result.prompt_truncated,
                },
            },
        )
