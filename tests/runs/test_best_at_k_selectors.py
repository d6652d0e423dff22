"""best@k by several selectors side by side, bootstrap intervals, and the reports that show them."""

from __future__ import annotations

import itertools
import html
import json
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from medagentgym.cli import app
from medagentgym.runs.html_report import write_html_report
from medagentgym.runs.report import print_report
from medagentgym.runs.schema import Trajectory
from medagentgym.runs.store import load_run
from medagentgym.scoring.metrics import (
    GroupMetrics,
    MajorityVote,
    RunMetrics,
    best_at_k,
    bootstrap_mean_intervals,
    compute_metrics,
    pass_at_k,
)


class Oracle:
    """Peeks at the grade: the first successful candidate (the upper bound of any selector)."""

    name = "oracle"

    def select(self, candidates: Sequence[Trajectory]) -> int:
        return next((i for i, t in enumerate(candidates) if t.success), 0)


class LastSubmitted:
    """A stand-in for a verifier: the last candidate that submitted something."""

    name = "verifier"

    def select(self, candidates: Sequence[Trajectory]) -> int:
        return max((i for i, t in enumerate(candidates) if t.submitted), default=0)


def _mixed(make_trajectory, outcomes: dict[str, Sequence[bool]]) -> list[Trajectory]:
    return [
        make_trajectory(sid, epoch=e, correct=ok, answer=22.5 if ok else 10.0 + e)
        for sid, row in outcomes.items()
        for e, ok in enumerate(row)
    ]


OUTCOMES = {
    "toy/bmi/test/0": (False, True, False, True),
    "toy/bmi/test/1": (False, False, False, False),
    "toy/bmi/test/2": (True, True, True, True),
    "toy/bmi/test/3": (False, False, True, False),
}


# --------------------------------------------------------------------------------------------
# Point values


def test_a_perfect_selector_equals_pass_at_k_at_k_equal_n_and_over_all_orders(make_trajectory) -> None:
    ts = _mixed(make_trajectory, OUTCOMES)
    m = compute_metrics(ts, selectors=[Oracle()])
    assert m.overall.best_at_k_by["oracle"][4] == pytest.approx(m.overall.pass_at_k[4]) == 0.75
    # For k < n, pass@k is the oracle's success averaged over every order of the n samples.
    for k in (1, 2, 3):
        total = Fraction(0)
        orders = list(itertools.permutations(range(4)))
        for order in orders:
            tasks = [[ts[4 * t + i] for i in order] for t in range(4)]
            total += Fraction(sum(tasks_[: k][Oracle().select(tasks_[:k])].success for tasks_ in tasks), 4)
        expected = sum((pass_at_k(4, sum(row), k) for row in OUTCOMES.values()), Fraction(0)) / 4
        assert total / len(orders) == expected
        assert m.overall.pass_at_k[k] == pytest.approx(float(expected))


def test_majority_vote_keeps_the_old_numbers_and_stays_first(make_trajectory, two_runs) -> None:
    ts = _mixed(make_trajectory, OUTCOMES)
    old = compute_metrics(ts)  # the one-selector call of before
    both = compute_metrics(ts, selectors=[MajorityVote(), LastSubmitted()])
    tasks = [[t for t in ts if t.sample_id == sid] for sid in OUTCOMES]
    for k in range(1, 5):
        assert both.overall.best_at_k[k] == old.overall.best_at_k[k] == best_at_k(tasks, k, MajorityVote())
    assert both.overall.best_at_k_by["majority-vote"] == old.overall.best_at_k
    # the last candidate: task 0 right at k=2,4; task 2 always; task 3 at k=3
    assert both.overall.best_at_k_by["verifier"] == {1: 0.25, 2: 0.5, 3: 0.5, 4: 0.5}
    assert both.selector == "majority-vote" and both.selectors == ["majority-vote", "verifier"]
    for run_dir in two_runs:  # real run folders: the old path and the explicit one agree
        trajectories = load_run(run_dir)
        a, b = compute_metrics(trajectories), compute_metrics(trajectories, selectors=[MajorityVote()])
        assert a.overall.best_at_k == b.overall.best_at_k and a.categories == b.categories
    with pytest.raises(ValueError, match="not both"):
        compute_metrics(ts, selector=MajorityVote(), selectors=[MajorityVote()])
    with pytest.raises(ValueError, match="distinct"):
        compute_metrics(ts, selectors=[MajorityVote(), MajorityVote()])


# --------------------------------------------------------------------------------------------
# Intervals


def test_intervals_contain_the_estimate_and_are_deterministic(make_trajectory) -> None:
    ts = _mixed(make_trajectory, OUTCOMES)
    a = compute_metrics(ts, selectors=[MajorityVote(), Oracle()])
    b = compute_metrics(ts, selectors=[MajorityVote(), Oracle()])
    assert a.model_dump() == b.model_dump()
    for group in [a.overall, *a.datasets, *a.categories]:
        series = [(group.pass_at_k, group.pass_at_k_ci)] + [
            (group.best_at_k_by[n], group.best_at_k_ci_by[n]) for n in ("majority-vote", "oracle")
        ]
        for values, intervals in series:
            assert set(intervals) == set(values) == {1, 2, 3, 4}
            for k, (low, high) in intervals.items():
                assert 0.0 <= low <= values[k] <= high <= 1.0
    assert a.overall.pass_at_k_ci[4] != [0.75, 0.75]  # four tasks that differ: a real spread


def test_bootstrap_width_matches_the_normal_approximation() -> None:
    values = [1.0, 0.0] * 200  # 400 tasks, mean 0.5: the 95% half-width is about 1.96 * 0.025
    ((low, high),) = bootstrap_mean_intervals([values])
    assert low < 0.5 < high and 0.08 < high - low < 0.12
    assert bootstrap_mean_intervals([values]) == [(low, high)]
    assert bootstrap_mean_intervals([values], seed=1) != [(low, high)]
    assert bootstrap_mean_intervals([[0.3]]) == [(0.3, 0.3)]  # one task: no spread to estimate
    assert bootstrap_mean_intervals([[1.0] * 50]) == [(1.0, 1.0)]


def test_metrics_files_written_before_the_intervals_still_load(make_trajectory) -> None:
    m = compute_metrics(_mixed(make_trajectory, OUTCOMES))
    old = json.loads(m.model_dump_json())
    for group in [old["overall"], *old["datasets"], *old["categories"]]:
        for key in ("best_at_k_by", "pass_at_k_ci", "best_at_k_ci_by"):
            del group[key]
    for key in ("selectors", "bootstrap_resamples"):
        del old[key]
    loaded = RunMetrics.model_validate(old)
    assert loaded.overall.best_at_k == m.overall.best_at_k and loaded.overall.pass_at_k_ci == {}
    assert GroupMetrics.model_validate(old["overall"]).best_at_k_by == {}


# --------------------------------------------------------------------------------------------
# Reports


def test_terminal_report_shows_pass_and_both_best_at_k_with_intervals(two_runs) -> None:
    console = Console(record=True, width=120, color_system=None)
    (metrics,) = print_report(two_runs[0], console, selectors=[MajorityVote(), LastSubmitted()])
    text = console.export_text()
    assert all(len(line) <= 120 for line in text.splitlines())
    table = text[text.index("pass@k and best@k over k") :]
    header = next(line for line in table.splitlines() if "pass@k" in line and "best@k (verifier)" in line)
    assert header.index("pass@k") < header.index("best@k (majority-vote)") < header.index("best@k (verifier)")
    o = metrics.overall
    row3 = next(line for line in table.splitlines() if line.strip().startswith("3 "))
    low, high = o.best_at_k_ci_by["verifier"][3]
    assert f"{100 * o.best_at_k_by['verifier'][3]:.1f}% ({100 * low:.0f}-{100 * high:.0f})" in row3
    assert "best@3 (verifier)" in " ".join(text.split())  # the summary line names it too
    # several runs: the pass@K / best@K comparison
    console = Console(record=True, width=120, color_system=None)
    print_report(list(two_runs), console, selectors=[MajorityVote(), LastSubmitted()])
    many = console.export_text()
    assert "pass@K and best@K (95% bootstrap interval over tasks)" in many and "best@K (verifier)" in many


def test_html_report_shows_the_three_side_by_side(two_runs, tmp_path: Path) -> None:
    index = write_html_report(list(two_runs), tmp_path / "report", selectors=[MajorityVote(), LastSubmitted()])
    top = index.read_text(encoding="utf-8")
    assert "best@K (majority-vote)" in top and "best@K (verifier)" in top and "pass@K (95% CI)" in top
    run_page = (tmp_path / "report" / "runs" / "r1" / "index.html").read_text(encoding="utf-8")
    section = run_page[run_page.index(">pass@k and best@k</h2>") :]
    head = section[: section.index("</thead>")]
    assert head.index(">pass@k<") < head.index("best@k (majority-vote)") < head.index("best@k (verifier)")
    # the scaling chart: one line per measure, named in its legend (the figure's escaped JSON)
    figures = [json.loads(html.unescape(f)) for f in re.findall(r'data-figure="([^"]*)"', run_page)]
    chart = next(f for f in figures if f["layout"]["title"]["text"] == "pass@k and best@k by k")
    assert [trace["name"] for trace in chart["data"]] == ["pass@k", "best@k (majority-vote)", "best@k (verifier)"]
    stored = json.loads((tmp_path / "report" / "runs" / "r1" / "metrics.json").read_text(encoding="utf-8"))
    assert set(stored["overall"]["best_at_k_ci_by"]) == {"majority-vote", "verifier"}


def test_report_cli_refuses_a_missing_verifier_with_one_line(two_runs, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(two_runs[0]), "--verifier", str(tmp_path / "nonexistent")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "nonexistent" in lines[0] and "verifier" in lines[0]
    plain = CliRunner().invoke(app, ["report", str(two_runs[0])])
    assert plain.exit_code == 0 and "best@k (majority-vote)" in plain.output and "verifier" not in plain.output


def test_one_majority_vote_reused_on_other_episodes_with_the_same_ids(make_trajectory) -> None:
    vote = MajorityVote()
    first = _mixed(make_trajectory, {"toy/bmi/test/0": (True, True, False)})
    second = _mixed(make_trajectory, {"toy/bmi/test/0": (False, False, True)})
    assert compute_metrics(first, selectors=[vote]).overall.best_at_k[3] == 1.0
    assert compute_metrics(second, selectors=[vote]).overall.best_at_k[3] == 0.0  # no stale vote keys
    assert vote.select(first) == 0 and vote == MajorityVote()  # unprepared episodes still vote
