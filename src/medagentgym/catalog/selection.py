"""Choosing which samples a run or a validation covers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

from pydantic import BaseModel, ValidationError

from medagentgym.catalog.dataset import iter_samples
from medagentgym.catalog.registry import get_dataset
from medagentgym.catalog.sample import SPLITS, Sample, Split
from medagentgym.untrusted import iter_jsonl


class Selection(BaseModel):
    """Generated samples by dataset/category/split/count/seed, or an imported samples file."""

    datasets: list[str] = []
    categories: list[str] = []
    splits: list[Split] = ["test"]
    limit_per_category: int | None = None
    seed: int = 0
    samples_file: str | None = None


class SamplesFileError(ValueError):
    pass


def read_samples_file(path: Path) -> list[Sample]:
    """Samples written by an importer (one JSON object per line). Bad lines are named, not skipped.

    Each line is decoded on its own (``untrusted.iter_jsonl``): invalid UTF-8, invalid JSON and
    nesting too deep are named with their line number like a line that is not a sample; a file
    that cannot be opened is a SamplesFileError too.
    """
    samples: list[Sample] = []
    problems: list[str] = []
    try:
        for line in iter_jsonl(Path(path)):
            if line.error is not None:
                problems.append(f"line {line.number}: {line.error}")
                continue
            try:
                samples.append(Sample.model_validate(line.value))
            except ValidationError as exc:
                problems.append(f"line {line.number}: {str(exc).splitlines()[0]}")
    except OSError as exc:
        raise SamplesFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if problems:
        shown = "; ".join(problems[:5])
        raise SamplesFileError(f"{path}: {len(problems)} unreadable sample line(s): {shown}")
    return samples


def select_samples(selection: Selection) -> Iterator[Sample]:
    if selection.samples_file:
        yield from read_samples_file(Path(selection.samples_file))
        return
    from medagentgym.catalog.registry import dataset_names

    names = selection.datasets or dataset_names()
    for name in names:
        dataset = get_dataset(name)
        known = {c.name for c in dataset.categories()}
        wanted: Sequence[str] | None = [c for c in selection.categories if c in known] or None
        if selection.categories and wanted is None:
            continue
        for split in selection.splits:
            if split not in SPLITS:
                raise ValueError(f"unknown split {split!r}")
            yield from iter_samples(
                dataset,
                categories=wanted,
                split=split,
                limit_per_category=selection.limit_per_category,
                seed=selection.seed,
            )


def find_sample(sample_id: str, samples_file: Path | None = None) -> Sample:
    """Regenerate a sample from its id (dataset/category/split/seed/index), or find it in a file."""
    if samples_file is not None:
        for sample in read_samples_file(samples_file):
            if sample.id == sample_id:
                return sample
        raise KeyError(f"no sample {sample_id!r} in {samples_file}")
    parts = sample_id.split("/")
    if len(parts) != 5:
        raise KeyError(f"{sample_id!r} is not a generated sample id (dataset/category/split/seed/index)")
    dataset, category, split, seed, index = parts
    if split not in SPLITS:
        raise KeyError(f"unknown split {split!r} in {sample_id!r}")
    if not (seed.isdigit() and index.isdigit()):
        raise KeyError(f"{sample_id!r}: seed and index must be non-negative integers")
    ds = get_dataset(dataset)
    if category not in {c.name for c in ds.categories()}:
        raise KeyError(f"dataset {dataset!r} has no category {category!r}")
    return ds.generate(category, split, int(index), int(seed))  # type: ignore[arg-type]


class SelectedSamples(Sequence[Sample]):
    """The samples of a Selection, generated on first use and then kept.

    Lets ``gymnasium.make(...)`` (and a server's env factory) return at once: the samples of a whole
    dataset are only generated when the first episode needs one.
    """

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self._samples: list[Sample] | None = None

    def _all(self) -> list[Sample]:
        if self._samples is None:
            self._samples = list(select_samples(self.selection))
            if not self._samples:
                raise ValueError(f"the selection has no samples: {self.selection.model_dump(exclude_defaults=True)}")
        return self._samples

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> Sample: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Sample]: ...
    def __getitem__(self, index: int | slice) -> Sample | Sequence[Sample]:
        return self._all()[index]


def checked_selection(
    dataset: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    split: str = "test",
    limit_per_category: int | None = None,
    seed: int = 0,
    samples_file: str | None = None,
) -> Selection:
    """A Selection from the arguments library users type, checked at the edge.

    An unknown split, an unknown dataset, or (for a single dataset) a category it does not have
    is a ``ValueError`` (``UnknownDatasetError`` is a ``KeyError``) naming what is accepted,
    instead of a selection that silently yields nothing. Used by ``gymnasium.make``, the server
    and every adapter that takes a selection.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")
    datasets = [dataset] if isinstance(dataset, str) else list(dataset or [])
    categories = [category] if isinstance(category, str) else list(category or [])
    if not samples_file:
        for name in datasets:
            known = {c.name for c in get_dataset(name).categories()}
            unknown = [c for c in categories if c not in known]
            if len(datasets) == 1 and unknown:
                raise ValueError(f"dataset {name!r} has no category {', '.join(map(repr, unknown))}")
    return Selection(
        datasets=datasets,
        categories=categories,
        splits=[split],  # type: ignore[list-item]
        limit_per_category=limit_per_category,
        seed=seed,
        samples_file=samples_file,
    )
