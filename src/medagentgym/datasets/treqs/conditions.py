"""The pieces MIMICSQL questions are made of: conditions, anchors, and SQL in MIMICSQL's style.

A question's conditions are :class:`Cond` values (table, column, operator, value); the SQL they
make is MIMICSQL's: lowercase, quoted column names, every literal quoted (``demographic.'age' <
'50'``), clinical tables joined to ``demographic`` on ``hadm_id``. Conditions come from an anchor
row that exists (``TreqsCtx.anchor``), so every question holds for at least one patient.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medagentgym.datasets.mimic_iii.generate import Ctx

# Tables in the order MIMICSQL joins and lists them.
TABLE_ORDER: tuple[str, ...] = ("demographic", "diagnoses", "procedures", "prescriptions", "lab")
CLINICAL_TABLES: tuple[str, ...] = TABLE_ORDER[1:]

# Demographic columns compared with '=' (categorical) and the numeric ones with their operators
# (the operators MIMICSQL uses for each) and how far a threshold may sit from the anchor's value.
DEMO_EQUAL: tuple[str, ...] = (
    "gender", "marital_status", "language", "religion", "admission_type", "insurance",
    "ethnicity", "admission_location", "discharge_location", "diagnosis", "expire_flag",
)
DEMO_NUMERIC: dict[str, tuple[tuple[str, ...], int]] = {
    "age": (("<", ">="), 15),
    "days_stay": (("=", ">"), 6),
    "admityear": (("<", ">="), 2),
    "dob_year": (("<", ">"), 10),
    "dod_year": (("<", "<="), 2),
}
# Columns of the clinical tables that name what a patient had.
CLINICAL_EQUAL: dict[str, tuple[str, ...]] = {
    "diagnoses": ("short_title", "long_title", "icd9_code"),
    "procedures": ("short_title", "long_title", "icd9_code"),
    "prescriptions": ("drug", "formulary_drug_cd", "route", "drug_type"),
    "lab": ("label", "itemid", "fluid", "category", "flag"),
}
# The clinical columns that name one specific thing (not a broad class such as a lab fluid or a
# drug route): a multi-join question names at least one, or it would count nearly everyone.
CLINICAL_SPECIFIC: dict[str, tuple[str, ...]] = {
    "diagnoses": ("short_title", "long_title", "icd9_code"),
    "procedures": ("short_title", "long_title", "icd9_code"),
    "prescriptions": ("drug", "formulary_drug_cd"),
    "lab": ("label", "itemid"),
}
DEMO_COLUMNS: tuple[str, ...] = (*DEMO_EQUAL, *DEMO_NUMERIC)
# Columns an anchor row is read with, per table.
ANCHOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "demographic": ("hadm_id", "subject_id", "name", *DEMO_COLUMNS),
    **{table: ("hadm_id", *columns) for table, columns in CLINICAL_EQUAL.items()},
}
# A column with more distinct values than this is a long tail worth drawing values from.
LONG_TAIL = 30


def quote(value: str) -> str:
    """A SQL string literal (apostrophes doubled; MIMICSQL's own SQL leaves them bare)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Cond:
    """One condition of a question: ``table.'column' op 'value'`` (value lowercase, as text)."""

    table: str
    column: str
    op: str
    value: str

    def sql(self) -> str:
        return f"{self.table}.'{self.column}' {self.op} {quote(self.value)}"

    def __str__(self) -> str:  # the content key's spelling of this condition
        return f"{self.table}.{self.column}{self.op}{self.value}"


@dataclass(frozen=True)
class Column:
    """A column a question asks for (patient and code lookups); ``str`` spells it in keys."""

    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


def literal_text(value: Any) -> str | None:
    """A stored value as the lowercase text a question and its SQL literal use."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().lower()
    return text or None


def join_clause(tables: Sequence[str]) -> str:
    """``inner join`` clauses for the clinical tables among ``tables``, in MIMICSQL's order."""
    return "".join(
        f" inner join {t} on demographic.hadm_id = {t}.hadm_id"
        for t in CLINICAL_TABLES
        if t in tables
    )


def in_mimicsql_order(conds: Sequence[Cond]) -> list[Cond]:
    """Demographic conditions first, then the clinical tables in join order (a fixed order also
    makes the same conditions one question, whatever order they were drawn in)."""
    return sorted(conds, key=lambda c: (TABLE_ORDER.index(c.table), c.column, c.op, c.value))


def where_clause(conds: Sequence[Cond]) -> str:
    """The conditions joined with ``and``."""
    return " and ".join(c.sql() for c in conds)


def cond_params(conds: Sequence[Cond]) -> dict[str, Cond]:
    """Instance parameters ``c1``, ``c2``, ... (the placeholders of the question templates)."""
    return {f"c{i + 1}": c for i, c in enumerate(conds)}


# --------------------------------------------------------------------------- anchors


class TreqsCtx(Ctx):
    """mimic_iii's ``Ctx`` over tables without a ``row_id`` column (SQLite's rowid instead)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        super().__init__(con)
        self._values: dict[tuple[str, str], list[Any]] = {}

    def row(self, rng: random.Random, table: str, cols: str, where: str = "") -> tuple[Any, ...] | None:
        """A random row of ``table`` (optionally meeting ``where``), drawn by rowid.

        The view's tables are written once without deletions, so rowids run 1..N and a random
        rowid is a uniform draw; a missing one gives None and the caller's loop draws again.
        """
        if where:
            ids = self.all(f"select rowid from {table} where {where} order by rowid")
            if not ids:
                return None
            rowid = rng.choice(ids)[0]
        else:
            if table not in self._max:
                self._max[table] = int(self.one(f"select max(rowid) from {table}") or 0)
            if self._max[table] < 1:
                return None
            rowid = rng.randint(1, self._max[table])
        return self.con.execute(f"select {cols} from {table} where rowid = ?", (rowid,)).fetchone()

    def values(self, table: str, column: str) -> list[Any]:
        """The distinct non-NULL values of a column, sorted (cached for this context)."""
        key = (table, column)
        if key not in self._values:
            self._values[key] = [
                r[0] for r in self.all(
                    f"select distinct {column} from {table} where {column} is not null order by 1"
                )
            ]
        return self._values[key]

    def anchor(
        self,
        rng: random.Random,
        table: str,
        column: str | None = None,
        hadm_id: int | None = None,
    ) -> dict[str, Any] | None:
        """A random row of ``table`` as a dict of the columns questions use.

        With ``hadm_id``: a row of that admission. With ``column`` (the column the first
        condition will name) of a long-tailed vocabulary: half the time the row is drawn among
        those holding a value drawn uniformly from the column's distinct values, so rare
        diagnoses or drugs are asked about too and the key space is the vocabulary, not the few
        most frequent values. Otherwise a uniform draw over rows.
        """
        cols = ANCHOR_COLUMNS[table]
        select = ", ".join(cols)
        if hadm_id is not None:
            ids = self.all(f"select rowid from {table} where hadm_id = ? order by rowid", hadm_id)
        elif column is not None and rng.random() < 0.5 and len(self.values(table, column)) > LONG_TAIL:
            value = rng.choice(self.values(table, column))
            ids = self.all(f"select rowid from {table} where {column} = ? order by rowid", value)
        else:
            row = self.row(rng, table, select)
            return None if row is None else dict(zip(cols, row, strict=True))
        if not ids:
            return None
        row = self.con.execute(
            f"select {select} from {table} where rowid = ?", (rng.choice(ids)[0],)
        ).fetchone()
        return dict(zip(cols, row, strict=True))


def demographic_cond(rng: random.Random, adm: Mapping[str, Any], column: str) -> Cond | None:
    """A condition on ``column`` that the admission ``adm`` meets (None when it has no value)."""
    value = adm.get(column)
    if value is None:
        return None
    if column in DEMO_EQUAL:
        text = literal_text(value)
        return None if text is None else Cond("demographic", column, "=", text)
    ops, span = DEMO_NUMERIC[column]
    op = rng.choice(ops)
    v = int(value)
    threshold = {
        "=": v,
        "<": v + rng.randint(1, span),
        "<=": v + rng.randint(0, span),
        ">": v - rng.randint(1, span),
        ">=": v - rng.randint(0, span),
    }[op]
    if column == "days_stay" and threshold < 0:
        return None
    literal = f"{threshold}.0" if column == "dod_year" else str(threshold)  # MIMICSQL's spelling
    return Cond("demographic", column, op, literal)


def demographic_column(rng: random.Random, exclude: Sequence[str] = ()) -> str:
    """A demographic column a condition may name, uniformly, other than those in ``exclude``."""
    return rng.choice([c for c in DEMO_COLUMNS if c not in exclude])


def clinical_cond(table: str, column: str, event: Mapping[str, Any]) -> Cond | None:
    """The condition ``table.column = <the event's value>``."""
    text = literal_text(event.get(column))
    return None if text is None else Cond(table, column, "=", text)
