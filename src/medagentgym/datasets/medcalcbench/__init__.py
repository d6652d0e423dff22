"""MedCalc-Bench: clinical calculations from patient notes.

``DATASET`` generates synthetic notes for the calculators in ``categories.toml`` (train/test
disjoint by content) and imports the official MedCalc-Bench task files, recomputing every
official row with our calculators so that label agreement can be measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import Sample, Split
from medagentgym.datasets.medcalcbench.categories import DATASET_NAME, load_specs, spec_by_name
from medagentgym.datasets.medcalcbench.generate import generate_sample
from medagentgym.datasets.medcalcbench.importer import REQUIRED_FIELDS, import_file


class MedCalcBench:
    """The ``Dataset`` of MedCalc-Bench calculators. Stateless: everything comes from the table."""

    name = DATASET_NAME
    title = "MedCalc-Bench clinical calculators"
    family = "clinical_calculation"  # selects the system prompt (env/prompts.py)
    row_shape = RowShape(fields=REQUIRED_FIELDS)

    def categories(self) -> list[Category]:
        return [spec.category() for spec in load_specs()]

    def build(self, *, force: bool = False) -> None:
        """Nothing to build: notes are generated on the fly, no database or file is needed."""

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        spec_by_name(category)  # a clear KeyError for unknown categories
        return generate_sample(category, split, index, seed)

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """Import an official JSONL task file; options ``split`` ("test" by default) and ``target``
        ("official": the official answer and range, the default; "recomputed": our published-rule
        value, the official answer kept in metadata)."""
        split = options.get("split", "test")
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        return import_file(Path(source), Path(output), split=split, target=options.get("target", "official"))


DATASET = MedCalcBench()

__all__ = ["DATASET", "MedCalcBench"]
