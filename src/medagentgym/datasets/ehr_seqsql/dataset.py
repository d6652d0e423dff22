"""The ehr_seqsql Dataset: conversations of dependent EHRSQL questions over the MIMIC-III view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport
from medagentgym.catalog.sample import (
    AnswerType,
    FollowUp,
    Resource,
    Sample,
    Solution,
    Split,
    Target,
    make_sample_id,
)
from medagentgym.datasets._ehrsql import (
    MIMIC_III_NOW,
    InstanceDrawer,
    prepare_query,
    solution_code,
    wording_rng,
)
from medagentgym.datasets.ehr_seqsql.generate import SeqInstance, propose_sequence
from medagentgym.datasets.mimic_iii.build import build_database
from medagentgym.world import vocab

NAME = "ehr_seqsql"
DB_NAME = "mimic_iii"  # the questions run on the world's MIMIC-III view
NUMBER_REL_TOL = 1e-4
_PACKAGE = "medagentgym.datasets.ehr_seqsql"

PROMPT_NOTE = (
    "The MIMIC-III database (EHRSQL version: 17 tables such as patients, admissions, icustays, "
    "labevents, chartevents, prescriptions, cost) is available as the SQLite database "
    f"'{DB_NAME}'. Treat the current time as {MIMIC_III_NOW}."
)


class EhrSeqSql:
    """Sequential EHRSQL questions: each sample is 2-4 dependent questions, each graded."""

    name = NAME
    title = "EHR-SeqSQL: conversations of 2-4 dependent SQL questions over MIMIC-III"
    family = "ehr_database"

    def __init__(self) -> None:
        self._drawer: InstanceDrawer[tuple[SeqInstance, list[Any]]] = InstanceDrawer(NAME)

    def categories(self) -> list[Category]:
        rows = vocab.read_toml("categories.toml", _PACKAGE)["category"]
        return [
            Category(
                name=r["name"],
                dataset=NAME,
                title=r["title"],
                answer_type=AnswerType(r["answer_type"]),
                counts=dict(r["counts"]),
                full_counts=dict(r["full"]),
                params={"templates": r["templates"]},
            )
            for r in rows
        ]

    def category(self, name: str) -> Category:
        for category in self.categories():
            if category.name == name:
                return category
        known = ", ".join(c.name for c in self.categories())
        raise KeyError(f"unknown ehr_seqsql category {name!r} (known: {known})")

    def build(self, *, force: bool = False) -> None:
        build_database(force=force)

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        cat = self.category(category)
        path = build_database()
        templates: dict[str, list[list[str]]] = cat.params["templates"]
        inst, answers = self._drawer.draw(
            path, category, split, index, seed,
            lambda con, rng: propose_sequence(con, rng, category, sorted(templates)),
        )
        wording = wording_rng(inst.key, index, seed)
        params = inst.param_dict()
        texts = [wording.choice(options).format(**params) for options in templates[inst.template]]
        if len(texts) != len(inst.questions):
            raise ValueError(f"{category}/{inst.template}: {len(texts)} wordings for {len(inst.questions)} questions")
        resource = Resource(
            kind="sqlite", name=DB_NAME, path=str(Path(path).resolve()),
            description="MIMIC-III schema (EHRSQL version), read-only",
        )
        golds = [prepare_query(q.sql) for q in inst.questions]
        parts = [
            (text, _target(q.answer_type, answer),
             Solution(language="python", code=solution_code(gold, DB_NAME, q.answer_type)))
            for text, q, answer, gold in zip(texts, inst.questions, answers, golds, strict=True)
        ]
        first_text, first_target, first_solution = parts[0]
        return Sample(
            id=make_sample_id(NAME, category, split, index, seed),
            dataset=NAME,
            category=category,
            split=split,
            index=index,
            seed=seed,
            prompt=f"{first_text}\n\n{PROMPT_NOTE}",
            resources=(resource,),
            target=first_target,
            solution=first_solution,
            followups=tuple(FollowUp(prompt=t, target=tg, solution=sol) for t, tg, sol in parts[1:]),
            metadata={
                "questions": texts,
                "template": inst.template,
                "params": params,
                "content_key": inst.key,
                "gold_sql": golds,
                "gold_sql_ehrsql": [q.sql for q in inst.questions],
                "now": MIMIC_III_NOW,
            },
        )

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """EHR-SeqSQL's task files are not part of the reference release this project can test
        against, so no importer is offered: a clear error rather than a guess at the format."""
        raise ValueError(
            "ehr_seqsql has no importer: its official task files are not available to test one "
            "against; use the generated catalog (medagentgym tasks list --dataset ehr_seqsql)"
        )


def _target(answer_type: AnswerType, answer: Any) -> Target:
    if answer_type is AnswerType.NUMBER:
        return Target(answer_type=answer_type, value=answer, rel_tol=NUMBER_REL_TOL)
    return Target(answer_type=answer_type, value=answer)


DATASET = EhrSeqSql()
