"""``validate``: the oracle over the catalog must score 1 on every sample.

This is the contract that keeps generators, reference solutions, the sandbox and the scorers
honest together: a sample whose own reference solution does not score 1 is a broken sample.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from medagentgym.catalog.sample import Sample
from medagentgym.catalog.selection import Selection, select_samples
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.policies.oracle import OraclePolicy
from medagentgym.rollout.runner import run_episode
from medagentgym.sandbox import SandboxServer


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
            table.add_row(group, str(self.counts[group]), str(self.passed[group]))
        return table


def validate(
    selection: Selection, *, workers: int = 2, progress: Console | None = None
) -> ValidationResult:
    samples = list(select_samples(selection))
    result = ValidationResult(total=len(samples))
    policy = OraclePolicy()
    lock = threading.Lock()
    local = threading.local()
    with SandboxServer() as server:
        envs: list[MedAgentEnv] = []

        def check(sample: Sample) -> None:
            if not hasattr(local, "env"):
                local.env = MedAgentEnv(config=EnvConfig(), sandbox=server)
                with lock:
                    envs.append(local.env)
            trajectory = run_episode(local.env, policy, sample, run_id="validate")
            group = f"{sample.dataset}/{sample.category}"
            with lock:
                result.counts[group] += 1
                if trajectory.success:
                    result.passed[group] += 1
                else:
                    why = trajectory.score.explanation if trajectory.score else trajectory.error
                    result.failures.append(f"{sample.id}: status {trajectory.status}: {why}")

        try:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                list(pool.map(check, samples))
        finally:
            for env in envs:
                env.close()
    if progress is not None:
        progress.print(f"validated {result.total} samples")
    return result
