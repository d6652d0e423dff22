"""The mimic_iii database (a view of the world): schema, consistency, nothing hidden copied.

Determinism, stamps and atomic builds of the world itself are tested in tests/world/.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from medagentgym.datasets.mimic_iii.build import TABLES, build_database
from medagentgym.datasets.mimic_iii.csv_db import schema_columns
from medagentgym.world import N_PATIENTS, build_world, stamp_of, vocab

# Columns EHRSQL's MIMIC-III gold queries reference (plus row_id / ids every table carries).
KEY_COLUMNS = {
    "patients": {"row_id", "subject_id", "gender", "dob", "dod"},
    "admissions": {"subject_id", "hadm_id", "admittime", "dischtime", "admission_type",
                   "admission_location", "insurance", "marital_status", "age", "ethnicity"},
    "icustays": {"hadm_id", "icustay_id", "intime", "outtime", "first_careunit", "first_wardid"},
    "transfers": {"hadm_id", "icustay_id", "careunit", "wardid", "intime", "eventtype"},
    "diagnoses_icd": {"row_id", "hadm_id", "icd9_code", "charttime"},
    "procedures_icd": {"row_id", "hadm_id", "icd9_code", "charttime"},
    "d_icd_diagnoses": {"icd9_code", "short_title", "long_title"},
    "d_icd_procedures": {"icd9_code", "short_title", "long_title"},
    "labevents": {"row_id", "hadm_id", "itemid", "charttime", "valuenum", "valueuom"},
    "d_labitems": {"itemid", "label"},
    "chartevents": {"icustay_id", "itemid", "charttime", "valuenum"},
    "d_items": {"itemid", "label", "linksto"},
    "inputevents_cv": {"icustay_id", "itemid", "charttime", "amount"},
    "outputevents": {"icustay_id", "itemid", "charttime", "value"},
    "prescriptions": {"row_id", "hadm_id", "startdate", "drug", "dose_val_rx", "route"},
    "microbiologyevents": {"hadm_id", "charttime", "spec_type_desc", "org_name"},
    "cost": {"hadm_id", "event_type", "event_id", "chargetime", "cost"},
}
NOW = "2105-12-31 23:59:00"


def content_hash(path: Path, tables: tuple[str, ...] = ("patients", "admissions", "labevents",
                                                        "prescriptions", "cost")) -> str:
    digest = hashlib.sha256()
    con = sqlite3.connect(path)
    try:
        for table in tables:
            for row in con.execute(f"select * from {table} order by row_id"):
                digest.update(repr(row).encode())
    finally:
        con.close()
    return digest.hexdigest()


def one(con: sqlite3.Connection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


@pytest.fixture
def con(mimic_iii_env: Path):
    c = sqlite3.connect(f"file:{mimic_iii_env}?mode=ro", uri=True)
    yield c
    c.close()


def test_all_17_tables_with_key_columns(con: sqlite3.Connection) -> None:
    names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {n for n in names if not n.startswith("sqlite_")} == set(TABLES)
    assert len(TABLES) == 17
    for table, wanted in KEY_COLUMNS.items():
        have = {r[1] for r in con.execute(f"pragma table_info({table})")}
        assert wanted <= have, (table, wanted - have)
        assert one(con, f"select count(*) from {table}") > 0, table


def test_ddl_file_is_the_schema(con: sqlite3.Connection) -> None:
    ddl = schema_columns(vocab.read_text("schema/mimic_iii.sql"))
    assert set(ddl) == set(TABLES)
    for table, columns in ddl.items():
        assert [r[1] for r in con.execute(f"pragma table_info({table})")] == columns


def test_sizes_and_identifiers_look_like_mimic(con: sqlite3.Connection) -> None:
    assert one(con, "select count(*) from patients") == N_PATIENTS
    assert one(con, "select max(subject_id) from patients") > 50_000  # spread, not 1..N
    assert one(con, "select count(*) from d_icd_diagnoses") > 10_000
    assert one(con, "select count(*) from d_icd_procedures") > 3_000
    assert one(con, "select count(*) from d_items where linksto = 'chartevents'") > 5
    assert one(con, "select count(distinct route) from prescriptions") >= 6
    # lowercase strings as EHRSQL stores them
    assert one(con, "select count(*) from prescriptions where drug <> lower(drug)") == 0
    assert one(con, "select count(*) from d_icd_diagnoses where short_title <> lower(short_title)") == 0


def test_timelines_are_consistent(con: sqlite3.Connection) -> None:
    assert one(con, "select min(admittime) from admissions") >= "2100-01-01"
    assert one(con, "select max(admittime) from admissions") <= NOW
    assert one(con, "select count(*) from admissions where dischtime <= admittime") == 0
    assert one(con, "select count(*) from admissions where dischtime is null") >= 3
    assert one(con, "select count(*) from icustays where outtime is null") >= 1
    assert one(con, "select min(age) from admissions") >= 18
    assert one(con, "select max(age) from admissions") <= 95
    end = f"coalesce(a.dischtime, '{NOW}')"
    assert one(con, f"""select count(*) from icustays i join admissions a using (hadm_id)
        where i.intime < a.admittime or coalesce(i.outtime, '{NOW}') > {end}""") == 0
    for table in ("labevents", "diagnoses_icd", "procedures_icd", "microbiologyevents"):
        assert one(con, f"""select count(*) from {table} e join admissions a using (hadm_id)
            where e.charttime < a.admittime or e.charttime > {end}""") == 0, table
    for table in ("chartevents", "inputevents_cv", "outputevents"):
        assert one(con, f"""select count(*) from {table} e join icustays i using (icustay_id)
            where e.charttime < i.intime or e.charttime > coalesce(i.outtime, '{NOW}')""") == 0
    assert one(con, """select count(*) from patients p join admissions a using (subject_id)
        where p.dob >= a.admittime or p.dod < substr(a.admittime, 1, 10)""") == 0


def test_cost_rows_link_to_their_events(con: sqlite3.Connection) -> None:
    types = {r[0] for r in con.execute("select distinct event_type from cost")}
    assert types == {"diagnoses_icd", "procedures_icd", "labevents", "prescriptions"}
    for table in types:
        assert one(con, f"""select count(*) from cost c left join {table} e
            on e.row_id = c.event_id where c.event_type = '{table}'
            and (e.row_id is null or e.hadm_id <> c.hadm_id)""") == 0, table


def test_view_is_a_copy_of_the_world_tables_and_nothing_hidden(mimic_iii_env: Path) -> None:
    world = build_world()
    con = sqlite3.connect(f"file:{mimic_iii_env}?mode=ro", uri=True)
    try:
        con.execute("attach database ? as world", (f"file:{world}?mode=ro",))
        for table in TABLES:
            assert one(con, f"select count(*) from (select * from main.{table} except "
                            f"select * from world.{table})") == 0, table
            assert one(con, f"select count(*) from main.{table}") == one(con, f"select count(*) from world.{table}")
        names = {r[0] for r in con.execute("select name from main.sqlite_master")}
        assert not names & {"latent", "outcomes", "patient_info", "admission_info"}
    finally:
        con.close()


def test_view_build_is_idempotent_and_stamped(mimic_iii_env: Path, tmp_path: Path) -> None:
    stamp = stamp_of(mimic_iii_env)
    before = mimic_iii_env.stat().st_mtime_ns
    assert build_database() == mimic_iii_env and mimic_iii_env.stat().st_mtime_ns == before
    copy = build_database(tmp_path / "copy.sqlite")
    assert stamp_of(copy) == stamp
    assert content_hash(copy) == content_hash(mimic_iii_env)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.sqlite"]  # no temp files left
