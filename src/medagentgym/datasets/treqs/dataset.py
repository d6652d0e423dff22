"""The treqs Dataset: MIMICSQL-style questions over a view of the synthetic world."""

from __future__ import annotations

import tomllib
from functools import cache
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
    InstanceDrawer,
    prepare_query,
    solution_code,
    wording_rng,
)
from medagentgym.datasets.treqs.build import (
    NAME,
    build_database,
    default_db_path,
    read_text,
)
from medagentgym.datasets.treqs.generate import propose
from medagentgym.datasets.treqs.wording import Phrases, json_params, render

DB_NAME = "treqs"  # the resource name the sandbox's DATABASES dict uses
NUMBER_REL_TOL = 1e-4  # averages of whole numbers; tolerates printed rounding

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


class Treqs:
    """TREQS (MIMICSQL) questions: counts, aggregates, patient and code lookups, joins."""

    name = NAME
    title = "TREQS (MIMICSQL): questions answered with SQL over five denormalised MIMIC-III tables"
    family = "ehr_database"  # selects the system prompt (env/prompts.py)

    def __init__(self) -> None:
        # sample i of a (category, split, seed) is its i-th distinct instance (no repeats)
        self._drawer: InstanceDrawer[tuple[Any, Any]] = InstanceDrawer(NAME)

    # ---- catalog

    def categories(self) -> list[Category]:
        return [
            Category(
                name=r["name"],
                dataset=NAME,
                title=r["title"],
                answer_type=AnswerType(r["answer_type"]),
                counts=dict(r["counts"]),
                full_counts=dict(r.get("full", {})),
                params={
                    "templates": r["templates"],
                    "weights": {t: int(r.get("weights", {}).get(t, 1)) for t in r["templates"]},
                },
            )
            for r in _toml()["category"]
        ]

    def category(self, name: str) -> Category:
        for category in self.categories():
            if category.name == name:
                return category
        known = ", ".join(c.name for c in self.categories())
        raise KeyError(f"unknown treqs category {name!r} (known: {known})")

    # ---- data

    def db_path(self) -> Path:
        """The view's path (build it with ``build()``)."""
        return default_db_path()

    def build(self, *, force: bool = False) -> None:
        build_database(force=force)

    # ---- generation

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        cat = self.category(category)
        path = build_database()
        templates: dict[str, list[str]] = cat.params["templates"]
        # propose() draws a template uniformly from a list: repeat each by its weight
        draw = [t for t in sorted(templates) for _ in range(cat.params["weights"][t])]
        inst, answer = self._drawer.draw(
            path, category, split, index, seed,
            lambda con, rng: propose(con, rng, category, draw, cat.answer_type),
        )
        rng = wording_rng(inst.key, index, seed)  # paraphrase and condition phrases
        question = render(inst, rng.choice(templates[inst.template]), phrases(), rng)
        gold = prepare_query(inst.sql)
        return Sample(
            id=make_sample_id(NAME, category, split, index, seed),
            dataset=NAME,
            category=category,
            split=split,
            index=index,
            seed=seed,
            prompt=f"{question}\n\n{PROMPT_NOTE}",
            resources=(resource(path),),
            target=target(cat.answer_type, answer),
            solution=Solution(language="python", code=solution_code(gold, DB_NAME, cat.answer_type)),
            metadata={
                "question": question,
                "template": inst.template,
                "params": json_params(inst),
                "content_key": inst.key,
                "gold_sql": gold,
            },
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
        """Turn official TREQS rows into Samples (JSONL at ``output``); see ``importer.py``."""
        from medagentgym.datasets.treqs.importer import import_treqs_file

        return import_treqs_file(source, output, db=db, query_timeout_s=query_timeout_s, **options)


def resource(path: Path, description: str = RESOURCE_DESCRIPTION) -> Resource:
    return Resource(kind="sqlite", name=DB_NAME, path=str(Path(path).resolve()), description=description)


def target(answer_type: AnswerType, answer: Any) -> Target:
    if answer_type is AnswerType.NUMBER:
        return Target(answer_type=answer_type, value=answer, rel_tol=NUMBER_REL_TOL)
    return Target(answer_type=answer_type, value=answer)


DATASET = Treqs()
