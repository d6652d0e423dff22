"""eicu: the world's eICU view, the question families, official gold SQL and the importer."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path

import pytest

from medagentgym.catalog import AnswerType, Dataset, Sample, get_dataset
from medagentgym.catalog.splits import split_of
from medagentgym.datasets._ehrsql import (
    connect_readonly,
    gold_conformance,
    prepare_query,
    read_task_rows,
)
from medagentgym.datasets.eicu import DATASET, import_category
from medagentgym.datasets.eicu.build import TABLES, build_database
from medagentgym.world import HIDDEN_TABLES

REFERENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared" / "reference" / "medagentgym-release" / "eicu" / "train_tasks.jsonl"
)
FAMILIES = [c.name for c in DATASET.categories()]
PAPER_FULL = {"train": 6213, "test": 611}  # the eICU split of the MedAgentGym paper


def reference_file() -> Path:
    if not REFERENCE.exists():
        pytest.skip(f"official eICU task file not found at {REFERENCE} (shared/reference absent)")
    return REFERENCE


def run_solution(sample: Sample) -> object:
    namespace: dict = {"DATABASES": {"eicu": sample.resources[0].path}}
    exec(sample.solution.code, namespace)  # noqa: S102 - the reference solution, by design
    return namespace["answer"]


def read_samples(path: Path) -> list[Sample]:
    return [Sample.model_validate_json(line) for line in path.read_text().splitlines()]


def table_digest(path: Path) -> str:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        for table in TABLES:
            for row in con.execute(f"select * from {table} order by 1"):
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        con.close()


# --------------------------------------------------------------------------- catalog


def test_protocol_registry_and_categories() -> None:
    assert isinstance(DATASET, Dataset)
    assert get_dataset("eicu") is DATASET
    cats = DATASET.categories()
    assert len(cats) >= 9
    assert len({c.name for c in cats}) == len(cats)
    assert {c.answer_type for c in cats} >= {
        AnswerType.STRING, AnswerType.STRING_SET, AnswerType.INTEGER, AnswerType.NUMBER,
        AnswerType.BOOLEAN, AnswerType.DATE,
    }
    for c in cats:
        assert c.counts == {"train": 100, "test": 20}
        templates = c.params["templates"]
        assert templates and all(len(wordings) >= 2 for wordings in templates.values()), c.name
        assert set(c.params["weights"]) == set(templates)
    for split, paper in PAPER_FULL.items():
        assert sum(c.count(split, full=True) for c in cats) >= paper


# --------------------------------------------------------------------------- the view


def test_build_is_stamped_and_deterministic(eicu_env: Path) -> None:
    before = eicu_env.stat().st_mtime_ns
    assert build_database() == eicu_env and eicu_env.stat().st_mtime_ns == before  # stamp matches: skipped
    digest = table_digest(eicu_env)
    assert build_database(force=True) == eicu_env
    assert table_digest(eicu_env) == digest


def test_view_holds_only_the_eicu_tables(eicu_env: Path) -> None:
    con = connect_readonly(eicu_env)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
        assert tables - {"sqlite_stat1", "sqlite_stat4"} == set(TABLES)
        assert not tables & set(HIDDEN_TABLES)
        for table in TABLES:
            assert con.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
    finally:
        con.close()


def test_view_is_shaped_like_eicu(eicu_env: Path) -> None:
    con = connect_readonly(eicu_env)
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    try:
        # one patient row per unit stay; stays grouped by hospital visit and person
        assert one("select count(*) - count(distinct patientunitstayid) from patient") == 0
        assert one("select count(*) from (select patienthealthsystemstayid from patient "
                   "group by 1 having count(distinct uniquepid) > 1)") == 0
        assert one("select count(*) from patient where uniquepid not like '___-%'") == 0
        for table in TABLES[1:]:
            if table != "cost":
                assert one(f"select count(*) from {table} where patientunitstayid not in "
                           "(select patientunitstayid from patient)") == 0, table
        # discharge status reads alive/expired, and is there exactly when the visit ended
        assert {r[0] for r in con.execute("select distinct hospitaldischargestatus from patient")} <= {
            "alive", "expired", None}
        assert one("select count(*) from patient where (hospitaldischargetime is null) <> "
                   "(hospitaldischargestatus is null)") == 0
        assert one("select count(*) from patient where age not glob '[0-9]*' and age <> '> 89'") == 0
        assert one("select count(*) from patient where unitadmittime < hospitaladmittime "
                   "or unitdischargetime > hospitaldischargetime") == 0
        # intake and output tell apart by cellpath, as the gold SQL expects
        assert one("select count(*) from intakeoutput where (cellpath like '%intake%') + "
                   "(cellpath like '%output%') <> 1") == 0
        assert one("select count(*) from intakeoutput where cellpath like '%intake%'") > 0
        assert one("select count(*) from intakeoutput where cellpath like '%output%'") > 0
        # cost events exist in their tables
        assert {r[0] for r in con.execute("select distinct eventtype from cost")} == {
            "diagnosis", "lab", "medication", "treatment"}
        for event, table, id_col in (("diagnosis", "diagnosis", "diagnosisid"), ("lab", "lab", "labid"),
                                     ("medication", "medication", "medicationid"),
                                     ("treatment", "treatment", "treatmentid")):
            assert one(f"select count(*) from cost where eventtype = '{event}' and eventid not in "
                       f"(select {id_col} from {table})") == 0, event
        # vitals pivoted into one row per stay and time; strings are lowercase
        assert one("select count(*) from (select patientunitstayid, observationtime from vitalperiodic "
                   "group by 1, 2 having count(*) > 1)") == 0
        for table, column in (("patient", "gender"), ("patient", "ethnicity"), ("diagnosis", "diagnosisname"),
                              ("treatment", "treatmentname"), ("medication", "drugname"), ("lab", "labname"),
                              ("microlab", "organism"), ("intakeoutput", "celllabel")):
            assert one(f"select count(*) from {table} where {column} <> lower({column})") == 0, column
    finally:
        con.close()


# --------------------------------------------------------------------------- generation


def test_generation_is_deterministic(eicu_env: Path) -> None:
    for family in FAMILIES:
        a = DATASET.generate(family, "test", 3, seed=7)
        b = DATASET.generate(family, "test", 3, seed=7)
        assert a.model_dump() == b.model_dump()
    assert DATASET.generate("labs", "train", 0).id != DATASET.generate("labs", "train", 1).id


@pytest.mark.parametrize("family", FAMILIES)
def test_solutions_reproduce_nonempty_targets(eicu_env: Path, family: str) -> None:
    for split in ("train", "test"):
        for index in range(5):
            sample = DATASET.generate(family, split, index)
            target = sample.target.value
            assert target is not None and target != [] and target != ""
            (resource,) = sample.resources
            assert resource.kind == "sqlite" and resource.name == "eicu"
            assert Path(resource.path) == eicu_env.resolve()
            assert "current_time" not in sample.metadata["gold_sql"].lower()
            answer = run_solution(sample)
            assert answer == target, (sample.id, sample.metadata["question"])
            assert type(answer) is type(target)
            assert sample.metadata["question"] in sample.prompt
            assert "2105-12-31 23:59:00" in sample.prompt
            assert sample.answer_type == DATASET.category(family).answer_type
            assert "{" not in sample.metadata["question"]


def test_generated_samples_stay_in_their_split(eicu_env: Path) -> None:
    for family in FAMILIES:
        keys: dict[str, set[str]] = {"train": set(), "test": set()}
        for split, n in (("train", 8), ("test", 4)):
            for index in range(n):
                key = DATASET.generate(family, split, index).metadata["content_key"]
                assert split_of(key) == split
                keys[split].add(key)
        assert not keys["train"] & keys["test"], family
        assert len(keys["train"]) >= 6, family  # not one instance over and over


def test_boolean_family_has_both_answers(eicu_env: Path) -> None:
    values = {DATASET.generate("diagnoses", "train", i).target.value for i in range(30)}
    assert values == {True, False}


# --------------------------------------------------------------------------- official rows


def test_official_gold_sql_executes_on_the_view(eicu_env: Path) -> None:
    rows = read_task_rows(reference_file()).rows
    result = gold_conformance(eicu_env, rows)
    assert result.total == len(rows) > 0
    assert result.executed >= 0.99 * result.total, result.errors[:5]  # measured 560/560
    relative = [r for r in rows if re.search(r"\bcurrent_time\b", r["query"], re.I)]
    assert relative and all("current_time" not in prepare_query(r["query"]) for r in relative)
    assert gold_conformance(eicu_env, relative).nonempty > 0


@pytest.fixture(scope="module")
def official_import(eicu_cache: Path, tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(eicu_cache))
        out = tmp_path_factory.mktemp("eicu_import") / "official.jsonl"
        return DATASET.import_file(reference_file(), out), out


def test_import_official_file(eicu_env: Path, official_import) -> None:
    report, out = official_import
    details = report.details
    assert report.rows_read == details["gold_executed"] and details["gold_errors"] == 0
    assert report.samples_written == details["answerable"] >= 0.9 * report.rows_read  # measured 539/560
    samples = read_samples(out)
    assert len({s.id for s in samples}) == len(samples) == report.samples_written
    for sample in samples:
        assert run_solution(sample) == sample.target.value, sample.id
        assert sample.category.startswith("ehrsql_") and sample.metadata["official_sql"]


def test_import_skips_corrupt_and_hostile_lines(eicu_env: Path, tmp_path: Path) -> None:
    good = {"id": "g1", "question": "how many unit stays are there?", "split": "test",
            "query": "select count( distinct patient.patientunitstayid ) from patient", "answer": ["1"]}
    lines = [
        json.dumps(good),
        '{"id": "broken", "query": ',  # line 2: invalid JSON
        json.dumps({"id": "h1", "query": "attach database '/tmp/x.sqlite' as x"}),  # line 3: refused
        json.dumps({"id": "h2", "query": "delete from patient"}),  # line 4: refused
        json.dumps([1, 2, 3]),  # line 5: not an object
        json.dumps({"id": "nq", "question": "no query"}),  # line 6
        json.dumps({"id": "e1", "query": "select nope from nowhere"}),  # line 7: error
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = DATASET.import_file(source, tmp_path / "out.jsonl")
    assert report.rows_read == 7 and report.samples_written == 1 and report.rows_skipped == 6
    assert report.details["gold_refused"] == 2 and report.details["gold_errors"] == 1
    text = "\n".join(report.messages)
    for line in (2, 3, 4, 5, 6, 7):
        assert f"line {line}" in text, line
    (sample,) = read_samples(tmp_path / "out.jsonl")
    assert sample.split == "test" and sample.category == "ehrsql_stays"
    assert sample.target.value == run_solution(sample)
    con = connect_readonly(eicu_env)
    try:
        assert con.execute("select count(*) from patient").fetchone()[0] == sample.target.value
    finally:
        con.close()


def test_import_category_by_table() -> None:
    assert import_category("select distinct cost.cost from cost where cost.eventid in "
                           "( select lab.labid from lab )") == "ehrsql_cost"
    assert import_category("select lab.labresult from lab") == "ehrsql_labs"
    assert import_category("select microlab.organism from microlab") == "ehrsql_microbiology"
    assert import_category("select distinct patient.gender from patient") == "ehrsql_demographics"
    assert import_category("select patient.admissionweight from patient") == "ehrsql_body_measurements"
    assert import_category("select count(*) from patient") == "ehrsql_stays"
