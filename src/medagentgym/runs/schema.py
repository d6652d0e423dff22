"""The trajectory JSONL schema (versioned).

One line per finished episode. Bump ``SCHEMA_VERSION`` on any change that an old reader would
misread; add fields with defaults where possible so old lines still load.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from medagentgym.sandbox.results import ExecResult
from medagentgym.scoring import Score

SCHEMA_VERSION = 1

EpisodeStatus = Literal["ok", "max_turns", "parse_error", "infra_error", "timeout"]
EPISODE_STATUSES: tuple[EpisodeStatus, ...] = (
    "ok",
    "max_turns",
    "parse_error",
    "infra_error",
    "timeout",
)


class StepRecord(BaseModel):
    """One env step: the parsed action (or why it did not parse) and what came back.

    ``duration_s`` is the env's time for the step (parsing, running code, scoring); ``model_s`` is
    the wall-clock time of the policy call whose reply became this step's action, retries and
    their waits included (None in trajectories written before it was recorded, and for steps
    not produced by the rollout runner). Together they say where an episode's time went.
    """

    index: int
    action: dict[str, Any] | None = None  # {"name": ..., "params": {...}}; None if unparseable
    parse_error: str | None = None
    observation: str
    execution: ExecResult | None = None
    duration_s: float = 0.0
    model_s: float | None = None


class PolicyInfo(BaseModel):
    name: str
    model: str | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    action_format: Literal["json", "tools"] = "json"
    # USD per million tokens, when known, so reports can show cost: {"prompt": x, "completion": y}
    prices: dict[str, float] = Field(default_factory=dict)


class TokenUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Timing(BaseModel):
    started_at: str
    ended_at: str
    duration_s: float


class Trajectory(BaseModel):
    """One recorded episode."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    sample_id: str
    dataset: str
    category: str
    split: str
    epoch: int = 0
    seed: int = 0
    policy: PolicyInfo
    messages: list[dict[str, Any]] = Field(default_factory=list)
    steps: list[StepRecord] = Field(default_factory=list)
    submitted: bool = False
    submitted_answer: Any = None
    score: Score | None = None
    reward: float = 0.0
    status: EpisodeStatus
    error: str | None = None
    # Why an infra_error/timeout episode failed: rate_limit, server_error, timeout,
    # malformed_reply, connection, policy_crash, sandbox, episode_timeout.
    failure: str | None = None
    # Transient API failures that retries absorbed during the episode, by kind.
    api_retries: dict[str, int] = Field(default_factory=dict)
    sandbox_level: str = ""
    usage: TokenUsage = Field(default_factory=TokenUsage)
    timing: Timing

    @property
    def key(self) -> tuple[str, int]:
        """What makes an episode unique in a run: resume skips keys already written."""
        return (self.sample_id, self.epoch)

    @property
    def success(self) -> bool:
        return self.score is not None and self.score.correct
