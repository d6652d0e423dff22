"""A built corpus: the catalog written once as versioned Parquet, citable and loadable anywhere.

``medagentgym corpus build`` generates every sample of a scale (``catalog.dataset.Scale``) and
writes a folder that ``datasets.load_dataset(DIR)`` reads and that our own code reads back into
``Sample`` objects (``load_corpus``), so a run or a paper can name the exact instances by a
corpus version instead of "whatever this version's generators make":

    DIR/manifest.json                          versions, world, counts, sha256 of every file
    DIR/README.md                              dataset card; its ``configs:`` drive load_dataset
    DIR/data/<split>-<dataset>.<category>.parquet           what an agent may see
    DIR/hidden/targets-<split>-<dataset>.<category>.parquet targets, solutions, follow-ups, metadata

The public files hold exactly what ``Sample.public_view`` shows (no target, solution, metadata or
follow-up question); everything graded lives in ``hidden/``, so the public config can be handed
out on its own. Resource paths in a Sample are absolute paths into the builder's cache; the
corpus stores them relative to the cache (``base="cache"``) and ``load_corpus`` resolves them
against the reader's cache, building a dataset's data there when it is missing.

The build is parallel (a process per worker, one chunk per category and split, largest first)
and resumable: each chunk's two files are written atomically and then recorded under ``.build/``
with a stamp of everything they depend on (package version, world, seed, chunk); a rerun skips
recorded chunks whose files still match. The manifest is written last, and the corpus version is
a hash of the files' checksums. Reading checks every file against the manifest first: a changed,
missing or extra file is refused with one line (``CorpusError``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from medagentgym import __version__
from medagentgym.catalog.dataset import Scale, category_counts
from medagentgym.catalog.sample import SPLITS, FollowUp, Resource, Sample, Solution, Split, Target

#: Version of the folder layout and columns; a reader refuses a corpus of another one.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CARD = "README.md"
DATA = "data"
HIDDEN = "hidden"
BUILD = ".build"

#: Names that become file names: the registry's slugs, nothing that could climb out of the folder.
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class CorpusError(ValueError):
    """A corpus folder that cannot be built into or read; the message is the one line to show."""


# --------------------------------------------------------------------------- manifest


class CorpusFile(BaseModel):
    """One Parquet file of the corpus: where it is, what it holds and its checksum."""

    path: str  # relative to the corpus folder, POSIX separators
    kind: Literal["data", "hidden"]
    split: Split
    dataset: str
    category: str
    rows: int
    sha256: str


class CorpusManifest(BaseModel):
    format_version: int = FORMAT_VERSION
    corpus_version: str  # sha256 (first 16 hex digits) of the files' paths and checksums
    generator: dict[str, str] = Field(default_factory=dict)  # package and version that generated it
    created_at: str = ""
    scale: Scale
    seed: int = 0
    world: dict[str, int] = Field(default_factory=dict)  # patients, stamp
    counts: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)  # split -> dataset -> category -> n
    totals: dict[str, int] = Field(default_factory=dict)  # split -> n
    files: list[CorpusFile] = Field(default_factory=list)


class BuildSettings(BaseModel):
    """What a corpus folder is being built as; a rerun with other settings is refused."""

    format_version: int = FORMAT_VERSION
    generator_version: str = __version__
    scale: Scale
    seed: int = 0
    datasets: list[str] = Field(default_factory=list)  # empty: every registered dataset
    world_patients: int
    world_stamp: int


def corpus_version(files: Iterable[CorpusFile]) -> str:
    lines = sorted(f"{f.path}\t{f.sha256}" for f in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- rows


def _arrow() -> Any:
    import pyarrow as pa

    return pa


@cache
def public_schema() -> Any:
    pa = _arrow()
    resource = pa.struct(
        [
            ("name", pa.string()),
            ("kind", pa.string()),
            ("path", pa.string()),
            ("base", pa.string()),
            ("description", pa.string()),
        ]
    )
    return pa.schema(
        [
            ("id", pa.string()),
            ("dataset", pa.string()),
            ("category", pa.string()),
            ("split", pa.string()),
            ("index", pa.int64()),
            ("seed", pa.int64()),
            ("prompt", pa.string()),
            ("answer_type", pa.string()),
            ("questions", pa.int32()),
            ("resources", pa.list_(resource)),
        ]
    )


@cache
def hidden_schema() -> Any:
    pa = _arrow()
    return pa.schema(
        [
            ("id", pa.string()),
            ("target", pa.string()),  # JSON of Target
            ("solution", pa.string()),  # JSON of Solution
            ("followups", pa.string()),  # JSON list of FollowUp (prompts, targets, solutions)
            ("metadata", pa.string()),  # JSON object
        ]
    )


def portable_resource(resource: Resource, cache: Path) -> dict[str, str]:
    """A resource with its path relative to the cache when it lies inside it (``base="cache"``),
    else as given (``"url"`` for a FHIR server, ``"absolute"`` for a user's own file)."""
    path = resource.path
    if re.match(r"^https?://", path):
        base, stored = "url", path
    else:
        try:
            stored, base = Path(path).resolve().relative_to(cache.resolve()).as_posix(), "cache"
        except ValueError:
            base, stored = "absolute", path
    return {"name": resource.name, "kind": resource.kind, "path": stored, "base": base, "description": resource.description}


def resolved_resource(row: dict[str, Any], cache: Path) -> Resource:
    """A stored resource back as a Resource of this machine (a cache path under ``cache``).

    A cache-relative path that would leave the cache (``..``, absolute) is refused: the path came
    from a file, and a resource is what the sandbox mounts."""
    path = str(row["path"])
    if row.get("base") == "cache":
        relative = Path(path)
        if relative.is_absolute() or ".." in relative.parts:
            raise CorpusError(f"resource {row.get('name')!r}: cache path {path!r} leaves the cache")
        path = str(cache / relative)
    return Resource(kind=row["kind"], name=row["name"], path=path, description=row.get("description") or "")


def sample_rows(sample: Sample, cache: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The public row and the hidden row of one sample."""
    public = {
        "id": sample.id,
        "dataset": sample.dataset,
        "category": sample.category,
        "split": sample.split,
        "index": sample.index,
        "seed": sample.seed,
        "prompt": sample.prompt,
        "answer_type": sample.target.answer_type.value,
        "questions": 1 + len(sample.followups),
        "resources": [portable_resource(r, cache) for r in sample.resources],
    }
    hidden = {
        "id": sample.id,
        "target": sample.target.model_dump_json(),
        "solution": sample.solution.model_dump_json(),
        "followups": json.dumps([f.model_dump(mode="json") for f in sample.followups]),
        "metadata": json.dumps(sample.model_dump(mode="json", include={"metadata"})["metadata"]),
    }
    return public, hidden


def sample_of(public: dict[str, Any], hidden: dict[str, Any], cache: Path) -> Sample:
    """One Sample from its two rows (a ValidationError or CorpusError if they are not one)."""
    return Sample(
        id=public["id"],
        dataset=public["dataset"],
        category=public["category"],
        split=public["split"],
        index=public["index"],
        seed=public["seed"],
        prompt=public["prompt"],
        resources=tuple(resolved_resource(r, cache) for r in public["resources"] or ()),
        target=Target.model_validate_json(hidden["target"]),
        solution=Solution.model_validate_json(hidden["solution"]),
        followups=tuple(FollowUp.model_validate(f) for f in json.loads(hidden["followups"] or "[]")),
        metadata=json.loads(hidden["metadata"] or "{}"),
    )


# --------------------------------------------------------------------------- chunks


@dataclass(frozen=True)
class Chunk:
    """One unit of generation: every sample of one category in one split."""

    dataset: str
    category: str
    split: Split
    count: int
    seed: int = 0

    @property
    def stem(self) -> str:
        return f"{self.split}-{self.dataset}.{self.category}"

    @property
    def data_path(self) -> str:
        return f"{DATA}/{self.stem}.parquet"

    @property
    def hidden_path(self) -> str:
        return f"{HIDDEN}/targets-{self.stem}.parquet"

    def stamp(self, settings: BuildSettings) -> str:
        text = json.dumps([settings.model_dump(exclude={"datasets"}), self.dataset, self.category, self.split, self.count])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_chunks(scale: Scale, *, datasets: Sequence[str] | None = None, seed: int = 0) -> list[Chunk]:
    """Every non-empty (dataset, category, split) of ``scale``, largest first (so two workers
    finish together: the longest jobs start first)."""
    from medagentgym.catalog.registry import all_datasets, get_dataset

    chosen = [get_dataset(n) for n in datasets] if datasets else all_datasets()
    chunks = []
    for dataset in chosen:
        for split in SPLITS:
            for category, count in category_counts(dataset, split, scale).items():
                if not (_SLUG.match(dataset.name) and _SLUG.match(category)):
                    raise CorpusError(f"{dataset.name}/{category}: not a name a corpus file can carry")
                if count:
                    chunks.append(Chunk(dataset.name, category, split, count, seed))
    return sorted(chunks, key=lambda c: (-c.count, c.stem))


class ChunkRecord(BaseModel):
    stamp: str
    files: list[CorpusFile]
    seconds: float = 0.0


def _write_table(rows: list[dict[str, Any]], schema: Any, target: Path) -> str:
    """Rows as one Parquet file, written atomically; returns its sha256."""
    import pyarrow.parquet as pq

    table = _arrow().Table.from_pylist(rows, schema=schema)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    digest = sha256_of(tmp)
    os.replace(tmp, target)
    return digest


def build_chunk(out: str, chunk: Chunk, stamp: str) -> ChunkRecord:
    """Generate one chunk and write its public and hidden files (runs in a worker process)."""
    from medagentgym.catalog.registry import get_dataset
    from medagentgym.paths import cache_dir

    started = time.perf_counter()
    dataset = get_dataset(chunk.dataset)
    root, cache = Path(out), cache_dir()
    public, hidden = [], []
    for index in range(chunk.count):
        sample = dataset.generate(chunk.category, chunk.split, index, chunk.seed)
        row, secret = sample_rows(sample, cache)
        public.append(row)
        hidden.append(secret)
    files = []
    for kind, path, rows, schema in (
        ("data", chunk.data_path, public, public_schema()),
        ("hidden", chunk.hidden_path, hidden, hidden_schema()),
    ):
        digest = _write_table(rows, schema, root / path)
        files.append(
            CorpusFile(
                path=path,
                kind=kind,  # type: ignore[arg-type]
                split=chunk.split,
                dataset=chunk.dataset,
                category=chunk.category,
                rows=len(rows),
                sha256=digest,
            )
        )
    record = ChunkRecord(stamp=stamp, files=files, seconds=time.perf_counter() - started)
    _write_json(root / BUILD / f"{chunk.stem}.json", record.model_dump())
    return record


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _recorded(out: Path, chunk: Chunk, stamp: str) -> ChunkRecord | None:
    """The record of a chunk already built with this stamp whose files are intact, or None."""
    path = out / BUILD / f"{chunk.stem}.json"
    try:
        record = ChunkRecord.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None
    if record.stamp != stamp:
        return None
    for file in record.files:
        target = out / file.path
        if not target.is_file() or sha256_of(target) != file.sha256:
            return None
    return record


def current_settings(scale: Scale, *, datasets: Sequence[str] | None = None, seed: int = 0) -> BuildSettings:
    from medagentgym.world import world_size, world_stamp

    return BuildSettings(
        scale=scale,
        seed=seed,
        datasets=sorted(datasets or []),
        world_patients=world_size(),
        world_stamp=world_stamp(),
    )


def _check_folder(out: Path, settings: BuildSettings) -> CorpusManifest | None:
    """The finished manifest when ``out`` already holds this corpus; CorpusError when it holds
    something else (another corpus, or files that are not a corpus); None to (re)build."""
    if out.exists() and not out.is_dir():
        raise CorpusError(f"{out}: exists and is not a folder")
    recorded = out / BUILD / "settings.json"
    if recorded.exists():
        try:
            before = BuildSettings.model_validate_json(recorded.read_bytes())
        except (ValidationError, ValueError):
            raise CorpusError(f"{recorded}: unreadable build settings; remove the folder or use another --out") from None
        if before != settings:
            raise CorpusError(f"{out}: a partial build with other settings ({_differences(before, settings)}); use another --out")
        return None
    if (out / MANIFEST).exists():
        manifest = verify_corpus(out)
        theirs = (manifest.scale, manifest.seed, manifest.world.get("patients"), manifest.generator.get("version"))
        ours = (settings.scale, settings.seed, settings.world_patients, settings.generator_version)
        if theirs != ours or manifest.world.get("stamp") != settings.world_stamp:
            raise CorpusError(
                f"{out}: holds corpus {manifest.corpus_version} (scale {manifest.scale}, seed {manifest.seed}, "
                f"world {manifest.world.get('patients')} patients, medagentgym {manifest.generator.get('version')}); "
                "use another --out"
            )
        built = sorted({f.dataset for f in manifest.files})
        wanted = settings.datasets or built
        if sorted(wanted) != built:
            raise CorpusError(f"{out}: holds corpus {manifest.corpus_version} of {', '.join(built)}; use another --out")
        return manifest
    if out.is_dir() and any(out.iterdir()):
        raise CorpusError(f"{out}: is not empty and holds no corpus; use an empty or new folder")
    return None


def _differences(before: BuildSettings, now: BuildSettings) -> str:
    old, new = before.model_dump(), now.model_dump()
    return "; ".join(f"{key}: {old[key]!r} -> {new[key]!r}" for key in old if old[key] != new.get(key))


def _refuse_inside_cache(out: Path) -> None:
    """A corpus holds every target and reference solution (``hidden/``): never inside the data
    cache, which sandbox sessions may read at some isolation levels (bubblewrap binds it whole)."""
    from medagentgym.paths import cache_dir

    cache = Path(os.path.realpath(cache_dir()))
    target = Path(os.path.realpath(out))
    if target == cache or cache in target.parents:
        raise CorpusError(
            f"{out}: inside the data cache ({cache}), which agent code in the sandbox may read; "
            "a corpus holds the hidden targets, so build it elsewhere (another --out)"
        )


def build_corpus(
    out: Path,
    *,
    scale: Scale = "full",
    datasets: Sequence[str] | None = None,
    seed: int = 0,
    workers: int = 2,
    log: Callable[[str], None] | None = None,
) -> CorpusManifest:
    """Generate the corpus of ``scale`` into ``out`` (resuming a partial build there) and return
    its manifest. The world is the one ``MEDAGENTGYM_WORLD_PATIENTS`` selects."""
    say = log or (lambda line: None)
    out = Path(out)
    _refuse_inside_cache(out)
    settings = current_settings(scale, datasets=datasets, seed=seed)
    finished = _check_folder(out, settings)
    if finished is not None:
        say(f"{out}: corpus {finished.corpus_version} is already built ({_total_line(finished.totals)})")
        return finished
    chunks = plan_chunks(scale, datasets=datasets, seed=seed)
    if not chunks:
        raise CorpusError(f"scale {scale} of {', '.join(datasets or ['the catalog'])} holds no samples")
    _write_json(out / BUILD / "settings.json", settings.model_dump())
    records: dict[str, ChunkRecord] = {}
    todo = []
    for chunk in chunks:
        record = _recorded(out, chunk, chunk.stamp(settings))
        if record is not None:
            records[chunk.stem] = record
        else:
            todo.append(chunk)
    total = sum(c.count for c in chunks)
    done = sum(c.count for c in chunks if c.stem in records)
    if records:
        say(f"resuming {out}: {len(records)} of {len(chunks)} chunks ({done} samples) already built")
    started = time.perf_counter()
    failed: list[str] = []
    for chunk, record in _run_chunks(out, todo, settings, workers):
        if isinstance(record, str):
            failed.append(f"{chunk.dataset}/{chunk.category} {chunk.split}: {record}")
            say(f"failed {failed[-1]}")
            continue
        records[chunk.stem] = record
        done += chunk.count
        elapsed = time.perf_counter() - started
        say(
            f"[{done}/{total}] {chunk.dataset}/{chunk.category} {chunk.split}: {chunk.count} samples "
            f"in {record.seconds:.1f}s ({chunk.count / max(record.seconds, 1e-9):.0f}/s); {elapsed:.0f}s elapsed"
        )
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise CorpusError(f"{len(failed)} chunk(s) failed, the others are kept for a rerun: {failed[0]}{more}")
    manifest = _finish(out, chunks, records, settings)
    say(f"wrote corpus {manifest.corpus_version} to {out} ({_total_line(manifest.totals)})")
    return manifest


def _chunk_or_error(out: str, chunk: Chunk, stamp: str) -> ChunkRecord | str:
    """``build_chunk``, with a generator's failure as its one-line message (the other chunks go on)."""
    try:
        return build_chunk(out, chunk, stamp)
    except Exception as exc:  # noqa: BLE001 - any generator failure is reported, not fatal to the build
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {first}"[:300]


def _run_chunks(
    out: Path, todo: list[Chunk], settings: BuildSettings, workers: int
) -> Iterable[tuple[Chunk, ChunkRecord | str]]:
    """Each chunk with its record (or its failure), as chunks finish; spawned worker processes
    (no inherited threads or open databases) when ``workers`` > 1."""
    if workers <= 1 or len(todo) <= 1:
        for chunk in todo:
            yield chunk, _chunk_or_error(str(out), chunk, chunk.stamp(settings))
        return
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=get_context("spawn")) as pool:
        pending: dict[Future[ChunkRecord | str], Chunk] = {
            pool.submit(_chunk_or_error, str(out), chunk, chunk.stamp(settings)): chunk for chunk in todo
        }
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    chunk = pending.pop(future)
                    try:
                        yield chunk, future.result()
                    except BrokenProcessPool:
                        raise CorpusError(
                            "a generation worker died (out of memory or killed); the chunks built so far are kept, rerun to go on"
                        ) from None
        finally:
            for future in pending:
                future.cancel()


def _total_line(totals: dict[str, int]) -> str:
    return ", ".join(f"{totals.get(s, 0)} {s}" for s in SPLITS)


def _finish(out: Path, chunks: list[Chunk], records: dict[str, ChunkRecord], settings: BuildSettings) -> CorpusManifest:
    files = sorted((f for c in chunks for f in records[c.stem].files), key=lambda f: f.path)
    counts: dict[str, dict[str, dict[str, int]]] = {s: {} for s in SPLITS}
    for file in files:
        if file.kind == "data":
            counts[file.split].setdefault(file.dataset, {})[file.category] = file.rows
    counts = {s: {d: dict(sorted(c.items())) for d, c in sorted(by.items())} for s, by in counts.items()}
    manifest = CorpusManifest(
        corpus_version=corpus_version(files),
        generator={"package": "medagentgym", "version": settings.generator_version},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        scale=settings.scale,
        seed=settings.seed,
        world={"patients": settings.world_patients, "stamp": settings.world_stamp},
        counts=counts,
        totals={s: sum(sum(c.values()) for c in counts[s].values()) for s in SPLITS},
        files=files,
    )
    (out / CARD).write_text(dataset_card(manifest), encoding="utf-8")
    _write_json(out / MANIFEST, manifest.model_dump())
    for leftover in (out / BUILD).iterdir():
        leftover.unlink()
    (out / BUILD).rmdir()
    return manifest


def dataset_card(manifest: CorpusManifest) -> str:
    """The README.md whose ``configs:`` make ``load_dataset(DIR)`` read the public splits and
    ``load_dataset(DIR, "hidden")`` the targets."""
    splits = [s for s in SPLITS if manifest.totals.get(s)]

    def config(name: str, pattern: str, default: bool) -> str:
        lines = [f"- config_name: {name}"] + (["  default: true"] if default else []) + ["  data_files:"]
        for split in splits:
            lines += [f"  - split: {split}", f"    path: {pattern.format(split=split)}"]
        return "\n".join(lines)

    rows = "\n".join(
        f"| {dataset} | {len(by)} | " + " | ".join(str(sum(manifest.counts[s].get(dataset, {}).values())) for s in SPLITS) + " |"
        for dataset, by in sorted({d: c for s in SPLITS for d, c in manifest.counts[s].items()}.items())
    )
    return f"""---
configs:
{config("default", DATA + "/{split}-*.parquet", True)}
{config("hidden", HIDDEN + "/targets-{split}-*.parquet", False)}
---
# MedAgentGym corpus {manifest.corpus_version}

Generated by medagentgym {manifest.generator.get("version")} at scale `{manifest.scale}` (seed {manifest.seed})
on a synthetic world of {manifest.world.get("patients")} patients (stamp {manifest.world.get("stamp")}):
{_total_line(manifest.totals)} samples. `manifest.json` holds the counts per dataset and category and
the sha256 of every file; `medagentgym` refuses a corpus whose files do not match it.

The default config holds what an agent may see (prompt, answer type, resources, number of
questions). The `hidden` config holds the targets, reference solutions, follow-up questions and
metadata, joined on `id`: keep it away from anything a model trains on.

| dataset | categories | {" | ".join(SPLITS)} |
|---|---|{"---|" * len(SPLITS)}
{rows}
"""


# --------------------------------------------------------------------------- reading


def read_manifest(root: Path) -> CorpusManifest:
    path = Path(root) / MANIFEST
    if not Path(root).is_dir():
        raise CorpusError(f"{root}: no such corpus folder")
    if not path.is_file():
        raise CorpusError(f"{root}: not a corpus (no {MANIFEST}; `medagentgym corpus build` writes one)")
    try:
        manifest = CorpusManifest.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorpusError(f"{path}: not a corpus manifest ({first})") from None
    if manifest.format_version != FORMAT_VERSION:
        raise CorpusError(f"{path}: corpus format {manifest.format_version}, this version reads {FORMAT_VERSION}")
    return manifest


def verify_corpus(root: Path) -> CorpusManifest:
    """The manifest, once every file matches it: CorpusError naming the first file that is
    changed, missing or not listed, or a manifest whose version does not match its files."""
    root = Path(root)
    manifest = read_manifest(root)
    listed = set()
    for file in manifest.files:
        relative = Path(file.path)
        if relative.is_absolute() or ".." in relative.parts or relative.parts[:1] not in ((DATA,), (HIDDEN,)):
            raise CorpusError(f"{root}: the manifest lists {file.path!r}, outside {DATA}/ and {HIDDEN}/")
        target = root / relative
        if not target.is_file():
            raise CorpusError(f"{root}: {file.path} is missing (tampered or incomplete corpus)")
        if sha256_of(target) != file.sha256:
            raise CorpusError(f"{root}: {file.path} does not match its checksum in {MANIFEST} (tampered corpus)")
        listed.add(relative.as_posix())
    for folder in (DATA, HIDDEN):
        for found in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else []:
            if found.is_file() and found.relative_to(root).as_posix() not in listed:
                raise CorpusError(f"{root}: {found.relative_to(root).as_posix()} is not in {MANIFEST} (tampered corpus)")
    if corpus_version(manifest.files) != manifest.corpus_version:
        raise CorpusError(f"{root}: {MANIFEST} names version {manifest.corpus_version}, its files make another (tampered)")
    return manifest


#: Verified corpora of this process: (resolved folder, manifest's mtime_ns and size) -> manifest.
_VERIFIED: dict[tuple[str, int, int], CorpusManifest] = {}


def checked_manifest(root: Path) -> CorpusManifest:
    """``verify_corpus`` once per process and folder state (hashing is the slow part of a load)."""
    root = Path(root)
    try:
        info = (root / MANIFEST).stat()
    except OSError:
        return verify_corpus(root)  # says what is wrong
    key = (str(root.resolve()), info.st_mtime_ns, info.st_size)
    if key not in _VERIFIED:
        _VERIFIED[key] = verify_corpus(root)
    return _VERIFIED[key]


def _files(
    manifest: CorpusManifest,
    splits: Iterable[str],
    kind: str,
    datasets: Iterable[str] | None,
    categories: Iterable[str] | None,
) -> list[CorpusFile]:
    wanted_splits, ds, cats = set(splits), set(datasets or ()), set(categories or ())
    known = {f.dataset for f in manifest.files}
    for name in ds - known:
        raise CorpusError(f"the corpus holds no dataset {name!r} (it holds: {', '.join(sorted(known))})")
    known_categories = {f.category for f in manifest.files if not ds or f.dataset in ds}
    for name in cats - known_categories:
        raise CorpusError(f"the corpus holds no category {name!r} in the selected datasets")
    return [
        f
        for f in manifest.files
        if f.kind == kind and f.split in wanted_splits and (not ds or f.dataset in ds) and (not cats or f.category in cats)
    ]


def _read_columns(path: Path, columns: list[str] | None = None) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, columns=columns).to_pylist()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds for a bad file
        raise CorpusError(f"{path}: unreadable Parquet ({type(exc).__name__})") from None


def corpus_ids(
    root: Path,
    splits: Iterable[str],
    *,
    datasets: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    limit_per_category: int | None = None,
) -> list[str]:
    """The sample ids ``load_corpus`` would return for these splits, in its order, read from the
    public files' id column only."""
    root = Path(root)
    manifest = checked_manifest(root)
    ids: list[str] = []
    for split in splits:
        for file in _files(manifest, [split], "data", datasets, categories):
            rows = _read_columns(root / file.path, ["id"])
            ids.extend(row["id"] for row in rows[:limit_per_category])
    return ids


def load_corpus(
    root: Path,
    split: str,
    *,
    datasets: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    limit_per_category: int | None = None,
    ids: Iterable[str] | None = None,
) -> list[Sample]:
    """The samples of one split of a built corpus (verified first), in the corpus's order.

    ``ids`` keeps only those samples (and reads only the files of their categories). Resource
    paths resolve against this machine's cache; a dataset whose data is missing there is built
    (its ``build`` is idempotent). A corpus built on another world size is refused: its
    databases are not the ones this process would mount.
    """
    from medagentgym.paths import cache_dir
    from medagentgym.world import SIZE_VARIABLE, world_size

    root = Path(root)
    manifest = checked_manifest(root)
    patients = manifest.world.get("patients")
    if patients is not None and patients != world_size():
        raise CorpusError(
            f"{root}: corpus {manifest.corpus_version} was built on a world of {patients} patients, "
            f"this process uses {world_size()} (set {SIZE_VARIABLE}={patients})"
        )
    wanted = set(ids) if ids is not None else None
    if wanted is not None:
        owners = {tuple(i.split("/")[:2]) for i in wanted}
        datasets = sorted({d for d, *_ in owners}) if datasets is None else datasets
    cache = cache_dir()
    hidden_of = {(f.dataset, f.category): f for f in _files(manifest, [split], "hidden", datasets, categories)}
    samples: list[Sample] = []
    for file in _files(manifest, [split], "data", datasets, categories):
        if wanted is not None and (file.dataset, file.category) not in owners:
            continue
        public = _read_columns(root / file.path)[:limit_per_category]
        if wanted is not None:
            public = [row for row in public if row["id"] in wanted]
        if not public:
            continue
        secret_file = hidden_of.get((file.dataset, file.category))
        if secret_file is None:
            raise CorpusError(f"{root}: {file.path} has no hidden targets file in {MANIFEST}")
        secrets = {row["id"]: row for row in _read_columns(root / secret_file.path)}
        for row in public:
            if row["id"] not in secrets:
                raise CorpusError(f"{root}: sample {row['id']!r} has no row in {secret_file.path}")
            try:
                samples.append(sample_of(row, secrets[row["id"]], cache))
            except (ValidationError, ValueError, TypeError, KeyError) as exc:
                if isinstance(exc, CorpusError):
                    raise
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise CorpusError(f"{root}: sample {row['id']!r} cannot be read ({first})") from None
    _ensure_resources(samples)
    return samples


def _ensure_resources(samples: Sequence[Sample]) -> None:
    """Build the data of each dataset one of whose cache resources is missing on this machine."""
    from medagentgym.catalog.registry import get_dataset

    missing: dict[str, bool] = defaultdict(bool)
    seen: set[str] = set()
    for sample in samples:
        for resource in sample.resources:
            if resource.path in seen or resource.kind == "fhir_store" and resource.path.startswith("http"):
                continue
            seen.add(resource.path)
            if not Path(resource.path).exists():
                missing[sample.dataset] = True
    for name in sorted(missing):
        get_dataset(name).build()
