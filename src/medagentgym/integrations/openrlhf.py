"""MedAgentGym for OpenRLHF's agent training (``--train.agent_func_path``; OpenRLHF 0.11.2).

OpenRLHF loads the file given as ``agent_func_path``, takes its ``AgentExecutor`` class (a
subclass of ``openrlhf.utils.agent.AgentExecutorBase``) and awaits
``execute(prompt, label, sampling_params, max_length, hf_tokenizer, llm_engine)`` once per
sample; the result is a dict of ``observation_tokens`` (prompt and response ids), ``action_ranges``
(the spans the model sampled), ``rollout_log_probs``, ``reward`` and ``scores``. The dataset's
label column carries the sample id (see ``dataset_row``). A file with this line is enough::

    from medagentgym.integrations.openrlhf import AgentExecutor  # noqa: F401

Two ways in:
- ``AgentExecutor`` (recommended) plays each episode token-in-token-out (``tokens.TokenEpisode``):
  each reply is capped (``max_turn_tokens``) and the response budget is exact, the model's turn is
  closed by the template when a reply was cut, and the env's observations are appended as the
  chat template's user turn with no loss. ``make_agent_executor(**options)`` binds options.
- ``AgentInstance`` implements OpenRLHF's per-step interface (``reset``/``step``) for its own
  ``MultiTurnAgentExecutor``; use it when that loop is wanted (it has no per-reply cap: OpenRLHF
  gives every reply the whole remaining budget). It needs the tokenizer to render feedback as the
  chat template does: ``make_agent_instance(tokenizer)``.

Why it is built this way:
- The label is a sample id, never a target; the episode starts from the env's own task and
  system prompt for that id, whatever text the dataset's prompt column holds. Only train-split
  samples are accepted.
- OpenRLHF calls ``.item()`` on ``rewards`` and sums them over steps, so the reward is 0 until the
  end and the benchmark score at the end; ``scores`` (its dynamic-filtering signal) is the same
  score. OpenRLHF cannot leave one sample out, so an infrastructure failure scores 0.0 with
  ``extra_logs["medagentgym/infra_error"] = 1`` (every episode logs the same keys).
- Every episode is closed on every path, including a generation engine that raises.
- With OpenRLHF importable the classes subclass its bases (its loader checks ``issubclass``);
  without it, local stand-ins with the same abstract methods keep the module usable and tested.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig
from medagentgym.env.prompts import opening_messages
from medagentgym.integrations.common import (
    ChatTurns,
    Episode,
    IntegrationError,
    encode,
    require_split,
)
from medagentgym.integrations.tokens import (
    MIN_TURN_TOKENS,
    Generation,
    TokenEpisode,
    TokenRollout,
    start_episode,
)

try:  # openrlhf is optional; its agent module needs torch, transformers, aiohttp, sympy, pylatexenc
    from openrlhf.utils.agent import AgentExecutorBase as _ExecutorBase
    from openrlhf.utils.agent import AgentInstanceBase as _InstanceBase

    OPENRLHF_AVAILABLE = True
except ImportError:  # pragma: no cover - exercised where openrlhf is installed
    from abc import ABC, abstractmethod

    OPENRLHF_AVAILABLE = False

    class _ExecutorBase(ABC):  # type: ignore[no-redef]
        """Stand-in for ``openrlhf.utils.agent.AgentExecutorBase``."""

        @abstractmethod
        async def execute(
            self,
            prompt: Any,
            label: Any,
            sampling_params: Any,
            max_length: int,
            hf_tokenizer: Any,
            llm_engine: Any,
            images: Any = None,
        ) -> dict[str, Any]: ...

    class _InstanceBase(ABC):  # type: ignore[no-redef]
        """Stand-in for ``openrlhf.utils.agent.AgentInstanceBase``."""

        @abstractmethod
        def __init__(self, *args: Any, **kwargs: Any) -> None: ...

        async def reset(self, states: dict, **kwargs: Any) -> dict:
            return states

        @abstractmethod
        async def step(self, state_dict: dict, **kwargs: Any) -> dict: ...


#: Environment variable naming a tokenizer (path or hub id) for ``AgentInstance`` built without one.
TOKENIZER_ENV = "MEDAGENTGYM_OPENRLHF_TOKENIZER"


def dataset_row(sample: Sample) -> dict[str, Any]:
    """One OpenRLHF prompt-dataset row: ``prompt`` (chat messages) and ``label`` (the sample id).

    Train with ``--data.input_key prompt --data.label_key label --data.apply_chat_template``.
    """
    require_split([sample], "train")
    return {"prompt": opening_messages(sample), "label": sample.id}


def _env_config(options: Mapping[str, Any]) -> EnvConfig:
    base = options.get("env_config")
    config = base if isinstance(base, EnvConfig) else EnvConfig(**dict(base or {}))
    update: dict[str, Any] = {"action_format": "json"}
    for name in ("max_turns", "step_timeout_s"):
        if options.get(name) is not None:
            update[name] = options[name]
    return config.model_copy(update=update)


def _sample_id(label: Any) -> str:
    if not isinstance(label, str) or not label:
        raise IntegrationError(
            "the OpenRLHF label must be the sample id (set --data.label_key to the sample-id column)"
        )
    return label


def _torch_scalar(value: float) -> Any:
    """A 0-d tensor (OpenRLHF calls ``.item()`` on rewards and logs tensors)."""
    import torch

    return torch.tensor(float(value))


# -- the token-level executor -----------------------------------------------------------------


class AgentExecutor(_ExecutorBase):
    """OpenRLHF's ``AgentExecutor``: one whole episode per ``execute`` call, token in, token out.

    Class-level ``options`` (set by ``make_agent_executor``): ``max_turns``, ``max_turn_tokens``,
    ``max_observation_tokens``, ``step_timeout_s``, ``env_config``, ``split`` (default "train").
    ``max_length`` from OpenRLHF bounds prompt plus response, as in its own executors.
    """

    options: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.env_config = _env_config(self.options)
        self.split = self.options.get("split", "train")
        self.max_turn_tokens = self.options.get("max_turn_tokens")
        self.max_observation_tokens = self.options.get("max_observation_tokens")

    async def execute(
        self,
        prompt: Any,
        label: Any,
        sampling_params: Any,
        max_length: int,
        hf_tokenizer: Any,
        llm_engine: Any,
        images: Any = None,
    ) -> dict[str, Any]:
        if images:
            raise IntegrationError("MedAgentGym tasks are text only; the row has images")
        episode = await start_episode(_sample_id(label), config=self.env_config, split=self.split)
        try:
            turns = ChatTurns(hf_tokenizer, max_observation_tokens=self.max_observation_tokens)
            prompt_ids = turns.prompt_ids(episode.messages)
            room = max_length - len(prompt_ids)
            if room < MIN_TURN_TOKENS:
                raise IntegrationError(
                    f"the task prompt of {label} is {len(prompt_ids)} tokens; "
                    f"max_len {max_length} leaves no room to answer"
                )
            player = TokenEpisode(episode, turns, max_response_tokens=room, max_turn_tokens=self.max_turn_tokens)
            want_logprobs = getattr(sampling_params, "logprobs", None) is not None

            async def generate(ids: list[int], max_tokens: int) -> Generation:
                params = _copy_params(sampling_params)
                params.max_tokens = max_tokens
                output = (await llm_engine.generate(ids, params, multi_modal_data=None)).outputs[0]
                tokens = list(output.token_ids)
                logprobs = _sampled_logprobs(tokens, output.logprobs) if want_logprobs else None
                return Generation(tokens, logprobs)

            result = await player.run(generate)
        finally:
            episode.close()
        return _executor_output(prompt, label, result, want_logprobs)


def _copy_params(sampling_params: Any) -> Any:
    """A private copy of vLLM ``SamplingParams`` (the caller's object is shared by all samples)."""
    clone = getattr(sampling_params, "clone", None)
    if callable(clone):
        return clone()
    import copy

    return copy.deepcopy(sampling_params)


def _sampled_logprobs(tokens: list[int], logprobs: Any) -> list[float] | None:
    """The logprob of each sampled token from vLLM's per-position ``{token_id: Logprob}`` maps."""
    if logprobs is None or len(logprobs) < len(tokens):
        return None
    values = []
    for token, entries in zip(tokens, logprobs, strict=False):
        entry = entries.get(token) if entries is not None else None
        if entry is None:
            return None
        values.append(float(getattr(entry, "logprob", entry)))
    return values


def _executor_output(prompt: Any, label: Any, result: TokenRollout, want_logprobs: bool) -> dict[str, Any]:
    """The dict OpenRLHF's experience maker reads, with the episode's spans and reward."""
    trace = result.trace
    start = len(trace.prompt_ids)
    ranges: list[tuple[int, int]] = []
    for offset, flag in enumerate(trace.response_mask):
        if flag and (not ranges or ranges[-1][1] != start + offset):
            ranges.append((start + offset, start + offset + 1))
        elif flag:
            ranges[-1] = (ranges[-1][0], start + offset + 1)
    reward = 0.0 if result.reward is None else float(result.reward)
    logprobs = None
    if want_logprobs and trace.has_logprobs:
        logprobs = [0.0] * start + trace.logprobs
    return {
        "prompt": prompt,
        "label": label,
        "images": None,
        "mm_train_inputs": None,
        "reward": reward,
        "scores": reward,
        "observation_tokens": trace.ids,
        "action_ranges": ranges,
        "rollout_log_probs": logprobs,
        "truncated": result.status == "max_length",
        "extra_logs": result.log(),
    }


def make_agent_executor(**options: Any) -> type[AgentExecutor]:
    """An ``AgentExecutor`` subclass with ``options`` bound (OpenRLHF builds it without arguments).

    In the agent_func file: ``AgentExecutor = make_agent_executor(max_turns=8, max_turn_tokens=1024)``.
    """
    _env_config(options)  # fail here, not inside a rollout worker
    return type("AgentExecutor", (AgentExecutor,), {"options": {**AgentExecutor.options, **options}})


# -- the per-step instance, for OpenRLHF's MultiTurnAgentExecutor ------------------------------


class AgentInstance(_InstanceBase):
    """One episode behind OpenRLHF's ``reset``/``step`` interface (``MultiTurnAgentExecutor``).

    ``reset`` starts the episode of ``states["label"]`` and returns the env's task rendered by the
    chat template with the generation prompt. ``step`` acts with the model's text and returns the
    observation rendered as the next user turn plus the assistant header, the reward (0 until the
    end), ``done`` and ``extra_logs``. The tokenizer comes from ``make_agent_instance`` (or the
    ``MEDAGENTGYM_OPENRLHF_TOKENIZER`` path); the episode is closed when it ends or when
    ``close`` is called.
    """

    tokenizer: ClassVar[Any] = None
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.env_config = _env_config(self.options)
        self.split = self.options.get("split", "train")
        self.turns = ChatTurns(
            _instance_tokenizer(type(self)), max_observation_tokens=self.options.get("max_observation_tokens")
        )
        self.episode: Episode | None = None
        self.model_turns = 0

    async def reset(self, states: dict, **kwargs: Any) -> dict:
        self.close()
        self.model_turns = 0
        self.episode = await start_episode(_sample_id(states.get("label")), config=self.env_config, split=self.split)
        text = self.turns.tokenizer.apply_chat_template(
            self.episode.messages, tokenize=False, add_generation_prompt=True
        )
        return {"observation": text}

    async def step(self, states: dict, **kwargs: Any) -> dict:
        episode = self.episode
        if episode is None:
            raise IntegrationError("step() before reset(): OpenRLHF's executor resets every instance first")
        tokenizer = self.turns.tokenizer
        action_text = str(states.get("action_text") or "")
        action_ids = encode(tokenizer, action_text)
        eos = tokenizer.eos_token or ""
        ended = bool(eos) and action_text.endswith(eos)
        self.model_turns += 1
        status: str | None = None
        try:
            turn = await episode.aact(tokenizer.decode(action_ids, skip_special_tokens=True))
        except Exception:  # noqa: BLE001 - the env failed, not the model: the episode is not scored
            status = "infra_error"
            episode.end()
            turn = None
        feedback = ""
        if turn is not None and not turn.done:
            feedback = self.turns.observation_text(turn.observation, ended)
            budget = getattr(states.get("sampling_params"), "max_tokens", None)
            if budget is not None:
                left = int(budget) - len(action_ids) - len(encode(tokenizer, feedback))
                if left < MIN_TURN_TOKENS:
                    status, feedback = "max_length", ""
                    episode.end()
        done = episode.done
        reward = 0.0
        infra = status == "infra_error"
        if done:
            value = None if infra else episode.reward()
            infra = value is None
            reward = 0.0 if value is None else float(value)
            status = "infra_error" if infra else status or episode.status or "max_turns"
        logs = {
            "medagentgym/benchmark_reward": reward,
            "medagentgym/infra_error": float(infra),
            "medagentgym/submitted": float(episode.env.submitted),
            "medagentgym/max_length": float(status == "max_length"),
            "medagentgym/model_turns": float(self.model_turns),
        }
        if done:
            self.close()
        return {
            "rewards": _torch_scalar(reward),
            "scores": _torch_scalar(reward),
            "environment_feedback": feedback,
            "done": done,
            "sampling_params": states.get("sampling_params"),
            "extra_logs": logs,
        }

    def close(self) -> None:
        if self.episode is not None:
            self.episode.close()


def _instance_tokenizer(cls: type[AgentInstance]) -> Any:
    if cls.tokenizer is not None:
        return cls.tokenizer
    path = os.environ.get(TOKENIZER_ENV)
    if not path:
        raise IntegrationError(
            "AgentInstance needs a tokenizer to render feedback: "
            f"use make_agent_instance(tokenizer) or set {TOKENIZER_ENV}"
        )
    from transformers import AutoTokenizer

    cls.tokenizer = AutoTokenizer.from_pretrained(path)
    return cls.tokenizer


def make_agent_instance(tokenizer: Any, **options: Any) -> type[AgentInstance]:
    """An ``AgentInstance`` subclass with a tokenizer (object or path) and options bound.

    For OpenRLHF's loop: ``class AgentExecutor(MultiTurnAgentExecutor): def __init__(self):
    super().__init__(make_agent_instance("/path/to/model"))``. Options as ``AgentExecutor``'s,
    except ``max_turn_tokens`` (that loop has no per-reply cap).
    """
    if isinstance(tokenizer, (str, os.PathLike)):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tokenizer)
    _env_config(options)
    return type(
        "AgentInstance", (AgentInstance,), {"tokenizer": tokenizer, "options": {**AgentInstance.options, **options}}
    )
