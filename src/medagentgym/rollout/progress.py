"""Rollout progress: done, success so far, rate, ETA, failures by kind.

On a terminal it is rich's live bar. Piped into a file (``main.sh > log 2>&1``, a batch job's log)
a live bar writes nothing useful until the end, so there it is a plain line instead, printed when
the rollout starts, at most every ``interval_s`` while it runs (on a finished episode, or by a
heartbeat thread when none finishes for a while), and once at the end::

    episodes 12/40 (30%) | success 41.7% | 0.85 ep/s | ETA 33s | infra_error 2

The clock, the stream and the heartbeat are parameters so that tests drive the lines by hand.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from medagentgym.runs.schema import Trajectory

DEFAULT_INTERVAL_S = 10.0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def format_duration(seconds: float) -> str:
    """``33s``, ``4m05s``, ``1h02m``: short enough for a progress line."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressDisplay:
    """Updated once per finished episode; silent when disabled (tests, ``--no-progress``).

    ``stream`` (default: stderr) decides the form: a terminal gets the live bar, anything else
    plain lines. Passing a rich ``console`` asks for the live bar on it.
    """

    def __init__(
        self,
        total: int,
        *,
        enabled: bool,
        console: Console | None = None,
        stream: TextIO | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
    ) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.done = 0
        self.successes = 0
        self.failures: Counter[str] = Counter()
        self.clock = clock
        self.started = clock()
        self.interval_s = interval_s
        self.stream: TextIO = stream if stream is not None else sys.stderr
        live = self.enabled and (console is not None or _is_terminal(self.stream))
        self.lines = self.enabled and not live  # plain progress lines instead of the bar
        self._printed_at: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat = (
            threading.Thread(target=self._beat, name="progress-heartbeat", daemon=True)
            if self.lines and heartbeat and interval_s > 0
            else None
        )
        self._progress = (
            Progress(
                TextColumn("[bold]episodes"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[stats]}"),
                console=console or Console(file=self.stream),
                transient=False,
            )
            if live
            else None
        )
        self._task = (
            self._progress.add_task("rollout", total=total, stats="") if self._progress else None
        )

    def _failure_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items()))

    def stats(self) -> str:
        """The live bar's text beside the bar: success, rate, failures."""
        elapsed = max(self.clock() - self.started, 1e-9)
        success = 100.0 * self.successes / self.done if self.done else 0.0
        line = f"success {success:.1f}% | {self.done / elapsed:.2f} ep/s"
        if self.failures:
            line += " | " + self._failure_text()
        return line

    def line(self, *, final: bool = False) -> str:
        """One plain progress line (the ETA becomes the total time in the final line)."""
        elapsed = max(self.clock() - self.started, 1e-9)
        percent = 100.0 * self.done / self.total if self.total else 100.0
        parts = [f"episodes {self.done}/{self.total} ({percent:.0f}%)"]
        if self.done:
            rate = self.done / elapsed
            parts += [f"success {100.0 * self.successes / self.done:.1f}%", f"{rate:.2f} ep/s"]
            if not final and self.done < self.total:
                parts.append(f"ETA {format_duration((self.total - self.done) / rate)}")
        if final:
            parts.append(f"took {format_duration(elapsed)}")
        if self.failures:
            parts.append(self._failure_text())
        return " | ".join(parts)

    def _print(self, *, final: bool = False) -> None:
        """Write a line now (the caller holds the lock); a broken stream silences the display."""
        try:
            print(self.line(final=final), file=self.stream, flush=True)
        except (OSError, ValueError):  # the reader went away: the run goes on without progress
            self.lines = False
        self._printed_at = self.clock()

    def tick(self) -> None:
        """Print a line if ``interval_s`` passed since the last one (plain-line form only)."""
        with self._lock:
            if self.lines and (self._printed_at is None or self.clock() - self._printed_at >= self.interval_s):
                self._print()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()

    def update(self, trajectory: Trajectory) -> None:
        with self._lock:
            self.done += 1
            self.successes += int(trajectory.success)
            if trajectory.status != "ok":
                self.failures[trajectory.failure or trajectory.status] += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, stats=self.stats())
        self.tick()

    def __enter__(self) -> ProgressDisplay:
        if self._progress is not None:
            self._progress.start()
        if self.lines:
            with self._lock:
                self._print()
            if self._heartbeat is not None:
                self._heartbeat.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._heartbeat is not None and self._heartbeat.is_alive():
            self._stop.set()
            self._heartbeat.join()
        if self.lines:
            with self._lock:
                self._print(final=True)
