"""AgentGym's endpoint shape for ``medagentgym serve`` (mounted at ``/agentgym``).

AgentGym's controller drives every environment through a small HTTP server of the same shape:
``/create``, ``/step``, ``/reset``, ``/observation``, ``/close``. Its clients differ in how they
name the environment (``id`` or ``env_idx``), so both are accepted; ``data_idx`` (or ``item_id``
/ ``session_id``) is a position in the server's selection.
"""

from __future__ import annotations

from typing import Any

# Imported only by create_app, once the serve extra is known to be installed; FastAPI reads
# the route annotations from these module globals.
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from medagentgym.integrations.common import benchmark_value
from medagentgym.integrations.server import (
    AGENTGYM_PREFIX,
    EpisodeCreate,
    Hub,
    SampleChoice,
    Slot,
    wire,
)


class AgentGymRef(BaseModel):
    """Which environment: AgentGym's clients send ``id`` (BabyAI, TextCraft) or ``env_idx``
    (SQLGym, WebShop), holding whatever ``/create`` returned (here ``{"id": ...}`` or the id)."""

    model_config = ConfigDict(extra="allow")

    id: Any = None
    env_idx: Any = None

    def episode_id(self) -> Any:
        return _agentgym_id(self.id if self.id is not None else self.env_idx)


class AgentGymCreate(BaseModel):
    """Create bodies differ per AgentGym env (TextCraft sends ``commands`` and ``goal``): extra
    keys are ignored; ``data_idx`` picks the first task (0 by default)."""

    model_config = ConfigDict(extra="allow")

    data_idx: int = Field(default=0, ge=0)


class AgentGymStep(AgentGymRef):
    action: str


class AgentGymReset(AgentGymRef):
    data_idx: int | None = Field(default=None, ge=0)
    item_id: int | None = Field(default=None, ge=0)
    session_id: int | None = Field(default=None, ge=0)

    def index(self) -> int:
        for value in (self.data_idx, self.item_id, self.session_id):
            if value is not None:
                return value
        return 0


def _agentgym_id(value: Any) -> Any:
    if isinstance(value, dict):
        value = value.get("id")
    return value


def add_agentgym_routes(app: Any, hub: Hub) -> None:
    """AgentGym's env-server routes under ``/agentgym``: ``data_idx`` is a position in the
    server's selection, the action is the model's raw text (the env finds the JSON action in it),
    and every reply carries ``observation`` (``state`` too, for the clients that read that)."""

    router = APIRouter(prefix=AGENTGYM_PREFIX, tags=["AgentGym"])

    def opening(slot: Slot, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        return wire(
            {
                "id": slot.id,
                "observation": observation,
                "state": observation,
                "reward": 0.0,
                "score": 0.0,
                "done": False,
                "system_prompt": info["messages"][0]["content"],
                "info": info,
            }
        )

    @router.post("/create")
    async def create(body: AgentGymCreate | None = None) -> dict[str, Any]:
        choice = EpisodeCreate(data_idx=(body or AgentGymCreate()).data_idx)
        slot, observation, info = await hub.open(choice, kind="agentgym")
        return opening(slot, observation, info)

    @router.post("/step")
    async def step(body: AgentGymStep) -> dict[str, Any]:
        slot, (observation, reward, terminated, truncated, info) = await hub.step(body.episode_id(), body.action)
        done = bool(terminated or truncated)
        return wire(
            {
                "observation": observation,
                "state": observation,
                "reward": float(reward),
                "score": benchmark_value(slot.env) or 0.0,  # AgentGym has no "not scored"
                "done": done,
                "info": info,
            }
        )

    @router.post("/reset")
    async def reset(body: AgentGymReset) -> dict[str, Any]:
        slot, observation, info = await hub.reset(body.episode_id(), SampleChoice(data_idx=body.index()))
        return opening(slot, observation, info)

    @router.get("/observation")
    async def observation(id: str | None = None, env_idx: str | None = None) -> str:
        return hub.lookup(id if id is not None else env_idx).observation

    @router.post("/close")
    async def close(body: AgentGymRef) -> dict[str, Any]:
        episode_id = body.episode_id()
        await hub.close(episode_id)
        return {"id": episode_id, "closed": True}

    app.include_router(router)
