"""What every training run leaves beside its weights: the config, versions, seed and metrics.

``<output_dir>/`` holds ``model/`` (a directory any stage or the transformers policy loads),
``config.json`` (the resolved config), ``run.json`` (kind, seed, device, library versions, start
and end, the final metrics) and ``log_history.json`` (TRL's per-step log). A run that fails
leaves ``run.json`` with ``status: failed`` and the error, never a half-written ``model/``.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from medagentgym.training.config import TrainConfig

_VERSIONED = ("medagentgym", "torch", "transformers", "trl", "peft", "datasets", "accelerate", "vllm")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class TrainResult(BaseModel):
    """The outcome of ``train``: where the model is and what the trainer logged."""

    kind: str
    output_dir: str
    model_dir: str
    status: str = "ok"
    error: str | None = None
    seed: int = 0
    device: str = "cpu"
    started_at: str = ""
    ended_at: str = ""
    duration_s: float = 0.0
    steps: int = 0
    metrics: dict[str, Any] = Field(default_factory=dict)  # the last logged values and the train summary
    data: dict[str, Any] = Field(default_factory=dict)  # what the run trained on (rows, pairs, prompts)
    versions: dict[str, str] = Field(default_factory=library_versions)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_record(config: TrainConfig, result: TrainResult, log_history: list[dict[str, Any]] | None = None) -> Path:
    """Write config.json, run.json and log_history.json into the run's output directory."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out / "run.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if log_history is not None:
        (out / "log_history.json").write_text(json.dumps(log_history, indent=2, default=str) + "\n", encoding="utf-8")
    return out / "run.json"


def summarize_log(log_history: list[dict[str, Any]]) -> dict[str, Any]:
    """The last value of every logged key (loss, reward, ...) plus the trainer's summary."""
    summary: dict[str, Any] = {}
    for entry in log_history:
        summary.update({k: v for k, v in entry.items() if isinstance(v, (int, float, str))})
    return summary
