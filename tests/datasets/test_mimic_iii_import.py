"""mimic_iii importer and gold-SQL conformance against the official EHRSQL rows."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from medagentgym.catalog import Sample
from medagentgym.datasets._ehrsql import gold_conformance, read_task_rows
from medagentgym.datasets.mimic_iii import DATASET, import_category

REFERENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared" / "reference" / "medagentgym-release" / "mimic_iii" / "train_tasks.jsonl"
)


def reference_file() -> Path:
    if not REFERENCE.exists():
        pytest.skip(f"official MIMIC-III task file not found at {REFERENCE} (shared/reference absent)")
    return REFERENCE


def read_samples(path: Path) -> list[Sample]:
    return [Sample.model_validate_json(line) for line in path.read_text().splitlines()]


def run_solution(sample: Sample):
    namespace: dict = {"DATABASES": {"mimic_iii": sample.resources[0].path}}
    exec(sample.solution.code, namespace)  # noqa: S102
    return namespace["answer"]


def test_every_official_gold_query_executes_on_the_embedded_db(mimic_iii_env: Path) -> None:
    rows = read_task_rows(reference_file()).rows
    result = gold_conformance(mimic_iii_env, rows)
    assert result.total == len(rows) > 0
    assert result.errors == []
    assert result.executed == result.total
    assert result.nonempty > 0.3 * result.total  # measured 253/553; see docs/mimic_iii.md


def test_import_official_file(mimic_iii_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "official.jsonl"
    report = DATASET.import_file(reference_file(), out)
    assert report.rows_read == report.details["gold_executed"] and report.details["gold_errors"] == 0
    # Re-anchoring turns rows about absent patients and items into answerable ones.
    assert report.details["gold_nonempty_before"] < report.samples_written == report.details["answerable"]
    assert report.details["reanchored"] > 0
    assert report.rows_skipped == report.details["skipped_empty"] == report.rows_read - report.samples_written
    samples = read_samples(out)
    assert {s.id for s in samples} == {json.loads(x)["id"] for x in out.read_text().splitlines()}
    assert len({s.id for s in samples}) == len(samples)
    for sample in samples[:40]:
        assert run_solution(sample) == sample.target.value
        assert sample.metadata["official_answer"] is not None


def test_import_synthetic_rows_with_a_corrupt_line(mimic_iii_env: Path, tmp_path: Path) -> None:
    rows = [
        {"id": "r1", "question": "what is the gender of patient x?", "split": "train",
         "query": "select patients.gender from patients order by patients.subject_id limit 1",
         "answer": ["?"]},
        {"id": "r2", "question": "how many patients?", "split": "test",
         "query": "select count( distinct patients.subject_id ) from patients", "answer": ["1000"]},
        {"id": "r3", "question": "any admission this year?",
         "query": "select count(*)>0 from admissions where strftime('%y',admissions.admittime) = strftime('%y',current_time)",
         "answer": ["1"]},
        {"id": "r4", "question": "broken", "query": "select nope from nowhere", "answer": []},
    ]
    source = tmp_path / "rows.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, '{"id": "bad", "query": ')  # corrupt line
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    report = DATASET.import_file(source, out)
    assert report.rows_read == 5
    assert report.samples_written == 3
    assert report.rows_skipped == 2
    assert report.details["gold_executed"] == 3 and report.details["gold_errors"] == 1
    assert report.details["errors"]["error"] == 1 and report.details["reanchored"] == 0
    assert any("line 3" in m for m in report.messages)
    assert any("r4" in m for m in report.messages)
    by_id = {s.metadata["official_id"]: s for s in read_samples(out)}
    assert by_id["r2"].target.value == 1000 and by_id["r2"].split == "test"
    assert by_id["r2"].category == "ehrsql_demographics"
    assert by_id["r3"].target.value is True  # 2105 admissions exist; needs the %y rewrite
    assert by_id["r1"].target.answer_type.value == "string_set"
    assert report.details["matches_official_answer"] == 2  # r2 and r3 (True reads as "1")
    for sample in by_id.values():
        assert run_solution(sample) == sample.target.value


def test_import_category_by_table() -> None:
    assert import_category("select distinct cost.cost from cost where x in (select labevents.row_id from labevents)") == "ehrsql_cost"
    assert import_category("select chartevents.valuenum from chartevents") == "ehrsql_vitals"
    assert import_category("select patients.dob from patients") == "ehrsql_demographics"


def _write(folder: Path, name: str, header: list[str], rows: list[list[object]], gz: bool = False) -> None:
    path = folder / (name + (".csv.gz" if gz else ".csv"))
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_import_over_user_csv_folder(mimic_iii_env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mimic_csv"
    folder.mkdir()
    _write(folder, "PATIENTS", ["ROW_ID", "SUBJECT_ID", "GENDER", "DOB", "DOD", "EXPIRE_FLAG"],
           [[1, 10, "M", "2050-06-01 00:00:00", "", 0], [2, 20, "F", "2070-01-15 00:00:00", "", 0]])
    _write(folder, "ADMISSIONS", ["ROW_ID", "SUBJECT_ID", "HADM_ID", "ADMITTIME", "DISCHTIME",
                                  "ADMISSION_TYPE", "ADMISSION_LOCATION", "DISCHARGE_LOCATION",
                                  "INSURANCE", "LANGUAGE", "MARITAL_STATUS", "ETHNICITY"],
           [[1, 10, 100, "2104-05-02 10:00:00", "2104-05-09 12:00:00", "EMERGENCY",
             "EMERGENCY ROOM ADMIT", "HOME", "Medicare", "ENGL", "MARRIED", "WHITE"],
            [2, 20, 200, "2105-12-20 08:00:00", "", "ELECTIVE", "PHYS REFERRAL/NORMAL DELI", "",
             "Private", "", "SINGLE", "ASIAN"]], gz=True)
    _write(folder, "D_ICD_DIAGNOSES", ["ROW_ID", "ICD9_CODE", "SHORT_TITLE", "LONG_TITLE"],
           [[1, "4019", "Hypertension NOS", "Unspecified essential hypertension"]])
    _write(folder, "DIAGNOSES_ICD", ["ROW_ID", "SUBJECT_ID", "HADM_ID", "SEQ_NUM", "ICD9_CODE"],
           [[1, 10, 100, 1, "4019"]])
    _write(folder, "PRESCRIPTIONS", ["ROW_ID", "SUBJECT_ID", "HADM_ID", "ICUSTAY_ID", "STARTDATE",
                                     "ENDDATE", "DRUG", "DOSE_VAL_RX", "DOSE_UNIT_RX", "ROUTE"],
           [[1, 10, 100, "", "2104-05-03 00:00:00", "2104-05-05 00:00:00", "Furosemide", "40", "mg", "IV"],
            [2, 20, 200, "", "2105-12-21 00:00:00", "", "Furosemide", "20", "mg", "PO"]])
    _write(folder, "D_LABITEMS", ["ROW_ID", "ITEMID", "LABEL", "FLUID", "CATEGORY"],
           [[1, 50983, "Sodium", "Blood", "Chemistry"]])
    _write(folder, "LABEVENTS", ["ROW_ID", "SUBJECT_ID", "HADM_ID", "ITEMID", "CHARTTIME", "VALUE",
                                 "VALUENUM", "VALUEUOM", "FLAG"],
           [[1, 20, 200, 50983, "2105-12-20 09:00:00", "139", 139, "mEq/L", ""],
            [2, 20, 200, 50983, "2105-12-22 09:00:00", "131", 131, "mEq/L", "abnormal"]])
    _write(folder, "MICROBIOLOGYEVENTS", ["ROW_ID", "SUBJECT_ID", "HADM_ID", "CHARTDATE", "CHARTTIME",
                                          "SPEC_TYPE_DESC", "ORG_NAME"],
           [[1, 10, 100, "2104-05-04 00:00:00", "", "URINE", "ESCHERICHIA COLI"]])
    rows = [
        {"id": "u1", "query": "select distinct prescriptions.route from prescriptions where prescriptions.drug = 'furosemide'"},
        {"id": "u2", "query": "select admissions.age from admissions where admissions.subject_id = 10"},
        {"id": "u3", "query": "select count(*)>0 from diagnoses_icd where diagnoses_icd.icd9_code = ( select d_icd_diagnoses.icd9_code from d_icd_diagnoses where d_icd_diagnoses.short_title = 'hypertension nos' ) and strftime('%y',diagnoses_icd.charttime) = '2104'"},
        {"id": "u4", "query": "select labevents.valuenum from labevents where labevents.hadm_id in ( select admissions.hadm_id from admissions where admissions.subject_id = 20 and admissions.dischtime is null ) and labevents.itemid in ( select d_labitems.itemid from d_labitems where d_labitems.label = 'sodium' ) order by labevents.charttime desc limit 1"},
        {"id": "u5", "query": "select 1 * ( strftime('%j',current_time) - strftime('%j',admissions.admittime) ) from admissions where admissions.subject_id = 20 and admissions.dischtime is null"},
        {"id": "u6", "query": "select microbiologyevents.org_name from microbiologyevents where microbiologyevents.hadm_id = 100"},
        {"id": "u7", "query": "select sum(cost.cost) from cost"},
    ]
    source = tmp_path / "user_rows.json"
    source.write_text(json.dumps(rows))
    out = tmp_path / "user.jsonl"
    report = DATASET.import_file(source, out, db=folder)
    assert report.details["db_kind"] == "user_csv"
    assert Path(report.details["db"]).parent.parent == mimic_iii_env.parent
    assert report.details["gold_executed"] == 7
    assert report.details["reanchor_mode"] == "empty"  # real data: only empty results are re-anchored
    assert report.details["gold_nonempty_before"] == report.samples_written == 6  # the empty cost table sums to NULL
    assert report.details["skipped_empty"] == 1 and report.details["reanchored"] == 0
    text = " ".join(report.messages)
    assert "table cost" in text and "left empty" in text
    assert "admissions.age computed" in text
    assert "diagnoses_icd.charttime" in text
    got = {s.metadata["official_id"]: s.target.value for s in read_samples(out)}
    assert got["u1"] == ["iv", "po"]
    assert got["u2"] == 53
    assert got["u3"] is True
    assert got["u4"] == 131.0
    assert got["u5"] == pytest.approx(11.6659722, rel=1e-6)  # Julian-day difference to "now"
    assert got["u6"] == ["escherichia coli"]
    assert "u7" not in got  # an empty result has no answer to grade: skipped
    for sample in read_samples(out):
        assert run_solution(sample) == sample.target.value
    # a second import reuses the loaded database
    again = DATASET.import_file(source, tmp_path / "again.jsonl", db=folder)
    assert again.details["db"] == report.details["db"]
    assert any("reused" in m for m in again.messages)
