"""The HTML report in headless Chromium: no page wider than 1280 px, sorting and search work, no
request leaves file://, no JavaScript error. Skipped where /usr/bin/chromium or playwright is
missing. Drives the browser through scripts/report_screenshots.py, so the screenshots a person
looks at and the checks here come from the same code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from medagentgym.runs.html_report import write_html_report

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "report_screenshots.py"
pytestmark = pytest.mark.slow

if not Path("/usr/bin/chromium").exists():
    pytest.skip("needs Debian's /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
if importlib.util.find_spec("playwright") is None:
    pytest.skip("needs playwright (pip install playwright; the browser is Debian's)", allow_module_level=True)


def _script():
    spec = importlib.util.spec_from_file_location("report_screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(two_runs, tmp_path_factory) -> Path:
    return write_html_report(list(two_runs), tmp_path_factory.mktemp("browser") / "report").parent


def test_every_page_kind_fits_1280_px_fetches_nothing_and_logs_no_error(site: Path) -> None:
    shots = _script()
    kinds = shots.page_kinds(site)
    assert {k.split("-")[0] for k, _ in kinds} == {"index", "run", "episode", "compare"}
    with shots.browser_context(1280) as context:
        for kind, path in kinds:
            check = shots.PageCheck(kind, path, 1280)
            page = shots.open_page(context, path, check)
            # tables that scroll inside themselves hide columns: none may be wider than its box
            clipped = page.evaluate(
                "Array.from(document.querySelectorAll('table')).filter(t => t.scrollWidth > t.clientWidth + 1"
                " || t.getBoundingClientRect().right > window.innerWidth).length"
            )
            charts = page.evaluate("document.querySelectorAll('div.plot .main-svg').length")
            page.close()
            assert check.scroll_width <= 1280, (kind, check.scroll_width)
            assert clipped == 0, kind
            assert check.blocked == [], (kind, check.blocked)
            assert check.errors == [], (kind, check.errors)
            if kind in ("index", "run-r1"):
                assert charts >= 5, (kind, charts)  # plotly drew, offline


def test_sorting_and_search_work_in_the_episode_table(site: Path) -> None:
    shots = _script()
    with shots.browser_context(1280) as context:
        check = shots.PageCheck("run", site / "runs" / "r1" / "index.html", 1280)
        page = shots.open_page(context, check.path, check)
        rows = "#episodes tbody tr:not([hidden])"
        epochs = lambda: page.eval_on_selector_all(rows, "rs => rs.map(r => Number(r.cells[1].textContent))")  # noqa: E731
        before = epochs()
        page.click("#episodes th:nth-child(2)")
        ascending = epochs()
        page.click("#episodes th:nth-child(2)")
        descending = epochs()
        assert ascending == sorted(before) and descending == sorted(before, reverse=True) and ascending != before
        page.fill("input[data-search]", "gcs")
        shown = page.eval_on_selector_all(rows, "rs => rs.map(r => r.cells[0].textContent)")
        assert shown and all("gcs" in s for s in shown) and len(shown) < len(before)
        assert page.text_content("[data-shown]") == str(len(shown))
        page.fill("input[data-search]", "")
        page.select_option("select[data-filter=status]", "infra_error")
        assert page.eval_on_selector_all(rows, "rs => rs.length") == 1
        page.close()
        assert check.errors == [] and check.blocked == []
