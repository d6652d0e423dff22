"""A training run as a file: what to train, on what, how, and where the result goes.

Configs are TOML (or JSON) files so that a run can be repeated and cited; the resolved config is
written beside the weights (``training.record``). Unknown keys are refused: a typo in a
hyper-parameter must not silently fall back to a default. ``trainer`` passes further fields
straight to the TRL config class (``SFTConfig``, ``DPOConfig``, ``GRPOConfig``, ``RewardConfig``).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TrainKind = Literal["sft", "dpo", "grpo", "verifier"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Strict):
    """LoRA adapters (peft). Absent (``lora = false`` in the file) means full fine-tuning."""

    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"


class DPOSettings(_Strict):
    beta: float = Field(default=0.1, gt=0)
    max_prompt_length: int | None = Field(default=None, ge=16)


class GRPOSettings(_Strict):
    """Online GRPO against the live environment.

    Prompts come from an exported prompts file (``prompts``) or a selection of train-split
    samples (``datasets``/``categories``/``limit_per_category``). ``action_format`` picks the
    rollout: ``json`` plays JSON-text actions through ``rollout_func``; ``tools`` exposes the env's
    actions as tools through ``environment_factory``. ``shaped_reward`` adds a small reward for a
    valid action, code that ran and a submitted answer (for tiny models whose groups would all
    score 0); it is logged as its own reward and never changes the benchmark score.
    """

    prompts: str | None = None
    datasets: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    limit_per_category: int | None = Field(default=4, ge=1)
    sample_seed: int = 0
    num_generations: int = Field(default=4, ge=2)
    max_turns: int = Field(default=4, ge=1)
    max_new_tokens: int = Field(default=256, ge=8)
    temperature: float = Field(default=1.0, gt=0)
    action_format: Literal["json", "tools"] = "json"
    shaped_reward: bool = False
    shaped_weight: float = Field(default=0.2, ge=0)
    use_vllm: bool = False


class VerifierSettings(_Strict):
    """The outcome verifier: a scalar head over a finished trajectory, trained on pairs of a
    successful and a failed episode of the same train-split sample (TRL's RewardTrainer)."""

    runs: list[str] = Field(default_factory=list)
    max_pairs_per_sample: int = Field(default=4, ge=1)


class TrainConfig(_Strict):
    kind: TrainKind
    model: str = "smollm2"  # the embedded model's alias or a local directory; never downloaded
    data: str | None = None  # an export folder or .jsonl file (sft, dpo)
    output_dir: str
    seed: int = 0
    max_steps: int = Field(default=30, ge=1)
    learning_rate: float = Field(default=1e-4, gt=0)
    batch_size: int = Field(default=2, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=2048, ge=64)
    lora: LoraSettings | None = Field(default_factory=LoraSettings)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool | None = None  # default: on where the device is a GPU
    torch_threads: int = Field(default=1, ge=1)  # per process; 2 threads on a busy 2-core box were 6x slower
    logging_steps: int = Field(default=1, ge=1)
    trainer: dict[str, Any] = Field(default_factory=dict)
    dpo: DPOSettings = Field(default_factory=DPOSettings)
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)
    verifier: VerifierSettings = Field(default_factory=VerifierSettings)


class ConfigError(ValueError):
    """A config file that cannot be read or does not validate (one line, names the file)."""


def load_config(path: Path | str, **overrides: Any) -> TrainConfig:
    """Read a TOML or JSON config file; ``overrides`` replace top-level keys (the CLI's)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc.strerror or exc})") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a table of settings")
    if raw.get("lora") is False:
        raw["lora"] = None
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from None
