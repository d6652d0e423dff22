"""biodsbench: biomedical data science over synthetic cBioPortal studies.

``DATASET`` builds eight seeded synthetic cancer studies in cBioPortal's table formats
(``study.write_study``, ``build.STUDIES``) into the user cache and asks 15 categories of analyses
over them (survival curves and tests, Cox models, mutation and copy-number frequencies,
co-occurrence, cross-tabulations, TMB, oncoprints, fusions, treatment timelines). The agent leaves
named variables in its Python session; hidden cases evaluated there after submission grade them
(``CodeTests(mode="namespace")``), against expected values computed from our reference analyses.
``import_file`` runs official BioDSBench rows against a user's folder of real study files
(``importer.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import Sample, Split
from medagentgym.datasets.biodsbench.build import build_all
from medagentgym.datasets.biodsbench.categories import (
    DATASET_NAME,
    load_specs,
    spec_by_name,
)
from medagentgym.datasets.biodsbench.generate import generate_sample

#: An official BioDSBench row: the fields the importer reads (here, so the import command can
#: check a file without loading the importer).
ROW_SHAPE = RowShape(fields=("queries", "dataframes", "reference_answer", "test_cases", "study_ids"))


class BioDSBench:
    """The ``Dataset`` of cBioPortal-style analyses. Its only state is the built studies in the cache."""

    name = DATASET_NAME
    title = "BioDSBench-style analyses of synthetic cBioPortal studies"
    family = "data_science"  # selects the system prompt (env/prompts.py)
    row_shape = ROW_SHAPE

    def categories(self) -> list[Category]:
        return [spec.category() for spec in load_specs()]

    def build(self, *, force: bool = False) -> None:
        """Write the eight synthetic studies into the user cache (reused when unchanged)."""
        build_all(force=force)

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        spec_by_name(category)  # a clear KeyError for unknown categories
        return generate_sample(category, split, index, seed)

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """Import official BioDSBench task rows (``importer.import_file``; see its options)."""
        from medagentgym.datasets.biodsbench.importer import import_file

        return import_file(Path(source), Path(output), **options)


DATASET = BioDSBench()

__all__ = ["DATASET", "BioDSBench"]
