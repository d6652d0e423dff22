"""Each task's pool of labelled examples with their features, built once into the cache, and the
patient groups that keep test labels hidden.

Patients are split by a stable hash of their id into three groups:

- ``visible`` (40%): the training examples of every cohort (their labels are in the files);
- ``train`` (30%): the test examples of catalog-train samples and of the calibration cohorts;
- ``test`` (30%): the test examples of catalog-test samples.

So a test label is never a training label, a train-split sample never shares a test example (or
patient) with a test-split sample, and the bar is calibrated without looking at test samples.

A pool keeps at most ``PER_PATIENT_CLASS`` examples per patient and class (chosen by a stable
hash): a cohort takes one example per patient anyway, and fewer examples keep the build fast.
The pool file (labels, oracle risks, features) lives in the cache and is never a resource.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets.ehrshot.examples import Example, TaskSpec
from medagentgym.datasets.ehrshot.record import Record
from medagentgym.datasets.ehrshot.tasks import DATASET_NAME, family_module
from medagentgym.paths import dataset_cache_dir
from medagentgym.world import build_world, world_path, world_stamp

BUILD_VERSION = 1
PER_PATIENT_CLASS = 2
GROUPS = ("visible", "train", "test")
_SOURCES = (
    "examples.py", "record.py", "pool.py", "cohorts.py", "generate.py", "tasks.py", "categories.toml",
    "families_operational.py", "families_lab.py", "families_diagnosis.py", "families_imaging.py",
)


def group_of(subject_id: int) -> str:
    bucket = stable_hash("ehrshot-group", subject_id) % 10
    return "visible" if bucket < 4 else ("train" if bucket < 7 else "test")


@cache
def _sources_digest() -> bytes:
    digest = hashlib.blake2b(digest_size=8)
    package = resources.files(__package__)
    for name in _SOURCES:
        item = package.joinpath(name)
        digest.update(name.encode() + (item.read_bytes() if item.is_file() else b"<missing>"))
    return digest.digest()


def build_stamp() -> str:
    """A fingerprint of the world (its seed and size) and of every source file the pools depend on."""
    digest = hashlib.blake2b(_sources_digest(), digest_size=6)
    digest.update(f"{BUILD_VERSION}:{world_stamp()}".encode())
    return digest.hexdigest()


def build_dir() -> Path:
    return dataset_cache_dir(DATASET_NAME) / build_stamp()


def hidden_dir() -> Path:
    """Pools and calibration: labels and oracle risks, never a resource."""
    return build_dir() / "hidden"


def open_world() -> sqlite3.Connection:
    build_world()
    return sqlite3.connect(f"file:{world_path()}?mode=ro", uri=True)


@dataclass
class Pool:
    """A task's examples (arrays aligned by row)."""

    ids: np.ndarray  # str
    subjects: np.ndarray  # int
    times: np.ndarray  # str, the prediction time
    labels: np.ndarray  # (n,) class index or 0/1; (n, L) for multilabel
    risks: np.ndarray  # (n, n_columns)
    features: np.ndarray  # (n, EMBED_DIM)
    groups: np.ndarray  # str

    def label_list(self, rows: np.ndarray, kind: str) -> list:
        if kind == "multilabel":
            return [tuple(int(x) for x in self.labels[i]) for i in rows]
        return [int(self.labels[i]) for i in rows]


def _class_key(example: Example) -> str:
    return str(example.label)


def reduce_examples(examples: list[Example]) -> list[Example]:
    """At most ``PER_PATIENT_CLASS`` examples per (patient, label), by a stable hash."""
    by_key: dict[tuple[int, str], list[Example]] = {}
    for ex in examples:
        by_key.setdefault((ex.subject_id, _class_key(ex)), []).append(ex)
    kept: list[Example] = []
    for group in by_key.values():
        group.sort(key=lambda e: stable_hash("ehrshot-pool", e.example_id))
        kept.extend(group[:PER_PATIENT_CLASS])
    kept.sort(key=lambda e: (e.subject_id, e.prediction_time, e.example_id))
    return kept


def make_pool(examples: list[Example], task: TaskSpec, record: Record) -> Pool:
    if len({e.example_id for e in examples}) != len(examples):
        raise ValueError(f"{task.name}: example ids are not unique")
    n_columns = len(task.columns)
    risks = np.asarray([e.risk if isinstance(e.risk, tuple) else (e.risk,) for e in examples], dtype=float)
    if task.kind == "multilabel":
        labels = np.asarray([list(e.label) for e in examples], dtype=int).reshape(len(examples), n_columns)
    else:
        labels = np.asarray([e.label for e in examples], dtype=int)
    return Pool(
        ids=np.asarray([e.example_id for e in examples], dtype=str),
        subjects=np.asarray([e.subject_id for e in examples], dtype=np.int64),
        times=np.asarray([e.prediction_time for e in examples], dtype=str),
        labels=labels,
        risks=risks.reshape(len(examples), n_columns),
        features=record.embeddings([(e.subject_id, e.prediction_time) for e in examples]),
        groups=np.asarray([group_of(e.subject_id) for e in examples], dtype=str),
    )


def _save(path: Path, pool: Pool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **{k: getattr(pool, k) for k in Pool.__dataclass_fields__})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pool_path(task: str) -> Path:
    return hidden_dir() / f"pool-{task}.npz"


def build_pools(tasks: list[TaskSpec], *, force: bool = False) -> dict[str, dict]:
    """Label and embed every task's examples (missing or stale pools only); a summary per task."""
    todo = [t for t in tasks if force or not pool_path(t.name).exists()]
    summary: dict[str, dict] = {}
    if todo:
        record = shared_record()
        with closing(open_world()) as con:
            for task in todo:
                examples = family_module(task.family).examples(con, task)
                reduced = reduce_examples(examples)
                _save(pool_path(task.name), make_pool(reduced, task, record))
                summary[task.name] = {"examples": len(examples), "pooled": len(reduced)}
        summary_path = hidden_dir() / "pools.json"
        previous = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        summary_path.write_text(json.dumps({**previous, **summary}, indent=1))
    return summary


_POOLS: dict[tuple[str, str], Pool] = {}


def load_pool(task: str) -> Pool:
    key = (build_stamp(), task)
    if key not in _POOLS:
        with np.load(pool_path(task)) as data:
            _POOLS[key] = Pool(**{k: data[k] for k in Pool.__dataclass_fields__})
    return _POOLS[key]


_RECORD: dict[str, Record] = {}


def shared_record() -> Record:
    """The world's record, loaded once per process (cohort files need raw events)."""
    key = build_stamp()
    if key not in _RECORD:
        with closing(open_world()) as con:
            _RECORD[key] = Record(con)
    return _RECORD[key]
