"""npowerai: sample size and power for study designs.

``DATASET`` generates study-design questions over 21 categories (the original benchmark's six test
types asked as "how many subjects" or "what power", plus extras the same libraries compute), with
ground truth from ``statsmodels.stats.power`` and ``lifelines`` (``methods.py``), and imports the
original npowerai task files, taking the target from what each question's text says and flagging
rows whose official answer contradicts it (``importer.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import Sample, Split
from medagentgym.datasets.npowerai.categories import (
    DATASET_NAME,
    load_specs,
    spec_by_name,
)
from medagentgym.datasets.npowerai.generate import generate_sample
from medagentgym.datasets.npowerai.importer import REQUIRED_FIELDS, import_file


class NPowerAI:
    """The ``Dataset`` of study-design questions. Stateless: everything comes from the table."""

    name = DATASET_NAME
    title = "NPowerAI sample size and power for study designs"
    family = "study_design"  # selects the system prompt (env/prompts.py)
    row_shape = RowShape(fields=REQUIRED_FIELDS)

    def categories(self) -> list[Category]:
        return [spec.category() for spec in load_specs()]

    def build(self, *, force: bool = False) -> None:
        """Nothing to build: questions are generated on the fly, no database or file is needed."""

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        spec_by_name(category)  # a clear KeyError for unknown categories
        return generate_sample(category, split, index, seed)

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """Import an official npowerai JSONL task file; option ``split`` ("test" by default)."""
        split = options.get("split", "test")
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        unknown = set(options) - {"split"}
        if unknown:
            raise TypeError(f"unexpected options {sorted(unknown)}")
        return import_file(Path(source), Path(output), split=split)


DATASET = NPowerAI()

__all__ = ["DATASET", "NPowerAI"]
