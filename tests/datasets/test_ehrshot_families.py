"""EHRSHOT label families "new diagnosis" and "imaging" over the synthetic world.

The examples must be deterministic, lie inside the record, exclude the already diagnosed, have a
useful share of positives, an informative oracle risk, and labels a simple model can learn from
facts visible before the prediction time (computed here from the world's visible tables only).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from medagentgym.datasets.ehrshot import families_diagnosis as fd
from medagentgym.datasets.ehrshot import families_imaging as fi
from medagentgym.datasets.ehrshot.examples import Example, TaskSpec
from medagentgym.world import WORLD_NOW, world_path

#: Documented prevalence range per diagnosis task (rare tasks a few %, hypertension ~15%).
PREVALENCE = {
    "new_hypertension": (0.08, 0.25),
    "new_hyperlipidemia": (0.05, 0.20),
    "new_pancan": (0.02, 0.12),
    "new_celiac": (0.02, 0.12),
    "new_lupus": (0.02, 0.12),
    "new_acutemi": (0.03, 0.15),
}


def _spec(name: str) -> TaskSpec:
    if name == "chexpert":
        return TaskSpec("chexpert", "imaging", "multilabel", fi.COLUMNS, {})
    return TaskSpec(name, "new_diagnosis", "binary", ("score",), {})


@pytest.fixture(scope="module")
def con(world_cache: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"file:{world_path()}?mode=ro", uri=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def pools(con: sqlite3.Connection) -> dict[str, list[Example]]:
    out = {name: fd.examples(con, _spec(name)) for name in fd.TASKS}
    out["chexpert"] = fi.examples(con, _spec("chexpert"))
    return out


# --------------------------------------------------------------------------- visible features


def _visible_features(con: sqlite3.Connection, pool: list[Example]) -> np.ndarray:
    """Age, sex, weights, mean labs of the admission, and diagnosis / procedure codes and ICU care
    charted strictly before the prediction time: only tables an agent's view could hold."""
    labs: dict[tuple[int, int], float] = {}
    for hadm_id, itemid, value in con.execute(
        "SELECT hadm_id, itemid, AVG(valuenum) FROM labevents WHERE itemid IN (51222, 51265, 50912, 50862, 50885, "
        "50931) GROUP BY 1, 2"
    ):
        labs[(hadm_id, itemid)] = value
    codes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for subject_id, code, when in con.execute("SELECT subject_id, icd9_code, charttime FROM diagnoses_icd"):
        codes[subject_id].append((code, when))
    for subject_id, code, when in con.execute("SELECT subject_id, icd9_code, charttime FROM procedures_icd"):
        codes[subject_id].append(("p" + code, when))
    icu: dict[int, list[tuple[str, str]]] = defaultdict(list)
    icu_sql = f"SELECT hadm_id, intime, COALESCE(outtime, '{WORLD_NOW}') FROM icustays"
    for hadm_id, intime, outtime in con.execute(icu_sql):
        icu[hadm_id].append((intime, outtime))
    sex = dict(con.execute("SELECT subject_id, gender FROM patients").fetchall())
    adm = {h: (age, w) for h, age, w in con.execute(
        "SELECT a.hadm_id, a.age, ai.admit_weight_kg FROM admissions a JOIN admission_info ai USING (hadm_id)")}
    prefixes = ("250", "585", "414", "401", "272", "244", "199", "428", "42731", "496", "571",
                "486", "0389", "852", "807", "p9604", "p3893", "p3615", "p3961")
    rows = []
    for e in pool:
        age, weight = adm[e.hadm_id]
        seen = {c for c, when in codes[e.subject_id] if when < e.prediction_time}
        row = [age, sex[e.subject_id] == "f", weight]
        row += [labs.get((e.hadm_id, i), np.nan) for i in (51222, 51265, 50912, 50862, 50885, 50931)]
        row += [any(c.startswith(p) for c in seen) for p in prefixes]
        row += [any(i <= e.prediction_time < o for i, o in icu[e.hadm_id])]
        rows.append(row)
    x = np.array(rows, dtype=float)
    return np.where(np.isnan(x), np.nanmedian(x, axis=0), x)


def _cv_auroc(x: np.ndarray, y: np.ndarray) -> float:
    model = make_pipeline(StandardScaler(), LogisticRegression(solver="liblinear", max_iter=1000))
    scores = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


# --------------------------------------------------------------------------- new diagnosis


def test_deterministic(con: sqlite3.Connection, pools: dict[str, list[Example]]) -> None:
    for name in ("new_lupus", "new_acutemi", "chexpert"):
        module = fi if name == "chexpert" else fd
        assert module.examples(con, _spec(name)) == pools[name]
    for name, pool in pools.items():
        assert len({e.example_id for e in pool}) == len(pool), name


def test_unknown_task_rejected(con: sqlite3.Connection) -> None:
    with pytest.raises(KeyError):
        fd.examples(con, _spec("new_gout"))
    with pytest.raises(ValueError):
        fi.examples(con, TaskSpec("chexpert", "imaging", "multilabel", ("a", "b"), {}))


def test_prediction_time_is_discharge_night(con: sqlite3.Connection, pools: dict[str, list[Example]]) -> None:
    disch = dict(con.execute("SELECT hadm_id, dischtime FROM admissions").fetchall())
    owner = dict(con.execute("SELECT hadm_id, subject_id FROM admissions").fetchall())
    for name in fd.TASKS:
        for e in pools[name]:
            assert owner[e.hadm_id] == e.subject_id
            assert disch[e.hadm_id] is not None and e.prediction_time[:10] == disch[e.hadm_id][:10]
            assert e.prediction_time.endswith("23:59:00") and disch[e.hadm_id] <= e.prediction_time <= WORLD_NOW


def test_no_example_for_the_already_diagnosed(con: sqlite3.Connection, pools: dict[str, list[Example]]) -> None:
    latent = {h: set(c.split(";")) for h, c in con.execute("SELECT hadm_id, conditions FROM latent")}
    for name in fd.TASKS:
        where = " OR ".join(f"icd9_code LIKE '{p}%'" for p in fd.CODE_PREFIXES[name])
        first = dict(con.execute(f"SELECT subject_id, MIN(charttime) FROM diagnoses_icd WHERE {where} GROUP BY 1"))
        for e in pools[name]:
            assert first.get(e.subject_id, "9999") > e.prediction_time, (name, e)
            if name in fd.LATENT_CONDITION:
                assert fd.LATENT_CONDITION[name] not in latent[e.hadm_id]
    assert pools["new_hypertension"] and pools["new_hyperlipidemia"]


@pytest.mark.parametrize("name", fd.TASKS)
def test_diagnosis_task_is_useful(con: sqlite3.Connection, pools: dict[str, list[Example]], name: str) -> None:
    pool = pools[name]
    y = np.array([e.label for e in pool])
    risk = np.array([e.risk for e in pool])
    low, high = PREVALENCE[name]
    assert y.sum() >= 60 and low <= y.mean() <= high, (name, len(pool), int(y.sum()))
    assert roc_auc_score(y, risk) >= 0.75
    assert _cv_auroc(_visible_features(con, pool), y) >= 0.6


def test_acutemi_keeps_the_worlds_events(con: sqlite3.Connection, pools: dict[str, list[Example]]) -> None:
    """A recorded MI on a later admission within the year is always a positive, and there are some."""
    mi = defaultdict(list)
    for subject_id, when in con.execute("SELECT subject_id, charttime FROM diagnoses_icd WHERE icd9_code LIKE '410%'"):
        mi[subject_id].append(fd._dt(when))
    recorded = 0
    for e in pools["new_acutemi"]:
        t = fd._dt(e.prediction_time)
        assert t + fd.WINDOW <= fd._dt(WORLD_NOW)  # full follow-up
        if any(t < when <= t + fd.WINDOW for when in mi[e.subject_id]):
            recorded += 1
            assert e.label == 1
    assert recorded >= 10


def test_mi_probability_mirrors_the_generator(con: sqlite3.Connection) -> None:
    """The expected number of MI admissions under the mirrored draw matches the world's count."""
    rows = con.execute("SELECT conditions, problem FROM latent").fetchall()
    expected = sum(fd.mi_problem_probability(frozenset(c.split(";"))) for c, _ in rows)
    observed = sum(problem == "myocardial infarction" for _, problem in rows)
    assert abs(expected - observed) < 4 * expected**0.5, (expected, observed)


def test_examples_never_write_to_the_world(con: sqlite3.Connection) -> None:
    before = hashlib.sha256(Path(world_path()).read_bytes()).hexdigest()
    fd.examples(con, _spec("new_celiac"))
    fi.examples(con, _spec("chexpert"))
    assert hashlib.sha256(Path(world_path()).read_bytes()).hexdigest() == before
    tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not any("label" in name for name in tables)


# --------------------------------------------------------------------------- imaging


def test_chexpert_studies_inside_their_admission(con: sqlite3.Connection, pools: dict[str, list[Example]]) -> None:
    spans = {h: (s, a, d or WORLD_NOW) for h, s, a, d in con.execute(
        "SELECT hadm_id, subject_id, admittime, dischtime FROM admissions")}
    pool = pools["chexpert"]
    assert len(pool) >= 300
    for e in pool:
        subject_id, admit, end = spans[e.hadm_id]
        assert subject_id == e.subject_id and admit < e.prediction_time < end
        assert len(e.label) == len(e.risk) == len(fi.COLUMNS)
        assert e.label[0] == int(not any(e.label[1:]))  # "No Finding" means nothing else


def test_chexpert_labels_present_informative_learnable(con: sqlite3.Connection,
                                                      pools: dict[str, list[Example]]) -> None:
    pool = pools["chexpert"]
    y = np.array([e.label for e in pool])
    risk = np.array([e.risk for e in pool])
    positives = y.sum(axis=0)
    assert positives.min() >= 20 and (len(pool) - positives).min() >= 20, dict(zip(fi.COLUMNS, positives))
    risk_auc = [roc_auc_score(y[:, j], risk[:, j]) for j in range(len(fi.COLUMNS))]
    assert min(risk_auc) >= 0.6 and np.mean(risk_auc) >= 0.75
    x = _visible_features(con, pool)
    visible_auc = [_cv_auroc(x, y[:, j]) for j in range(len(fi.COLUMNS))]
    assert np.mean(visible_auc) >= 0.6
