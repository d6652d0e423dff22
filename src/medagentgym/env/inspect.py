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

What inspection learns about a database (schema, row counts, the search vocabulary) is the same
for every episode over it, so it is learnt once per process: ``shared_inspector`` hands every env
of the process the same ``DatabaseInspector`` for a file, keyed by its path and time limit, and
replaces it when the file changes (its stamp: device, inode, size, modification time, and the
same of its ``-wal`` file). Whatever a time limit cut short (a row count read "?", a vocabulary
stopped part-way) is not kept: the next episode tries again with its own full budget.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
import threading
import time
from collections import OrderedDict
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
#: Finished searches an inspector keeps (the same term is often searched in many episodes).
MAX_KEPT_SEARCHES = 512
#: Databases whose inspectors (schema, counts, vocabulary) a process keeps at once.
MAX_SHARED_INSPECTORS = 16


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
        # Built at first use and kept (the inspector may be shared by envs in many threads).
        self._lock = threading.RLock()  # the vocabulary's build reads the schema under it
        self._schema: dict[str, list[tuple[str, str]]] | None = None
        self._entries: list[tuple[str, str, str]] | None = None
        self._lowered: list[str] | None = None
        self._counts: dict[str, int] = {}  # row counts that finished within the limit
        self._searches: OrderedDict[tuple[str, int], str] = OrderedDict()  # finished searches, LRU
        #: True once a time limit cut something short that is read again on the next try.
        self.incomplete = False

    def _connect(self) -> sqlite3.Connection:
        return connect_readonly(self.path)

    def _too_slow(self, what: str) -> InspectionError:
        return InspectionError(
            f"{what} took longer than {self.time_limit_s:g} s and was stopped; "
            "use execute_sql with a narrower query."
        )

    @property
    def schema(self) -> dict[str, list[tuple[str, str]]]:
        """Table -> (column, declared type). Not time-limited: it reads only the catalog."""
        if self._schema is None:
            with self._lock:
                if self._schema is None:
                    self._schema = self._read_schema()
        return self._schema

    def _read_schema(self) -> dict[str, list[tuple[str, str]]]:
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

    def _count(self, conn: sqlite3.Connection | None, table: str, deadline: float) -> int | None:
        """Rows of ``table``, or None when the budget ends first (``count(*)`` of a huge table
        reads every page of it). A finished count is kept; ``conn`` None means count nothing new."""
        known = self._counts.get(table)
        if known is not None:
            return known
        remaining = deadline - time.monotonic()
        if conn is None:
            return None
        if remaining <= 0:
            self.incomplete = True
            return None
        try:
            with time_limit(conn, remaining):
                count = int(conn.execute(f"select count(*) from {_quote(table)}").fetchone()[0])
        except QueryTimeoutError:
            self.incomplete = True
            return None
        self._counts[table] = count
        return count

    def _connect_for_counts(self, tables: list[str]) -> sqlite3.Connection | None:
        """A connection when some of ``tables`` still need counting, else None (no file opened)."""
        return self._connect() if any(t not in self._counts for t in tables) else None

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
        conn = self._connect_for_counts(list(self.schema))
        try:
            for t, cols in self.schema.items():
                count = self._count(conn, t, deadline)
                rows.append((t, len(cols), "?" if count is None else count))
        finally:
            if conn is not None:
                conn.close()
        text = format_table(["table", "columns", "rows"], rows)
        if any(count == "?" for _, _, count in rows):
            text += f"\n(row counts shown as ? were stopped at the {self.time_limit_s:g} s limit)"
        return text

    def describe_table(self, table: str) -> str:
        name = self._table(table)
        conn = self._connect_for_counts([name])
        try:
            count = self._count(conn, name, time.monotonic() + self.time_limit_s)
        finally:
            if conn is not None:
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

    @property
    def _vocabulary(self) -> list[tuple[str, str, str]]:
        """(value, table, column) for every distinct text value of reasonably small columns.

        Built once per inspector within the time limit; a build stopped by the limit keeps what
        it read and says so in every search result (and marks the inspector ``incomplete``, so
        ``shared_inspector`` builds a new one for the next episode).
        """
        if self._entries is None:
            with self._lock:
                if self._entries is None:
                    entries = self._read_vocabulary()
                    self._lowered = [value.lower() for value, _, _ in entries]
                    self._entries = entries
        return self._entries

    def _read_vocabulary(self) -> list[tuple[str, str, str]]:
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
            self.incomplete = True
            self._vocabulary_note = (
                f"reading the vocabulary was stopped at the {self.time_limit_s:g} s limit; "
                f"{len(entries)} values are searched"
            )
        finally:
            conn.close()
        return entries

    @property
    def _choices(self) -> list[str]:
        self._vocabulary  # noqa: B018 - builds both lists
        assert self._lowered is not None
        return self._lowered

    def search(self, term: str, limit: int) -> str:
        """The values most similar to ``term``; matching stops at the time limit (and says so)."""
        if len(term) > MAX_SEARCH_TERM_CHARS:
            raise InspectionError(f"The search term is longer than {MAX_SEARCH_TERM_CHARS} characters.")
        key = (term.lower(), limit)
        with self._lock:
            done = self._searches.get(key)
            if done is not None:
                self._searches.move_to_end(key)
                return done
        text, finished = self._search(key[0], limit)
        if finished and not self.incomplete:
            with self._lock:
                self._searches[key] = text
                while len(self._searches) > MAX_KEPT_SEARCHES:
                    self._searches.popitem(last=False)
        return text

    def _search(self, query: str, limit: int) -> tuple[str, bool]:
        """The search's text, and whether it matched every value within the time limit."""
        deadline = time.monotonic() + self.time_limit_s
        vocabulary = self._vocabulary
        choices = self._choices
        best: list[tuple[float, int]] = []  # (score, -index): heapq keeps the best `limit`

        def keep(score: float, index: int) -> None:
            heapq.heappush(best, (score, -index))
            if len(best) > limit:
                heapq.heappop(best)

        # The best `limit` by (score, lower index first) do not depend on the order values are
        # scored in, so values holding the term are scored first: they usually score highest,
        # and once `limit` are kept, the chunks below ask only for scores that could still
        # enter (rapidfuzz's score_cutoff skips the rest cheaply). Each value is scored once.
        seeded = _containing(choices, query, _SEARCH_CHUNK)
        for i in seeded:
            keep(fuzz.WRatio(query, choices[i]), i)
        skip = set(seeded)
        skipped_in: dict[int, int] = {}  # chunk start -> seeded values in it
        for i in seeded:
            skipped_in[i - i % _SEARCH_CHUNK] = skipped_in.get(i - i % _SEARCH_CHUNK, 0) + 1
        searched = 0
        for start in range(0, len(choices), _SEARCH_CHUNK):
            if time.monotonic() > deadline:
                break
            chunk = choices[start : start + _SEARCH_CHUNK]
            cutoff = best[0][0] if len(best) >= limit else 0
            wanted = limit + skipped_in.get(start, 0)
            for _, score, i in process.extract(query, chunk, scorer=fuzz.WRatio, limit=wanted, score_cutoff=cutoff):
                if start + i not in skip:
                    keep(score, start + i)
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
        return text + "".join(f"\n({note})" for note in notes), searched >= len(choices)


def _containing(choices: list[str], query: str, cap: int) -> list[int]:
    """Indexes of up to ``cap`` values that hold ``query`` (a plain substring test: cheap)."""
    found: list[int] = []
    if not query.strip():
        return found
    for i, value in enumerate(choices):
        if query in value:
            found.append(i)
            if len(found) >= cap:
                break
    return found


def database_stamp(path: str | Path) -> tuple[int, ...] | None:
    """What changes when a SQLite file changes: device, inode, size and mtime of it and of its
    write-ahead log; None when the file cannot be read."""
    stamp: list[int] = []
    for name in (str(path), f"{path}-wal"):
        try:
            st = os.stat(name)
        except OSError:
            if name == str(path):
                return None
            continue
        stamp += [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
    return tuple(stamp)


class InspectorCache:
    """Database inspectors shared by the envs of one process (thread-safe, bounded, LRU).

    One is kept per (resolved path, time limit) and replaced when the file's stamp changes or
    when a time limit cut its work short, so a changed database or a starved episode never
    hands stale or partial answers to the next episode.
    """

    def __init__(self, max_entries: int = MAX_SHARED_INSPECTORS) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, float], tuple[tuple[int, ...] | None, DatabaseInspector]] = OrderedDict()

    def get(self, path: str | Path, *, time_limit_s: float | None = None) -> DatabaseInspector:
        limit = INSPECTION_TIME_LIMIT_S if time_limit_s is None else time_limit_s
        key = (os.path.realpath(path), float(limit))
        stamp = database_stamp(key[0])
        with self._lock:
            held = self._entries.get(key)
            if held is not None and held[0] == stamp and stamp is not None and not held[1].incomplete:
                self._entries.move_to_end(key)
                return held[1]
            inspector = DatabaseInspector(path, time_limit_s=limit)
            self._entries[key] = (stamp, inspector)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return inspector

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_SHARED = InspectorCache()


def shared_inspector(path: str | Path) -> DatabaseInspector:
    """This process's inspector for a database file (see ``InspectorCache``)."""
    return _SHARED.get(path)


def shared_inspectors() -> InspectorCache:
    """The process-wide cache behind ``shared_inspector`` (tests and benchmarks clear it)."""
    return _SHARED


class ResourceInspector:
    """Inspection over all resources of one sample; databases resolved by name.

    ``cache`` decides where a database's inspector comes from: the process-wide
    ``InspectorCache`` (the default), or a plain dict private to the caller. An episode keeps the
    inspector it resolved first for each database until it ends.
    """

    def __init__(
        self, resources: tuple[Resource, ...], cache: dict[str, DatabaseInspector] | InspectorCache | None = None
    ) -> None:
        self.resources = resources
        self._cache = _SHARED if cache is None else cache
        self._resolved: dict[str, DatabaseInspector] = {}

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
        inspector = self._resolved.get(chosen.path)
        if inspector is None:
            if isinstance(self._cache, InspectorCache):
                inspector = self._cache.get(chosen.path)
            else:
                inspector = self._cache.setdefault(chosen.path, DatabaseInspector(chosen.path))
            self._resolved[chosen.path] = inspector
        return inspector

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
