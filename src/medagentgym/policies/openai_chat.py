"""A policy that talks to any OpenAI-compatible chat-completions server.

One client for OpenAI, vLLM, SGLang, Ollama, llama.cpp and friends: they all accept
``POST {base_url}/chat/completions``. The client is plain ``httpx`` rather than the openai SDK so
that retries, backoff and their accounting stay ours: every transient failure absorbed by a retry
is counted by kind in ``PolicyReply.retries`` (and lands in the trajectory's ``api_retries``);
when retries run out, ``PolicyError(kind=...)`` ends the episode as an infrastructure failure,
which a resumed run retries instead of scoring it as the model's mistake.

The API key is read from an environment variable whose *name* is configured, at request time, and
lives only in the request headers: it is never stored on the policy, in ``PolicyInfo`` or in an
error message (any echo of it in a server's reply is masked).
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import os
import random
import ssl
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from medagentgym.catalog.sample import Sample
from medagentgym.env.actions import tool_schemas
from medagentgym.policies.base import PolicyError, PolicyReply
from medagentgym.policies.context import approx_tokens, fit_messages
from medagentgym.runs.schema import PolicyInfo, TokenUsage

ActionFormat = Literal["json", "tools"]
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Statuses worth another try (OpenAI's own guidance plus gateways' 5xx); other 4xx are final.
_RETRY_STATUS = {408: "timeout", 409: "server_error", 429: "rate_limit"}
_sleep = time.sleep  # module-level so tests can observe backoff without waiting


@dataclass
class _Transient:
    """A failed attempt that may be retried."""

    kind: str
    message: str
    retry_after: float | None = None


class _Clients:
    """Lazily created, shared connection pools: one sync client, async clients per event loop.

    An ``httpx.AsyncClient`` is bound to the loop it first ran in, and ``run_episode`` runs each
    episode in its own ``asyncio.run`` (possibly in several threads at once), so async clients
    are kept per running loop and closed with that loop: an async generator holds them, and
    ``asyncio.run`` finalizes async generators before it closes the loop
    (``loop.shutdown_asyncgens``), so no socket outlives its loop even without ``aclose()``.

    Each loop gets ``shards`` clients, used in turn. httpcore's pool re-scans all of its
    connections and queued requests on every request and release (encode/httpcore#1035), so one
    pool's CPU cost per call grows with the number of calls in flight; a few smaller pools keep
    it low at the hundreds of concurrent calls a rollout makes.
    """

    def __init__(self, timeout_s: float, max_connections: int | None, shards: int) -> None:
        self._timeout = httpx.Timeout(timeout_s)
        per_shard = None if max_connections is None else max(1, -(-max_connections // shards))
        self._limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        self._shards = max(1, shards)
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None  # loading CA certificates costs ~20 ms: once
        self._sync: httpx.Client | None = None
        self._async: dict[
            asyncio.AbstractEventLoop, tuple[list[httpx.AsyncClient | None], AsyncGenerator[None, None]]
        ] = {}

    def _options(self) -> dict[str, Any]:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return {"timeout": self._timeout, "limits": self._limits, "verify": self._ssl}

    def sync(self) -> httpx.Client:
        with self._lock:
            if self._sync is None:
                self._sync = httpx.Client(**self._options())
            return self._sync

    async def _close_with_loop(
        self, loop: asyncio.AbstractEventLoop, clients: list[httpx.AsyncClient | None]
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._lock:
                if loop in self._async and self._async[loop][0] is clients:
                    del self._async[loop]
            for client in clients:
                if client is not None:
                    await client.aclose()

    async def async_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            clients: list[httpx.AsyncClient | None] = [None] * self._shards
            guard = self._close_with_loop(loop, clients)
            await guard.__anext__()  # registers the generator with this loop's finalizer
            with self._lock:
                self._async[loop] = entry = (clients, guard)
        shard = next(self._turn) % self._shards
        client = entry[0][shard]
        if client is None:
            with self._lock:
                client = entry[0][shard] = httpx.AsyncClient(**self._options())
        return client

    def close(self) -> None:
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the sync client and the async clients of the running loop."""
        entry = self._async.get(asyncio.get_running_loop())
        if entry is not None:
            await entry[1].aclose()
        self.close()


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds, fractional allowed, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _normalize_tool_calls(raw: Any) -> list[dict[str, Any]] | None:
    """OpenAI's tool-call shape, whatever the server sent (dict arguments, missing ids)."""
    if not raw:
        return None
    calls = []
    for call in raw:
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        calls.append(
            {
                "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": function.get("name", ""), "arguments": arguments},
            }
        )
    return calls or None


class OpenAIChatPolicy:
    """Chat completions over HTTP, with retries, backoff and usage accounting.

    ``action_format="json"`` sends a plain chat and expects a JSON action in the text;
    ``"tools"`` sends the action tools and reads ``tool_calls``. With ``seeded=True`` each
    request carries the episode's seed (from ``start_episode``), so reruns can repeat where the
    server honours seeds. ``context_tokens`` is the model's window: the conversation is fitted
    into it (less the completion budget and the tool definitions) with an approximate counter.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key_env: str | None = "OPENAI_API_KEY",
        action_format: ActionFormat = "json",
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seeded: bool = False,
        timeout_s: float = 120.0,
        max_retries: int = 6,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        max_retry_after_s: float = 300.0,
        context_tokens: int = 32_768,
        prices: Mapping[str, float] | None = None,
        max_connections: int | None = None,
        pool_shards: int = 8,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        if action_format not in ("json", "tools"):
            raise ValueError(f"action_format must be 'json' or 'tools', not {action_format!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env or None
        self.action_format: ActionFormat = action_format
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self.stop = [stop] if isinstance(stop, str) else (list(stop) if stop else None)
        self.seeded = seeded
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self.context_tokens = context_tokens
        self.extra_body = dict(extra_body or {})
        self.seed: int | None = None
        self._clients = _Clients(timeout_s, max_connections, pool_shards)
        self._rng = random.Random()
        sampling: dict[str, Any] = {
            key: value
            for key, value in (
                ("temperature", temperature),
                ("top_p", top_p),
                ("max_tokens", max_tokens),
                ("stop", self.stop),
            )
            if value is not None
        }
        if seeded:
            sampling["seeded"] = True
        if self.extra_body:  # server-specific sampling knobs (e.g. vLLM's repetition_penalty)
            sampling["extra_body"] = dict(self.extra_body)
        self.info = PolicyInfo(
            name=self.name,
            model=model,
            sampling=sampling,
            action_format=action_format,
            prices=dict(prices or {}),
        )

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def from_options(cls, **options: Any) -> OpenAIChatPolicy:
        """Build from CLI-style options; values may be strings (``temperature="0.2"``).

        ``model`` is required. ``stop`` may be a list or one string; ``prices`` a mapping or
        ``"prompt=2.5,completion=10"`` (USD per million tokens); booleans accept true/false/1/0.
        """
        aliases = {"format": "action_format", "timeout": "timeout_s", "api_key_var": "api_key_env"}
        options = {aliases.get(k, k).replace("-", "_"): v for k, v in options.items() if v is not None}
        floats = {"temperature", "top_p", "timeout_s", "backoff_base_s", "backoff_max_s", "max_retry_after_s"}
        ints = {"max_tokens", "max_retries", "context_tokens", "max_connections", "pool_shards"}
        known = floats | ints | {
            "model", "base_url", "api_key_env", "action_format", "stop", "seeded", "prices", "extra_body"
        }
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(
                f"unknown option(s) for the openai policy: {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        if "model" not in options:
            raise ValueError("the openai policy needs a model (e.g. model=gpt-4o-mini)")
        kwargs: dict[str, Any] = {}
        for key, value in options.items():
            if key in floats:
                kwargs[key] = float(value)
            elif key in ints:
                kwargs[key] = int(value)
            elif key == "seeded":
                truthy = str(value).strip().lower() in ("1", "true", "yes", "on")
                kwargs[key] = value if isinstance(value, bool) else truthy
            elif key == "prices" and isinstance(value, str):
                pairs = (part.split("=", 1) for part in value.split(",") if part.strip())
                kwargs[key] = {k.strip(): float(v) for k, v in pairs}
            elif key == "extra_body" and isinstance(value, str):
                kwargs[key] = json.loads(value)
            else:
                kwargs[key] = value
        model = kwargs.pop("model")
        return cls(str(model), **kwargs)

    def start_episode(self, sample: Sample, *, seed: int = 0) -> OpenAIChatPolicy:
        """A view for one episode: same settings and connection pools, the episode's seed."""
        episode = object.__new__(type(self))
        episode.__dict__.update(self.__dict__)
        episode.seed = seed
        episode._rng = random.Random(seed)
        return episode

    def close(self) -> None:
        self._clients.close()

    async def aclose(self) -> None:
        await self._clients.aclose()

    def __enter__(self) -> OpenAIChatPolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _scrub(self, text: str) -> str:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return text.replace(key, "***") if key else text

    def request_body(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        """The JSON body of one chat-completions call (the conversation fitted to the window)."""
        body: dict[str, Any] = {"model": self.model}
        if self.action_format == "tools":
            body["tools"] = tools or tool_schemas()
        budget = self.context_tokens - (self.max_tokens or 0)
        if "tools" in body:
            budget -= approx_tokens(json.dumps(body["tools"]))
        body["messages"] = fit_messages(messages, max(256, budget))
        for key, value in (
            ("temperature", self.temperature),
            ("top_p", self.top_p),
            ("max_tokens", self.max_tokens),
            ("stop", self.stop),
        ):
            if value is not None:
                body[key] = value
        if self.seeded and self.seed is not None:
            body["seed"] = self.seed
        body.update(self.extra_body)
        return body

    def _interpret(self, response: httpx.Response) -> PolicyReply | _Transient:
        status = response.status_code
        if status in _RETRY_STATUS or status >= 500:
            kind = _RETRY_STATUS.get(status, "server_error")
            retry_after = _parse_retry_after(response.headers.get("retry-after"))
            return _Transient(kind, f"HTTP {status}: {self._scrub(response.text[:300])}", retry_after)
        if status >= 400:
            kind = "auth" if status in (401, 403) else "bad_request"
            excerpt = self._scrub(response.text[:500])
            raise PolicyError(f"HTTP {status} from {self.base_url}: {excerpt}", kind=kind)
        try:
            payload = response.json()
            message = payload["choices"][0]["message"]
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            excerpt = self._scrub(response.text[:200])
            return _Transient("malformed_reply", f"malformed reply ({type(exc).__name__}): {excerpt!r}")
        usage = payload.get("usage") or {}
        tool_calls = _normalize_tool_calls(message.get("tool_calls"))
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            content = json.dumps(content)
        return PolicyReply(
            content=content if (content is not None or tool_calls) else "",
            tool_calls=tool_calls,
            usage=TokenUsage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            ),
        )

    @staticmethod
    def _transport_failure(exc: httpx.TransportError) -> _Transient:
        kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
        return _Transient(kind, f"{type(exc).__name__}: {exc}")

    def retry_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based).

        A server's Retry-After wins (capped by ``max_retry_after_s``); otherwise exponential
        backoff with jitter (half fixed, half random) so that many episodes do not retry in step.
        """
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def _give_up(self, failure: _Transient, retries: dict[str, int]) -> PolicyError:
        attempts = self.max_retries + 1
        message = f"{failure.kind} after {attempts} attempt(s) to {self.base_url}: {failure.message}"
        # The failures absorbed before the last one travel along, so the trajectory counts them.
        return PolicyError(self._scrub(message), kind=failure.kind, retries=retries)

    def _note(self, failure: _Transient, retries: dict[str, int]) -> None:
        retries[failure.kind] = retries.get(failure.kind, 0) + 1

    def _settle(
        self, outcome: PolicyReply | _Transient, attempt: int, retries: dict[str, int]
    ) -> PolicyReply | float:
        """The one retry rule of both clients: the reply, or how long to wait before retrying.

        Raises the final ``PolicyError`` once the retries are spent.
        """
        if isinstance(outcome, PolicyReply):
            outcome.retries = retries
            return outcome
        if attempt == self.max_retries:
            raise self._give_up(outcome, retries)
        self._note(outcome, retries)
        return self.retry_delay(attempt, outcome.retry_after)

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> PolicyReply:
        url, body, retries = f"{self.base_url}/chat/completions", self.request_body(messages, tools), {}
        for attempt in range(self.max_retries + 1):
            try:
                outcome = self._interpret(self._clients.sync().post(url, json=body, headers=self._headers()))
            except httpx.TransportError as exc:
                outcome = self._transport_failure(exc)
            settled = self._settle(outcome, attempt, retries)
            if isinstance(settled, PolicyReply):
                return settled
            _sleep(settled)
        raise AssertionError("unreachable")

    async def aact(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> PolicyReply:
        url, body, retries = f"{self.base_url}/chat/completions", self.request_body(messages, tools), {}
        for attempt in range(self.max_retries + 1):
            try:
                client = await self._clients.async_client()
                outcome = self._interpret(await client.post(url, json=body, headers=self._headers()))
            except httpx.TransportError as exc:
                outcome = self._transport_failure(exc)
            settled = self._settle(outcome, attempt, retries)
            if isinstance(settled, PolicyReply):
                return settled
            await asyncio.sleep(settled)
        raise AssertionError("unreachable")


def from_options(**options: Any) -> OpenAIChatPolicy:
    """The CLI's factory: ``from_options(model=..., base_url=..., temperature="0.2", ...)``."""
    return OpenAIChatPolicy.from_options(**options)
