"""Running episodes: one at a time or many in parallel, into a resumable run folder."""

from medagentgym.rollout.runner import RunSummary, run_episode, run_samples

__all__ = ["RunSummary", "run_episode", "run_samples"]
