"""The Policy protocol: the conversation so far in, the next model output out.

A policy knows nothing about datasets. ``start_episode`` hands it the Sample so that test
policies (the oracle, scripted wrong answers) can read the reference solution, and the episode's
seed so that K samples of one task differ reproducibly; model policies return a per-episode view
that carries the seed. ``aact`` is the async form the rollout runner awaits; a policy without a
native async client may implement it by running ``act`` in a thread.

A policy with a remote dependency (an API endpoint) may also define ``preflight()``: one quick
check, before any episode, that the dependency answers as configured. A run against a wrong URL,
key or model name then stops at once with the server's own reason instead of recording every
episode as an infrastructure failure (see ``medagentgym.policies.preflight``).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from medagentgym.catalog.sample import Sample
from medagentgym.runs.schema import PolicyInfo, TokenUsage


class PolicyReply(BaseModel):
    """One model turn: text content and/or tool calls (OpenAI shape), with token usage."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    # Transient failures absorbed by retries while producing this reply, by kind.
    retries: dict[str, int] = Field(default_factory=dict)

    def as_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return message

    def as_action(self) -> Any:
        """What the env parses: the tool calls if any, else the raw text."""
        return self.tool_calls if self.tool_calls else (self.content or "")


class PolicyError(RuntimeError):
    """The policy could not produce output for reasons outside the model (API down, etc.).

    Recorded as an infrastructure failure of the episode, never scored as the model's failure.
    ``kind`` names the failure for accounting: rate_limit, server_error, timeout,
    malformed_reply, connection (or another short word).
    """

    def __init__(self, message: str, *, kind: str = "policy_error", retries: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retries = dict(retries or {})  # transient failures absorbed before giving up


class PreflightError(RuntimeError):
    """A policy's dependency failed its check before any episode ran (endpoint, key, model).

    The message is one line that names what failed and where, for the user to fix the setting;
    it never carries a secret.
    """


@runtime_checkable
class Policy(Protocol):
    info: PolicyInfo

    def start_episode(self, sample: Sample, *, seed: int = 0) -> Policy: ...

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> PolicyReply: ...

    async def aact(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> PolicyReply: ...
