"""The ehr_seqsql Dataset: conversations of dependent EHRSQL questions over the MIMIC-III view."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport
from medagentgym.catalog.sample import FollowUp, Sample, Solution, Split, make_sample_id
from medagentgym.datasets._ehr_dataset import EhrDataset, target
from medagentgym.datasets._ehrsql import MIMIC_III_NOW, prepare_query, solution_code, wording_rng
from medagentgym.datasets.ehr_seqsql.generate import SeqInstance, propose_sequence
from medagentgym.datasets.mimic_iii.build import build_database
from medagentgym.datasets.mimic_iii.dataset import DB_NAME as MIMIC_DB_NAME
from medagentgym.datasets.mimic_iii.dataset import PROMPT_NOTE

NAME = "ehr_seqsql"
DB_NAME = MIMIC_DB_NAME  # the questions run on the world's MIMIC-III view


class EhrSeqSql(EhrDataset):
    """Sequential EHRSQL questions: each sample is 2-4 dependent questions, each graded."""

    name = NAME
    title = "EHR-SeqSQL: conversations of 2-4 dependent SQL questions over MIMIC-III"
    package = "medagentgym.datasets.ehr_seqsql"
    db_name = DB_NAME
    description = "MIMIC-III schema (EHRSQL version), read-only"
    prompt_note = PROMPT_NOTE

    def build_database(self, *, force: bool = False) -> Path:
        return build_database(force=force)

    def propose(self, con: sqlite3.Connection, rng: random.Random, category: Category) -> tuple[SeqInstance, list[Any]]:
        templates, _ = self.template_choices(category)
        return propose_sequence(con, rng, category.name, templates)

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        cat = self.category(category)
        path, inst, answers = self.draw(cat, split, index, seed)
        templates: dict[str, list[list[str]]] = cat.params["templates"]
        wording = wording_rng(inst.key, index, seed)
        params = inst.param_dict()
        texts = [wording.choice(options).format(**params) for options in templates[inst.template]]
        if len(texts) != len(inst.questions):
            raise ValueError(f"{category}/{inst.template}: {len(texts)} wordings for {len(inst.questions)} questions")
        golds = [prepare_query(q.sql) for q in inst.questions]
        parts = [
            (text, target(q.answer_type, answer),
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
            resources=(self.resource(path),),
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


DATASET = EhrSeqSql()
