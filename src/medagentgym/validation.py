"""``validate``: the oracle over the catalog must score 1 on every sample.

This is the contract that keeps generators, reference solutions, the sandbox and the scorers
honest together: a sample whose own reference solution does not score 1 is a broken sample.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rich.markup import escape
from rich.table import Table

from medagentgym.catalog.selection import Selection, select_samples
from medagentgym.policies.oracle import OraclePolicy
from medagentgym.rollout.runner import MemorySink, RolloutConfig, run_rollouts


@dataclass
class ValidationResult:
    total: int = 0
    passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)

    def table(self) -> Table:
        table = Table(title="Oracle validation")
        for column in ("dataset/category", "samples", "score 1"):
            table.add_column(column, justify="left" if column.startswith("data") else "right")
        for group in sorted(self.counts):
            table.add_row(escape(group), str(self.counts[group]), str(self.passed[group]))
        return table


def validate(selection: Selection, *, concurrency: int = 4, progress: bool = False) -> ValidationResult:
    samples = list(select_samples(selection))
    sink = MemorySink(run_id="validate")
    config = RolloutConfig(max_sessions=concurrency, max_model_calls=concurrency, progress=progress)
    run_rollouts(samples, OraclePolicy(), sink, config)
    result = ValidationResult(total=len(samples))
    for trajectory in sink.trajectories:
        group = f"{trajectory.dataset}/{trajectory.category}"
        result.counts[group] += 1
        if trajectory.success:
            result.passed[group] += 1
        else:
            why = trajectory.score.explanation if trajectory.score else trajectory.error
            result.failures.append(f"{trajectory.sample_id}: status {trajectory.status}: {why}")
    return result
