"""The mimic_iii Dataset: embedded EHRSQL-style MIMIC-III database, generator and importer."""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport
from medagentgym.datasets._ehr_dataset import NUMBER_REL_TOL, EhrDataset
from medagentgym.datasets._ehrsql import GOLD_QUERY_TIME_LIMIT_S, MIMIC_III_NOW
from medagentgym.datasets._ehrsql_import import (
    ImportConfig,
    ehrsql_row_shape,
    import_ehrsql_file,
)
from medagentgym.datasets._reanchor import MIMIC_III_SPACE
from medagentgym.datasets.mimic_iii.build import build_database
from medagentgym.datasets.mimic_iii.csv_db import load_csv_folder
from medagentgym.datasets.mimic_iii.generate import propose

NAME = "mimic_iii"
DB_NAME = "mimic_iii"  # the resource name the sandbox's DATABASES dict uses

PROMPT_NOTE = (
    "The MIMIC-III database (EHRSQL version: 17 tables such as patients, admissions, icustays, "
    "labevents, chartevents, prescriptions, cost) is available as the SQLite database "
    f"'{DB_NAME}'. Treat the current time as {MIMIC_III_NOW}."
)

RESOURCE_DESCRIPTION = "MIMIC-III schema (EHRSQL version), read-only"

# Imported rows are filed by the most specific table their gold query touches.
_IMPORT_FAMILIES: tuple[tuple[str, str], ...] = (
    ("cost", "cost"),
    ("microbiologyevents", "microbiology"),
    ("inputevents_cv", "intake_output"),
    ("outputevents", "intake_output"),
    ("chartevents", "vitals"),
    ("labevents", "lab_values"),
    ("prescriptions", "prescriptions"),
    ("procedures_icd", "procedures"),
    ("diagnoses_icd", "diagnoses"),
    ("d_icd_", "diagnoses"),
    ("icustays", "admissions"),
    ("transfers", "admissions"),
    ("admissions", "admissions"),
    ("patients", "demographics"),
)


def import_category(sql: str) -> str:
    """The category slug of an imported EHRSQL row: ``ehrsql_<family>``."""
    lowered = sql.lower()
    for table, family in _IMPORT_FAMILIES:
        if re.search(rf"\b{table}", lowered):
            return f"ehrsql_{family}"
    return "ehrsql_other"


class MimicIII(EhrDataset):
    """EHRSQL-style questions over a MIMIC-III-schema database (the world's view or the user's own)."""

    name = NAME
    row_shape = ehrsql_row_shape(NAME)
    title = "MIMIC-III (EHRSQL): questions answered with SQL over 17 MIMIC-III tables"
    package = "medagentgym.datasets.mimic_iii"
    db_name = DB_NAME
    description = RESOURCE_DESCRIPTION
    prompt_note = PROMPT_NOTE

    def build_database(self, *, force: bool = False) -> Path:
        return build_database(force=force)

    def propose(self, con: sqlite3.Connection, rng: random.Random, category: Category) -> tuple[Any, Any]:
        templates, _ = self.template_choices(category)
        return propose(con, rng, category.name, templates, category.answer_type)

    # ---- import

    def import_file(
        self,
        source: Path,
        output: Path,
        db: Path | None = None,
        query_timeout_s: float = GOLD_QUERY_TIME_LIMIT_S,
        **options: Any,
    ) -> ImportReport:
        """Turn official EHRSQL MIMIC-III rows into Samples (JSONL at ``output``).

        ``db`` is None for the embedded database, or a folder of the user's MIMIC-III CSVs (loaded
        once into the cache). The shared loop (``_ehrsql_import.import_ehrsql_file``) runs each
        gold query untrusted (read-only, stopped after ``query_timeout_s``), re-anchors rows whose
        patients or items the database lacks onto present ones (``_reanchor``; on the user's own
        data only rows whose result is empty), recomputes the answers and writes the samples
        atomically. The official question, SQL and answer stay in the sample's metadata.
        """
        messages: list[str] = []
        if db is None:
            db_path, db_kind = build_database(), "embedded"
        else:
            load = load_csv_folder(Path(db), force=bool(options.get("force", False)))
            db_path, db_kind = load.path, "user_csv"
            messages += load.messages
        description = RESOURCE_DESCRIPTION + ("" if db is None else ", loaded from the user's CSV files")
        return import_ehrsql_file(
            IMPORT_CONFIG,
            Path(source),
            Path(output),
            db_path=db_path,
            db_kind=db_kind,
            query_timeout_s=query_timeout_s,
            reanchor=options.get("reanchor"),
            split=options.get("split"),
            messages=messages,
            resource_description=description,
        )


#: How the shared EHRSQL import loop imports mimic_iii rows.
IMPORT_CONFIG = ImportConfig(
    dataset=NAME,
    db_name=DB_NAME,
    resource_description=RESOURCE_DESCRIPTION,
    prompt_note=PROMPT_NOTE,
    category=import_category,
    space=MIMIC_III_SPACE,
    now=MIMIC_III_NOW,
    number_rel_tol=NUMBER_REL_TOL,
)

DATASET = MimicIII()
