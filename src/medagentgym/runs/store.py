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

The manifest records the run's *identity*: what makes its episodes comparable (policy, model,
sampling, action format, env rules, selection, epochs), not how fast they ran (concurrency,
timeouts). Opening an existing run with another identity is refused (``RunIdentityError``), so
two models never end up mixed in one run silently; ``extend=True`` accepts the difference,
records it in ``RunManifest.extensions`` and raises ``episodes_planned`` to cover every episode
the run may now hold.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from medagentgym import __version__
from medagentgym.runs.schema import SCHEMA_VERSION, Trajectory
from medagentgym.untrusted import UntrustedJSONError, clean_json, clean_text, loads_bounded, model_json

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
    # What defines the run (``run_identity``); empty in manifests written before it existed.
    identity: dict[str, Any] = Field(default_factory=dict)
    # Each accepted change of identity (``--extend``): {"at", "identity", "episodes_planned"}.
    extensions: list[dict[str, Any]] = Field(default_factory=list)


class RunLockedError(RuntimeError):
    pass


class ManifestError(ValueError):
    """``manifest.json`` of a run folder cannot be read; the message names the file."""


class RunIdentityError(ValueError):
    """A run folder holds episodes of another identity; one line naming the differing fields."""

    def __init__(self, run_dir: Path, changes: list[str]) -> None:
        shown = "; ".join(changes[:MAX_CHANGES_SHOWN])
        more = f" (and {len(changes) - MAX_CHANGES_SHOWN} more)" if len(changes) > MAX_CHANGES_SHOWN else ""
        super().__init__(
            f"run {run_dir} was made with other settings: {shown}{more} "
            "(use another --out, or --extend to add these episodes to it)"
        )
        self.changes = changes


#: Changes named in a refusal; the rest are counted (a hostile manifest may differ in thousands).
MAX_CHANGES_SHOWN = 6


#: The parts of ``PolicyInfo`` that define a run (prices only price it).
POLICY_IDENTITY = ("name", "model", "sampling", "action_format")


def run_identity(
    policy: Mapping[str, Any],
    selection: Mapping[str, Any],
    env: Mapping[str, Any],
    *,
    epochs: int,
    samples: int,
) -> dict[str, Any]:
    """What makes the episodes of a run comparable, as plain JSON for the manifest.

    ``policy`` is a ``PolicyInfo`` dump, ``selection`` a ``Selection`` dump, ``env`` an
    ``EnvConfig`` dump, ``samples`` how many samples the selection held (a samples file that
    changed between two invocations changes it). Concurrency, timeouts and progress are left
    out on purpose: they change how fast a run goes, not what its episodes mean.
    """
    return clean_json(
        {
            "policy": {key: policy.get(key) for key in POLICY_IDENTITY},
            "selection": dict(selection),
            "env": dict(env),
            "epochs": epochs,
            "samples": samples,
        }
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted paths ("policy.sampling.temperature"), so a change is named exactly.

    An empty dict records nothing (no sampling options set is the same as none recorded)."""
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


_UNSET = object()


#: Characters of a value shown in an identity change (a long selection stays one readable line).
MAX_SHOWN = 60


def _shown(value: Any) -> str:
    if value is _UNSET:
        return "(unset)"
    text = clean_text(repr(value))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def identity_changes(old: Mapping[str, Any], new: Mapping[str, Any], *, only_old: bool = False) -> list[str]:
    """The fields in which two identities differ, each as "field: old → new", in a stable order.

    ``only_old`` compares only the fields ``old`` records (a manifest written by an older
    version lacks fields added since; their absence is no difference).
    """
    before, after = _flatten(old), _flatten(new)
    keys = list(before) if only_old else list(dict.fromkeys([*before, *after]))
    changes = []
    for key in keys:
        was, now = before.get(key, _UNSET), after.get(key, _UNSET)
        if was != now:
            changes.append(f"{key}: {_shown(was)} → {_shown(now)}")
    return changes


def _legacy_changes(existing: RunManifest, manifest: RunManifest) -> list[str]:
    """Differences from a manifest without identity, on what it does record.

    Such a manifest has no epochs; its planned count (samples x epochs) stands in for them."""
    recorded = {
        "policy": {k: existing.policy[k] for k in POLICY_IDENTITY if k in existing.policy},
        "selection": existing.selection,
        "env": existing.env,
        "episodes_planned": existing.episodes_planned,
    }
    wanted = {
        "policy": {k: manifest.policy.get(k) for k in POLICY_IDENTITY},
        "selection": manifest.selection,
        "env": manifest.env,
        "episodes_planned": manifest.episodes_planned,
    }
    return identity_changes(recorded, wanted, only_old=True)


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
    """Appends trajectories to one run folder; safe to share between threads of one process.

    ``manifest`` describes the run as this invocation would make it. For an existing folder its
    identity must match the recorded one (``RunIdentityError`` otherwise, before anything is
    written), unless ``extend``: then the change is recorded and ``episodes_planned`` becomes the
    larger of the old plan and the episodes the folder may hold after this invocation (those
    already written plus ``planned``, the keys this invocation plans), so a report never shows
    more episodes than planned. ``changes`` lists what an extension changed (empty otherwise).
    """

    def __init__(
        self,
        run_dir: Path,
        manifest: RunManifest,
        *,
        extend: bool = False,
        planned: Collection[tuple[str, int]] = (),
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock_handle = (self.run_dir / LOCK).open("w")
        try:
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_handle.close()
            raise RunLockedError(f"run {self.run_dir} is in use by another process") from exc
        # Complete lines that could not be read back; their episodes run again.
        self.problems: list[str] = []
        self.changes: list[str] = []
        # Failure kinds of the infra_error episodes appended through this store (this invocation).
        self.appended_failures: dict[str, int] = {}
        try:
            existing = self._existing_manifest()
            if existing is not None:
                self.changes = self._identity_changes(existing, manifest)
                if self.changes and not extend:
                    raise RunIdentityError(self.run_dir, self.changes)
            self._recover_partial_tail()
            latest = latest_by_key(read_trajectories(self.run_dir, self.problems))
            if existing is None:
                self.manifest = manifest
                self._write_manifest(manifest)
            elif self.changes:
                self.manifest = self._extended(existing, manifest, set(latest) | set(planned))
                self._write_manifest(self.manifest)
            elif not existing.identity and not existing.extensions and manifest.identity:
                self.manifest = existing.model_copy(update={"identity": manifest.identity})
                self._write_manifest(self.manifest)  # an older manifest learns what defines it
            else:
                self.manifest = existing
        except BaseException:
            self._release_lock()
            raise
        self.done: set[tuple[str, int]] = {key for key, t in latest.items() if t.status != "infra_error"}
        self._write_lock = threading.Lock()
        self._handle = (self.run_dir / TRAJECTORIES).open("ab")

    def _existing_manifest(self) -> RunManifest | None:
        if not (self.run_dir / MANIFEST).exists():
            return None
        existing = load_manifest(self.run_dir)
        if existing.schema_version != SCHEMA_VERSION:
            raise ManifestError(
                f"run {self.run_dir} has schema version {existing.schema_version}, "
                f"this version writes {SCHEMA_VERSION}"
            )
        return existing

    @staticmethod
    def _identity_changes(existing: RunManifest, manifest: RunManifest) -> list[str]:
        """How ``manifest`` differs from the run's identity (its latest extension's, if any).

        A caller that declares no identity (a library user's bare manifest) asserts nothing and
        opens any run, as before identities existed."""
        if not manifest.identity:
            return []
        recorded = [extension.get("identity") for extension in reversed(existing.extensions)]
        current = next((i for i in [*recorded, existing.identity] if isinstance(i, Mapping) and i), None)
        if current is not None:
            return identity_changes(current, manifest.identity)
        return _legacy_changes(existing, manifest)

    @staticmethod
    def _extended(existing: RunManifest, manifest: RunManifest, keys: set[tuple[str, int]]) -> RunManifest:
        planned = max(existing.episodes_planned, len(keys))
        extension = {"at": now_iso(), "identity": manifest.identity, "episodes_planned": planned}
        return existing.model_copy(update={"extensions": [*existing.extensions, extension], "episodes_planned": planned})

    def _write_manifest(self, manifest: RunManifest) -> None:
        path = self.run_dir / MANIFEST
        tmp = path.with_suffix(".tmp")
        tmp.write_text(model_json(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, path)

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
            else:
                kind = trajectory.failure or "unknown"
                self.appended_failures[kind] = self.appended_failures.get(kind, 0) + 1
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
