"""The pre-flight check: a wrong endpoint, key or model fails before any episode, in one line.

Each misconfiguration is served by the mock LLM (or a small hostile app) and must give one
``PreflightError`` line that names what failed, never the key; a good configuration passes with
at most two requests. Nothing here sleeps or measures time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from medagentgym.mock_llm import create_app, serve_mock
from medagentgym.policies import PolicySpec, make_policy, preflight
from medagentgym.policies.base import PreflightError
from medagentgym.policies.openai_chat import PREFLIGHT_MAX_BYTES, OpenAIChatPolicy, _unreachable
from medagentgym.policies.oracle import OraclePolicy

KEY_VAR = "MEDAGENTGYM_TEST_PREFLIGHT_KEY"
SECRET = "sk-preflight-0123456789abcdef-secret"


def _policy(base_url: str, model: str = "mock-model", **options: Any) -> OpenAIChatPolicy:
    return OpenAIChatPolicy(model, base_url=base_url, api_key_env=KEY_VAR, timeout_s=5.0, **options)


def _fails(policy: OpenAIChatPolicy) -> str:
    with pytest.raises(PreflightError) as info:
        preflight(policy)
    message = str(info.value)
    assert "\n" not in message and SECRET not in message
    return message


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)


@pytest.fixture
def hostile() -> Iterator[tuple[FastAPI, str]]:
    """An empty app to which a test adds the routes that misbehave."""
    app = FastAPI()
    with serve_mock(app) as base_url:
        yield app, base_url


# -- passing ------------------------------------------------------------------------------------


def test_policies_without_a_remote_dependency_pass() -> None:
    preflight(OraclePolicy())  # no preflight method: nothing to check


def test_a_listed_model_passes_with_one_request() -> None:
    app = create_app(models=["mock-model"])
    with serve_mock(app) as base_url:
        preflight(_policy(base_url))
    assert app.state.mock.requests == []  # GET /models decided; no chat completion was spent


def test_without_a_models_route_a_one_token_completion_decides() -> None:
    app = create_app(models_route=False)
    with serve_mock(app) as base_url:
        preflight(_policy(base_url, extra_body={"top_k": 5}))
    (probe,) = app.state.mock.requests
    assert probe.body["max_tokens"] == 1 and probe.body["model"] == "mock-model"
    assert probe.body["top_k"] == 5  # the server's own knobs go along: they may be required


def test_an_unlisted_model_that_the_server_still_serves_passes() -> None:
    # Servers list canonical names and accept aliases (Ollama's "llama3" for "llama3:latest").
    app = create_app()  # lists "mock", serves any name
    with serve_mock(app) as base_url:
        preflight(_policy(base_url, model="mock-alias"))
    assert len(app.state.mock.requests) == 1


# -- connection ---------------------------------------------------------------------------------


def test_connection_refused_is_named() -> None:
    with serve_mock() as base_url:
        pass  # the port is free again
    message = _fails(_policy(base_url))
    assert message == f"cannot reach {base_url}: connection refused"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host name not found (DNS)"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "host name not found (DNS)"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "TLS handshake failed"),
        (httpx.ConnectTimeout("timed out"), "no answer within 7 s"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
    ],
)
def test_transport_failures_are_said_in_words(exc: Exception, expected: str) -> None:
    assert _unreachable(exc, 7.0).startswith(expected)


def test_a_stalled_server_fails_within_the_request_timeout() -> None:
    app = create_app(models_route=False, fault_sequence=["timeout"], timeout_sleep_s=5.0)
    with serve_mock(app) as base_url:
        message = _fails(OpenAIChatPolicy("m", base_url=base_url, api_key_env=None, timeout_s=0.3))
    assert message == f"cannot reach {base_url}: no answer within 0.3 s"
    assert len(app.state.mock.requests) == 1  # not retried


def test_a_wrong_path_says_to_check_the_base_url() -> None:
    with serve_mock() as base_url:
        message = _fails(_policy(base_url.removesuffix("/v1")))
    assert "no chat-completions endpoint" in message and "/v1" in message


# -- auth ---------------------------------------------------------------------------------------


def test_unset_key_variable_is_named_when_the_server_wants_a_key() -> None:
    app = create_app(require_key="the-right-key")
    with serve_mock(app) as base_url:
        message = _fails(_policy(base_url))
    assert f"${KEY_VAR} is not set" in message and "HTTP 401" in message


def test_refused_key_is_named_and_its_echo_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    app = create_app(require_key="the-right-key")
    with serve_mock(app) as base_url:
        message = _fails(_policy(base_url))
    assert f"refused the API key in ${KEY_VAR}" in message
    assert "Incorrect API key provided: Bearer ***" in message  # the server echoed the key
    monkeypatch.setenv(KEY_VAR, "the-right-key")
    with serve_mock(app) as base_url:
        preflight(_policy(base_url))  # the right key passes: the next run is unaffected


def test_no_key_variable_configured_points_at_the_option() -> None:
    app = create_app(require_key="k")
    with serve_mock(app) as base_url:
        message = _fails(OpenAIChatPolicy("m", base_url=base_url, api_key_env=None))
    assert "--api-key-env" in message


# -- model name ---------------------------------------------------------------------------------

SERVED = ["mock-large", "mock-small", "gpt-4o-mini", "gpt-4o", *(f"other-{i}" for i in range(20))]


def test_unknown_model_names_close_served_names() -> None:
    app = create_app(models=SERVED)
    with serve_mock(app) as base_url:
        message = _fails(_policy(base_url, model="gpt-4o-mni"))
    assert message.startswith(f"unknown model 'gpt-4o-mni' at {base_url}")
    assert "close names: gpt-4o-mini, gpt-4o" in message
    assert "does not exist" in message  # the server's own words come along
    assert "other-" not in message


def test_unknown_model_without_close_names_lists_at_most_ten() -> None:
    app = create_app(models=SERVED)
    with serve_mock(app) as base_url:
        message = _fails(_policy(base_url, model="zzz"))
    assert f"it serves {len(SERVED)} model(s):" in message and message.endswith(", ...")
    assert message.count("other-") <= 10


def test_unknown_model_without_a_models_route_is_named_by_the_server() -> None:
    app = create_app(models=["mock-large"], models_route=False)
    with serve_mock(app) as base_url:
        message = _fails(_policy(base_url, model="mock-lrage"))
    assert "unknown model 'mock-lrage'" in message and "HTTP 404" in message


# -- hostile or broken replies ------------------------------------------------------------------


def _chat_route(app: FastAPI, reply: Any) -> None:
    @app.post("/v1/chat/completions")
    async def chat() -> Response:
        return reply if isinstance(reply, Response) else reply()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (PlainTextResponse("<html><body>502 upstream</body></html>"), "not JSON ('<html><body>502 upstream"),
        (JSONResponse({"id": "x", "object": "chat.completion"}), "JSON without choices[0].message"),
        (JSONResponse({"choices": [{"message": "hi"}]}), "JSON without choices[0].message"),
        (PlainTextResponse("[" * 100_000), "not JSON"),  # nesting that would blow the stack
    ],
)
def test_garbage_replies_are_malformed(hostile: tuple[FastAPI, str], reply: Response, expected: str) -> None:
    app, base_url = hostile

    @app.get("/v1/models")
    async def models() -> Response:
        return PlainTextResponse("\x1b[31mnot a list\x1b[0m")  # unreadable: the chat decides

    _chat_route(app, reply)
    message = _fails(_policy(base_url))
    assert message.startswith(f"malformed reply from {base_url}/chat/completions:")
    assert expected in message and "\x1b" not in message


def test_a_huge_reply_is_refused_unread(hostile: tuple[FastAPI, str]) -> None:
    app, base_url = hostile
    _chat_route(app, lambda: PlainTextResponse("x" * (PREFLIGHT_MAX_BYTES + 1024)))
    message = _fails(_policy(base_url))
    assert message == f"malformed reply from {base_url}/chat/completions: a reply larger than 4 MB"


def test_a_key_echoed_by_a_failing_server_is_masked(
    hostile: tuple[FastAPI, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    app, base_url = hostile
    _chat_route(app, JSONResponse({"error": {"message": f"upstream rejected {SECRET}\n\nretry later"}}, 500))
    message = _fails(_policy(base_url))
    assert "HTTP 500" in message and "upstream rejected *** retry later" in message


def test_rate_limit_passes_but_a_spent_quota_does_not(hostile: tuple[FastAPI, str]) -> None:
    app, base_url = hostile
    replies = [
        JSONResponse({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}, 429),
        JSONResponse({"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}, 429),
    ]
    _chat_route(app, lambda: replies.pop(0))
    preflight(_policy(base_url))  # the run's own retries wait out a rate limit
    assert "refused for quota" in _fails(_policy(base_url))


def test_an_unexpected_failure_of_a_check_is_a_preflight_error() -> None:
    class Broken:
        info = OraclePolicy().info

        def preflight(self) -> None:
            raise KeyError("choices")

    with pytest.raises(PreflightError, match="pre-flight check of the oracle policy failed: KeyError"):
        preflight(Broken())  # type: ignore[arg-type]


def test_password_in_the_base_url_is_not_shown() -> None:
    with serve_mock() as base_url:
        pass
    with_password = base_url.replace("http://", "http://user:hunter2@")
    message = _fails(_policy(with_password))
    assert "hunter2" not in message and "***@127.0.0.1" in message


# -- the transformers policy: its load is its pre-flight ----------------------------------------


def test_transformers_model_that_does_not_resolve_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    with pytest.raises(PreflightError) as info:
        make_policy(PolicySpec(name="transformers", options={"model": str(tmp_path / "nowhere")}))
    message = str(info.value)
    assert message.startswith("cannot load the transformers model") and "not a local model directory" in message
    assert "\n" not in message
