"""npowerai through the real env and sandbox: the oracle scores 1 on generated and imported
samples; hostile agents (a percentage for a proportion, code that tries to regenerate the hidden
target, answers that are not numbers) score 0; the next episode on the same env is unaffected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medagentgym.catalog.sample import Sample
from medagentgym.datasets.npowerai import DATASET
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy
from medagentgym.policies.scripted import ScriptedPolicy
from medagentgym.rollout import run_episode


@pytest.fixture(scope="module")
def env(sandbox_server):  # type: ignore[no-untyped-def]
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _submit(answer: object) -> str:
    return json.dumps({"action": "submit", "answer": answer})


def test_hostile_agents_score_zero_and_the_next_episode_is_unaffected(env: MedAgentEnv) -> None:
    power_sample = DATASET.generate("cox-power", "test", 2)
    size_sample = DATASET.generate("chi2-independence-size", "test", 2)
    value = float(power_sample.target.value)
    regenerate = (
        "import importlib\n"
        "try:\n"
        "    m = importlib.import_module('medagentgym.datasets.npowerai')\n"
        "    print('LEAK', m.DATASET.generate('cox-power', 'test', 2).target.value)\n"
        "except Exception as error:\n"
        "    print('blocked', type(error).__name__)\n"
    )
    attacks = [
        (power_sample, [_submit(round(value * 100, 3))]),  # a percentage instead of the proportion
        (power_sample, [json.dumps({"action": "execute_python", "code": regenerate}), _submit("unknown")]),
        (size_sample, [_submit("1e400")]),
        (size_sample, [_submit([int(size_sample.target.value)] * 3)]),
        (size_sample, [_submit(f"{size_sample.target.value} participants")]),
    ]
    for sample, outputs in attacks:
        trajectory = run_episode(env, ScriptedPolicy(outputs), sample, run_id="attack")
        assert trajectory.status == "ok" and trajectory.reward == 0.0 and not trajectory.success, outputs
        for step in trajectory.steps:
            assert "LEAK" not in (step.observation or "")
    blocked = run_episode(env, ScriptedPolicy(attacks[1][1]), power_sample, run_id="attack")
    assert "blocked" in (blocked.steps[0].observation or "")
    for sample in (power_sample, size_sample):
        good = run_episode(env, OraclePolicy(), sample, run_id="after")
        assert good.success and good.reward == 1.0


def test_oracle_scores_one_on_imported_rows(env: MedAgentEnv, tmp_path: Path) -> None:
    question = (
        "Two arms, each having 150 person. The probabilities of failure in groups E and C are 0.30 and 0.40, "
        "respectively. The hazard ratio of E versus C is assumed to be 0.7. Power at a significance level of 0.05?"
    )
    source = tmp_path / "rows.jsonl"
    source.write_text(
        json.dumps({"task_type": "Cox proportional-hazards model", "estimate_target": "power", "question": question, "answer": 0.5}) + "\n",
        encoding="utf-8",
    )
    output = tmp_path / "samples.jsonl"
    report = DATASET.import_file(source, output)
    assert report.samples_written == 1
    sample = Sample.model_validate(json.loads(output.read_text("utf-8")))
    assert run_episode(env, OraclePolicy(), sample, run_id="imported").success
