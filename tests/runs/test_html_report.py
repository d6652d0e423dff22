"""What issue 14 asked of the reports: failed runs never 0%, common samples, Wilson by scipy,
charts that read right, the episode table, the compare view, live refresh and --watch."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pytest
from conftest import build_trajectory, write_run
from rich.console import Console

from medagentgym.runs import plots
from medagentgym.runs.html_report import expected_answer, watch_html_report, write_html_report
from medagentgym.runs.report import load_runs, print_report
from medagentgym.runs.schema import StepRecord
from medagentgym.scoring import Score
from medagentgym.scoring.metrics import sample_overlap, wilson_interval


def _terminal(run_dirs) -> str:
    console = Console(record=True, width=120, color_system=None)
    print_report(run_dirs, console)
    text = console.export_text()
    assert all(len(line) <= 120 for line in text.splitlines())
    return text


def _figures(page: Path) -> list[dict]:
    text = page.read_text(encoding="utf-8")
    return [json.loads(html.unescape(f)) for f in re.findall(r'data-figure="([^"]*)"', text)]


def _infra_run(tmp_path: Path, name: str = "down") -> Path:
    episodes = [
        build_trajectory(f"toy/bmi/test/{i}", status="infra_error", failure="connection", steps=0, policy="api", run_id=name)
        for i in range(2)
    ]
    for t in episodes:
        t.error = "policy: connection after 1 attempt(s) to http://127.0.0.1:9/v1: ConnectError"
    return write_run(tmp_path / name, episodes, policy="api", model="m")


# ------------------------------------------------------------------------------------------------
# Item 9: the Wilson interval by scipy, identical to the hand-written one


def _hand_wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def test_wilson_interval_by_scipy_matches_the_formula_to_1e_9() -> None:
    for n in (1, 2, 3, 7, 10, 31, 100, 257):
        for successes in range(n + 1):
            low, high = wilson_interval(successes, n)
            want = _hand_wilson(successes, n)
            assert abs(low - want[0]) < 1e-9 and abs(high - want[1]) < 1e-9, (successes, n)
    assert abs(wilson_interval(3, 9, z=2.58)[1] - _hand_wilson(3, 9, z=2.58)[1]) < 1e-9
    assert wilson_interval(0, 0) == (0.0, 0.0)


# ------------------------------------------------------------------------------------------------
# Item 1: a run of infrastructure failures is FAILED, never 0%


def test_terminal_report_calls_an_all_infra_run_failed(tmp_path: Path) -> None:
    text = _terminal(_infra_run(tmp_path))
    assert "FAILED" in text and "connection 2" in text and "ConnectError" in text
    assert "0/0 scored" not in text and "0.0%" not in text


def test_leaderboards_rank_a_failed_run_last_as_failed(two_runs, tmp_path: Path) -> None:
    down = _infra_run(tmp_path)
    text = _terminal([down, *two_runs])
    board = text[text.index("Leaderboard") : text.index("pass@K and best@K")]
    rows = [line for line in board.splitlines() if line.strip()[:1].isdigit()]
    assert "FAILED" in rows[-1] and "api:m" in rows[-1] and "0.0%" not in rows[-1]
    index = write_html_report([down, *two_runs], tmp_path / "site")
    page = index.read_text(encoding="utf-8")
    board_html = page[page.index('id="leaderboard"') : page.index("</table>", page.index('id="leaderboard"'))]
    last = board_html.rsplit("<tr>", 1)[1]
    assert "FAILED" in last and "connection 2" in last and "<b>0.0%</b>" not in last
    assert 'class="banner failed"' in page


# ------------------------------------------------------------------------------------------------
# Item 3: runs over different samples are compared on the common ones


def test_overlap_ignores_runs_without_a_scored_episode(two_runs, tmp_path: Path) -> None:
    runs = load_runs([*two_runs, _infra_run(tmp_path)])
    overlap = sample_overlap([r.trajectories for r in runs])
    assert overlap.compared == [True, True, False]
    assert overlap.common == ["toy/bmi/test/0", "toy/bmi/test/1", "toy/bmi/test/2"]
    assert overlap.per_run == [5, 3, 2] and not overlap.identical
    good = runs[0]
    assert good.common is not None and good.common.tasks == 3 and good.metrics.tasks == 5
    assert runs[2].common is None  # a failed run has nothing to compare


def test_leaderboard_says_loudly_that_samples_differ(two_runs, tmp_path: Path) -> None:
    text = _terminal(list(two_runs))
    assert "ranked on the 3 samples common to all" in " ".join(text.split())
    assert "common" in text and "3/5" in text
    index = write_html_report(list(two_runs), tmp_path / "site")
    page = index.read_text(encoding="utf-8")
    assert 'class="banner warn"' in page and "ranked on the 3 samples common to all" in page
    assert "3 / 5" in page and "3 / 3" in page


def test_runs_over_the_same_samples_get_no_overlap_warning(two_runs, tmp_path: Path) -> None:
    text = _terminal([two_runs[1], two_runs[1]])
    assert "common to all" not in text
    runs = load_runs([two_runs[1], two_runs[1]])
    assert runs[0].common is None and runs[0].overlap is not None and runs[0].overlap.identical


# ------------------------------------------------------------------------------------------------
# Item 7: charts


def test_a_run_keeps_its_colour_in_every_chart_and_page(two_runs, tmp_path: Path) -> None:
    index = write_html_report(list(two_runs), tmp_path / "site")
    colours: dict[str, set[str]] = {}
    pages = [index, tmp_path / "site" / "runs" / "r1" / "index.html", tmp_path / "site" / "runs" / "r2" / "index.html"]
    for page in pages:
        for figure in _figures(page):
            for trace in figure["data"]:
                name = trace["name"].split(" ")[0] if trace["name"].startswith("#") else None
                colour = (trace.get("marker") or {}).get("color") or (trace.get("line") or {}).get("color")
                run = name or ("#1" if "r1" in page.parts else "#2")
                colours.setdefault(run, set()).add(colour)
    assert colours == {"#1": {plots.colour(0)}, "#2": {plots.colour(1)}}


def test_zero_percent_bars_carry_their_value() -> None:
    from medagentgym.scoring.metrics import compute_metrics

    wrong = compute_metrics([build_trajectory(correct=False)])
    figure = plots.success_bars([(("#1 x", 0), wrong.datasets)], title="t")
    assert figure is not None
    assert figure["data"][0]["text"] == ["0%"] and figure["data"][0]["textposition"] == "outside"


def test_count_axes_have_integer_ticks() -> None:
    figure = plots.count_bars([(("#1 x", 0), [1, 2, 2, 3, 3, 3])], title="t", xlabel="turns", integer=True)
    assert figure is not None
    y = figure["layout"]["yaxis"]
    assert y["tickformat"] == "d" and isinstance(y["dtick"], int) and y["dtick"] >= 1
    assert figure["data"][0]["y"][:4] == [0, 1, 2, 3]
    assert plots._nice_step(17) == 5 and plots._nice_step(3) == 1 and plots._nice_step(250) == 50


def test_chart_labels_from_a_run_are_escaped_for_plotly() -> None:
    from medagentgym.scoring.metrics import compute_metrics

    metrics = compute_metrics([build_trajectory(category="<b>x</b>")])
    figure = plots.success_bars([(("<a href=x>run</a>", 0), metrics.categories)], title="t", horizontal=True)
    assert figure is not None
    assert figure["data"][0]["name"] == "&lt;a href=x&gt;run&lt;/a&gt;"
    assert all("<b>" not in y for y in figure["data"][0]["y"])


def test_pass_at_1_is_shown_once_at_k_1(two_runs, tmp_path: Path) -> None:
    run = write_run(tmp_path / "one", [build_trajectory(f"toy/bmi/test/{i}") for i in range(3)], policy="p")
    page = (write_html_report([run], tmp_path / "site").parent / "runs" / "r1" / "index.html").read_text()
    cards = page[page.index('class="cards"') : page.index("</div></div>", page.index('class="cards"'))]
    assert "pass@1" not in cards and "best@1" not in cards
    head = page[page.index('id="by-dataset"') : page.index("</thead>", page.index('id="by-dataset"'))]
    assert head.count("pass@1") == 1


# ------------------------------------------------------------------------------------------------
# Episode table, episode page, compare view


def test_episode_page_shows_expected_answer_and_model_time(tmp_path: Path) -> None:
    t = build_trajectory(correct=False, answer=27.25)
    t.score = Score(
        value=0.0, correct=False, answer_type=t.score.answer_type, parsed=27.25,
        explanation="parsed 27.25 as a number; accepted range [12.825, 14.175] (inclusive); wrong",
    )  # fmt: skip
    t.steps = [StepRecord(**{**s.model_dump(), "model_s": 1.25}) for s in t.steps]
    run = write_run(tmp_path / "run", [t], policy="p")
    site = write_html_report([run], tmp_path / "site").parent
    page = (site / "runs" / "r1" / "episodes" / "e0001.html").read_text()
    assert "expected answer" in page and "a number in [12.825, 14.175]" in page
    assert "model 1.25 s · env 0.01 s" in page
    table = (site / "runs" / "r1" / "index.html").read_text()
    assert "a number in [12.825, 14.175]" in table and ">2.50<" in table  # model seconds of the episode


def test_episode_page_says_why_no_expected_answer_is_shown(tmp_path: Path) -> None:
    """No graded answer (the turn limit came first) is not "this answer type hides it"."""
    recorded = build_trajectory("toy/bmi/test/0", correct=False, answer=27.25)
    recorded.score = recorded.score.model_copy(update={"expected": 13.5})
    ungraded = build_trajectory("toy/bmi/test/1", status="max_turns", submitted=False)
    ungraded.score = None
    run = write_run(tmp_path / "run", [recorded, ungraded], policy="p")
    site = write_html_report([run], tmp_path / "site").parent
    pages = sorted((site / "runs" / "r1" / "episodes").glob("e*.html"))
    texts = {page.read_text().count("13.5") > 0: page.read_text() for page in pages}
    assert "no answer was graded" in texts[False] and "no answer was graded" not in texts[True]


def test_expected_answer_is_read_from_the_common_explanations() -> None:
    t = build_trajectory(correct=False)
    for explanation, want in (
        ("parsed 3 as a number; expected 4 (rel_tol 0.05, abs_tol 0); wrong", "4"),
        ("expected exactly 12", "12"),
        ("expected 2021-03-04", "2021-03-04"),
        ("matched 1 of 2 gold item(s)", None),
        ("expected 3 item(s), got 2", None),
    ):
        t.score = t.score.model_copy(update={"explanation": explanation})
        assert expected_answer(t)[0] == want, explanation
    t.score = None
    assert expected_answer(t) == (None, None)


def test_compare_pages_put_one_sample_of_every_run_side_by_side(two_runs, tmp_path: Path) -> None:
    site = write_html_report(list(two_runs), tmp_path / "site").parent
    pages = sorted((site / "compare").glob("c*.html"))
    assert len(pages) == 3  # the three toy/bmi samples both runs attempted
    text = pages[0].read_text()
    assert text.count('class="run"') == 2 and "#1 api:model-a" in text and "#2 small" in text
    assert "epoch 2" in text and 'href="../runs/r1/episodes/' in text
    index = (site / "index.html").read_text()
    assert 'id="samples-table"' in index and 'href="compare/c0001.html"' in index
    episode = next((site / "runs" / "r1" / "episodes").glob("e*.html")).read_text()
    assert "this sample in every run" in episode


# ------------------------------------------------------------------------------------------------
# Live runs


def test_unfinished_runs_reload_and_finished_ones_do_not(two_runs, tmp_path: Path) -> None:
    partial = write_run(tmp_path / "partial", [build_trajectory()], policy="p")
    manifest = json.loads((partial / "manifest.json").read_text())
    manifest["episodes_planned"] = 5
    (partial / "manifest.json").write_text(json.dumps(manifest))
    site = write_html_report([partial, two_runs[1]], tmp_path / "site", refresh_s=3).parent
    assert '<meta http-equiv="refresh" content="3">' in (site / "index.html").read_text()
    assert '<meta http-equiv="refresh" content="3">' in (site / "runs" / "r1" / "index.html").read_text()
    assert "refresh" not in (site / "runs" / "r2" / "index.html").read_text()
    assert "1 of 5 episodes written" in (site / "runs" / "r1" / "index.html").read_text()
    done = write_html_report([two_runs[1]], tmp_path / "done", refresh_s=3)
    assert 'http-equiv="refresh"' not in done.read_text()


def test_watch_rewrites_the_report_when_a_run_changes(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", [build_trajectory("toy/bmi/test/0")], policy="p")
    out = tmp_path / "site"
    writes: list[Path] = []
    ticks = {"n": 0}

    def fake_sleep(_: float) -> None:
        ticks["n"] += 1
        if ticks["n"] == 2:  # a new episode lands between two polls
            with (run / "trajectories.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(build_trajectory("toy/bmi/test/1").model_dump_json() + "\n")

    index = watch_html_report(run, out, interval_s=0.5, stop=lambda: ticks["n"] >= 4, on_write=writes.append, sleep=fake_sleep)
    assert index == out / "index.html" and len(writes) == 2  # the first write and the one change
    assert "toy/bmi/test/1" in (out / "runs" / "r1" / "index.html").read_text()


def test_watch_returns_on_ctrl_c(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", [build_trajectory()], policy="p")

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    assert watch_html_report(run, tmp_path / "site", sleep=interrupted).exists()


@pytest.mark.parametrize("hostile", ['"><img src=x onerror=alert(3)>', "</script><script>alert(4)</script>"])
def test_hostile_answers_stay_text_in_the_table_and_compare_view(hostile: str, tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", [build_trajectory(answer=hostile, correct=False, policy=hostile)], policy=hostile)
    b = write_run(tmp_path / "b", [build_trajectory(answer=hostile, correct=False)], policy="b")
    site = write_html_report([a, b], tmp_path / "site").parent
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "<img" not in text and "alert(4)</script>" not in text, page
    # the next report of a clean run is unaffected
    clean = write_html_report([b], tmp_path / "clean")
    assert "alert" not in clean.read_text()
