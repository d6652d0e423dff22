"""ehrshot's operational and lab label families against the world they label."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from medagentgym.datasets.ehrshot.families_lab import LABS
from medagentgym.datasets.ehrshot.tasks import family_module, task_spec


@pytest.fixture(scope="module")
def world(world_cache: Path) -> Iterator[sqlite3.Connection]:
    from medagentgym.world import world_path

    con = sqlite3.connect(f"file:{world_path()}?mode=ro", uri=True)
    yield con
    con.close()


def test_lab_grades_follow_the_official_cut_points() -> None:
    assert [LABS["thrombocytopenia"].grade(v) for v in (150, 149, 100, 99, 50, 49)] == [0, 1, 1, 2, 2, 3]
    assert [LABS["hyperkalemia"].grade(v) for v in (5.5, 5.6, 6.0, 6.1, 7.0, 7.1)] == [0, 1, 1, 2, 2, 3]
    assert [LABS["hypoglycemia"].grade(v) for v in (71, 70, 63, 62, 54, 53)] == [0, 1, 1, 2, 2, 3]
    assert [LABS["hyponatremia"].grade(v) for v in (135, 134, 130, 129, 125, 124)] == [0, 1, 1, 2, 2, 3]
    assert [LABS["anemia"].grade(v) for v in (12.0, 11.9, 11.0, 10.9, 7.0, 6.9)] == [0, 1, 1, 2, 2, 3]
    for grade in LABS.values():
        assert abs(sum(grade.probabilities(grade.cuts[1], 1.0)) - 1) < 1e-9


@pytest.mark.parametrize("name", ["guo_los", "guo_readmission", "guo_icu"])
def test_operational_examples_follow_the_definitions(world: sqlite3.Connection, name: str) -> None:
    spec = task_spec(name)
    examples = family_module(spec.family).examples(world, spec)
    assert len(examples) > 500 and len({e.example_id for e in examples}) == len(examples)
    stays = {h: (a, d) for h, a, d in world.execute("SELECT hadm_id, admittime, dischtime FROM admissions")}
    first_icu = dict(world.execute("SELECT hadm_id, MIN(intime) FROM icustays GROUP BY hadm_id").fetchall())
    query = "SELECT hadm_id, long_stay_7d, readmit_30d, died_in_hospital FROM outcomes"
    outcomes = {r[0]: r[1:] for r in world.execute(query)}
    for e in examples:
        admit, disch = stays[e.hadm_id]
        assert e.prediction_time == f"{admit[:10]} 23:59:00" < disch
        assert 0 <= e.risk <= 1 and e.label in (0, 1)
        long_stay, readmit, died = outcomes[e.hadm_id]
        if name == "guo_los":
            assert e.label == long_stay
        elif name == "guo_readmission":
            assert not died and e.label == readmit
        else:
            icu = first_icu.get(e.hadm_id)
            assert icu is None or icu >= e.prediction_time
            assert e.label == int(icu is not None)
    assert 0.05 < sum(e.label for e in examples) / len(examples) < 0.6


def test_lab_examples_are_results_graded_with_their_value(world: sqlite3.Connection) -> None:
    spec = task_spec("lab_hyperkalemia")
    examples = family_module(spec.family).examples(world, spec)
    values = dict(world.execute("SELECT row_id, valuenum FROM labevents WHERE itemid = 50971").fetchall())
    times = dict(world.execute("SELECT row_id, charttime FROM labevents WHERE itemid = 50971").fetchall())
    assert len(examples) == len(values)
    for e in examples[::37]:
        row_id = int(e.example_id.split("-")[1])
        assert e.label == LABS["hyperkalemia"].grade(values[row_id])
        gap = datetime.fromisoformat(times[row_id]) - datetime.fromisoformat(e.prediction_time)
        assert gap == timedelta(seconds=1)
        assert len(e.risk) == 4 and abs(sum(e.risk) - 1) < 1e-3
    assert {e.label for e in examples} == {0, 1, 2, 3}
