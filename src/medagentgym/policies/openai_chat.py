"""A policy that talks to any OpenAI-compatible chat-completions server.

One client for OpenAI, vLLM, SGLang, Ollama, llama.cpp and friends: they all accept
``POST {base_url}/chat/completions``. The client is plain ``httpx`` rather than the openai SDK so
that retries, backoff and their accounting stay ours: every transient failure absorbed by a retry
is counted by kind in ``PolicyReply.retries`` (and lands in the trajectory's ``api_retries``);
when retries run out, ``PolicyError(kind=...)`` ends the episode as an infrastructure failure,
which a resumed run retries instead of scoring it as the model's mistake. The retry loop itself is
tenacity's (stop after ``max_retries`` retries, our wait rule, our counting hook); what counts as
transient, and how long to wait, is decided here.

``preflight()`` checks the endpoint, the key and the model name with at most two short requests
before a run starts, so a misconfiguration fails in seconds with the server's reason instead of
turning every episode into a retried infrastructure failure.

In the "tools" action format every request says ``"parallel_tool_calls": false``: the env takes
one action per turn. A server that refuses the field (HTTP 400 naming it) gets the request again
without it, and the policy remembers not to send it to that server again.

The API key is read from an environment variable whose *name* is configured, at request time, and
lives only in the request headers: it is never stored on the policy, in ``PolicyInfo`` or in an
error message (any echo of it in a server's reply is masked).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import email.utils
import json
import math
import os
import random
import re
import ssl
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from medagentgym.catalog.sample import Sample
from medagentgym.env.actions import tool_schemas
from medagentgym.policies.base import PolicyError, PolicyReply, PreflightError
from medagentgym.policies.context import approx_tokens, fit_messages
from medagentgym.runs.schema import PolicyInfo, TokenUsage
from medagentgym.untrusted import UntrustedJSONError, clean_text, loads_bounded

ActionFormat = Literal["json", "tools"]
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Statuses worth another try (OpenAI's own guidance plus gateways' 5xx); other 4xx are final.
_RETRY_STATUS = {408: "timeout", 409: "server_error", 429: "rate_limit"}
_sleep = time.sleep  # module-level so tests can observe backoff without waiting
# Body keys the policy owns: ``extra_body`` adds server knobs, it never replaces the conversation,
# the model or the tools, and never asks for a streamed reply this client cannot read.
RESERVED_BODY_KEYS = ("messages", "model", "stream", "tools")
PRICE_KEYS = ("prompt", "completion")  # USD per million tokens, as the report reads them
PARALLEL_TOOL_CALLS = "parallel_tool_calls"
# Pre-flight bounds: a reply body larger than this is not a chat reply; connecting takes seconds.
PREFLIGHT_MAX_BYTES = 4 * 1024 * 1024
PREFLIGHT_CONNECT_S = 10.0
PREFLIGHT_PROMPT = "Reply with the single word OK."
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


class _Transient(Exception):
    """A failed attempt that may be retried (returned by ``_interpret``, raised to tenacity)."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


@dataclass
class _ServerQuirks:
    """What one server turned out not to accept; shared by every episode view of a policy."""

    parallel_tool_calls: bool = True


# Requests in flight per async connection pool before another pool opens (see ``_Clients``).
CALLS_PER_POOL = 1
# Seconds an idle connection is kept for reuse: below the 5 s after which uvicorn (and so vLLM
# and SGLang) closes an idle connection, so the client never sends on a connection the server is
# closing at that moment (a dropped request, seen as ReadError, at hundreds of calls in flight).
KEEPALIVE_S = 3.0


class _Pool:
    """One ``httpx.AsyncClient`` and the number of requests it carries now."""

    __slots__ = ("client", "in_flight")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.in_flight = 0


class _LoopPools:
    """The async pools of one event loop: every pool (for closing), the pools with room (a
    stack, so a lone caller keeps reusing the same pool and its warm connection), and, under a
    connection cap, the condition a request waits on for room."""

    def __init__(self, guard: AsyncGenerator[None, None], capped: bool) -> None:
        self.guard = guard
        self.pools: list[_Pool] = []
        self.with_room: list[_Pool] = []
        self.room = asyncio.Condition() if capped else None


class _Clients:
    """Lazily created, shared connection pools: one sync client, async pools per event loop.

    An ``httpx.AsyncClient`` is bound to the loop it first ran in, and ``run_episode`` runs each
    episode in its own ``asyncio.run`` (possibly in several threads at once), so async clients
    are kept per running loop and closed with that loop: an async generator holds them, and
    ``asyncio.run`` finalizes async generators before it closes the loop
    (``loop.shutdown_asyncgens``), so no socket outlives its loop even without ``aclose()``.

    httpcore's pool re-scans all of its connections and queued requests on every request and
    release (encode/httpcore#1035), so one pool's CPU per call grows with the calls in flight in
    it. Measured against the mock with 1,024 calls in flight (client CPU per call): 4.7 ms over
    8 fixed pools, 1.8 ms with 8 calls per pool, 1.3 ms with one. So each loop leases pools by
    load: a request takes a pool with fewer than ``calls_per_pool`` requests in flight (the most
    recently freed first, whose connection is warm) and a new pool opens when none has room; the
    pool count follows the peak of calls in flight. ``max_connections`` caps the connections over
    all of a loop's pools: at most ``max_connections // calls_per_pool`` pools, and a request that
    finds them all busy waits for one to free.
    """

    def __init__(self, timeout_s: float, max_connections: int | None, calls_per_pool: int = CALLS_PER_POOL) -> None:
        if calls_per_pool < 1:
            raise ValueError(f"calls_per_pool must be >= 1, got {calls_per_pool}")
        if max_connections is not None and max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self._timeout = httpx.Timeout(timeout_s)
        self.calls_per_pool = calls_per_pool if max_connections is None else min(calls_per_pool, max_connections)
        self.max_pools = None if max_connections is None else max_connections // self.calls_per_pool
        self._sync_limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=KEEPALIVE_S
        )
        self._pool_limits = httpx.Limits(
            max_connections=self.calls_per_pool,
            max_keepalive_connections=self.calls_per_pool,
            keepalive_expiry=KEEPALIVE_S,
        )
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None  # loading CA certificates costs ~20 ms: once
        self._sync: httpx.Client | None = None
        self._async: dict[asyncio.AbstractEventLoop, _LoopPools] = {}

    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def sync(self) -> httpx.Client:
        with self._lock:
            if self._sync is None:
                self._sync = httpx.Client(timeout=self._timeout, limits=self._sync_limits, verify=self.ssl_context())
            return self._sync

    async def _close_with_loop(self, loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._lock:
                entry = self._async.pop(loop, None)
            for pool in entry.pools if entry is not None else ():
                await pool.client.aclose()

    async def _loop_pools(self) -> _LoopPools:
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            guard = self._close_with_loop(loop)
            await guard.__anext__()  # registers the generator with this loop's finalizer
            with self._lock:
                self._async[loop] = entry = _LoopPools(guard, capped=self.max_pools is not None)
        return entry

    def _take(self, entry: _LoopPools) -> _Pool:
        """A pool with room (opening one if allowed); the caller made sure there is one."""
        if entry.with_room:
            pool = entry.with_room[-1]
        else:
            client = httpx.AsyncClient(timeout=self._timeout, limits=self._pool_limits, verify=self.ssl_context())
            pool = _Pool(client)
            entry.pools.append(pool)
            entry.with_room.append(pool)
        pool.in_flight += 1
        if pool.in_flight == self.calls_per_pool:  # it was the top of the stack
            entry.with_room.pop()
        return pool

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[httpx.AsyncClient]:
        """An async client with room for one more request, for the length of the block."""
        entry = await self._loop_pools()
        if entry.room is None:
            pool = self._take(entry)
        else:
            max_pools = self.max_pools or 1
            async with entry.room:
                await entry.room.wait_for(lambda: bool(entry.with_room) or len(entry.pools) < max_pools)
                pool = self._take(entry)
        try:
            yield pool.client
        finally:
            pool.in_flight -= 1
            if pool.in_flight == self.calls_per_pool - 1:
                entry.with_room.append(pool)
            if entry.room is not None:
                async with entry.room:
                    entry.room.notify()

    def pool_count(self) -> int:
        """Async pools open in the running loop (tests, benchmarks)."""
        entry = self._async.get(asyncio.get_running_loop())
        return len(entry.pools) if entry is not None else 0

    def close(self) -> None:
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the sync client and the async clients of the running loop."""
        entry = self._async.get(asyncio.get_running_loop())
        if entry is not None:
            await entry.guard.aclose()
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


# -- options ------------------------------------------------------------------------------------


def parse_prices(value: Mapping[str, Any] | str | None) -> dict[str, float]:
    """USD per million tokens as ``{"prompt": x, "completion": y}``, from a mapping or from
    ``"prompt=2.5,completion=10"``; a missing side (None) is left out. Raises a one-line ValueError."""
    if value is None:
        return {}
    if isinstance(value, str):
        pairs: dict[str, Any] = {}
        for part in (p for p in value.split(",") if p.strip()):
            key, sep, number = part.partition("=")
            if not sep:
                raise ValueError(
                    f"prices: expected prompt=USD,completion=USD per million tokens, got {value!r}"
                )
            pairs[key.strip()] = number.strip()
        value = pairs
    if not isinstance(value, Mapping):
        raise ValueError(f"prices: expected a mapping of {' and '.join(PRICE_KEYS)}, got {type(value).__name__}")
    prices: dict[str, float] = {}
    for key, raw in value.items():
        if key not in PRICE_KEYS:
            raise ValueError(f"prices: unknown key {str(key)!r} (known: {', '.join(PRICE_KEYS)})")
        if raw is None:
            continue
        try:
            price = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"prices: {key} must be a number of USD per million tokens, got {raw!r}") from None
        if not math.isfinite(price) or price < 0:
            raise ValueError(f"prices: {key} must be a finite number >= 0, got {raw!r}")
        prices[key] = price
    return prices


def parse_extra_body(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Server-specific body fields, from a mapping or a JSON object string.

    Refuses (one-line ValueError) invalid JSON, anything but an object, and keys the policy owns
    (``RESERVED_BODY_KEYS``): an extra body that replaced the messages would silently run another
    benchmark than the one recorded."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = loads_bounded(value, max_depth=32, max_chars=1_000_000)
        except UntrustedJSONError as exc:
            raise ValueError(f"extra_body is {exc}; expected a JSON object such as '{{\"top_k\": 20}}'") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"extra_body must be a JSON object, got {type(value).__name__}")
    reserved = sorted(set(value) & set(RESERVED_BODY_KEYS))
    if reserved:
        raise ValueError(
            f"extra_body may not set {', '.join(reserved)} (the policy owns {', '.join(RESERVED_BODY_KEYS)})"
        )
    return dict(value)


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{key} must be true or false, got {value!r}")


def _number(key: str, value: Any, kind: type[int] | type[float]) -> int | float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        noun = "an integer" if kind is int else "a number"
        raise ValueError(f"{key} must be {noun}, got {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number, got {value!r}")
    return number


# -- untrusted replies --------------------------------------------------------------------------


def _one_line(text: str, limit: int = 240) -> str:
    """Untrusted text as one printable line of at most ``limit`` characters."""
    flat = "".join(ch if ch.isprintable() else " " for ch in clean_text(text[: limit * 4]))
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _public_url(url: str) -> str:
    """The URL without user:password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def _unreachable(exc: Exception, timeout_s: float) -> str:
    """Why a connection failed, in a few words (refused, DNS, TLS, timeout)."""
    text = str(exc)
    low = text.lower()
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s"
    if "refused" in low:
        return "connection refused"
    if any(m in low for m in ("name or service not known", "nodename nor servname", "name resolution",
                              "getaddrinfo", "no address associated")):
        return "host name not found (DNS)"
    if any(m in low for m in ("ssl", "certificate", "tls")):
        return f"TLS handshake failed ({_one_line(text, 160)})"
    return _one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


class _Unreadable(Exception):
    """A pre-flight reply that could not be read whole within its bounds."""


def _read_capped(response: httpx.Response, limit: int, deadline: float) -> bytes:
    """The body, refusing more than ``limit`` bytes or reading past ``deadline`` (a slow drip)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _Unreadable(f"a reply larger than {limit // (1024 * 1024)} MB")
        if time.monotonic() > deadline:
            raise _Unreadable("a reply still arriving after the request timeout")
        chunks.append(chunk)
    return b"".join(chunks)


def _error_text(payload: bytes) -> str:
    """The message of an error body (OpenAI's ``{"error": {"message"}}`` and kin), else the text."""
    text = payload[:64_000].decode("utf-8", "replace")
    try:
        data = loads_bounded(text, max_depth=16)
    except UntrustedJSONError:
        return text
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return data["message"]
    return text


def _model_ids(payload: bytes) -> list[str] | None:
    """Model names of a ``GET /models`` reply (OpenAI's ``{"data": [{"id"}]}``), None if unreadable."""
    try:
        data = loads_bounded(payload.decode("utf-8", "replace"), max_depth=32)
    except UntrustedJSONError:
        return None
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return None
    ids = [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]
    return ids or None


def _close_names(model: str, served: Sequence[str], n: int = 10) -> list[str]:
    """Served names that look like ``model``: near spellings first, then names containing it."""
    lowered = {name.lower(): name for name in served}
    close = [lowered[m] for m in difflib.get_close_matches(model.lower(), list(lowered), n=n, cutoff=0.6)]
    needle = model.lower().rsplit("/", 1)[-1]
    for name in served:
        if len(close) >= n:
            break
        if name not in close and needle and (needle in name.lower() or name.lower() in model.lower()):
            close.append(name)
    return close


class OpenAIChatPolicy:
    """Chat completions over HTTP, with retries, backoff and usage accounting.

    ``action_format="json"`` sends a plain chat and expects a JSON action in the text;
    ``"tools"`` sends the action tools and reads ``tool_calls``. With ``seeded=True`` each
    request carries the episode's seed (from ``start_episode``), so reruns can repeat where the
    server honours seeds. ``context_tokens`` is the model's window: the conversation is fitted
    into it (less the completion budget and the tool definitions) with an approximate counter.
    ``prices`` (USD per million prompt and completion tokens) let reports show cost;
    ``extra_body`` adds server-specific fields (e.g. vLLM's ``top_k``) to every request.
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
        prices: Mapping[str, Any] | str | None = None,
        max_connections: int | None = None,
        calls_per_pool: int = CALLS_PER_POOL,
        extra_body: Mapping[str, Any] | str | None = None,
    ) -> None:
        if action_format not in ("json", "tools"):
            raise ValueError(f"action_format must be 'json' or 'tools', not {action_format!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if not model or not str(model).strip():
            raise ValueError("the openai policy needs a model name (e.g. model=gpt-4o-mini)")
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("http", "https") or not urllib.parse.urlsplit(base_url).netloc:
            raise ValueError(f"base_url must be an http:// or https:// URL, got {_public_url(base_url)!r}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        if context_tokens < 1:
            raise ValueError(f"context_tokens must be a positive number of tokens, got {context_tokens}")
        if max_tokens is not None and not 0 < max_tokens < context_tokens:
            raise ValueError(f"max_tokens must be > 0 and below context_tokens ({context_tokens}), got {max_tokens}")
        prices = parse_prices(prices)
        extra_body = parse_extra_body(extra_body)
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
        self._clients = _Clients(timeout_s, max_connections, calls_per_pool)
        self._quirks = _ServerQuirks()
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
            prices=prices,
        )

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def from_options(cls, **options: Any) -> OpenAIChatPolicy:
        """Build from CLI-style options; values may be strings (``temperature="0.2"``).

        ``model`` is required. ``stop`` may be a list or one string; ``prices`` a mapping
        ``{"prompt": x, "completion": y}`` or ``"prompt=2.5,completion=10"`` (USD per million
        tokens); ``extra_body`` a mapping or a JSON object string; ``context_tokens`` the model's
        window; booleans accept true/false/1/0/yes/no/on/off. Every bad value is a one-line
        ValueError that names the option.
        """
        aliases = {"format": "action_format", "timeout": "timeout_s", "api_key_var": "api_key_env"}
        options = {aliases.get(k, k).replace("-", "_"): v for k, v in options.items() if v is not None}
        floats = {"temperature", "top_p", "timeout_s", "backoff_base_s", "backoff_max_s", "max_retry_after_s"}
        ints = {"max_tokens", "max_retries", "context_tokens", "max_connections", "calls_per_pool"}
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
                kwargs[key] = _number(key, value, float)
            elif key in ints:
                kwargs[key] = _number(key, value, int)
            elif key == "seeded":
                kwargs[key] = _flag(key, value)
            elif key == "prices":
                kwargs[key] = parse_prices(value)
            elif key == "extra_body":
                kwargs[key] = parse_extra_body(value)
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
        """``text`` without the API key: its value, and any bearer token a server echoed."""
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            text = text.replace(key, "***")
        return _BEARER.sub(r"\1***", text)

    @property
    def display_url(self) -> str:
        """``base_url`` as messages show it (without user:password)."""
        return _public_url(self.base_url)

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
        if "tools" in body and self._quirks.parallel_tool_calls:
            body[PARALLEL_TOOL_CALLS] = False  # one action per turn: the env runs one call
        body.update(self.extra_body)
        return body

    def _drop_refused_field(self, response: httpx.Response, body: dict[str, Any]) -> bool:
        """True when the server refused ``parallel_tool_calls`` (HTTP 400/422 naming it): the
        field is taken out of ``body`` and, for this server, out of every later request."""
        if response.status_code not in (400, 422) or PARALLEL_TOOL_CALLS not in body:
            return False
        if PARALLEL_TOOL_CALLS not in response.text[:4000] or PARALLEL_TOOL_CALLS in self.extra_body:
            return False
        self._quirks.parallel_tool_calls = False
        del body[PARALLEL_TOOL_CALLS]
        return True

    def _interpret(self, response: httpx.Response) -> PolicyReply | _Transient:
        status = response.status_code
        if status in _RETRY_STATUS or status >= 500:
            kind = _RETRY_STATUS.get(status, "server_error")
            retry_after = _parse_retry_after(response.headers.get("retry-after"))
            return _Transient(kind, f"HTTP {status}: {self._scrub(response.text[:300])}", retry_after)
        if status >= 400:
            kind = "auth" if status in (401, 403) else "bad_request"
            excerpt = self._scrub(response.text[:500])
            raise PolicyError(f"HTTP {status} from {self.display_url}: {excerpt}", kind=kind)
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
        message = f"{failure.kind} after {attempts} attempt(s) to {self.display_url}: {failure.message}"
        # The failures absorbed before the last one travel along, so the trajectory counts them.
        return PolicyError(self._scrub(message), kind=failure.kind, retries=retries)

    def _retry_rule(self, retries: dict[str, int]) -> dict[str, Any]:
        """The one retry rule of both clients, as tenacity arguments.

        Only ``_Transient`` failures are retried (a ``PolicyError`` such as HTTP 401 goes straight
        through); the wait is ``retry_delay``; each failure that a retry absorbs is counted by kind
        in ``retries`` just before the wait (so the last, unabsorbed failure is not counted); once
        ``max_retries`` retries are spent the last ``_Transient`` is re-raised for ``_give_up``.
        """

        def failure(state: RetryCallState) -> _Transient:
            assert state.outcome is not None
            error = state.outcome.exception()
            assert isinstance(error, _Transient)
            return error

        def wait(state: RetryCallState) -> float:
            return self.retry_delay(state.attempt_number - 1, failure(state).retry_after)

        def count(state: RetryCallState) -> None:
            kind = failure(state).kind
            retries[kind] = retries.get(kind, 0) + 1

        return {
            "stop": stop_after_attempt(self.max_retries + 1),
            "wait": wait,
            "retry": retry_if_exception_type(_Transient),
            "before_sleep": count,
            "reraise": True,
        }

    def _attempt(self, url: str, body: dict[str, Any]) -> PolicyReply:
        """One request (two if the server refuses ``parallel_tool_calls``); raises ``_Transient``."""
        try:
            client = self._clients.sync()
            response = client.post(url, json=body, headers=self._headers())
            if self._drop_refused_field(response, body):
                response = client.post(url, json=body, headers=self._headers())
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from None
        outcome = self._interpret(response)
        if isinstance(outcome, _Transient):
            raise outcome
        return outcome

    async def _aattempt(self, url: str, body: dict[str, Any]) -> PolicyReply:
        """The async form of ``_attempt``."""
        try:
            async with self._clients.lease() as client:
                response = await client.post(url, json=body, headers=self._headers())
                if self._drop_refused_field(response, body):
                    response = await client.post(url, json=body, headers=self._headers())
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from None
        outcome = self._interpret(response)
        if isinstance(outcome, _Transient):
            raise outcome
        return outcome

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> PolicyReply:
        url, body, retries = f"{self.base_url}/chat/completions", self.request_body(messages, tools), {}
        try:
            # ``_sleep`` is looked up per call so that tests can record the waits instead.
            reply = Retrying(sleep=_sleep, **self._retry_rule(retries))(self._attempt, url, body)
        except _Transient as failure:
            raise self._give_up(failure, retries) from None
        reply.retries = retries
        return reply

    async def aact(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> PolicyReply:
        url, body, retries = f"{self.base_url}/chat/completions", self.request_body(messages, tools), {}
        try:
            retrying = AsyncRetrying(sleep=asyncio.sleep, **self._retry_rule(retries))
            reply = await retrying(self._aattempt, url, body)
        except _Transient as failure:
            raise self._give_up(failure, retries) from None
        reply.retries = retries
        return reply

    # -- pre-flight ------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Check, before any episode, that the endpoint answers, accepts the key and serves the model.

        ``GET {base_url}/models`` first: an auth refusal fails at once, a listed model passes.
        Otherwise (no such route, an unreadable list, the model not listed) a one-token chat
        completion decides, and an unknown model is named with the closest listed names. Each
        request is bounded by the request timeout and the reply by ``PREFLIGHT_MAX_BYTES``; nothing
        is retried, so a wrong setting fails in seconds. Raises ``PreflightError`` (one line, the
        key masked).
        """
        timeout = httpx.Timeout(self.timeout_s, connect=min(PREFLIGHT_CONNECT_S, self.timeout_s))
        with httpx.Client(timeout=timeout, verify=self._clients.ssl_context()) as client:
            status, payload = self._preflight_request(client, "GET", "/models")
            if status in (401, 403):
                raise self._auth_refused(status, payload)
            served = _model_ids(payload) if status == 200 else None
            if served is not None and self.model in served:
                return
            probe = {
                "model": self.model,
                "messages": [{"role": "user", "content": PREFLIGHT_PROMPT}],
                "max_tokens": 1,
                **self.extra_body,
            }
            status, payload = self._preflight_request(client, "POST", "/chat/completions", probe)
        self._judge_probe(status, payload, served)

    def _preflight_request(
        self, client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        url = f"{self.display_url}{path}"
        deadline = time.monotonic() + self.timeout_s
        try:
            with client.stream(method, f"{self.base_url}{path}", json=body, headers=self._headers()) as response:
                return response.status_code, _read_capped(response, PREFLIGHT_MAX_BYTES, deadline)
        except httpx.TransportError as exc:
            reason = _unreachable(exc, self.timeout_s)
            raise PreflightError(self._scrub(f"cannot reach {self.display_url}: {reason}")) from None
        except _Unreadable as exc:
            raise PreflightError(f"malformed reply from {url}: {exc}") from None
        except httpx.HTTPError as exc:  # a body that does not decode (bad gzip and the like)
            raise PreflightError(self._scrub(f"malformed reply from {url}: {_one_line(str(exc))}")) from None

    def _excerpt(self, payload: bytes) -> str:
        return _one_line(self._scrub(_error_text(payload)))

    def _auth_refused(self, status: int, payload: bytes) -> PreflightError:
        variable = self.api_key_env
        if variable is None:
            why = "wants an API key; name the variable that holds it with --api-key-env"
        elif not os.environ.get(variable):
            why = f"wants an API key and ${variable} is not set"
        else:
            why = f"refused the API key in ${variable}"
        return PreflightError(f"{self.display_url} {why} (HTTP {status}: {self._excerpt(payload)})")

    def _unknown_model(self, status: int, payload: bytes, served: list[str] | None) -> PreflightError:
        message = f"unknown model {self.model!r} at {self.display_url} (HTTP {status}: {self._excerpt(payload)})"
        if served:
            close = _close_names(self.model, served)
            if close:
                message += f"; close names: {', '.join(close)}"
            else:
                shown = ", ".join(sorted(served)[:10])
                message += f"; it serves {len(served)} model(s): {shown}{', ...' if len(served) > 10 else ''}"
        return PreflightError(_one_line(message, 600))

    def _judge_probe(self, status: int, payload: bytes, served: list[str] | None) -> None:
        """Pass, or raise the PreflightError that the one-token chat completion's reply implies."""
        url = f"{self.display_url}/chat/completions"
        if status in (401, 403):
            raise self._auth_refused(status, payload)
        error = _error_text(payload).lower() if status >= 400 else ""
        if status in (400, 404, 422) and "model" in error:
            raise self._unknown_model(status, payload, served)
        if status in (404, 405):
            raise PreflightError(
                f"no chat-completions endpoint at {url} (HTTP {status}: {self._excerpt(payload)}); "
                "check the base URL (OpenAI-compatible servers usually end it in /v1)"
            )
        if status == 429:
            if "quota" in error:  # a spent account, not a passing rate limit
                raise PreflightError(f"{url} refused for quota (HTTP 429: {self._excerpt(payload)})")
            return  # the endpoint, key and model were accepted; the run's retries wait out the limit
        if status != 200:
            raise PreflightError(f"{url} answered HTTP {status} to a one-token request: {self._excerpt(payload)}")
        text = payload.decode("utf-8", "replace")
        try:
            reply = loads_bounded(text, max_depth=32)
        except UntrustedJSONError:
            excerpt = _one_line(self._scrub(text), 120)
            raise PreflightError(f"malformed reply from {url}: not JSON ({excerpt!r})") from None
        try:
            message = reply["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            message = None
        if not isinstance(message, dict):
            excerpt = _one_line(self._scrub(text), 120)
            raise PreflightError(f"malformed reply from {url}: JSON without choices[0].message ({excerpt!r})")


def from_options(**options: Any) -> OpenAIChatPolicy:
    """The CLI's factory: ``from_options(model=..., base_url=..., temperature="0.2", ...)``."""
    return OpenAIChatPolicy.from_options(**options)
