"""The verifiers adapter against the real verifiers 0.4 package: whole rollouts, offline.

The model is a scripted OpenAI-compatible server on 127.0.0.1 (stdlib ``http.server``): each
rollout goes through verifiers' own machinery (``env.serving()``, ``run_episode``, its
interception server and eval client) to that server, and the rewards are read off the trace.
Skipped where verifiers is not installed (its dependencies conflict with the project's pins).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("verifiers.v1")

import verifiers.v1 as vf

from medagentgym.catalog.selection import find_sample
from medagentgym.integrations.common import IntegrationError
from medagentgym.integrations.verifiers import load_environment, open_episodes
from medagentgym.sandbox import shared_server

SAMPLE_ID = "medcalcbench/bmi/train/0/0"


def _call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _reply(*calls: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return message


class ScriptedModel:
    """An OpenAI-compatible chat-completions server that answers with scripted messages."""

    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests.append(body)
                index = min(len(model.requests) - 1, len(model.script) - 1)
                message = model.script[index]
                payload = {
                    "id": f"r{len(model.requests)}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def context(self) -> vf.ModelContext:
        client = vf.EvalClientConfig(
            base_url=f"http://127.0.0.1:{self.server.server_port}/v1", api_key_var="MEDAGENTGYM_SCRIPTED_KEY"
        )
        return vf.ModelContext(model="scripted", client=client)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedModel]:
    monkeypatch.setenv("MEDAGENTGYM_SCRIPTED_KEY", "not-a-secret")
    scripted = ScriptedModel()
    yield scripted
    scripted.close()


def _live_sessions() -> int:
    return sum(1 for session in list(shared_server()._sessions) if session.alive)


def _play(env: Any, model: ScriptedModel, script: list[dict[str, Any]]) -> vf.Trace:
    model.script = script
    model.requests.clear()

    async def run() -> vf.Episode:
        async with env.serving():
            task = next(iter(env.taskset))
            return await env.run_episode(task, model.context())

    episode = asyncio.run(run())
    (trace,) = episode.traces
    return trace


def test_taskset_holds_train_samples_and_no_target() -> None:
    env = load_environment("medcalcbench", "bmi", limit_per_category=3)
    tasks = list(env.taskset)
    assert len(tasks) == 3
    for task in tasks:
        sample = find_sample(task.data.sample_id)
        assert sample.split == "train" and task.data.id == sample.id
        wire = task.data.model_dump_json()
        assert "target" not in wire and "solution" not in wire
        assert sample.prompt.strip() in str(task.data.prompt)
    with pytest.raises(IntegrationError, match="test"):
        list(load_environment(sample_ids=["medcalcbench/bmi/test/0/0"]).taskset)
    assert len(list(load_environment(sample_ids=["medcalcbench/bmi/test/0/0"], split="test").taskset)) == 1


def test_right_answer_rewards_one_through_a_rollout(model: ScriptedModel) -> None:
    answer = find_sample(SAMPLE_ID).target.value
    sessions = _live_sessions()
    trace = _play(
        load_environment(sample_ids=[SAMPLE_ID]),
        model,
        [_reply(_call("c1", "execute_python", code="print(6 * 7)")), _reply(_call("c2", "submit", answer=answer))],
    )
    assert trace.ok and trace.reward == 1.0
    assert trace.rewards["benchmark"].score == 1.0 and trace.rewards["shaped"].score == 0.0
    assert trace.metrics == {"turns": 2.0, "submitted": 1.0}
    assert trace.num_turns == 2 and len(model.requests) == 2
    # the model saw the tool result of its code, and the tools of the env
    second = model.requests[1]
    assert any(m.get("role") == "tool" and "42" in json.dumps(m) for m in second["messages"])
    assert {t["function"]["name"] for t in second["tools"]} >= {"execute_python", "submit"}
    # nothing sent to the model holds the target's solution; the episode and its session are gone
    sample = find_sample(SAMPLE_ID)
    assert sample.solution is None or sample.solution.code not in json.dumps(model.requests)
    assert open_episodes() == 0 and _live_sessions() == sessions


def test_wrong_answer_rewards_zero_and_text_that_is_no_action_costs_a_turn(model: ScriptedModel) -> None:
    trace = _play(
        load_environment(sample_ids=[SAMPLE_ID], shaped_weight=0.3),
        model,
        [_reply(content="Let me think about it."), _reply(_call("c1", "submit", answer=-12345))],
    )
    assert trace.ok
    assert trace.rewards["benchmark"].score == 0.0
    assert 0.0 < trace.rewards["shaped"].score <= 0.3  # the submission counts, the bad turn does not
    assert trace.metrics["turns"] == 2.0
    # the rubric's total is our benchmark score plus the (opt-in) shaped part
    assert trace.reward == pytest.approx(trace.rewards["shaped"].score)
    assert open_episodes() == 0


def test_turn_limit_and_hostile_tool_calls_end_cleanly(model: ScriptedModel) -> None:
    sessions = _live_sessions()
    trace = _play(
        load_environment(sample_ids=[SAMPLE_ID], max_turns=3),
        model,
        [
            _reply(_call("c1", "no_such_tool", x=1)),
            _reply({"id": "c2", "type": "function", "function": {"name": "execute_python", "arguments": "{not json"}}),
            _reply(_call("c3", "execute_python", code="import os; os._exit(3)")),
        ],
    )
    assert trace.ok and trace.reward == 0.0 and trace.metrics["turns"] == 3.0
    assert open_episodes() == 0 and _live_sessions() == sessions
    # the next rollout is unaffected
    answer = find_sample(SAMPLE_ID).target.value
    trace = _play(load_environment(sample_ids=[SAMPLE_ID]), model, [_reply(_call("c1", "submit", answer=answer))])
    assert trace.reward == 1.0


def test_a_failing_model_endpoint_fails_the_trace_and_closes_the_episode(model: ScriptedModel) -> None:
    sessions = _live_sessions()
    model.close()  # the model server is gone: every call fails
    trace = _play(load_environment(sample_ids=[SAMPLE_ID]), model, [_reply(content="unused")])
    assert not trace.ok and trace.errors
    assert open_episodes() == 0 and _live_sessions() == sessions
