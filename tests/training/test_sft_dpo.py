"""SFT and DPO trainers: real TRL runs on the tiny random Llama of tests/conftest.py.

Each test writes a small export by hand (JSON-text episodes, one tool-call episode, DPO pairs)
and trains through ``training.trainers.train``, the path the CLI takes. They check what a user
relies on: a finite logged loss, the record files, a saved model the transformers policy loads
and that answers, LoRA and full fine-tuning, a loss mask that covers the agent's turns only,
DPO's reward logs, and one-line errors for bad configs and bad files. The embedded SmolLM2-135M
is trained through the whole chain in ``test_chain.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("datasets")

from medagentgym.training.config import ConfigError, TrainConfig, load_config  # noqa: E402
from medagentgym.training.sft import TrainingDataError  # noqa: E402
from medagentgym.training.trainers import train  # noqa: E402

SYSTEM = "You are a careful biomedical data scientist. SYSTEM-MARKER"
OBSERVATION = "OBS-MARKER exit code 0, stdout 42.7"
CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "training"


def _meta(sample: str) -> dict[str, Any]:
    return {"sample_id": sample, "dataset": "toy", "category": "count", "split": "train"}


def _json_episode(sample: str, answer: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"TASK-MARKER how many female patients? ({sample})"},
            {"role": "assistant", "content": '{"action": "execute_python", "code": "print(1)"}'},
            {"role": "user", "content": OBSERVATION},
            {"role": "assistant", "content": f'{{"action": "submit", "answer": {answer}}}'},
            {"role": "user", "content": "SUBMITTED-MARKER answer recorded"},  # runs end with this observation
        ],
        **_meta(sample),
        "run_id": "r1",
        "epoch": 0,
        "action_format": "json",
    }


def _tool_episode(sample: str) -> dict[str, Any]:
    def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": name, "arguments": arguments}}
        ]}

    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "TASK-MARKER compute the BMI"},
            call("execute_python", {"code": "print(70 / 1.75 ** 2)"}),
            {"role": "tool", "name": "execute_python", "content": OBSERVATION},
            call("submit", {"answer": "22.857"}),
            {"role": "tool", "tool_call_id": "call-2", "content": "SUBMITTED-MARKER answer recorded"},
        ],
        **_meta(sample),
        "run_id": "r1",
        "epoch": 0,
        "action_format": "tools",
    }


def _write(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def sft_export(tmp_path: Path) -> Path:
    long = _json_episode("toy/count/train/0/9", 3)
    long["messages"][3]["content"] = OBSERVATION + " lorem" * 900  # far over max_length: dropped, counted
    rows = [_json_episode(f"toy/count/train/0/{i}", i) for i in range(3)] + [_tool_episode("toy/bmi/train/0/0"), long]
    _write(tmp_path / "export" / "sft.jsonl", rows)
    return tmp_path / "export"


def _pair(sample: str, turn: int) -> dict[str, Any]:
    prompt = _json_episode(sample, 3)["messages"][: 2 + 2 * turn]
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": '{"action": "submit", "answer": 3}'}],
        "rejected": [{"role": "assistant", "content": '{"action": "submit", "answer": 7}'}],
        **_meta(sample),
        "turn": turn,
    }


def _tool_pair(sample: str) -> dict[str, Any]:
    episode = _tool_episode(sample)["messages"]
    rejected = json.loads(json.dumps(episode[4]))
    rejected["tool_calls"][0]["function"]["arguments"] = {"answer": "25"}
    return {"prompt": episode[:4], "chosen": [episode[4]], "rejected": [rejected], **_meta(sample), "turn": 1}


@pytest.fixture
def dpo_export(tmp_path: Path) -> Path:
    same = _pair("toy/count/train/0/5", 0)
    same["rejected"] = same["chosen"]
    rows = [_pair(f"toy/count/train/0/{i}", i % 2) for i in range(3)] + [_tool_pair("toy/bmi/train/0/0"), same]
    _write(tmp_path / "export" / "dpo.jsonl", rows)
    return tmp_path / "export"


def _config(kind: str, model: Path | str, data: Path, out: Path, **extra: Any) -> TrainConfig:
    settings: dict[str, Any] = {
        "kind": kind,
        "model": str(model),
        "data": str(data),
        "output_dir": str(out),
        "max_steps": 2,
        "batch_size": 2,
        "max_length": 512,
        "learning_rate": 1e-3,
        "device": "cpu",
        "trainer": {"activation_checkpointing": False},
    }
    settings.update(extra)
    return TrainConfig.model_validate(settings)


def _losses(log_history: list[dict[str, Any]]) -> list[float]:
    return [entry["loss"] for entry in log_history if "loss" in entry]


def _weights(model_dir: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def _changed(before: dict[str, Any], after: dict[str, Any]) -> int:
    return sum(not torch.equal(before[name], after[name]) for name in before)


def test_sft_lora_trains_records_and_serves(tiny_model_dir: Path, sft_export: Path, tmp_path: Path) -> None:
    from trl.chat_template_utils import has_generation_markers

    from medagentgym.policies.transformers_local import TransformersPolicy
    from medagentgym.training.models import load_tokenizer

    out = tmp_path / "run"
    result = train(_config("sft", tiny_model_dir, sft_export, out))

    assert result.status == "ok" and result.steps == 2
    assert result.data["rows"] == 5 and result.data["trained_rows"] == 4 and result.data["dropped_too_long"] == 1
    log = json.loads((out / "log_history.json").read_text())
    losses = _losses(log)
    assert len(losses) == 2 and all(math.isfinite(x) and x > 0 for x in losses)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["versions"]["trl"] and math.isfinite(run["metrics"]["loss"])
    assert json.loads((out / "config.json").read_text())["kind"] == "sft"

    model_dir = out / "model"
    assert Path(result.model_dir) == model_dir and not (out / "model.partial").exists()
    assert not (model_dir / "adapter_config.json").exists()  # LoRA merged: an ordinary model directory
    assert _changed(_weights(tiny_model_dir), _weights(model_dir)) > 0
    # The saved tokenizer carries the inference template (the one the policy renders prompts with).
    saved = load_tokenizer(model_dir)
    assert saved.chat_template == load_tokenizer(tiny_model_dir).chat_template
    assert not has_generation_markers(saved.chat_template)

    with TransformersPolicy(str(model_dir), temperature=0.0, max_new_tokens=6) as policy:
        reply = policy.act(_json_episode("toy/count/train/0/0", 3)["messages"][:2])
    assert isinstance(reply.content, str) and reply.usage.completion_tokens > 0


def test_sft_full_fine_tune(tiny_model_dir: Path, sft_export: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    out = tmp_path / "run"
    result = train(_config("sft", tiny_model_dir, sft_export, out, lora=None, max_steps=1, learning_rate=1e-2))
    assert result.steps == 1 and all(math.isfinite(x) for x in _losses(json.loads((out / "log_history.json").read_text())))
    before, after = _weights(tiny_model_dir), _weights(out / "model")
    # Full fine-tuning moves every trained matrix, not just the LoRA targets.
    assert _changed(before, after) >= len(before) // 2
    assert AutoModelForCausalLM.from_pretrained(out / "model").config.num_hidden_layers == 2


def _segments(labels: list[int]) -> list[tuple[int, int]]:
    """Runs of positions whose label is trained (not -100)."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, label in enumerate([*labels, -100]):
        if label != -100 and start is None:
            start = i
        elif label == -100 and start is not None:
            runs.append((start, i))
            start = None
    return runs


def test_loss_mask_covers_assistant_turns_only(tiny_model_dir: Path, sft_export: Path, tmp_path: Path) -> None:
    from medagentgym.training import sft

    trainer, tokenizer, data = sft.build_trainer(_config("sft", tiny_model_dir, sft_export, tmp_path / "run"), "cpu")
    assert data["trained_rows"] == 4
    for index in range(len(trainer.train_dataset)):
        batch = trainer.data_collator([trainer.train_dataset[index]])
        ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
        assert all(label in (-100, token) for token, label in zip(ids, labels))
        full = tokenizer.decode(ids)
        assert "OBS-MARKER" in full and "TASK-MARKER" in full and "SYSTEM-MARKER" in full
        assert "SUBMITTED-MARKER" not in full  # the final observation is cut: no loss falls on it
        segments = [tokenizer.decode(ids[a:b]) for a, b in _segments(labels)]
        assert len(segments) == 2, segments  # the two assistant turns, nothing else
        for text in segments:
            assert not any(marker in text for marker in ("OBS-MARKER", "TASK-MARKER", "SYSTEM-MARKER", "<|im_start|>"))
            assert text.rstrip("\n").endswith("<|im_end|>")  # the model learns to stop
        if "<tool_call>" in full:  # the tool-call episode trains too, with each call's own arguments
            assert '"name": "execute_python"' in segments[0] and '"code": "print(70 / 1.75 ** 2)"' in segments[0]
            assert '"name": "submit"' in segments[1] and '"answer": "22.857"' in segments[1]
            assert "null" not in "".join(segments)  # arguments are not merged across tools
        else:
            assert segments[0].strip().startswith('{"action": "execute_python"')
            assert segments[1].strip().startswith('{"action": "submit"')
    assert any("<tool_call>" in tokenizer.decode(row["input_ids"]) for row in trainer.train_dataset)


def test_rows_are_read_as_the_templates_need_them(tmp_path: Path) -> None:
    from medagentgym.training.sft import check_sft_row, read_rows

    row = _json_episode("toy/count/train/0/0", 3)
    row["messages"].insert(2, {"role": "assistant", "content": None})  # an empty reply, as recorded
    row["messages"].insert(3, {"role": "user", "content": "your reply was empty"})
    path = _write(tmp_path / "sft.jsonl", [row])
    (read,) = read_rows(path, check_sft_row)
    assert read["messages"][2] == {"role": "assistant", "content": ""}
    assert read["messages"][-1]["content"].startswith('{"action": "submit"')  # trailing observation cut
    assert len(read["messages"]) == len(row["messages"]) - 1


def test_dpo_lora_logs_rewards(tiny_model_dir: Path, dpo_export: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    out = tmp_path / "run"
    result = train(_config("dpo", tiny_model_dir, dpo_export, out, dpo={"beta": 0.2}))
    assert result.status == "ok" and result.steps == 2
    assert result.data == {
        "file": str(dpo_export / "dpo.jsonl"),
        "rows": 5,
        "trained_rows": 4,
        "dropped_identical": 1,
        "dropped_prompt_too_long": 0,
        "dropped_too_long": 0,
    }
    steps = [entry for entry in json.loads((out / "log_history.json").read_text()) if "loss" in entry]
    assert len(steps) == 2
    for entry in steps:
        assert all(math.isfinite(entry[key]) for key in ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins"))
    # The first step starts at the reference (adapter-free base, LoRA B = 0): rewards 0, loss log 2.
    assert steps[0]["loss"] == pytest.approx(math.log(2), abs=1e-3)
    assert AutoModelForCausalLM.from_pretrained(out / "model") is not None
    assert _changed(_weights(tiny_model_dir), _weights(out / "model")) > 0


def test_dpo_full_fine_tune_with_a_reference_copy(tiny_model_dir: Path, dpo_export: Path, tmp_path: Path) -> None:
    from medagentgym.training import dpo

    config = _config("dpo", tiny_model_dir, dpo_export, tmp_path / "run", lora=None, dpo={"beta": 0.1, "max_prompt_length": 120})
    trainer, _, data = dpo.build_trainer(config, "cpu")
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model
    # Pairs whose prompt also holds a turn and an observation (147 and 206 tokens, the others 90) are dropped.
    assert data["dropped_prompt_too_long"] == 2 and data["trained_rows"] == 2
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert trainer.state.global_step == 2 and all(math.isfinite(x) for x in losses)
    assert losses[0] == pytest.approx(math.log(2), abs=1e-3)  # policy == reference at the start


def test_unknown_config_key_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sft.toml"
    path.write_text('kind = "sft"\noutput_dir = "out"\nlearning_rat = 1e-4\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and "learning_rat" in str(error.value) and "\n" not in str(error.value)


def test_unknown_trainer_setting_is_a_config_error(tiny_model_dir: Path, sft_export: Path, tmp_path: Path) -> None:
    config = _config("sft", tiny_model_dir, sft_export, tmp_path / "run", trainer={"warmup_stepz": 3})
    with pytest.raises(ConfigError, match=r"trainer\.warmup_stepz: not a setting of SFTConfig"):
        train(config)


def test_missing_data_file_fails_with_its_name_and_a_record(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(ValueError) as error:
        train(_config("dpo", tiny_model_dir, tmp_path / "nowhere", out))
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'nowhere'}: ") and "\n" not in message
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed" and "nowhere" in run["error"]
    assert not (out / "model").exists()
    _write(tmp_path / "export" / "sft.jsonl", [_json_episode("toy/count/train/0/0", 3)])  # a folder without dpo.jsonl
    with pytest.raises(ValueError) as error:
        train(_config("dpo", tiny_model_dir, tmp_path / "export", out))
    assert str(error.value).startswith(f"{tmp_path / 'export'}") and "dpo.jsonl" in str(error.value)
    with pytest.raises(ConfigError, match="^data: a dpo run needs `data`"):
        train(_config("dpo", tiny_model_dir, tmp_path / "export", out).model_copy(update={"data": None}))


@pytest.mark.parametrize(
    ("kind", "line", "expected"),
    [
        ("sft", "{not json", "not JSON"),
        ("sft", json.dumps({**_json_episode("toy/count/test/0/0", 3), "split": "test"}), "only train-split rows"),
        ("sft", json.dumps({**_json_episode("toy/count/train/0/0", 3), "messages": [{"role": "user", "content": "x"}]}),
         "no assistant message"),
        ("sft", json.dumps({**_json_episode("toy/count/train/0/0", 3), "messages": [{"role": "wizard", "content": "x"}]}),
         "unknown role"),
        ("dpo", json.dumps({**_pair("toy/count/train/0/0", 0), "chosen": _json_episode("a", 1)["messages"][2:4]}),
         "chosen must be exactly one assistant message"),
        ("dpo", json.dumps(["a list"]), "a JSON object"),
    ],
)
def test_bad_rows_name_the_file_and_line(kind: str, line: str, expected: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    good = _json_episode("toy/count/train/0/1", 1) if kind == "sft" else _pair("toy/count/train/0/1", 0)
    path = tmp_path / f"{kind}.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(TrainingDataError) as error:
        train(_config(kind, tiny_model_dir, path, tmp_path / "run"))
    assert str(error.value).startswith(f"{path}:3: ") and expected in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["smollm2-sft", "smollm2-dpo", "qwen2.5-7b-sft", "qwen2.5-7b-dpo"])
def test_example_configs_validate(name: str) -> None:
    import dataclasses

    from trl import DPOConfig, SFTConfig

    config = load_config(CONFIGS / f"{name}.toml")
    assert config.kind == name.rsplit("-", 1)[1]
    fields = {f.name for f in dataclasses.fields(SFTConfig if config.kind == "sft" else DPOConfig)}
    assert set(config.trainer) <= fields
    if name.startswith("qwen"):
        assert config.bf16 and config.device == "cuda"
        assert config.model == ("models/Qwen2.5-7B-Instruct" if config.kind == "sft" else "training-runs/qwen2.5-7b-sft/model")
        assert config.lora is None or config.lora.r == 64
