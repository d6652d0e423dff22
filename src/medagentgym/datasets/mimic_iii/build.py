"""The mimic_iii database: the world's 17 EHRSQL MIMIC-III tables, as a view.

The world (``medagentgym.world``) keeps its events in exactly this schema, so the view is a copy of
those tables (nothing of the world's hidden latent state or outcomes), with the indexes that keep
EHRSQL-style nested subqueries fast.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from medagentgym.world import build_view, view_path, vocab
from medagentgym.world.generate import MIMIC_TABLES as TABLES

NAME = "mimic_iii"
VIEW_VERSION = 1  # bump when the population logic changes


def default_db_path() -> Path:
    """Where the database lives: ``<cache>/datasets/mimic_iii/mimic_iii.sqlite``."""
    return view_path(NAME)


def _populate(con: sqlite3.Connection) -> None:
    for table in TABLES:
        con.execute(f"INSERT INTO main.{table} SELECT * FROM world.{table}")


def build_database(path: Path | None = None, *, force: bool = False) -> Path:
    """Build the view (idempotent: an identical build in the cache is reused)."""
    return build_view(
        NAME,
        version=VIEW_VERSION,
        ddl=vocab.read_text("schema/mimic_iii.sql"),
        indexes=vocab.read_text("schema/indexes.sql"),
        populate=_populate,
        force=force,
        path=path,
    )


__all__ = ["NAME", "TABLES", "build_database", "default_db_path"]
