"""Run folders to TRL datasets: SFT conversations, per-decision DPO pairs, RL prompts.

Why it is built this way:
- Training data must never hold a test sample. A trajectory whose ``split`` is not ``train`` is
  skipped, and so is one whose sample id names another split (generated and imported ids both
  carry the split as their third part), so a mislabelled line cannot leak a test task.
- Trajectories come from policies and agent code, and run folders may be damaged. Every message is
  checked and reduced to the keys chat templates read; an episode that cannot be rendered (a role
  no template knows, tool arguments that are not a JSON object) is skipped, and every skip, corrupt
  line included, is counted by reason in the manifest: nothing disappears without a number.
- Chat templates render ``tool_calls[].function.arguments`` with ``tojson``, so the recorded JSON
  strings become dicts; the runner's tool messages carry only the call id, so each gets the called
  function's ``name`` as well.
- Two episodes that took the same actions differ in their observations only by the sandbox's
  elapsed-time header (``[ok; 4.5 ms]``). Comparisons (duplicates, shared DPO prefixes) read that
  header with the figure masked; rows keep the text exactly as recorded.
- TRL's DPO trainer has no assistant mask: a multi-turn completion would train on observations.
  So a pair is one decision: the prompt both episodes shared, and one assistant message per side.
- Output is written through a temporary file and a rename, in a fixed order, so the same runs give
  the same bytes (the manifest records their sha256). One folder can hold all three kinds: its
  ``manifest.json`` keeps one entry per kind, and an export rewrites only its own kind.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from medagentgym import __version__
from medagentgym.catalog.sample import SPLITS
from medagentgym.runs.schema import Trajectory
from medagentgym.runs.store import (
    TRAJECTORIES,
    ManifestError,
    latest_by_key,
    load_manifest,
    now_iso,
    read_trajectories,
)
from medagentgym.untrusted import UntrustedJSONError, loads_bounded, write_lines_atomic

__all__ = [
    "EXPORT_KINDS",
    "ExportError",
    "ExportManifest",
    "RunRef",
    "export_dpo",
    "export_prompts",
    "export_sft",
    "load_export",
    "read_manifests",
]

ExportKind = Literal["sft", "dpo", "prompts"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("sft", "dpo", "prompts")
EXPORT_MANIFEST = "manifest.json"
# Problems (corrupt lines) quoted in a manifest; all of them are counted.
MAX_PROBLEMS_SHOWN = 20

_ROLES = frozenset({"system", "user", "assistant", "tool"})
_TIMING = re.compile(r"^\[([A-Za-z_]+); [0-9]+(?:\.[0-9]+)? ms\]")


class ExportError(ValueError):
    """An export cannot be made or found; the message is one line naming the file or folder."""


class RunRef(BaseModel):
    path: str
    run_id: str


class ExportManifest(BaseModel):
    """What an export holds and how it was chosen (``skipped`` counts every left-out item by reason)."""

    kind: ExportKind
    created_at: str
    medagentgym_version: str = __version__
    file: str
    runs: list[RunRef]
    rule: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    rows: int
    samples: int
    by_dataset: dict[str, int] = Field(default_factory=dict)
    by_category: dict[str, int] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)
    sha256: str


# ------------------------------------------------------------------------------------------------
# Reading runs


@dataclass
class _Read:
    """Trajectories of the runs in a fixed order, with what could not be used."""

    runs: list[RunRef] = field(default_factory=list)
    trajectories: list[Trajectory] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n


def _read_runs(runs: Sequence[Path | str] | Path | str) -> _Read:
    """Every episode of the runs (the latest line per sample and epoch, as reports count them)."""
    paths = [runs] if isinstance(runs, (str, Path)) else list(runs)
    if not paths:
        raise ExportError("no run folders given")
    read = _Read()
    seen: set[Path] = set()
    for given in paths:
        run_dir = Path(given)
        if not run_dir.is_dir():
            raise ExportError(f"{run_dir}: not a run folder (no such directory)")
        if run_dir.resolve() in seen:
            continue
        seen.add(run_dir.resolve())
        try:
            manifest = load_manifest(run_dir)
        except (FileNotFoundError, ManifestError) as exc:
            raise ExportError(str(exc)) from None
        read.runs.append(RunRef(path=str(run_dir), run_id=manifest.run_id))
        problems: list[str] = []
        lines = list(read_trajectories(run_dir, problems))
        latest = latest_by_key(iter(lines))
        read.trajectories.extend(latest.values())
        read.skip("corrupt_line", len(problems))
        read.problems.extend(problems)
        read.skip("superseded", len(lines) - len(latest))
        path = run_dir / TRAJECTORIES
        if path.exists() and path.stat().st_size and not _ends_with_newline(path):
            read.skip("incomplete_line")
            read.problems.append(f"{path}: last line incomplete (an episode still running or cut off), skipped")
    return read


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"


def _split_problem(t: Trajectory) -> str | None:
    """Why a trajectory may not enter training data (None: it is a train-split episode)."""
    if t.split != "train":
        return "not_train_split"
    # Generated ids (dataset/category/split/seed/index) and imported ones
    # (dataset/category/split/official-...) name their split; other ids are trusted as recorded.
    parts = t.sample_id.split("/")
    if len(parts) >= 3 and parts[2] in SPLITS:
        if parts[2] != "train":
            return "id_not_train"  # the id names another split: the stricter of the two wins
        if parts[0] != t.dataset or parts[1] != t.category:
            return "id_mismatch"
    return None


# ------------------------------------------------------------------------------------------------
# Messages


class _Malformed(ValueError):
    """An episode's messages cannot become a training row; ``args[0]`` is the skip reason."""


def _tool_call(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("function"), dict):
        raise _Malformed("malformed_tool_call")
    function = raw["function"]
    name, arguments = function.get("name"), function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = loads_bounded(arguments) if arguments.strip() else {}
        except UntrustedJSONError:
            raise _Malformed("malformed_tool_call") from None
    if not isinstance(name, str) or not isinstance(arguments, dict):
        raise _Malformed("malformed_tool_call")
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if isinstance(raw.get("id"), str):
        call = {"id": raw["id"], **call}
    return call


def _clean_messages(raw: Any) -> list[dict[str, Any]]:
    """The messages as recorded, reduced to role, content, tool_calls, name and tool_call_id,
    with tool arguments as dicts and each tool message named after the function it answers."""
    if not isinstance(raw, list) or not raw:
        raise _Malformed("malformed_messages")
    names: dict[str, str] = {}  # tool call id -> function name, from the latest assistant turn
    pending: list[str] = []  # names of that turn's calls not yet answered, in order
    cleaned: list[dict[str, Any]] = []
    for message in raw:
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise _Malformed("malformed_messages")
        role, content = message["role"], message.get("content")
        if content is not None and not isinstance(content, str):
            raise _Malformed("malformed_messages")
        out: dict[str, Any] = {"role": role, "content": content}
        calls = message.get("tool_calls")
        if role == "assistant" and calls:
            if not isinstance(calls, list):
                raise _Malformed("malformed_tool_call")
            out["tool_calls"] = [_tool_call(c) for c in calls]
            names = {c["id"]: c["function"]["name"] for c in out["tool_calls"] if "id" in c}
            pending = [c["function"]["name"] for c in out["tool_calls"]]
        elif content is None:
            out["content"] = ""  # templates concatenate content; only a tool-call turn may lack it
        if role == "tool":
            call_id = message.get("tool_call_id")
            name = message.get("name")
            if not isinstance(name, str):
                name = names.get(call_id) if isinstance(call_id, str) else None
                name = name or (pending[0] if pending else None)
            if not isinstance(name, str):
                raise _Malformed("malformed_messages")  # a tool answer with no call before it
            if name in pending:
                pending.remove(name)
            out["name"] = name
            if isinstance(call_id, str):
                out["tool_call_id"] = call_id
        elif isinstance(message.get("name"), str) and role != "assistant":
            out["name"] = message["name"]
        cleaned.append(out)
    try:
        json.dumps(cleaned, allow_nan=False)
    except ValueError:
        raise _Malformed("non_finite_number") from None  # NaN/Infinity: not JSON, loaders refuse it
    return cleaned


def _comparable(message: dict[str, Any]) -> str:
    """A message as compared for duplicates and shared prefixes: call ids left out, the sandbox's
    elapsed-time figure masked (the only part that differs when the same actions run twice)."""
    content = message.get("content") or ""
    if message["role"] in ("user", "tool"):
        content = _TIMING.sub(r"[\1; _ ms]", content)
    calls = [[c["function"]["name"], c["function"]["arguments"]] for c in message.get("tool_calls", [])]
    return json.dumps([message["role"], content, calls, message.get("name")], sort_keys=True, ensure_ascii=False)


def _assistant_chars(messages: list[dict[str, Any]]) -> int:
    """Length of what the model wrote: a tokenizer-free stand-in for its tokens."""
    total = 0
    for m in messages:
        if m["role"] == "assistant":
            total += len(m.get("content") or "")
            for call in m.get("tool_calls", []):
                total += len(call["function"]["name"]) + len(json.dumps(call["function"]["arguments"]))
    return total


@dataclass
class _Episode:
    trajectory: Trajectory
    messages: list[dict[str, Any]]
    order: int  # position in the runs as given (run order, then line order)
    compare: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.compare = [_comparable(m) for m in self.messages]

    @property
    def turns(self) -> int:
        return sum(1 for m in self.messages if m["role"] == "assistant")

    @property
    def rank(self) -> tuple[int, int, int]:
        """Shortest first: fewest assistant turns, then fewest characters written, then run order."""
        return (self.turns, _assistant_chars(self.messages), self.order)

    @property
    def content_key(self) -> str:
        return "\n".join(self.compare)


def _episodes(
    read: _Read, keep: Callable[[Trajectory], str | None]
) -> dict[str, list[_Episode]]:
    """Train-split episodes that ``keep`` accepts (it returns a skip reason or None), by sample id."""
    by_sample: dict[str, list[_Episode]] = {}
    for order, t in enumerate(read.trajectories):
        reason = _split_problem(t) or keep(t)
        if reason is None:
            try:
                messages = _clean_messages(t.messages)
            except _Malformed as exc:
                reason = str(exc.args[0])
        if reason is not None:
            read.skip(reason)
            continue
        by_sample.setdefault(t.sample_id, []).append(_Episode(t, messages, order))
    return by_sample


def _distinct(episodes: Iterable[_Episode], read: _Read) -> list[_Episode]:
    """Episodes with the same messages (as compared) kept once, the first in the given order."""
    seen: set[str] = set()
    kept = []
    for episode in episodes:
        if episode.content_key in seen:
            read.skip("duplicate")
            continue
        seen.add(episode.content_key)
        kept.append(episode)
    return kept


def _is_success(t: Trajectory) -> bool:
    return t.status == "ok" and t.success


def _sort_key(t: Trajectory) -> tuple[str, str, str]:
    return (t.dataset, t.category, t.sample_id)


# ------------------------------------------------------------------------------------------------
# Writing


def read_manifests(folder: Path | str) -> dict[str, ExportManifest]:
    """The manifests of an export folder by kind ({} when it has none yet)."""
    path = Path(folder) / EXPORT_MANIFEST
    if not path.exists():
        return {}
    problem = f"{path}: not an export manifest ({{}}); remove it or export elsewhere"
    try:
        value = loads_bounded(path.read_bytes().decode("utf-8"))
        if not isinstance(value, dict):
            raise ExportError(problem.format("not a JSON object"))
        return {kind: ExportManifest.model_validate(entry) for kind, entry in value.items()}
    except (ValueError, UnicodeDecodeError, ValidationError) as exc:
        if isinstance(exc, ExportError):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(problem.format(reason)) from None


def _check_out(out: Path, read: _Read) -> None:
    """Refuse to write into a run folder: its manifest.json would be replaced."""
    if (out / TRAJECTORIES).exists() or any(out.resolve() == Path(r.path).resolve() for r in read.runs):
        raise ExportError(f"{out}: is a run folder; write the export to another folder")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a folder")


def _write(
    out: Path | str,
    kind: ExportKind,
    rows: list[dict[str, Any]],
    read: _Read,
    *,
    rule: str,
    parameters: dict[str, Any],
) -> ExportManifest:
    out = Path(out)
    _check_out(out, read)
    manifests = read_manifests(out)  # before writing anything: a foreign manifest stops the export
    data = out / f"{kind}.jsonl"
    write_lines_atomic(data, (json.dumps(row, ensure_ascii=False, allow_nan=False) for row in rows))
    by_dataset: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for row in rows:
        by_dataset[row["dataset"]] = by_dataset.get(row["dataset"], 0) + 1
        name = f"{row['dataset']}/{row['category']}"
        by_category[name] = by_category.get(name, 0) + 1
    manifest = ExportManifest(
        kind=kind,
        created_at=now_iso(),
        file=data.name,
        runs=read.runs,
        rule=rule,
        parameters=parameters,
        rows=len(rows),
        samples=len({row["sample_id"] for row in rows}),
        by_dataset=dict(sorted(by_dataset.items())),
        by_category=dict(sorted(by_category.items())),
        skipped=dict(sorted(read.skipped.items())),
        problems=read.problems[:MAX_PROBLEMS_SHOWN],
        sha256=hashlib.sha256(data.read_bytes()).hexdigest(),
    )
    manifests[kind] = manifest
    text = json.dumps({k: m.model_dump(mode="json") for k, m in sorted(manifests.items())}, indent=2)
    write_lines_atomic(out / EXPORT_MANIFEST, [text])
    return manifest


def load_export(path: Path | str, kind: str) -> Path:
    """The ``<kind>.jsonl`` of an export folder, or ``path`` itself when it is a file."""
    if kind not in EXPORT_KINDS:
        raise ExportError(f"unknown export kind {kind!r} (known: {', '.join(EXPORT_KINDS)})")
    path = Path(path)
    if path.is_dir():
        data = path / f"{kind}.jsonl"
        if not data.is_file():
            raise ExportError(f"{path}: no {kind}.jsonl (make it with: medagentgym export {kind} RUN... --out {path})")
        return data
    if path.is_file():
        return path
    raise ExportError(f"{path}: no such export folder or .jsonl file")


# ------------------------------------------------------------------------------------------------
# SFT


def export_sft(runs: Sequence[Path | str] | Path | str, out: Path | str, *, max_per_sample: int = 2) -> ExportManifest:
    """Conversational SFT rows from the successful train-split episodes of ``runs``."""
    if max_per_sample < 1:
        raise ExportError(f"max_per_sample must be at least 1, not {max_per_sample}")
    read = _read_runs(runs)

    def keep(t: Trajectory) -> str | None:
        if t.status == "infra_error":
            return "infra_error"
        return None if _is_success(t) else "not_successful"

    rows: list[dict[str, Any]] = []
    by_sample = _episodes(read, keep)
    for sample_id in sorted(by_sample, key=lambda s: _sort_key(by_sample[s][0].trajectory)):
        ranked = _distinct(sorted(by_sample[sample_id], key=lambda e: e.rank), read)
        read.skip("over_limit", max(0, len(ranked) - max_per_sample))
        for episode in ranked[:max_per_sample]:
            t = episode.trajectory
            last = max(i for i, m in enumerate(episode.messages) if m["role"] == "assistant")
            rows.append(
                {
                    "messages": episode.messages[: last + 1],
                    "sample_id": t.sample_id,
                    "dataset": t.dataset,
                    "category": t.category,
                    "split": t.split,
                    "run_id": t.run_id,
                    "epoch": t.epoch,
                    "action_format": t.policy.action_format,
                }
            )
    rule = (
        "successful episodes (status ok, score correct) of train-split samples; per sample at most "
        f"{max_per_sample} distinct episodes, shortest first (fewest assistant turns, then fewest characters of "
        "assistant output, then run order); episodes with the same messages (call ids and the sandbox's "
        "elapsed time ignored) kept once; each conversation ends at its last assistant message"
    )
    return _write(out, "sft", rows, read, rule=rule, parameters={"max_per_sample": max_per_sample})


# ------------------------------------------------------------------------------------------------
# DPO


def _decision_point(chosen: _Episode, rejected: _Episode) -> int | str:
    """The index of the first message where the two episodes differ, when both are assistant
    messages after an identical prefix; otherwise why the pair cannot be made."""
    a, b = chosen.compare, rejected.compare
    index = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    if index < 2:
        return "pair_task_differs"  # the system or task message differs: not the same prompt
    if index >= len(a) or index >= len(b):
        return "pair_no_difference"  # one episode is a prefix of the other
    if chosen.messages[index]["role"] == "assistant" and rejected.messages[index]["role"] == "assistant":
        return index
    # Same actions, different observations (a nondeterministic result): every later assistant
    # message answers a context the other episode never saw, so no single decision is shared.
    return "pair_observation_diverged"


def export_dpo(
    runs: Sequence[Path | str] | Path | str, out: Path | str, *, max_pairs_per_sample: int = 4
) -> ExportManifest:
    """DPO pairs, one per decision point, from successful vs failed episodes of the same sample."""
    if max_pairs_per_sample < 1:
        raise ExportError(f"max_pairs_per_sample must be at least 1, not {max_pairs_per_sample}")
    read = _read_runs(runs)
    by_sample = _episodes(read, lambda t: "infra_error" if t.status == "infra_error" else None)
    rows: list[dict[str, Any]] = []
    for sample_id in sorted(by_sample, key=lambda s: _sort_key(by_sample[s][0].trajectory)):
        episodes = by_sample[sample_id]
        successes = _distinct(sorted((e for e in episodes if _is_success(e.trajectory)), key=lambda e: e.rank), read)
        failures = _distinct((e for e in episodes if not _is_success(e.trajectory)), read)
        if not successes or not failures:
            read.skip("no_pair_no_failure" if successes else "no_pair_no_success")
            continue
        # Each failure's candidate pairs, its best success first; taken round-robin over the
        # failures so the pairs cover as many different mistakes as the limit allows.
        candidates: list[list[tuple[_Episode, _Episode, int]]] = []
        for failure in failures:
            own = []
            for success in successes:
                point = _decision_point(success, failure)
                if isinstance(point, str):
                    read.skip(point)
                else:
                    own.append((success, failure, point))
            candidates.append(own)
        chosen_pairs: list[tuple[_Episode, _Episode, int]] = []
        seen: set[str] = set()
        depth = max((len(c) for c in candidates), default=0)
        for level in range(depth):
            for own in candidates:
                if level >= len(own):
                    continue
                success, failure, point = own[level]
                key = "\n".join([*success.compare[: point + 1], failure.compare[point]])
                if key in seen:
                    read.skip("pair_duplicate")
                elif len(chosen_pairs) >= max_pairs_per_sample:
                    read.skip("pair_over_limit")
                else:
                    seen.add(key)
                    chosen_pairs.append((success, failure, point))
        if not chosen_pairs:
            read.skip("no_pair")
        for success, failure, point in chosen_pairs:
            t = success.trajectory
            prompt = success.messages[:point]
            rows.append(
                {
                    "prompt": prompt,
                    "chosen": [success.messages[point]],
                    "rejected": [failure.messages[point]],
                    "sample_id": t.sample_id,
                    "dataset": t.dataset,
                    "category": t.category,
                    "split": t.split,
                    "turn": sum(1 for m in prompt if m["role"] == "assistant"),
                }
            )
    rule = (
        "per train-split sample, a successful episode (status ok, score correct) against a failed one "
        "(score incorrect or nothing submitted; infrastructure failures never); the decision point is the "
        "first assistant message where they differ after an identical prefix (call ids and the sandbox's "
        "elapsed time ignored); prompt = that prefix as the successful episode recorded it, chosen / rejected = "
        "the two assistant messages there; pairs whose observations differ before any assistant message are "
        "not made; each failure is paired with the shortest success it can be, round-robin over failures, "
        f"at most {max_pairs_per_sample} distinct pairs per sample"
    )
    return _write(out, "dpo", rows, read, rule=rule, parameters={"max_pairs_per_sample": max_pairs_per_sample})


# ------------------------------------------------------------------------------------------------
# RL prompts


def export_prompts(runs: Sequence[Path | str] | Path | str, out: Path | str) -> ExportManifest:
    """One row per distinct train-split sample of ``runs``: its system and task messages."""
    read = _read_runs(runs)
    firsts: dict[str, tuple[Trajectory, list[dict[str, Any]]]] = {}
    for t in read.trajectories:
        reason = _split_problem(t)
        if reason is None and t.sample_id in firsts:
            reason = "duplicate"
        if reason is None:
            try:
                head = _clean_messages(t.messages[:2])
            except _Malformed as exc:
                reason = str(exc.args[0])
            else:
                if [m["role"] for m in head] != ["system", "user"]:
                    reason = "malformed_messages"
        if reason is not None:
            read.skip(reason)
            continue
        firsts[t.sample_id] = (t, head)
    rows = [
        {"prompt": head, "sample_id": t.sample_id, "dataset": t.dataset, "category": t.category, "split": t.split}
        for t, head in sorted(firsts.values(), key=lambda pair: _sort_key(pair[0]))
    ]
    rule = (
        "one row per distinct train-split sample: the system and task messages (the first two messages) "
        "of its first trajectory in run order, whatever the episode's outcome"
    )
    return _write(out, "prompts", rows, read, rule=rule, parameters={})
