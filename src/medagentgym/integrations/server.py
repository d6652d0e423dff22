"""MedAgentGym over HTTP: many live episodes in one process, for agents that run elsewhere.

``create_app(settings, samples=...)`` is a FastAPI app with three faces over one episode store:

- the native JSON API under ``/v1`` (``POST /v1/episodes``, ``.../{id}/step``, ``.../{id}/reset``,
  ``DELETE .../{id}``, ``GET /v1/episodes``), answered with the same observation, reward and
  ``info`` as an in-process ``MedAgentEnv`` (``remote.RemoteEnv`` is its gymnasium client);
- AgentGym's environment-server shape under ``/agentgym`` (``/create``, ``/step``, ``/reset``,
  ``/observation``, ``/close``), so an ``agentenv`` env client can drive it (``server_agentgym.py``);
- OpenEnv's shape under ``/openenv`` (the ``/ws`` WebSocket its ``EnvClient`` speaks, and HTTP
  ``/reset``, ``/step``, ``/state``, ``/health``; ``server_openenv.py``).

Why it is built this way:

- Each episode is one ``MedAgentEnv`` on the process's shared sandbox server. ``env.step`` blocks
  for as long as agent code runs (up to ``step_timeout_s``), so every env call runs in a thread
  pool of ``workers`` threads, never on the event loop: one slow episode cannot stall the others.
- One call at a time per episode. A second step (or reset) sent while one is running gets 409
  instead of waiting: two agents acting on one episode is a client bug, and queueing it would hide
  the bug while holding a request open. Closing an episode whose step is running takes it out of
  the store at once; the running step closes its env when it returns.
- The number of live episodes is capped (each may hold a sandbox process). Over the cap a create
  answers 503 with ``Retry-After`` before anything is made; AgentGym's clients retry on 503.
- Episodes idle longer than ``idle_timeout_s`` are closed by a background sweeper, so a client
  that vanished does not keep its sandbox session; all episodes are closed on shutdown.
- Episode ids are ``secrets.token_urlsafe`` strings (AgentGym's servers use small integers; its
  clients pass the id back as they got it, so an unguessable string works with them too).
- Requests are hostile input: bodies over ``max_body_bytes`` get 413 before they are parsed, a
  body that is not UTF-8 or nests deeper than ``MAX_BODY_DEPTH`` gets 400, and an action nesting
  deeper than ``MAX_ACTION_DEPTH`` gets 422. Unknown sample ids, datasets, splits or categories
  get 400 with a one-line ``detail``; sample indices are capped (generation is linear in the
  index). A 5xx means a fault of the server itself.
- With a ``token``, every endpoint except the health checks needs ``Authorization: Bearer
  <token>`` (compared in constant time); ``check_bind`` refuses a non-loopback address without one.
- Nothing sent back before an episode ends carries the sample's target, solution or hidden tests:
  only what the in-process env puts in ``info`` (the score arrives with the last step).

FastAPI is imported inside ``create_app`` only (the ``serve`` extra), so the base install does not
need it.
"""

# No ``from __future__ import annotations``: FastAPI reads the route functions' annotations.
import asyncio
import contextlib
import hmac
import ipaddress
import json
import math
import random
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.integrations.common import IntegrationError, resolve_sample
from medagentgym.sandbox import SandboxServer
from medagentgym.untrusted import clean_json, json_depth_exceeds

API_PREFIX = "/v1"
AGENTGYM_PREFIX = "/agentgym"
OPENENV_PREFIX = "/openenv"
#: Largest request body read (bytes); a model turn is capped at 100,000 characters by the env.
MAX_BODY_BYTES = 1_000_000
#: Deepest bracket nesting a request body may have (checked before any JSON parser sees it).
MAX_BODY_DEPTH = 64
#: Deepest nesting of a structured action (the env caps JSON-text actions at 16 levels).
MAX_ACTION_DEPTH = 20
#: Health checks answer without a token (load balancers and process managers poll them).
OPEN_PATHS = frozenset({"/health", OPENENV_PREFIX + "/health"})
#: Shortest bearer token accepted: a guessable token is no protection.
MIN_TOKEN_CHARS = 16
_ID = re.compile(r"[A-Za-z0-9_-]{20,64}", re.ASCII)
_SAMPLE_ID = re.compile(r"[a-z0-9_]{1,64}/[A-Za-z0-9_.\-]{1,128}/[a-z]{1,16}/[0-9]{1,12}/[0-9]{1,12}", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}", re.ASCII)
_T = TypeVar("_T")


class ServeError(ValueError):
    """A server configuration that must not start (one line, shown to the operator)."""


class ApiError(Exception):
    """A request the server refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


@dataclass(frozen=True)
class ServeSettings:
    """What an operator decides; a client may choose env settings only within these caps."""

    token: str | None = None
    max_episodes: int = 256
    idle_timeout_s: float = 600.0
    #: How often the sweeper looks for idle episodes (default: a quarter of the idle timeout, at most 30 s).
    sweep_interval_s: float | None = None
    action_format: Literal["json", "tools"] = "json"
    max_turns_cap: int = 50
    step_timeout_cap_s: float = 120.0
    default_step_timeout_s: float = 30.0
    max_body_bytes: int = MAX_BODY_BYTES
    #: Splits a client may open samples from (a training server may allow only "train").
    splits: tuple[str, ...] = ("train", "test")
    #: Largest sample index (and seed) a client may ask for: generation time grows with the index.
    max_index: int = 10_000
    max_seed: int = 2**31 - 1
    #: Threads running env calls (blocking: agent code runs in the sandbox meanwhile).
    workers: int = 64

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise ServeError(f"the token is too short: use at least {MIN_TOKEN_CHARS} characters")
        if self.max_episodes < 1 or self.workers < 1:
            raise ServeError("max_episodes and workers must be at least 1")
        if self.idle_timeout_s <= 0:
            raise ServeError("idle_timeout_s must be positive")

    @property
    def sweep_every_s(self) -> float:
        if self.sweep_interval_s is not None:
            return self.sweep_interval_s
        return max(0.05, min(30.0, self.idle_timeout_s / 4))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token: anyone who can reach the port could
    run code in the sandbox and read every live episode."""
    if not is_loopback(host) and not token:
        raise ServeError(
            f"refusing to listen on {host} without a token: set MEDAGENTGYM_SERVE_TOKEN (or --token), "
            "or bind to 127.0.0.1"
        )


# -- request bodies ----------------------------------------------------------------------------


class SampleChoice(BaseModel):
    """Which sample an episode plays: a ``sample_id``; or dataset, category, split, seed and index
    (the parts of an id); or, when the server was given a selection, ``data_idx`` into it or a
    draw with ``draw_seed`` (the gymnasium reset seed)."""

    model_config = ConfigDict(extra="forbid")

    sample_id: str | None = Field(default=None, max_length=300)
    dataset: str | None = Field(default=None, max_length=128)
    category: str | None = Field(default=None, max_length=128)
    split: str = Field(default="test", max_length=16)
    seed: int = Field(default=0, ge=0)
    index: int = Field(default=0, ge=0)
    data_idx: int | None = Field(default=None, ge=0)
    draw_seed: int | None = Field(default=None, ge=0)


class EpisodeCreate(SampleChoice):
    """A new episode: the sample, and env settings within the server's caps (the rest default)."""

    action_format: Literal["json", "tools"] | None = None
    max_turns: int | None = Field(default=None, ge=1)
    step_timeout_s: float | None = Field(default=None, gt=0)
    max_observation_chars: int | None = Field(default=None, ge=200, le=100_000)
    reveal_verdict: bool = False
    enable_debug_hint: bool = False


class StepBody(BaseModel):
    """One action: JSON text (model output), an action object, or an OpenAI tool call (or a list of one)."""

    model_config = ConfigDict(extra="forbid")

    action: str | dict[str, Any] | list[dict[str, Any]]


# -- the episode store -------------------------------------------------------------------------


@dataclass
class Slot:
    """One live episode."""

    id: str
    env: MedAgentEnv
    kind: str
    last_used: float
    busy: bool = True  # a new slot is busy until its first reset has returned
    removed: bool = False
    observation: str = ""
    reward: float = 0.0
    created: float = field(default_factory=time.monotonic)

    def summary(self, now: float) -> dict[str, Any]:
        env = self.env
        return {
            "episode_id": self.id,
            "kind": self.kind,
            "sample_id": env.sample.id if env.sample is not None else None,
            "turn": env.turn,
            "done": env.done,
            "status": env.status,
            "busy": self.busy,
            "idle_s": round(now - self.last_used, 3),
        }


class Hub:
    """The live episodes and every operation on them, independent of the HTTP shape.

    Runs on one event loop: the store is only changed between awaits, so it needs no lock; env
    calls go to the thread pool and the slot's ``busy`` flag keeps them one at a time.
    """

    def __init__(
        self,
        settings: ServeSettings,
        samples: Sequence[Sample] | None = None,
        sandbox: SandboxServer | None = None,
    ) -> None:
        self.settings = settings
        self.samples = samples
        self.sandbox = sandbox
        self.slots: dict[str, Slot] = {}
        #: Recently ended ids and why (bounded), for a clearer 404.
        self.gone: OrderedDict[str, str] = OrderedDict()
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="medagentgym-serve")
        self._sweeper: asyncio.Task[None] | None = None

    # -- helpers

    async def run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    def lookup(self, episode_id: Any) -> Slot:
        if not isinstance(episode_id, str) or not _ID.fullmatch(episode_id):
            raise ApiError(404, "unknown episode")
        slot = self.slots.get(episode_id)
        if slot is None:
            why = self.gone.get(episode_id)
            raise ApiError(404, f"episode {episode_id} {why}" if why else "unknown episode")
        return slot

    def _forget(self, slot: Slot, why: str) -> None:
        self.slots.pop(slot.id, None)
        slot.removed = True
        self.gone[slot.id] = why
        while len(self.gone) > 4096:
            self.gone.popitem(last=False)

    def config(self, body: EpisodeCreate) -> EnvConfig:
        s = self.settings
        if body.max_turns is not None and body.max_turns > s.max_turns_cap:
            raise ApiError(400, f"max_turns {body.max_turns} is above this server's cap of {s.max_turns_cap}")
        if body.step_timeout_s is not None and body.step_timeout_s > s.step_timeout_cap_s:
            raise ApiError(
                400, f"step_timeout_s {body.step_timeout_s} is above this server's cap of {s.step_timeout_cap_s}"
            )
        return EnvConfig(
            max_turns=body.max_turns or min(15, s.max_turns_cap),
            reveal_verdict=body.reveal_verdict,
            enable_debug_hint=body.enable_debug_hint,
            action_format=body.action_format or s.action_format,
            step_timeout_s=body.step_timeout_s or min(s.default_step_timeout_s, s.step_timeout_cap_s),
            max_observation_chars=body.max_observation_chars or 8_000,
        )

    def choose(self, choice: SampleChoice) -> tuple[str, Any]:
        """What the request names, checked but not generated yet: ``("id", sample_id)``,
        ``("position", data_idx)`` or ``("draw", seed)`` (positions in the server's selection)."""
        if choice.sample_id is not None:
            if choice.dataset is not None or choice.category is not None:
                raise ApiError(400, "give either sample_id or dataset/category, not both")
            sample_id = choice.sample_id
            if not _SAMPLE_ID.fullmatch(sample_id):
                raise ApiError(400, "sample_id must look like dataset/category/split/seed/index")
            split, seed, index = sample_id.split("/")[2:]
            self._check_parts(split, int(seed), int(index))
            return ("id", sample_id)
        if choice.dataset is not None or choice.category is not None:
            if choice.dataset is None or choice.category is None:
                raise ApiError(400, "a selection by parts needs both dataset and category")
            if not _NAME.fullmatch(choice.dataset) or not _NAME.fullmatch(choice.category):
                raise ApiError(400, "dataset and category names may hold only letters, digits, '_', '.' and '-'")
            self._check_parts(choice.split, choice.seed, choice.index)
            return ("id", f"{choice.dataset}/{choice.category}/{choice.split}/{choice.seed}/{choice.index}")
        if self.samples is None:
            raise ApiError(400, "name a sample: sample_id, or dataset and category (this server has no selection)")
        if choice.data_idx is not None:
            return ("position", choice.data_idx)
        return ("draw", choice.draw_seed)

    def _check_parts(self, split: str, seed: int, index: int) -> None:
        s = self.settings
        if split not in s.splits:
            raise ApiError(400, f"unknown or closed split {split[:16]!r} (this server serves {', '.join(s.splits)})")
        if index > s.max_index:
            raise ApiError(400, f"index {index} is above this server's cap of {s.max_index}")
        if seed > s.max_seed:
            raise ApiError(400, f"seed {seed} is above this server's cap of {s.max_seed}")

    def resolve(self, key: tuple[str, Any]) -> Sample:
        """The sample ``choose`` named. Blocking (generation, a selection's first use): call through ``run``."""
        how, value = key
        if how == "id":
            return resolve_sample(value)
        assert self.samples is not None
        try:
            size = len(self.samples)
        except ValueError as exc:  # an empty selection
            raise IntegrationError(str(exc)) from None
        key = value if how == "position" else random.Random(value).randrange(size)
        if key >= size:
            raise IntegrationError(f"data_idx {key} is out of range: this server's selection has {size} samples")
        sample = self.samples[key]
        if sample.split not in self.settings.splits:
            raise IntegrationError(f"sample {sample.id} is from a split this server does not serve")
        return sample

    async def _sample(self, choice: SampleChoice) -> Sample:
        key = self.choose(choice)
        try:
            return await self.run(lambda: self.resolve(key))
        except (IntegrationError, KeyError, IndexError) as exc:
            raise ApiError(400, one_line(exc)) from None

    # -- operations

    async def open(self, body: EpisodeCreate, kind: str = "native") -> tuple[Slot, str, dict[str, Any]]:
        config = self.config(body)
        key = self.choose(body)  # refuse bad requests before taking a place
        if len(self.slots) >= self.settings.max_episodes:
            raise ApiError(
                503,
                f"the server holds its maximum of {self.settings.max_episodes} live episodes; close one or retry later",
                {"Retry-After": "1"},
            )
        env = MedAgentEnv(config=config, sandbox=self.sandbox)
        slot = Slot(id=secrets.token_urlsafe(24), env=env, kind=kind, last_used=time.monotonic())
        self.slots[slot.id] = slot  # counted from now on: concurrent creates cannot pass the cap
        try:
            try:
                sample = await self.run(lambda: self.resolve(key))
            except (IntegrationError, KeyError, IndexError) as exc:
                raise ApiError(400, one_line(exc)) from None
            observation, info = await self.run(lambda: env.reset(options={"sample": sample}))
        except BaseException:
            self._forget(slot, "was never opened")
            self.gone.pop(slot.id, None)
            await self._close_env(env)
            raise
        slot.busy = False
        slot.observation = observation
        slot.last_used = time.monotonic()
        if slot.removed:  # closed (shutdown) while opening
            await self._close_env(env)
            raise ApiError(404, "the episode was closed while it was being opened")
        return slot, observation, info

    async def reset(self, episode_id: Any, choice: SampleChoice) -> tuple[Slot, str, dict[str, Any]]:
        slot = self._claim(episode_id)
        try:
            sample = await self._sample(choice)
            observation, info = await self.run(lambda: slot.env.reset(options={"sample": sample}))
            slot.observation, slot.reward = observation, 0.0
            return slot, observation, info
        finally:
            await self._release(slot)

    async def step(self, episode_id: Any, action: Any) -> tuple[Slot, tuple[str, float, bool, bool, dict[str, Any]]]:
        if _depth(action) > MAX_ACTION_DEPTH:
            raise ApiError(422, f"the action nests deeper than {MAX_ACTION_DEPTH} levels")
        slot = self._claim(episode_id)
        try:
            if slot.env.done:
                raise ApiError(409, "the episode is over: reset it to another sample or close it")
            result = await self.run(lambda: slot.env.step(action))
            slot.observation, slot.reward = result[0], float(result[1])
            return slot, result
        finally:
            await self._release(slot)

    async def close(self, episode_id: Any) -> None:
        slot = self.lookup(episode_id)
        self._forget(slot, "was closed")
        if not slot.busy:  # else the running call closes it when it returns
            await self._close_env(slot.env)

    def _claim(self, episode_id: Any) -> Slot:
        slot = self.lookup(episode_id)
        if slot.busy:
            raise ApiError(409, "another request is running on this episode; send one at a time")
        slot.busy = True
        return slot

    async def _release(self, slot: Slot) -> None:
        slot.busy = False
        slot.last_used = time.monotonic()
        if slot.removed:
            await self._close_env(slot.env)

    async def _close_env(self, env: MedAgentEnv) -> None:
        with contextlib.suppress(Exception):  # a dead session is gone anyway
            await self.run(env.close)

    async def sweep(self) -> int:
        """Close episodes idle longer than the idle timeout; returns how many."""
        now = time.monotonic()
        limit = self.settings.idle_timeout_s
        stale = [s for s in self.slots.values() if not s.busy and now - s.last_used > limit]
        for slot in stale:
            self._forget(slot, f"expired after {limit:g} s without a request")
            await self._close_env(slot.env)
        return len(stale)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_every_s)
            with contextlib.suppress(Exception):
                await self.sweep()

    async def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def shutdown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        slots = list(self.slots.values())
        for slot in slots:
            self._forget(slot, "was closed when the server stopped")
        await asyncio.gather(*(self._close_env(s.env) for s in slots if not s.busy))
        self.pool.shutdown(wait=False, cancel_futures=True)


def one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0][:300]


def _depth(value: Any) -> int:
    """Nesting depth of a JSON-like value (iterative: a deep value cannot exhaust the stack)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            level += 1
            deepest = max(deepest, level)
            if deepest > MAX_ACTION_DEPTH:
                return deepest
            stack.extend((child, level) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def wire(value: Any) -> Any:
    """A JSON-safe copy: valid Unicode strings, non-finite floats as null (JSON has no NaN)."""
    value = clean_json(value)

    def fix(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {k: fix(v) for k, v in item.items()}
        if isinstance(item, list):
            return [fix(v) for v in item]
        return item

    return fix(value)


def step_reply(result: tuple[str, float, bool, bool, dict[str, Any]]) -> dict[str, Any]:
    observation, reward, terminated, truncated, info = result
    return wire(
        {
            "observation": observation,
            "reward": float(reward),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "info": info,
        }
    )


# -- ASGI guards -------------------------------------------------------------------------------


async def _send_json(send: Callable[..., Any], status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BearerAuth:
    """Every HTTP and WebSocket request outside ``OPEN_PATHS`` needs the bearer token."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") in OPEN_PATHS:
            return await self.app(scope, receive, send)
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self.expected):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return None
        await _send_json(send, 401, "a valid bearer token is needed (Authorization: Bearer <token>)",
                         {"WWW-Authenticate": "Bearer"})
        return None


class BodyGuard:
    """Read at most ``limit`` bytes of a request body, then check it is UTF-8 and not absurdly
    nested, before any parser sees it; the app gets the buffered body replayed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await _send_json(send, 400, "the Content-Length header is not a number")
                if declared > self.limit:
                    return await _send_json(send, 413, f"the body is larger than {self.limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await _send_json(send, 413, f"the body is larger than {self.limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                return await _send_json(send, 400, f"the body is not valid UTF-8 (byte {exc.start + 1})")
            if json_depth_exceeds(text, MAX_BODY_DEPTH):
                return await _send_json(send, 400, f"the body nests deeper than {MAX_BODY_DEPTH} levels")
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


# -- the app -----------------------------------------------------------------------------------


def _require_fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:  # pragma: no cover - the serve extra is installed in tests
        raise RuntimeError("medagentgym serve needs FastAPI and uvicorn: pip install 'medagentgym[serve]'") from exc
    return fastapi


def create_app(
    settings: ServeSettings | None = None,
    *,
    samples: Sequence[Sample] | None = None,
    sandbox: SandboxServer | None = None,
) -> Any:
    """The FastAPI app. ``samples`` is the selection AgentGym's ``data_idx`` (and a reset without
    a named sample) picks from; ``sandbox`` defaults to the process's shared server."""
    fastapi = _require_fastapi()
    from fastapi import Request
    from fastapi.responses import JSONResponse

    settings = settings or ServeSettings()
    hub = Hub(settings, samples, sandbox)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.shutdown()

    app = fastapi.FastAPI(
        title="MedAgentGym environment server",
        version="1",
        description="Live MedAgentGym episodes over HTTP (native /v1, AgentGym /agentgym, OpenEnv /openenv).",
        lifespan=lifespan,
    )
    app.state.hub = hub

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Any:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post(API_PREFIX + "/episodes", status_code=201)
    async def create_episode(body: EpisodeCreate) -> dict[str, Any]:
        slot, observation, info = await hub.open(body)
        return wire({"episode_id": slot.id, "observation": observation, "info": info})

    @app.get(API_PREFIX + "/episodes")
    async def list_episodes() -> dict[str, Any]:
        now = time.monotonic()
        return {
            "episodes": [s.summary(now) for s in hub.slots.values()],
            "max_episodes": settings.max_episodes,
            "idle_timeout_s": settings.idle_timeout_s,
        }

    @app.get(API_PREFIX + "/episodes/{episode_id}")
    async def get_episode(episode_id: str) -> dict[str, Any]:
        return hub.lookup(episode_id).summary(time.monotonic())

    @app.post(API_PREFIX + "/episodes/{episode_id}/step")
    async def step_episode(episode_id: str, body: StepBody) -> dict[str, Any]:
        _, result = await hub.step(episode_id, body.action)
        return step_reply(result)

    @app.post(API_PREFIX + "/episodes/{episode_id}/reset")
    async def reset_episode(episode_id: str, body: SampleChoice) -> dict[str, Any]:
        slot, observation, info = await hub.reset(episode_id, body)
        return wire({"episode_id": slot.id, "observation": observation, "info": info})

    @app.delete(API_PREFIX + "/episodes/{episode_id}")
    async def close_episode(episode_id: str) -> dict[str, Any]:
        await hub.close(episode_id)
        return {"episode_id": episode_id, "closed": True}

    from medagentgym.integrations.server_agentgym import add_agentgym_routes
    from medagentgym.integrations.server_openenv import add_openenv_routes

    add_agentgym_routes(app, hub)
    add_openenv_routes(app, hub)
    # Starlette wraps the last-added middleware outermost: the token is checked before any body is read.
    app.add_middleware(BodyGuard, limit=settings.max_body_bytes)
    if settings.token:
        app.add_middleware(BearerAuth, token=settings.token)
    return app
