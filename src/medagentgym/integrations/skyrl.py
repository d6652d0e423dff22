"""MedAgentGym as a SkyRL-gym text environment (``skyrl_gym.envs.base_text_env.BaseTextEnv``).

SkyRL's generator builds one environment per trajectory with
``skyrl_gym.make(env_class, env_config=..., extras=row_extras)``, calls ``init(prompt)`` once,
then ``step(model_text)`` until ``done``, and finally ``close()``. A dataset row is the prompt
messages, ``env_class`` and extra columns; every extra column reaches the env as ``extras``,
so the row names its sample by ``sample_id`` and the env regenerates the sample from it.

Why it is built this way:
- The sandbox session opens in ``init`` (not in the constructor), because that is where an
  episode starts; it is released by ``close`` and, for an env SkyRL drops without closing
  (a cancelled trajectory), by the ``Episode`` finaliser when the object is collected.
- ``init`` returns the environment's own opening messages rather than the row's copy: the
  env is the one source of the first observation (a FHIR task's server address is only known
  once the episode is open). The row's prompt must still name the same task, so a shuffled
  or stale dataset fails loudly instead of grading the model on a task it never saw.
- Actions are the model's raw text (JSON actions); a reply that does not parse costs a turn,
  exactly as in the benchmark.
- The reward is 0 on every turn but the last, where it is the benchmark score (plus an
  optional shaped reward, off by default). SkyRL has no way to drop a trajectory, so an
  infrastructure failure scores 0.0 and is flagged in the metadata (``infra_error``) and in
  the metrics, where a run can count it.
- Only train samples are accepted unless the env config asks for another split explicitly
  (``split: test`` for evaluation): a test sample must never shape a model.
- The generator passes its own turn limit as ``extras["max_turns"]``; the env ends the episode
  at that limit too, so the last turn carries the final reward.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from skyrl_gym.envs.base_text_env import (
    BaseTextEnv,
    BaseTextEnvStepOutput,
    ConversationType,
)

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig
from medagentgym.env.prompts import opening_messages
from medagentgym.integrations.common import (
    Episode,
    IntegrationError,
    benchmark_value,
    require_split,
)

#: The ``env_class`` a dataset row names (and the id registered with skyrl_gym).
ENV_ID = "medagentgym"
ENTRY_POINT = "medagentgym.integrations.skyrl:MedAgentGymTextEnv"
#: Env-config keys the env reads (anything else is refused, so a typo does not pass silently).
CONFIG_KEYS = frozenset(
    {"split", "max_turns", "step_timeout_s", "max_observation_chars", "reveal_verdict", "shaped_weight"}
)


def register(env_id: str = ENV_ID) -> None:
    """Register the env with skyrl_gym under ``env_id`` (idempotent).

    Importing this module registers ``medagentgym``; SkyRL workers that import the module (or
    call this in the training entry point, as SkyRL's own examples do) can then ``make`` it.
    """
    import skyrl_gym

    if env_id not in skyrl_gym.registry:
        skyrl_gym.register(id=env_id, entry_point=ENTRY_POINT)


def _plain_config(env_config: Any) -> dict[str, Any]:
    """The env config as a plain dict (SkyRL passes an OmegaConf DictConfig or a dict)."""
    if env_config is None:
        return {}
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(env_config, DictConfig):
            env_config = OmegaConf.to_container(env_config, resolve=True)
    except ImportError:  # omegaconf is a skyrl-gym dependency; a dict still works without it
        pass
    if not isinstance(env_config, Mapping):
        raise IntegrationError(f"env_config must be a mapping, not {type(env_config).__name__}")
    unknown = sorted(set(map(str, env_config)) - CONFIG_KEYS)
    if unknown:
        raise IntegrationError(f"unknown env_config keys {unknown}; known: {sorted(CONFIG_KEYS)}")
    return dict(env_config)


class MedAgentGymTextEnv(BaseTextEnv):
    """One MedAgentGym episode per instance, driven by the model's text replies."""

    def __init__(self, env_config: Any = None, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        config = _plain_config(env_config)
        extras = dict(extras or {})
        sample_id = extras.get("sample_id")
        if not isinstance(sample_id, str) or not sample_id:
            raise IntegrationError("the dataset row has no sample_id column; skyrl_rows() writes one")
        self.sample_id = sample_id
        self.split: str = str(config.get("split", "train"))
        turns = extras.get("max_turns") or config.get("max_turns") or EnvConfig().max_turns
        self.max_turns = int(turns)
        self.shaped_weight = float(config.get("shaped_weight", 0.0))
        self.env_config = EnvConfig(
            max_turns=self.max_turns,
            action_format="json",
            reveal_verdict=bool(config.get("reveal_verdict", False)),
            step_timeout_s=float(config.get("step_timeout_s", EnvConfig().step_timeout_s)),
            max_observation_chars=int(config.get("max_observation_chars", EnvConfig().max_observation_chars)),
        )
        self.episode: Episode | None = None

    # -- SkyRL's hooks --

    def init(self, prompt: ConversationType) -> tuple[ConversationType, dict[str, Any]]:
        self.close()
        self.turns = 0
        episode = Episode(self.sample_id, config=self.env_config, split=self.split)
        self.episode = episode
        if prompt and not _names_task(prompt, episode.sample):
            self.close()
            raise IntegrationError(f"the row's prompt is not the task of sample {self.sample_id}")
        return [dict(m) for m in episode.messages], {"sample_id": self.sample_id, "max_turns": self.max_turns}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        episode = self.episode
        if episode is None:
            return BaseTextEnvStepOutput(
                observations=[], reward=0.0, done=True, metadata={"status": "not_started"}
            )
        self.turns += 1
        turn = episode.act(action if isinstance(action, str) else str(action))
        if not turn.done:
            return BaseTextEnvStepOutput(
                observations=[{"role": "user", "content": turn.observation}],
                reward=0.0,
                done=False,
                metadata=self._metadata(),
            )
        return BaseTextEnvStepOutput(observations=[], reward=self.final_reward(), done=True, metadata=self._metadata())

    def close(self) -> None:
        """Release the episode's sandbox session (idempotent); the metrics stay readable."""
        if self.episode is not None:
            self.episode.close()

    def get_metrics(self) -> dict[str, Any]:
        episode = self.episode
        if episode is None:
            return {}
        value = episode.reward()
        return {
            "benchmark": 0.0 if value is None else value,
            "infra_error": float(value is None),
            "submitted": float(episode.env.submitted),
            "turns": episode.env.turn,
        }

    # -- rewards and metadata --

    def final_reward(self) -> float:
        """The benchmark score of the finished episode (0.0 after an infrastructure failure),
        plus the shaped reward when ``shaped_weight`` is set."""
        episode = self.episode
        if episode is None:
            return 0.0
        value = episode.reward()
        if value is None:
            return 0.0
        return value + (episode.shaped(self.shaped_weight) if self.shaped_weight > 0 else 0.0)

    def _metadata(self) -> dict[str, Any]:
        """What the trainer may log: ids, turn, status; never the sample's target or solution."""
        episode = self.episode
        assert episode is not None
        status = episode.status
        meta: dict[str, Any] = {"sample_id": self.sample_id, "turn": episode.env.turn, "status": status}
        if episode.done:
            meta["infra_error"] = status == "infra_error"
            meta["benchmark"] = benchmark_value(episode.env)
        return meta


def _names_task(prompt: ConversationType, sample: Sample) -> bool:
    """Whether a user message of ``prompt`` carries the sample's question."""
    question = sample.prompt.strip()
    for message in prompt:
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str) and question in content:
                return True
    return False


def skyrl_rows(
    dataset: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    split: str = "train",
    *,
    sample_ids: Sequence[str] | None = None,
    samples: Iterable[Sample] | None = None,
    limit_per_category: int | None = None,
    seed: int = 0,
    env_class: str = ENV_ID,
) -> list[dict[str, Any]]:
    """SkyRL dataset rows: ``prompt`` (messages), ``env_class``, ``data_source``, ``sample_id``.

    The samples come from ``samples``, ``sample_ids`` or a dataset/category selection, and must
    all be of ``split`` (train by default; pass ``split="test"`` for an evaluation set). Write
    them with ``datasets.Dataset.from_list(rows).to_parquet(path)`` for SkyRL's data loader.
    A row carries no target, solution or hidden test.
    """
    if samples is not None:
        chosen = list(samples)
    elif sample_ids is not None:
        from medagentgym.integrations.common import resolve_sample

        chosen = [resolve_sample(sid) for sid in sample_ids]
    else:
        from medagentgym.catalog.selection import checked_selection, select_samples

        chosen = list(select_samples(checked_selection(dataset, category, split, limit_per_category, seed)))
    require_split(chosen, split)
    return [
        {
            "data_source": f"medagentgym/{sample.dataset}",
            "prompt": opening_messages(sample),
            "env_class": env_class,
            "sample_id": sample.id,
        }
        for sample in chosen
    ]


register()
