"""ehrshot: EHRSHOT-style few-shot clinical prediction on the synthetic hospital world.

The 15 official EHRSHOT tasks (operational outcomes, lab grades, new diagnoses within a year,
chest X-ray findings) are labelled from the world's record and hidden outcomes by family modules
(``families_*.py``, contract in ``examples.py``). A sample is one k-shot cohort: training examples
with labels and test examples without, each with a frozen pretrained-style embedding of the record
before its prediction time and the raw events (``record.py``). The agent submits a predictions
file scored by AUROC against a bar calibrated per task on the baseline (``cohorts.py``). See
docs/ehrshot.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import Sample, Split
from medagentgym.datasets.ehrshot.tasks import DATASET_NAME, load_tasks, task_spec

CREDENTIALED = (
    "EHRSHOT's data (Stanford Medicine records, the CLMBR features and the task labels) is released only "
    "under a data use agreement through Stanford's credentialed access, so MedAgentGym cannot import "
    "its task files; use the synthetic ehrshot samples instead"
)


class EhrShot:
    """The ``Dataset`` of few-shot prediction tasks. Its state is the pools, bars and cohort files in the cache."""

    name = DATASET_NAME
    title = "EHRSHOT-style few-shot clinical prediction on the synthetic hospital world"
    family = "clinical_prediction"
    # The official task list's rows; no importer reads them (see CREDENTIALED), but the import
    # command can tell a user who passes that file to another dataset whose rows these are.
    row_shape = RowShape(fields=("task_id", "task_name", "task_description"))

    def categories(self) -> list[Category]:
        return [category for _, category in load_tasks()]

    def build(self, *, force: bool = False) -> None:
        """Label, embed and calibrate every task whose family module is installed."""
        from medagentgym.datasets.ehrshot.build import ensure_built

        ensure_built(force=force)

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        from medagentgym.datasets.ehrshot.generate import generate_sample

        task_spec(category)  # a clear KeyError for unknown categories
        return generate_sample(category, split, index, seed)

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        raise NotImplementedError(CREDENTIALED)


DATASET = EhrShot()

__all__ = ["DATASET", "EhrShot"]
