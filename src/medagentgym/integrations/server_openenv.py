"""OpenEnv's endpoint shape for ``medagentgym serve`` (mounted at ``/openenv``).

OpenEnv 0.3.0's client speaks a WebSocket at ``<base>/ws``, one episode per connection, closed
with the connection. Its own HTTP ``/reset`` and ``/step`` are stateless; here they start or
continue the episode named by ``episode_id`` so a plain HTTP client can play one too.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

# Imported only by create_app, once the serve extra is known to be installed; FastAPI reads
# the route annotations from these module globals.
from fastapi import APIRouter, Body, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field

from medagentgym.integrations.server import (
    MAX_BODY_DEPTH,
    OPENENV_PREFIX,
    ApiError,
    EpisodeCreate,
    Hub,
    SampleChoice,
    Slot,
    one_line,
    wire,
)
from medagentgym.untrusted import json_depth_exceeds

_OPENENV_CODES = {400: "VALIDATION_ERROR", 422: "VALIDATION_ERROR", 404: "SESSION_ERROR", 409: "SESSION_ERROR",
                  503: "CAPACITY_REACHED"}


class OpenEnvStep(BaseModel):
    """OpenEnv's step body; ``episode_id`` (from ``/reset``) names the episode, because a stateless
    HTTP step cannot play a multi-turn episode."""

    model_config = ConfigDict(extra="allow")

    action: dict[str, Any]
    episode_id: str | None = Field(default=None, max_length=128)


def _openenv_choice(data: dict[str, Any]) -> EpisodeCreate:
    """OpenEnv's reset parameters as an episode request: ``seed`` is the gymnasium reset seed (a
    draw from the server's selection); ``episode_id`` is the server's to choose, so it is not a
    setting; other unknown keys are dropped, as OpenEnv's own server drops them."""
    fields = set(EpisodeCreate.model_fields) - {"draw_seed"}
    chosen = {k: v for k, v in data.items() if k in fields}
    if data.get("seed") is not None and "sample_id" not in data and "dataset" not in data:
        chosen["draw_seed"] = data["seed"]
    return EpisodeCreate.model_validate(chosen)


def _openenv_observation(slot: Slot, text: str, info: dict[str, Any], reward: float | None, done: bool,
                         terminated: bool = False, truncated: bool = False) -> dict[str, Any]:
    observation = {"text": text, "episode_id": slot.id, "terminated": terminated, "truncated": truncated, **info}
    return wire({"observation": observation, "reward": reward, "done": done})


def _openenv_state(slot: Slot) -> dict[str, Any]:
    env = slot.env
    return wire(
        {
            "episode_id": slot.id,
            "step_count": env.turn,
            "sample_id": env.sample.id if env.sample is not None else None,
            "done": env.done,
            "status": env.status,
        }
    )


async def _openenv_reset(hub: Hub, data: dict[str, Any], slot: Slot | None) -> tuple[Slot, dict[str, Any]]:
    from pydantic import ValidationError

    try:
        choice = _openenv_choice(data)
    except ValidationError as exc:
        raise ApiError(422, one_line(exc)) from None
    if slot is None or slot.removed:
        slot, text, info = await hub.open(choice, kind="openenv")
    else:
        slot, text, info = await hub.reset(slot.id, SampleChoice.model_validate(
            choice.model_dump(include=set(SampleChoice.model_fields))))
    return slot, _openenv_observation(slot, text, info, None, False)


async def _openenv_step(hub: Hub, episode_id: Any, action: Any) -> dict[str, Any]:
    slot, (text, reward, terminated, truncated, info) = await hub.step(episode_id, action)
    done = bool(terminated or truncated)
    return _openenv_observation(slot, text, info, float(reward), done, bool(terminated), bool(truncated))


def add_openenv_routes(app: Any, hub: Hub) -> None:
    """OpenEnv's routes under ``/openenv``: the ``/ws`` session its ``EnvClient`` speaks (one
    episode per connection, closed when the connection ends) and HTTP ``/reset`` (a new episode,
    or ``episode_id`` reset), ``/step`` and ``/state`` keyed by ``episode_id``."""

    router = APIRouter(prefix=OPENENV_PREFIX, tags=["OpenEnv"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @router.post("/reset")
    async def reset(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:  # noqa: B008
        episode_id = body.pop("episode_id", None)
        slot = hub.lookup(episode_id) if episode_id is not None else None
        _, reply = await _openenv_reset(hub, body, slot)
        return reply

    @router.post("/step")
    async def step(body: OpenEnvStep) -> dict[str, Any]:
        if body.episode_id is None:
            raise ApiError(400, "pass the episode_id that /reset returned (or use the /ws session)")
        return await _openenv_step(hub, body.episode_id, body.action)

    @router.get("/state")
    async def state(episode_id: str) -> dict[str, Any]:
        return _openenv_state(hub.lookup(episode_id))

    @router.websocket("/ws")
    async def session(websocket: WebSocket) -> None:
        await websocket.accept()
        slot: Slot | None = None
        limit = hub.settings.max_body_bytes

        async def send(kind: str, data: dict[str, Any]) -> None:
            await websocket.send_text(json.dumps({"type": kind, "data": data}))

        try:
            while True:
                raw = await websocket.receive_text()
                if len(raw) > limit or json_depth_exceeds(raw, MAX_BODY_DEPTH):
                    await send("error", {"message": "the message is too large or too deeply nested",
                                         "code": "VALIDATION_ERROR"})
                    continue
                try:
                    message = json.loads(raw)
                except ValueError as exc:
                    await send("error", {"message": f"Invalid JSON: {exc}", "code": "INVALID_JSON"})
                    continue
                kind = message.get("type") if isinstance(message, dict) else None
                data = message.get("data") if isinstance(message, dict) else None
                try:
                    if kind == "reset":
                        slot, reply = await _openenv_reset(hub, data if isinstance(data, dict) else {}, slot)
                        await send("observation", reply)
                    elif kind == "step":
                        if slot is None:
                            raise ApiError(409, "send a reset before the first step")
                        if not isinstance(data, dict):
                            raise ApiError(422, "a step's data must be an action object")
                        await send("observation", await _openenv_step(hub, slot.id, data))
                    elif kind == "state":
                        if slot is None:
                            raise ApiError(409, "no episode yet: send a reset")
                        await send("state", _openenv_state(hub.lookup(slot.id)))
                    elif kind == "close":
                        break
                    else:
                        await send("error", {"message": f"Unknown message type: {str(kind)[:40]}",
                                             "code": "UNKNOWN_TYPE"})
                except ApiError as exc:
                    await send("error", {"message": exc.detail, "code": _OPENENV_CODES.get(exc.status, "EXECUTION_ERROR")})
        except WebSocketDisconnect:
            pass
        finally:
            if slot is not None and not slot.removed:
                with contextlib.suppress(ApiError):
                    await hub.close(slot.id)
            with contextlib.suppress(Exception):
                await websocket.close()

    app.include_router(router)
