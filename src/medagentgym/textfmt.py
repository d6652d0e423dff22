"""Plain-text rendering of result tables for agents: psql-like, aligned, long cells clipped.

One renderer serves harness-side inspection and SQL results inside sandbox sessions, so an agent
reads every table the same way. It imports nothing heavy: sessions import it after fork.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CELL_WIDTH = 200


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = value.hex() if isinstance(value, bytes) else str(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if len(text) > CELL_WIDTH:
        text = text[: CELL_WIDTH - 3] + "..."
    return text


def format_table(columns: Sequence[Any], rows: Sequence[Sequence[Any]], total: int | None = None) -> str:
    """Rows under a header; the footer says how many rows there were in all (``total``)."""
    total = len(rows) if total is None else total
    header = [_cell(c) for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(header[i])] + [len(r[i]) for r in cells]) for i in range(len(header))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    if total > len(rows):
        lines.append(f"(showing first {len(rows)} of {total} rows)")
    else:
        lines.append(f"({total} row{'s' if total != 1 else ''})")
    return "\n".join(lines)
