"""The whole catalog's test split through the real sandbox: oracle scores 1, wrong answers 0."""

from __future__ import annotations

import pytest

from medagentgym.catalog.selection import Selection, select_samples
from medagentgym.env import MedAgentEnv
from medagentgym.policies import WrongAnswerPolicy
from medagentgym.rollout import run_episode
from medagentgym.validation import validate


@pytest.mark.slow
def test_oracle_scores_one_on_every_test_sample() -> None:
    result = validate(Selection(splits=["test"]), concurrency=4)
    assert result.total >= 900
    assert not result.failures, result.failures[:5]


@pytest.mark.slow
def test_wrong_answers_score_zero_across_the_catalog(sandbox_server) -> None:
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        samples = list(select_samples(Selection(splits=["test", "train"], limit_per_category=3)))
        policy = WrongAnswerPolicy()
        for sample in samples:
            trajectory = run_episode(env, policy, sample, run_id="wrong")
            assert trajectory.submitted and not trajectory.success, (sample.id, trajectory.submitted_answer)
    finally:
        env.close()
