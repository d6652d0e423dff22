"""The ehrcon Dataset: note-versus-record consistency over the world's MIMIC-III view.

Sample ``i`` of (category, split, seed) is the ``i``-th distinct note of its slot sequence: an
admission of the split (admissions are split by ``split_of`` on their id, so a train and a test
note never describe the same stay), a window, a plan of statements with injections
(``notes.draw_plan``), the rendered note and three questions. Distinct means a distinct content
key (admission, note type, note text with its injections).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import AnswerType, FollowUp, Resource, Sample, Solution, Split, Target, make_sample_id
from medagentgym.catalog.splits import rng_for, split_of, stable_hash
from medagentgym.datasets.ehrcon.entities import checker_source
from medagentgym.datasets.ehrcon.importer import FIELDS
from medagentgym.datasets.ehrcon.notes import Plan, Reject, draw_plan
from medagentgym.datasets.ehrcon.record import drug_pool, finished_admissions, load_admission
from medagentgym.datasets.ehrcon.render import TITLES, render
from medagentgym.world import vocab

NAME = "ehrcon"
DB_NAME = "mimic_iii"
MAX_TRIES = 500

RULES = (
    "The record is the reference. A charted value stated as '<value> <unit> (<YYYY-MM-DD HH:MM>)' is "
    "consistent when the record holds that item for this admission at that minute with that value "
    "(as charted, same decimals). A medication stated as '<dose> <unit> <route>, started <YYYY-MM-DD>' is "
    "consistent when the admission has a prescription of that drug with that dose starting that day. "
    "A medication stated as not given is consistent only when the admission has no prescription of it. "
    "Each inconsistent value, time or event counts once."
)


def admission_split(hadm_id: int) -> Split:
    """The split of every note about this admission."""
    return split_of(f"{NAME}|hadm|{hadm_id}")


@lru_cache(maxsize=8)
def split_admissions(db: Path, split: Split) -> tuple[int, ...]:
    """The finished admissions whose notes belong to ``split``."""
    return tuple(h for h in finished_admissions(db) if admission_split(h) == split)


class EhrCon:
    """Note-versus-record consistency questions (three per sample) over the MIMIC-III view."""

    name = NAME
    title = "EHRCon: consistency between clinical notes and the admission's records"
    family = "note_consistency"
    row_shape = RowShape(fields=FIELDS, split_field=True)

    def __init__(self) -> None:
        self._categories: list[Category] | None = None
        self._sequences: dict[tuple[str, str, int, str], tuple[list[tuple[Plan, str]], set[str]]] = {}

    # ---- catalog

    def categories(self) -> list[Category]:
        if self._categories is None:
            rows = vocab.read_toml("categories.toml", "medagentgym.datasets.ehrcon")["category"]
            self._categories = [
                Category(
                    name=r["name"],
                    dataset=NAME,
                    title=r["title"],
                    answer_type=AnswerType.BOOLEAN,
                    counts=dict(r["counts"]),
                    full_counts=dict(r.get("full", {})),
                    params={"window_hours": int(r["window_hours"])},
                )
                for r in rows
            ]
        return list(self._categories)

    def category(self, name: str) -> Category:
        for c in self.categories():
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.categories())
        raise KeyError(f"unknown {NAME} category {name!r} (known: {known})")

    # ---- data

    def db_path(self) -> Path:
        """The MIMIC-III view the notes are rendered from and the agent queries (built on first use)."""
        from medagentgym.catalog import get_dataset

        return Path(get_dataset("mimic_iii").db_path())  # type: ignore[attr-defined]

    def build(self, *, force: bool = False) -> None:
        from medagentgym.catalog import get_dataset

        get_dataset("mimic_iii").build(force=force)

    # ---- generation

    def draw(self, category: str, split: Split, index: int, seed: int) -> tuple[Plan, str]:
        """The plan and note text of one slot (distinct within its sequence)."""
        if index < 0:
            raise IndexError(f"sample index must be >= 0, not {index}")
        cat = self.category(category)
        db = self.db_path()
        key = (category, split, seed, str(db))
        items, keys = self._sequences.setdefault(key, ([], set()))
        admissions = split_admissions(db, split)
        pool = drug_pool(db)
        while len(items) <= index:
            rng = rng_for(NAME, category, split, len(items), seed)
            for _ in range(MAX_TRIES):
                adm = load_admission(db, rng.choice(admissions))
                try:
                    plan = draw_plan(adm, category, cat.params["window_hours"], pool, rng)
                except Reject:
                    continue
                text = render(plan, adm, rng)
                content = content_key(plan, text)
                if content not in keys:
                    break
            else:
                raise RuntimeError(f"no new {category} note in split {split!r} after {MAX_TRIES} draws")
            items.append((plan, text))
            keys.add(content)
        return items[index]

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        plan, text = self.draw(category, split, index, seed)
        adm = load_admission(self.db_path(), plan.hadm_id)
        title = TITLES[category]
        when = adm.dischtime if category == "discharge_summary" else plan.end
        a, b, c = (plan.statement(e) for e in (plan.entity_a, plan.entity_b, plan.entity_c))
        q1 = f'Is there an inconsistency between the note and the record about "{a.entity}"?'
        q2 = f'Is there an inconsistency between the note and the record about "{b.entity}"?'
        q3 = (
            f'How many inconsistencies between the note and the record are there about "{c.entity}"? '
            "Count each inconsistent stated value or time once (0 if none)."
        )
        prompt = (
            f"Below is a {title} written at {when} for hospital admission {plan.hadm_id} "
            f"(patient {adm.subject_id}). The admission's records are in the SQLite database '{DB_NAME}' "
            "(MIMIC-III schema: labevents with d_labitems, chartevents with d_items, prescriptions, ...). "
            f"{RULES} You will be asked three questions about this note, one at a time.\n\n"
            f"--- NOTE ---\n{text}\n--- END OF NOTE ---\n\n{q1}"
        )
        db = self.db_path()
        resource = Resource(
            kind="sqlite",
            name=DB_NAME,
            path=str(db.resolve()),
            description="MIMIC-III schema (EHRSQL version), read-only",
        )
        return Sample(
            id=make_sample_id(NAME, category, split, index, seed),
            dataset=NAME,
            category=category,
            split=split,
            index=index,
            seed=seed,
            prompt=prompt,
            resources=(resource,),
            target=Target(answer_type=AnswerType.BOOLEAN, value=a.errors > 0),
            solution=solution(text, a.entity, plan.hadm_id, count=False),
            followups=(
                FollowUp(
                    prompt=q2,
                    target=Target(answer_type=AnswerType.BOOLEAN, value=b.errors > 0),
                    solution=solution(text, b.entity, plan.hadm_id, count=False),
                ),
                FollowUp(
                    prompt=q3,
                    target=Target(answer_type=AnswerType.INTEGER, value=c.errors),
                    solution=solution(text, c.entity, plan.hadm_id, count=True),
                ),
            ),
            metadata={
                "hadm_id": plan.hadm_id,
                "note_type": category,
                "note_time": when,
                "window": [plan.start, plan.end],
                "entities": [a.entity, b.entity, c.entity],
                "injections": [list(x) for x in plan.injections()],
                "content_key": content_key(plan, text),
            },
        )

    # ---- import

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        from medagentgym.datasets.ehrcon.importer import import_ehrcon

        return import_ehrcon(Path(source), Path(output), **options)


def content_key(plan: Plan, text: str) -> str:
    """What makes a note distinct: admission, note type, the questioned entities, the injections, the text."""
    injections = ",".join(f"{e}:{k}" for e, k in plan.injections())
    entities = f"{plan.entity_a}/{plan.entity_b}/{plan.entity_c}"
    return f"{plan.hadm_id}|{plan.note_type}|{entities}|{injections}|{stable_hash(text):016x}"


def solution(note: str, entity: str, hadm_id: int, *, count: bool) -> Solution:
    """Python that checks every statement about ``entity`` against the database."""
    result = "n_inconsistent" if count else "n_inconsistent > 0"
    code = (
        "import sqlite3\n"
        f"{checker_source()}\n"
        f"NOTE = {note!r}\n"
        f'conn = sqlite3.connect(f"file:{{DATABASES[{DB_NAME!r}]}}?mode=ro", uri=True)\n'
        f"n_inconsistent = count_inconsistencies(NOTE, {entity!r}, conn, {hadm_id})\n"
        f"answer = {result}\n"
    )
    return Solution(language="python", code=code)


DATASET = EhrCon()
