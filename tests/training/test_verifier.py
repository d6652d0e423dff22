"""The outcome verifier: what it reads, the pairs it trains on, training, and best@k by its score."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog.sample import AnswerType
from medagentgym.runs.schema import PolicyInfo, StepRecord, Timing, Trajectory
from medagentgym.runs.store import RunManifest, RunStore
from medagentgym.scoring import Score
from medagentgym.scoring.metrics import MajorityVote, compute_metrics
from medagentgym.training.verifier import (
    ScoringSelector,
    VerifierDataError,
    VerifierLoadError,
    VerifierSelector,
    encode_for_verifier,
    render_for_verifier,
    verifier_pairs,
)

TARGET = 22.857


def episode(
    sample_id: str,
    *,
    epoch: int = 0,
    split: str = "train",
    correct: bool | None = True,
    answer: Any = TARGET,
    status: str = "ok",
    run_id: str = "run-v",
    verdict: str = "",
    tools: bool = False,
) -> Trajectory:
    """A real two-step episode: run code, then submit (``correct`` None: nothing submitted)."""
    submitted = correct is not None and status == "ok"
    code = f"print(round(70 / 1.75 ** 2, 3))  # epoch {epoch}"
    run_reply: dict[str, Any]
    if tools:
        run_reply = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "execute_python", "arguments": json.dumps({"code": code})}}],
        }
    else:
        run_reply = {"role": "assistant", "content": json.dumps({"action": "execute_python", "code": code})}
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "SYSTEM PROMPT TEXT"},
        {"role": "user", "content": f"Task {sample_id}: what is the BMI of 70 kg, 175 cm?"},
        run_reply,
        {"role": "tool" if tools else "user", "content": "stdout: 22.857"},
    ]
    steps = [
        StepRecord(index=1, action={"name": "execute_python", "params": {"code": code}}, observation="stdout: 22.857"),
    ]
    if submitted:
        reply = json.dumps({"action": "submit", "answer": answer})
        messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": f"Answer submitted{verdict or '.'}"}]
        steps.append(StepRecord(index=2, action={"name": "submit", "params": {"answer": answer}}, observation=f"Answer submitted{verdict or '.'}"))
    score = None
    if status == "ok" and submitted:
        score = Score(value=float(bool(correct)), correct=bool(correct), answer_type=AnswerType.NUMBER, parsed=answer, explanation=f"target {TARGET}")
    return Trajectory(
        run_id=run_id,
        sample_id=sample_id,
        dataset="medcalcbench",
        category="bmi",
        split=split,
        epoch=epoch,
        policy=PolicyInfo(name="scripted"),
        messages=messages,
        steps=steps,
        submitted=submitted,
        submitted_answer=answer if submitted else None,
        score=score,
        reward=float(bool(correct)),
        status="max_turns" if (status == "ok" and not submitted) else status,  # type: ignore[arg-type]
        timing=Timing(started_at="2026-01-01T00:00:00+00:00", ended_at="2026-01-01T00:00:01+00:00", duration_s=1.0),
    )


def write_run(run_dir: Path, trajectories: list[Trajectory]) -> Path:
    manifest = RunManifest(run_id=trajectories[0].run_id, created_at="2026-01-01T00:00:00+00:00", policy={"name": "scripted"})
    with RunStore(run_dir, manifest) as store:
        for t in trajectories:
            store.append(t)
    return run_dir


def training_runs(root: Path) -> Path:
    """Three train samples with right and wrong episodes, plus test-split episodes to keep out."""
    ts: list[Trajectory] = []
    for s in range(3):
        sid = f"medcalcbench/bmi/train/{s}/0"
        ts += [
            episode(sid, epoch=0, correct=True),
            episode(sid, epoch=1, correct=False, answer=99.0),
            episode(sid, epoch=2, correct=False, answer=7.0, tools=True),
            episode(sid, epoch=3, correct=None),  # no submission: a failure
            episode(sid, epoch=4, status="infra_error", correct=None),
        ]
    for epoch in range(2):  # a test sample with both outcomes: must never pair
        ts.append(episode("medcalcbench/bmi/test/0/0", split="test", epoch=epoch, correct=epoch == 0, answer=TARGET if epoch == 0 else 1.0))
    return write_run(root / "train-run", ts)


# --------------------------------------------------------------------------------------------
# What the verifier reads


def test_render_shows_what_the_agent_saw_and_hides_the_grade() -> None:
    t = episode("medcalcbench/bmi/train/0/0", correct=False, answer=99.0, verdict=": incorrect. target 22.857 expected")
    messages = render_for_verifier(t)
    text = json.dumps(messages)
    assert messages[0] == {"role": "user", "content": "Task medcalcbench/bmi/train/0/0: what is the BMI of 70 kg, 175 cm?"}
    assert "SYSTEM PROMPT TEXT" not in text  # system prompt dropped
    assert "execute_python" in text and "stdout: 22.857" in text
    assert messages[-1] == {"role": "user", "content": "Submitted answer: 99.0"}
    for hidden in ("incorrect", "target 22.857", "expected", '"status"', "score", "reward"):
        assert hidden not in text, hidden
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]


def test_render_writes_tool_calls_out_and_says_when_nothing_was_submitted() -> None:
    t = episode("medcalcbench/bmi/train/0/0", correct=None, tools=True)
    messages = render_for_verifier(t)
    assert messages[1]["content"].startswith("[tool call] execute_python(")
    assert messages[-1]["content"] == "No answer was submitted."


def test_long_observations_are_clipped_and_long_sequences_keep_head_and_tail(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    t = episode("medcalcbench/bmi/train/0/0")
    t.steps[0].observation = "x" * 50_000
    messages = render_for_verifier(t)
    assert len(messages[2]["content"]) < 2_000 and "characters clipped" in messages[2]["content"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    full, cut = encode_for_verifier(tokenizer, messages, 100_000)
    assert not cut
    short, cut = encode_for_verifier(tokenizer, messages, 64)
    assert cut and len(short) == 64 and short[:16] == full[:16] and short[-48:] == full[-48:]


# --------------------------------------------------------------------------------------------
# Pairs


def test_pairs_are_train_only_success_against_failure_of_the_same_sample(tmp_path: Path) -> None:
    run = training_runs(tmp_path)
    counts: Counter[str] = Counter()
    pairs = verifier_pairs([run], max_pairs_per_sample=2, counts=counts)
    assert len(pairs) == 6 and {p["sample_id"] for p in pairs} == {f"medcalcbench/bmi/train/{s}/0" for s in range(3)}
    assert all("/test/" not in json.dumps(p) for p in pairs)
    for p in pairs:
        assert p["chosen"][-1]["content"] == f"Submitted answer: {TARGET}"
        assert p["rejected"][-1]["content"] != p["chosen"][-1]["content"]
    # both different failures of a sample are used before any repeats
    rejected = {p["rejected"][-1]["content"] for p in pairs if p["sample_id"].endswith("/0/0")}
    assert len(rejected) == 2
    assert counts["test_split"] == 2 and counts["infra_error"] == 3 and counts["pairs"] == 6
    every = verifier_pairs([run, run], max_pairs_per_sample=10, counts=(c := Counter()))
    assert len(every) == 9 and c["duplicates"] == 17  # 1 success x 3 failures per sample; the second copy dedupes


def test_a_train_id_that_also_occurs_in_the_test_split_is_kept_out(tmp_path: Path) -> None:
    sid = "medcalcbench/bmi/train/9/0"
    ts = [episode(sid, correct=True), episode(sid, epoch=1, correct=False, answer=1.0), episode(sid, epoch=2, split="test")]
    counts: Counter[str] = Counter()
    assert verifier_pairs(ts, max_pairs_per_sample=4, counts=counts) == []
    assert counts["train_id_seen_in_test"] == 2


def test_pairs_refuse_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(VerifierDataError, match="not a run folder"):
        verifier_pairs([tmp_path], max_pairs_per_sample=1)


# --------------------------------------------------------------------------------------------
# Selection by a score (stub scores: the rules exactly)


class FixedScores(ScoringSelector):
    name = "fixed"

    def __init__(self, by_epoch: dict[int, float]) -> None:
        super().__init__()
        self.by_epoch = by_epoch
        self.calls: list[int] = []

    def _compute_scores(self, trajectories):  # type: ignore[no-untyped-def]
        self.calls.append(len(trajectories))
        return [self.by_epoch[t.epoch] for t in trajectories]


def test_selection_is_the_arg_max_with_ties_to_the_earliest_and_no_submission_last() -> None:
    sid = "medcalcbench/bmi/train/0/0"
    ts = [episode(sid, epoch=0, correct=None), episode(sid, epoch=1, correct=False, answer=1.0), episode(sid, epoch=2), episode(sid, epoch=3)]
    selector = FixedScores({0: 100.0, 1: 0.5, 2: 3.0, 3: 3.0})
    assert selector.select(ts) == 2  # epoch 0 scores -inf without being asked; 2 and 3 tie: earliest
    assert selector.scores(ts)[0] == -math.inf and selector.calls == [3]  # cached, scored once in one batch
    assert selector.select(ts[:2]) == 1
    assert FixedScores({0: 1.0}).select(ts[:1]) == 0  # nothing submitted anywhere: the first (fails either way)
    nan = FixedScores({0: 0.0, 1: float("nan"), 2: -5.0, 3: 0.0})
    assert nan.select(ts[1:3]) == 1  # a NaN score ranks like no submission
    with pytest.raises(ValueError):
        selector.select([])


def test_compute_metrics_prepares_a_scoring_selector_once_for_all_k() -> None:
    sid = "medcalcbench/bmi/train/0/0"
    ts = [episode(sid, epoch=e, correct=e == 2, answer=TARGET if e == 2 else 5.0) for e in range(4)]
    selector = FixedScores({0: 0.0, 1: 0.0, 2: 1.0, 3: 0.0})
    m = compute_metrics(ts, selectors=[MajorityVote(), selector])
    assert selector.calls == [4]
    assert m.overall.best_at_k_by["fixed"] == {1: 0.0, 2: 0.0, 3: 1.0, 4: 1.0}
    assert m.overall.best_at_k_by["majority-vote"] == m.overall.best_at_k


# --------------------------------------------------------------------------------------------
# Training and scoring with a real (tiny) model


def test_the_verifier_trains_saves_and_scores(tmp_path: Path, tiny_model_dir: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from medagentgym.training.config import LoraSettings, TrainConfig, VerifierSettings
    from medagentgym.training.trainers import train

    run = training_runs(tmp_path)
    config = TrainConfig(
        kind="verifier",
        model=str(tiny_model_dir),
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        batch_size=2,
        max_length=256,
        learning_rate=1e-3,
        lora=LoraSettings(r=4, alpha=8, dropout=0.0),
        device="cpu",
        verifier=VerifierSettings(runs=[str(run)], max_pairs_per_sample=2),
    )
    result = train(config)
    assert result.steps == 2 and result.status == "ok"
    assert result.data["pairs"] == 6 and result.data["skipped"]["test_split"] == 2
    assert 0.0 <= result.data["train_pair_accuracy"] <= 1.0
    model_dir = Path(result.model_dir)
    classifier = AutoModelForSequenceClassification.from_pretrained(model_dir)
    assert classifier.config.num_labels == 1 and classifier.config.pad_token_id is not None

    selector = VerifierSelector(model_dir, max_length=256, batch_size=3)
    sid = "medcalcbench/bmi/train/0/0"
    candidates = [episode(sid, epoch=e, correct=e % 2 == 0, answer=TARGET if e % 2 == 0 else 40.0 + e) for e in range(4)]
    candidates.append(episode(sid, epoch=4, correct=None))
    scores = selector.scores(candidates)
    assert all(math.isfinite(s) for s in scores[:4]) and scores[4] == -math.inf
    assert len(set(scores[:4])) > 1  # the answer line changes the score
    best = max(range(5), key=lambda i: (scores[i], -i))
    assert selector.select(candidates) == best
    # The saved (merged) model ranks the training pairs as the trained adapter did in fit: the
    # pairs are (epoch 0 vs 1) and (epoch 0 vs 2) of each sample (max 2 pairs, both failures first).
    from medagentgym.runs.store import load_run

    by_key = {(t.sample_id, t.epoch): t for t in load_run(run)}
    wins = []
    for s in range(3):
        sid_s = f"medcalcbench/bmi/train/{s}/0"
        good, bad1, bad2 = selector.scores([by_key[(sid_s, 0)], by_key[(sid_s, 1)], by_key[(sid_s, 2)]])
        wins += [good > bad1, good > bad2]
    assert sum(wins) / len(wins) == pytest.approx(result.data["train_pair_accuracy"])
    # the same episode scores the same in a fresh selector (deterministic, no dropout at inference)
    assert VerifierSelector(model_dir, max_length=256).scores(candidates[:1]) == pytest.approx(scores[:1], rel=1e-5)
    # the report command puts best@k by this verifier beside majority vote
    from typer.testing import CliRunner

    from medagentgym.cli import app

    report = CliRunner().invoke(app, ["report", str(run), "--verifier", str(model_dir), "--html", str(tmp_path / "html")])
    assert report.exit_code == 0, report.output
    assert "best@k (verifier)" in report.output and "best@k (majority-vote)" in report.output
    page = (tmp_path / "html" / "runs" / "r1" / "index.html").read_text(encoding="utf-8")
    assert "best@k (verifier)" in page


def test_a_missing_or_broken_verifier_is_one_clear_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(VerifierLoadError, match="no config.json"):
        VerifierSelector(tmp_path / "nope")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(VerifierLoadError, match="cannot load the verifier") as info:
        VerifierSelector(broken)
    assert "\n" not in str(info.value)
    (broken / "medagentgym_verifier.json").write_text('{"render_version": 99}', encoding="utf-8")
    with pytest.raises(VerifierLoadError, match="rendered as version 99"):
        VerifierSelector(broken)


def test_the_shipped_verifier_configs_load_and_fit_reward_config() -> None:
    import dataclasses

    from trl import RewardConfig

    from medagentgym.training.config import load_config

    root = Path(__file__).resolve().parents[2] / "configs" / "training"
    fields = {f.name for f in dataclasses.fields(RewardConfig)}
    for name in ("smollm2-verifier.toml", "qwen2.5-7b-verifier.toml"):
        config = load_config(root / name)
        assert config.kind == "verifier" and config.verifier.runs and config.lora is not None
        assert set(config.trainer) <= fields, set(config.trainer) - fields
