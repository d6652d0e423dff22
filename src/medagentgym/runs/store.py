"""Run folders: a manifest plus an append-only, flushed trajectories file.

A run is resumable by (sample id, epoch): on open, finished episodes are read back and skipped.
Episodes that ended in an infrastructure failure (API outage, sandbox failure) are
not counted as done: a resumed run retries them, and readers keep the latest line per key. A line
cut short by a kill (no trailing newline, or not valid JSON) belongs to an episode that
never finished; it is moved aside to ``trajectories.partial`` so nothing is lost and the episode
is run again. An exclusive lock stops two processes from appending to one run at once.

Everything in a trajectory may come from a policy or agent code, so writing never fails on a
string: lone surrogates are written as U+FFFD (``untrusted.model_json``). Reading never fails on
a corrupt file: a complete line that is not a trajectory is skipped and named (file and line
number) in the ``problems`` list callers print, and a corrupt ``manifest.json`` raises
``ManifestError`` with a one-line message naming the file.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from medagentgym import __version__
from medagentgym.runs.schema import SCHEMA_VERSION, Trajectory
from medagentgym.untrusted import UntrustedJSONError, clean_json, loads_bounded, model_json

TRAJECTORIES = "trajectories.jsonl"
MANIFEST = "manifest.json"
PARTIAL = "trajectories.partial"
LOCK = ".lock"


class RunManifest(BaseModel):
    run_id: str
    created_at: str
    schema_version: int = SCHEMA_VERSION
    medagentgym_version: str = __version__
    policy: dict[str, Any] = Field(default_factory=dict)
    selection: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, Any] = Field(default_factory=dict)
    episodes_planned: int = 0


class RunLockedError(RuntimeError):
    pass


class ManifestError(ValueError):
    """``manifest.json`` of a run folder cannot be read; the message names the file."""


def _first_problem(exc: Exception) -> str:
    """One line about why a value did not validate (pydantic's first error), or the exception."""
    if isinstance(exc, ValidationError) and exc.errors():
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _parse_line(raw: bytes) -> Trajectory:
    """One trajectory line. pydantic's JSON parser refuses lone-surrogate escapes ("\\udcff"),
    which Python's json module (and so other writers) produce; those lines are read leniently."""
    try:
        return Trajectory.model_validate_json(raw)
    except ValueError:
        pass
    try:
        value = loads_bounded(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"invalid UTF-8 at byte {exc.start + 1}") from None
    return Trajectory.model_validate(clean_json(value))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def read_trajectories(run_dir: Path, problems: list[str] | None = None) -> Iterator[Trajectory]:
    """Every finished episode of a run, in the order written; incomplete tails are skipped.

    A complete line that is not a trajectory (corrupt JSON, invalid UTF-8, another schema) is
    skipped; with ``problems`` given, a one-line reason naming the file and line is added to it.
    """
    path = Path(run_dir) / TRAJECTORIES
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                break
            if not raw.strip():
                continue
            try:
                yield _parse_line(raw)
            except (ValueError, UntrustedJSONError) as exc:
                if problems is not None:
                    problems.append(f"{path} line {number}: skipped, not a valid trajectory ({_first_problem(exc)})")


def latest_by_key(trajectories: Iterator[Trajectory]) -> dict[tuple[str, int], Trajectory]:
    """The last written trajectory of each (sample id, epoch): a retry supersedes an infra error."""
    latest: dict[tuple[str, int], Trajectory] = {}
    for trajectory in trajectories:
        latest[trajectory.key] = trajectory
    return latest


def load_run(run_dir: Path, problems: list[str] | None = None) -> list[Trajectory]:
    """The episodes of a run as a report should count them: one per (sample id, epoch)."""
    return list(latest_by_key(read_trajectories(run_dir, problems)).values())


class RunStore:
    """Appends trajectories to one run folder; safe to share between threads of one process."""

    def __init__(self, run_dir: Path, manifest: RunManifest) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock_handle = (self.run_dir / LOCK).open("w")
        try:
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_handle.close()
            raise RunLockedError(f"run {self.run_dir} is in use by another process") from exc
        try:
            self.manifest = self._load_or_write_manifest(manifest)
            self._recover_partial_tail()
        except BaseException:
            self._release_lock()
            raise
        # Complete lines that could not be read back; their episodes run again.
        self.problems: list[str] = []
        self.done: set[tuple[str, int]] = {
            key
            for key, t in latest_by_key(read_trajectories(self.run_dir, self.problems)).items()
            if t.status != "infra_error"
        }
        self._write_lock = threading.Lock()
        self._handle = (self.run_dir / TRAJECTORIES).open("ab")

    def _load_or_write_manifest(self, manifest: RunManifest) -> RunManifest:
        path = self.run_dir / MANIFEST
        if path.exists():
            existing = load_manifest(self.run_dir)
            if existing.schema_version != SCHEMA_VERSION:
                raise ManifestError(
                    f"run {self.run_dir} has schema version {existing.schema_version}, "
                    f"this version writes {SCHEMA_VERSION}"
                )
            return existing
        tmp = path.with_suffix(".tmp")
        tmp.write_text(model_json(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return manifest

    def _recover_partial_tail(self) -> None:
        """Cut an unfinished last line off and keep it beside the run for inspection."""
        path = self.run_dir / TRAJECTORIES
        if not path.exists():
            return
        data = path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        with (self.run_dir / PARTIAL).open("ab") as aside:
            aside.write(data[cut:] + b"\n")
        with path.open("r+b") as handle:
            handle.truncate(cut)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def is_done(self, sample_id: str, epoch: int) -> bool:
        """True once an episode finished for a reason other than an infrastructure failure."""
        return (sample_id, epoch) in self.done

    def append(self, trajectory: Trajectory) -> bool:
        """Write one finished episode durably; returns False (and writes nothing) for a duplicate."""
        line = model_json(trajectory).encode() + b"\n"
        with self._write_lock:
            if trajectory.key in self.done:
                return False
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())
            if trajectory.status != "infra_error":
                self.done.add(trajectory.key)
        return True

    def _release_lock(self) -> None:
        fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
        self._lock_handle.close()

    def close(self) -> None:
        self._handle.close()
        self._release_lock()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_manifest(run_dir: Path) -> RunManifest:
    """The manifest of a run folder: FileNotFoundError if there is none, ManifestError (one line,
    naming the file) if it is not valid UTF-8, not JSON or not a manifest."""
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no {MANIFEST})")
    try:
        value = loads_bounded(path.read_bytes().decode("utf-8"))
        return RunManifest.model_validate(clean_json(value))
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not a run manifest (invalid UTF-8 at byte {exc.start + 1})") from None
    except (ValueError, OSError) as exc:
        raise ManifestError(f"{path}: not a run manifest ({_first_problem(exc)})") from None
