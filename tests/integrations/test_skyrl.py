"""The SkyRL-gym adapter against the real skyrl-gym package: rows, registry, whole episodes.

Each episode is played the way SkyRL's generator plays it: ``skyrl_gym.make(env_class,
env_config=..., extras=row_extras)``, ``init(row["prompt"])``, ``step(model_text)`` until done,
``close()``.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest

skyrl_gym = pytest.importorskip("skyrl_gym")

from medagentgym.catalog.selection import find_sample
from medagentgym.integrations.common import IntegrationError
from medagentgym.integrations.skyrl import (
    ENV_ID,
    MedAgentGymTextEnv,
    register,
    skyrl_rows,
)
from medagentgym.sandbox import shared_server

SAMPLE_ID = "medcalcbench/bmi/train/0/0"


def _live_sessions() -> int:
    return sum(1 for session in list(shared_server()._sessions) if session.alive)


def _row(sample_id: str = SAMPLE_ID) -> dict[str, Any]:
    (row,) = skyrl_rows(sample_ids=[sample_id])
    return row


def _make(row: dict[str, Any], env_config: Any = None, max_turns: int | None = None) -> Any:
    """What SkyRL's generator does with a row: the extras are every column but prompt/env_class."""
    extras = {k: v for k, v in row.items() if k not in ("prompt", "env_class")}
    if max_turns is not None:
        extras["max_turns"] = max_turns
    return skyrl_gym.make(row["env_class"], env_config=env_config or {}, extras=extras)


def _act(name: str, **params: Any) -> str:
    return json.dumps({"action": name, **params})


def test_rows_name_the_env_and_sample_and_hide_the_target() -> None:
    rows = skyrl_rows("medcalcbench", "bmi", limit_per_category=3)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"data_source", "prompt", "env_class", "sample_id"}
        assert row["env_class"] == ENV_ID and row["data_source"] == "medagentgym/medcalcbench"
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        sample = find_sample(row["sample_id"])
        assert sample.split == "train"
        text = json.dumps(row)
        assert sample.solution is None or sample.solution.code not in text
        assert f'"value": {json.dumps(sample.target.value)}' not in text
        assert "target" not in text and "solution" not in text
    with pytest.raises(IntegrationError, match="test"):
        skyrl_rows(sample_ids=["medcalcbench/bmi/test/0/0"])  # train is the default split
    assert skyrl_rows(sample_ids=["medcalcbench/bmi/test/0/0"], split="test")[0]["sample_id"].endswith("/test/0/0")


def test_registered_and_made_through_the_registry() -> None:
    register()  # idempotent: the import already registered it
    assert ENV_ID in skyrl_gym.registry
    env = _make(_row())
    assert isinstance(env, MedAgentGymTextEnv)
    env.close()  # closing an env that never started is fine


def test_right_answer_scores_one_after_code_ran() -> None:
    sample = find_sample(SAMPLE_ID)
    row = _row()
    env = _make(row)
    try:
        prompt, info = env.init(row["prompt"])
        assert prompt == row["prompt"] and info["sample_id"] == SAMPLE_ID
        out = env.step(_act("execute_python", code="print(6 * 7)"))
        assert out["done"] is False and out["reward"] == 0.0
        assert out["observations"][0]["role"] == "user" and "42" in out["observations"][0]["content"]
        out = env.step(_act("submit", answer=sample.target.value))
        assert out["done"] is True and out["reward"] == 1.0 and out["observations"] == []
        assert out["metadata"]["status"] == "ok" and out["metadata"]["infra_error"] is False
        assert env.get_metrics() == {"benchmark": 1.0, "infra_error": 0.0, "submitted": 1.0, "turns": 2}
    finally:
        env.close()
    env.close()  # idempotent


def test_wrong_answer_scores_zero_and_a_parse_error_costs_a_turn() -> None:
    row = _row()
    env = _make(row, max_turns=3)  # the generator's turn limit reaches the env through extras
    try:
        env.init(row["prompt"])
        out = env.step("I think the answer is probably around twenty.")
        assert out["done"] is False and out["reward"] == 0.0
        assert out["metadata"]["turn"] == 1 and out["metadata"]["status"] is None
        out = env.step(_act("submit", answer=-12345))
        assert out["done"] is True and out["reward"] == 0.0 and out["metadata"]["status"] == "ok"
        # an action after the end is answered, not raised
        late = env.step(_act("submit", answer=1))
        assert late["done"] is True and late["reward"] == 0.0
    finally:
        env.close()


def test_turn_limit_ends_the_episode_with_the_final_reward() -> None:
    row = _row()
    env = _make(row, env_config={"shaped_weight": 0.3}, max_turns=2)
    try:
        env.init(row["prompt"])
        assert env.step(_act("execute_python", code="x = 1"))["done"] is False
        out = env.step("not an action")
        assert out["done"] is True and out["metadata"]["status"] == "max_turns"
        # no graded answer: the benchmark part is 0, the shaped part rewards the parsed, working turn
        assert 0.0 < out["reward"] < 0.3
    finally:
        env.close()


def test_hostile_rows_and_configs_are_refused_and_the_next_episode_is_unaffected() -> None:
    row = _row()
    with pytest.raises(IntegrationError, match="sample_id"):
        skyrl_gym.make(ENV_ID, env_config={}, extras={})
    with pytest.raises(IntegrationError, match="unknown"):
        _make(row, env_config={"split": "train", "reveal_target": True})
    # a test sample cannot be trained on unless the env config asks for the test split
    (test_row,) = skyrl_rows(sample_ids=["medcalcbench/bmi/test/0/0"], split="test")
    env = _make(test_row)
    with pytest.raises(IntegrationError, match="test"):
        env.init(test_row["prompt"])
    env.close()
    # a row whose prompt is another task's is refused (the model would be graded on a task it never saw)
    other = _row("medcalcbench/bmi/train/0/1")
    env = _make({**row, "prompt": other["prompt"]})
    with pytest.raises(IntegrationError, match="prompt"):
        env.init(other["prompt"])
    env.close()
    # code that tries to read hidden state gets nothing useful, and the episode still ends normally
    env = _make(row)
    try:
        env.init(row["prompt"])
        out = env.step(_act("execute_python", code="import os; print(sorted(os.environ)); print(globals().keys())"))
        assert "target" not in out["observations"][0]["content"].lower()
        out = env.step(_act("submit", answer=find_sample(SAMPLE_ID).target.value))
        assert out["reward"] == 1.0
    finally:
        env.close()


def test_evaluation_on_the_test_split_when_asked() -> None:
    (row,) = skyrl_rows(sample_ids=["medcalcbench/bmi/test/0/0"], split="test")
    env = _make(row, env_config={"split": "test"})
    try:
        env.init(row["prompt"])
        out = env.step(_act("submit", answer=find_sample(row["sample_id"]).target.value))
        assert out["done"] and out["reward"] == 1.0
    finally:
        env.close()


def test_closed_and_dropped_envs_leave_no_session() -> None:
    row = _row()
    before = _live_sessions()
    env = _make(row)
    env.init(row["prompt"])
    env.step(_act("execute_python", code="y = 2"))
    assert _live_sessions() == before + 1
    env.close()
    assert _live_sessions() == before

    dropped = _make(row)
    dropped.init(row["prompt"])
    dropped.step(_act("execute_python", code="y = 3"))
    assert _live_sessions() == before + 1
    del dropped  # SkyRL lost the trajectory without calling close()
    gc.collect()
    assert _live_sessions() == before

    # init twice on one env (a retried trajectory) keeps one session, not two
    env = _make(row)
    env.init(row["prompt"])
    env.step(_act("execute_python", code="z = 1"))
    env.init(row["prompt"])
    env.step(_act("execute_python", code="z = 2"))
    assert _live_sessions() == before + 1
    env.close()
    assert _live_sessions() == before
