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
* **Task files are untrusted.** Gold SQL of a task file runs in the harness, so
  :func:`run_gold_query` runs it on a read-only connection that may only read
  (``readonly_sql.connect_readonly``: no ATTACH, VACUUM INTO, writes, pragmas that set values or
  extensions), under ``GOLD_QUERY_TIME_LIMIT_S`` and reading at most ``MAX_GOLD_ROWS`` rows;
  :func:`read_task_rows` reads each line on its own, so an invalid byte, invalid JSON, nesting
  deeper than ``untrusted.MAX_FILE_JSON_DEPTH`` or a missing field skips that row with its line
  number.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from medagentgym.catalog.dataset import json_document_rows
from medagentgym.catalog.sample import AnswerType, Split
from medagentgym.catalog.splits import DistinctSequence, rng_for, stable_hash
from medagentgym.readonly_sql import (
    QueryTimeoutError,
    connect_readonly,
    fetch_limited,
    time_limit,
)
from medagentgym.untrusted import iter_jsonl
from medagentgym.world import WORLD_NOW, stamp_of

#: The moment EHRSQL's MIMIC-III and eICU questions treat as "now" (the world's fixed now).
MIMIC_III_NOW = WORLD_NOW
#: Time one gold query of a task file may run before its row is skipped (and counted).
GOLD_QUERY_TIME_LIMIT_S = 30.0
#: Result rows read from one gold query; a query returning more is skipped (no answer is so long).
MAX_GOLD_ROWS = 100_000

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


def execute(db_path: str | Path, sql: str) -> list[tuple[Any, ...]]:
    """Run one (already prepared) query read-only and return all rows."""
    con = connect_readonly(db_path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


class GoldQueryError(Exception):
    """A gold query that gave no usable rows. ``kind``: error, refused, timeout or too_many_rows."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def run_gold_query(
    con: sqlite3.Connection,
    sql: str,
    *,
    time_limit_s: float = GOLD_QUERY_TIME_LIMIT_S,
    max_rows: int = MAX_GOLD_ROWS,
) -> list[tuple[Any, ...]]:
    """Rows of one prepared gold query from a task file, on a ``connect_readonly`` connection.

    Raises :class:`GoldQueryError`: ``refused`` when the query tries anything but reading,
    ``timeout`` past ``time_limit_s``, ``too_many_rows`` beyond ``max_rows``, ``error`` otherwise.
    """
    try:
        with time_limit(con, time_limit_s):
            cursor = con.execute(sql)
            try:
                rows, more = fetch_limited(cursor, max_rows)
            finally:
                cursor.close()
    except QueryTimeoutError:
        raise GoldQueryError("timeout", f"timed out after {time_limit_s:g} s") from None
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_AUTH" or "authoriz" in str(exc):
            raise GoldQueryError("refused", f"refused, task-file SQL may only read ({exc})") from None
        raise GoldQueryError("error", f"failed ({exc})") from None
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. a NUL character in the text
        raise GoldQueryError("error", f"failed ({exc})") from None
    if more:
        raise GoldQueryError("too_many_rows", f"returned more than {max_rows} rows")
    return rows


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
#: The rule of a result with several columns ("what is the age and gender of ..."): every
#: non-NULL value of every column, as one set. Only a string_set answer can hold it.
_ALL_COLUMNS_RULE = "sorted({_text(v) for r in rows for v in r if v is not None})"
_LIST_TYPES = (AnswerType.STRING_SET, AnswerType.ORDERED_LIST)
_COMPILED = {kind: compile(expr, f"<answer rule {kind.value}>", "eval") for kind, expr in _ROWS_TO_ANSWER.items()}
_COMPILED_ALL_COLUMNS = compile(_ALL_COLUMNS_RULE, "<answer rule all columns>", "eval")
_TEXT_SOURCE = (
    "def _text(v):\n"
    "    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:\n"
    "        return str(int(v))\n"
    "    if isinstance(v, bytes):\n"
    "        return v.decode('utf-8', 'replace').lower()\n"
    "    return str(v).lower()\n"
)


def several_columns(rows: Sequence[Sequence[Any]]) -> bool:
    """Whether a result has more than one column, so that its answer must be read from every
    column (:data:`_ALL_COLUMNS_RULE`): a question asking for two things ("the admission time and
    the procedure") is only half answered by its first column."""
    return any(len(row) > 1 for row in rows)


def _rule(answer_type: AnswerType, all_columns: bool) -> str:
    """The rule text for ``answer_type`` (the all-columns rule when ``all_columns``)."""
    if not all_columns:
        return _ROWS_TO_ANSWER[answer_type]
    if answer_type is not AnswerType.STRING_SET:
        raise ValueError(f"a result read from all columns is a string_set, not a {answer_type.value}")
    return _ALL_COLUMNS_RULE


def answer_from_rows(rows: Sequence[Sequence[Any]], answer_type: AnswerType, *, all_columns: bool = False) -> Any:
    """The typed answer a gold query's rows stand for (the one rule every sample uses).

    - ``string_set``: the distinct non-NULL values of the first column, lowercased, sorted.
    - ``integer``: the first value as an int (EHRSQL counts; NULL is an error).
    - ``number``: the first value as a float.
    - ``boolean``: the first value's truth (``count(*) > 0`` returns 1 or 0 -> True/False).
    - ``date``: the first value as text ('YYYY-MM-DD HH:MM:SS', as MIMIC stores times).
    - ``string``: the first value, lowercased.
    - ``ordered_list``: the first column in row order, lowercased.

    With ``all_columns`` (a result of several columns, see :func:`several_columns`) the answer is
    a ``string_set`` of the distinct non-NULL values of *every* column, lowercased alike; any
    other type raises ``ValueError``. Raises ``ValueError`` for a scalar type when there is no
    non-NULL first value.
    """
    _rule(answer_type, all_columns)  # raises for an all-columns answer of another type
    if answer_type not in _LIST_TYPES and (not rows or not rows[0] or rows[0][0] is None):
        raise ValueError(f"no value for a {answer_type.value} answer")
    compiled = _COMPILED_ALL_COLUMNS if all_columns else _COMPILED[answer_type]
    return eval(compiled, {"rows": rows, "_text": _scalar_text})  # noqa: S307 - constant rule text


def infer_answer_type(sql: str, rows: Sequence[Sequence[Any]]) -> AnswerType:
    """Guess the answer type of an imported EHRSQL query from its shape and its result.

    EHRSQL rows carry no type, so: a result of several columns is a set of all their values
    (:func:`several_columns`); ``select count(*)>0`` is a yes/no question; ``select count(`` a
    count; several rows (or ``select distinct``) a set; a number a number; a timestamp a date;
    anything else a set of strings (a one-element set compares like a string).
    """
    if several_columns(rows):
        return AnswerType.STRING_SET
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


def solution_code(sql: str, db_name: str, answer_type: AnswerType, *, all_columns: bool = False) -> str:
    """Self-contained Python that reproduces the target in the sandbox.

    The sandbox session pre-defines ``DATABASES: dict[str, str]`` (resource name -> path). The
    code applies the same rows->answer rule as :func:`answer_from_rows` with the same
    ``all_columns`` (the same expression text), so it needs nothing from this package.
    """
    return (
        "import sqlite3\n"
        f"con = sqlite3.connect(f\"file:{{DATABASES[{db_name!r}]}}?mode=ro\", uri=True)\n"
        f"rows = con.execute({sql!r}).fetchall()\n"
        "con.close()\n"
        f"{_TEXT_SOURCE}"
        f"answer = {_rule(answer_type, all_columns)}\n"
    )


# --------------------------------------------------------------------------- distinct instances

_I = TypeVar("_I")


class InstanceDrawer(Generic[_I]):
    """Generated instances per (database build, category, split, seed), none repeated in a split.

    Sample ``index`` of a category is the ``index``-th *distinct* instance of its slot sequence
    (``catalog.splits.DistinctSequence``); the sequence is kept for the life of the process and
    belongs to one build of the database (its stamp is part of the key), so a rebuilt database
    starts fresh sequences. ``propose(con, rng)`` returns a candidate whose first element has a
    ``key`` (the content key).
    """

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self._sequences: dict[tuple[str, int | None, str, str, int], DistinctSequence[_I]] = {}
        # The build stamp per (path, mtime, size), and one read-only connection per (path,
        # build, thread): reopening per sample would start every draw on a cold page cache.
        self._stamps: dict[tuple[str, int, int], int | None] = {}
        self._connections: dict[tuple[str, int | None, int], sqlite3.Connection] = {}

    def _stamp(self, db_path: Path) -> int | None:
        st = Path(db_path).stat()
        file_id = (str(db_path), st.st_mtime_ns, st.st_size)
        if file_id not in self._stamps:
            self._stamps[file_id] = stamp_of(Path(db_path))
        return self._stamps[file_id]

    def _connection(self, db_path: Path, stamp: int | None) -> sqlite3.Connection:
        key = (str(db_path), stamp, threading.get_ident())
        con = self._connections.get(key)
        if con is None:
            for stale in [k for k in self._connections if k[0] == key[0] and k[2] == key[2]]:
                self._connections.pop(stale).close()  # the file was rebuilt
            con = self._connections[key] = connect_readonly(db_path)
        return con

    def draw(
        self,
        db_path: Path,
        category: str,
        split: Split,
        index: int,
        seed: int,
        propose: Callable[[sqlite3.Connection, random.Random], _I],
    ) -> _I:
        stamp = self._stamp(db_path)
        slot = (str(db_path), stamp, category, split, seed)
        sequence = self._sequences.get(slot)
        if sequence is None:
            sequence = DistinctSequence(
                split,
                lambda j: rng_for(self.dataset, category, split, j, seed),
                key=lambda candidate: candidate[0].key,  # type: ignore[index]
                stratum=lambda candidate: getattr(candidate[0], "template", ""),  # type: ignore[index]
            )
            self._sequences[slot] = sequence
        if index < len(sequence.items):
            return sequence.items[index]
        con = self._connection(db_path, stamp)
        return sequence.get(index, lambda rng: propose(con, rng))

    def estimated_space(self, category: str, split: Split, seed: int = 0) -> float:
        """The estimated number of distinct instances of ``category`` in ``split``, from the
        repeats seen while drawing the sequence so far (``DistinctSequence.estimated_space``);
        0 before anything was drawn."""
        found = [seq for (_, _, cat, sp, sd), seq in self._sequences.items()
                 if (cat, sp, sd) == (category, split, seed)]
        return max((seq.estimated_space() for seq in found if seq.items), default=0.0)


def wording_rng(key: str, index: int, seed: int) -> random.Random:
    """The random stream that picks a question's paraphrase (apart from the instance's draw)."""
    return random.Random(stable_hash("wording", key, index, seed))


# --------------------------------------------------------------------------- task files


@dataclass
class TaskRows:
    """Rows read from an official task file, with what could not be read and why."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    messages: list[str] = field(default_factory=list)
    # The line (JSONL) or item (JSON list) number of each row, for messages about it.
    lines: list[int] = field(default_factory=list)


def read_task_rows(source: Path) -> TaskRows:
    """Read an EHRSQL-style task file: JSONL, or a JSON list (or ``{"data": [...]}``).

    A bad JSONL line (invalid UTF-8, invalid JSON, nested too deeply), a non-object item or a
    row without a gold ``query`` is skipped, counted and explained with its line number, so one
    bad line never loses the rest of the file. A whole-file JSON document that cannot be read
    raises ``ImportFileError`` (``catalog.dataset.json_document_rows``).
    """
    source = Path(source)
    out = TaskRows()
    iterable: list[tuple[int, Any]] = []
    items = json_document_rows(source, source.read_bytes().strip())
    if items is not None:
        kind = "item"
        iterable = [(i + 1, item) for i, item in enumerate(items)]
    else:
        kind = "line"
        for line in iter_jsonl(source):
            if line.error is not None:
                out.skipped += 1
                out.messages.append(f"line {line.number}: skipped, {line.error}")
                continue
            iterable.append((line.number, line.value))
    for lineno, item in iterable:
        if not isinstance(item, dict):
            out.skipped += 1
            out.messages.append(f"{kind} {lineno}: skipped, not a JSON object")
            continue
        if not isinstance(item.get("query"), str) or not item["query"].strip():
            out.skipped += 1
            out.messages.append(f"{kind} {lineno}: skipped, no gold 'query'")
            continue
        out.rows.append(item)
        out.lines.append(lineno)
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
    """Execute every row's gold ``query`` (prepared, read-only, time-limited: ``run_gold_query``)
    on ``db_path`` and count the outcomes."""
    result = ConformanceResult()
    con = connect_readonly(db_path)
    try:
        for i, row in enumerate(rows):
            result.total += 1
            try:
                got = run_gold_query(con, prepare_query(row["query"], now=now))
            except GoldQueryError as exc:
                result.errors.append((str(row.get("id", i)), str(exc)))
                continue
            result.executed += 1
            if is_nonempty(got):
                result.nonempty += 1
    finally:
        con.close()
    return result
