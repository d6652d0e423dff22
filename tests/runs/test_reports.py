"""Terminal and HTML reports over synthetic run folders (no sandbox, no browser)."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from medagentgym.runs.html_report import ReportMetrics, select_episodes, write_html_report
from medagentgym.runs.report import print_report
from medagentgym.runs.store import load_run

XSS = "<script>alert(1)</script>"

# ------------------------------------------------------------------------------------------------
# Terminal


def _render(run_dirs) -> tuple[str, list]:
    console = Console(record=True, width=120, color_system=None)
    metrics = print_report(run_dirs, console)
    return console.export_text(), metrics


def _fits(text: str) -> None:
    assert all(len(line) <= 120 for line in text.splitlines()), "a line is wider than 120 columns"
    assert "…" not in text, "a cell was truncated"


def test_terminal_report_of_one_run(two_runs) -> None:
    good, _ = two_runs
    text, metrics = _render(good)
    _fits(text)
    assert len(metrics) == 1 and metrics[0].label == "api:model-a"
    for expected in ("Success by dataset", "Success by category", "toy/bmi", "other/sql", "pass@1", "pass@3", "best@3"):
        assert expected in text
    # 16 episodes, 15 scored (the infra failure is left out), 13 right
    assert "13/15 scored" in text and "infra:rate_limit 1" in text
    assert "$0.0" in text and "rate_limit 3" in text  # cost shown; absorbed retries counted


def test_terminal_report_accepts_a_list_with_one_run(two_runs) -> None:
    text, metrics = _render([two_runs[1]])
    assert len(metrics) == 1 and "Leaderboard" not in text and "max_turns 3" in text


def test_terminal_leaderboard_of_two_runs(two_runs) -> None:
    text, metrics = _render(list(two_runs))
    _fits(text)
    assert [m.label for m in metrics] == ["api:model-a", "small"]
    assert "Leaderboard" in text and "What went wrong" in text and "Success by dataset (95% CI)" in text
    board = text[text.index("Leaderboard") : text.index("What went wrong")]
    # best success first: api (13/15) above small (2/9)
    assert board.index("api:model-a") < board.index("small")
    assert "86.7%" in board and "22.2%" in board


def test_terminal_report_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        print_report(tmp_path, Console(record=True, width=120))


# ------------------------------------------------------------------------------------------------
# HTML

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Checker(HTMLParser):
    """Checks that tags nest and close, and collects what a hostile page would need."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.scripts: list[str] = []
        self.in_script = False
        self.external: list[str] = []
        self.text: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value and ("//" in value or value.startswith("javascript:")):
                self.external.append(value)
            if name.startswith("on"):
                self.errors.append(f"event handler attribute {name} on <{tag}>")
            if name == "id" and value:
                self.ids.append(value)
        if tag == "script":
            self.in_script = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.scripts.append(data)
        else:
            self.text.append(data)


def _check(path: Path) -> _Checker:
    checker = _Checker()
    checker.feed(path.read_text(encoding="utf-8"))
    checker.close()
    assert not checker.errors, (path, checker.errors[:5])
    assert checker.stack == [], (path, checker.stack)
    assert not checker.external, (path, checker.external)
    return checker


@pytest.fixture(scope="module")
def report(two_runs, tmp_path_factory) -> Path:
    """The report of both runs, built once for the tests that only read it."""
    return write_html_report(list(two_runs), tmp_path_factory.mktemp("site") / "report")


def test_html_report_writes_the_expected_files(report: Path, two_runs) -> None:
    out = report.parent
    assert report.name == "index.html" and report.exists()
    assert (out / "runs" / "r1" / "index.html").exists() and (out / "runs" / "r2" / "index.html").exists()
    good_episodes = sorted((out / "runs" / "r1" / "episodes").glob("e*.html"))
    assert len(good_episodes) == len(load_run(two_runs[0])) == 16
    metrics = ReportMetrics.model_validate_json((out / "metrics.json").read_text())
    assert [m.label for m in metrics.runs] == ["api:model-a", "small"]
    single = json.loads((out / "runs" / "r2" / "metrics.json").read_text())
    assert single["label"] == "small" and single["samples_per_task"] == 3


def test_html_index_has_the_sections_and_charts(report: Path) -> None:
    text = report.read_text()
    for section in ("Leaderboard", "What went wrong", "Success by dataset", "Charts", "Published numbers of the original system"):
        assert f"<h2>{section}</h2>" in text or f">{section}</h2>" in text, section
    assert text.count('class="plot" data-figure=') >= 5  # dataset, pass@k, turns, tokens, latency, failures, category
    for caption in ("Unbiased pass@k", "Turns (env steps)", "Tokens per episode", "Episodes per failure kind", "Per-call latency"):
        assert caption in text
    assert 'href="runs/r1/index.html"' in text and 'href="runs/r2/index.html"' in text
    assert "Content-Security-Policy" in text and "default-src 'none'" in html.unescape(text)
    _check(report)


def test_html_run_page_has_an_episode_index_with_filters(report: Path) -> None:
    page = report.parent / "runs" / "r1" / "index.html"
    checker = _check(page)
    text = page.read_text()
    assert 'id="episodes"' in text and 'data-filter="status"' in text and 'data-filter="category"' in text
    assert 'data-status="infra_error"' in text and 'data-success="not scored"' in text
    assert 'href="episodes/e0001.html"' in text
    # no inline script at all: the behaviour is the report's own assets/report.js
    assert not "".join(checker.scripts).strip() and 'src="../../assets/report.js"' in text
    assert checker.ids.count("episodes") == 1 and 'data-tools-for="episodes"' in text and "data-search" in text
    assert (report.parent / "assets" / "report.js").exists() and (report.parent / "assets" / "plotly.min.js").exists()
    # the episode table comes before the charts
    assert text.index('id="episodes"') < text.index('id="charts"')


def test_html_trajectory_viewer_shows_the_episode_step_by_step(report: Path) -> None:
    pages = sorted((report.parent / "runs" / "r2" / "episodes").glob("e*.html"))
    text = pages[0].read_text()  # weak run, toy/bmi/test/0 epoch 0: max_turns with a parse error
    assert "Task of toy/bmi/test/0" in text and "system prompt" in text
    assert "Step 1" in text and "Step 4" in text
    assert "model output (raw)" in text and "not json" in text and "action not parsed" in text
    assert "parsed action" in text and '<pre class="code">print(2)</pre>' in text
    assert "observation (what the agent saw)" in text and "raw execution result" in text
    assert "max_turns" in text and "nothing submitted" in text
    assert 'href="../index.html"' in text and 'href="../../../index.html"' in text
    _check(pages[0])


def test_html_escapes_a_malicious_trajectory(report: Path) -> None:
    out = report.parent
    pages = list(out.rglob("*.html"))
    hostile = [p for p in pages if "alert(1)" in p.read_text()]
    assert hostile, "the malicious episode must be in the report"
    for page in pages:
        text = page.read_text()
        assert XSS not in text, page
        checker = _check(page)
        assert all("alert" not in s for s in checker.scripts), page
    viewer = next(p for p in hostile if "episodes" in p.parts)
    text = viewer.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "thinking &lt;/pre&gt;&lt;/td&gt;" in text  # closing tags in model output stay text
    checker = _check(viewer)
    assert any(XSS in chunk for chunk in checker.text)  # a reader sees the text itself


def test_html_report_is_deterministic(report: Path, two_runs, tmp_path: Path) -> None:
    again = write_html_report(list(two_runs), tmp_path / "again")
    assert again.read_text() == report.read_text()
    for page in ("runs/r1/index.html", "runs/r2/episodes/e0001.html"):
        assert (again.parent / page).read_text() == (report.parent / page).read_text()


def test_episode_pages_are_capped_round_robin_failures_first(two_runs, tmp_path: Path) -> None:
    trajectories = load_run(two_runs[0])
    chosen = select_episodes(trajectories, 3)
    # three categories, one each, the unsuccessful one first within its category
    assert sorted((t.dataset, t.category) for t in chosen) == [("other", "sql"), ("toy", "bmi"), ("toy", "gcs")]
    assert all(not t.success for t in chosen if t.category != "sql")
    index = write_html_report([two_runs[0]], tmp_path / "capped", max_episodes=3)
    assert len(list((index.parent / "runs" / "r1" / "episodes").glob("*.html"))) == 3
    assert "3 of 16 episodes have a page" in (index.parent / "runs" / "r1" / "index.html").read_text()


def test_html_report_of_one_run_has_no_comparison_legend_clutter(two_runs, tmp_path: Path) -> None:
    index = write_html_report(two_runs[1], tmp_path / "one")
    text = index.read_text()
    assert "#1 small" in text and "runs/r2" not in text
    _check(index)


def test_html_escapes_hostile_names_in_tables_and_charts(make_trajectory, tmp_path: Path) -> None:
    from conftest import write_run

    hostile = '"><img src=x onerror=alert(2)>'
    run = write_run(
        tmp_path / "run",
        [make_trajectory("toy/x/test/0", category=hostile, policy=hostile, answer=hostile, correct=False)],
        policy=hostile,
    )
    index = write_html_report([run], tmp_path / "site", max_episodes=5)
    for page in index.parent.rglob("*.html"):
        text = page.read_text()
        assert "<img" not in text, page
        _check(page)  # also: no element carries an on* attribute
    assert "&lt;img src=x onerror=alert(2)&gt;" in index.read_text()
