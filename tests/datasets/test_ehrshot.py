"""ehrshot: categories, cohorts through the real env, grading, hidden labels, the record views.

Builds the pools and bars of a few tasks once per session (the others build the same way; the
catalog-wide tests build them all)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from medagentgym.catalog import get_dataset
from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.scoring import score_answer
from medagentgym.scoring.predictions import SessionFile

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared/reference/medagentgym-release/ehrshot/task.jsonl"
TASKS = ("guo_los", "guo_icu", "lab_anemia", "lab_hyperkalemia")


@pytest.fixture(scope="session")
def ehrshot_cache(world_cache: Path) -> Iterator[Path]:
    from medagentgym.datasets.ehrshot.build import ensure_built
    from medagentgym.datasets.ehrshot.tasks import task_spec

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(world_cache))
        ensure_built([task_spec(t) for t in TASKS])
    yield world_cache


@pytest.fixture
def ehrshot(ehrshot_cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(ehrshot_cache))
    return get_dataset("ehrshot")


@pytest.fixture(scope="module")
def env(sandbox_server):
    from medagentgym.env import MedAgentEnv

    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _csv(sample: Sample, name: str) -> list[list[str]]:
    text = (Path(sample.resources[0].path) / name).read_text()
    return [line.split(",") for line in text.strip().splitlines()]


def test_categories_are_the_fifteen_official_tasks() -> None:
    dataset = get_dataset("ehrshot")
    names = [c.name for c in dataset.categories()]
    assert len(names) == 15 and len(set(names)) == 15
    assert all(c.answer_type is AnswerType.PREDICTIONS for c in dataset.categories())
    assert dataset.family == "clinical_prediction"
    if REFERENCE.exists():
        official = [json.loads(line)["task_name"] for line in REFERENCE.read_text().splitlines() if line.strip()]
        assert sorted(names) == sorted(official)


def test_import_is_a_clear_credentialed_access_error(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="data use agreement"):
        get_dataset("ehrshot").import_file(tmp_path / "x.jsonl", tmp_path / "out.jsonl")


def test_oracle_scores_one_and_a_wrong_answer_zero_through_the_env(ehrshot, env) -> None:
    from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
    from medagentgym.rollout import run_episode

    for name, split in (("guo_los", "test"), ("lab_anemia", "train")):
        sample = ehrshot.generate(name, split, 0)
        good = run_episode(env, OraclePolicy(), sample, run_id="t")
        assert good.success and good.score.value == 1.0, good.score
        bad = run_episode(env, WrongAnswerPolicy(), sample, run_id="t")
        assert not bad.success and bad.score.value == 0.0, bad.score


@pytest.mark.parametrize("name", ["guo_icu", "lab_hyperkalemia"])
def test_constant_random_and_shuffled_predictions_score_zero(
    ehrshot, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = ehrshot.generate(name, "test", 0)
    task = sample.target.predictions
    assert task is not None and task.oracle >= task.bar
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(sample.solution.code, namespace)  # the oracle writes its predictions file here
    header, *lines = (tmp_path / namespace["answer"]).read_text().strip().splitlines()
    assert header == ",".join(("id", *task.columns))
    oracle_rows = {line.split(",")[0]: line.split(",")[1:] for line in lines}
    rng = np.random.default_rng(0)
    n, c = len(task.ids), len(task.columns)
    perm = rng.permutation(n)
    files = {
        "oracle": [oracle_rows[i] for i in task.ids],
        "constant": [["0.5"] * c for _ in range(n)],
        "random": rng.random((n, c)).round(5).astype(str).tolist(),
        "shuffled": [oracle_rows[task.ids[perm[j]]] for j in range(n)],
    }
    results = {}
    for kind, rows in files.items():
        body = "\n".join(",".join((i, *r)) for i, r in zip(task.ids, rows, strict=True))
        text = header + "\n" + body + "\n"
        results[kind] = score_answer("p.csv", sample.target, predictions_file=SessionFile("p.csv", text=text)).value
    assert results == {"oracle": 1.0, "constant": 0.0, "random": 0.0, "shuffled": 0.0}


def test_bars_sit_between_chance_baseline_and_oracle(ehrshot_cache: Path, monkeypatch) -> None:
    from medagentgym.datasets.ehrshot.cohorts import load_calibrations

    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(ehrshot_cache))
    rows = load_calibrations()
    for name in TASKS:
        c = rows[name]
        assert c.baseline_median > c.chance_limit - 0.05, c
        assert c.baseline_median > 0.6 and c.oracle_median > c.baseline_median + 0.05, c
        assert c.chance_limit <= c.bar < c.oracle_median, c


def test_generation_is_deterministic_and_splits_share_no_patient(ehrshot) -> None:
    from medagentgym.datasets.ehrshot.pool import group_of, load_pool

    a = ehrshot.generate("guo_los", "train", 1)
    b = ehrshot.generate("guo_los", "train", 1)
    assert a.model_dump() == b.model_dump()
    test = ehrshot.generate("guo_los", "test", 0)
    other = ehrshot.generate("guo_los", "train", 0)
    assert set(a.target.predictions.ids) != set(other.target.predictions.ids)
    assert len({s.metadata["content_key"] for s in (a, test, other)}) == 3
    pool = load_pool("guo_los")
    subject = dict(zip(pool.ids.tolist(), pool.subjects.tolist()))
    for sample, group in ((a, "train"), (other, "train"), (test, "test")):
        train_ids = [row[0] for row in _csv(sample, "train.csv")[1:]]
        test_ids = list(sample.target.predictions.ids)
        assert {group_of(subject[i]) for i in test_ids} == {group}
        assert {group_of(subject[i]) for i in train_ids} == {"visible"}
        people = [subject[i] for i in train_ids + test_ids]
        assert len(people) == len(set(people)), "one example per patient in a cohort"
    assert not {subject[i] for i in test.target.predictions.ids} & {subject[i] for i in a.target.predictions.ids}


def test_resources_hold_no_test_label_and_no_event_at_or_after_prediction_time(ehrshot) -> None:
    for name in ("guo_icu", "lab_anemia"):
        sample = ehrshot.generate(name, "test", 0)
        folder = Path(sample.resources[0].path)
        assert sorted(p.name for p in folder.iterdir()) == ["record.sqlite", "test.csv", "train.csv"]
        header, *rows = _csv(sample, "test.csv")
        assert "label" not in header and header[:2] == ["id", "prediction_time"]
        assert [r[0] for r in rows] == list(sample.target.predictions.ids)
        train_header, *train_rows = _csv(sample, "train.csv")
        assert train_header[-1] == "label"
        assert not {r[0] for r in train_rows} & set(sample.target.predictions.ids)
        con = sqlite3.connect(f"file:{folder / 'record.sqlite'}?mode=ro", uri=True)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"examples", "events"}
        columns = {r[1] for t in tables for r in con.execute(f"PRAGMA table_info({t})")}
        assert not columns & {"label", "risk", "severity", "los_days", "readmit_30d"}
        late = con.execute(
            "SELECT COUNT(*) FROM events e JOIN examples x ON x.id = e.id WHERE e.time >= x.prediction_time"
        ).fetchone()[0]
        assert late == 0
        assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] > 1000
        con.close()
        # The lab task's own result never shows: no event of the test example at its result time.
        assert str(sample.target.predictions.labels[0]) not in header


def test_a_session_cannot_reach_the_world_or_the_hidden_pools(ehrshot, can_open) -> None:
    from medagentgym.datasets.ehrshot.pool import hidden_dir
    from medagentgym.world import world_path

    sample = ehrshot.generate("guo_los", "test", 0)
    hidden = [world_path(), hidden_dir() / "pool-guo_los.npz", hidden_dir() / "calibration.json"]
    assert all(path.exists() for path in hidden)
    cohort = Path(sample.resources[0].path)
    assert can_open(sample.resources, *hidden, cohort / "train.csv", cohort / "record.sqlite") == [
        False, False, False, True, True
    ]


def test_embedding_is_deterministic_and_the_same_for_every_task(ehrshot) -> None:
    from medagentgym.datasets.ehrshot.pool import load_pool, shared_record

    los, icu = load_pool("guo_los"), load_pool("guo_icu")
    row_of = {i: k for k, i in enumerate(los.ids.tolist())}
    shared = [(k, row_of[i]) for k, i in enumerate(icu.ids.tolist()) if i in row_of]
    assert len(shared) > 100
    for k, j in shared[:50]:
        assert icu.times[k] == los.times[j]
        assert np.array_equal(icu.features[k], los.features[j])
    record = shared_record()
    sid, when = int(los.subjects[0]), str(los.times[0])
    assert np.array_equal(record.embedding(sid, when), record.embedding(sid, when))
    assert np.allclose(record.embedding(sid, when), los.features[0])
    # Only the record strictly before the time counts: an event exactly at the time changes nothing.
    timeline = record.timelines[sid]
    moment = timeline.times[len(timeline.times) // 2]
    before = record.events_before(sid, moment)
    assert all(t < moment for t, *_ in before) and len(before) < len(timeline.times)


def test_cohorts_hold_k_per_class_and_every_class_the_world_has(ehrshot) -> None:
    from medagentgym.datasets.ehrshot.cohorts import draw_cohort
    from medagentgym.datasets.ehrshot.pool import load_pool
    from medagentgym.datasets.ehrshot.tasks import task_spec

    spec = task_spec("lab_anemia")
    pool = load_pool("lab_anemia")
    cohort = draw_cohort(spec, pool, "test", random.Random(3))
    train = [int(pool.labels[r]) for r in cohort.train]
    test = [int(pool.labels[r]) for r in cohort.test]
    assert sorted(set(train)) == [0, 1, 2, 3] and all(train.count(c) == spec.params["k"] for c in range(4))
    assert sorted(set(test)) == [0, 1, 2, 3] and len(test) == spec.params["n_test"]
    assert min(test.count(c) for c in range(4)) >= 20


@pytest.mark.parametrize("name", ["new_acutemi", "chexpert"])
def test_other_families_make_valid_cohorts_when_installed(ehrshot, name: str) -> None:
    from medagentgym.datasets.ehrshot.build import ensure_built
    from medagentgym.datasets.ehrshot.tasks import family_available, task_spec

    spec = task_spec(name)
    if not family_available(spec.family):
        pytest.skip(f"family {spec.family} not installed")
    ensure_built([spec])
    sample = ehrshot.generate(name, "test", 0)
    task = sample.target.predictions
    assert task is not None and task.columns == spec.columns and task.oracle >= task.bar
    labels = np.asarray(task.labels).reshape(len(task.ids), -1)
    if spec.kind == "multilabel":
        assert (labels.min(axis=0) == 0).all() and (labels.max(axis=0) == 1).all()
    else:
        assert set(labels.ravel().tolist()) == {0, 1}
