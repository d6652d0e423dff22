"""Plain progress lines when stderr is not a terminal (a piped log), driven by a fake clock."""

from __future__ import annotations

import io
from typing import Any

import pytest

from medagentgym.rollout.progress import ProgressDisplay, format_duration
from medagentgym.runs.schema import PolicyInfo, Timing, Trajectory
from medagentgym.scoring import Score


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _trajectory(status: str = "ok", *, correct: bool = True, failure: str | None = None) -> Trajectory:
    score = Score(value=float(correct), correct=correct, answer_type="number", parsed=1, explanation="") if status == "ok" else None
    return Trajectory(
        run_id="r", sample_id="s", dataset="d", category="c", split="test", policy=PolicyInfo(name="p"),
        status=status, failure=failure, score=score,  # type: ignore[arg-type]
        timing=Timing(started_at="", ended_at="", duration_s=0.0),
    )


def _display(total: int = 40, **options: Any) -> tuple[ProgressDisplay, Pipe, FakeClock]:
    stream, clock = Pipe(), FakeClock()
    display = ProgressDisplay(total, enabled=True, stream=stream, clock=clock, heartbeat=False, **options)
    return display, stream, clock


def test_a_pipe_gets_periodic_plain_lines() -> None:
    display, stream, clock = _display(40, interval_s=10.0)
    with display:
        assert stream.getvalue() == "episodes 0/40 (0%)\n"  # the run started
        for i in range(12):
            clock.now += 1.0
            display.update(_trajectory(correct=i % 12 < 5))
        display.update(_trajectory("infra_error", failure="rate_limit"))
        display.update(_trajectory("infra_error", failure="rate_limit"))
    lines = stream.getvalue().splitlines()
    # One line at the start, one once 10 s had passed (the 10th episode), one at the end.
    assert lines[1] == "episodes 10/40 (25%) | success 50.0% | 1.00 ep/s | ETA 30s"
    assert lines[2] == "episodes 14/40 (35%) | success 35.7% | 1.17 ep/s | took 12s | rate_limit 2"
    assert len(lines) == 3


def test_a_quiet_stretch_is_covered_by_tick() -> None:
    display, stream, clock = _display(4, interval_s=10.0)
    with display:
        display.update(_trajectory())
        clock.now += 9.0
        display.tick()  # the heartbeat: not yet
        clock.now += 1.0
        display.tick()
        display.tick()  # not twice for the same interval
    lines = stream.getvalue().splitlines()
    assert lines == [
        "episodes 0/4 (0%)",
        "episodes 1/4 (25%) | success 100.0% | 0.10 ep/s | ETA 30s",
        "episodes 1/4 (25%) | success 100.0% | 0.10 ep/s | took 10s",
    ]


def test_a_terminal_gets_the_live_bar_not_lines() -> None:
    stream = Terminal()
    display = ProgressDisplay(3, enabled=True, stream=stream, heartbeat=False)
    assert display._progress is not None and not display.lines


@pytest.mark.parametrize("enabled,total", [(False, 10), (True, 0)])
def test_disabled_or_empty_prints_nothing(enabled: bool, total: int) -> None:
    stream = Pipe()
    with ProgressDisplay(total, enabled=enabled, stream=stream, heartbeat=False) as display:
        if total:
            display.update(_trajectory())
    assert stream.getvalue() == ""


def test_a_closed_stream_silences_the_display_and_the_run_goes_on() -> None:
    display, stream, clock = _display(2, interval_s=0.0)
    with display:
        stream.close()  # the reader of the pipe went away
        display.update(_trajectory())
        display.update(_trajectory())
    assert display.done == 2 and not display.lines


def test_the_heartbeat_thread_stops_with_the_display() -> None:
    stream = Pipe()
    display = ProgressDisplay(5, enabled=True, stream=stream, interval_s=3600.0)
    with display:
        assert display._heartbeat is not None and display._heartbeat.is_alive()
    assert not display._heartbeat.is_alive()
    assert stream.getvalue().splitlines()[-1].startswith("episodes 0/5 (0%) | took ")


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0s"), (33, "33s"), (245, "4m05s"), (3720, "1h02m")])
def test_durations_are_short(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
