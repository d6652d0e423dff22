"""Read-only SQLite connections for SQL the harness did not write, with a time limit.

Gold queries of imported task files and the harness-side inspection actions run in the harness
process, not in the sandbox, so they get their own containment:

* the database is opened through a ``file:...?mode=ro`` URI (the path percent-encoded, so a
  ``?`` or ``#`` in it cannot add URI parameters) with ``PRAGMA query_only``;
* an authorizer allows only what a query needs (SELECT, reading columns, calling functions,
  recursive CTEs, a few schema-reading pragmas) and refuses everything else: ATTACH (and so
  ``VACUUM INTO``, which attaches its target), DETACH, every write, transactions, other pragmas
  and ``load_extension``; the attached-database limit is 0 and extension loading stays off;
* text that is not valid UTF-8 is decoded with replacement characters instead of raising;
* :func:`time_limit` interrupts a statement once its budget is spent, raising
  :class:`QueryTimeoutError`: SQLite's progress handler stops statements that step the VM, and a
  watchdog timer calls ``interrupt()`` for work that does not (``count(*)`` counts b-tree pages
  without a single progress callback).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["QueryTimeoutError", "connect_readonly", "fetch_limited", "time_limit"]

#: SQLite VM instructions between two checks of the deadline (well under a millisecond).
PROGRESS_STEPS = 10_000

_ALLOWED_ACTIONS = frozenset(
    {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        getattr(sqlite3, "SQLITE_RECURSIVE", 33),
    }
)
_READ_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"})
_DENIED_FUNCTIONS = frozenset({"load_extension"})


class QueryTimeoutError(sqlite3.OperationalError):
    """A statement ran past its time limit and was interrupted."""


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        # A schema-reading pragma, never one that sets a value: "pragma table_info(t)" passes t.
        return sqlite3.SQLITE_OK if (arg1 or "").lower() in _READ_PRAGMAS else sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def connect_readonly(db_path: str | Path) -> sqlite3.Connection:
    """Open a SQLite database read-only, for queries from outside the harness (see module doc)."""
    uri = Path(db_path).resolve().as_uri() + "?mode=ro"
    con = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        con.execute("PRAGMA query_only = 1")
        if hasattr(con, "enable_load_extension"):
            con.enable_load_extension(False)
        if hasattr(con, "setlimit"):  # Python 3.11+
            con.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        con.set_authorizer(_authorize)
        con.text_factory = _lenient_text
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def time_limit(con: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt any statement of ``con`` still running ``seconds`` after entering.

    A statement interrupted by the limit raises :class:`QueryTimeoutError` out of the block.
    Close cursors inside the block: the watchdog never fires after it, but a statement left
    open would still count as running.
    """
    deadline = time.monotonic() + seconds
    expired = False
    lock = threading.Lock()
    active = True

    def check() -> int:
        nonlocal expired
        if time.monotonic() > deadline:
            expired = True
            return 1
        return 0

    def watchdog() -> None:
        nonlocal expired
        with lock:
            if active:
                expired = True
                con.interrupt()

    timer = threading.Timer(max(seconds, 0.0), watchdog)
    timer.daemon = True
    con.set_progress_handler(check, PROGRESS_STEPS)
    timer.start()
    try:
        yield
    except sqlite3.OperationalError as exc:
        if expired and not isinstance(exc, QueryTimeoutError):
            raise QueryTimeoutError(f"stopped after the time limit of {seconds:g} s") from None
        raise
    finally:
        with lock:
            active = False
        timer.cancel()
        con.set_progress_handler(None, 0)


def fetch_limited(cursor: sqlite3.Cursor, max_rows: int) -> tuple[list[tuple[Any, ...]], bool]:
    """Up to ``max_rows`` rows of a cursor, and whether more were left (memory stays bounded)."""
    rows = cursor.fetchmany(max_rows + 1)
    return rows[:max_rows], len(rows) > max_rows
