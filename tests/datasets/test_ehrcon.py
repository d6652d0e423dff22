"""ehrcon: the category table, deterministic distinct notes on disjoint admissions, labels known by
construction that the record confirms (every injection kind detectable, every clean statement
matching), balanced yes/no questions that a constant answer cannot pass, the oracle through the
env, and the importer over the official rows with a tiny user folder."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from medagentgym.catalog import SPLITS, get_dataset
from medagentgym.catalog.dataset import Dataset
from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.datasets.ehrcon import DATASET
from medagentgym.datasets.ehrcon.dataset import admission_split
from medagentgym.datasets.ehrcon.entities import BY_NAME, count_inconsistencies
from medagentgym.datasets.ehrcon.notes import KINDS
from medagentgym.env import MedAgentEnv
from medagentgym.env.prompts import SYSTEM_PROMPTS, system_prompt
from medagentgym.policies import OraclePolicy, ScriptedPolicy
from medagentgym.rollout import run_episode
from medagentgym.world import world_path

CATEGORIES = ("nursing_note", "physician_note", "discharge_summary")
N = {"train": 8, "test": 5}


def test_registry_finds_ehrcon_with_three_note_types() -> None:
    assert get_dataset("ehrcon") is DATASET and isinstance(DATASET, Dataset)
    assert DATASET.family == "note_consistency" and "note_consistency" in SYSTEM_PROMPTS
    cats = DATASET.categories()
    assert tuple(c.name for c in cats) == CATEGORIES
    assert sum(c.count("train", full=True) for c in cats) == 3229
    assert sum(c.count("test", full=True) for c in cats) == 976
    with pytest.raises(KeyError, match="unknown ehrcon category"):
        DATASET.generate("radiology_report", "test", 0)


@pytest.fixture(scope="module")
def samples(mimic_iii_cache: Path) -> dict[tuple[str, str], list[Sample]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(mimic_iii_cache))
        return {(c, s): [DATASET.generate(c, s, i) for i in range(N[s])] for c in CATEGORIES for s in SPLITS}


@pytest.fixture
def db(mimic_iii_env: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{mimic_iii_env}?mode=ro", uri=True)
    yield con
    con.close()


def test_generation_is_deterministic_distinct_and_admission_disjoint(samples, mimic_iii_env: Path) -> None:
    hadms: dict[str, set[int]] = {s: set() for s in SPLITS}
    for (category, split), batch in samples.items():
        keys = [s.metadata["content_key"] for s in batch]
        assert len(set(keys)) == len(keys), (category, split)
        for sample in batch:
            assert sample.id == f"ehrcon/{category}/{split}/0/{sample.index}"
            assert admission_split(sample.metadata["hadm_id"]) == split
            hadms[split].add(sample.metadata["hadm_id"])
            assert system_prompt(sample) == SYSTEM_PROMPTS["note_consistency"]
    assert not hadms["train"] & hadms["test"]
    first = samples[("physician_note", "test")][0]
    DATASET._sequences.clear()  # a fresh draw of the same slot gives the same sample
    assert DATASET.generate("physician_note", "test", 0) == first
    assert (
        DATASET.generate("physician_note", "test", 0, seed=1).metadata["content_key"] != first.metadata["content_key"]
    )


def test_questions_are_balanced_by_construction(samples) -> None:
    counts: Counter[int] = Counter()
    for batch in samples.values():
        for sample in batch:
            q1, q2, q3 = sample.questions
            assert q1.target.answer_type is q2.target.answer_type is AnswerType.BOOLEAN
            assert {q1.target.value, q2.target.value} == {True, False}, sample.id
            assert q3.target.answer_type is AnswerType.INTEGER and 0 <= q3.target.value <= 3
            counts[q3.target.value] += 1
            a, b, c = sample.metadata["entities"]
            assert len({a, b, c}) == 3 and all(f'"{e}"' in q.prompt for e, q in zip((a, b, c), (q1, q2, q3)))
    assert len(counts) >= 3  # counts spread over 0..3, not a constant


def test_record_confirms_every_label_and_every_injection_kind(samples, db: sqlite3.Connection) -> None:
    """The checker (what the oracle runs in the sandbox) finds exactly the injected inconsistencies:
    zero for every statement copied from the record, one per injected fact."""
    kinds: Counter[str] = Counter()
    for (category, split), batch in samples.items():
        for sample in batch:
            plan, text = DATASET.draw(category, split, sample.index, 0)
            for statement in plan.statements:
                got = count_inconsistencies(text, statement.entity, db, plan.hadm_id)
                assert got == statement.errors, (sample.id, statement)
            kinds.update(k for _, k in plan.injections())
            for question, entity in zip(sample.questions, sample.metadata["entities"]):
                errors = plan.statement(entity).errors
                assert question.target.value == (
                    errors if question.target.answer_type is AnswerType.INTEGER else errors > 0
                )
    assert set(kinds) == set(KINDS), kinds


def test_clean_measurements_match_the_database_directly(samples, db: sqlite3.Connection) -> None:
    """Independent of the checker: an uninjected charted value is in the table at that minute."""
    checked = 0
    for (category, split), batch in samples.items():
        for sample in batch[:3]:
            plan, _ = DATASET.draw(category, split, sample.index, 0)
            for statement in plan.statements:
                if statement.kind != "measure":
                    continue
                item = BY_NAME[statement.entity]
                for fact in statement.facts:
                    rows = db.execute(
                        f"SELECT valuenum FROM {item.table} WHERE hadm_id = ? AND itemid = ? AND charttime LIKE ?",
                        (plan.hadm_id, item.itemid, fact.time + "%"),
                    ).fetchall()
                    found = any(f"{v:.{item.decimals}f}" == fact.value for (v,) in rows)
                    assert found == (not fact.error), (sample.id, statement.entity, fact)
                    checked += 1
    assert checked > 50


def test_no_hidden_world_data_is_reachable(samples, mimic_iii_env: Path) -> None:
    sample = samples[("discharge_summary", "test")][0]
    (resource,) = sample.resources
    assert resource.kind == "sqlite" and Path(resource.path) == mimic_iii_env.resolve()
    con = sqlite3.connect(f"file:{resource.path}?mode=ro", uri=True)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert not tables & {"latent", "outcomes"}
    view = json.dumps(sample.public_view())
    for followup in sample.followups:
        assert followup.prompt not in view
    assert "injections" not in view and "NOTE = " not in sample.prompt


@pytest.mark.parametrize("category", CATEGORIES)
def test_oracle_succeeds_and_constant_answers_never_do(
    samples, mimic_iii_env: Path, sandbox_server, category: str
) -> None:
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        for sample in samples[(category, "test")][:2]:
            good = run_episode(env, OraclePolicy(), sample, run_id="t")
            assert good.success and good.reward == 1.0, (sample.id, good.status, good.score)
        for sample in samples[(category, "test")][:3]:
            for constant in (False, True):
                policy = ScriptedPolicy([json.dumps({"action": "submit", "answer": constant})])
                bad = run_episode(env, policy, sample, run_id="t")
                assert bad.status == "ok" and not bad.success and bad.reward < 1.0, (sample.id, constant)
                # exactly one of the two yes/no questions is right
                assert sum(p.correct for p in bad.score.parts[:2]) == 1
    finally:
        env.close()


def test_a_session_reads_the_view_but_cannot_open_the_world(samples, mimic_iii_env: Path, can_open) -> None:
    sample = samples[("nursing_note", "test")][0]
    assert world_path().exists()
    assert can_open(sample.resources, mimic_iii_env, world_path()) == [True, False]
