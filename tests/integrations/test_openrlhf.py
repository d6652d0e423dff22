"""The OpenRLHF agent adapter (``integrations.openrlhf``) against OpenRLHF 0.11.2's agent interface.

The fakes follow ``openrlhf/utils/agent.py`` and ``openrlhf/trainer/ray/vllm_engine.py`` of
OpenRLHF 0.11.2: the executor is awaited as ``execute(prompt, label, sampling_params, max_length,
hf_tokenizer, llm_engine, images)``; ``llm_engine.generate(prompt_token_ids, sampling_params,
multi_modal_data=None)`` returns a vLLM ``RequestOutput`` whose ``outputs[0]`` has ``token_ids``,
``text`` (decoded with special tokens: OpenRLHF's default ``skip_special_tokens=False``),
``finish_reason`` and ``logprobs`` (one ``{token_id: Logprob}`` map per position). Its
``MultiTurnAgentExecutor`` creates the instance without arguments, calls ``reset({"observation":
prompt, "label": label})``, then for each reply sets ``sampling_params.max_tokens`` to the rest of
``max_length``, calls ``step({"observation_text", "action_text", "label", "sampling_params"})``,
calls ``.item()`` on ``rewards`` and appends the tokenised ``environment_feedback``. ``drive``
below plays that contract; where openrlhf is importable the real ``MultiTurnAgentExecutor`` runs
the same test. The tokenizer is a real one (``tiny_model_dir``), so ids and spans are real.
"""

from __future__ import annotations

import asyncio
import copy
import json
from types import SimpleNamespace
from typing import Any

import pytest

from medagentgym.integrations import openrlhf as adapter
from medagentgym.integrations import tokens as tokens_module
from medagentgym.integrations.common import ChatTurns, Episode, IntegrationError, encode

SAMPLE_ID = "medcalcbench/bmi/train/0/0"
PYTHON = json.dumps({"action": "execute_python", "code": "print(6 * 7)"})


def submit(value: Any) -> str:
    return json.dumps({"action": "submit", "answer": value})


class Params:
    """The parts of vLLM ``SamplingParams`` the executors touch."""

    def __init__(self, max_tokens: int | None = None, logprobs: int | None = 1) -> None:
        self.max_tokens = max_tokens
        self.logprobs = logprobs


class ScriptedEngine:
    """An OpenRLHF rollout engine replying with scripted texts (closed by EOS unless open-ended)."""

    def __init__(self, tokenizer: Any, replies: list[str], *, open_ended: bool = False, fail_at: int | None = None):
        self.tokenizer = tokenizer
        self.replies = list(replies)
        self.open_ended = open_ended
        self.fail_at = fail_at
        self.calls: list[dict[str, Any]] = []

    async def generate(self, prompt_token_ids: list[int], sampling_params: Any, multi_modal_data: Any = None) -> Any:
        index = len(self.calls)
        self.calls.append({"prompt_ids": list(prompt_token_ids), "max_tokens": sampling_params.max_tokens})
        if self.fail_at is not None and index >= self.fail_at:
            raise RuntimeError("vLLM engine died")
        ids = encode(self.tokenizer, self.replies[min(index, len(self.replies) - 1)])
        if not self.open_ended:
            ids.append(self.tokenizer.eos_token_id)
        finish = "stop"
        if len(ids) >= sampling_params.max_tokens:
            ids, finish = ids[: sampling_params.max_tokens], "length"
        self.calls[-1]["reply"] = ids
        logprobs = [{t: SimpleNamespace(logprob=-0.5 - 0.01 * j)} for j, t in enumerate(ids)]
        text = self.tokenizer.decode(ids, skip_special_tokens=False)
        return SimpleNamespace(
            outputs=[SimpleNamespace(token_ids=ids, text=text, finish_reason=finish, logprobs=logprobs)]
        )


def execute(
    engine: ScriptedEngine, tokenizer: Any, *, max_length: int = 8192, label: str = SAMPLE_ID, **options: Any
) -> dict:
    executor = adapter.make_agent_executor(**options)()
    params = Params()
    result = asyncio.run(executor.execute("<dataset prompt>", label, params, max_length, tokenizer, engine))
    assert params.max_tokens is None  # the caller's shared params are never changed
    return result


def spans_text(result: dict, tokenizer: Any) -> list[list[int]]:
    tokens = result["observation_tokens"]
    return [tokens[a:b] for a, b in result["action_ranges"]]


# -- the token-level AgentExecutor ------------------------------------------------------------


def test_executor_right_answer_scores_one_with_exact_spans(
    tokenizer: Any, sample: Any, episodes: list[Episode]
) -> None:
    engine = ScriptedEngine(tokenizer, [PYTHON, submit(sample.target.value)])
    result = execute(engine, tokenizer)

    assert result["reward"] == result["scores"] == 1.0
    assert result["extra_logs"]["medagentgym/benchmark_reward"] == 1.0
    assert spans_text(result, tokenizer) == [call["reply"] for call in engine.calls]
    tokens = result["observation_tokens"]
    prompt = ChatTurns(tokenizer).prompt_ids(episodes[0].messages)
    assert tokens[: len(prompt)] == prompt == engine.calls[0]["prompt_ids"]
    (a0, b0), (a1, b1) = result["action_ranges"]
    feedback = tokenizer.decode(tokens[b0:a1])
    assert feedback.startswith("\n<|im_start|>user\n") and feedback.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert "42" in feedback
    assert engine.calls[1]["prompt_ids"] == tokens[:a1]
    logprobs = result["rollout_log_probs"]
    assert len(logprobs) == len(tokens)
    assert logprobs[a1:b1] == [-0.5 - 0.01 * j for j in range(b1 - a1)]
    assert all(v == 0.0 for v in logprobs[:a0] + logprobs[b0:a1])
    assert result["truncated"] is False and result["label"] == SAMPLE_ID
    assert not episodes[0]._finalizer.alive


def test_executor_wrong_answer_scores_zero(tokenizer: Any, sample: Any, episodes: list[Episode]) -> None:
    result = execute(ScriptedEngine(tokenizer, [submit(float(sample.target.value) + 40)]), tokenizer)
    assert result["reward"] == 0.0 and result["extra_logs"]["medagentgym/submitted"] == 1.0
    assert not episodes[0]._finalizer.alive


def test_executor_length_budget_stops_cleanly(tokenizer: Any, episodes: list[Episode]) -> None:
    rambling = "Let me think about the weight and the height of this patient once more. " * 40
    engine = ScriptedEngine(tokenizer, [rambling], open_ended=True)
    result = execute(engine, tokenizer, max_length=4000, max_turn_tokens=150)
    prompt_len = result["action_ranges"][0][0]
    assert len(result["observation_tokens"]) <= 4000
    assert all(call["max_tokens"] <= 150 for call in engine.calls)
    assert result["truncated"] is True and result["reward"] == 0.0
    assert result["extra_logs"]["medagentgym/max_length"] == 1.0
    assert len(engine.calls) >= 2 and prompt_len > 0
    assert not episodes[0]._finalizer.alive


def test_executor_engine_failure_closes_the_episode(tokenizer: Any, episodes: list[Episode]) -> None:
    with pytest.raises(RuntimeError, match="engine died"):
        execute(ScriptedEngine(tokenizer, [PYTHON], fail_at=1), tokenizer)
    assert len(episodes) == 1 and not episodes[0]._finalizer.alive


def test_executor_infra_failure_is_flagged_not_scored(
    tokenizer: Any, sample: Any, episodes: list[Episode], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Episode, action: Any) -> Any:
        raise OSError("sandbox lost")

    monkeypatch.setattr(Episode, "aact", broken)
    result = execute(ScriptedEngine(tokenizer, [submit(sample.target.value)]), tokenizer)
    assert result["reward"] == 0.0 and result["extra_logs"]["medagentgym/infra_error"] == 1.0
    assert not episodes[0]._finalizer.alive


def test_executor_refuses_bad_labels_and_recovers(tokenizer: Any, sample: Any, episodes: list[Episode]) -> None:
    engine = ScriptedEngine(tokenizer, [submit(sample.target.value)])
    for label, message in [
        ("", "label"),
        (None, "label"),
        ("medcalcbench/bmi/test/0/0", "split"),
        ("x/../y", "unknown"),
    ]:
        with pytest.raises(IntegrationError, match=message):
            execute(engine, tokenizer, label=label)
    assert all(not e._finalizer.alive for e in episodes)
    assert execute(engine, tokenizer)["reward"] == 1.0


def test_nothing_returned_holds_the_target(tokenizer: Any, sample: Any) -> None:
    result = execute(ScriptedEngine(tokenizer, [PYTHON, submit(sample.target.value)]), tokenizer)
    visible = dict(result)
    for key in ("reward", "scores", "extra_logs"):
        visible.pop(key)
    tokens = result["observation_tokens"]
    model = {i for a, b in result["action_ranges"] for i in range(a, b)}
    text = json.dumps({k: v for k, v in visible.items() if k != "observation_tokens"}) + tokenizer.decode(
        [t for i, t in enumerate(tokens) if i not in model]
    )
    assert str(sample.target.value) not in text
    row = adapter.dataset_row(sample)
    assert row["label"] == SAMPLE_ID and str(sample.target.value) not in json.dumps(row)


# -- the per-step AgentInstance under OpenRLHF's multi-turn loop ------------------------------


async def drive(
    instance_cls: type, prompt: str, label: str, params: Any, max_length: int, tokenizer: Any, engine: Any
) -> dict:
    """OpenRLHF 0.11.2's multi-turn contract (see the module docstring), text only."""
    instance = instance_cls()
    text = (await instance.reset({"observation": prompt, "label": label}))["observation"]
    tokens = encode(tokenizer, text)
    ranges, reward, logs = [], 0.0, {}
    while True:
        params.max_tokens = max_length - len(tokens)
        if params.max_tokens <= 0:
            break
        output = (await engine.generate(tokens, copy.deepcopy(params))).outputs[0]
        ranges.append((len(tokens), len(tokens) + len(output.token_ids)))
        states = {"observation_text": text, "action_text": output.text, "label": label, "sampling_params": params}
        result = await instance.step(states)
        reward += result["rewards"].item()
        logs = result["extra_logs"]
        text += output.text + result["environment_feedback"]
        tokens = tokens + list(output.token_ids) + encode(tokenizer, result["environment_feedback"])
        if result["done"]:
            break
    return {"observation_tokens": tokens, "action_ranges": ranges, "reward": reward, "extra_logs": logs}


def _runner(kind: str) -> Any:
    if kind == "stand-in":
        return drive
    if not adapter.OPENRLHF_AVAILABLE:
        pytest.skip("openrlhf is not installed")
    from openrlhf.utils.agent import MultiTurnAgentExecutor

    async def real(instance_cls: type, *args: Any) -> dict:
        return await MultiTurnAgentExecutor(instance_cls).execute(*args)

    return real


@pytest.mark.parametrize("kind", ["stand-in", "openrlhf"])
def test_instance_matches_the_executor_token_for_token(
    kind: str, tokenizer: Any, sample: Any, episodes: list[Episode]
) -> None:
    run = _runner(kind)
    # a reply that is not an action: its observation is the same text every time (code runs
    # report their duration, which would differ between the two episodes compared here)
    replies = ["Let me work out the BMI first.", submit(sample.target.value)]
    cls = adapter.make_agent_instance(tokenizer)
    got = asyncio.run(
        run(cls, "<dataset prompt>", SAMPLE_ID, Params(), 8192, tokenizer, ScriptedEngine(tokenizer, replies))
    )
    want = execute(ScriptedEngine(tokenizer, replies), tokenizer)
    assert got["reward"] == 1.0
    assert got["observation_tokens"] == want["observation_tokens"]
    assert [tuple(r) for r in got["action_ranges"]] == want["action_ranges"]
    assert got["extra_logs"] == want["extra_logs"]
    assert all(not e._finalizer.alive for e in episodes)


@pytest.mark.parametrize("kind", ["stand-in", "openrlhf"])
def test_instance_wrong_answer_and_length_budget(
    kind: str, tokenizer: Any, sample: Any, episodes: list[Episode]
) -> None:
    run = _runner(kind)
    cls = adapter.make_agent_instance(tokenizer)
    wrong = asyncio.run(
        run(
            cls,
            "p",
            SAMPLE_ID,
            Params(),
            8192,
            tokenizer,
            ScriptedEngine(tokenizer, [submit(float(sample.target.value) + 9)]),
        )
    )
    assert wrong["reward"] == 0.0
    rambling = "Still weighing the options for this patient. " * 200
    engine = ScriptedEngine(tokenizer, [rambling], open_ended=True)
    long = asyncio.run(run(cls, "p", SAMPLE_ID, Params(), 3000, tokenizer, engine))
    assert len(long["observation_tokens"]) <= 3000
    assert long["reward"] == 0.0 and long["extra_logs"]["medagentgym/max_length"] == 1.0
    assert all(not e._finalizer.alive for e in episodes)


def test_instance_needs_a_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(adapter.TOKENIZER_ENV, raising=False)
    with pytest.raises(IntegrationError, match="tokenizer"):
        adapter.AgentInstance()


def test_classes_subclass_the_bases_of_the_import_path() -> None:
    if adapter.OPENRLHF_AVAILABLE:
        from openrlhf.utils.agent import AgentExecutorBase, AgentInstanceBase

        assert issubclass(adapter.AgentExecutor, AgentExecutorBase)
        assert issubclass(adapter.make_agent_executor(max_turns=3), AgentExecutorBase)
        assert issubclass(adapter.AgentInstance, AgentInstanceBase)
    else:
        assert adapter.AgentExecutor.__mro__[1].__module__ == "medagentgym.integrations.openrlhf"
    with pytest.raises(ValueError):
        adapter.make_agent_executor(env_config={"max_turns": "many"})


@pytest.mark.parametrize("kind", ["stand-in", "openrlhf"])
def test_instance_episode_is_closed_when_the_engine_raises(
    kind: str, tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenRLHF's loop drops the instance when generation raises; the episode's finalizer closes it."""
    import gc

    run = _runner(kind)
    finalizers: list[Any] = []
    original = tokens_module.Episode

    def track(*args: Any, **kwargs: Any) -> Episode:
        episode = original(*args, **kwargs)
        finalizers.append(episode._finalizer)  # not the episode: it must be free to be collected
        return episode

    monkeypatch.setattr(tokens_module, "Episode", track)
    engine = ScriptedEngine(tokenizer, [PYTHON], fail_at=1)
    with pytest.raises(RuntimeError, match="engine died"):
        asyncio.run(run(adapter.make_agent_instance(tokenizer), "p", SAMPLE_ID, Params(), 8192, tokenizer, engine))
    gc.collect()
    assert len(finalizers) == 1 and not finalizers[0].alive
