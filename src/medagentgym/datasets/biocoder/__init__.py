"""biocoder: bioinformatics functions to write, graded by hidden tests.

``DATASET`` generates function-writing tasks over eight families (``categories.toml``): sequence
strings, alignment and distances, file formats, genomic intervals, tabular data and clustering,
numeric arrays, statistics and image processing. Each family module holds templates
(``spec.FunctionTemplate``) that draw a function's conventions, its specification, the project's
own reference implementation and hidden cases with edge cases; the agent submits the function's
source, which runs against the cases in a fresh sandbox session (``AnswerType.CODE_TESTS``,
function mode). Templates belong to one split, so a function asked in test is never trained on.

``import_file`` turns the official BioCoder task file into samples (``importer.py``), with gold
output computed in the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import Sample, Split
from medagentgym.datasets.biocoder.categories import (
    DATASET_NAME,
    present_specs,
    spec_by_name,
)
from medagentgym.datasets.biocoder.generate import generate_sample

#: An official BioCoder row: the fields the importer reads (here, so the import command can check
#: a file without loading the importer and its sandbox).
ROW_SHAPE = RowShape(fields=("idx", "problem", "solution", "context", "signature"))


class BioCoder:
    """The ``Dataset`` of bioinformatics functions. Stateless: everything comes from the table and
    the family modules."""

    name = DATASET_NAME
    title = "BioCoder bioinformatics functions checked by hidden tests"
    family = "bioinformatics_code"  # selects the system prompt (env/prompts.py)
    row_shape = ROW_SHAPE

    def categories(self) -> list[Category]:
        """The rows whose family module is in the package (see ``categories.py``)."""
        return [spec.category() for spec in present_specs()]

    def build(self, *, force: bool = False) -> None:
        """Nothing to build: tasks are generated on the fly and need no database or file."""

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        spec_by_name(category)  # a clear KeyError for unknown categories and missing families
        return generate_sample(category, split, index, seed)

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """Import the official BioCoder JSONL task file (options are the importer's: ``split``,
        ``use_cache``, ...). The importer is loaded only here."""
        from medagentgym.datasets.biocoder.importer import import_file

        return import_file(Path(source), Path(output), **options)


DATASET = BioCoder()

__all__ = ["DATASET", "BioCoder"]
