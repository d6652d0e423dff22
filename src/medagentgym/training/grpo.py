"""Online GRPO against the live environment (TRL's ``GRPOTrainer``).

Every step plays ``num_generations`` whole episodes per prompt with the model being trained,
scores them with the environment's benchmark reward (plus, for tiny models, the shaped reward
reported in its own column), and updates the model from the groups whose rewards differ. The
rollout machinery lives in ``medagentgym.integrations.trl`` so a TRL user can use it directly;
this module turns a ``TrainConfig`` into that setup:

- prompts come from an exported ``prompts.jsonl`` or from a selection of train samples; any other
  split is refused (a test sample must never train a model);
- ``action_format = "json"`` plays JSON-text actions through a ``rollout_func`` (observation tokens
  masked out of the loss); ``"tools"`` exposes the actions as tools through ``environment_factory``;
- the per-device batch is a whole number of groups (TRL's requirement) and one generation feeds one
  optimizer step;
- the result is saved like every other stage (``save_for_inference``) and the record counts the
  groups with mixed rewards, since only those carry a learning signal.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

from medagentgym.catalog.sample import Sample
from medagentgym.training.config import TrainConfig
from medagentgym.training.models import (
    TrainingSetupError,
    load_causal_lm,
    load_tokenizer,
    lora_config,
)
from medagentgym.training.trainers import Fitted, finish, trainer_args

PROMPTS_FILE = "prompts.jsonl"


class PromptsError(ValueError):
    """The GRPO prompts cannot be used (a bad file or line, a non-train sample, nothing selected)."""


def prompts_path(source: str) -> Path:
    """The prompts file of an export folder, or the .jsonl file itself."""
    path = Path(source)
    return path / PROMPTS_FILE if path.is_dir() else path


def read_prompt_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a prompts export: each needs a ``sample_id`` and a conversational ``prompt``.

    A line that is not valid JSON or lacks either field is named with its line number; a row of
    another split than train is refused outright.
    """
    from medagentgym.untrusted import iter_jsonl

    rows: list[dict[str, Any]] = []
    try:
        lines = list(iter_jsonl(path))
    except OSError as exc:
        raise PromptsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for line in lines:
        where = f"{path}:{line.number}"
        if line.error is not None:
            raise PromptsError(f"{where}: {line.error}")
        value = line.value
        if not isinstance(value, dict):
            raise PromptsError(f"{where}: a prompt row must be a JSON object")
        sample_id, prompt = value.get("sample_id"), value.get("prompt")
        if not isinstance(sample_id, str) or not sample_id:
            raise PromptsError(f"{where}: the row has no sample_id")
        if not _is_chat(prompt):
            raise PromptsError(f"{where}: 'prompt' must be a list of chat messages ending with the task")
        if value.get("split", "train") != "train":
            raise PromptsError(f"{where}: {sample_id} is from the {value.get('split')!r} split; GRPO trains on train only")
        rows.append({"prompt": prompt, "sample_id": sample_id})
    if not rows:
        raise PromptsError(f"{path}: no prompt rows")
    return rows


def _is_chat(prompt: Any) -> bool:
    return (
        isinstance(prompt, list)
        and bool(prompt)
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in prompt)
        and prompt[-1]["role"] == "user"
    )


def load_prompts(config: TrainConfig) -> tuple[list[dict[str, Any]], dict[str, Sample]]:
    """(dataset rows with ``prompt`` and ``sample_id``, the samples by id) for the run."""
    from medagentgym.env.prompts import opening_messages

    settings = config.grpo
    if settings.prompts:
        rows = read_prompt_rows(prompts_path(settings.prompts))
        from medagentgym.catalog.selection import find_sample

        samples: dict[str, Sample] = {}
        for row in rows:
            if row["sample_id"] not in samples:
                try:
                    samples[row["sample_id"]] = find_sample(row["sample_id"])
                except KeyError as exc:
                    raise PromptsError(f"{settings.prompts}: unknown sample {row['sample_id']}: {exc}") from None
    else:
        if not settings.datasets:
            raise PromptsError("grpo needs prompts (an export) or datasets (a selection of train samples)")
        from medagentgym.catalog.selection import Selection, select_samples

        selection = Selection(
            datasets=settings.datasets,
            categories=settings.categories,
            splits=["train"],
            limit_per_category=settings.limit_per_category,
            seed=settings.sample_seed,
        )
        samples = {s.id: s for s in select_samples(selection)}
        rows = [
            {"prompt": opening_messages(s, action_format=settings.action_format), "sample_id": s.id}
            for s in samples.values()
        ]
        if not rows:
            raise PromptsError(f"the selection {settings.datasets}/{settings.categories} has no train samples")
    for sample in samples.values():
        if sample.split != "train":
            raise PromptsError(f"sample {sample.id} is from the {sample.split!r} split; GRPO trains on train only")
    return rows, samples


def batch_sizes(config: TrainConfig) -> int:
    """Completions per device step: ``batch_size`` rounded up to whole groups of
    ``num_generations`` (TRL needs every group inside one generation batch)."""
    groups = max(1, math.ceil(config.batch_size / config.grpo.num_generations))
    return groups * config.grpo.num_generations


def fit(config: TrainConfig, device: str) -> Fitted:
    import datasets
    from trl import GRPOConfig, GRPOTrainer

    from medagentgym.env.env import EnvConfig
    from medagentgym.integrations.trl import (
        EpisodeLog,
        MedAgentGymToolEnv,
        benchmark_reward,
        build_prompt_index,
        completion_budget,
        make_rollout_func,
        shaped_reward,
    )

    settings = config.grpo
    if settings.use_vllm and settings.action_format == "json":
        raise TrainingSetupError(
            "use_vllm works with action_format = 'tools' (TRL generates); JSON rollouts generate with the trained model"
        )
    rows, samples = load_prompts(config)
    tokenizer = load_tokenizer(config.model, padding_side="left")
    model = load_causal_lm(config, device)
    env_config = EnvConfig(max_turns=settings.max_turns, action_format=settings.action_format)
    observation_tokens = 2 * settings.max_new_tokens
    rollout_func = environment_factory = None
    reward_funcs: list[Any] = []
    if settings.action_format == "json":
        rollout_func = make_rollout_func(
            samples,
            env_config,
            num_generations=settings.num_generations,
            max_turns=settings.max_turns,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            shaped=settings.shaped_reward,
            shaped_weight=settings.shaped_weight,
            prompt_index=build_prompt_index((r["prompt"], r["sample_id"]) for r in rows),
            max_observation_tokens=observation_tokens,
        )
        log = rollout_func.log
        reward_funcs.append(benchmark_reward)
        max_completion = rollout_func.max_completion_length
    else:
        # The env supplies the task on reset (rendered for tool calls); the prompt keeps the system message.
        rows = [{"prompt": [r["prompt"][0], {"role": "user", "content": ""}], "sample_id": r["sample_id"]} for r in rows]
        log = EpisodeLog(settings.num_generations)
        environment_factory = functools.partial(
            MedAgentGymToolEnv, samples, env_config, shaped_weight=settings.shaped_weight, log=log
        )
        max_completion = completion_budget(settings.max_turns, settings.max_new_tokens, observation_tokens)
    if settings.shaped_reward:
        reward_funcs.append(shaped_reward)

    per_device = batch_sizes(config)
    specific: dict[str, Any] = {
        "num_generations": settings.num_generations,
        "max_completion_length": max_completion,
        "per_device_train_batch_size": per_device,
        "temperature": settings.temperature,
        "use_vllm": settings.use_vllm,
        "activation_checkpointing": device == "cuda",
    }
    if settings.action_format == "tools":
        specific["max_tool_calling_iterations"] = settings.max_turns
    args = trainer_args(GRPOConfig, config, device, **specific)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs or None,
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(config),
        rollout_func=rollout_func,
        environment_factory=environment_factory,
    )
    trainer.train()
    data = {
        "prompts": len(rows),
        "samples": len(samples),
        "action_format": settings.action_format,
        "num_generations": settings.num_generations,
        "per_device_batch": per_device,
        "max_completion_length": max_completion,
        **log.summary(),
    }
    return finish(trainer, tokenizer, config, data)
