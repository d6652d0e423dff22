"""The shared vocabulary of EHRSHOT label families.

Each family module (operational, lab, new diagnosis, imaging) turns the synthetic
world into labelled examples of one task; the package core turns examples into
k-shot cohorts, features and targets.  Keeping this contract in one small module
lets family modules be written and tested independently of the core.

A family module exposes::

    examples(con: sqlite3.Connection, task: TaskSpec) -> list[Example]

where ``con`` is a read-only connection to the world (``latent``/``outcomes``
readable); it must be deterministic and is called once per task at build time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """One labelled prediction example of a task."""

    example_id: str  # unique inside the task, e.g. f"{hadm_id}" or f"{subject_id}-{n}"
    subject_id: int
    hadm_id: int | None
    prediction_time: str  # "YYYY-MM-DD HH:MM:SS"; features use only the record strictly before it
    label: int | tuple[int, ...]  # binary 0/1; multiclass class index; multilabel 0/1 per label
    risk: float | tuple[float, ...]  # oracle score(s): latent probability; tuple per column for multiclass/multilabel


@dataclass(frozen=True)
class TaskSpec:
    """A task as declared in ``categories.toml``."""

    name: str  # the official task name, e.g. "guo_los", "lab_anemia", "new_lupus", "chexpert"
    family: str  # "operational" | "lab" | "new_diagnosis" | "imaging"
    kind: str  # "binary" | "multiclass" | "multilabel"
    columns: tuple[str, ...]  # ("score",) | class names | label names
    params: dict  # from categories.toml
