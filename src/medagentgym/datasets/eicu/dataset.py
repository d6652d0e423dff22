"""The eicu Dataset: EHRSQL-style eICU questions over a view of the synthetic world."""

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
from medagentgym.datasets._reanchor import EICU_SPACE
from medagentgym.datasets.eicu.build import NAME, build_database
from medagentgym.datasets.eicu.csv_db import load_csv_folder
from medagentgym.datasets.eicu.generate import EicuCtx, propose

DB_NAME = "eicu"  # the resource name the sandbox's DATABASES dict uses
DESCRIPTION = "eICU schema (EHRSQL version), read-only"

PROMPT_NOTE = (
    "The eICU database (EHRSQL version: 10 tables: patient, diagnosis, treatment, lab, "
    "medication, cost, allergy, intakeoutput, microlab, vitalperiodic) is available as the "
    f"SQLite database '{DB_NAME}'. Patients are identified by uniquepid. Treat the current time "
    f"as {MIMIC_III_NOW}."
)

# Imported rows are filed by the most specific table their gold query touches.
_IMPORT_FAMILIES: tuple[tuple[str, str], ...] = (
    ("cost", "cost"),
    ("allergy", "allergy"),
    ("microlab", "microbiology"),
    ("intakeoutput", "intake_output"),
    ("vitalperiodic", "vitals"),
    ("lab", "labs"),
    ("medication", "medications"),
    ("treatment", "treatments"),
    ("diagnosis", "diagnoses"),
)
_DEMOGRAPHIC = re.compile(
    r"^select (distinct )?patient\.(gender|ethnicity|hospitaladmitsource|hospitaldischargestatus|wardid)\b"
)
_BODY = re.compile(r"\bpatient\.(admissionheight|admissionweight|dischargeweight)\b")


def import_category(sql: str) -> str:
    """The category slug of an imported EHRSQL eICU row: ``ehrsql_<family>``."""
    lowered = re.sub(r"\s+", " ", sql.strip().lower())
    for table, family in _IMPORT_FAMILIES:
        if re.search(rf"\b{table}\b", lowered):
            return f"ehrsql_{family}"
    if _DEMOGRAPHIC.match(lowered):
        return "ehrsql_demographics"
    if _BODY.search(lowered):
        return "ehrsql_body_measurements"
    if re.search(r"\bpatient\b", lowered):
        return "ehrsql_stays"
    return "ehrsql_other"


#: Everything the shared EHRSQL import loop needs to know about eicu.
IMPORT_CONFIG = ImportConfig(
    dataset=NAME,
    db_name=DB_NAME,
    resource_description=DESCRIPTION,
    prompt_note=PROMPT_NOTE,
    category=import_category,
    space=EICU_SPACE,
    number_rel_tol=NUMBER_REL_TOL,
)


class Eicu(EhrDataset):
    """EHRSQL-style questions over an eICU-schema database (the world's view or the user's own)."""

    name = NAME
    row_shape = ehrsql_row_shape(NAME)
    title = "eICU (EHRSQL): questions answered with SQL over 10 eICU tables"
    package = "medagentgym.datasets.eicu"
    db_name = DB_NAME
    description = DESCRIPTION
    prompt_note = PROMPT_NOTE

    def __init__(self) -> None:
        super().__init__()
        # Lookups the generator reads once per database file (see ``EicuCtx``), keyed by the
        # file's identity so a rebuilt view starts afresh.
        self._memos: dict[tuple[str, int, int], dict[Any, Any]] = {}

    def _memo(self, path: Path) -> dict[Any, Any]:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in self._memos:
            self._memos.clear()
            self._memos[key] = {}
        return self._memos[key]

    def build_database(self, *, force: bool = False) -> Path:
        return build_database(force=force)

    def propose(self, con: sqlite3.Connection, rng: random.Random, category: Category) -> tuple[Any, Any]:
        names = sorted(category.params["templates"])
        weights = [category.params["weights"][t] for t in names]
        memo = self._memo(self.build_database())
        return propose(EicuCtx(con, memo), rng, category.name, names, category.answer_type, weights=weights)

    # ---- import

    def import_file(
        self,
        source: Path,
        output: Path,
        db: Path | None = None,
        query_timeout_s: float = GOLD_QUERY_TIME_LIMIT_S,
        **options: Any,
    ) -> ImportReport:
        """Turn official EHRSQL eICU rows into Samples (JSONL at ``output``).

        ``db`` is None for the world's view, or a folder of the user's eICU CSV files (loaded once
        into the cache by ``csv_db.load_csv_folder``). The shared EHRSQL import loop does the rest
        (``_ehrsql_import``): untrusted rows read line by line, gold SQL run read-only under
        ``query_timeout_s``, rows re-anchored onto values present in the database
        (``options["reanchor"]``: absent/empty/off), answers recomputed, output written atomically.
        """
        messages: list[str] = []
        if db is None:
            db_path, db_kind = build_database(), "embedded"
        else:
            load = load_csv_folder(Path(db), force=bool(options.get("force", False)))
            db_path, db_kind = load.path, "user_csv"
            messages += load.messages
        return import_ehrsql_file(
            IMPORT_CONFIG, Path(source), Path(output), db_path=db_path, db_kind=db_kind,
            query_timeout_s=query_timeout_s, reanchor=options.get("reanchor"), split=options.get("split"), messages=messages,
            resource_description=None if db is None else f"{DESCRIPTION}, loaded from the user's CSV files",
        )


DATASET = Eicu()
