"""Plain-text rendering of result tables for agents: compact, aligned, with long cells clipped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_CELL = 80


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], total: int | None = None) -> str:
    """Render rows under a header; ``total`` (if more rows exist than shown) adds a note."""
    header = [_cell(c) for c in columns]
    body = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in header]
    for row in body:
        for i, cell in enumerate(row):
            if i < len(widths):
                widths[i] = max(widths[i], len(cell))
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=False))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) for row in body]
    if total is not None and total > len(rows):
        lines.append(f"({len(rows)} of {total} rows shown)")
    elif not rows:
        lines.append("(no rows)")
    return "\n".join(lines)
