"""The Dataset protocol and its Category rows.

A dataset owns its data build, its categories (data, not classes), its sample generator and its
importer for the original task files. The registry (``registry.py``) finds datasets without any
if/elif over names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from medagentgym.catalog.sample import AnswerType, Sample, Split


class Category(BaseModel):
    """A task type inside a dataset, described as data (a row of the dataset's category table)."""

    model_config = ConfigDict(frozen=True)

    name: str  # slug, unique inside the dataset, used in sample ids
    dataset: str
    title: str
    answer_type: AnswerType
    counts: dict[str, int] = Field(default_factory=lambda: {"train": 0, "test": 0})
    # The instance counts of the original benchmark's full split, where a dataset can generate
    # them (the default catalog uses ``counts``); empty when not declared.
    full_counts: dict[str, int] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)

    def count(self, split: Split, *, full: bool = False) -> int:
        """Samples of ``split`` in the default catalog, or at the full scale with ``full``."""
        if full and self.full_counts:
            return int(self.full_counts.get(split, 0))
        return int(self.counts.get(split, 0))


class ImportReport(BaseModel):
    """What an importer did with an official task file."""

    dataset: str
    source: str
    rows_read: int
    samples_written: int
    rows_skipped: int = 0
    details: dict[str, Any] = Field(default_factory=dict)
    messages: list[str] = Field(default_factory=list)


@runtime_checkable
class Dataset(Protocol):
    """What every dataset package exposes as its module-level ``DATASET`` object."""

    name: str
    title: str
    # Optional attribute ``family`` ("ehr_database", "clinical_calculation", ...) selects the
    # episode's system prompt; datasets without one get the general prompt.

    def categories(self) -> list[Category]:
        """All categories, loaded from the dataset's category table."""
        ...

    def build(self, *, force: bool = False) -> None:
        """Build the dataset's data (databases, files) into the user cache. Idempotent."""
        ...

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        """The sample at (category, split, index, seed); deterministic."""
        ...

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """Turn an official task file into samples written as JSONL to ``output``."""
        ...


def iter_samples(
    dataset: Dataset,
    *,
    categories: Iterable[str] | None = None,
    split: Split = "test",
    limit_per_category: int | None = None,
    seed: int = 0,
) -> Iterator[Sample]:
    """Every sample of a dataset (or some categories), in a stable order."""
    wanted = set(categories) if categories is not None else None
    for category in dataset.categories():
        if wanted is not None and category.name not in wanted:
            continue
        n = category.count(split)
        if limit_per_category is not None:
            n = min(n, limit_per_category)
        for index in range(n):
            yield dataset.generate(category.name, split, index, seed)
