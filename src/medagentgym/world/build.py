"""Building the world database and the views datasets read from it.

The world is written once into ``<cache>/world/world-<patients>.sqlite``; each dataset's
database is a *view*: a new SQLite file with that dataset's schema, filled by ``INSERT ...
SELECT`` from the world attached read-only. Both carry a stamp in ``PRAGMA user_version`` (a
31-bit hash of everything they were built from: code version, seed, size, schema, vocabularies,
the view's DDL and population SQL), so a changed input rebuilds and an unchanged one is skipped.

Files are written under a temporary name beside the target and moved into place with
``os.replace``: a killed or concurrent build never leaves half a database. Concurrent builders
(the test suite's workers, ``corpus build``'s processes) take a lock file beside the target, so
one builds and the others wait for it and then find the stamp in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import inspect
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from medagentgym.catalog.splits import stable_hash
from medagentgym.paths import cache_dir, dataset_cache_dir
from medagentgym.world import vocab
from medagentgym.world.generate import (
    BUILD_VERSION,
    N_PATIENTS,
    SEED,
    VOCAB_FILES,
    write_world,
)

#: Tables of the world that no view may copy: the generator's hidden truth.
HIDDEN_TABLES: tuple[str, ...] = ("latent", "outcomes")
#: The environment variable that sets the world's size (patients) for every dataset built on it.
SIZE_VARIABLE = "MEDAGENTGYM_WORLD_PATIENTS"
MIN_PATIENTS, MAX_PATIENTS = 20, 200_000


class WorldSizeError(ValueError):
    """A world size setting that is not a whole number of patients in the accepted range."""


def world_size() -> int:
    """Patients in the world datasets use: ``$MEDAGENTGYM_WORLD_PATIENTS`` or 1,000.

    The default catalog fits the default world; the paper's full-split instance counts need a
    larger one for the datasets whose questions are keyed by patient (docs/world.md).
    """
    raw = os.environ.get(SIZE_VARIABLE, "").strip()
    if not raw:
        return N_PATIENTS
    try:
        size = int(raw)
    except ValueError:
        raise WorldSizeError(f"{SIZE_VARIABLE}={raw[:40]!r} is not a whole number of patients") from None
    if not MIN_PATIENTS <= size <= MAX_PATIENTS:
        raise WorldSizeError(f"{SIZE_VARIABLE}={size} is outside {MIN_PATIENTS}..{MAX_PATIENTS}")
    return size


def world_path(n_patients: int | None = None) -> Path:
    """Where the world of ``n_patients`` (default: ``world_size()``) lives in the cache."""
    n_patients = n_patients or world_size()
    folder = cache_dir() / "world"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "" if n_patients == N_PATIENTS else f"-{n_patients}"
    return folder / f"world{suffix}.sqlite"


@functools.cache
def _inputs_digest() -> int:
    """A hash of the generator's code version, schema and vocabularies (read once per process:
    samples check their database's stamp on every draw)."""
    return stable_hash("world", BUILD_VERSION, *(vocab.read_text(name) for name in VOCAB_FILES))


def world_stamp(seed: int = SEED, n_patients: int | None = None) -> int:
    """A 31-bit fingerprint of everything the world depends on (fits ``PRAGMA user_version``)."""
    n_patients = n_patients or world_size()
    return stable_hash(_inputs_digest(), seed, n_patients) & 0x7FFF_FFFF


@functools.cache
def _source(populate: Callable[[sqlite3.Connection], None]) -> str:
    """The source of a view's population code (part of its stamp), read once per function."""
    try:
        return inspect.getsource(populate)
    except (OSError, TypeError):
        return getattr(populate, "__qualname__", repr(populate))


def stamp_of(path: Path) -> int | None:
    """The stamp stored in a built database, or None when it is missing or unreadable."""
    if not path.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(con.execute("PRAGMA user_version").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return None


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """Exclusive while one process builds ``target``; others block here, then re-read the stamp.

    The lock file lives in the system's temp dir, named by the target's path, so a build leaves
    nothing beside the database (and a read-only data dir still builds elsewhere)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(os.fsencode(os.path.realpath(target))).hexdigest()[:24]
    with open(Path(tempfile.gettempdir()) / f"medagentgym-build-{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(target: Path, stamp: int, write: Callable[[Path], None], *, force: bool = False) -> None:
    with _build_lock(target):
        if not force and stamp_of(target) == stamp:  # another process built it while we waited
            return
        _write_unlocked(target, stamp, write)


def _write_unlocked(target: Path, stamp: int, write: Callable[[Path], None]) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".sqlite.tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        write(tmp)
        con = sqlite3.connect(tmp)
        try:
            con.execute(f"PRAGMA user_version = {int(stamp)}")
            con.commit()
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            if leftover.exists():
                leftover.unlink()


def build_world(
    *,
    force: bool = False,
    seed: int = SEED,
    n_patients: int | None = None,
    path: Path | None = None,
) -> Path:
    """The world database of ``n_patients`` (default ``world_size()``; built on first use,
    idempotent).

    ``path`` builds elsewhere than the cache (tests, a second seed); the size is a build
    parameter, so a larger world gives more distinct question instances.
    """
    n_patients = n_patients or world_size()
    target = path or world_path(n_patients)
    stamp = world_stamp(seed, n_patients)
    if force or stamp_of(target) != stamp:
        _write_atomically(
            target, stamp, lambda tmp: write_world(tmp, seed=seed, n_patients=n_patients), force=force
        )
    return target


def view_path(name: str, n_patients: int | None = None) -> Path:
    """Where the view called ``name`` lives: ``<cache>/datasets/<name>/<name>.sqlite`` (with a
    ``-<patients>`` suffix for a world of another size than the default)."""
    n_patients = n_patients or world_size()
    suffix = "" if n_patients == N_PATIENTS else f"-{n_patients}"
    return dataset_cache_dir(name) / f"{name}{suffix}.sqlite"


def build_view(
    name: str,
    *,
    version: int,
    ddl: str,
    populate: Callable[[sqlite3.Connection], None],
    indexes: str = "",
    force: bool = False,
    n_patients: int | None = None,
    path: Path | None = None,
) -> Path:
    """Write the view ``name`` of the world and return its path.

    ``ddl`` creates the view's tables; ``populate(con)`` fills them with ``INSERT ... SELECT``
    from the world, attached read-only as schema ``world``; ``indexes`` is run afterwards. The
    stamp covers the world's stamp, ``version``, ``ddl``, ``indexes`` and the source of
    ``populate``, so editing any of them rebuilds the view. The view is refused if it holds a
    table named like one of the world's hidden tables.
    """
    n_patients = n_patients or world_size()
    world = build_world(n_patients=n_patients)
    target = path or view_path(name, n_patients)
    stamp = stable_hash("view", name, version, stamp_of(world), ddl, indexes, _source(populate)) & 0x7FFF_FFFF
    if not force and stamp_of(target) == stamp:
        return target

    def write(tmp: Path) -> None:
        con = sqlite3.connect(f"file:{tmp}", uri=True)  # URI names let ATTACH open read-only
        try:
            con.execute("PRAGMA journal_mode = OFF")
            con.execute("PRAGMA synchronous = OFF")
            con.executescript(ddl)
            con.execute("ATTACH DATABASE ? AS world", (f"file:{world}?mode=ro",))
            populate(con)
            con.commit()
            con.execute("DETACH DATABASE world")
            tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
            leaked = tables & set(HIDDEN_TABLES)
            if leaked:
                raise RuntimeError(f"view {name!r} would expose hidden world tables: {sorted(leaked)}")
            if indexes:
                con.executescript(indexes)
            con.commit()
            con.execute("ANALYZE")
            con.commit()
        finally:
            con.close()

    _write_atomically(target, stamp, write, force=force)
    return target
