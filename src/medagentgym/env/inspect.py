"""Harness-side, read-only inspection of a task's resources.

Inspection reads trusted data (our built databases), so it runs in the harness rather than in the
sandbox; identifiers coming from the agent are checked against the schema before use, and every
connection is opened read-only.
"""

from __future__ import annotations

import sqlite3
from functools import cached_property
from pathlib import Path

from rapidfuzz import fuzz, process

from medagentgym.catalog.sample import Resource
from medagentgym.textfmt import format_table

MAX_VOCAB_PER_COLUMN = 20_000


class InspectionError(ValueError):
    """A bad inspection request (unknown table or column); the message is shown to the agent."""


class DatabaseInspector:
    """Schema, values and a fuzzy term index over one SQLite file, built lazily and kept."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)

    @cached_property
    def schema(self) -> dict[str, list[tuple[str, str]]]:
        with self._connect() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "select name from sqlite_master where type in ('table','view') "
                    "and name not like 'sqlite_%' order by name"
                )
            ]
            return {
                t: [(r[1], r[2] or "") for r in conn.execute(f'pragma table_info("{t}")')]
                for t in tables
            }

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
        with self._connect() as conn:
            rows = [
                (t, len(cols), conn.execute(f'select count(*) from "{t}"').fetchone()[0])
                for t, cols in self.schema.items()
            ]
        return format_table(["table", "columns", "rows"], rows)

    def describe_table(self, table: str) -> str:
        name = self._table(table)
        with self._connect() as conn:
            count = conn.execute(f'select count(*) from "{name}"').fetchone()[0]
        body = format_table(["column", "type"], self.schema[name])
        return f"table {name} ({count} rows)\n{body}"

    def distinct_values(self, table: str, column: str, limit: int) -> str:
        name = self._table(table)
        col = self._column(name, column)
        with self._connect() as conn:
            total = conn.execute(f'select count(distinct "{col}") from "{name}"').fetchone()[0]
            rows = conn.execute(
                f'select "{col}", count(*) as n from "{name}" group by "{col}" '
                f"order by n desc, 1 limit ?",
                (limit,),
            ).fetchall()
        return format_table([col, "count"], rows, total=total)

    def sample_rows(self, table: str, n: int) -> str:
        name = self._table(table)
        with self._connect() as conn:
            cursor = conn.execute(f'select * from "{name}" limit ?', (n,))
            columns = [d[0] for d in cursor.description]
            return format_table(columns, cursor.fetchall())

    @cached_property
    def _vocabulary(self) -> list[tuple[str, str, str]]:
        """(value, table, column) for every distinct text value of reasonably small columns."""
        entries: list[tuple[str, str, str]] = []
        with self._connect() as conn:
            for table, columns in self.schema.items():
                for column, declared in columns:
                    if declared and "char" not in declared.lower() and "text" not in declared.lower():
                        continue
                    values = conn.execute(
                        f'select distinct "{column}" from "{table}" where typeof("{column}") = '
                        f"'text' limit ?",
                        (MAX_VOCAB_PER_COLUMN + 1,),
                    ).fetchall()
                    if len(values) > MAX_VOCAB_PER_COLUMN:
                        continue  # free text or identifiers: not a vocabulary
                    entries += [(v[0], table, column) for v in values]
        return entries

    def search(self, term: str, limit: int) -> str:
        vocabulary = self._vocabulary
        matches = process.extract(
            term.lower(),
            [v[0].lower() for v in vocabulary],
            scorer=fuzz.WRatio,
            limit=limit,
        )
        rows = [
            (vocabulary[i][0], vocabulary[i][1], vocabulary[i][2], round(score))
            for _, score, i in matches
        ]
        return format_table(["value", "table", "column", "similarity"], rows)


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
        for resource in self.resources:
            path = Path(resource.path)
            if resource.kind == "directory" and path.is_dir():
                rows += [
                    (resource.name, str(p), "file") for p in sorted(path.rglob("*")) if p.is_file()
                ][:200]
            else:
                rows.append((resource.name, resource.path, resource.kind))
        if not rows:
            return "This task provides no files."
        return format_table(["resource", "path", "kind"], rows)
