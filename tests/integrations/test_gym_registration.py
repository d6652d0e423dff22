"""gymnasium registration, the opening messages of reset, the shared sandbox server, async steps."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import medagentgym.env  # noqa: F401  (registers the ids)
from medagentgym.catalog.registry import dataset_names
from medagentgym.catalog.selection import find_sample
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.env.registration import (
    BUILTIN_DATASETS,
    ENV_ID,
    dataset_env_id,
)
from medagentgym.sandbox import shared_server

SAMPLE_ID = "medcalcbench/bmi/train/0/0"


def test_builtin_dataset_ids_match_the_registry() -> None:
    assert tuple(dataset_names()) == BUILTIN_DATASETS
    for name in BUILTIN_DATASETS:
        assert dataset_env_id(name) in gymnasium.registry
    assert ENV_ID in gymnasium.registry


def test_make_passes_check_env_and_reset_gives_the_opening_messages() -> None:
    env = gymnasium.make(ENV_ID, dataset="medcalcbench", category="bmi", limit_per_category=5)
    try:
        check_env(env.unwrapped, skip_render_check=True)
        task, info = env.reset(seed=7)
        again, again_info = env.reset(seed=7)
        assert (task, info["sample_id"]) == (again, again_info["sample_id"])  # the seed picks the sample
        roles = [m["role"] for m in info["messages"]]
        assert roles == ["system", "user"] and info["messages"][1]["content"] == task
        assert "clinician" in info["messages"][0]["content"]  # the dataset family's system prompt
        assert "tools" not in info
        sample = find_sample(info["sample_id"])
        assert sample.split == "test" and sample.category == "bmi"
        observation, reward, terminated, truncated, step_info = env.step(
            json.dumps({"action": "submit", "answer": sample.target.value})
        )
        assert (reward, terminated, truncated) == (1.0, True, False)
        assert step_info["status"] == "ok"
    finally:
        env.close()


def test_module_prefixed_id_and_per_dataset_id_with_tools() -> None:
    env = gymnasium.make("medagentgym:MedAgentGym/medcalcbench-v0", action_format="tools", split="train")
    try:
        _, info = env.reset(options={"sample_id": SAMPLE_ID})
        assert info["sample_id"] == SAMPLE_ID
        assert {t["function"]["name"] for t in info["tools"]} >= {"execute_python", "submit"}
        observation, *_ = env.step(
            [{"id": "c1", "type": "function", "function": {"name": "execute_python", "arguments": '{"code": "print(6*7)"}'}}]
        )
        assert "42" in observation
    finally:
        env.close()


@pytest.mark.parametrize(
    "script",
    [
        "import gymnasium as g; import medagentgym; g.make('MedAgentGym-v0', dataset='medcalcbench')",
        "import gymnasium as g; g.make('medagentgym:MedAgentGym/medcalcbench-v0')",
        # the package imported before gymnasium: the env module's form still registers
        "import medagentgym.catalog; import gymnasium as g; g.make('medagentgym.env:MedAgentGym-v0', dataset='npowerai')",
        "from medagentgym.env import MedAgentEnv; import gymnasium as g; g.make('MedAgentGym-v0', dataset='eicu')",
    ],
)
def test_the_ids_resolve_in_a_fresh_interpreter(script: str) -> None:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "medcalcbench", "category": "bmj"}, "unknown category 'bmj' in medcalcbench"),
        ({"dataset": "nope"}, "unknown dataset"),
        ({"dataset": "medcalcbench", "split": "dev"}, "unknown split"),
    ],
)
def test_bad_selection_is_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, KeyError), match=message):
        gymnasium.make(ENV_ID, **kwargs)


def test_reset_by_sample_id_does_not_generate_the_whole_selection() -> None:
    env = gymnasium.make(ENV_ID, dataset="medcalcbench", split="train")
    try:
        _, info = env.reset(options={"sample_id": SAMPLE_ID})
        assert info["sample_id"] == SAMPLE_ID
        assert env.unwrapped.samples._samples is None  # still lazy: looked up by regeneration
    finally:
        env.close()


def test_reset_by_unknown_sample_id_is_a_clear_error() -> None:
    env = MedAgentEnv()
    with pytest.raises(ValueError, match="unknown sample"):
        env.reset(options={"sample_id": "medcalcbench/bmi/train/0/abc"})
    with pytest.raises(ValueError, match="unknown sample"):
        env.reset(options={"sample_id": "../../etc/passwd"})
    env.close()


def test_envs_share_one_sandbox_server_and_closing_one_leaves_the_others() -> None:
    first, second = MedAgentEnv(), MedAgentEnv()
    try:
        assert first.sandbox is second.sandbox is shared_server()
        first.reset(options={"sample_id": SAMPLE_ID})
        second.reset(options={"sample_id": SAMPLE_ID})
        first.step({"action": "execute_python", "code": "x = 1"})
        first.close()
        observation, *_ = second.step({"action": "execute_python", "code": "print('still here')"})
        assert "still here" in observation
        assert shared_server().running
    finally:
        second.close()


def test_a_closed_shared_server_is_replaced() -> None:
    server = shared_server()
    server.close()
    env = MedAgentEnv()
    try:
        assert env.sandbox is not server and not env.sandbox.closed
        env.reset(options={"sample_id": SAMPLE_ID})
        observation, *_ = env.step({"action": "execute_python", "code": "print(2 + 2)"})
        assert "4" in observation
    finally:
        env.close()


def test_areset_and_astep_run_episodes_concurrently() -> None:
    sample = find_sample(SAMPLE_ID)

    async def episode(answer: object) -> float:
        env = MedAgentEnv(config=EnvConfig(max_turns=3))
        try:
            await env.areset(options={"sample": sample})
            await env.astep({"action": "execute_python", "code": "import time; time.sleep(0.2)"})
            _, reward, terminated, _, _ = await env.astep({"action": "submit", "answer": answer})
            assert terminated
            return reward
        finally:
            env.close()

    async def main() -> list[float]:
        return await asyncio.gather(episode(sample.target.value), episode(-1), episode(sample.target.value))

    assert asyncio.run(main()) == [1.0, 0.0, 1.0]
