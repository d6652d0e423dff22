"""Exports from run folders: real oracle and wrong-answer episodes (JSON text and tool calls) on
medcalcbench BMI samples, plus hand-built trajectories for the edge cases (duplicates, corrupt
lines, mislabelled splits, diverging observations, malformed tool calls)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog.sample import AnswerType
from medagentgym.catalog.selection import Selection, select_samples
from medagentgym.env.env import EnvConfig
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import RolloutConfig, run_rollouts
from medagentgym.runs.schema import PolicyInfo, Timing, Trajectory
from medagentgym.runs.store import RunManifest, RunStore, load_run
from medagentgym.scoring import Score
from medagentgym.training.export import (
    ExportError,
    export_dpo,
    export_prompts,
    export_sft,
    load_export,
    read_manifests,
)

CONTRACT = {
    "sft": {"messages", "sample_id", "dataset", "category", "split", "run_id", "epoch", "action_format"},
    "dpo": {"prompt", "chosen", "rejected", "sample_id", "dataset", "category", "split", "turn"},
    "prompts": {"prompt", "sample_id", "dataset", "category", "split"},
}


def _manifest(run_id: str) -> RunManifest:
    return RunManifest(run_id=run_id, created_at="2026-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory: pytest.TempPathFactory, sandbox_server: Any) -> dict[str, Path]:
    """Four real runs: oracle and wrong-answer, each in both action formats. The JSON runs mix in a
    test-split sample; the oracle JSON run plays two epochs (the same actions twice)."""
    base = Selection(datasets=["medcalcbench"], categories=["bmi"], limit_per_category=2)
    train = list(select_samples(base.model_copy(update={"splits": ["train"]})))
    test = list(select_samples(base.model_copy(update={"splits": ["test"], "limit_per_category": 1})))
    root = tmp_path_factory.mktemp("runs")
    runs: dict[str, Path] = {}
    plan = [
        ("json_oracle", OraclePolicy, "json", train + test, 2),
        ("json_wrong", WrongAnswerPolicy, "json", train + test, 1),
        ("tools_oracle", OraclePolicy, "tools", train, 1),
        ("tools_wrong", WrongAnswerPolicy, "tools", train, 1),
    ]
    for name, policy, fmt, samples, epochs in plan:
        config = RolloutConfig(epochs=epochs, max_sessions=2, env=EnvConfig(action_format=fmt))
        with RunStore(root / name, _manifest(name)) as store:
            run_rollouts(samples, policy(action_format=fmt), store, config, sandbox=sandbox_server)
        runs[name] = root / name
    return runs


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _trajectory(
    sample_id: str,
    messages: list[dict[str, Any]],
    *,
    correct: bool | None = True,
    status: str = "ok",
    split: str = "train",
    epoch: int = 0,
    run_id: str = "synthetic",
) -> Trajectory:
    dataset, category = sample_id.split("/")[:2]
    score = None
    if status == "ok":
        score = Score(value=float(bool(correct)), correct=bool(correct), answer_type=AnswerType.NUMBER, parsed=1.0,
                      explanation="synthetic")
    return Trajectory(
        run_id=run_id,
        sample_id=sample_id,
        dataset=dataset,
        category=category,
        split=split,
        epoch=epoch,
        policy=PolicyInfo(name="synthetic"),
        messages=messages,
        submitted=status == "ok",
        score=score,
        status=status,  # type: ignore[arg-type]
        timing=Timing(started_at="2026-01-01T00:00:00+00:00", ended_at="2026-01-01T00:00:01+00:00", duration_s=1.0),
    )


def _episode(*turns: tuple[str, str], task: str = "Task: compute it.") -> list[dict[str, Any]]:
    """System, task, then (assistant text, observation) per turn."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": "sys"}, {"role": "user", "content": task}]
    for action, observation in turns:
        messages += [{"role": "assistant", "content": action}, {"role": "user", "content": observation}]
    return messages


def _write_run(path: Path, trajectories: list[Trajectory]) -> Path:
    with RunStore(path, _manifest(path.name)) as store:
        for t in trajectories:
            store.append(t)
    return path


# ------------------------------------------------------------------------------------------------


def test_all_three_exports_load_with_datasets_in_one_folder(real_runs: dict[str, Path], tmp_path: Path) -> None:
    from datasets import load_dataset

    out = tmp_path / "export"
    runs = list(real_runs.values())
    sft, dpo, prompts = export_sft(runs, out), export_dpo(runs, out), export_prompts(runs, out)
    manifests = read_manifests(out)
    assert set(manifests) == {"sft", "dpo", "prompts"}  # one folder, one manifest entry per kind
    for manifest in (sft, dpo, prompts):
        data = load_export(out, manifest.kind)
        assert data == out / f"{manifest.kind}.jsonl"
        assert manifests[manifest.kind].sha256 == manifest.sha256
        dataset = load_dataset("json", data_files=str(data), split="train")
        assert set(dataset.column_names) == CONTRACT[manifest.kind]
        assert len(dataset) == manifest.rows > 0
        # datasets hands the rows back as written (no keys added to tool arguments or messages)
        assert [dict(row) for row in dataset] == _rows(data)
    # two train samples; per sample the JSON oracle episode (its two epochs are one: same
    # actions) and the tool-call oracle episode
    assert sft.rows == 4 and sft.samples == 2
    assert sft.skipped == {"duplicate": 2, "not_successful": 4, "not_train_split": 3}
    assert sft.by_category == {"medcalcbench/bmi": 4}
    # per sample and format: the oracle against the wrong answer, deciding at the submit turn
    # (their code observations differ only in the elapsed time); across formats the task differs
    assert dpo.rows == 4
    assert all(row["turn"] == 2 for row in _rows(out / "dpo.jsonl"))
    assert dpo.skipped["pair_task_differs"] == 4
    assert prompts.rows == 2 and prompts.skipped["duplicate"] == 8
    # the same runs give the same bytes
    assert export_sft(runs, out).sha256 == sft.sha256


def test_no_test_sample_enters_any_export(real_runs: dict[str, Path], tmp_path: Path) -> None:
    # a trajectory that claims the train split for a test sample id, and a plain test one
    leak = _trajectory("medcalcbench/bmi/test/0/7", _episode(('{"action": "submit", "answer": 1}', "ok")))
    honest = _trajectory("medcalcbench/bmi/test/0/8", _episode(('{"action": "submit", "answer": 1}', "ok")), split="test")
    mixed = _write_run(tmp_path / "mislabelled", [leak, honest])
    runs = [*real_runs.values(), mixed]
    test_ids = {t.sample_id for run in runs for t in load_run(run) if t.split == "test" or "/test/" in t.sample_id}
    assert len(test_ids) == 3  # the real runs do hold a test sample
    for export in (export_sft, export_dpo, export_prompts):
        manifest = export(runs, tmp_path / "out")
        rows = _rows(tmp_path / "out" / manifest.file)
        assert rows and all(row["split"] == "train" and "/train/" in row["sample_id"] for row in rows)
        assert not {row["sample_id"] for row in rows} & test_ids
        assert manifest.skipped["id_not_train"] == 1
        texts = json.dumps(rows)
        for sample_id in test_ids:
            assert sample_id not in texts


def test_dpo_prompt_is_a_shared_prefix_and_sides_are_single_differing_messages(
    real_runs: dict[str, Path], tmp_path: Path
) -> None:
    manifest = export_dpo(list(real_runs.values()), tmp_path)
    rows = _rows(tmp_path / manifest.file)
    episodes: dict[tuple[str, str, str], list[Any]] = {}
    for name, run in real_runs.items():
        for t in load_run(run):  # every epoch: the pair may use any of a sample's successes
            episodes.setdefault((name.split("_")[0], name.split("_")[1], t.sample_id), []).append(t)
    assert len(rows) == 4
    for row in rows:
        fmt = "tools" if "tool_calls" in row["chosen"][0] else "json"
        n = len(row["prompt"])
        good = [
            t
            for t in episodes[(fmt, "oracle", row["sample_id"])]
            if row["prompt"] == _as_exported(t.messages[:n]) and row["chosen"] == _as_exported(t.messages[n : n + 1])
        ]
        assert good, "the prompt and chosen message are not a recorded success's prefix and next turn"
        bad = [
            t
            for t in episodes[(fmt, "wrong", row["sample_id"])]
            if row["rejected"] == _as_exported(t.messages[n : n + 1])
        ]
        assert bad, "the rejected message is not a recorded failure's turn"
        # the failure's prefix is the same up to the sandbox's elapsed time and call ids
        assert _strip(row["prompt"]) == _strip(_as_exported(bad[0].messages[:n]))
        assert len(row["chosen"]) == len(row["rejected"]) == 1
        assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
        assert _strip(row["chosen"]) != _strip(row["rejected"])


def _as_exported(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the export should make of recorded messages (arguments parsed, tool messages named)."""
    out = []
    names: dict[str, str] = {}
    for m in messages:
        m = {k: v for k, v in m.items() if k in ("role", "content", "tool_calls", "name", "tool_call_id")}
        if m.get("tool_calls"):
            m["tool_calls"] = [
                {**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}}
                for c in m["tool_calls"]
            ]
            names = {c["id"]: c["function"]["name"] for c in m["tool_calls"]}
        if m["role"] == "tool":
            m["name"] = names[m["tool_call_id"]]
        out.append(m)
    return out


def _strip(messages: list[dict[str, Any]]) -> str:
    import re

    text = json.dumps(
        [{k: v for k, v in m.items() if k != "tool_call_id"} for m in messages], sort_keys=True
    )
    return re.sub(r'"id": "call_[0-9a-f]+", ', "", re.sub(r"\[ok; [0-9.]+ ms\]", "[ok]", text))


def test_dpo_edge_cases_are_counted_not_paired(tmp_path: Path) -> None:
    sid = "medcalcbench/bmi/train/0/{}"
    code = '{"action": "execute_python", "code": "print(1)"}'
    trajectories = [
        # observations differ (not just the elapsed time) before any assistant difference
        _trajectory(sid.format(0), _episode((code, "[ok; 1.0 ms]\nstdout:\n1"), ("A", "done"))),
        _trajectory(sid.format(0), _episode((code, "[ok; 2.0 ms]\nstdout:\n2"), ("B", "done")), correct=False, epoch=1),
        # an infrastructure failure is never a rejected side; an only-success sample has no pair
        _trajectory(sid.format(1), _episode((code, "x"), ("A", "done"))),
        _trajectory(sid.format(1), _episode((code, "x"), ("B", "?")), status="infra_error", epoch=1),
        # a failure that stopped without a different action: one episode is a prefix of the other
        _trajectory(sid.format(2), _episode((code, "x"), ("A", "done"))),
        _trajectory(sid.format(2), _episode((code, "x")), status="max_turns", epoch=1),
        # three failures, two of them the same mistake (timings aside): two distinct pairs
        _trajectory(sid.format(3), _episode((code, "[ok; 1.0 ms]"), ("A", "done"))),
        _trajectory(sid.format(3), _episode((code, "[ok; 3.0 ms]"), ("B", "done")), correct=False, epoch=1),
        _trajectory(sid.format(3), _episode(("not json", "Error: no JSON action")), status="parse_error", epoch=2),
        _trajectory(sid.format(3), _episode((code, "[ok; 5.0 ms]"), ("B", "done")), correct=False, epoch=3),
    ]
    run = _write_run(tmp_path / "run", trajectories)
    manifest = export_dpo([run], tmp_path / "out", max_pairs_per_sample=1)
    rows = _rows(tmp_path / "out" / "dpo.jsonl")
    assert manifest.skipped == {
        "duplicate": 1,
        "infra_error": 1,
        "no_pair": 2,
        "no_pair_no_failure": 1,
        "pair_no_difference": 1,
        "pair_observation_diverged": 1,
        "pair_over_limit": 1,
    }
    # the first failure in run order goes first; its pair decides at the second turn
    assert [(r["sample_id"], r["turn"]) for r in rows] == [(sid.format(3), 1)]
    assert rows[0]["prompt"][-1] == {"role": "user", "content": "[ok; 1.0 ms]"}
    assert (rows[0]["chosen"], rows[0]["rejected"]) == ([{"role": "assistant", "content": "A"}],
                                                         [{"role": "assistant", "content": "B"}])
    export_dpo([run], tmp_path / "out", max_pairs_per_sample=4)
    rows = _rows(tmp_path / "out" / "dpo.jsonl")
    assert [r["turn"] for r in rows] == [1, 0]
    assert rows[1]["chosen"] == [{"role": "assistant", "content": code}]
    assert rows[1]["rejected"] == [{"role": "assistant", "content": "not json"}]


def test_sft_keeps_the_shortest_distinct_episodes_per_sample(tmp_path: Path) -> None:
    sid = "medcalcbench/bmi/train/0/0"
    short = _episode(('{"action": "submit", "answer": 1}', "Answer submitted."))
    longer = _episode(("look", "[ok; 1.0 ms]"), ('{"action": "submit", "answer": 1}', "Answer submitted."))
    longest = _episode(("look", "o"), ("look again", "o"), ('{"action": "submit", "answer": 1}', "done"))
    same_as_longer = _episode(("look", "[ok; 9.5 ms]"), ('{"action": "submit", "answer": 1}', "Answer submitted."))
    trajectories = [
        _trajectory(sid, longest, epoch=0),
        _trajectory(sid, same_as_longer, epoch=1),
        _trajectory(sid, longer, epoch=2),
        _trajectory(sid, short, epoch=3),
        _trajectory(sid, short, epoch=4, correct=False),
        _trajectory(sid, short, epoch=5, status="infra_error"),
    ]
    run = _write_run(tmp_path / "run", trajectories)
    manifest = export_sft([run], tmp_path / "out", max_per_sample=2)
    rows = _rows(tmp_path / "out" / "sft.jsonl")
    assert [row["epoch"] for row in rows] == [3, 1]  # shortest first; epoch 2 repeats epoch 1
    assert manifest.skipped == {"duplicate": 1, "infra_error": 1, "not_successful": 1, "over_limit": 1}
    assert rows[0]["messages"][-1] == {"role": "assistant", "content": '{"action": "submit", "answer": 1}'}
    assert "max_per_sample" in manifest.parameters and "shortest first" in manifest.rule
    manifest = export_sft([run], tmp_path / "out", max_per_sample=5)
    assert manifest.rows == 3 and "over_limit" not in manifest.skipped


def test_corrupt_lines_are_counted_and_bad_folders_are_one_line_errors(
    real_runs: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "damaged"
    shutil.copytree(real_runs["json_oracle"], run)
    with (run / "trajectories.jsonl").open("ab") as handle:
        handle.write(b'{"not": "a trajectory"}\n\xff\xfe broken\n{"cut off')
    manifest = export_sft([run], tmp_path / "out")
    assert manifest.skipped["corrupt_line"] == 2 and manifest.skipped["incomplete_line"] == 1
    assert manifest.rows == 2
    assert any("line 8" in problem for problem in manifest.problems)

    not_a_run = tmp_path / "notes"
    not_a_run.mkdir()
    broken = tmp_path / "broken"
    shutil.copytree(real_runs["json_wrong"], broken)
    (broken / "manifest.json").write_text("{oops", encoding="utf-8")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    cases = [
        (lambda: export_sft([not_a_run], tmp_path / "o"), "not a run folder"),
        (lambda: export_prompts([tmp_path / "missing"], tmp_path / "o"), "no such directory"),
        (lambda: export_dpo([broken], tmp_path / "o"), "not a run manifest"),
        (lambda: export_sft([run], real_runs["json_wrong"]), "is a run folder"),
        (lambda: export_sft([run], foreign), "not an export manifest"),
        (lambda: export_sft([], tmp_path / "o"), "no run folders"),
        (lambda: load_export(tmp_path / "out", "dpo"), "no dpo.jsonl"),
        (lambda: load_export(tmp_path / "nowhere.jsonl", "sft"), "no such export"),
        (lambda: load_export(tmp_path / "out", "rl"), "unknown export kind"),
    ]
    for call, message in cases:
        with pytest.raises(ExportError, match=message) as info:
            call()
        assert "\n" not in str(info.value)
    assert load_export(tmp_path / "out" / "sft.jsonl", "sft") == tmp_path / "out" / "sft.jsonl"
    assert json.loads((foreign / "manifest.json").read_text()) == [1, 2]  # left alone


def test_malformed_messages_are_skipped_and_counted(tmp_path: Path) -> None:
    sid = "medcalcbench/bmi/train/0/{}"
    bad_call = {"role": "assistant", "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "submit", "arguments": "{oops"}}]}
    # Python's json reads NaN, but it is not JSON: a datasets loader would refuse the row
    nan_call = {"role": "assistant", "content": None,
                "tool_calls": [{"id": "c2", "type": "function", "function": {"name": "submit",
                                                                               "arguments": '{"answer": NaN}'}}]}
    trajectories = [
        _trajectory(sid.format(0), [*_episode(), bad_call, {"role": "tool", "tool_call_id": "c1", "content": "x"}]),
        _trajectory(sid.format(1), [*_episode(), {"role": "assistant", "content": [{"type": "text"}]}]),
        _trajectory(sid.format(2), [*_episode(), {"role": "wizard", "content": "hi"}]),
        _trajectory(sid.format(3), [*_episode(), {"role": "tool", "content": "answer to no call"}]),
        _trajectory(sid.format(4), [*_episode(), nan_call]),
        _trajectory(sid.format(5), _episode(('{"action": "submit", "answer": 1}', "ok"))),
    ]
    run = _write_run(tmp_path / "run", trajectories)
    manifest = export_sft([run], tmp_path / "out")
    assert manifest.rows == 1
    assert manifest.skipped == {"malformed_messages": 3, "malformed_tool_call": 1, "non_finite_number": 1}


def test_tool_call_rows_have_dict_arguments_and_render_with_a_chatml_tool_template(
    real_runs: dict[str, Path], tmp_path: Path, tiny_model_dir: Path
) -> None:
    from datasets import load_dataset
    from transformers import AutoTokenizer

    from medagentgym.training.models import prepare_tokenizer

    runs = [real_runs["tools_oracle"], real_runs["tools_wrong"]]
    export_sft(runs, tmp_path)
    export_dpo(runs, tmp_path)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(tiny_model_dir))
    assert "tools" in tokenizer.chat_template
    sft = load_dataset("json", data_files=str(load_export(tmp_path, "sft")), split="train")
    assert set(sft["action_format"]) == {"tools"}
    for row in sft:
        calls = [c for m in row["messages"] if m["role"] == "assistant" for c in m["tool_calls"]]
        assert [c["function"]["name"] for c in calls] == ["list_files", "execute_python", "submit"]
        assert all(isinstance(c["function"]["arguments"], dict) for c in calls)
        tools = [m for m in row["messages"] if m["role"] == "tool"]
        assert [m["name"] for m in tools] == ["list_files", "execute_python"]
        text = tokenizer.apply_chat_template(row["messages"], tokenize=False)
        answer = calls[-1]["function"]["arguments"]["answer"]
        assert f'{{"name": "submit", "arguments": {{"answer": {json.dumps(answer)}}}}}' in text
        assert text.count("<tool_response>") == 2 and "This task provides no files." in text
    dpo = load_dataset("json", data_files=str(load_export(tmp_path, "dpo")), split="train")
    for row in dpo:
        chosen = tokenizer.apply_chat_template(row["prompt"] + row["chosen"], tokenize=False)
        rejected = tokenizer.apply_chat_template(row["prompt"] + row["rejected"], tokenize=False)
        prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False)
        assert chosen.startswith(prompt) and rejected.startswith(prompt) and chosen != rejected
