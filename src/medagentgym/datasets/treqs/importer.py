"""Import official TREQS (MIMICSQL) task rows: the shared EHRSQL import loop, configured.

Everything but the configuration is ``_ehrsql_import``: rows are read one line at a time, gold
SQL runs read-only under a time limit, rows naming values absent from our database are
re-anchored onto present ones (``_reanchor.TREQS_SPACE``), and samples are written atomically.
TREQS specifics: its gold SQL leaves apostrophes inside literals unescaped (``'crohn's
disease'``), so quotes are repaired first; imported rows are filed by the shape of their query.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import ImportReport
from medagentgym.datasets._ehr_dataset import NUMBER_REL_TOL
from medagentgym.datasets._ehrsql import GOLD_QUERY_TIME_LIMIT_S
from medagentgym.datasets._ehrsql_import import ImportConfig, import_ehrsql_file
from medagentgym.datasets._reanchor import TREQS_SPACE
from medagentgym.datasets.treqs.build import NAME, build_database
from medagentgym.datasets.treqs.csv_source import build_from_csv
from medagentgym.datasets.treqs.dataset import DB_NAME, PROMPT_NOTE, RESOURCE_DESCRIPTION

_AGGREGATE = re.compile(r"^select\s+(avg|min|max)\s*\(", re.IGNORECASE)
_COUNT = re.compile(r"^select\s+count\s*\(", re.IGNORECASE)
_PATIENT = re.compile(r"\.\s*'?(subject_id|name)'?\s*=", re.IGNORECASE)


def import_category(sql: str) -> str:
    """The category of an imported row, by the shape of its gold SQL: ``mimicsql_<family>``
    with the families of the generated categories (count, multi_join, aggregate,
    patient_lookup, code_lookup)."""
    text = " ".join(sql.split())
    if _COUNT.match(text):
        joins = len(re.findall(r"\binner join\b", text, re.IGNORECASE))
        return "mimicsql_multi_join" if joins >= 2 else "mimicsql_count"
    if _AGGREGATE.match(text):
        return "mimicsql_aggregate"
    if _PATIENT.search(text):
        return "mimicsql_patient_lookup"
    return "mimicsql_code_lookup"


CONFIG = ImportConfig(
    dataset=NAME,
    db_name=DB_NAME,
    resource_description=RESOURCE_DESCRIPTION,
    prompt_note=PROMPT_NOTE,
    category=import_category,
    space=TREQS_SPACE,
    repair_quotes=True,
    number_rel_tol=NUMBER_REL_TOL,
)


def import_treqs_file(
    source: Path,
    output: Path,
    *,
    db: Path | None = None,
    query_timeout_s: float = GOLD_QUERY_TIME_LIMIT_S,
    **options: Any,
) -> ImportReport:
    """Import ``source`` onto the world view (``db`` None) or onto the MIMICSQL tables derived
    from the user's MIMIC-III CSVs in folder ``db`` (see ``csv_source.py``)."""
    force = bool(options.pop("force", False))
    reanchor = options.pop("reanchor", None)
    split = options.pop("split", None)
    if db is None:
        return import_ehrsql_file(
            CONFIG, Path(source), Path(output), db_path=build_database(),
            query_timeout_s=query_timeout_s, reanchor=reanchor, split=split,
        )
    built = build_from_csv(Path(db), force=force)
    return import_ehrsql_file(
        CONFIG, Path(source), Path(output), db_path=built.path, db_kind="user_csv",
        query_timeout_s=query_timeout_s, reanchor=reanchor, split=split, messages=built.messages,
        resource_description=f"{RESOURCE_DESCRIPTION}, derived from the user's MIMIC-III CSV files",
    )
