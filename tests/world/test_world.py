"""The synthetic hospital world: determinism, stamps, coherence, and outcomes predictable from the record."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.world import (
    HIDDEN_TABLES,
    MIMIC_TABLES,
    SEED,
    WORLD_NOW,
    build_view,
    build_world,
    stamp_of,
    world_stamp,
)


def content_hash(path: Path, tables: tuple[str, ...] = ("patients", "admissions", "labevents",
                                                        "chartevents", "latent", "outcomes")) -> str:
    digest = hashlib.sha256()
    con = sqlite3.connect(path)
    try:
        for table in tables:
            for row in con.execute(f"select * from {table} order by 1, 2"):
                digest.update(repr(row).encode())
    finally:
        con.close()
    return digest.hexdigest()


def one(con: sqlite3.Connection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


@pytest.fixture
def world(world_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default world, from the test session's shared world cache."""
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(world_cache))
    return build_world()


@pytest.fixture
def con(world: Path) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(f"file:{world}?mode=ro", uri=True)
    yield c
    c.close()


def test_small_worlds_are_deterministic_and_seeded(tmp_path: Path) -> None:
    a = build_world(path=tmp_path / "a.sqlite", n_patients=40)
    b = build_world(path=tmp_path / "b.sqlite", n_patients=40)
    c = build_world(path=tmp_path / "c.sqlite", n_patients=40, seed=SEED + 1)
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(c)


def test_build_is_idempotent_atomic_and_stamped(tmp_path: Path) -> None:
    path = build_world(path=tmp_path / "w.sqlite", n_patients=30)
    assert stamp_of(path) == world_stamp(n_patients=30)
    first = path.stat().st_mtime_ns
    build_world(path=path, n_patients=30)
    assert path.stat().st_mtime_ns == first  # nothing rebuilt
    c = sqlite3.connect(path)
    c.execute("pragma user_version = 0")  # an outdated stamp forces a rebuild
    c.commit()
    c.close()
    build_world(path=path, n_patients=30)
    assert stamp_of(path) == world_stamp(n_patients=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.sqlite"]  # no temp files left


def test_concurrent_builders_build_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two builders of one target at once (the test suite's workers, corpus build's processes):
    one writes, the other waits on the lock and then finds the stamp in place."""
    import threading

    from medagentgym.world import build as build_module

    writes: list[int] = []
    started = threading.Barrier(2)
    real_write = build_module.write_world

    def counted(tmp: Path, **kwargs: object) -> None:
        writes.append(1)
        real_write(tmp, **kwargs)

    monkeypatch.setattr(build_module, "write_world", counted)
    target = tmp_path / "w.sqlite"

    def builder() -> None:
        started.wait()
        build_world(path=target, n_patients=30)

    threads = [threading.Thread(target=builder) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(writes) == 1
    assert stamp_of(target) == world_stamp(n_patients=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.sqlite"]


def test_a_view_may_not_copy_hidden_tables(world: Path, tmp_path: Path) -> None:
    def leak(c: sqlite3.Connection) -> None:
        c.execute("create table latent as select * from world.latent")

    with pytest.raises(RuntimeError, match="hidden world tables"):
        build_view("leaky", version=1, ddl="", populate=leak, path=tmp_path / "leaky.sqlite")
    assert not (tmp_path / "leaky.sqlite").exists()


def test_view_rebuilds_when_its_population_changes(world: Path, tmp_path: Path) -> None:
    target = tmp_path / "v.sqlite"
    ddl = "create table n (k integer);"

    def one_row(c: sqlite3.Connection) -> None:
        c.execute("insert into n select count(*) from world.patients")

    def two_rows(c: sqlite3.Connection) -> None:
        c.execute("insert into n select count(*) from world.patients union all select 2")

    build_view("v", version=1, ddl=ddl, populate=one_row, path=target)
    stamp = stamp_of(target)
    build_view("v", version=1, ddl=ddl, populate=two_rows, path=target)
    assert stamp_of(target) != stamp
    c = sqlite3.connect(target)
    assert c.execute("select count(*) from n").fetchone()[0] == 2
    c.close()


def test_every_table_is_filled_and_timelines_hold(con: sqlite3.Connection) -> None:
    for table in MIMIC_TABLES + ("patient_info", "admission_info", "allergies", "lab_items",
                                 "drug_info") + HIDDEN_TABLES:
        assert one(con, f"select count(*) from {table}") > 0, table
    end = f"coalesce(a.dischtime, '{WORLD_NOW}')"
    assert one(con, "select count(*) from admissions where dischtime <= admittime") == 0
    assert one(con, f"""select count(*) from icustays i join admissions a using (hadm_id)
        where i.intime < a.admittime or coalesce(i.outtime, '{WORLD_NOW}') > {end}""") == 0
    for table in ("labevents", "diagnoses_icd", "procedures_icd", "microbiologyevents", "prescriptions"):
        column = "startdate" if table == "prescriptions" else "charttime"
        assert one(con, f"""select count(*) from {table} e join admissions a using (hadm_id)
            where e.{column} < substr(a.admittime, 1, 13) or e.{column} > {end}""") == 0, table
    # a readmission starts after the previous discharge
    assert one(con, """select count(*) from admissions a join admissions b
        on a.subject_id = b.subject_id and b.admittime > a.admittime
        where b.admittime < a.dischtime""") == 0


def test_outcomes_agree_with_the_record(con: sqlite3.Connection) -> None:
    """Each hidden outcome is what the visible record shows."""
    died = "select hadm_id from outcomes where died_in_hospital = 1"
    assert one(con, f"""select count(*) from admissions where hadm_id in ({died})
        and discharge_location <> 'dead/expired'""") == 0
    assert one(con, f"""select count(*) from admissions where hadm_id not in ({died})
        and discharge_location = 'dead/expired'""") == 0
    assert one(con, f"""select count(*) from admission_info where hospital_expire_flag = 1
        and hadm_id not in ({died})""") == 0
    assert one(con, """select count(*) from outcomes o join admissions a using (hadm_id)
        where abs(o.los_days - (julianday(a.dischtime) - julianday(a.admittime))) > 0.001""") == 0
    assert one(con, """select count(*) from outcomes o where o.readmit_30d = 1 and not exists (
        select 1 from admissions a join admissions b on a.subject_id = b.subject_id
        where a.hadm_id = o.hadm_id and b.admittime > a.dischtime
        and julianday(b.admittime) - julianday(a.dischtime) < 30)""") == 0
    assert one(con, """select count(*) from outcomes o where o.ventilation = 1 and not exists (
        select 1 from procedures_icd p where p.hadm_id = o.hadm_id
        and p.icd9_code in ('9671', '9672'))""") == 0
    assert one(con, """select count(*) from outcomes o where o.vasopressor = 1 and not exists (
        select 1 from inputevents_cv e join d_items d using (itemid)
        where e.hadm_id = o.hadm_id and d.label in ('levophed', 'vasopressin'))""") == 0
    assert one(con, """select count(*) from outcomes o where o.icu_transfer = 1 and not exists (
        select 1 from icustays i join admissions a using (hadm_id) where i.hadm_id = o.hadm_id
        and julianday(i.intime) - julianday(a.admittime) > 1)""") == 0
    # plausible shares (general ICU-cohort magnitudes, not fitted to anything)
    rates = con.execute("""select avg(died_in_hospital), avg(long_stay_7d), avg(icu_admission)
        from outcomes where los_days is not null""").fetchone()
    assert 0.04 < rates[0] < 0.2 and 0.1 < rates[1] < 0.4 and 0.4 < rates[2] < 0.9


def first_day_features(con: sqlite3.Connection):
    """Per admission: age and the mean of each lab and vital in the first 24 hours."""
    import pandas as pd

    labs = pd.read_sql(
        """select l.hadm_id, d.label, avg(l.valuenum) as v from labevents l
        join admissions a using (hadm_id) join d_labitems d using (itemid)
        where julianday(l.charttime) - julianday(a.admittime) <= 1 group by l.hadm_id, d.label""",
        con,
    )
    vitals = pd.read_sql(
        """select c.hadm_id, d.label, avg(c.valuenum) as v from chartevents c
        join admissions a using (hadm_id) join d_items d using (itemid)
        where julianday(c.charttime) - julianday(a.admittime) <= 1 group by c.hadm_id, d.label""",
        con,
    )
    x = labs.pivot(index="hadm_id", columns="label", values="v")
    x = x.join(vitals.pivot(index="hadm_id", columns="label", values="v"), how="left")
    x = x.join(pd.read_sql("select hadm_id, age from admissions", con).set_index("hadm_id"))
    y = pd.read_sql(
        "select hadm_id, died_in_hospital, long_stay_7d from outcomes where los_days is not null", con
    ).set_index("hadm_id")
    data = x.join(y, how="inner")
    features = [c for c in x.columns if data[c].notna().mean() > 0.2]
    return data, features


@pytest.mark.parametrize("outcome", ["died_in_hospital", "long_stay_7d"])
def test_outcomes_are_predictable_from_first_day_features(con: sqlite3.Connection, outcome: str) -> None:
    """A logistic regression on first-day labs, vitals and age reaches AUROC >= 0.70 (5-fold)."""
    sklearn = pytest.importorskip("sklearn", reason="scikit-learn comes with the test extra")
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    assert sklearn is not None
    data, features = first_day_features(con)
    assert len(features) >= 20 and len(data) > 1000
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000, C=0.3))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    predicted = cross_val_predict(model, data[features], data[outcome], cv=folds, method="predict_proba")[:, 1]
    auroc = roc_auc_score(data[outcome], predicted)
    assert auroc >= 0.70, f"{outcome}: AUROC {auroc:.3f}"


def test_every_code_the_clinical_model_uses_is_in_the_dictionaries(con: sqlite3.Connection) -> None:
    """A code missing from d_icd_* would vanish from every view that joins on titles."""
    from medagentgym.world import clinical

    dx = {r[0] for r in con.execute("select icd9_code from d_icd_diagnoses")}
    sg = {r[0] for r in con.execute("select icd9_code from d_icd_procedures")}
    used_dx = {c for cond in clinical.CONDITIONS for c in cond.codes}
    used_dx |= {c for problem in clinical.PROBLEMS for c in problem.codes}
    used_sg = {c for problem in clinical.PROBLEMS for c in problem.procedures}
    assert used_dx <= dx and used_sg <= sg
    assert one(con, "select count(*) from diagnoses_icd where icd9_code not in (select icd9_code from d_icd_diagnoses)") == 0
    assert one(con, "select count(*) from procedures_icd where icd9_code not in (select icd9_code from d_icd_procedures)") == 0
    drugs = {r[0] for r in con.execute("select distinct drug from prescriptions")}
    for name in {d for cond in clinical.CONDITIONS for d in cond.drugs} | {d for p in clinical.PROBLEMS for d in p.drugs}:
        assert name in drugs, name


def test_world_size_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from medagentgym.world import N_PATIENTS, SIZE_VARIABLE, WorldSizeError, view_path, world_size

    monkeypatch.delenv(SIZE_VARIABLE, raising=False)
    assert world_size() == N_PATIENTS
    default_view = view_path("mimic_iii")
    monkeypatch.setenv(SIZE_VARIABLE, "5000")
    assert world_size() == 5000 and view_path("mimic_iii").name == "mimic_iii-5000.sqlite"
    assert view_path("mimic_iii") != default_view
    for bad in ("abc", "12.5", "5", "10000000", "-3"):
        monkeypatch.setenv(SIZE_VARIABLE, bad)
        with pytest.raises(WorldSizeError, match=SIZE_VARIABLE):
            world_size()
