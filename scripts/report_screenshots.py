#!/usr/bin/env python
"""Screenshot every page kind of an HTML report in headless Chromium, at 1280 and 1920 px.

    .venv/bin/python scripts/report_screenshots.py REPORT_DIR OUT_DIR [--width 1280 --width 1920]

REPORT_DIR is what ``medagentgym report --html`` wrote. The pages shot are the index, every run
page, one episode page per run (the first one that went wrong, else the first) and the first
compare page; each becomes OUT_DIR/<kind>-<width>.png as a full-page image. For each page the
script prints its size and whether it overflows sideways, and it exits 1 when a page overflows,
asked for something outside file://, or logged a JavaScript error: the same checks as
tests/runs/test_report_browser.py, for a person to look at the pictures after.

Why a script of its own: a report's layout can only be judged by eye in a real browser, and a
reviewer should get the same pictures from the same report. It drives Debian's /usr/bin/chromium
through playwright's sync API (``pip install playwright``; never ``playwright install``, which
downloads a browser) with the flags below, so the browser reaches nothing on the network, and a
fresh profile folder per run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WIDTHS = (1280, 1920)
HEIGHT = 1000  # the viewport; screenshots are full-page whatever it is


@dataclass
class PageCheck:
    """What one page did in the browser: its width against the viewport, requests refused, JS errors."""

    kind: str
    path: Path
    width: int
    scroll_width: int = 0
    scroll_height: int = 0
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.width

    @property
    def ok(self) -> bool:
        return not self.overflows and not self.blocked and not self.errors


def page_kinds(report_dir: Path) -> list[tuple[str, Path]]:
    """(kind, file) of the pages worth looking at: index, each run, an episode per run, a compare page."""
    pages = [("index", report_dir / "index.html")]
    for run_page in sorted((report_dir / "runs").glob("r*/index.html"), key=lambda p: int(p.parent.name[1:] or 0)):
        name = run_page.parent.name
        pages.append((f"run-{name}", run_page))
        episodes = sorted(run_page.parent.glob("episodes/e*.html"))
        wrong = next((e for e in episodes if _went_wrong(e)), None)
        if wrong or episodes:
            pages.append((f"episode-{name}", wrong or episodes[0]))
    compare = sorted((report_dir / "compare").glob("*.html"))
    if compare:
        pages.append(("compare", compare[0]))
    return [(kind, path) for kind, path in pages if path.exists()]


def _went_wrong(page: Path) -> bool:
    text = page.read_text(encoding="utf-8", errors="replace")
    return any(mark in text for mark in ('class="badge fail"', 'class="badge max_turns"', 'class="badge parse_error"'))


@contextmanager
def browser_context(width: int) -> Iterator[Any]:
    """A fresh Chromium profile at ``width`` x HEIGHT; raises RuntimeError when it cannot start."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError("playwright is not installed (pip install playwright; no 'playwright install')") from exc
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)")
    with tempfile.TemporaryDirectory(prefix="report-shots-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(FLAGS),
            viewport={"width": width, "height": HEIGHT},
        )
        try:
            yield context
        finally:
            context.close()


def open_page(context: Any, path: Path, check: PageCheck) -> Any:
    """Load ``path`` with every request outside file:// refused and recorded, and JS errors recorded."""
    page = context.new_page()

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith("file://"):
            request_route.continue_()
        else:
            check.blocked.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: check.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: check.errors.append(str(exc)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # let charts draw before measuring
    size = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight, window.innerWidth]"
    )
    check.scroll_width, check.scroll_height, check.width = int(size[0]), int(size[1]), int(size[2])
    return page


def shoot(report_dir: Path, out_dir: Path, widths: tuple[int, ...] = WIDTHS) -> list[PageCheck]:
    """Screenshot every page kind at every width into ``out_dir``; returns what each page did."""
    out_dir.mkdir(parents=True, exist_ok=True)
    checks = []
    for width in widths:
        with browser_context(width) as context:
            for kind, path in page_kinds(report_dir):
                check = PageCheck(kind, path, width)
                page = open_page(context, path, check)
                page.screenshot(path=str(out_dir / f"{kind}-{width}.png"), full_page=True)
                page.close()
                checks.append(check)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--width", type=int, action="append", help="viewport width in px (repeatable)")
    args = parser.parse_args(argv)
    if not (args.report_dir / "index.html").is_file():
        print(f"error: {args.report_dir} has no index.html (pass the folder given to --html)", file=sys.stderr)
        return 2
    try:
        checks = shoot(args.report_dir, args.out_dir, tuple(args.width or WIDTHS))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for c in checks:
        state = "ok" if c.ok else "PROBLEM"
        print(
            f"{state:7} {c.kind}-{c.width}.png  page {c.scroll_width}x{c.scroll_height} in a {c.width} px window"
            + (f"  overflows by {c.scroll_width - c.width} px" if c.overflows else "")
            + (f"  blocked {c.blocked[:3]}" if c.blocked else "")
            + (f"  js errors {c.errors[:3]}" if c.errors else "")
        )
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
