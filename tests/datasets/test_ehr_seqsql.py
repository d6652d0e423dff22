"""ehr_seqsql: sequential questions over the MIMIC-III view, each sub-answer graded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medagentgym.catalog import SPLITS, Sample
from medagentgym.datasets.ehr_seqsql import DATASET
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode

CATEGORIES = [c.name for c in DATASET.categories()]


def run_solution(code: str, db: str):
    namespace: dict = {"DATABASES": {"mimic_iii": db}}
    exec(code, namespace)  # noqa: S102
    return namespace["answer"]


def test_categories_and_full_counts() -> None:
    cats = DATASET.categories()
    assert len(cats) >= 4
    full = [c.full_counts for c in cats]
    assert sum(f["train"] for f in full) >= 18_950 and sum(f["test"] for f in full) >= 7_913
    for cat in cats:
        for questions in cat.params["templates"].values():
            assert 2 <= len(questions) <= 4


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_question_has_a_reproducible_target(mimic_iii_env: Path, category: str) -> None:
    for split in SPLITS:
        for index in range(3):
            sample = DATASET.generate(category, split, index)
            assert sample == DATASET.generate(category, split, index)  # deterministic
            assert 2 <= len(sample.questions) <= 4
            db = sample.resources[0].path
            for question in sample.questions:
                assert run_solution(question.solution.code, db) == question.target.value
            assert len(sample.metadata["gold_sql"]) == len(sample.questions)


def test_no_instance_repeats_inside_a_split_and_splits_are_disjoint(mimic_iii_env: Path) -> None:
    for cat in DATASET.categories():
        keys = {split: [DATASET.generate(cat.name, split, i).metadata["content_key"]
                        for i in range(cat.count(split))] for split in SPLITS}
        for split in SPLITS:
            assert len(set(keys[split])) == len(keys[split]), (cat.name, split)
        assert not set(keys["train"]) & set(keys["test"]), cat.name


def test_followups_are_hidden_from_the_agent(mimic_iii_env: Path) -> None:
    sample = DATASET.generate("set_operations", "test", 0)
    view = json.dumps(sample.public_view())
    for followup in sample.followups:
        assert followup.prompt not in view and followup.solution.code not in view
    assert "gold_sql" not in view


@pytest.mark.parametrize("category", CATEGORIES)
def test_oracle_scores_one_and_wrong_answers_zero_through_the_env(
    mimic_iii_env: Path, sandbox_server, category: str
) -> None:
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        sample = DATASET.generate(category, "test", 1)
        good = run_episode(env, OraclePolicy(), sample, run_id="t")
        assert good.success and good.reward == 1.0, (good.status, good.score)
        assert len(good.score.parts) == len(sample.questions)
        bad = run_episode(env, WrongAnswerPolicy(), sample, run_id="t")
        assert bad.status == "ok" and bad.reward == 0.0
    finally:
        env.close()


def test_partially_right_sequence_scores_its_mean(mimic_iii_env: Path, sandbox_server) -> None:
    sample: Sample = DATASET.generate("filter_then_aggregate", "test", 0)
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        env.reset(options={"sample": sample})
        answers = [q.target.value for q in sample.questions]
        answers[1] = "not a number"
        for answer in answers:
            *_, info = env.step(json.dumps({"action": "submit", "answer": answer}))
        n = len(answers)
        assert info["score"]["value"] == pytest.approx((n - 1) / n)
        assert info["score"]["correct"] is False
        assert [p["correct"] for p in info["score"]["parts"]] == [i != 1 for i in range(n)]
    finally:
        env.close()


def test_import_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text('{"question": "q"}\n')
    with pytest.raises(ValueError, match="no importer"):
        DATASET.import_file(source, tmp_path / "out.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "medagentgym.cli", "import", "ehr_seqsql", str(source)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0 and "no importer" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
