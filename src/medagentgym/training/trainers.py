"""``medagentgym train KIND CONFIG``: one entry point over the four trainers.

Each kind lives in its own module (``sft``, ``dpo``, ``grpo``, ``verifier``) with a ``fit(config,
device) -> Fitted`` function that trains and saves ``<output_dir>/model``. This module does what
all of them share: checks the libraries, sets threads/seed/device, times the run and writes the
record (``training.record``) whether the run succeeded or failed.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medagentgym.training.config import TrainConfig
from medagentgym.training.models import configure_torch
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
