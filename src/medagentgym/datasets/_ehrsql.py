"""Helpers shared by the EHRSQL-style datasets (mimic_iii now; eicu and treqs can reuse them).

EHRSQL questions are answered by gold SQL in the SQLite dialect. Three facts shape this module:

* **A fixed "now".** EHRSQL's relative-time questions ("this year", "currently admitted") are
  written with the SQL keyword ``current_time`` and are meant to be read as
  ``'2105-12-31 23:59:00'`` (the end of the shifted MIMIC-III timeline). Executed verbatim,
  SQLite's ``current_time`` is today's wall-clock time of day (``'HH:MM:SS'``), which makes
  answers depend on when a query ran. :func:`prepare_query` substitutes the literal.
* **strftime formats.** Gold queries use ``strftime('%y', t)`` to mean the four-digit year and
  ``strftime('%j', t)`` differences to mean day differences. SQLite before 3.44 returns NULL
  for ``%y`` (so ``strftime('%y', t) >= '2103'`` silently filters everything out) and newer
  versions return a two-digit year (which compares wrongly against '2103'); ``%j`` is the day of
  the year, so differences across a year boundary go negative. EHRSQL's own evaluation rewrites
  ``%y`` to ``%Y`` and ``%j`` to ``%J`` (Julian day number) before executing; with
  ``ehrsql_compat=True`` (the default) :func:`prepare_query` does the same, which gives the
  meaning the question text states and the same result on every SQLite version.
* **Rows to answer.** One rule turns result rows into a typed answer (:func:`answer_from_rows`);
  generated samples, imported samples and the reference solutions all use it, so the target and
  the solution cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medagentgym.catalog.sample import AnswerType

#: The moment EHRSQL's MIMIC-III questions treat as "now".
MIMIC_III_NOW = "2105-12-31 23:59:00"

_CURRENT_TIME = re.compile(r"\bcurrent_time\b", re.IGNORECASE)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")


def prepare_query(sql: str, *, now: str = MIMIC_III_NOW, ehrsql_compat: bool = True) -> str:
    """Make an EHRSQL gold query executable with a fixed meaning.

    Replaces the keyword ``current_time`` (any case, whole word only: ``current_timestamp`` or a
    column named ``t_current_time`` are left alone) with the quoted literal ``now``. With
    ``ehrsql_compat`` it also applies EHRSQL's evaluation rewrites: ``%y`` -> ``%Y`` and
    ``%j`` -> ``%J`` inside format strings, and ``< =`` -> ``<=``. (EHRSQL's evaluation also
    collapses ``''`` to ``'``; that would break correctly escaped quotes, and no MIMIC-III gold
    query needs it, so it is not done here.)
    """
    out = _CURRENT_TIME.sub(f"'{now}'", sql)
    if ehrsql_compat:
        out = out.replace("%y", "%Y").replace("%j", "%J")
        out = out.replace("< =", "<=").replace("> =", ">=")
    return out


def connect_readonly(db_path: str | Path) -> sqlite3.Connection:
    """Open a SQLite database read-only (the sandbox and the verifier never write to it)."""
    return sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)


def execute(db_path: str | Path, sql: str) -> list[tuple[Any, ...]]:
    """Run one (already prepared) query read-only and return all rows."""
    con = connect_readonly(db_path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _scalar_text(value: Any) -> str:
    """How one SQL value reads as a string answer: lowercase, integers without '.0'."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lower()
    return str(value).lower()


def is_nonempty(rows: Sequence[Sequence[Any]]) -> bool:
    """True when the result holds at least one non-NULL value."""
    return any(v is not None for row in rows for v in row)


# The rows -> answer rule, one Python expression per answer type over ``rows`` and ``_text``.
# The same text is evaluated here (targets, imports) and written into every reference solution,
# so the harness and the sandbox cannot drift apart.
_ROWS_TO_ANSWER: dict[AnswerType, str] = {
    AnswerType.STRING_SET: "sorted({_text(r[0]) for r in rows if r and r[0] is not None})",
    AnswerType.ORDERED_LIST: "[_text(r[0]) for r in rows if r and r[0] is not None]",
    AnswerType.INTEGER: "int(round(float(rows[0][0])))",
    AnswerType.NUMBER: "float(rows[0][0])",
    AnswerType.BOOLEAN: "bool(float(rows[0][0]))",
    AnswerType.DATE: "str(rows[0][0])",
    AnswerType.STRING: "_text(rows[0][0])",
}
_LIST_TYPES = (AnswerType.STRING_SET, AnswerType.ORDERED_LIST)
_COMPILED = {kind: compile(expr, f"<answer rule {kind.value}>", "eval") for kind, expr in _ROWS_TO_ANSWER.items()}
_TEXT_SOURCE = (
    "def _text(v):\n"
    "    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:\n"
    "        return str(int(v))\n"
    "    if isinstance(v, bytes):\n"
    "        return v.decode('utf-8', 'replace').lower()\n"
    "    return str(v).lower()\n"
)


def answer_from_rows(rows: Sequence[Sequence[Any]], answer_type: AnswerType) -> Any:
    """The typed answer a gold query's rows stand for (the one rule every sample uses).

    - ``string_set``: the distinct non-NULL values of the first column, lowercased, sorted.
    - ``integer``: the first value as an int (EHRSQL counts; NULL is an error).
    - ``number``: the first value as a float.
    - ``boolean``: the first value's truth (``count(*) > 0`` returns 1 or 0 -> True/False).
    - ``date``: the first value as text ('YYYY-MM-DD HH:MM:SS', as MIMIC stores times).
    - ``string``: the first value, lowercased.
    - ``ordered_list``: the first column in row order, lowercased.

    Raises ``ValueError`` for a scalar type when there is no non-NULL first value.
    """
    if answer_type not in _LIST_TYPES and (not rows or not rows[0] or rows[0][0] is None):
        raise ValueError(f"no value for a {answer_type.value} answer")
    return eval(_COMPILED[answer_type], {"rows": rows, "_text": _scalar_text})  # noqa: S307 - constant rule text


def infer_answer_type(sql: str, rows: Sequence[Sequence[Any]]) -> AnswerType:
    """Guess the answer type of an imported EHRSQL query from its shape and its result.

    EHRSQL rows carry no type, so: ``select count(*)>0`` is a yes/no question; ``select count(``
    a count; several rows (or ``select distinct``) a set; a number a number; a timestamp a date;
    anything else a set of strings (a one-element set compares like a string).
    """
    head = re.sub(r"\s+", " ", sql.strip().lower())
    if re.match(r"select count\s*\(\s*\*\s*\)\s*>\s*0", head):
        return AnswerType.BOOLEAN
    if re.match(r"select count\s*\(", head):
        return AnswerType.INTEGER
    values = [row[0] for row in rows if row and row[0] is not None]
    if len(values) != 1 or head.startswith("select distinct"):
        return AnswerType.STRING_SET
    value = values[0]
    if isinstance(value, bool):
        return AnswerType.BOOLEAN
    if isinstance(value, int | float):
        return AnswerType.NUMBER
    if isinstance(value, str) and _DATETIME.match(value):
        return AnswerType.DATE
    return AnswerType.STRING_SET


def solution_code(sql: str, db_name: str, answer_type: AnswerType) -> str:
    """Self-contained Python that reproduces the target in the sandbox.

    The sandbox session pre-defines ``DATABASES: dict[str, str]`` (resource name -> path). The
    code applies the same rows->answer rule as :func:`answer_from_rows` (the same expression
    text), so it needs nothing from this package.
    """
    return (
        "import sqlite3\n"
        f"con = sqlite3.connect(f\"file:{{DATABASES[{db_name!r}]}}?mode=ro\", uri=True)\n"
        f"rows = con.execute({sql!r}).fetchall()\n"
        "con.close()\n"
        f"{_TEXT_SOURCE}"
        f"answer = {_ROWS_TO_ANSWER[answer_type]}\n"
    )


# --------------------------------------------------------------------------- task files


@dataclass
class TaskRows:
    """Rows read from an official task file, with what could not be read and why."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    messages: list[str] = field(default_factory=list)


def read_task_rows(source: Path) -> TaskRows:
    """Read an EHRSQL-style task file: JSONL, or a JSON list (or ``{"data": [...]}``).

    A corrupt JSONL line (or a non-object item) is skipped, counted and explained, so one bad
    line never loses the rest of the file.
    """
    text = Path(source).read_text(encoding="utf-8")
    out = TaskRows()
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items: Iterable[Any] = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: not valid JSON ({exc})") from exc
        iterable = [(i + 1, item) for i, item in enumerate(items)]
    elif stripped.startswith("{") and "\n" not in stripped.strip():
        obj = json.loads(stripped)
        iterable = [(i + 1, item) for i, item in enumerate(obj.get("data", [obj]))]
    else:
        iterable = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                iterable.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                out.skipped += 1
                out.messages.append(f"line {lineno}: skipped, not valid JSON ({exc.msg})")
    for lineno, item in iterable:
        if not isinstance(item, dict):
            out.skipped += 1
            out.messages.append(f"item {lineno}: skipped, not a JSON object")
            continue
        if not isinstance(item.get("query"), str) or not item["query"].strip():
            out.skipped += 1
            out.messages.append(f"item {lineno}: skipped, no gold 'query'")
            continue
        out.rows.append(item)
    return out


# --------------------------------------------------------------------------- conformance


@dataclass
class ConformanceResult:
    """How the gold queries of a task file behave on one database."""

    total: int = 0
    executed: int = 0
    nonempty: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (row id, error)

    @property
    def nonempty_share(self) -> float:
        return self.nonempty / self.total if self.total else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "executed": self.executed,
            "nonempty": self.nonempty,
            "nonempty_share": round(self.nonempty_share, 4) if self.total else None,
            "errors": [f"{rid}: {err}" for rid, err in self.errors[:20]],
        }


def gold_conformance(
    db_path: str | Path, rows: Iterable[dict[str, Any]], *, now: str = MIMIC_III_NOW
) -> ConformanceResult:
    """Execute every row's gold ``query`` (prepared) on ``db_path`` and count the outcomes."""
    result = ConformanceResult()
    con = connect_readonly(db_path)
    try:
        for i, row in enumerate(rows):
            result.total += 1
            try:
                got = con.execute(prepare_query(row["query"], now=now)).fetchall()
            except sqlite3.Error as exc:
                result.errors.append((str(row.get("id", i)), str(exc)))
                continue
            result.executed += 1
            if is_nonempty(got):
                result.nonempty += 1
    finally:
        con.close()
    return result
