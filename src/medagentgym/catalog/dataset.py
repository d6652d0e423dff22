"""The Dataset protocol, its Category rows, and what an import of official task rows reports.

A dataset owns its data build, its categories (data, not classes), its sample generator and its
importer for the original task files. The registry (``registry.py``) finds datasets without any
if/elif over names.

The checks every import shares live here too (``RowShape``, ``survey_rows``, ``check_task_file``,
``split_named_by``): a task file is third-party input, and a file of another dataset's rows, an
empty file or a file that is not JSONL must be refused with one line before any importer runs,
never turned into an empty output that looks like a successful import.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from medagentgym.catalog.sample import SPLITS, AnswerType, Sample, Split
from medagentgym.untrusted import (
    MAX_FILE_JSON_DEPTH,
    UntrustedJSONError,
    clean_json,
    iter_jsonl,
    loads_bounded,
)


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
    """What an importer did with an official task file.

    Importers fill the counts, ``skipped_by_reason`` (a short reason -> rows skipped for it, so
    the command can name the top reasons whatever the dataset), their own ``details`` and
    ``messages``. The import command adds where the samples went (``output``) and which split it
    asked for and why (``split``, ``split_reason``): the summary must say both.
    """

    dataset: str
    source: str
    rows_read: int
    samples_written: int
    rows_skipped: int = 0
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    output: str = ""
    split: str | None = None
    split_reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    messages: list[str] = Field(default_factory=list)

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` commonest reasons rows were skipped, commonest first (ties by name)."""
        ranked = sorted(self.skipped_by_reason.items(), key=lambda item: (-item[1], item[0]))
        return [(reason, count) for reason, count in ranked if count > 0][:n]


@runtime_checkable
class Dataset(Protocol):
    """What every dataset package exposes as its module-level ``DATASET`` object."""

    name: str
    title: str
    # Optional attribute ``family`` ("ehr_database", "clinical_calculation", ...) selects the
    # episode's system prompt; datasets without one get the general prompt.
    # Optional attribute ``row_shape`` (a ``RowShape``) describes the official task rows, so the
    # import command refuses another dataset's file and names the dataset it looks like.

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


#: How many samples a selection takes of each category: the default catalog (``Category.counts``),
#: the paper's full split (``Category.full_counts``) or the leaderboard subset of it
#: (``catalog/leaderboard.py``: a prefix of the full split in each category).
Scale = Literal["default", "full", "leaderboard"]
SCALES: tuple[Scale, ...] = ("default", "full", "leaderboard")


def category_counts(dataset: Dataset, split: Split, scale: Scale = "default") -> dict[str, int]:
    """Samples of each category of ``dataset`` in ``split`` at ``scale``, in category order."""
    categories = dataset.categories()
    if scale == "default":
        return {c.name: c.count(split) for c in categories}
    full = {c.name: c.count(split, full=True) for c in categories}
    if scale == "full":
        return full
    if scale == "leaderboard":
        from medagentgym.catalog.leaderboard import category_shares

        return category_shares(dataset.name, split, full)
    raise ValueError(f"unknown scale {scale!r} (accepted: {', '.join(SCALES)})")


def iter_samples(
    dataset: Dataset,
    *,
    categories: Iterable[str] | None = None,
    split: Split = "test",
    limit_per_category: int | None = None,
    seed: int = 0,
    scale: Scale = "default",
) -> Iterator[Sample]:
    """Every sample of a dataset (or some categories) at ``scale``, in a stable order."""
    wanted = set(categories) if categories is not None else None
    for name, n in category_counts(dataset, split, scale).items():
        if wanted is not None and name not in wanted:
            continue
        if limit_per_category is not None:
            n = min(n, limit_per_category)
        for index in range(n):
            yield dataset.generate(name, split, index, seed)


# --------------------------------------------------------------------------- import checks


class RowShape(BaseModel):
    """What one official task row of a dataset looks like.

    The import command reads a file's rows once before the importer runs, so that a file of
    another dataset's rows (or of nobody's) is refused with one line instead of producing an
    empty output. ``fields``: the fields the importer needs in every row (rows without them are
    skipped). ``tags``: field values that mark a row as this dataset's (the EHRSQL files name
    their database in ``db_id``); a row marked as another dataset's is not this dataset's row.
    ``split_field``: the importer files each row under its own ``split`` field when no split is
    asked for. ``documents``: the importer also reads one whole-file JSON list (or
    ``{"data": [...]}``), not only JSONL.
    """

    model_config = ConfigDict(frozen=True)

    fields: tuple[str, ...]
    tags: dict[str, str] = Field(default_factory=dict)
    split_field: bool = False
    documents: bool = False

    def fits(self, row: object) -> bool:
        """Whether ``row`` has every field this dataset's rows need."""
        return isinstance(row, dict) and all(name in row for name in self.fields)

    def marks(self, row: object) -> bool:
        """Whether ``row`` carries every tag value of this dataset (False without tags)."""
        return bool(self.tags) and isinstance(row, dict) and all(row.get(k) == v for k, v in self.tags.items())


class ImportFileError(ValueError):
    """A task file none of whose rows can become samples; the message is the one line to show."""


#: Distinct field names a survey keeps count of: a hostile row with a million keys must not
#: make the survey (or its message) large.
_MAX_FIELDS_COUNTED = 256
#: Field names quoted in a message.
_FIELDS_SHOWN = 8


@dataclass
class RowSurvey:
    """What a task file holds, read once without converting anything.

    ``rows``: items read (non-blank lines, or the items of a JSON document); ``objects``: those
    that are JSON objects; ``unreadable``: lines that are not JSON (``first_error`` names the
    first); ``fitting``: objects that look like the dataset's rows; ``fields`` and ``splits``:
    how often each field name and each ``split`` value occurs; ``looks_like``: the other datasets
    whose rows these resemble (best first); ``document``: the file was one JSON document.
    """

    rows: int = 0
    objects: int = 0
    unreadable: int = 0
    first_error: str | None = None
    fitting: int = 0
    fields: Counter[str] = field(default_factory=Counter)
    splits: Counter[str] = field(default_factory=Counter)
    looks_like: list[str] = field(default_factory=list)
    document: bool = False


def split_named_by(source: Path) -> Split | None:
    """The split a task file's name states (``train_tasks.jsonl`` -> train, ``test_*.jsonl`` ->
    test), or None when it names neither or both."""
    words = set(re.split(r"[^a-z]+", Path(source).name.lower()))
    named = [split for split in SPLITS if split in words]
    return named[0] if len(named) == 1 else None


def json_document_rows(source: Path, whole: bytes) -> list[object] | None:
    """The rows of a task file written as one JSON document (a list, ``{"data": [...]}``, or one
    object on a single line), or None when ``whole`` (the file's stripped bytes) is JSONL.

    A document that cannot be read raises :class:`ImportFileError` naming the file: one bad
    document has no other rows to fall back on, unlike one bad JSONL line.
    """
    if not (whole.startswith(b"[") or (whole.startswith(b"{") and b"\n" not in whole)):
        return None
    try:
        value = clean_json(loads_bounded(whole.decode("utf-8"), max_depth=MAX_FILE_JSON_DEPTH))
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{source}: not valid UTF-8 (byte {exc.start + 1})") from None
    except UntrustedJSONError as exc:
        raise ImportFileError(f"{source}: {exc}") from None
    items = value.get("data", [value]) if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ImportFileError(f"{source}: 'data' is not a list of task rows")
    return items


def _items(source: Path, documents: bool, survey: RowSurvey) -> Iterator[object]:
    """The file's rows: JSONL lines, or (``documents``) the items of a JSON list document."""
    if documents:
        with Path(source).open("rb") as handle:
            head = handle.read(1 << 16).lstrip()
        whole = Path(source).read_bytes().strip() if head[:1] in (b"[", b"{") else b""
        items = json_document_rows(source, whole)
        if items is not None:
            survey.document = True
            yield from items
            return
    for line in iter_jsonl(source):
        if line.error is not None:
            survey.rows += 1
            survey.unreadable += 1
            survey.first_error = survey.first_error or f"line {line.number}: {line.error}"
            continue
        yield line.value


def survey_rows(
    source: Path, dataset: str, shape: RowShape | None, others: Mapping[str, RowShape] | None = None
) -> RowSurvey:
    """Read ``source`` once and count what its rows look like (see :class:`RowSurvey`).

    ``shape`` is the dataset's (None: every object fits); ``others`` the other datasets' shapes,
    to say whose rows these are when they are not ``dataset``'s. OSError (missing, unreadable)
    propagates; a whole-file document that cannot be parsed is an :class:`ImportFileError`.
    """
    survey = RowSurvey()
    others = {name: other for name, other in (others or {}).items() if name != dataset and other.fields}
    fits: Counter[str] = Counter()
    marked: Counter[str] = Counter()
    for row in _items(source, shape is not None and shape.documents, survey):
        survey.rows += 1
        if not isinstance(row, dict):
            continue
        survey.objects += 1
        for name in row:
            if name in survey.fields or len(survey.fields) < _MAX_FIELDS_COUNTED:
                survey.fields[str(name)] += 1
        split = row.get("split")
        if isinstance(split, str):
            survey.splits[split[:20]] += 1
        claimed = [name for name, other in others.items() if other.marks(row)]
        if shape is None or (shape.fits(row) and not claimed):
            survey.fitting += 1
        for name, other in others.items():
            fits[name] += other.fits(row)
        marked.update(claimed)
    half = survey.objects / 2
    strong = sorted((n for n, c in marked.items() if c and c >= half), key=lambda n: (-marked[n], n))
    weak = sorted((n for n, c in fits.items() if c and c >= half), key=lambda n: (-fits[n], n))
    survey.looks_like = strong or weak
    return survey


def _names(names: Iterable[str]) -> str:
    shown = list(names)
    more = len(shown) - _FIELDS_SHOWN
    text = ", ".join(repr(n)[1:-1][:40] for n in shown[:_FIELDS_SHOWN])
    return text + (f" and {more} more" if more > 0 else "") if text else "none"


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def check_task_file(
    source: Path, dataset: str, shape: RowShape | None, others: Mapping[str, RowShape] | None = None
) -> RowSurvey:
    """The survey of ``source``, or an :class:`ImportFileError` with one line saying why none of
    its rows can be ``dataset``'s: the file is empty, holds no JSON object, or none of its rows has
    the fields the dataset needs (or every such row is marked as another dataset's). When the rows
    look like another dataset's, the line says which."""
    survey = survey_rows(source, dataset, shape, others)
    fields = f"fields: {_names(shape.fields)}" if shape is not None else f"{dataset} task rows"
    if survey.rows == 0:
        raise ImportFileError(f"{source}: no rows (the file is empty); expected JSONL rows with {fields}")
    if survey.objects == 0:
        why = f"; {survey.first_error}" if survey.first_error else ""
        raise ImportFileError(
            f"{source}: not a JSONL task file (0 of {survey.rows} rows is a JSON object{why}); "
            f"expected JSONL rows with {fields}"
        )
    if survey.fitting == 0:
        found = _names(name for name, _ in survey.fields.most_common())
        hint = f"; these look like {_or(survey.looks_like)} rows" if survey.looks_like else ""
        raise ImportFileError(
            f"{source}: 0 of {survey.rows} rows look like {dataset} rows (expected {fields}; found: {found}){hint}"
        )
    return survey


def no_samples_message(report: ImportReport) -> str:
    """The one line for an import that read rows but wrote no sample (every row was skipped)."""
    reasons = ", ".join(f"{reason} ({count})" for reason, count in report.top_reasons())
    first = next((m for m in report.messages if m.strip()), "")
    why = reasons or first.splitlines()[0][:200] if (reasons or first) else "no reason was recorded"
    return (
        f"{report.source}: 0 of {report.rows_read} rows became {report.dataset} samples "
        f"(every row was skipped: {why}); nothing was written"
    )
