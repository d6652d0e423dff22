"""Aggregate metrics over trajectories: success rates with Wilson intervals, grouped."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from medagentgym.runs.schema import Trajectory


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (sound at 0% and 100%, unlike Wald)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class GroupStats:
    """Counts for one group of episodes (a dataset, a category, or all)."""

    episodes: int = 0
    successes: int = 0
    turns: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, trajectory: Trajectory) -> None:
        self.episodes += 1
        self.successes += int(trajectory.success)
        self.turns += len(trajectory.steps)
        self.by_status[trajectory.status] += 1

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.episodes)

    @property
    def mean_turns(self) -> float:
        return self.turns / self.episodes if self.episodes else 0.0


def group_stats(
    trajectories: Iterable[Trajectory], key: Callable[[Trajectory], str]
) -> dict[str, GroupStats]:
    groups: dict[str, GroupStats] = defaultdict(GroupStats)
    for trajectory in trajectories:
        groups[key(trajectory)].add(trajectory)
    return dict(sorted(groups.items()))
