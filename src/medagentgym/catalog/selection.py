"""Choosing which samples a run or a validation covers.

Names typed by people (splits, datasets, categories, sample ids, samples files) are checked here,
at the edge: an unknown one is one line saying what was given, where, and what is accepted (with
the closest known name for a typo), never a selection that silently yields nothing or a sample
generated far beyond the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

from pydantic import BaseModel, ValidationError

from medagentgym.catalog.dataset import SCALES, Category, Dataset, Scale, category_counts, iter_samples
from medagentgym.catalog.registry import close_names, did_you_mean, get_dataset
from medagentgym.catalog.sample import SPLITS, Sample, Split, make_sample_id
from medagentgym.untrusted import iter_jsonl


class Selection(BaseModel):
    """Generated samples by dataset/category/split/count/seed, a built corpus, or an imported
    samples file.

    ``scale`` says how many samples each category has (``catalog.dataset.Scale``: the default
    catalog, the paper's full split, or its leaderboard subset). ``corpus`` is a folder written by
    ``medagentgym corpus build``: the samples are read from it (checked against its manifest)
    instead of generated, so a run cites the corpus's version; the corpus's own scale applies and
    ``datasets``/``categories``/``splits``/``limit_per_category`` filter it.
    """

    datasets: list[str] = []
    categories: list[str] = []
    splits: list[Split] = ["test"]
    limit_per_category: int | None = None
    seed: int = 0
    samples_file: str | None = None
    scale: Scale = "default"
    corpus: str | None = None


class SamplesFileError(ValueError):
    pass


class SampleIdError(KeyError):
    """A sample id that names no sample of the catalog; the message says which part is wrong."""

    def __str__(self) -> str:  # KeyError quotes its message; this reads better in the CLI
        return str(self.args[0])


def check_split(split: str, where: str = "split") -> None:
    """ValueError unless ``split`` is one of SPLITS (the message names ``where`` it came from)."""
    if split not in SPLITS:
        raise ValueError(f"{where} {split!r}: unknown split (accepted: {', '.join(SPLITS)})")


#: Known names listed when an unknown one has no close match (the rest are counted).
MAX_NAMES_SHOWN = 8


def unknown_category(name: str, dataset: str, known: Sequence[str]) -> str:
    """The one-line message for a category ``dataset`` does not have, with a guess for a typo."""
    hint = did_you_mean(name, known)
    if hint:
        return f"unknown category {name!r} in {dataset}{hint}"
    shown = ", ".join(known[:MAX_NAMES_SHOWN])
    more = f" and {len(known) - MAX_NAMES_SHOWN} more" if len(known) > MAX_NAMES_SHOWN else ""
    return f"unknown category {name!r} in {dataset} (known: {shown}{more})"


def _category(dataset: Dataset, name: str) -> Category:
    for category in dataset.categories():
        if category.name == name:
            return category
    raise SampleIdError(unknown_category(name, dataset.name, [c.name for c in dataset.categories()]))


def _check_categories(names: Sequence[str], datasets: Sequence[Dataset], *, every: bool = False) -> None:
    """ValueError for a category that none of ``datasets`` has: a typo would select nothing.

    ``every``: the datasets are all there are (none was named)."""
    owner = {c.name: ds.name for ds in datasets for c in ds.categories()}
    for name in names:
        if name in owner:
            continue
        if len(datasets) == 1:
            raise ValueError(unknown_category(name, datasets[0].name, list(owner)))
        close = close_names(name, owner)
        hint = f"; did you mean {' or '.join(f'{c!r} ({owner[c]})' for c in close)}?" if close else ""
        where = "no dataset has it" if every else "none of the selected datasets has it"
        raise ValueError(f"unknown category {name!r}: {where}{hint}")


def read_samples_file(path: Path) -> list[Sample]:
    """Samples written by an importer (one JSON object per line). Bad lines are named, not skipped.

    Each line is decoded on its own (``untrusted.iter_jsonl``): invalid UTF-8, invalid JSON and
    nesting too deep are named with their line number like a line that is not a sample; a file
    that cannot be opened is a SamplesFileError too.
    """
    path = Path(path)
    if path.is_dir():
        raise SamplesFileError(f"{path}: is a directory, not a samples file (JSONL, one sample per line)")
    if not path.exists():
        raise SamplesFileError(f"{path}: no such samples file (JSONL, as `medagentgym import` writes)")
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
    if not samples:
        raise SamplesFileError(f"{path}: holds no samples (expected one JSON sample per line, as `medagentgym import` writes)")
    return samples


def _wanted(selection: Selection) -> Iterator[tuple[Dataset, Sequence[str] | None]]:
    """Each selected dataset (checked) with the selected categories it has (None: all of them)."""
    from medagentgym.catalog.registry import dataset_names

    for split in selection.splits:
        check_split(split)
    datasets = [get_dataset(name) for name in selection.datasets or dataset_names()]
    _check_categories(selection.categories, datasets, every=not selection.datasets)
    for dataset in datasets:
        known = {c.name for c in dataset.categories()}
        wanted: Sequence[str] | None = [c for c in selection.categories if c in known] or None
        if selection.categories and wanted is None:
            continue
        yield dataset, wanted


def _from_corpus(selection: Selection) -> Iterator[Sample]:
    from medagentgym.catalog.corpus import load_corpus

    for split in selection.splits:
        check_split(split)
        yield from load_corpus(
            Path(selection.corpus or ""),
            split,
            datasets=selection.datasets or None,
            categories=selection.categories or None,
            limit_per_category=selection.limit_per_category,
        )


def select_samples(selection: Selection) -> Iterator[Sample]:
    if selection.samples_file:
        yield from read_samples_file(Path(selection.samples_file))
        return
    if selection.corpus:
        yield from _from_corpus(selection)
        return
    for dataset, wanted in _wanted(selection):
        for split in selection.splits:
            yield from iter_samples(
                dataset,
                categories=wanted,
                split=split,
                limit_per_category=selection.limit_per_category,
                seed=selection.seed,
                scale=selection.scale,
            )


def selected_ids(selection: Selection) -> list[str]:
    """The ids ``select_samples`` yields, in the same order, without generating a sample (read
    from the corpus or the samples file when the selection has one): what a resumable validation
    plans and checks off before any worker generates anything."""
    if selection.samples_file or selection.corpus:
        if selection.corpus and not selection.samples_file:
            from medagentgym.catalog.corpus import corpus_ids

            return corpus_ids(
                Path(selection.corpus),
                selection.splits,
                datasets=selection.datasets or None,
                categories=selection.categories or None,
                limit_per_category=selection.limit_per_category,
            )
        return [sample.id for sample in select_samples(selection)]
    ids: list[str] = []
    for dataset, wanted in _wanted(selection):
        for split in selection.splits:
            for name, n in category_counts(dataset, split, selection.scale).items():
                if wanted is not None and name not in wanted:
                    continue
                if selection.limit_per_category is not None:
                    n = min(n, selection.limit_per_category)
                ids.extend(make_sample_id(dataset.name, name, split, index, selection.seed) for index in range(n))
    return ids


#: Digits of a seed or index in a sample id: more is never a real sample (and would make
#: ``int()`` slow or refuse the string).
MAX_ID_DIGITS = 18


def _id_number(text: str, what: str, sample_id: str) -> int:
    """A seed or index of a sample id: plain ASCII digits as ``make_sample_id`` writes them."""
    canonical = text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS and str(int(text)) == text
    if not canonical:
        raise SampleIdError(f"{sample_id!r}: {what} {text!r} is not a non-negative integer (digits, no leading zeros)")
    return int(text)


def find_sample(sample_id: str, samples_file: Path | None = None) -> Sample:
    """Regenerate a sample from its id (dataset/category/split/seed/index), or find it in a file.

    Every part is checked before anything is generated: an index beyond the category's count is
    refused (generators would otherwise draw a sample the catalog never holds, slowly), so a
    ``SampleIdError`` (a ``KeyError``) names the part that is wrong and what is accepted.
    """
    if samples_file is not None:
        for sample in read_samples_file(samples_file):
            if sample.id == sample_id:
                return sample
        raise SampleIdError(f"no sample {sample_id!r} in {samples_file}")
    parts = sample_id.split("/")
    if len(parts) != 5 or not all(parts):
        raise SampleIdError(f"{sample_id!r} is not a generated sample id (dataset/category/split/seed/index)")
    dataset, category, split, seed_text, index_text = parts
    if split not in SPLITS:
        raise SampleIdError(f"{sample_id!r}: unknown split {split!r} (accepted: {', '.join(SPLITS)})")
    seed = _id_number(seed_text, "seed", sample_id)
    index = _id_number(index_text, "index", sample_id)
    ds = get_dataset(dataset)
    found = _category(ds, category)
    count = max(found.count(split), found.count(split, full=True))  # type: ignore[arg-type]
    if index >= count:
        where = f"{dataset}/{category}/{split}"
        accepted = f"0..{count - 1}" if count else "it holds no samples"
        raise SampleIdError(f"index {index} is out of range for {where} ({accepted})")
    return ds.generate(category, split, index, seed)  # type: ignore[arg-type]


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
    scale: str = "default",
) -> Selection:
    """A Selection from the arguments library users type, checked at the edge.

    An unknown split, an unknown dataset, or (for a single dataset) a category it does not have
    is a ``ValueError`` (``UnknownDatasetError`` is a ``KeyError``) naming what is accepted,
    instead of a selection that silently yields nothing. Used by ``gymnasium.make``, the server
    and every adapter that takes a selection.
    """
    check_split(split)
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r}: unknown scale (accepted: {', '.join(SCALES)})")
    datasets = [dataset] if isinstance(dataset, str) else list(dataset or [])
    categories = [category] if isinstance(category, str) else list(category or [])
    if not samples_file:
        found = [get_dataset(name) for name in datasets]
        if len(found) == 1:
            _check_categories(categories, found)
    return Selection(
        datasets=datasets,
        categories=categories,
        splits=[split],  # type: ignore[list-item]
        limit_per_category=limit_per_category,
        seed=seed,
        samples_file=samples_file,
        scale=scale,  # type: ignore[arg-type]
    )
