"""Sequential samples: several dependent questions in one episode, each graded on its own."""

from __future__ import annotations

import json

import pytest

from medagentgym.catalog import AnswerType, FollowUp, Sample, Solution, Target
from medagentgym.env import EnvConfig, MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode
from medagentgym.runs.schema import Trajectory
from medagentgym.scoring import Score, combine_scores

CONNECT = "import sqlite3\nconn = sqlite3.connect(f\"file:{DATABASES['toy']}?mode=ro\", uri=True)\n"


@pytest.fixture
def sequence(toy_samples) -> Sample:
    """Three dependent questions over the toy database (3 women; their drugs; anyone over 75?)."""
    db = toy_samples[0].resources[0]
    return Sample(
        id="toy/sequence/test/0/0",
        dataset="toy",
        category="sequence",
        split="test",
        index=0,
        seed=0,
        prompt="How many female patients are there?",
        resources=(db,),
        target=Target(answer_type=AnswerType.INTEGER, value=3),
        solution=Solution(code=CONNECT + "answer = conn.execute(\"select count(*) from patients where gender='F'\").fetchone()[0]\n"),
        followups=(
            FollowUp(
                prompt="Which drugs do those patients receive?",
                target=Target(answer_type=AnswerType.STRING_SET, value=["heparin sodium", "metoprolol"]),
                solution=Solution(code=CONNECT + "answer = sorted({r[0] for r in conn.execute(\"select drug from patients where gender='F'\")})\n"),
            ),
            FollowUp(
                prompt="Is any of them older than 75?",
                target=Target(answer_type=AnswerType.BOOLEAN, value=True),
                solution=Solution(code=CONNECT + "answer = bool(conn.execute(\"select count(*) from patients where gender='F' and age > 75\").fetchone()[0])\n"),
            ),
        ),
    )


@pytest.fixture
def env(sandbox_server):
    made: list[MedAgentEnv] = []

    def make(**config) -> MedAgentEnv:
        e = MedAgentEnv(config=EnvConfig(**config), sandbox=sandbox_server)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def submit(answer) -> str:
    return json.dumps({"action": "submit", "answer": answer})


def test_public_view_hides_followups_and_their_targets(sequence: Sample) -> None:
    view = json.dumps(sequence.public_view())
    assert view.count("question") >= 1 and json.loads(view)["questions"] == 3
    for followup in sequence.followups:
        assert followup.prompt not in view
        assert followup.solution.code not in view
    assert "heparin" not in view and "metoprolol" not in view


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_oracle_answers_every_question_and_the_wrong_answer_policy_none(env, sequence, action_format) -> None:
    e = env(action_format=action_format)
    good = run_episode(e, OraclePolicy(action_format=action_format), sequence, run_id="t")
    assert good.status == "ok" and good.reward == 1.0 and good.success
    assert good.score is not None and [p.correct for p in good.score.parts] == [True, True, True]
    assert good.submitted_answer == [3, ["heparin sodium", "metoprolol"], True]
    # every question appears in the conversation, in order, after the previous answer
    texts = [str(m.get("content") or "") for m in good.messages if m["role"] in ("user", "tool")]
    joined = "\n".join(texts)
    positions = [joined.index(q.prompt) for q in sequence.questions]
    assert positions == sorted(positions)
    bad = run_episode(e, WrongAnswerPolicy(action_format=action_format), sequence, run_id="t")
    assert bad.status == "ok" and bad.reward == 0.0 and not bad.success
    assert len(bad.score.parts) == 3 and not any(p.correct for p in bad.score.parts)


def test_reward_is_the_mean_of_sub_scores_and_recorded_per_question(env, sequence) -> None:
    e = env()
    observation, _ = e.reset(options={"sample": sequence})
    assert "Question 1 of 3" in observation and sequence.followups[0].prompt not in observation
    obs, reward, terminated, truncated, info = e.step(submit(3))
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert "Question 2 of 3" in obs and sequence.followups[0].prompt in obs
    assert info["question"] == 1 and "correct" not in obs  # the verdict stays hidden by default
    obs, reward, terminated, _, _ = e.step(submit(["metoprolol"]))  # incomplete set: wrong
    assert not terminated and sequence.followups[1].prompt in obs
    obs, reward, terminated, _, info = e.step(submit("yes"))
    assert terminated and reward == pytest.approx(2 / 3)
    score = Score.model_validate(info["score"])
    assert [p.correct for p in score.parts] == [True, False, True] and not score.correct
    assert "2/3 sub-answers correct" in score.explanation
    assert info["submitted_answer"] == [3, ["metoprolol"], "yes"]


def test_state_persists_across_questions(env, sequence) -> None:
    e = env()
    e.reset(options={"sample": sequence})
    e.step(json.dumps({"action": "execute_python", "code": "women = 3"}))
    e.step(submit(3))
    obs, *_ = e.step(json.dumps({"action": "execute_python", "code": "print(women * 2)"}))
    assert "6" in obs


def test_turn_limit_scales_with_questions_and_a_cut_sequence_scores_what_was_answered(env, sequence) -> None:
    e = env(max_turns=2)
    e.reset(options={"sample": sequence})
    assert e.turn_limit == 6
    e.step(submit(3))
    for _ in range(6):
        obs, reward, terminated, truncated, info = e.step("not json")
        if truncated:
            break
    assert truncated and not terminated and reward == 0.0
    assert info["status"] == "max_turns"
    assert e.score is not None and e.score.value == pytest.approx(1 / 3) and not e.score.correct
    assert "q3: unanswered" in e.score.explanation


def test_reveal_verdict_shows_each_sub_verdict(env, sequence) -> None:
    e = env(reveal_verdict=True)
    e.reset(options={"sample": sequence})
    obs, *_ = e.step(submit(4))
    assert "incorrect" in obs and "Question 2 of 3" in obs


def test_hostile_submissions_cost_only_their_question(env, sequence) -> None:
    """A huge, deeply nested or typeless answer is a 0 for that question; the episode goes on."""
    e = env()
    e.reset(options={"sample": sequence})
    nested: object = 1
    for _ in range(200):
        nested = [nested]
    deep = '{"action": "submit", "answer": ' + json.dumps(nested) + "}"
    obs, reward, terminated, _, info = e.step(deep)  # over the nesting cap: a parse error
    assert not terminated and obs.startswith("Error") and e.question == 0
    obs, reward, terminated, _, info = e.step(submit({"a": 1}))  # an object for an integer
    assert not terminated and "Question 2 of 3" in obs
    obs, reward, terminated, _, info = e.step(submit(["x" * 20_000] * 3))  # under the output cap
    assert not terminated and "Question 3 of 3" in obs
    obs, reward, terminated, _, info = e.step(submit(True))
    assert terminated
    score = Score.model_validate(info["score"])
    assert [p.correct for p in score.parts] == [False, False, True]
    assert score.value == pytest.approx(1 / 3)
    # the next episode starts clean
    e.reset(options={"sample": sequence})
    assert e.question == 0 and e.sub_scores == [] and e.score is None


def test_trajectory_round_trips_with_parts(env, sequence) -> None:
    e = env()
    trajectory = run_episode(e, OraclePolicy(), sequence, run_id="t")
    again = Trajectory.model_validate_json(trajectory.model_dump_json())
    assert again.score is not None and len(again.score.parts) == 3 and again.reward == 1.0


def test_combine_scores_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        combine_scores([], 2)
    part = Score(value=1.0, correct=True, answer_type=AnswerType.INTEGER, parsed=1, explanation="")
    with pytest.raises(ValueError):
        combine_scores([part, part], 1)


def test_single_question_samples_are_unchanged(env, toy_samples) -> None:
    e = env()
    e.reset(options={"sample": toy_samples[0]})
    obs, reward, terminated, _, info = e.step(submit(3))
    assert terminated and reward == 1.0 and obs == "Answer submitted."
    assert Score.model_validate(info["score"]).parts == ()
