"""The whole training chain on CPU with the embedded SmolLM2-135M, through the command line.

demonstrations (train split) and wrong answers -> export sft/dpo/prompts -> train sft (2 steps)
-> train dpo on the SFT model (2 steps) -> train grpo on the DPO model against the live env
(1 step, shaped reward, so a group has mixed rewards and the loss is not zero) -> train a verifier
-> run the trained model on held-out test samples with K=2 -> report with best@k by majority vote
and by the verifier side by side. Every stage is the command a user types; each one's output is
the next one's input, so a broken hand-over fails here even when every unit test passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("trl")
pytest.importorskip("peft")

from medagentgym.cli import app  # noqa: E402

pytestmark = pytest.mark.slow
runner = CliRunner()
SELECT = ["-d", "medcalcbench", "-c", "bmi"]


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"{' '.join(args[:2])} failed:\n{result.output}"
    return result.output


def _config(path: Path, lines: list[str]) -> Path:
    common = ['seed = 0', 'device = "cpu"', "torch_threads = 1", "logging_steps = 1", "lora = false"]
    path.write_text("\n".join(common + lines) + "\n", encoding="utf-8")
    return path


def _run_record(output_dir: Path) -> dict[str, Any]:
    record = json.loads((output_dir / "run.json").read_text())
    assert record["status"] == "ok" and (output_dir / "model" / "config.json").is_file()
    assert json.loads((output_dir / "config.json").read_text())["seed"] == 0
    assert record["versions"]["trl"] and record["versions"]["torch"]
    return record


def test_demonstrations_to_best_at_k_report(tmp_path: Path, sandbox_server: Any) -> None:
    demo, wrong, exports = tmp_path / "demo", tmp_path / "wrong", tmp_path / "exports"
    _ok(["run", "--policy", "demonstration", "--policy-option", "recovery=0.5", *SELECT, "--split", "train",
         "--limit-per-category", "4", "--no-progress", "--out", str(demo)])
    _ok(["run", "--policy", "wrong-answer", *SELECT, "--split", "train",
         "--limit-per-category", "4", "--no-progress", "--out", str(wrong)])
    _ok(["export", "sft", str(demo), "--out", str(exports), "--max-per-sample", "1"])
    _ok(["export", "dpo", str(demo), str(wrong), "--out", str(exports)])
    _ok(["export", "prompts", str(demo), "--out", str(exports)])
    manifests = json.loads((exports / "manifest.json").read_text())
    assert {k: manifests[k]["rows"] for k in ("sft", "dpo", "prompts")} == {"sft": 4, "dpo": 4, "prompts": 4}

    sft = tmp_path / "sft"
    _ok(["train", "sft", str(_config(tmp_path / "sft.toml", [
        'kind = "sft"', 'model = "smollm2"', f'data = "{exports}"', f'output_dir = "{sft}"',
        "max_steps = 2", "batch_size = 1", "max_length = 1280", "learning_rate = 5e-5"]))])
    sft_record = _run_record(sft)
    assert sft_record["steps"] == 2 and sft_record["data"]["trained_rows"] == 4

    dpo = tmp_path / "dpo"
    _ok(["train", "dpo", str(_config(tmp_path / "dpo.toml", [
        'kind = "dpo"', f'model = "{sft / "model"}"', f'data = "{exports}"', f'output_dir = "{dpo}"',
        "max_steps = 2", "batch_size = 1", "max_length = 1280", "learning_rate = 5e-6"]))])
    assert _run_record(dpo)["steps"] == 2

    grpo = tmp_path / "grpo"
    _ok(["train", "grpo", str(_config(tmp_path / "grpo.toml", [
        'kind = "grpo"', f'model = "{dpo / "model"}"', f'output_dir = "{grpo}"', "max_steps = 1",
        "batch_size = 4", "learning_rate = 1e-6",
        "[grpo]", f'prompts = "{exports}"', "num_generations = 4", "max_turns = 2", "max_new_tokens = 96",
        "shaped_reward = true", "[trainer]", "beta = 0.0"]))])
    grpo_record = _run_record(grpo)
    assert grpo_record["data"]["groups_mixed"] >= 1, grpo_record["data"]
    assert grpo_record["metrics"]["loss"] != 0.0, grpo_record["metrics"]

    verifier = tmp_path / "verifier"
    _ok(["train", "verifier", str(_config(tmp_path / "verifier.toml", [
        'kind = "verifier"', 'model = "smollm2"', f'output_dir = "{verifier}"', "max_steps = 2",
        "batch_size = 1", "max_length = 1024",
        "[verifier]", f'runs = ["{demo}", "{wrong}"]']))])
    _run_record(verifier)

    evaluation = tmp_path / "eval"
    _ok(["run", "--policy", "transformers", "--model", str(grpo / "model"), *SELECT, "--split", "test",
         "--limit-per-category", "2", "--epochs", "2", "--max-turns", "2", "--max-tokens", "96",
         "--no-progress", "--out", str(evaluation)])
    report = _ok(["report", str(evaluation), "--verifier", str(verifier / "model"), "--html", str(tmp_path / "html")])
    assert "verifier" in report and "majority" in report
    assert "verifier" in (tmp_path / "html" / "index.html").read_text()
