"""The verl agent loop (``integrations.verl``) against verl 0.9.1's documented agent-loop interface.

The fake server manager follows ``verl/experimental/agent_loop/agent_loop.py`` and
``verl/workers/rollout/llm_server.py`` of verl 0.9.1: ``await generate(request_id=...,
prompt_ids=[...], sampling_params={...})`` returns a ``TokenOutput`` with ``token_ids``,
``log_probs`` and ``stop_reason`` ("completed" for both an end-of-sequence stop and a length cut);
``sampling_params["max_tokens"]`` caps one request. The loop is constructed with the keyword
arguments verl's ``AgentLoopWorker`` passes (trainer_config, server_manager, tokenizer, processor,
dataset_cls, data_config, tools). When verl is importable the same tests run against its real
``AgentLoopBase``; the tokenizer is a real one (the ``tiny_model_dir`` fixture), so ids and masks
are real.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from medagentgym.catalog.selection import find_sample
from medagentgym.integrations import verl as verl_adapter
from medagentgym.integrations.common import ChatTurns, IntegrationError, encode

SAMPLE_ID = "medcalcbench/bmi/train/0/0"


class _Wrap:
    """verl's ``DictConfigWrap``: an object whose ``.config`` is the config."""

    def __init__(self, config: Any) -> None:
        self.config = config


class ScriptedServer:
    """A verl server manager that replies with scripted texts (each closed by EOS unless ``open``)."""

    def __init__(self, tokenizer: Any, replies: list[str], *, open_ended: bool = False, fail_at: int | None = None):
        self.tokenizer = tokenizer
        self.replies = list(replies)
        self.open_ended = open_ended
        self.fail_at = fail_at
        self.calls: list[dict[str, Any]] = []

    async def generate(self, *, request_id: str, prompt_ids: list[int], sampling_params: dict[str, Any], **kwargs: Any):
        index = len(self.calls)
        self.calls.append(
            {"request_id": request_id, "prompt_ids": list(prompt_ids), "sampling_params": dict(sampling_params)}
        )
        if self.fail_at is not None and index >= self.fail_at:
            raise RuntimeError("generation server went away")
        text = self.replies[min(index, len(self.replies) - 1)]
        ids = encode(self.tokenizer, text)
        if not self.open_ended:
            ids.append(self.tokenizer.eos_token_id)
        ids = ids[: sampling_params["max_tokens"]]
        self.calls[-1]["reply"] = ids
        logprobs = [-0.25 - 0.001 * j for j in range(len(ids))]
        return SimpleNamespace(
            token_ids=ids, log_probs=logprobs, stop_reason="completed", num_preempted=0, extra_fields={}
        )


def make_loop(tokenizer: Any, server: ScriptedServer, *, response_length: int = 2048, **options: Any) -> Any:
    from omegaconf import OmegaConf

    config = OmegaConf.create(
        {
            "actor_rollout_ref": {
                "rollout": {
                    "prompt_length": 16384,
                    "response_length": response_length,
                    "multi_turn": {"max_assistant_turns": None},
                }
            },
            "data": {"apply_chat_template_kwargs": {}},
        }
    )
    return verl_adapter.MedAgentGymAgentLoop(
        trainer_config=_Wrap(config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        dataset_cls=None,
        data_config=_Wrap(config.data),
        tools=None,
        **options,
    )


def play(loop: Any, sample_id: str = SAMPLE_ID, **row: Any) -> Any:
    row.setdefault("extra_info", {"sample_id": sample_id, "index": 0})
    row.setdefault("raw_prompt", [{"role": "user", "content": "placeholder"}])
    return asyncio.run(loop.run({"temperature": 1.0, "top_p": 1.0, "logprobs": True}, **row))


def submit(value: Any) -> str:
    return json.dumps({"action": "submit", "answer": value})


PYTHON = json.dumps({"action": "execute_python", "code": "print(6 * 7)"})


def model_spans(mask: list[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for i, flag in enumerate(mask):
        if flag and spans and spans[-1][1] == i:
            spans[-1] = (spans[-1][0], i + 1)
        elif flag:
            spans.append((i, i + 1))
    return spans


def test_right_answer_scores_one_with_exact_masks(tokenizer: Any, sample: Any, episodes: list[Any]) -> None:
    server = ScriptedServer(tokenizer, [PYTHON, submit(sample.target.value)])
    out = play(make_loop(tokenizer, server))

    assert out.reward_score == 1.0
    assert out.extra_fields["medagentgym"]["status"] == "ok"
    assert len(out.response_ids) == len(out.response_mask) == len(out.response_logprobs)
    # the mask is 1 exactly on the two replies the server sampled, in order
    spans = model_spans(out.response_mask)
    assert [out.response_ids[a:b] for a, b in spans] == [call["reply"] for call in server.calls]
    assert [out.response_logprobs[a:b] for a, b in spans] == [
        [-0.25 - 0.001 * j for j in range(b - a)] for a, b in spans
    ]
    assert all(v == 0.0 for v, m in zip(out.response_logprobs, out.response_mask, strict=True) if not m)
    # the tokens between the replies are the template's user turn carrying the observation
    between = out.response_ids[spans[0][1] : spans[1][0]]
    text = tokenizer.decode(between)
    assert text.startswith("\n<|im_start|>user\n") and text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert "42" in text
    observation = text[len("\n<|im_start|>user\n") : -len("<|im_end|>\n<|im_start|>assistant\n")]
    assert between == ChatTurns(tokenizer).observation_ids(observation, ended=True)
    # the second request was conditioned on exactly prompt + reply + observation, under one request id
    assert server.calls[1]["prompt_ids"] == out.prompt_ids + out.response_ids[: spans[1][0]]
    assert len({call["request_id"] for call in server.calls}) == 1
    assert out.prompt_ids == ChatTurns(tokenizer).prompt_ids(episodes[0].messages)
    assert out.num_turns == 4
    assert len(episodes) == 1 and not episodes[0]._finalizer.alive


def test_wrong_answer_scores_zero(tokenizer: Any, sample: Any, episodes: list[Any]) -> None:
    server = ScriptedServer(tokenizer, [submit(float(sample.target.value) * 3 + 50)])
    out = play(make_loop(tokenizer, server))

    assert out.reward_score == 0.0
    assert out.extra_fields["medagentgym"]["submitted"] is True
    assert out.response_mask == [1] * len(out.response_ids)
    assert not episodes[0]._finalizer.alive


def test_length_budget_stops_cleanly(tokenizer: Any, episodes: list[Any]) -> None:
    rambling = "I am still thinking about the height and the weight of this patient. " * 40
    server = ScriptedServer(tokenizer, [rambling], open_ended=True)
    out = play(make_loop(tokenizer, server, response_length=300, max_turn_tokens=120))

    assert len(out.response_ids) <= 300
    assert all(call["sampling_params"]["max_tokens"] <= 120 for call in server.calls)
    assert out.reward_score == 0.0
    assert out.extra_fields["medagentgym"]["status"] == "max_length"
    # a reply cut by its budget gets the template's closing token before the observation
    first_gap = out.response_mask.index(0)
    assert out.response_ids[first_gap] == tokenizer.eos_token_id
    assert not episodes[0]._finalizer.alive


def test_generation_failure_closes_the_episode(tokenizer: Any, episodes: list[Any]) -> None:
    server = ScriptedServer(tokenizer, [PYTHON], fail_at=1)
    with pytest.raises(RuntimeError, match="went away"):
        play(make_loop(tokenizer, server))
    assert len(episodes) == 1 and not episodes[0]._finalizer.alive


def test_bad_rows_are_refused_and_the_next_episode_is_unaffected(
    tokenizer: Any, sample: Any, episodes: list[Any]
) -> None:
    server = ScriptedServer(tokenizer, [submit(sample.target.value)])
    loop = make_loop(tokenizer, server)
    with pytest.raises(IntegrationError, match="sample_id"):
        play(loop, extra_info={"index": 3})
    with pytest.raises(IntegrationError, match="split"):
        play(loop, "medcalcbench/bmi/test/0/0")
    with pytest.raises(IntegrationError, match="unknown sample"):
        play(loop, "medcalcbench/../../etc/passwd/0")
    assert all(not episode._finalizer.alive for episode in episodes)
    assert play(loop).reward_score == 1.0


def test_nothing_returned_holds_the_target(tokenizer: Any, sample: Any) -> None:
    server = ScriptedServer(tokenizer, [PYTHON, submit(sample.target.value)])
    out = play(make_loop(tokenizer, server))
    dump = out.model_dump()
    dump.pop("reward_score")
    response = tokenizer.decode([t for t, m in zip(out.response_ids, out.response_mask, strict=True) if not m])
    visible = json.dumps(dump, default=str) + tokenizer.decode(out.prompt_ids) + response
    assert sample.solution is None or sample.solution.code not in visible
    assert f'"answer": {sample.target.value}' not in visible.replace(submit(sample.target.value), "")
    row = verl_adapter.dataset_row(sample, 5)
    assert str(sample.target.value) not in json.dumps(row)
    assert row["extra_info"] == {"sample_id": SAMPLE_ID, "index": 5, "split": "train"}
    assert row["agent_name"] == "medagentgym" and row["reward_model"]["ground_truth"] == ""


def test_infra_failure_is_flagged_not_scored(
    tokenizer: Any, sample: Any, episodes: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from medagentgym.integrations.common import Episode

    async def broken(self: Any, action: Any) -> Any:
        raise OSError("sandbox lost")

    monkeypatch.setattr(Episode, "aact", broken)
    out = play(make_loop(tokenizer, ScriptedServer(tokenizer, [submit(sample.target.value)])))
    assert out.reward_score == 0.0
    assert out.extra_fields["medagentgym"]["infra_error"] is True
    assert out.extra_fields["medagentgym"]["status"] == "infra_error"
    assert not episodes[0]._finalizer.alive


@pytest.mark.skipif(not verl_adapter.VERL_AVAILABLE, reason="verl is not installed")
def test_output_converts_with_verl(tokenizer: Any, sample: Any) -> None:
    out = play(make_loop(tokenizer, ScriptedServer(tokenizer, [PYTHON, submit(sample.target.value)])))
    tensors = out.as_dict()
    assert tensors["responses"].tolist() == out.response_ids
    assert tensors["response_mask"].tolist() == out.response_mask
    assert tensors["rm_scores"][-1].item() == 1.0 and tensors["rm_scores"][:-1].abs().sum().item() == 0.0
    assert tensors["rollout_log_probs"].shape == tensors["responses"].shape


def test_dataset_rows_refuse_test_samples() -> None:
    with pytest.raises(IntegrationError, match="split"):
        verl_adapter.dataset_row(find_sample("medcalcbench/bmi/test/0/0"))


def test_registration_matches_the_import_path() -> None:
    if verl_adapter.VERL_AVAILABLE:
        from verl.experimental.agent_loop.agent_loop import (
            AgentLoopBase,
            _agent_loop_registry,
        )

        assert issubclass(verl_adapter.MedAgentGymAgentLoop, AgentLoopBase)
        assert _agent_loop_registry["medagentgym"] == {"_target_": "medagentgym.integrations.verl.MedAgentGymAgentLoop"}
    else:
        assert verl_adapter.MedAgentGymAgentLoop.__mro__[1].__module__ == "medagentgym.integrations.verl"
