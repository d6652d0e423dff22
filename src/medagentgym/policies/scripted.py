"""A policy that replays a fixed list of model outputs, for tests of the env and the runner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medagentgym.catalog.sample import Sample
from medagentgym.policies.base import Policy, PolicyReply
from medagentgym.runs.schema import PolicyInfo, TokenUsage


class ScriptedPolicy:
    """Turn i returns ``outputs[i]`` (a string, or a list of tool calls); the last one repeats."""

    def __init__(self, outputs: Sequence[str | list[dict[str, Any]]], *, name: str = "scripted") -> None:
        if not outputs:
            raise ValueError("a scripted policy needs at least one output")
        self.outputs = list(outputs)
        self.info = PolicyInfo(name=name)

    def start_episode(self, sample: Sample, *, seed: int = 0) -> Policy:
        return self

    async def aact(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> PolicyReply:
        return self.act(messages, tools)

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> PolicyReply:
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        output = self.outputs[min(turn, len(self.outputs) - 1)]
        usage = TokenUsage(prompt_tokens=sum(len(str(m.get("content") or "")) for m in messages) // 4)
        if isinstance(output, list):
            return PolicyReply(tool_calls=output, usage=usage)
        return PolicyReply(content=output, usage=usage)
