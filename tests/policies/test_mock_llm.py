"""The mock LLM server, and the runner surviving its faults then resuming (issue 4's done test)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from medagentgym.env.env import EnvConfig
from medagentgym.mock_llm import DEFAULT_SCRIPT, FAULT_KINDS, create_app, serve_mock
from medagentgym.policies.openai_chat import OpenAIChatPolicy
from medagentgym.rollout import RolloutConfig, run_rollouts
from medagentgym.runs.store import TRAJECTORIES, RunManifest, RunStore, load_run, now_iso, read_trajectories


def _chat(client: TestClient, messages: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    return client.post("/v1/chat/completions", json={"model": "m", "messages": messages, **extra})


def _conversation(turns: int, task: str = "task") -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "sys"}, {"role": "user", "content": task}]
    for i in range(turns):
        messages += [{"role": "assistant", "content": f"a{i}"}, {"role": "user", "content": f"o{i}"}]
    return messages


def test_script_by_turn_as_text_and_tool_calls() -> None:
    client = TestClient(create_app())
    for turn, expected in enumerate([*DEFAULT_SCRIPT, DEFAULT_SCRIPT[-1]]):
        reply = _chat(client, _conversation(turn)).json()
        assert json.loads(reply["choices"][0]["message"]["content"]) == expected
        assert reply["usage"]["prompt_tokens"] > 0 and reply["usage"]["completion_tokens"] > 0
        tools = _chat(client, _conversation(turn), tools=[{"type": "function"}]).json()
        call = tools["choices"][0]["message"]["tool_calls"][0]
        assert call["function"]["name"] == expected["action"]
        assert {"action": call["function"]["name"], **json.loads(call["function"]["arguments"])} == expected
        assert tools["choices"][0]["finish_reason"] == "tool_calls"


def test_custom_script_and_bad_requests() -> None:
    client = TestClient(create_app(script=[{"action": "submit", "answer": 3}]))
    assert json.loads(_chat(client, _conversation(0)).json()["choices"][0]["message"]["content"])["answer"] == 3
    assert client.post("/v1/chat/completions", content=b"not json").status_code == 400
    assert client.post("/v1/chat/completions", json={"model": "m"}).status_code == 400
    with pytest.raises(ValueError):
        create_app(faults={"meteor": 0.1})
    with pytest.raises(ValueError):
        create_app(faults={"rate_limit": 0.7, "server_error": 0.7})


def test_models_keys_and_refused_fields_answer_like_real_servers() -> None:
    client = TestClient(create_app(models=["a", "b"], require_key="k", refused_fields=["parallel_tool_calls"]))
    key = {"Authorization": "Bearer k"}
    assert client.get("/v1/models").status_code == 401  # listing needs the key too
    assert [m["id"] for m in client.get("/v1/models", headers=key).json()["data"]] == ["a", "b"]
    unknown = client.post("/v1/chat/completions", headers=key, json={"model": "c", "messages": _conversation(0)})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    refused = client.post(
        "/v1/chat/completions", headers=key, json={"model": "a", "messages": [], "parallel_tool_calls": False}
    )
    assert refused.status_code == 400 and "parallel_tool_calls" in refused.json()["error"]["message"]
    assert TestClient(create_app(models_route=False)).get("/v1/models").status_code == 404
    two = TestClient(create_app(tool_calls_per_reply=2))
    calls = _chat(two, _conversation(0), tools=[{"type": "function"}]).json()["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["list_files", "execute_python"]
    assert len({c["id"] for c in calls}) == 2
    with pytest.raises(ValueError):
        create_app(tool_calls_per_reply=0)


def _fault_log(rates: dict[str, float], n: int) -> list[str | None]:
    app = create_app(faults=rates, latency_s=0.0)
    client = TestClient(app)
    for i in range(n):
        for _ in range(3):  # three attempts of the same request: later ones draw again
            _chat(client, _conversation(i % 3, task=f"task {i}"))
    return [r.fault for r in app.state.mock.requests]


def test_transient_faults_are_deterministic_and_vary_by_attempt() -> None:
    rates = {"rate_limit": 0.2, "server_error": 0.2, "malformed": 0.2}
    first, second = _fault_log(rates, 60), _fault_log(rates, 60)
    assert first == second
    counts = Counter(first)
    assert set(counts) == {None, "rate_limit", "server_error", "malformed"}
    assert 0.25 < counts[None] / len(first) < 0.6
    # The same request does not always fail the same way: a retry is a new draw.
    per_request = [first[i : i + 3] for i in range(0, len(first), 3)]
    assert any(len(set(attempts)) > 1 for attempts in per_request)


def test_fault_responses() -> None:
    client = TestClient(create_app(fault_sequence=["rate_limit", "server_error"], retry_after="2"))
    limited = _chat(client, _conversation(0))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert _chat(client, _conversation(0)).status_code == 500
    assert _chat(client, _conversation(0)).json()["choices"]
    shapes = set()
    malformed = TestClient(create_app(faults={"malformed": 1.0}))
    for i in range(20):
        response = _chat(malformed, _conversation(0, task=str(i)))
        assert response.status_code == 200
        try:
            body = response.json()
        except ValueError:
            shapes.add("not json")
        else:
            assert "choices" not in body
            shapes.add("no choices")
    assert shapes == {"not json", "no choices"}


def test_permanent_faults_hold_for_every_turn_and_attempt() -> None:
    app = create_app(permanent_faults={"server_error": 0.5})
    client = TestClient(app)
    by_task: dict[str, set[int]] = {}
    for i in range(30):
        for turn in range(3):
            for _ in range(2):
                status = _chat(client, _conversation(turn, task=f"task {i}")).status_code
                by_task.setdefault(f"task {i}", set()).add(status)
    assert all(len(statuses) == 1 for statuses in by_task.values())  # all-or-nothing per task
    assert {500, 200} == {next(iter(s)) for s in by_task.values()}
    matched = TestClient(create_app(fail_matching={"doomed": "timeout", "broken": "malformed"}, timeout_sleep_s=0.01))
    assert _chat(matched, _conversation(0, task="a doomed task")).status_code == 504
    assert _chat(matched, _conversation(2, task="fine task")).json()["choices"]


def test_serve_mock_binds_loopback_and_stops() -> None:
    with serve_mock(latency_s=0.0) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert httpx.get(base_url.rsplit("/v1", 1)[0] + "/health").json() == {"status": "ok"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url.rsplit("/v1", 1)[0] + "/health")


# -- the done criterion: a faulty API, then a resumed run ---------------------------------------

PERMANENT = {"[case 0]": "rate_limit", "[case 1]": "server_error", "[case 2]": "timeout", "[case 3]": "malformed"}
KIND_OF = {"rate_limit": "rate_limit", "server_error": "server_error", "timeout": "timeout", "malformed": "malformed_reply"}
TRANSIENT = {"rate_limit": 0.12, "server_error": 0.12, "timeout": 0.12, "malformed": 0.12}


def _cases(toy_samples: list[Any], n: int) -> list[Any]:
    base = toy_samples[1]  # no database: cheap episodes
    return [
        base.model_copy(update={"id": f"toy/bmi/test/{i}/0", "index": i, "prompt": f"[case {i}] {base.prompt}"})
        for i in range(n)
    ]


def _policy(base_url: str) -> OpenAIChatPolicy:
    return OpenAIChatPolicy(
        "mock", base_url=base_url, api_key_env=None, seeded=True, timeout_s=0.4,
        max_retries=5, backoff_base_s=0.001, backoff_max_s=0.005,
    )


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_faulty_run_records_failures_and_resume_completes(
    action_format: str, toy_samples: list[Any], sandbox_server: Any, tmp_path: Path
) -> None:
    samples, epochs = _cases(toy_samples, 16), 3
    config = RolloutConfig(
        epochs=epochs, max_sessions=16, max_model_calls=16, env=EnvConfig(action_format=action_format)
    )
    manifest = RunManifest(run_id="faulty", created_at=now_iso())

    faulty = create_app(faults=TRANSIENT, fail_matching=PERMANENT, timeout_sleep_s=5.0)
    with serve_mock(faulty) as base_url, RunStore(tmp_path, manifest) as store:
        first = run_rollouts(samples, _policy(base_url), store, config, sandbox=sandbox_server)
    assert first.written == len(samples) * epochs
    trajectories = list(read_trajectories(tmp_path))
    failed = [t for t in trajectories if t.status == "infra_error"]
    # Every doomed case ended as an infrastructure failure of its own kind, unscored.
    for t in trajectories:
        case = t.sample_id.split("/")[3]
        expected = PERMANENT.get(f"[case {case}]")
        if expected is not None:
            assert (t.status, t.failure) == ("infra_error", KIND_OF[expected])
            assert t.score is None and not t.submitted and t.error
        else:  # healthy: done, or (rarely) out of retries on transient faults
            assert t.status == "ok" or (t.status == "infra_error" and t.failure in KIND_OF.values())
    assert {t.failure for t in failed} >= set(KIND_OF.values())
    # Absorbed transient failures are counted per kind, and match what the server injected.
    absorbed: Counter[str] = Counter()
    for t in trajectories:
        absorbed.update(t.api_retries)
    assert set(absorbed) == set(KIND_OF.values())
    assert sum(1 for t in trajectories if t.status == "ok") >= (len(samples) - len(PERMANENT)) * epochs // 2
    injected = Counter(r.fault for r in faulty.state.mock.requests if r.fault is not None)
    assert set(injected) == set(FAULT_KINDS)

    calm = create_app()
    with serve_mock(calm) as base_url, RunStore(tmp_path, manifest) as store:
        second = run_rollouts(samples, _policy(base_url), store, config, sandbox=sandbox_server)
    assert second.skipped == len(trajectories) - len(failed)
    assert second.written == len(failed) and second.by_status == {"ok": len(failed)}
    final = load_run(tmp_path)
    assert len(final) == len(samples) * epochs and all(t.status == "ok" for t in final)
    # Append-only: each key holds at most one finished (non-infra) line; nothing was duplicated.
    lines = [json.loads(line) for line in (tmp_path / TRAJECTORIES).read_text().splitlines()]
    assert len(lines) == len(trajectories) + len(failed)
    finished = Counter((line["sample_id"], line["epoch"]) for line in lines if line["status"] != "infra_error")
    assert set(finished.values()) == {1} and len(finished) == len(samples) * epochs
    # The resumed episodes only re-ran the ones that had failed.
    assert {(r.body["seed"]) for r in calm.state.mock.requests} == {t.seed for t in failed}
