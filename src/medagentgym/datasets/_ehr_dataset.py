"""What every EHR dataset over the world shares: its category table, its view, its sample shape.

``mimic_iii``, ``eicu``, ``treqs`` and ``ehr_seqsql`` differ in their schema, their question
families and their importers; they agree on everything here, so it is written once:

* categories come from the package's ``categories.toml`` (``counts``: the default catalog;
  ``full``: the paper's full split; ``templates``: paraphrases; optional ``weights`` per template);
* sample ``i`` of a (category, split, seed) is the ``i``-th distinct instance of its slot sequence
  (``_ehrsql.InstanceDrawer``), and its paraphrase is chosen apart from the draw
  (``_ehrsql.wording_rng``);
* a question's sample: prompt = question + the dataset's note, the view as the one SQLite
  resource, the target from the gold SQL's rows and a reference solution that runs the same SQL
  with the same rows -> answer rule (``_ehrsql.solution_code``).
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category
from medagentgym.catalog.sample import AnswerType, Resource, Sample, Solution, Split, Target, make_sample_id
from medagentgym.datasets._ehrsql import MIMIC_III_NOW, InstanceDrawer, prepare_query, solution_code, wording_rng
from medagentgym.world import vocab

NUMBER_REL_TOL = 1e-4  # stored values have <= 3 decimals; tolerates printed averages and sums


class EhrDataset:
    """Base of the datasets whose questions are SQL over a view of the world.

    A subclass sets ``name``, ``title``, ``package`` (where ``categories.toml`` lives),
    ``db_name`` (the resource name), ``description`` (of the resource) and ``prompt_note``, and
    implements ``build_database`` and ``propose`` (and ``question_text`` when a question is more
    than a paraphrase filled with the instance's parameters).
    """

    name: str
    title: str
    family = "ehr_database"  # selects the system prompt (env/prompts.py)
    package: str
    db_name: str
    description: str
    prompt_note: str

    def __init__(self) -> None:
        self._drawer: InstanceDrawer[tuple[Any, Any]] = InstanceDrawer(self.name)
        self._categories: list[Category] | None = None

    # ---- catalog

    def categories(self) -> list[Category]:
        """The category table (read once per process: every sample looks its category up)."""
        if self._categories is None:
            self._categories = self._read_categories()
        return list(self._categories)

    def _read_categories(self) -> list[Category]:
        rows = vocab.read_toml("categories.toml", self.package)["category"]
        return [
            Category(
                name=r["name"],
                dataset=self.name,
                title=r["title"],
                answer_type=AnswerType(r["answer_type"]),
                counts=dict(r["counts"]),
                full_counts=dict(r.get("full", {})),
                params={
                    "templates": r["templates"],
                    "weights": {t: float(r.get("weights", {}).get(t, 1.0)) for t in r["templates"]},
                },
            )
            for r in rows
        ]

    def category(self, name: str) -> Category:
        for category in self.categories():
            if category.name == name:
                return category
        known = ", ".join(c.name for c in self.categories())
        raise KeyError(f"unknown {self.name} category {name!r} (known: {known})")

    # ---- data

    def build_database(self, *, force: bool = False) -> Path:
        """Build the dataset's view of the world (idempotent) and return its path."""
        raise NotImplementedError

    def db_path(self) -> Path:
        """The view's path (built on first use)."""
        return self.build_database()

    def build(self, *, force: bool = False) -> None:
        self.build_database(force=force)

    def resource(self, path: Path, description: str = "") -> Resource:
        return Resource(
            kind="sqlite", name=self.db_name, path=str(Path(path).resolve()),
            description=description or self.description,
        )

    # ---- generation

    def propose(
        self, con: sqlite3.Connection, rng: random.Random, category: Category
    ) -> tuple[Any, Any]:
        """A valid (instance, answer) of ``category`` drawn from the database."""
        raise NotImplementedError

    def question_text(self, inst: Any, wordings: list[str], rng: random.Random) -> str:
        """The question of an instance: one paraphrase, filled with its parameters."""
        return rng.choice(wordings).format(**inst.param_dict())

    def draw(self, category: Category, split: Split, index: int, seed: int) -> tuple[Path, Any, Any]:
        """The database, instance and answer of one sample slot (distinct within its split)."""
        path = self.build_database()
        inst, answer = self._drawer.draw(
            path, category.name, split, index, seed, lambda con, rng: self.propose(con, rng, category)
        )
        return path, inst, answer

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        cat = self.category(category)
        path, inst, answer = self.draw(cat, split, index, seed)
        wordings = cat.params["templates"][inst.template]
        question = self.question_text(inst, wordings, wording_rng(inst.key, index, seed))
        gold = prepare_query(inst.sql)
        return Sample(
            id=make_sample_id(self.name, category, split, index, seed),
            dataset=self.name,
            category=category,
            split=split,
            index=index,
            seed=seed,
            prompt=f"{question}\n\n{self.prompt_note}",
            resources=(self.resource(path),),
            target=target(cat.answer_type, answer),
            solution=Solution(language="python", code=solution_code(gold, self.db_name, cat.answer_type)),
            metadata={
                "question": question,
                "template": inst.template,
                "params": self.json_params(inst),
                "content_key": inst.key,
                "gold_sql": gold,
                "gold_sql_ehrsql": inst.sql,
                "now": MIMIC_III_NOW,
            },
        )

    def json_params(self, inst: Any) -> dict[str, Any]:
        """The instance's parameters as JSON-able metadata."""
        return inst.param_dict()

    def template_choices(self, category: Category) -> tuple[list[str], list[float] | None]:
        """Templates of ``category`` in a stable order, with their weights (None when all 1)."""
        names = sorted(category.params["templates"])
        weights = [category.params["weights"][t] for t in names]
        return names, (None if all(w == 1.0 for w in weights) else weights)


def target(answer_type: AnswerType, answer: Any, rel_tol: float = NUMBER_REL_TOL) -> Target:
    """A generated target: numbers carry a relative tolerance (printed averages, sums)."""
    if answer_type is AnswerType.NUMBER:
        return Target(answer_type=answer_type, value=answer, rel_tol=rel_tol)
    return Target(answer_type=answer_type, value=answer)
