"""mimic_extract: the stays and their windows, cohorts graded through the real env (the oracle
reaches the bar; constant, random and label-shuffled predictions do not), the baseline between
chance and the oracle, determinism, disjoint splits, and test labels nobody can reach."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.catalog import get_dataset
from medagentgym.catalog.dataset import Dataset
from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.datasets.mimic_extract import DATASET
from medagentgym.datasets.mimic_extract import cohorts as cohort_module
from medagentgym.datasets.mimic_extract.extract import (
    GAP_H,
    LONG_WINDOW_H,
    PREDICTION_WINDOW_H,
    SHORT_WINDOW_H,
    column_names,
)
from medagentgym.datasets.mimic_extract.tasks import TASKS
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy
from medagentgym.rollout import run_episode
from medagentgym.scoring import score_answer
from medagentgym.scoring.predictions import SessionFile
from medagentgym.world import world_path

CATEGORIES = ("mortality", "length_of_stay", "intervention")
#: Calibration cohorts per (task, split) in tests (the real build uses 20): bars only need to exist.
TEST_COHORTS = 8


@pytest.fixture(scope="module")
def built(world_cache: Path) -> Iterator[Path]:
    """The world cache with mimic_extract built (fewer calibration cohorts, to stay fast)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(world_cache))
        mp.setattr(cohort_module, "CALIBRATION_COHORTS", TEST_COHORTS)
        DATASET.build()
        yield world_cache


@pytest.fixture(scope="module")
def samples(built: Path) -> dict[tuple[str, str], list[Sample]]:
    """Every sample of the default catalog, by (category, split)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(built))
        mp.setattr(cohort_module, "CALIBRATION_COHORTS", TEST_COHORTS)
        return {
            (c.name, split): [DATASET.generate(c.name, split, i) for i in range(c.count(split))]
            for c in DATASET.categories()
            for split in ("train", "test")
        }


@pytest.fixture(scope="module")
def env(sandbox_server, built: Path) -> Iterator[MedAgentEnv]:  # type: ignore[no-untyped-def]
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _csv(ids: list[str], scores: list[float]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "score"])
    writer.writerows([i, repr(float(s))] for i, s in zip(ids, scores, strict=True))
    return out.getvalue()


def _grade(sample: Sample, text: str) -> float:
    submitted = SessionFile("predictions.csv", text=text)
    return score_answer("predictions.csv", sample.target, predictions_file=submitted).value


# --------------------------------------------------------------------------- table and stays


def test_registry_and_category_table() -> None:
    assert get_dataset("mimic_extract") is DATASET
    assert isinstance(DATASET, Dataset)
    assert DATASET.family == "clinical_prediction"
    categories = DATASET.categories()
    assert [c.name for c in categories] == list(CATEGORIES)
    for c in categories:
        assert c.answer_type is AnswerType.PREDICTIONS
        assert c.full_counts == {"train": 1, "test": 1}
        assert len(c.params["tasks"]) == 2 and all(TASKS[t].category == c.name for t in c.params["tasks"])
    assert sorted(t for c in categories for t in c.params["tasks"]) == sorted(TASKS)
    with pytest.raises(KeyError, match="unknown mimic_extract category"):
        DATASET.generate("no-such-task", "test", 0)
    with pytest.raises(ValueError, match="credentialed"):
        DATASET.import_file(Path("x.csv"), Path("out.jsonl"))


def test_stays_respect_the_windows_and_the_patient_partition(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(built))
    stays = cohort_module.stays()
    assert len(stays) > 800
    for stay in stays:
        assert stay.icu_hours >= SHORT_WINDOW_H + GAP_H + PREDICTION_WINDOW_H
        assert {"vasopressor", "ventilation"} <= set(stay.labels)
        long_ok = stay.icu_hours >= LONG_WINDOW_H + GAP_H
        assert ("mort_icu" in stay.labels) == long_ok
        if long_ok:
            assert stay.labels["mort_icu"] <= stay.labels["mort_hosp"]  # an ICU death is a hospital death
            assert stay.labels["los_7"] <= stay.labels["los_3"]
        assert all(0 <= hour < LONG_WINDOW_H for _, hour in stay.grid)
        assert set(stay.labels.values()) <= {0, 1} and all(0 <= r <= 1 for r in stay.oracle.values())
    pools: dict[int, set[str]] = {}
    for stay in stays:
        pools.setdefault(stay.subject_id, set()).add(cohort_module.pool_of(stay.subject_id))
    assert all(len(p) == 1 for p in pools.values())  # a patient's stays share one pool
    keys = [cohort_module.stay_key(s) for s in stays]
    assert len(set(keys)) == len(keys)
    for name in TASKS:
        rate = sum(s.labels[name] for s in stays if name in s.labels) / sum(name in s.labels for s in stays)
        assert 0.03 < rate < 0.6, (name, rate)


# --------------------------------------------------------------------------- samples


def test_samples_alternate_tasks_and_describe_their_files(samples: dict[tuple[str, str], list[Sample]]) -> None:
    for (category, split), group in samples.items():
        tasks = [s.metadata["task"] for s in group]
        assert set(tasks) == set(DATASET.category(category).params["tasks"])
        for sample in group:
            task = TASKS[sample.metadata["task"]]
            assert f"`{task.name}`" in sample.prompt and "train.csv" in sample.prompt and "test.csv" in sample.prompt
            assert f"h{task.window_h - 1:02d}" in sample.prompt
            (resource,) = sample.resources
            assert resource.kind == "directory" and resource.name == "cohort"
            folder = Path(resource.path)
            assert sorted(p.name for p in folder.iterdir()) == ["test.csv", "train.csv"]
            header, rows = _read(folder / "train.csv")
            assert tuple(header) == ("id", *column_names(task.window_h), task.name)
            assert len(rows) == sample.metadata["n_train"] and {r[-1] for r in rows} == {"0", "1"}
            header, rows = _read(folder / "test.csv")
            assert tuple(header) == ("id", *column_names(task.window_h))
            predictions = sample.target.predictions
            assert predictions is not None and [r[0] for r in rows] == list(predictions.ids)
            assert set(predictions.labels) == {0, 1}
            assert predictions.oracle >= predictions.bar > 0.5


def test_oracle_scores_one_through_the_env(env: MedAgentEnv, samples: dict[tuple[str, str], list[Sample]]) -> None:
    for category in CATEGORIES:
        sample = samples[(category, "test")][0]
        trajectory = run_episode(env, OraclePolicy(), sample, run_id="mimic-extract")
        assert trajectory.success and trajectory.reward == 1.0, (sample.id, trajectory.score)


def test_constant_random_and_shuffled_predictions_score_zero(samples: dict[tuple[str, str], list[Sample]]) -> None:
    rng = random.Random(7)
    for group in samples.values():
        for sample in group:
            task = sample.target.predictions
            assert task is not None
            ids = list(task.ids)
            assert _grade(sample, _csv(ids, [0.5] * len(ids))) == 0.0
            assert _grade(sample, _csv(ids, [rng.random() for _ in ids])) == 0.0
            shuffled = list(task.labels)
            rng.shuffle(shuffled)
            assert _grade(sample, _csv(ids, [float(v) for v in shuffled])) == 0.0
            assert _grade(sample, _csv(ids, [float(v) for v in task.labels])) == 1.0  # the labels themselves pass
            assert _grade(sample, _csv(ids[1:], [0.5] * (len(ids) - 1))) == 0.0  # a missing id is an error


def test_baseline_is_between_chance_and_the_oracle(built: Path, monkeypatch: pytest.MonkeyPatch,
                                                   samples: dict[tuple[str, str], list[Sample]]) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(built))
    monkeypatch.setattr(cohort_module, "CALIBRATION_COHORTS", TEST_COHORTS)
    table = cohort_module.calibration()
    for split, rows in table.items():
        assert set(rows) == set(TASKS)
        for row in rows.values():
            assert row.baseline_median >= 0.6, (split, row)
            assert row.oracle_median > row.baseline_median, (split, row)  # mortality is near the ceiling
            assert row.bar >= row.chance_limit > 0.5
        gaps = [r.oracle_median - r.baseline_median for r in rows.values()]
        assert sum(gaps) / len(gaps) >= 0.05, (split, gaps)
    for group in samples.values():
        oracle = [s.target.predictions.oracle for s in group]  # type: ignore[union-attr]
        baseline = [s.target.predictions.baseline for s in group]  # type: ignore[union-attr]
        assert sum(oracle) / len(oracle) > sum(baseline) / len(baseline)
    assert "| mort_icu |" in cohort_module.calibration_table("test")


def test_generation_is_deterministic_and_splits_are_disjoint(
    built: Path, monkeypatch: pytest.MonkeyPatch, samples: dict[tuple[str, str], list[Sample]]
) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(built))
    monkeypatch.setattr(cohort_module, "CALIBRATION_COHORTS", TEST_COHORTS)
    again = DATASET.generate("length_of_stay", "test", 1)
    assert again == samples[("length_of_stay", "test")][1]
    test_ids: dict[str, set[str]] = {"train": set(), "test": set()}
    train_ids: set[str] = set()
    for (_, split), group in samples.items():
        keys = [s.metadata["content_key"] for s in group]
        assert len(set(keys)) == len(keys)
        for sample in group:
            test_ids[split] |= set(sample.target.predictions.ids)  # type: ignore[union-attr]
            train_ids |= {r[0] for r in _read(Path(sample.resources[0].path) / "train.csv")[1]}
    assert not test_ids["train"] & test_ids["test"]
    assert not train_ids & (test_ids["train"] | test_ids["test"])


def test_same_sample_in_a_fresh_process(built: Path, samples: dict[tuple[str, str], list[Sample]]) -> None:
    code = (
        "import json, sys\n"
        "from medagentgym.datasets.mimic_extract import DATASET, cohorts\n"
        f"cohorts.CALIBRATION_COHORTS = {TEST_COHORTS}\n"
        "s = DATASET.generate('intervention', 'test', 0)\n"
        "print(json.dumps(s.model_dump(mode='json'), sort_keys=True))\n"
    )
    env = {"MEDAGENTGYM_CACHE": str(built), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    expected = samples[("intervention", "test")][0].model_dump(mode="json")
    assert json.loads(out.stdout) == json.loads(json.dumps(expected, sort_keys=True))


# --------------------------------------------------------------------------- hidden labels


def test_test_labels_are_written_nowhere(built: Path, samples: dict[tuple[str, str], list[Sample]]) -> None:
    hidden = {i for group in samples.values() for s in group for i in s.target.predictions.ids}  # type: ignore[union-attr]
    folder = built / "datasets" / "mimic_extract"
    labelled: set[str] = set()
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.name == "calibration.json":  # aggregates only
            data = json.loads(path.read_text())
            assert not any(i in path.read_text() for i in list(hidden)[:50])
            assert set(data) == {"stamp", "cohorts", "splits"}
            continue
        header, rows = _read(path)
        if path.name == "test.csv":
            assert not set(header) & set(TASKS)
        else:
            assert path.name == "train.csv" and header[-1] in TASKS
            labelled |= {r[0] for r in rows}
    assert not labelled & hidden
    for group in samples.values():
        for sample in group:
            assert str(world_path()) not in sample.prompt
            assert all("world" not in Path(r.path).parts for r in sample.resources)
            view = sample.public_view()
            assert "target" not in view and "metadata" not in view


def test_a_session_cannot_open_the_world(can_open, samples: dict[tuple[str, str], list[Sample]]) -> None:  # type: ignore[no-untyped-def]
    sample = samples[("mortality", "test")][0]
    folder = Path(sample.resources[0].path)
    assert world_path().exists()
    assert can_open(sample.resources, folder / "train.csv", folder / "test.csv", world_path()) == [True, True, False]


def test_build_removes_cohorts_of_other_stamps(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(built))
    monkeypatch.setattr(cohort_module, "CALIBRATION_COHORTS", TEST_COHORTS)
    stale = built / "datasets" / "mimic_extract" / "cohorts" / "00000000" / "test" / "0" / "mortality-0000"
    stale.mkdir(parents=True)
    (stale / "train.csv").write_text("id\n")
    current = cohort_module.cohort_folder("mortality", "test", 0, 0)
    DATASET.build()
    assert not stale.parents[2].exists()
    assert current.parents[2].exists() or not current.exists()


_AGENT = """
import pandas as pd, numpy as np, os
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler
folder = RESOURCES['cohort']
train = pd.read_csv(os.path.join(folder, 'train.csv'))
test = pd.read_csv(os.path.join(folder, 'test.csv'))
label = train.columns[-1]
def feats(df):
    out = pd.DataFrame({'age': df['age'], 'male': (df['sex'] == 'M').astype(float)})
    for var in sorted({c.rsplit('_h', 1)[0] for c in df.columns if '_h' in c and c[-2:].isdigit()}):
        cols = [c for c in df.columns if c.startswith(var + '_h')]
        out[var + '_mean'] = df[cols].mean(axis=1)
        out[var + '_max'] = df[cols].max(axis=1)
    return out
model = make_pipeline(SimpleImputer(strategy='median', keep_empty_features=True), StandardScaler(),
                      LogisticRegression(max_iter=2000))
model.fit(feats(train), train[label])
pd.DataFrame({'id': test['id'], 'score': model.predict_proba(feats(test))[:, 1]}).to_csv('predictions.csv', index=False)
print(len(test))
"""


def test_a_model_fitted_in_the_sandbox_learns_the_task(env: MedAgentEnv,
                                                       samples: dict[tuple[str, str], list[Sample]]) -> None:
    """An agent's ordinary pipeline (read the files, fit, predict) works through the env and is
    far above chance: the files carry the signal, not only the oracle's latent risk."""
    from medagentgym.policies.scripted import ScriptedPolicy

    sample = samples[("intervention", "test")][0]
    outputs = [
        json.dumps({"action": "execute_python", "code": _AGENT}),
        json.dumps({"action": "submit", "answer": "predictions.csv"}),
    ]
    trajectory = run_episode(env, ScriptedPolicy(outputs), sample, run_id="mimic-extract-agent")
    parsed = trajectory.score.parsed
    assert trajectory.status == "ok" and isinstance(parsed, dict), trajectory.score
    assert parsed["metric"] > 0.65, parsed
