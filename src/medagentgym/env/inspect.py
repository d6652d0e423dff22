"""Harness-side, read-only inspection of a task's resources.

Inspection reads trusted data (our built databases, or the user's own), so it runs in the harness
rather than in the sandbox. The *requests* are untrusted, and they run in the harness process, so
every inspection action is bounded:

* identifiers coming from the agent are checked against the schema before use (and quoted), and
  names and search terms have length caps (``actions.MAX_NAME_CHARS``,
  ``actions.MAX_SEARCH_TERM_CHARS``);
* every connection is read-only (``readonly_sql.connect_readonly``) and every query but the
  catalog read runs under ``INSPECTION_TIME_LIMIT_S`` (``readonly_sql.time_limit``): a row count
  that runs out of time reads "?", a listing that does becomes an error observation;
* the search vocabulary is capped per column (``MAX_VOCAB_PER_COLUMN``) and in all
  (``MAX_VOCABULARY``), and fuzzy matching runs in chunks that stop at the same time limit;
* ``list_files`` looks at no more than ``MAX_FILES_SCANNED`` directory entries.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
import time
from functools import cached_property
from pathlib import Path

from rapidfuzz import fuzz, process

from medagentgym.catalog.sample import Resource
from medagentgym.env.actions import MAX_SEARCH_TERM_CHARS
from medagentgym.readonly_sql import QueryTimeoutError, connect_readonly, time_limit
from medagentgym.textfmt import format_table

#: Wall-clock budget of one inspection action (queries and fuzzy matching together).
INSPECTION_TIME_LIMIT_S = 5.0
#: Distinct text values read per column for search; a column with more is free text, not a vocabulary.
MAX_VOCAB_PER_COLUMN = 20_000
#: Values in one database's search vocabulary.
MAX_VOCABULARY = 500_000
#: Directory entries ``list_files`` looks at, and files it lists.
MAX_FILES_SCANNED = 10_000
MAX_FILES_LISTED = 200
_SEARCH_CHUNK = 4_096  # values matched between two looks at the clock


class InspectionError(ValueError):
    """A bad inspection request (unknown table or column, too slow); the message is shown to the agent."""


def _quote(identifier: str) -> str:
    """An SQL identifier, quoted (names come from the schema, but may hold any character)."""
    return '"' + identifier.replace('"', '""') + '"'


class DatabaseInspector:
    """Schema, values and a fuzzy term index over one SQLite file, built lazily and kept."""

    def __init__(self, path: str | Path, *, time_limit_s: float | None = None) -> None:
        self.path = Path(path)
        self.time_limit_s = INSPECTION_TIME_LIMIT_S if time_limit_s is None else time_limit_s
        self._vocabulary_note = ""

    def _connect(self) -> sqlite3.Connection:
        return connect_readonly(self.path)

    def _too_slow(self, what: str) -> InspectionError:
        return InspectionError(
            f"{what} took longer than {self.time_limit_s:g} s and was stopped; "
            "use execute_sql with a narrower query."
        )

    @cached_property
    def schema(self) -> dict[str, list[tuple[str, str]]]:
        """Table -> (column, declared type). Not time-limited: it reads only the catalog."""
        conn = self._connect()
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "select name from sqlite_master where type in ('table','view') "
                    "and name not like 'sqlite_%' order by name"
                )
            ]
            return {
                t: [(r[1], r[2] or "") for r in conn.execute(f"pragma table_info({_quote(t)})")]
                for t in tables
            }
        finally:
            conn.close()

    def _count(self, conn: sqlite3.Connection, table: str, deadline: float) -> int | None:
        """Rows of ``table``, or None when the budget ends first (``count(*)`` of a huge table
        reads every page of it)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            with time_limit(conn, remaining):
                return int(conn.execute(f"select count(*) from {_quote(table)}").fetchone()[0])
        except QueryTimeoutError:
            return None

    def _table(self, table: str) -> str:
        lookup = {t.lower(): t for t in self.schema}
        if table.lower() not in lookup:
            raise InspectionError(f"No table {table!r}. Tables: {', '.join(self.schema)}.")
        return lookup[table.lower()]

    def _column(self, table: str, column: str) -> str:
        columns = {c.lower(): c for c, _ in self.schema[table]}
        if column.lower() not in columns:
            names = ", ".join(c for c, _ in self.schema[table])
            raise InspectionError(f"No column {column!r} in {table}. Columns: {names}.")
        return columns[column.lower()]

    def list_tables(self) -> str:
        """Tables with their column and row counts; counts the time limit stopped read "?"."""
        rows: list[tuple[str, int, int | str]] = []
        deadline = time.monotonic() + self.time_limit_s
        conn = self._connect()
        try:
            for t, cols in self.schema.items():
                count = self._count(conn, t, deadline)
                rows.append((t, len(cols), "?" if count is None else count))
        finally:
            conn.close()
        text = format_table(["table", "columns", "rows"], rows)
        if any(count == "?" for _, _, count in rows):
            text += f"\n(row counts shown as ? were stopped at the {self.time_limit_s:g} s limit)"
        return text

    def describe_table(self, table: str) -> str:
        name = self._table(table)
        conn = self._connect()
        try:
            count = self._count(conn, name, time.monotonic() + self.time_limit_s)
        finally:
            conn.close()
        body = format_table(["column", "type"], self.schema[name])
        rows = "?" if count is None else count
        note = "" if count is not None else f"; counting was stopped at the {self.time_limit_s:g} s limit"
        return f"table {name} ({rows} rows{note})\n{body}"

    def distinct_values(self, table: str, column: str, limit: int) -> str:
        name = self._table(table)
        col = self._column(name, column)
        conn = self._connect()
        try:
            with time_limit(conn, self.time_limit_s):
                total = conn.execute(f"select count(distinct {_quote(col)}) from {_quote(name)}").fetchone()[0]
                rows = conn.execute(
                    f"select {_quote(col)}, count(*) as n from {_quote(name)} group by {_quote(col)} "
                    f"order by n desc, 1 limit ?",
                    (limit,),
                ).fetchall()
        except QueryTimeoutError:
            raise self._too_slow(f"distinct_values on {name}.{col}") from None
        finally:
            conn.close()
        return format_table([col, "count"], rows, total=total)

    def sample_rows(self, table: str, n: int) -> str:
        name = self._table(table)
        conn = self._connect()
        try:
            with time_limit(conn, self.time_limit_s):
                cursor = conn.execute(f"select * from {_quote(name)} limit ?", (n,))
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            return format_table(columns, rows)
        except QueryTimeoutError:
            raise self._too_slow(f"sample_rows on {name}") from None
        finally:
            conn.close()

    @cached_property
    def _vocabulary(self) -> list[tuple[str, str, str]]:
        """(value, table, column) for every distinct text value of reasonably small columns.

        Built once per inspector within the time limit; a build stopped by the limit keeps what
        it read and says so in every search result.
        """
        entries: list[tuple[str, str, str]] = []
        conn = self._connect()
        try:
            with time_limit(conn, self.time_limit_s):
                for table, columns in self.schema.items():
                    for column, declared in columns:
                        if declared and "char" not in declared.lower() and "text" not in declared.lower():
                            continue
                        values = conn.execute(
                            f"select distinct {_quote(column)} from {_quote(table)} "
                            f"where typeof({_quote(column)}) = 'text' limit ?",
                            (MAX_VOCAB_PER_COLUMN + 1,),
                        ).fetchall()
                        if len(values) > MAX_VOCAB_PER_COLUMN:
                            continue  # free text or identifiers: not a vocabulary
                        entries += [(v[0], table, column) for v in values]
                        if len(entries) >= MAX_VOCABULARY:
                            self._vocabulary_note = f"the vocabulary stops at {MAX_VOCABULARY} values"
                            return entries[:MAX_VOCABULARY]
        except QueryTimeoutError:
            self._vocabulary_note = (
                f"reading the vocabulary was stopped at the {self.time_limit_s:g} s limit; "
                f"{len(entries)} values are searched"
            )
        finally:
            conn.close()
        return entries

    @cached_property
    def _choices(self) -> list[str]:
        return [value.lower() for value, _, _ in self._vocabulary]

    def search(self, term: str, limit: int) -> str:
        """The values most similar to ``term``; matching stops at the time limit (and says so)."""
        if len(term) > MAX_SEARCH_TERM_CHARS:
            raise InspectionError(f"The search term is longer than {MAX_SEARCH_TERM_CHARS} characters.")
        deadline = time.monotonic() + self.time_limit_s
        vocabulary = self._vocabulary
        choices = self._choices
        query = term.lower()
        best: list[tuple[float, int]] = []  # (score, -index): heapq keeps the best `limit`
        searched = 0
        for start in range(0, len(choices), _SEARCH_CHUNK):
            if time.monotonic() > deadline:
                break
            chunk = choices[start : start + _SEARCH_CHUNK]
            for _, score, i in process.extract(query, chunk, scorer=fuzz.WRatio, limit=limit):
                heapq.heappush(best, (score, -(start + i)))
                if len(best) > limit:
                    heapq.heappop(best)
            searched = start + len(chunk)
        ranked = sorted(best, key=lambda p: (-p[0], -p[1]))
        rows = [
            (vocabulary[-i][0], vocabulary[-i][1], vocabulary[-i][2], round(score)) for score, i in ranked
        ]
        text = format_table(["value", "table", "column", "similarity"], rows)
        notes = [self._vocabulary_note] if self._vocabulary_note else []
        if searched < len(choices):
            notes.append(
                f"matching stopped at the {self.time_limit_s:g} s limit after {searched} of {len(choices)} values"
            )
        return text + "".join(f"\n({note})" for note in notes)


class ResourceInspector:
    """Inspection over all resources of one sample; databases resolved by name."""

    def __init__(self, resources: tuple[Resource, ...], cache: dict[str, DatabaseInspector]) -> None:
        self.resources = resources
        self._cache = cache

    @property
    def databases(self) -> list[Resource]:
        return [r for r in self.resources if r.kind == "sqlite"]

    def database(self, name: str | None) -> DatabaseInspector:
        dbs = self.databases
        if not dbs:
            raise InspectionError("This task has no database.")
        if name is None:
            chosen = dbs[0]
        else:
            found = [r for r in dbs if r.name == name]
            if not found:
                raise InspectionError(
                    f"No database {name!r}. Databases: {', '.join(r.name for r in dbs)}."
                )
            chosen = found[0]
        if chosen.path not in self._cache:
            self._cache[chosen.path] = DatabaseInspector(chosen.path)
        return self._cache[chosen.path]

    def list_files(self) -> str:
        rows: list[tuple[str, str, str]] = []
        stopped = False
        for resource in self.resources:
            path = Path(resource.path)
            if resource.kind == "directory" and path.is_dir():
                files, complete = _walk_files(path, MAX_FILES_SCANNED)
                stopped = stopped or not complete
                rows += [(resource.name, str(p), "file") for p in files][:MAX_FILES_LISTED]
            else:
                rows.append((resource.name, resource.path, resource.kind))
        if not rows:
            return "This task provides no files."
        text = format_table(["resource", "path", "kind"], rows)
        if stopped:
            text += f"\n(the listing stopped after looking at {MAX_FILES_SCANNED} entries)"
        return text


def _walk_files(root: Path, max_entries: int) -> tuple[list[Path], bool]:
    """Files under ``root`` in sorted order, looking at no more than ``max_entries`` entries
    (symbolic links to directories are not followed); the flag says whether the walk finished."""
    files: list[Path] = []
    seen = 0
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in sorted(names):
            seen += 1
            if seen > max_entries:
                return sorted(files), False
            files.append(Path(directory) / name)
        seen += len(subdirs)
        if seen > max_entries:
            return sorted(files), False
    return sorted(files), True
