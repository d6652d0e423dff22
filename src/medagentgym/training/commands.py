"""The ``export`` and ``train`` verbs of the command line (wired into ``medagentgym.cli``).

They live here, beside what they call, so the CLI module stays a list of nouns; the heavy work is
imported inside each verb (``medagentgym --help`` never loads torch or TRL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from medagentgym.untrusted import clean_text

export_app = typer.Typer(no_args_is_help=True, help="Turn run folders into TRL datasets (train split only).")
train_app = typer.Typer(no_args_is_help=True, help="Train with TRL from a config file (SFT, DPO, GRPO, verifier).")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

RunsArg = Annotated[list[Path], typer.Argument(help="Run folder(s) to export from.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Export folder (holds <kind>.jsonl and manifest.json).")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(clean_text(message))}")
    return typer.Exit(code)


def _export(kind: str, runs: list[Path], out: Path, **options: int) -> None:
    from medagentgym.training import export

    make = {"sft": export.export_sft, "dpo": export.export_dpo, "prompts": export.export_prompts}[kind]
    try:
        manifest = make(runs, out, **options)
    except export.ExportError as exc:
        raise _fail(str(exc)) from None
    skipped = ", ".join(f"{k} {v}" for k, v in manifest.skipped.items()) or "none"
    console.print(
        f"wrote {manifest.rows} {kind} rows ({manifest.samples} samples) to "
        f"{escape(clean_text(str(Path(out) / manifest.file)))}; skipped: {escape(skipped)}"
    )
    if manifest.rows == 0:
        raise _fail(f"the {kind} export is empty: nothing in the runs qualifies ({manifest.rule})", code=1)


@export_app.command("sft")
def export_sft_cmd(
    runs: RunsArg,
    out: OutOpt,
    max_per_sample: Annotated[int, typer.Option(min=1, help="Successful episodes kept per sample.")] = 2,
) -> None:
    """Conversational SFT rows from successful train-split episodes (shortest first, deduplicated)."""
    _export("sft", runs, out, max_per_sample=max_per_sample)


@export_app.command("dpo")
def export_dpo_cmd(
    runs: RunsArg,
    out: OutOpt,
    max_pairs_per_sample: Annotated[int, typer.Option(min=1, help="Pairs kept per sample.")] = 4,
) -> None:
    """Per-decision DPO pairs: a successful and a failed episode of one sample, at the turn they part."""
    _export("dpo", runs, out, max_pairs_per_sample=max_pairs_per_sample)


@export_app.command("prompts")
def export_prompts_cmd(runs: RunsArg, out: OutOpt) -> None:
    """RL prompt rows (system + task messages) with the sample id, one per train-split sample."""
    _export("prompts", runs, out)


def _train(
    kind: str,
    config_path: Path,
    output_dir: Optional[Path],
    max_steps: Optional[int],
    model: Optional[str],
    data: Optional[Path],
) -> None:
    from medagentgym.training.config import ConfigError, load_config
    from medagentgym.training.models import TrainingSetupError

    try:
        config = load_config(
            config_path,
            output_dir=str(output_dir) if output_dir else None,
            max_steps=max_steps,
            model=model,
            data=str(data) if data else None,
        )
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if config.kind != kind:
        raise _fail(f"{config_path}: is a {config.kind} config, not {kind}")
    from medagentgym.training.trainers import train

    try:
        result = train(config)
    except (TrainingSetupError, ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, code=1) from None
    loss = result.metrics.get("train_loss", result.metrics.get("loss"))
    console.print(
        f"trained {kind} for {result.steps} steps in {result.duration_s:.0f} s"
        + (f" (train loss {loss:.4g})" if isinstance(loss, (int, float)) else "")
        + f"; model: {escape(result.model_dir)}"
    )


ConfigArg = Annotated[Path, typer.Argument(help="TOML (or JSON) config file; see configs/training/.")]
OutputOpt = Annotated[Optional[Path], typer.Option(help="Override the config's output_dir.")]
StepsOpt = Annotated[Optional[int], typer.Option(help="Override max_steps.")]
ModelOpt = Annotated[Optional[str], typer.Option(help="Override the model (local dir or 'smollm2').")]
DataOpt = Annotated[Optional[Path], typer.Option(help="Override the export folder or .jsonl file.")]


@train_app.command("sft")
def train_sft_cmd(
    config: ConfigArg, output_dir: OutputOpt = None, max_steps: StepsOpt = None, model: ModelOpt = None, data: DataOpt = None
) -> None:
    """Supervised fine-tuning on an SFT export (assistant-only loss)."""
    _train("sft", config, output_dir, max_steps, model, data)


@train_app.command("dpo")
def train_dpo_cmd(
    config: ConfigArg, output_dir: OutputOpt = None, max_steps: StepsOpt = None, model: ModelOpt = None, data: DataOpt = None
) -> None:
    """Direct preference optimisation on a DPO export."""
    _train("dpo", config, output_dir, max_steps, model, data)


@train_app.command("grpo")
def train_grpo_cmd(
    config: ConfigArg, output_dir: OutputOpt = None, max_steps: StepsOpt = None, model: ModelOpt = None, data: DataOpt = None
) -> None:
    """Online GRPO against the live environment (train-split samples only)."""
    _train("grpo", config, output_dir, max_steps, model, data)


@train_app.command("verifier")
def train_verifier_cmd(
    config: ConfigArg, output_dir: OutputOpt = None, max_steps: StepsOpt = None, model: ModelOpt = None, data: DataOpt = None
) -> None:
    """An outcome verifier (a reward model over finished episodes) for best@k."""
    _train("verifier", config, output_dir, max_steps, model, data)
