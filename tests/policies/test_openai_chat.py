"""The OpenAI-compatible policy against the mock server: episodes, retries, failures, secrets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.mock_llm import create_app, serve_mock
from medagentgym.policies import openai_chat
from medagentgym.policies.base import PolicyError
from medagentgym.policies.context import OMITTED
from medagentgym.policies.openai_chat import OpenAIChatPolicy, from_options
from medagentgym.rollout import run_episode

KEY_VAR = "MEDAGENTGYM_TEST_LLM_KEY"
SECRET = "sk-test-0123456789abcdef-secret"
TASK = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what is 1?"}]


def _async_reply(policy: OpenAIChatPolicy) -> Any:
    """One episode's first reply through the async path, the clients closed with their loop."""

    async def go() -> Any:
        try:
            return await policy.start_episode(None, seed=1).aact(TASK, None)  # type: ignore[arg-type]
        finally:
            await policy.aclose()

    return asyncio.run(go())


def _policy(base_url: str, **options: Any) -> OpenAIChatPolicy:
    defaults: dict[str, Any] = {
        "base_url": base_url,
        "api_key_env": KEY_VAR,
        "timeout_s": 0.5,
        "max_retries": 5,
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.01,
    }
    return OpenAIChatPolicy("mock-model", **{**defaults, **options})


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff delays of the sync path, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(openai_chat, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def mock(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """A mock server per test; options come from ``@pytest.mark.parametrize('mock', [...], indirect=True)``."""
    app = create_app(**getattr(request, "param", {}), timeout_sleep_s=5.0)
    with serve_mock(app) as base_url:
        yield base_url, app.state.mock


# -- whole episodes -----------------------------------------------------------------------------


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_episode_completes_and_submits(
    action_format: str, mock: tuple[str, Any], toy_samples: list[Any], sandbox_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    base_url, state = mock
    policy = _policy(base_url, action_format=action_format, temperature=0.7, seeded=True)
    env = MedAgentEnv(config=EnvConfig(action_format=action_format), sandbox=sandbox_server)
    try:
        trajectory = run_episode(env, policy, toy_samples[1], run_id="t", seed=1234)
    finally:
        env.close()
        policy.close()
    assert trajectory.status == "ok", trajectory.error
    assert trajectory.submitted and trajectory.score is not None
    assert [s.action["name"] for s in trajectory.steps] == ["list_files", "execute_python", "submit"]
    assert "1" in trajectory.steps[1].observation
    assert [r.turn for r in state.requests] == [0, 1, 2]
    if action_format == "tools":
        assert all(r.body["tools"] for r in state.requests)
        assert trajectory.messages[2]["tool_calls"][0]["function"]["name"] == "list_files"
        assert trajectory.messages[3]["role"] == "tool"
        assert trajectory.messages[3]["tool_call_id"] == trajectory.messages[2]["tool_calls"][0]["id"]
    else:
        assert all("tools" not in r.body for r in state.requests)
        assert json.loads(trajectory.messages[2]["content"]) == {"action": "list_files"}
    # Usage is what the server reported, summed over the turns.
    assert trajectory.usage.prompt_tokens == sum(r.usage["prompt_tokens"] for r in state.requests)
    assert trajectory.usage.completion_tokens == sum(r.usage["completion_tokens"] for r in state.requests)
    assert trajectory.usage.prompt_tokens > 0
    # Sampling parameters and the episode's seed were sent; the key only as a Bearer header.
    assert all(r.body["seed"] == 1234 and r.body["temperature"] == 0.7 for r in state.requests)
    assert all(r.authorization == f"Bearer {SECRET}" for r in state.requests)
    dumped = trajectory.model_dump_json()
    assert SECRET not in dumped and KEY_VAR not in dumped
    assert trajectory.policy.model_dump() == {
        "name": "openai",
        "model": "mock-model",
        "sampling": {"temperature": 0.7, "seeded": True},
        "action_format": action_format,
        "prices": {},
    }


def test_no_key_no_authorization_header(mock: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    base_url, state = mock
    with _policy(base_url) as policy:
        policy.start_episode(None, seed=3).act(TASK, None)  # type: ignore[arg-type]
    assert state.requests[0].authorization is None
    assert "seed" not in state.requests[0].body  # seeded sampling is opt-in


def test_sampling_parameters_are_sent(mock: tuple[str, Any]) -> None:
    base_url, state = mock
    policy = _policy(base_url, temperature=0.0, top_p=0.9, max_tokens=256, stop="END", seeded=True,
                     extra_body={"repetition_penalty": 1.1})
    with policy:
        policy.start_episode(None, seed=99).act(TASK, None)  # type: ignore[arg-type]
    body = state.requests[0].body
    assert body["model"] == "mock-model"
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["stop"], body["seed"]) == (
        0.0, 0.9, 256, ["END"], 99,
    )
    assert body["repetition_penalty"] == 1.1
    assert policy.info.sampling == {
        "temperature": 0.0, "top_p": 0.9, "max_tokens": 256, "stop": ["END"], "seeded": True,
        "extra_body": {"repetition_penalty": 1.1},
    }


# -- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mock",
    [{"fault_sequence": ["rate_limit", "server_error", "timeout", "malformed", "malformed"]}],
    indirect=True,
)
def test_transient_failures_are_retried_and_counted(mock: tuple[str, Any], sleeps: list[float]) -> None:
    base_url, state = mock
    with _policy(base_url, timeout_s=1.0) as policy:  # the injected stall outlasts it
        reply = policy.act(TASK, None)
    assert json.loads(reply.content or "") == {"action": "list_files"}
    assert reply.retries == {"rate_limit": 1, "server_error": 1, "timeout": 1, "malformed_reply": 2}
    assert [r.fault for r in state.requests] == ["rate_limit", "server_error", "timeout", "malformed", "malformed", None]
    assert len(sleeps) == 5


@pytest.mark.parametrize(
    "mock", [{"fault_sequence": ["rate_limit", "server_error", "malformed"]}], indirect=True
)
def test_async_path_retries_too(mock: tuple[str, Any]) -> None:
    base_url, _ = mock
    policy = _policy(base_url, action_format="tools")

    reply = _async_reply(policy)
    assert reply.tool_calls is not None and reply.tool_calls[0]["function"]["name"] == "list_files"
    assert reply.retries == {"rate_limit": 1, "server_error": 1, "malformed_reply": 1}


@pytest.mark.parametrize(
    "mock", [{"fault_sequence": ["rate_limit", "rate_limit"], "retry_after": "7"}], indirect=True
)
def test_retry_after_is_respected(mock: tuple[str, Any], sleeps: list[float]) -> None:
    base_url, _ = mock
    with _policy(base_url, max_retry_after_s=5.0) as policy:
        reply = policy.act(TASK, None)
    assert reply.retries == {"rate_limit": 2}
    assert sleeps == [5.0, 5.0]  # the server asked for 7 s; capped by max_retry_after_s
    with _policy(base_url) as policy:
        policy.act([*TASK, {"role": "user", "content": "again"}], None)
    assert sleeps[2:] == [7.0, 7.0]


def test_backoff_grows_with_jitter() -> None:
    policy = OpenAIChatPolicy("m", backoff_base_s=1.0, backoff_max_s=8.0)
    for attempt, ceiling in enumerate([1, 2, 4, 8, 8, 8]):
        delays = [policy.retry_delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert policy.retry_delay(0, retry_after=3.0) == 3.0


def test_retry_after_http_date() -> None:
    assert openai_chat._parse_retry_after("2.5") == 2.5
    assert openai_chat._parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert openai_chat._parse_retry_after("soon") is None
    assert openai_chat._parse_retry_after(None) is None


# -- retries exhausted --------------------------------------------------------------------------

KIND_OF = {"rate_limit": "rate_limit", "server_error": "server_error", "timeout": "timeout", "malformed": "malformed_reply"}


@pytest.mark.parametrize("fault", list(KIND_OF))
def test_exhausted_retries_raise_policy_error(fault: str, sleeps: list[float]) -> None:
    app = create_app(fault_sequence=[fault] * 10, timeout_sleep_s=5.0)
    with serve_mock(app) as base_url, _policy(base_url, max_retries=2, timeout_s=0.3) as policy:
        with pytest.raises(PolicyError) as info:
            policy.act(TASK, None)
    assert info.value.kind == KIND_OF[fault]
    assert info.value.retries == {KIND_OF[fault]: 2}  # type: ignore[attr-defined]
    assert [r.attempt for r in app.state.mock.requests] == [0, 1, 2]


@pytest.mark.parametrize("mock", [{"fail_matching": {"BMI": "server_error"}}], indirect=True)
def test_exhausted_retries_end_the_episode_as_infra_error(
    mock: tuple[str, Any], toy_samples: list[Any], sandbox_server: Any, sleeps: list[float]
) -> None:
    base_url, state = mock
    env = MedAgentEnv(sandbox=sandbox_server)
    with _policy(base_url, max_retries=3) as policy:
        try:
            trajectory = run_episode(env, policy, toy_samples[1], run_id="t")
        finally:
            env.close()
    assert trajectory.status == "infra_error"
    assert trajectory.failure == "server_error"
    assert "server_error after 4 attempt(s)" in (trajectory.error or "")
    assert trajectory.score is None and trajectory.reward == 0.0 and not trajectory.submitted
    assert len(state.requests) == 4


def test_connection_refused_is_a_connection_failure(sleeps: list[float]) -> None:
    with serve_mock() as base_url:
        pass  # the port is free again once the server stopped
    with _policy(base_url, max_retries=1) as policy, pytest.raises(PolicyError) as info:
        policy.act(TASK, None)
    assert info.value.kind == "connection"
    assert len(sleeps) == 1


def test_bad_key_is_final_and_never_echoed(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    app = create_app(require_key="the-right-key")
    with serve_mock(app) as base_url, _policy(base_url) as policy, pytest.raises(PolicyError) as info:
        policy.act(TASK, None)
    assert info.value.kind == "auth"
    assert "Incorrect API key" in str(info.value) and SECRET not in str(info.value)
    assert len(app.state.mock.requests) == 1 and not sleeps  # 401 is not retried
    monkeypatch.setenv(KEY_VAR, "the-right-key")
    with serve_mock(app) as base_url, _policy(base_url) as policy:
        assert policy.act(TASK, None).content


# -- replies and requests without a server ------------------------------------------------------


def _response(status: int = 200, body: Any = None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    return httpx.Response(status, json=body)


def test_malformed_replies_are_transient() -> None:
    policy = OpenAIChatPolicy("m")
    for response in (
        _response(text="<html>bad gateway</html>"),
        _response(body={"id": "x"}),
        _response(body={"choices": []}),
        _response(body={"choices": [{"message": "hi"}]}),
    ):
        outcome = policy._interpret(response)
        assert isinstance(outcome, openai_chat._Transient) and outcome.kind == "malformed_reply"
    assert policy._interpret(_response(503, {"error": "busy"})).kind == "server_error"  # type: ignore[union-attr]
    with pytest.raises(PolicyError) as info:
        policy._interpret(_response(400, {"error": {"message": "context length exceeded"}}))
    assert info.value.kind == "bad_request"


def test_tool_calls_are_normalized() -> None:
    reply = OpenAIChatPolicy("m")._interpret(
        _response(body={"choices": [{"message": {"content": None, "tool_calls": [
            {"function": {"name": "execute_sql", "arguments": {"query": "select 1"}}}
        ]}}], "usage": {"prompt_tokens": 11, "completion_tokens": 5}})
    )
    assert not isinstance(reply, openai_chat._Transient)
    call = reply.tool_calls[0]  # type: ignore[index]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert json.loads(call["function"]["arguments"]) == {"query": "select 1"}
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (11, 5)
    empty = OpenAIChatPolicy("m")._interpret(_response(body={"choices": [{"message": {"content": None}}]}))
    assert empty.content == ""  # type: ignore[union-attr]  # the model's empty output, not an API failure


def test_context_is_fitted() -> None:
    long_turns = []
    for i in range(40):
        long_turns += [
            {"role": "assistant", "content": f'{{"action": "execute_python", "code": "print({i})"}}'},
            {"role": "user", "content": "x" * 2000},
        ]
    messages = [*TASK, *long_turns]
    body = OpenAIChatPolicy("m", context_tokens=4000, max_tokens=500).request_body(messages, None)
    sent = body["messages"]
    assert sent[:2] == TASK
    assert sent[2]["content"] == OMITTED.format(n=len(messages) - len(sent) + 1)
    assert sent[-1] == messages[-1]
    assert sum(len(m["content"]) for m in sent) // 4 < 3500
    assert OpenAIChatPolicy("m").request_body(messages, None)["messages"] == messages  # fits 32k


def test_tools_format_sends_tool_schemas() -> None:
    body = OpenAIChatPolicy("m", action_format="tools").request_body(TASK, None)
    names = {t["function"]["name"] for t in body["tools"]}
    assert {"execute_python", "submit", "list_tables"} <= names and "debug_hint" not in names
    given = [{"type": "function", "function": {"name": "submit", "parameters": {}}}]
    assert OpenAIChatPolicy("m", action_format="tools").request_body(TASK, given)["tools"] == given
    assert "tools" not in OpenAIChatPolicy("m").request_body(TASK, given)


def test_from_options_coerces_cli_strings() -> None:
    policy = from_options(
        model="qwen", base_url="http://127.0.0.1:8000/v1/", temperature="0.2", max_tokens="512",
        seeded="true", format="tools", prices="prompt=0.5, completion=1.5", timeout="30", api_key_env="VLLM_KEY",
    )
    assert policy.base_url == "http://127.0.0.1:8000/v1"
    assert (policy.temperature, policy.max_tokens, policy.seeded, policy.timeout_s) == (0.2, 512, True, 30.0)
    assert policy.info.action_format == "tools"
    assert policy.info.prices == {"prompt": 0.5, "completion": 1.5}
    assert policy.info.sampling == {"temperature": 0.2, "max_tokens": 512, "seeded": True}
    with pytest.raises(ValueError, match="unknown option"):
        from_options(model="m", temprature=0.2)
    with pytest.raises(ValueError, match="needs a model"):
        from_options(temperature=0.2)
    with pytest.raises(ValueError, match="action_format"):
        from_options(model="m", action_format="xml")


def test_episode_views_share_pools_and_carry_their_seed() -> None:
    policy = OpenAIChatPolicy("m", seeded=True)
    a, b = policy.start_episode(None, seed=1), policy.start_episode(None, seed=2)  # type: ignore[arg-type]
    assert a._clients is policy._clients is b._clients
    assert (a.request_body(TASK, None)["seed"], b.request_body(TASK, None)["seed"]) == (1, 2)
    assert "seed" not in policy.request_body(TASK, None)


def test_made_from_a_policy_spec() -> None:
    from medagentgym.policies import PolicySpec, make_policy

    policy = make_policy(PolicySpec(name="openai", options={"model": "m", "base_url": "http://127.0.0.1:1/v1"}))
    assert isinstance(policy, OpenAIChatPolicy) and policy.info.name == "openai" and policy.info.model == "m"


# -- one tool call per turn ---------------------------------------------------------------------


def test_tools_format_asks_for_one_call_per_turn() -> None:
    assert OpenAIChatPolicy("m", action_format="tools").request_body(TASK, None)["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in OpenAIChatPolicy("m").request_body(TASK, None)  # json format
    chosen = OpenAIChatPolicy("m", action_format="tools", extra_body={"parallel_tool_calls": True})
    assert chosen.request_body(TASK, None)["parallel_tool_calls"] is True  # the user's explicit choice


@pytest.mark.parametrize("mock", [{"refused_fields": ["parallel_tool_calls"]}], indirect=True)
def test_a_server_refusing_parallel_tool_calls_is_asked_again_without_it(
    mock: tuple[str, Any], sleeps: list[float]
) -> None:
    base_url, state = mock
    policy = _policy(base_url, action_format="tools")
    with policy:
        first = policy.start_episode(None, seed=1).act(TASK, None)  # type: ignore[arg-type]
        later = policy.start_episode(None, seed=2).act(TASK, None)  # type: ignore[arg-type]
    assert first.tool_calls and later.tool_calls
    assert first.retries == {} and not sleeps  # not a transient failure: no backoff, no count
    sent = ["parallel_tool_calls" in r.body for r in state.requests]
    assert sent == [True, False, False]  # refused once, then remembered for every episode


@pytest.mark.parametrize("mock", [{"refused_fields": ["parallel_tool_calls"]}], indirect=True)
def test_the_async_path_drops_a_refused_field_too(mock: tuple[str, Any]) -> None:
    base_url, state = mock
    policy = _policy(base_url, action_format="tools")

    assert _async_reply(policy).tool_calls
    assert ["parallel_tool_calls" in r.body for r in state.requests] == [True, False]


def test_a_refusal_of_another_field_stays_final(sleeps: list[float]) -> None:
    app = create_app(refused_fields=["top_k"])
    with serve_mock(app) as base_url, _policy(base_url, action_format="tools", extra_body={"top_k": 3}) as policy:
        with pytest.raises(PolicyError) as info:
            policy.act(TASK, None)
    assert info.value.kind == "bad_request" and len(app.state.mock.requests) == 1


@pytest.mark.parametrize("mock", [{"tool_calls_per_reply": 2}], indirect=True)
def test_two_tool_calls_run_the_first_and_answer_for_the_second(
    mock: tuple[str, Any], toy_samples: list[Any], sandbox_server: Any
) -> None:
    base_url, state = mock
    env = MedAgentEnv(config=EnvConfig(action_format="tools"), sandbox=sandbox_server)
    with _policy(base_url, action_format="tools") as policy:
        try:
            trajectory = run_episode(env, policy, toy_samples[1], run_id="t", seed=5)
        finally:
            env.close()
    assert trajectory.status == "ok", trajectory.error
    # No turn is lost: each turn ran its first call, and the script still ends in three turns.
    assert [s.action["name"] for s in trajectory.steps] == ["list_files", "execute_python", "submit"]
    assistant = [m for m in trajectory.messages if m["role"] == "assistant"]
    assert all(len(m["tool_calls"]) == 1 for m in assistant)  # what was acted on, nothing else
    tool_answers = [m for m in trajectory.messages if m["role"] == "tool"]
    assert [a["tool_call_id"] for a in tool_answers] == [m["tool_calls"][0]["id"] for m in assistant]
    first = tool_answers[0]["content"]
    assert first.startswith("[You sent 2 tool calls in one turn; only the first (list_files) was run, not: execute_python.")
    assert trajectory.steps[0].observation == first  # the record shows what the model was told
    # The next request carried a valid conversation: one call, one answer.
    second_request = state.requests[1].body["messages"]
    assert [m["role"] for m in second_request[-2:]] == ["assistant", "tool"]


# -- options from the CLI -----------------------------------------------------------------------


def test_cli_options_for_prices_context_extra_body_and_seeding() -> None:
    policy = from_options(
        model="m", prices={"prompt": "2.5", "completion": 10}, context_tokens="8192",
        extra_body='{"top_k": 20, "repetition_penalty": 1.05}', seeded=True,
    )
    assert policy.info.prices == {"prompt": 2.5, "completion": 10.0}
    assert policy.context_tokens == 8192 and policy.seeded
    assert policy.info.sampling == {"seeded": True, "extra_body": {"top_k": 20, "repetition_penalty": 1.05}}
    assert from_options(model="m", prices={"prompt": 1.0, "completion": None}).info.prices == {"prompt": 1.0}
    assert from_options(model="m", seeded="off").seeded is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"extra_body": "{not json"}, "extra_body is not valid JSON"),
        ({"extra_body": "[1, 2]"}, "extra_body must be a JSON object, got list"),
        ({"extra_body": '{"messages": [], "top_k": 1}'}, "extra_body may not set messages"),
        ({"extra_body": {"model": "other", "tools": []}}, "extra_body may not set model, tools"),
        ({"extra_body": '{"stream": true}'}, "extra_body may not set stream"),
        ({"prices": {"prompt": -1}}, "prices: prompt must be a finite number >= 0"),
        ({"prices": {"prompt": "nan"}}, "prices: prompt must be a finite number >= 0"),
        ({"prices": {"prompt": "cheap"}}, "prices: prompt must be a number"),
        ({"prices": {"input": 1}}, "prices: unknown key 'input'"),
        ({"prices": "prompt:1"}, "prices: expected prompt=USD,completion=USD"),
        ({"context_tokens": "-5"}, "context_tokens must be a positive number"),
        ({"context_tokens": "lots"}, "context_tokens must be an integer, got 'lots'"),
        ({"context_tokens": 1000, "max_tokens": 1000}, "max_tokens must be > 0 and below context_tokens"),
        ({"seeded": "maybe"}, "seeded must be true or false, got 'maybe'"),
        ({"temperature": "hot"}, "temperature must be a number, got 'hot'"),
        ({"base_url": "localhost:8000/v1"}, "base_url must be an http:// or https:// URL"),
    ],
)
def test_bad_cli_options_are_one_line_value_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        from_options(model="m", **options)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_priced_run_has_a_cost(mock: tuple[str, Any], toy_samples: list[Any], sandbox_server: Any) -> None:
    from medagentgym.scoring.metrics import episode_cost

    base_url, _ = mock
    env = MedAgentEnv(sandbox=sandbox_server)
    with from_options(model="m", base_url=base_url, api_key_env=KEY_VAR, prices="prompt=2,completion=8") as policy:
        try:
            trajectory = run_episode(env, policy, toy_samples[1], run_id="t")
        finally:
            env.close()
    expected = (trajectory.usage.prompt_tokens * 2 + trajectory.usage.completion_tokens * 8) / 1e6
    assert trajectory.usage.prompt_tokens > 0 and episode_cost(trajectory) == pytest.approx(expected)
    # Every step says how long its model call took (env time stays in duration_s).
    assert all(s.model_s is not None and s.model_s >= 0 for s in trajectory.steps)
