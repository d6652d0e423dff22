"""Online GRPO against the live environment: the TRL rollout function, the tool environment, and
one end-to-end GRPO step.

A random tiny model never writes a valid action, so no sandbox session would ever open and every
group would score the same. The tests first *prime* a copy of the tiny model (a few dozen plain
torch steps) to answer the task with given JSON actions; sampling from it then runs real code in
the sandbox, and priming with a right and a wrong answer gives groups of mixed reward.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("datasets")

from medagentgym.integrations.trl import (  # noqa: E402
    MedAgentGymToolEnv,
    RolloutError,
    benchmark_reward,
    make_rollout_func,
    shaped_reward,
)

BMI = "medcalcbench/bmi/train/0/0"


@pytest.fixture(scope="module")
def bmi_sample(world_cache: Path) -> Any:
    from medagentgym.catalog.selection import find_sample

    return find_sample(BMI)


def _prompt(sample: Any) -> list[dict[str, str]]:
    from medagentgym.env.prompts import render_task, system_prompt

    return [
        {"role": "system", "content": system_prompt(sample)},
        {"role": "user", "content": render_task(sample, action_format="json")},
    ]


def _live_sessions(server: Any) -> int:
    return sum(1 for session in list(server._sessions) if session.alive)


def prime(
    model_dir: Path,
    out: Path,
    sample: Any,
    replies: list[str],
    steps: int = 60,
    lr: float = 1e-2,
    tools: list[Any] | None = None,
) -> Path:
    """Copy the tiny model and teach it to answer ``sample``'s prompt with one of ``replies``
    (with ``tools``: the prompt as TRL renders it for tool calls, the task in the user turn)."""
    import torch
    from transformers import AutoModelForCausalLM

    from medagentgym.training.models import load_tokenizer

    torch.set_num_threads(1)
    shutil.copytree(model_dir, out)
    tokenizer = load_tokenizer(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    messages = _prompt(sample)
    if tools is not None:
        from medagentgym.env.prompts import render_task

        messages[1]["content"] = render_task(sample, action_format="tools")
    prompt = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    batches = []
    for reply in replies:
        reply_ids = tokenizer(reply + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt_ids + reply_ids])
        labels = ids.clone()
        labels[0, : len(prompt_ids)] = -100
        batches.append((ids, labels))
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):  # every reply in every step: the model learns their mixture, not the last one
        loss = sum(model(input_ids=ids, labels=labels).loss for ids, labels in batches) / len(batches)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    print(f"primed {out.name}: final loss {loss.item():.3f}")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def python_model(tiny_model_dir: Path, bmi_sample: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model that answers the BMI task with an execute_python action (opens a session)."""
    out = tmp_path_factory.mktemp("primed") / "python"
    return prime(tiny_model_dir, out, bmi_sample, ['{"action": "execute_python", "code": "print(7)"}'])


def _trainer(model_dir: Path) -> Any:
    """What the rollout function reads from TRL's trainer: the model and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    from medagentgym.training.models import load_tokenizer

    torch.manual_seed(0)
    return SimpleNamespace(
        model=AutoModelForCausalLM.from_pretrained(model_dir), processing_class=load_tokenizer(model_dir, padding_side="left")
    )


def test_rollout_shapes_masks_and_closed_sessions(python_model: Path, bmi_sample: Any, sandbox_server: Any) -> None:
    trainer = _trainer(python_model)
    tokenizer = trainer.processing_class
    rollout = make_rollout_func(
        {bmi_sample.id: bmi_sample},
        num_generations=2,
        max_turns=2,
        max_new_tokens=24,
        temperature=0.7,
        sandbox=sandbox_server,
        shaped=True,
        max_observation_tokens=120,
    )
    before = _live_sessions(sandbox_server)
    prompt = _prompt(bmi_sample)
    started = time.perf_counter()
    out = rollout([prompt, prompt], trainer)  # TRL 1.16 passes each prompt num_generations times
    elapsed = time.perf_counter() - started
    assert elapsed < 60
    assert len(out["completion_ids"]) == 2 and out["sample_id"] == [BMI, BMI]
    for ids, mask, logprobs in zip(out["completion_ids"], out["env_mask"], out["logprobs"], strict=True):
        assert len(ids) == len(mask) == len(logprobs)
        assert mask[0] == 1 and 0 in mask  # the model speaks first; the observation follows
        observation = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m == 0])
        model_text = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m == 1])
        assert "stdout" in observation and "7" in observation, (model_text, observation)  # ran in the sandbox
        assert "stdout" not in model_text
        assert all(lp == 0.0 for lp, m in zip(logprobs, mask, strict=True) if m == 0)
        assert all(lp < 0.0 for lp, m in zip(logprobs, mask, strict=True) if m == 1)
    # the prompt ids are the chat-templated task with the generation prompt
    assert tokenizer.decode(out["prompt_ids"][0]).rstrip().endswith("assistant")
    # no submission: benchmark 0; shaping credits the parsed actions and the code that ran
    assert out["episode_reward"] == [0.0, 0.0]
    assert all(0.0 < s <= 0.2 for s in out["shaped_reward"])
    assert benchmark_reward(["", ""], episode_reward=out["episode_reward"]) == [0.0, 0.0]
    assert shaped_reward(["", ""], shaped_reward=out["shaped_reward"]) == out["shaped_reward"]
    assert set(out["status"]) == {"max_turns"}
    assert rollout.open_envs == 0 and _live_sessions(sandbox_server) == before
    summary = rollout.log.summary()
    assert summary["generations"] == 2 and summary["groups"] == 1


def test_distinct_prompts_get_num_generations_episodes_each(python_model: Path, bmi_sample: Any, sandbox_server: Any) -> None:
    rollout = make_rollout_func(
        {bmi_sample.id: bmi_sample}, num_generations=3, max_turns=1, max_new_tokens=16, temperature=1.0, sandbox=sandbox_server
    )
    out = rollout([_prompt(bmi_sample)], _trainer(python_model))
    assert len(out["completion_ids"]) == 3
    assert all(set(mask) == {1} for mask in out["env_mask"])  # one turn: no observation in the completion


def test_generation_that_raises_still_closes_sessions(python_model: Path, bmi_sample: Any, sandbox_server: Any) -> None:
    trainer = _trainer(python_model)
    real_generate = trainer.model.generate
    calls = []

    def fail_second_turn(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("out of memory (simulated)")
        return real_generate(*args, **kwargs)

    trainer.model.generate = fail_second_turn
    rollout = make_rollout_func(
        {bmi_sample.id: bmi_sample}, num_generations=2, max_turns=3, max_new_tokens=24, temperature=0.7, sandbox=sandbox_server
    )
    before = _live_sessions(sandbox_server)
    opened: list[Any] = []
    real_open = sandbox_server.open_session

    def counting_open(*args: Any, **kwargs: Any) -> Any:
        opened.append(real_open(*args, **kwargs))
        return opened[-1]

    sandbox_server.open_session = counting_open
    try:
        with pytest.raises(RuntimeError, match="simulated"):
            rollout([_prompt(bmi_sample)] * 2, trainer)
    finally:
        del sandbox_server.open_session
    assert opened, "the first turn should have opened sandbox sessions"
    assert not any(s.alive for s in opened)
    assert rollout.open_envs == 0 and _live_sessions(sandbox_server) == before


def test_unknown_prompt_and_test_split_are_refused(bmi_sample: Any, python_model: Path, sandbox_server: Any) -> None:
    rollout = make_rollout_func(
        {bmi_sample.id: bmi_sample}, num_generations=2, max_turns=1, max_new_tokens=8, temperature=1.0, sandbox=sandbox_server
    )
    with pytest.raises(RolloutError, match="not in the training set"):
        rollout([[{"role": "user", "content": "an unknown task"}]] * 2, _trainer(python_model))
    test_sample = bmi_sample.model_copy(update={"split": "test", "id": "medcalcbench/bmi/test/0/0"})
    with pytest.raises(RolloutError, match="only 'train' samples"):
        make_rollout_func({test_sample.id: test_sample}, num_generations=2, max_turns=1, max_new_tokens=8, temperature=1.0)


def test_tool_env_methods_are_trl_tools_and_rewards_are_the_benchmark(bmi_sample: Any, sandbox_server: Any) -> None:
    import inspect

    from transformers.utils import get_json_schema

    tools = [
        name
        for name, _ in inspect.getmembers(MedAgentGymToolEnv, predicate=inspect.isfunction)
        if name not in ("reset", "get_reward") and not name.startswith("_")
    ]
    assert {"list_tables", "describe_table", "execute_python", "execute_sql", "submit"} <= set(tools)
    env = MedAgentGymToolEnv({bmi_sample.id: bmi_sample}, sandbox=sandbox_server)
    for name in tools:
        schema = get_json_schema(getattr(env, name))
        assert schema["function"]["name"] == name and schema["function"]["description"]
    assert "answer" in get_json_schema(env.submit)["function"]["parameters"]["required"]

    before = _live_sessions(sandbox_server)
    task = env.reset(prompt=[], sample_id=bmi_sample.id)
    assert bmi_sample.prompt.strip()[:40] in task and "submit" in task
    assert "[ok" in env.execute_python("x = 7\nprint(x)")
    assert _live_sessions(sandbox_server) == before + 1
    assert "submitted" in env.submit(answer=bmi_sample.target.value)
    assert "over" in env.execute_python("print(1)")
    assert env.get_reward() == 1.0
    assert shaped_reward([""], environments=[env])[0] == pytest.approx(0.2)  # parsed, ran, submitted
    assert _live_sessions(sandbox_server) == before

    env.reset(sample_id=bmi_sample.id)  # the same instance is reused by TRL's pool
    assert "[ok" in env.execute_python("print(1)")
    env.submit(answer=-1)
    assert env.get_reward() == 0.0 and benchmark_reward([""], environments=[env]) == [0.0]

    env.reset(sample_id=bmi_sample.id)
    env.execute_python("print(2)")  # never submits: reward 0, and get_reward closes the session
    assert env.get_reward() == 0.0
    assert _live_sessions(sandbox_server) == before
    with pytest.raises(RolloutError, match="sample_id"):
        env.reset(prompt=[])


@pytest.mark.slow
def test_grpo_step_end_to_end_with_mixed_groups(
    tiny_model_dir: Path, bmi_sample: Any, tmp_path: Path, world_cache: Path
) -> None:
    """One GRPO step through ``trainers.train`` on a model primed to submit a right or a wrong
    answer: groups score mixed benchmark rewards, the loss is computed from them, and the model
    is saved where the transformers policy loads it."""
    import json

    from medagentgym.training.config import GRPOSettings, TrainConfig
    from medagentgym.training.trainers import train

    right = json.dumps({"action": "submit", "answer": bmi_sample.target.value})
    wrong = json.dumps({"action": "submit", "answer": 12})
    model = prime(tiny_model_dir, tmp_path / "primed", bmi_sample, [right, wrong], steps=120, lr=3e-3)
    config = TrainConfig(
        kind="grpo",
        model=str(model),
        output_dir=str(tmp_path / "run"),
        max_steps=1,
        batch_size=4,
        learning_rate=1e-3,
        lora=None,
        grpo=GRPOSettings(
            datasets=["medcalcbench"],
            categories=["bmi"],
            limit_per_category=1,
            num_generations=4,
            max_turns=2,
            max_new_tokens=32,
            shaped_reward=True,
        ),
    )
    started = time.perf_counter()
    result = train(config)
    seconds = time.perf_counter() - started
    assert result.status == "ok" and result.steps == 1
    assert result.data["groups"] >= 1 and result.data["groups_mixed"] >= 1
    assert result.data["successes"] >= 1
    logged = [entry for entry in json.loads((tmp_path / "run" / "log_history.json").read_text()) if "loss" in entry]
    assert logged and logged[0]["loss"] != 0.0 and logged[0]["grad_norm"] > 0.0
    assert "rewards/benchmark_reward/mean" in logged[0] and "rewards/shaped_reward/mean" in logged[0]
    assert (tmp_path / "run" / "model" / "config.json").exists()
    print(f"GRPO step (tiny model, 4 episodes x 2 turns): {seconds:.1f} s, data {result.data}")


@pytest.mark.slow
def test_grpo_step_with_tool_calls_through_environment_factory(
    tiny_model_dir: Path, bmi_sample: Any, tmp_path: Path, world_cache: Path
) -> None:
    """The tools path end to end: TRL's own tool-calling loop calls ``MedAgentGymToolEnv``'s
    methods, ``get_reward`` scores each rollout, and a group of right and wrong submissions gives a
    non-zero loss."""
    import inspect
    import json

    from medagentgym.training.config import GRPOSettings, TrainConfig
    from medagentgym.training.trainers import train

    def call(answer: Any) -> str:
        body = json.dumps({"name": "submit", "arguments": {"answer": answer}})
        return f"<tool_call>\n{body}\n</tool_call>"

    from medagentgym.integrations.trl import MedAgentGymToolEnv

    env = MedAgentGymToolEnv({bmi_sample.id: bmi_sample})
    members = inspect.getmembers(type(env), predicate=inspect.isfunction)  # what TRL offers as tools
    tools = [getattr(env, n) for n, _ in members if not n.startswith("_") and n not in ("reset", "get_reward")]
    replies = [call(bmi_sample.target.value), call(12)]
    model = prime(tiny_model_dir, tmp_path / "primed", bmi_sample, replies, steps=120, lr=3e-3, tools=tools)
    config = TrainConfig(
        kind="grpo",
        model=str(model),
        output_dir=str(tmp_path / "run"),
        max_steps=1,
        batch_size=4,
        learning_rate=1e-3,
        lora=None,
        grpo=GRPOSettings(
            datasets=["medcalcbench"],
            categories=["bmi"],
            limit_per_category=1,
            num_generations=4,
            max_turns=2,
            max_new_tokens=48,
            action_format="tools",
        ),
    )
    result = train(config)
    assert result.status == "ok" and result.steps == 1
    logged = [entry for entry in json.loads((tmp_path / "run" / "log_history.json").read_text()) if "loss" in entry]
    assert logged and "rewards/MedAgentGymToolEnv/mean" in logged[0], logged
    assert logged[0]["tools/call_frequency"] > 0, logged[0]
    assert 0.0 < logged[0]["rewards/MedAgentGymToolEnv/mean"] < 1.0, logged[0]
    assert logged[0]["loss"] != 0.0
