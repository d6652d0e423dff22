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


def test_a_killed_validation_resumes_without_losing_or_duplicating_an_episode(tmp_path) -> None:
    import json

    from medagentgym.runs.store import RunIdentityError

    selection = Selection(
        datasets=["medcalcbench"], categories=["bmi", "mean-arterial-pressure"], splits=["test"], limit_per_category=3
    )
    out = tmp_path / "validation"
    first = validate(selection, out=out)
    assert first.total == 6 and not first.failures and first.resumed == 0
    path = out / "trajectories.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]) + lines[2][:40])  # killed while writing the third episode
    again = validate(selection, out=out, workers=2)  # the rest, in two worker processes
    assert again.total == 6 and again.resumed == 2 and not again.failures, again.failures
    ids = [json.loads(line)["sample_id"] for line in path.read_text().splitlines()]
    assert len(ids) == 6 == len(set(ids))
    assert (out / "trajectories.partial").exists()  # the cut line is kept aside, not lost
    done = validate(selection, out=out, workers=2)
    assert done.resumed == 6 and sum(done.passed.values()) == 6
    assert len(path.read_text().splitlines()) == 6
    with pytest.raises(RunIdentityError):  # another selection never mixes into the folder
        validate(selection.model_copy(update={"limit_per_category": 2}), out=out)
