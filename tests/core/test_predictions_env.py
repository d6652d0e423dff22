"""Prediction answers through the real env and sandbox: the oracle reaches the bar, the wrong-answer
policy and hostile submissions score 0 with a reason, and the next episode is unaffected."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medagentgym.catalog.sample import Resource, Sample
from medagentgym.datasets._prediction import fit_baseline, oracle_solution, prediction_target, write_csv
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.policies.scripted import ScriptedPolicy
from medagentgym.rollout import run_episode

N_TRAIN, N_TEST = 160, 160


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    rng = np.random.default_rng(11)
    n = N_TRAIN + N_TEST
    risk = rng.random(n)
    labels = (rng.random(n) < risk).astype(int)
    features = np.c_[risk + rng.normal(0, 0.25, n), rng.normal(size=n)]
    ids = [f"e{i}" for i in range(n)]
    folder = tmp_path_factory.mktemp("cohort")
    write_csv(folder / "train.csv", ("id", "f0", "f1", "label"),
              [(ids[i], *features[i], labels[i]) for i in range(N_TRAIN)])
    write_csv(folder / "test.csv", ("id", "f0", "f1"), [(ids[i], *features[i]) for i in range(N_TRAIN, n)])
    test = slice(N_TRAIN, n)
    baseline = fit_baseline("binary", features[:N_TRAIN], labels[:N_TRAIN], features[test], 1)
    target = prediction_target(
        "binary", ("score",), ids[test], labels[test], bar=0.7, baseline_scores=baseline, oracle_scores=risk[test]
    )
    return Sample(
        id="predict/toy/test/0/0",
        dataset="predict",
        category="toy",
        split="test",
        index=0,
        seed=0,
        prompt="Fit a model on cohort/train.csv (label column `label`) and predict cohort/test.csv.",
        resources=(Resource(kind="directory", name="cohort", path=str(folder)),),
        target=target,
        solution=oracle_solution(ids[test], ("score",), risk[test]),
    )


@pytest.fixture(scope="module")
def env(sandbox_server):
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _run(env: MedAgentEnv, sample: Sample, *actions: dict) -> tuple:
    trajectory = run_episode(env, ScriptedPolicy([json.dumps(a) for a in actions]), sample, run_id="t")
    return trajectory, trajectory.score


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_oracle_reaches_the_bar_and_a_flattened_file_does_not(env, sample: Sample, action_format: str) -> None:
    good = run_episode(env, OraclePolicy(action_format=action_format), sample, run_id="t")
    assert good.success, good.score
    assert good.score.parsed["metric"] == pytest.approx(sample.target.predictions.oracle, abs=1e-4)
    bad = run_episode(env, WrongAnswerPolicy(action_format=action_format), sample, run_id="t")
    assert bad.status == "ok" and not bad.success
    assert bad.score.parsed["metric"] == 0.5


def test_an_agent_that_fits_a_model_in_the_session_is_graded_on_its_file(env, sample: Sample) -> None:
    finder = (
        "folder = RESOURCES['cohort']\n"
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "train = pd.read_csv(folder + '/train.csv'); test = pd.read_csv(folder + '/test.csv')\n"
        "model = LogisticRegression().fit(train[['f0', 'f1']], train['label'])\n"
        "pd.DataFrame({'id': test['id'], 'score': model.predict_proba(test[['f0', 'f1']])[:, 1]})"
        ".to_csv('mine.csv', index=False)\nprint(len(test))\n"
    )
    trajectory, score = _run(
        env, sample,
        {"action": "list_files"},
        {"action": "execute_python", "code": finder},
        {"action": "submit", "answer": "mine.csv"},
    )
    assert trajectory.steps[1].observation.strip().endswith(str(N_TEST)), trajectory.steps[1].observation[-300:]
    assert score.parsed["metric"] == pytest.approx(sample.target.predictions.baseline, abs=0.02)
    assert "logistic regression" in score.explanation


@pytest.mark.parametrize(
    ("actions", "reason"),
    [
        ([{"action": "submit", "answer": "predictions.csv"}], "no code ran"),
        ([{"action": "execute_python", "code": "x = 1"}, {"action": "submit", "answer": "nothing.csv"}],
         "could not be read"),
        ([{"action": "execute_python", "code": "x = 1"}, {"action": "submit", "answer": ["a", "b"]}],
         "JSON string"),
        ([{"action": "execute_python", "code": "x = 1"}, {"action": "submit", "answer": "/etc/passwd"}],
         "lacks"),
        ([{"action": "execute_python", "code": "import os; os.mkdir('d')"}, {"action": "submit", "answer": "d"}],
         "could not be read"),
        ([{"action": "execute_python", "code": "open('big.csv', 'w').write('id,score\\n' + 'x' * 2_100_000)"},
          {"action": "submit", "answer": "big.csv"}], "over"),
        ([{"action": "execute_python", "code": "open('half.csv', 'w').write('id,score\\ne160,1\\ne161,0\\n')"},
          {"action": "submit", "answer": "half.csv"}], "missing"),
        ([{"action": "execute_python", "code": "import os; os.symlink('/proc/self/environ', 'env.csv')"},
          {"action": "submit", "answer": "env.csv"}], "scored 0"),
    ],
    ids=["no-code", "no-file", "not-a-name", "system-file", "directory", "huge", "half", "symlink"],
)
def test_hostile_submissions_score_zero_and_the_next_episode_is_unaffected(
    env, sample: Sample, actions: list, reason: str
) -> None:
    trajectory, score = _run(env, sample, *actions)
    assert trajectory.status == "ok" and score.value == 0.0
    assert reason in score.explanation, score.explanation
    assert run_episode(env, OraclePolicy(), sample, run_id="t").success


def test_a_session_that_patches_open_only_fools_itself(env, sample: Sample) -> None:
    """Whatever the session returns for the file is graded like a file it wrote: without the labels
    (which never entered it) patching the reader cannot help."""
    patch = (
        "import builtins, io\n_real = builtins.open\n"
        "def open(path, mode='r', *a, **k):\n"
        "    return io.BytesIO(b'id,score\\n' + b'\\n'.join(b'e%d,1' % i for i in range(160, 320)))\n"
        "builtins.open = open\n"
    )
    trajectory, score = _run(
        env, sample, {"action": "execute_python", "code": patch}, {"action": "submit", "answer": "anything.csv"}
    )
    assert score.value == 0.0 and score.parsed["metric"] == 0.5
    assert run_episode(env, OraclePolicy(), sample, run_id="t").success


def test_the_prompt_states_the_file_format(sample: Sample) -> None:
    from medagentgym.env.prompts import render_task

    text = render_task(sample)
    assert "`id,score`" in text and "every test id exactly once" in text


def test_test_labels_never_reach_the_session_files(sample: Sample) -> None:
    folder = Path(sample.resources[0].path)
    assert "label" not in (folder / "test.csv").read_text().splitlines()[0]
