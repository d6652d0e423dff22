"""A live progress line for rollouts: done, success so far, rate, ETA, failures by kind."""

from __future__ import annotations

import time
from collections import Counter
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from medagentgym.runs.schema import Trajectory


class ProgressDisplay:
    """Updated once per finished episode; silent when disabled (tests, piped logs)."""

    def __init__(self, total: int, *, enabled: bool, console: Console | None = None) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.done = 0
        self.successes = 0
        self.failures: Counter[str] = Counter()
        self.started = time.perf_counter()
        self._progress = (
            Progress(
                TextColumn("[bold]episodes"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[stats]}"),
                console=console or Console(stderr=True),
                transient=False,
            )
            if self.enabled
            else None
        )
        self._task = (
            self._progress.add_task("rollout", total=total, stats="") if self._progress else None
        )

    def stats(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        success = 100.0 * self.successes / self.done if self.done else 0.0
        line = f"success {success:.1f}% | {self.done / elapsed:.2f} ep/s"
        if self.failures:
            line += " | " + ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items()))
        return line

    def update(self, trajectory: Trajectory) -> None:
        self.done += 1
        self.successes += int(trajectory.success)
        if trajectory.status != "ok":
            self.failures[trajectory.failure or trajectory.status] += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, stats=self.stats())

    def __enter__(self) -> ProgressDisplay:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
