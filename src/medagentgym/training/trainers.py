"""``medagentgym train KIND CONFIG``: one entry point over the four trainers.

Each kind lives in its own module (``sft``, ``dpo``, ``grpo``, ``verifier``) with a ``fit(config,
device) -> Fitted`` function that trains and saves ``<output_dir>/model``. This module does what
all of them share: checks the libraries, sets threads/seed/device, times the run and writes the
record (``training.record``) whether the run succeeded or failed.
"""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medagentgym.training.config import ConfigError, TrainConfig
from medagentgym.training.models import configure_torch, save_for_inference, use_bf16
from medagentgym.training.record import TrainResult, now_iso, summarize_log, write_record

MODEL_SUBDIR = "model"


@dataclass
class Fitted:
    """What a trainer hands back: the saved model and what it logged."""

    model_dir: Path
    log_history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    data: dict[str, Any] = field(default_factory=dict)


def model_dir(config: TrainConfig) -> Path:
    return Path(config.output_dir) / MODEL_SUBDIR


def trainer_args(
    config_class: Any, config: TrainConfig, device: str, *, final: dict[str, Any] | None = None, **specific: Any
) -> Any:
    """The TRL config object: the run's settings, the kind's own (``specific``), then the file's
    ``[trainer]`` table, then ``final`` (settings a kind cannot let the file change). Settings the
    class does not have are left out; an unknown key in ``[trainer]`` is a one-line error."""
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(config.trainer) - known)
    if unknown:
        raise ConfigError(f"trainer.{unknown[0]}: not a setting of {config_class.__name__}")
    kwargs: dict[str, Any] = {
        "output_dir": str(Path(config.output_dir) / "checkpoints"),
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "max_length": config.max_length,
        "seed": config.seed,
        "bf16": use_bf16(config, device),
        "logging_steps": config.logging_steps,
        "report_to": "none",
        "save_strategy": "no",
        "use_cpu": device == "cpu",
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
        # TRL's default, under the name transformers 5 reads (``gradient_checkpointing`` is its deprecated alias).
        "activation_checkpointing": True,
        **specific,
    }
    kwargs.update(config.trainer)
    kwargs.update(final or {})
    return config_class(**{k: v for k, v in kwargs.items() if k in known})


def save_model(model: Any, tokenizer: Any, config: TrainConfig) -> Path:
    """Save for inference into a partial folder, then move it to ``model/``: a crash leaves no half model."""
    final = model_dir(config)
    partial = final.with_name(final.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    save_for_inference(model, tokenizer, partial)
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    return final


def finish(trainer: Any, tokenizer: Any, config: TrainConfig, data: dict[str, Any]) -> Fitted:
    """Save a trained model and hand back what the trainer logged (every kind ends here)."""
    saved = save_model(trainer.model, tokenizer, config)
    return Fitted(
        model_dir=saved, log_history=list(trainer.state.log_history), steps=trainer.state.global_step, data=data
    )


def train(config: TrainConfig) -> TrainResult:
    """Train as the config says; the record is written even when training fails (then re-raised)."""
    device = configure_torch(config)
    module = importlib.import_module(f"medagentgym.training.{config.kind}")
    started_at, started = now_iso(), time.perf_counter()
    result = TrainResult(
        kind=config.kind,
        output_dir=str(config.output_dir),
        model_dir=str(model_dir(config)),
        seed=config.seed,
        device=device,
        started_at=started_at,
    )
    try:
        fitted: Fitted = module.fit(config, device)
    except BaseException as exc:
        result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
        result.ended_at, result.duration_s = now_iso(), round(time.perf_counter() - started, 2)
        write_record(config, result)
        raise
    result.ended_at, result.duration_s = now_iso(), round(time.perf_counter() - started, 2)
    result.model_dir, result.steps, result.data = str(fitted.model_dir), fitted.steps, fitted.data
    result.metrics = summarize_log(fitted.log_history)
    write_record(config, result, fitted.log_history)
    return result
