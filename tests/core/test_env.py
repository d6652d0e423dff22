"""The gymnasium env over toy samples: contract, actions, grading, truncation, determinism."""

from __future__ import annotations

import json

import pytest
from gymnasium.utils.env_checker import check_env

from medagentgym.env import EnvConfig, MedAgentEnv
from medagentgym.policies import OraclePolicy, ScriptedPolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode


@pytest.fixture
def env_factory(sandbox_server, toy_samples):
    envs = []

    def make(**config):
        env = MedAgentEnv(toy_samples, config=EnvConfig(**config), sandbox=sandbox_server)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()


def act(env, **action):
    return env.step(json.dumps(action))


def test_gymnasium_check_env(env_factory) -> None:
    check_env(env_factory(), skip_render_check=True)


def test_reset_is_deterministic_and_hides_the_target(env_factory, toy_samples) -> None:
    env = env_factory()
    first, info = env.reset(seed=3)
    second, _ = env.reset(seed=3)
    assert first == second
    sample = next(s for s in toy_samples if s.id == info["sample_id"])
    assert sample.prompt in first
    assert "answer" not in info and "target" not in info
    assert str(sample.solution.code) not in first


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_oracle_scores_one_and_wrong_answer_scores_zero(env_factory, toy_samples, action_format) -> None:
    env = env_factory(action_format=action_format)
    for sample in toy_samples:
        good = run_episode(env, OraclePolicy(action_format=action_format), sample, run_id="t")
        assert good.status == "ok" and good.reward == 1.0, good.score
        bad = run_episode(env, WrongAnswerPolicy(action_format=action_format), sample, run_id="t")
        assert bad.status == "ok" and bad.reward == 0.0 and bad.submitted


def test_tool_mode_records_tool_messages(env_factory, toy_samples) -> None:
    env = env_factory(action_format="tools")
    trajectory = run_episode(env, OraclePolicy(action_format="tools"), toy_samples[0], run_id="t")
    roles = [m["role"] for m in trajectory.messages]
    assert roles[:2] == ["system", "user"] and "tool" in roles
    assert trajectory.messages[2]["tool_calls"][0]["function"]["name"] == "list_tables"


def test_session_state_persists_between_steps(env_factory, toy_samples) -> None:
    env = env_factory()
    env.reset(options={"sample": toy_samples[1]})
    act(env, action="execute_python", code="x = 41")
    observation, reward, terminated, truncated, info = act(env, action="execute_python", code="x + 1")
    assert "Out: 42" in observation and info["execution"]["status"] == "ok"
    assert (reward, terminated, truncated) == (0.0, False, False)


def test_sql_and_inspection_actions(env_factory, toy_samples) -> None:
    env = env_factory()
    env.reset(options={"sample": toy_samples[0]})
    tables, *_ = act(env, action="list_tables")
    assert "patients" in tables and "5" in tables
    described, *_ = act(env, action="describe_table", table="patients")
    assert "gender" in described and "5 rows" in described
    values, *_ = act(env, action="distinct_values", table="patients", column="gender")
    assert "F" in values and "3" in values
    rows, *_ = act(env, action="sample_rows", table="patients", n=2)
    assert "metoprolol" in rows and "furosemide" in rows and "insulin" not in rows
    found, *_ = act(env, action="search", term="metoprolo")
    assert found.splitlines()[2].startswith("metoprolol")
    bad, *_ = act(env, action="describe_table", table="nope")
    assert bad.startswith("Error: No table 'nope'")
    sql, _, _, _, info = act(env, action="execute_sql", query="select count(*) as n from patients")
    assert info["execution"]["status"] == "ok" and "5" in sql
    write, _, _, _, info = act(env, action="execute_sql", query="delete from patients")
    assert info["execution"]["status"] == "error"
    check, _, _, _, info = act(env, action="execute_sql", query="select count(*) from patients")
    assert "5" in check


def test_parse_error_costs_a_turn_and_raw_output_is_kept(env_factory, toy_samples) -> None:
    env = env_factory(max_turns=3)
    policy = ScriptedPolicy(["I think the answer is 3", '{"action": "submit", "answer": 3}'])
    trajectory = run_episode(env, policy, toy_samples[0], run_id="t")
    assert trajectory.steps[0].action is None and "No JSON action" in trajectory.steps[0].parse_error
    assert trajectory.messages[2]["content"] == "I think the answer is 3"
    assert trajectory.status == "ok" and trajectory.reward == 1.0 and len(trajectory.steps) == 2


def test_turn_limit_truncates_without_reward(env_factory, toy_samples) -> None:
    env = env_factory(max_turns=3)
    looping = ScriptedPolicy(['{"action": "execute_python", "code": "1"}'])
    trajectory = run_episode(env, looping, toy_samples[1], run_id="t")
    assert trajectory.status == "max_turns" and len(trajectory.steps) == 3
    assert trajectory.reward == 0.0 and trajectory.score is None and not trajectory.submitted
    never_parses = ScriptedPolicy(["no json here"])
    trajectory = run_episode(env, never_parses, toy_samples[1], run_id="t")
    assert trajectory.status == "parse_error"


def test_step_after_the_end_is_refused(env_factory, toy_samples) -> None:
    env = env_factory()
    env.reset(options={"sample": toy_samples[1]})
    act(env, action="submit", answer=1)
    with pytest.raises(RuntimeError, match="episode is over"):
        act(env, action="submit", answer=2)


@pytest.mark.parametrize("reveal", [False, True])
def test_verdict_is_revealed_only_when_configured(env_factory, toy_samples, reveal) -> None:
    env = env_factory(reveal_verdict=reveal)
    env.reset(options={"sample": toy_samples[1]})
    observation, reward, terminated, _, info = act(env, action="submit", answer=99)
    assert terminated and reward == 0.0 and info["score"]["correct"] is False
    assert ("incorrect" in observation) is reveal


def test_debug_hint_is_off_by_default_and_uses_the_schema_when_on(env_factory, toy_samples) -> None:
    env = env_factory()
    env.reset(options={"sample": toy_samples[0]})
    observation, *_ = act(env, action="debug_hint")
    assert "disabled" in observation
    env = env_factory(enable_debug_hint=True)
    env.reset(options={"sample": toy_samples[0]})
    act(env, action="execute_sql", query="select sex from patients")
    observation, *_ = act(env, action="debug_hint")
    assert "gender" in observation
    assert "debug_hint" in env.reset(options={"sample": toy_samples[0]})[0]


def test_python_error_is_reported_not_raised(env_factory, toy_samples) -> None:
    env = env_factory()
    env.reset(options={"sample": toy_samples[1]})
    observation, _, _, _, info = act(env, action="execute_python", code="1/0")
    assert info["execution"]["status"] == "error" and "ZeroDivisionError" in observation
