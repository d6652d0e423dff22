"""A scripted, fault-injecting OpenAI-compatible server for tests and benchmarks.

``POST /v1/chat/completions`` answers every conversation with the same short script, picking the
turn from the number of assistant messages in the request: by default inspect (``list_files``),
run cheap code (``print(1)``), submit. A request carrying ``tools`` gets tool calls, any other a
JSON action as text. Each reply waits a fixed latency first, so a client's throughput can be
compared with the ideal the latency implies.

Faults are deterministic. A transient fault is drawn from a hash of (conversation, attempt
number): the same request sent again is a new attempt with a new draw, so retries can succeed,
and a rerun of the same workload meets the same faults. A permanent fault is drawn from a hash
of the conversation's task (system and first user message) alone, so every turn of that episode
and every retry fails the same way: the episode ends as an infrastructure failure, and a resumed
run with faults off completes it. Fault kinds: ``rate_limit`` (429 with Retry-After),
``server_error`` (500), ``timeout`` (no answer for ``timeout_sleep_s``) and ``malformed`` (a 200
whose body is not JSON, or JSON without ``choices``).

Misconfigurations a client must explain are there too, like real servers answer them: a required
key (401, echoing the key sent), a fixed list of models (404 ``model_not_found`` for any other),
no ``GET /v1/models`` route at all, and request fields the server refuses (400 naming the field,
as servers without ``parallel_tool_calls`` do). ``tool_calls_per_reply`` makes the tool-call
replies carry several calls (the script's next actions), as models that ignore
``parallel_tool_calls: false`` do.

The server binds to 127.0.0.1 only. ``serve_mock`` runs it in a background thread;
``python -m medagentgym.mock_llm --port N`` runs it in its own process (benchmarks use that so
its CPU time is not the client's), and with ``--reuse-port`` several such processes share one
port, the kernel spreading connections over them, for loads one process cannot answer.
``GET /stats`` names the answering process and the most chat requests it held at once.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from medagentgym.http_thread import serve_in_thread

HOST = "127.0.0.1"
FAULT_KINDS = ("rate_limit", "server_error", "timeout", "malformed")
DEFAULT_SCRIPT: tuple[dict[str, Any], ...] = (
    {"action": "list_files"},
    {"action": "execute_python", "code": "print(1)"},
    {"action": "submit", "answer": "1"},
)


def _unit(*parts: Any) -> float:
    """A deterministic draw in [0, 1) from the given parts."""
    digest = hashlib.blake2b(json.dumps(parts, sort_keys=True, default=str).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _digest(value: Any) -> str:
    return hashlib.blake2b(json.dumps(value, default=str).encode(), digest_size=12).hexdigest()


def _pick(draw: float, rates: Mapping[str, float]) -> str | None:
    """The fault whose slice of [0, 1) holds ``draw``, or None."""
    edge = 0.0
    for kind in FAULT_KINDS:
        edge += float(rates.get(kind, 0.0))
        if draw < edge:
            return kind
    return None


@dataclass
class RequestRecord:
    """What the mock saw and did for one request (tests read these)."""

    authorization: str | None
    body: dict[str, Any]
    turn: int
    attempt: int
    fault: str | None
    usage: dict[str, int] | None = None  # what a successful reply reported


@dataclass
class MockState:
    script: tuple[dict[str, Any], ...]
    latency_s: float
    faults: dict[str, float]
    permanent: dict[str, float]
    fault_sequence: tuple[str, ...]
    fail_matching: dict[str, str]
    require_key: str | None
    models: tuple[str, ...] | None
    tool_calls_per_reply: int
    refused_fields: tuple[str, ...]
    retry_after: str
    timeout_sleep_s: float
    record: bool
    attempts: dict[str, int] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    served: int = 0
    faults_served: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0  # chat requests being answered now, and the most at once
    peak_in_flight: int = 0

    def reset(self) -> None:
        self.attempts.clear()
        self.requests.clear()
        self.served = 0
        self.faults_served.clear()
        self.peak_in_flight = self.in_flight


def _conversation_keys(body: dict[str, Any]) -> tuple[str, str, int]:
    """(task key, request key, turn): the task is what stays fixed across an episode's turns."""
    messages = body.get("messages") or []
    head: list[Any] = []
    for message in messages:  # the system prompt and the task statement
        head.append(message.get("content") if isinstance(message, dict) else message)
        if isinstance(message, dict) and message.get("role") == "user":
            break
    task, request = (_digest([part, body.get("seed")]) for part in (head, messages))
    turn = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
    return task, request, turn


def _reply(state: MockState, body: dict[str, Any], request_key: str, turn: int) -> dict[str, Any]:
    last = len(state.script) - 1
    action = dict(state.script[min(turn, last)])
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if body.get("tools"):
        calls = []
        for i in range(state.tool_calls_per_reply):  # the script's next actions, as extra calls
            step = dict(state.script[min(turn + i, last)])
            name = step.pop("action")
            calls.append(
                {
                    "id": f"call_{request_key[:16]}" + (f"_{i}" if i else ""),
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(step)},
                }
            )
        message["tool_calls"] = calls
        finish = "tool_calls"
        completion_text = "".join(c["function"]["name"] + c["function"]["arguments"] for c in calls)
    else:
        message["content"] = completion_text = json.dumps(action)
        finish = "stop"
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
    prompt_tokens, completion_tokens = prompt_chars // 4 + 1, len(completion_text) // 4 + 1
    return {
        "id": f"chatcmpl-{request_key[:20]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "mock"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(message: str, kind: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status, headers=headers)


def _matching_fault(state: MockState, body: dict[str, Any]) -> str | None:
    if not state.fail_matching:
        return None
    users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    task = str(users[0].get("content") or "") if users else ""
    return next((kind for needle, kind in state.fail_matching.items() if needle in task), None)


async def _stall(request: Request, seconds: float) -> None:
    """Hold the request open (a 'timeout'), but stop once the client has given up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def create_app(
    script: Sequence[Mapping[str, Any]] | None = None,
    latency_s: float = 0.0,
    faults: Mapping[str, float] | None = None,
    *,
    permanent_faults: Mapping[str, float] | None = None,
    fault_sequence: Sequence[str] = (),
    fail_matching: Mapping[str, str] | None = None,
    require_key: str | None = None,
    models: Sequence[str] | None = None,
    models_route: bool = True,
    tool_calls_per_reply: int = 1,
    refused_fields: Sequence[str] = (),
    retry_after: str = "0",
    timeout_sleep_s: float = 30.0,
    record: bool = True,
) -> FastAPI:
    """The mock app. ``faults`` and ``permanent_faults`` map a fault kind to a probability
    (per attempt, respectively per conversation); their sums must stay within 1.
    ``fault_sequence`` fails the first attempts of every request with the given kinds in order
    (then it succeeds): exact retry tests. ``fail_matching`` maps a substring of the task's first
    user message to a kind that conversation always fails with: chosen permanent failures.
    ``require_key`` answers 401 unless the request carries ``Authorization: Bearer <key>``.
    ``models`` is the list ``GET /v1/models`` shows and the only names chat accepts (404
    ``model_not_found`` otherwise); without it the list shows ``mock`` and any name is served.
    ``models_route=False`` leaves ``GET /v1/models`` out (404). ``tool_calls_per_reply`` calls per
    tool-call reply; ``refused_fields`` are body fields answered with HTTP 400 naming the field.
    The app's ``state.mock`` (a :class:`MockState`) holds the request log and counters."""
    for rates in (faults or {}, permanent_faults or {}):
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; known: {FAULT_KINDS}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault probabilities must sum to at most 1")
    for kind in (*fault_sequence, *(fail_matching or {}).values()):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {FAULT_KINDS}")
    state = MockState(
        script=tuple(dict(step) for step in (script or DEFAULT_SCRIPT)),
        latency_s=latency_s,
        faults=dict(faults or {}),
        permanent=dict(permanent_faults or {}),
        fault_sequence=tuple(fault_sequence),
        fail_matching=dict(fail_matching or {}),
        require_key=require_key,
        models=tuple(models) if models is not None else None,
        tool_calls_per_reply=tool_calls_per_reply,
        refused_fields=tuple(refused_fields),
        retry_after=retry_after,
        timeout_sleep_s=timeout_sleep_s,
        record=record,
    )
    if not state.script:
        raise ValueError("the script needs at least one action")
    if state.tool_calls_per_reply < 1:
        raise ValueError("tool_calls_per_reply must be >= 1")
    app = FastAPI(title="medagentgym mock LLM", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.mock = state

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        # the pid tells apart the processes sharing a port (--reuse-port); the counters let a
        # benchmark see how many requests the server held at once
        return {"pid": os.getpid(), "served": state.served, "peak_in_flight": state.peak_in_flight}

    def refuse_key(authorization: str | None) -> Response | None:
        if state.require_key is None or authorization == f"Bearer {state.require_key}":
            return None
        # Like real APIs, echo the key that was sent: clients must keep it out of their logs.
        return _error(f"Incorrect API key provided: {authorization}", "invalid_request_error", 401)

    if models_route:

        @app.get("/v1/models")
        async def list_models(request: Request) -> Response:
            refused = refuse_key(request.headers.get("authorization"))
            if refused is not None:
                return refused
            names = state.models if state.models is not None else ("mock",)
            data = [{"id": name, "object": "model", "owned_by": "medagentgym"} for name in names]
            return JSONResponse({"object": "list", "data": data})

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        state.in_flight += 1
        state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        try:
            return await answer(request)
        finally:
            state.in_flight -= 1

    async def answer(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error("body is not JSON", "invalid_request_error", 400)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error("messages is required", "invalid_request_error", 400)
        task_key, request_key, turn = _conversation_keys(body)
        authorization = request.headers.get("authorization")
        refused = refuse_key(authorization)
        refused_field = next((f for f in state.refused_fields if f in body), None)
        if refused is None and refused_field is not None:
            refused = _error(f"Unrecognized request argument supplied: {refused_field}", "invalid_request_error", 400)
        if refused is None and state.models is not None and body.get("model") not in state.models:
            message = f"The model `{body.get('model')}` does not exist or you do not have access to it."
            refused = JSONResponse(
                {"error": {"message": message, "type": "invalid_request_error", "code": "model_not_found"}}, 404
            )
        if refused is not None:
            if state.record:
                state.requests.append(RequestRecord(authorization, body, turn, -1, None))
            return refused
        attempt = state.attempts.get(request_key, 0)
        state.attempts[request_key] = attempt + 1
        fault = (
            _matching_fault(state, body)
            or _pick(_unit("permanent", task_key), state.permanent)
            or (state.fault_sequence[attempt] if attempt < len(state.fault_sequence) else None)
            or _pick(_unit("transient", request_key, attempt), state.faults)
        )
        state.served += 1
        if fault is not None:
            state.faults_served[fault] = state.faults_served.get(fault, 0) + 1
        record = RequestRecord(authorization, body, turn, attempt, fault)
        if state.record:
            state.requests.append(record)
        if fault == "timeout":
            await _stall(request, state.timeout_sleep_s)
            return _error("stalled", "timeout", 504)
        if state.latency_s > 0:
            await asyncio.sleep(state.latency_s)
        if fault == "rate_limit":
            return _error("rate limit reached", "rate_limit_error", 429, {"Retry-After": state.retry_after})
        if fault == "server_error":
            return _error("internal error", "server_error", 500)
        if fault == "malformed":
            if _unit("malformed-shape", request_key, attempt) < 0.5:
                return PlainTextResponse("<html><body>502 upstream hiccup</body></html>", 200)
            return JSONResponse({"id": "chatcmpl-broken", "object": "chat.completion"}, 200)
        reply = _reply(state, body, request_key, turn)
        record.usage = reply["usage"]
        return JSONResponse(reply)

    return app


@contextmanager
def serve_mock(app: FastAPI | None = None, /, **create_options: Any) -> Iterator[str]:
    """Serve ``app`` (or ``create_app(**create_options)``) on 127.0.0.1 at a free port in a
    background thread; yields the base URL (``http://127.0.0.1:PORT/v1``)."""
    app = app if app is not None else create_app(**create_options)
    with serve_in_thread(app, HOST, name="mock-llm", lifespan="off", shutdown_s=2, start_timeout_s=20) as base:
        yield f"{base}/v1"


def _rates(text: str | None) -> dict[str, float]:
    """``"rate_limit=0.1,server_error=0.05"`` or a JSON object."""
    if not text:
        return {}
    if text.strip().startswith("{"):
        return {k: float(v) for k, v in json.loads(text).items()}
    return {k.strip(): float(v) for k, v in (part.split("=", 1) for part in text.split(",") if part.strip())}


def main(argv: Sequence[str] | None = None) -> None:
    """Run the mock in this process on 127.0.0.1 (for benchmarks and manual trials)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m medagentgym.mock_llm", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--faults", default=None, help='e.g. "rate_limit=0.1,server_error=0.1"')
    parser.add_argument("--permanent-faults", default=None)
    parser.add_argument("--timeout-sleep-s", type=float, default=30.0)
    parser.add_argument("--models", default=None, help="comma-separated model names served (default: any)")
    parser.add_argument("--record", action="store_true", help="keep a log of requests (memory grows)")
    parser.add_argument(
        "--reuse-port", action="store_true",
        help="bind with SO_REUSEPORT so that several mock processes share the port (the kernel spreads connections)",
    )
    parser.add_argument(
        "--keep-alive-s", type=float, default=5.0,
        help="seconds an idle connection stays open (uvicorn's and vLLM's default: 5)",
    )
    args = parser.parse_args(argv)
    app = create_app(
        latency_s=args.latency_s,
        faults=_rates(args.faults),
        permanent_faults=_rates(args.permanent_faults),
        timeout_sleep_s=args.timeout_sleep_s,
        record=args.record,
        models=[m.strip() for m in args.models.split(",") if m.strip()] if args.models else None,
    )
    config = uvicorn.Config(
        app, host=HOST, port=args.port, log_level="warning", access_log=False, lifespan="off", backlog=4096,
        timeout_keep_alive=args.keep_alive_s,
    )
    server = uvicorn.Server(config)
    if not args.reuse_port:
        server.run()
        return
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((HOST, args.port))
    listener.listen(4096)
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
