"""Running episodes: the episode loop and the async runner (local), with a Ray backend."""

from medagentgym.rollout.runner import (
    EpisodeSink,
    MemorySink,
    RolloutConfig,
    RunSummary,
    episode_seed,
    rollout,
    run_episode,
    run_episode_async,
    run_rollouts,
)

__all__ = [
    "EpisodeSink",
    "MemorySink",
    "RolloutConfig",
    "RunSummary",
    "episode_seed",
    "rollout",
    "run_episode",
    "run_episode_async",
    "run_rollouts",
]
