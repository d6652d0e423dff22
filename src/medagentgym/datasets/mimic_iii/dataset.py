"""The mimic_iii Dataset: embedded EHRSQL-style MIMIC-III database, generator and importer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport
from medagentgym.catalog.sample import (
    AnswerType,
    Resource,
    Sample,
    Solution,
    Split,
    Target,
    make_sample_id,
)
from medagentgym.datasets._ehrsql import (
    GOLD_QUERY_TIME_LIMIT_S,
    MIMIC_III_NOW,
    InstanceDrawer,
    prepare_query,
    solution_code,
    wording_rng,
)
from medagentgym.datasets._ehrsql_import import ImportConfig, import_ehrsql_file
from medagentgym.datasets._reanchor import MIMIC_III_SPACE
from medagentgym.datasets.mimic_iii import vocab
from medagentgym.datasets.mimic_iii.build import build_database, default_db_path
from medagentgym.datasets.mimic_iii.csv_db import load_csv_folder
from medagentgym.datasets.mimic_iii.generate import propose

NAME = "mimic_iii"
DB_NAME = "mimic_iii"  # the resource name the sandbox's DATABASES dict uses
NUMBER_REL_TOL = 1e-4  # stored values have <= 3 decimals; tolerates printed averages

PROMPT_NOTE = (
    "The MIMIC-III database (EHRSQL version: 17 tables such as patients, admissions, icustays, "
    "labevents, chartevents, prescriptions, cost) is available as the SQLite database "
    f"'{DB_NAME}'. Treat the current time as {MIMIC_III_NOW}."
)

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


class MimicIII:
    """EHRSQL-style questions over a MIMIC-III-schema database (embedded or the user's own)."""

    name = NAME
    title = "MIMIC-III (EHRSQL): questions answered with SQL over 17 MIMIC-III tables"
    family = "ehr_database"  # selects the system prompt (env/prompts.py)

    def __init__(self) -> None:
        self._drawer: InstanceDrawer[tuple[Any, Any]] = InstanceDrawer(NAME)

    # ---- catalog

    def categories(self) -> list[Category]:
        rows = vocab.read_toml("categories.toml")["category"]
        return [
            Category(
                name=r["name"],
                dataset=NAME,
                title=r["title"],
                answer_type=AnswerType(r["answer_type"]),
                counts=dict(r["counts"]),
                full_counts=dict(r.get("full", {})),
                params={"templates": r["templates"]},
            )
            for r in rows
        ]

    def category(self, name: str) -> Category:
        for category in self.categories():
            if category.name == name:
                return category
        known = ", ".join(c.name for c in self.categories())
        raise KeyError(f"unknown mimic_iii category {name!r} (known: {known})")

    # ---- data

    def db_path(self) -> Path:
        """The embedded database's path (built on first use)."""
        return default_db_path()

    def build(self, *, force: bool = False) -> None:
        build_database(force=force)

    # ---- generation

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        cat = self.category(category)
        path = build_database()
        templates: dict[str, list[str]] = cat.params["templates"]
        inst, answer = self._drawer.draw(
            path, category, split, index, seed,
            lambda con, rng: propose(con, rng, category, sorted(templates), cat.answer_type),
        )
        wording = wording_rng(inst.key, index, seed).choice(templates[inst.template])
        question = wording.format(**inst.param_dict())
        gold = prepare_query(inst.sql)
        return Sample(
            id=make_sample_id(NAME, category, split, index, seed),
            dataset=NAME,
            category=category,
            split=split,
            index=index,
            seed=seed,
            prompt=f"{question}\n\n{PROMPT_NOTE}",
            resources=(self._resource(path),),
            target=_target(cat.answer_type, answer),
            solution=Solution(language="python", code=solution_code(gold, DB_NAME, cat.answer_type)),
            metadata={
                "question": question,
                "template": inst.template,
                "params": inst.param_dict(),
                "content_key": inst.key,
                "gold_sql": gold,
                "gold_sql_ehrsql": inst.sql,
                "now": MIMIC_III_NOW,
            },
        )

    @staticmethod
    def _resource(path: Path, description: str = "") -> Resource:
        return Resource(
            kind="sqlite",
            name=DB_NAME,
            path=str(Path(path).resolve()),
            description=description or "MIMIC-III schema (EHRSQL version), read-only",
        )

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
            messages=messages,
            resource_description=description,
        )


def _target(answer_type: AnswerType, answer: Any) -> Target:
    if answer_type is AnswerType.NUMBER:
        return Target(answer_type=answer_type, value=answer, rel_tol=NUMBER_REL_TOL)
    return Target(answer_type=answer_type, value=answer)


RESOURCE_DESCRIPTION = "MIMIC-III schema (EHRSQL version), read-only"

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
