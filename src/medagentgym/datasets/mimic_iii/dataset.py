"""The mimic_iii Dataset: embedded EHRSQL-style MIMIC-III database, generator and importer."""

from __future__ import annotations

import re
from collections import Counter
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
from medagentgym.catalog.splits import draw_in_split, rng_for
from medagentgym.datasets._ehrsql import (
    GOLD_QUERY_TIME_LIMIT_S,
    MIMIC_III_NOW,
    GoldQueryError,
    answer_from_rows,
    connect_readonly,
    infer_answer_type,
    is_nonempty,
    prepare_query,
    read_task_rows,
    run_gold_query,
    solution_code,
)
from medagentgym.datasets.mimic_iii import vocab
from medagentgym.datasets.mimic_iii.build import build_database, default_db_path
from medagentgym.datasets.mimic_iii.csv_db import load_csv_folder
from medagentgym.datasets.mimic_iii.generate import propose
from medagentgym.untrusted import model_json, write_lines_atomic

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
        rng = rng_for(NAME, category, split, index, seed)
        con = connect_readonly(path)
        try:
            inst, answer = draw_in_split(
                rng,
                split,
                lambda r: propose(con, r, category, sorted(templates), cat.answer_type),
                key=lambda candidate: candidate[0].key,
            )
        finally:
            con.close()
        wording = rng.choice(templates[inst.template])
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
        once into the cache). Answers are recomputed from the gold SQL on that database; the
        official ``answer`` is kept in ``metadata["official_answer"]``. The gold SQL is untrusted
        (``_ehrsql.run_gold_query``): it runs read-only, may not attach, write or vacuum, and is
        stopped after ``query_timeout_s``. A row whose gold SQL fails, is refused, times out or
        returns too many rows is skipped and explained with its line number; a row whose gold SQL
        returns nothing on the chosen database is skipped and counted (``skipped_empty``): there
        is no answer to grade. The output is written atomically, so a failed import leaves an
        earlier output intact.
        """
        source, output = Path(source), Path(output)
        messages: list[str] = []
        if db is None:
            db_path = build_database()
            db_kind = "embedded"
        else:
            load = load_csv_folder(Path(db), force=bool(options.get("force", False)))
            db_path = load.path
            db_kind = "user_csv"
            messages += load.messages
        read = read_task_rows(source)
        messages += read.messages
        resource = self._resource(
            db_path, "MIMIC-III schema (EHRSQL version), read-only"
            + ("" if db_kind == "embedded" else ", loaded from the user's CSV files")
        )
        counters: Counter[str] = Counter()
        types: Counter[str] = Counter()
        indices: Counter[tuple[str, str]] = Counter()
        lines: list[str] = []
        skipped = read.skipped
        con = connect_readonly(db_path)
        try:
            for line_number, row in zip(read.lines, read.rows, strict=True):
                where = f"line {line_number} (row {str(row.get('id', '?'))[:60]})"
                original = row["query"]
                gold = prepare_query(original)
                try:
                    rows = run_gold_query(con, gold, time_limit_s=query_timeout_s)
                except GoldQueryError as exc:
                    counters[_GOLD_FAILURES[exc.kind]] += 1
                    skipped += 1
                    messages.append(f"{where}: skipped, gold SQL {exc}")
                    continue
                counters["gold_executed"] += 1
                nonempty = is_nonempty(rows)
                counters["gold_nonempty"] += int(nonempty)
                if not nonempty:
                    # An empty result has no answer to grade (the scorers refuse empty gold
                    # sets); on the embedded data it usually names a patient or item that only
                    # the real MIMIC-III holds. Counted, not written.
                    counters["skipped_empty"] += 1
                    skipped += 1
                    continue
                try:
                    answer_type, answer, line = self._imported_sample(
                        row, original, gold, rows, resource, db_kind, indices
                    )
                except (ValueError, TypeError, OverflowError) as exc:
                    counters["bad_rows"] += 1
                    skipped += 1
                    messages.append(f"{where}: skipped, no sample can be built ({str(exc).splitlines()[0][:200]})")
                    continue
                types[answer_type.value] += 1
                official = row.get("answer")
                if isinstance(official, list) and _as_strings(answer) == sorted(
                    str(a).lower() for a in official
                ):
                    counters["matches_official_answer"] += 1
                lines.append(line)
        finally:
            con.close()
        write_lines_atomic(output, lines)
        return ImportReport(
            dataset=NAME,
            source=str(source),
            rows_read=len(read.rows) + read.skipped,
            samples_written=len(lines),
            rows_skipped=skipped,
            details={
                "db": str(db_path),
                "db_kind": db_kind,
                "gold_executed": counters["gold_executed"],
                "gold_nonempty": counters["gold_nonempty"],
                "gold_errors": counters["gold_errors"],
                "gold_refused": counters["gold_refused"],
                "gold_timeouts": counters["gold_timeouts"],
                "gold_too_many_rows": counters["gold_too_many_rows"],
                "skipped_empty": counters["skipped_empty"],
                "bad_rows": counters["bad_rows"],
                "matches_official_answer": counters["matches_official_answer"],
                "answer_types": dict(sorted(types.items())),
                "categories": dict(sorted(Counter(c for c, _ in indices.elements()).items())),
            },
            messages=messages,
        )

    def _imported_sample(
        self,
        row: dict[str, Any],
        original: str,
        gold: str,
        rows: list[tuple[Any, ...]],
        resource: Resource,
        db_kind: str,
        indices: Counter[tuple[str, str]],
    ) -> tuple[AnswerType, Any, str]:
        """The answer type, answer and JSON line of one imported row (ValueError if none can be
        built: a scalar type whose first value is NULL, a field of the wrong type)."""
        answer_type = infer_answer_type(original, rows)
        answer = answer_from_rows(rows, answer_type)
        official = row.get("answer")
        split: Split = "train" if str(row.get("split", "train")) == "train" else "test"
        category = import_category(original)
        index = indices[(category, split)]
        question = str(row.get("question", "")).strip()
        sample = Sample(
            id=f"{NAME}/{category}/{split}/official-{row.get('id') or index}",
            dataset=NAME,
            category=category,
            split=split,
            index=index,
            seed=0,
            prompt=f"{question}\n\n{PROMPT_NOTE}",
            resources=(resource,),
            target=_target(answer_type, answer),
            solution=Solution(language="python", code=solution_code(gold, DB_NAME, answer_type)),
            metadata={
                "question": question,
                "imported": True,
                "official_id": row.get("id"),
                "official_answer": official,
                "official_template": row.get("q_tag") or row.get("template"),
                "value": row.get("value"),
                "gold_sql": gold,
                "gold_sql_ehrsql": original,
                "gold_nonempty": True,
                "db": db_kind,
                "now": MIMIC_III_NOW,
            },
        )
        line = model_json(sample)
        indices[(category, split)] += 1
        return answer_type, answer, line


# How each kind of GoldQueryError is counted in ImportReport.details.
_GOLD_FAILURES = {
    "error": "gold_errors",
    "refused": "gold_refused",
    "timeout": "gold_timeouts",
    "too_many_rows": "gold_too_many_rows",
}


def _as_strings(answer: Any) -> list[str]:
    if isinstance(answer, list):
        return sorted(str(a) for a in answer)
    if isinstance(answer, bool):
        return [str(int(answer))]
    return [str(answer)]


def _target(answer_type: AnswerType, answer: Any) -> Target:
    if answer_type is AnswerType.NUMBER:
        return Target(answer_type=answer_type, value=answer, rel_tol=NUMBER_REL_TOL)
    return Target(answer_type=answer_type, value=answer)


DATASET = MimicIII()
