"""The treqs Dataset: MIMICSQL-style questions over a view of the synthetic world."""

from __future__ import annotations

import random
import sqlite3
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport
from medagentgym.datasets._ehr_dataset import EhrDataset
from medagentgym.datasets._ehrsql import GOLD_QUERY_TIME_LIMIT_S
from medagentgym.datasets._ehrsql_import import ehrsql_row_shape
from medagentgym.datasets.treqs.build import (
    NAME,
    build_database,
    read_text,
)
from medagentgym.datasets.treqs.generate import propose
from medagentgym.datasets.treqs.wording import Phrases, json_params, render

DB_NAME = "treqs"  # the resource name the sandbox's DATABASES dict uses

PROMPT_NOTE = (
    "The MIMICSQL database (TREQS: tables demographic, diagnoses, procedures, prescriptions, lab; "
    "demographic has one row per hospital admission, the others join to it on hadm_id) is "
    f"available as the SQLite database '{DB_NAME}'. Text values compare case-insensitively."
)
RESOURCE_DESCRIPTION = "MIMICSQL schema (TREQS), read-only"


@cache
def _toml() -> dict[str, Any]:
    return tomllib.loads(read_text("categories.toml"))


def phrases() -> Phrases:
    """The condition and column wording tables of ``categories.toml``."""
    table = _toml()["phrases"]
    return Phrases(conditions=table["conditions"], columns=table["columns"])


class Treqs(EhrDataset):
    """MIMICSQL-style questions over the world's five-table TREQS view (or the user's own)."""

    name = NAME
    row_shape = ehrsql_row_shape(NAME)
    title = "TREQS (MIMICSQL): questions answered with SQL over five denormalised MIMIC-III tables"
    package = "medagentgym.datasets.treqs"
    db_name = DB_NAME
    description = RESOURCE_DESCRIPTION
    prompt_note = PROMPT_NOTE

    def build_database(self, *, force: bool = False) -> Path:
        return build_database(force=force)

    def propose(self, con: sqlite3.Connection, rng: random.Random, category: Category) -> tuple[Any, Any]:
        templates, weights = self.template_choices(category)
        return propose(con, rng, category.name, templates, category.answer_type, weights=weights)

    def question_text(self, inst: Any, wordings: list[str], rng: random.Random) -> str:
        """A paraphrase with its conditions and columns put into words (``wording.render``)."""
        return render(inst, rng.choice(wordings), phrases(), rng)

    def json_params(self, inst: Any) -> dict[str, Any]:
        return json_params(inst)

    # ---- import

    def import_file(
        self,
        source: Path,
        output: Path,
        db: Path | None = None,
        query_timeout_s: float = GOLD_QUERY_TIME_LIMIT_S,
        **options: Any,
    ) -> ImportReport:
        """Turn official TREQS rows into Samples (JSONL at ``output``); see ``importer.py``."""
        from medagentgym.datasets.treqs.importer import import_treqs_file

        return import_treqs_file(source, output, db=db, query_timeout_s=query_timeout_s, **options)


DATASET = Treqs()
