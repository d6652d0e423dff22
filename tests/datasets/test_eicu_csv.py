"""eicu over the user's own eICU CSV files: camelCase headers, minute offsets, no cost table."""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from medagentgym.catalog import Sample
from medagentgym.datasets.eicu import DATASET
from medagentgym.datasets.eicu.csv_db import load_csv_folder

PATIENT = [
    "patientUnitStayID", "patientHealthSystemStayID", "gender", "age", "ethnicity", "hospitalID", "wardID",
    "apacheAdmissionDx", "admissionHeight", "hospitalAdmitTime24", "hospitalAdmitOffset", "hospitalAdmitSource",
    "hospitalDischargeYear", "hospitalDischargeTime24", "hospitalDischargeOffset", "hospitalDischargeLocation",
    "hospitalDischargeStatus", "unitType", "unitAdmitTime24", "unitAdmitSource", "unitVisitNumber",
    "unitStayType", "admissionWeight", "dischargeWeight", "unitDischargeTime24", "unitDischargeOffset",
    "unitDischargeLocation", "unitDischargeStatus", "uniquePID",
]


def _write(folder: Path, name: str, header: list[str], rows: list[list[object]], gz: bool = False) -> None:
    path = folder / (name + (".csv.gz" if gz else ".csv"))
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def eicu_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny eICU extract: person 002-1 with two unit stays in one hospital visit (2014),
    person 002-2 with one stay (2015); files as eICU ships them, cost.csv absent."""
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "eicu_csv"
    folder.mkdir()
    _write(folder, "patient", PATIENT, [
        [141, 128, "Female", "> 89", "Caucasian", 73, 93, "Sepsis", 162.6, "14:30:00", -120,
         "Emergency Department", 2014, "18:30:00", 3000, "Home", "Alive", "Med-Surg ICU", "16:30:00",
         "Emergency Department", 1, "admit", 54.4, 53.2, "02:50:00", 2000, "Floor", "Alive", "002-1"],
        [142, 128, "Female", "> 89", "Caucasian", 73, 95, "Sepsis", 162.6, "14:30:00", -2120,
         "Emergency Department", 2014, "18:30:00", 1000, "Home", "Alive", "Med-Surg ICU", "01:50:00",
         "Floor", 2, "readmit", 55.0, 54.0, "16:50:00", 900, "Floor", "Alive", "002-1"],
        [200, 131, "Male", "67", "African American", 110, 12, "CHF", 180.3, "08:30:00", -30,
         "Direct Admit", 2015, "09:00:00", 4320, "Death", "Expired", "CCU", "09:00:00",
         "Direct Admit", 1, "admit", 90.1, "", "09:00:00", 2880, "Death", "Expired", "002-2"],
    ])
    _write(folder, "diagnosis", ["diagnosisID", "patientUnitStayID", "activeUponDischarge", "diagnosisOffset",
                                 "diagnosisString", "ICD9Code", "diagnosisPriority"], [
        [1, 141, "True", 60, "pulmonary|respiratory failure|acute respiratory failure", "518.81, J96.00", "Primary"],
        [2, 200, "False", 10, "cardiovascular|shock / hypotension|sepsis", "038.9, A41.9", "Major"],
    ])
    _write(folder, "treatment", ["treatmentID", "patientUnitStayID", "treatmentOffset", "treatmentString",
                                 "activeUponDischarge"], [
        [1, 141, 90, "pulmonary|ventilation and oxygenation|mechanical ventilation", "False"],
    ])
    _write(folder, "lab", ["labID", "patientUnitStayID", "labResultOffset", "labTypeID", "labName", "labResult",
                           "labResultText", "labMeasureNameSystem", "labMeasureNameInterface",
                           "labResultRevisedOffset"], [
        [1, 141, 30, 1, "potassium", 3.9, "3.9", "mmol/L", "mmol/L", 40],
        [2, 142, 600, 1, "potassium", 4.4, "4.4", "mmol/L", "mmol/L", 610],
        [3, 200, -60, 1, "potassium", 5.1, "5.1", "mmol/L", "mmol/L", -50],
    ], gz=True)
    _write(folder, "medication", ["medicationID", "patientUnitStayID", "drugOrderOffset", "drugStartOffset",
                                  "drugIVAdmixture", "drugOrderCancelled", "drugName", "drugHiclSeqno", "dosage",
                                  "routeAdmin", "frequency", "loadingDose", "PRN", "drugStopOffset", "gtc"], [
        [1, 141, 10, 15, "No", "No", "Furosemide 40 MG IV", 3660, "40 mg", "IV Push", "Once", "", "No", 1500, 0],
        [2, 200, 5, 20, "No", "No", "Furosemide 40 MG IV", 3660, "40 mg", "Oral", "Daily", "", "No", 2000, 0],
    ])
    path_in = "flowsheet|Flowsheet Cell Labels|I&O|Intake (ml)|Crystalloids|NS IVF"
    _write(folder, "intakeOutput", ["intakeOutputID", "patientUnitStayID", "intakeOutputOffset", "intakeTotal",
                                    "outputTotal", "dialysisTotal", "netTotal", "intakeOutputEntryOffset",
                                    "cellPath", "cellLabel", "cellValueNumeric", "cellValueText"], [
        [1, 141, 120, 250, 0, 0, 250, 120, path_in, "NS IVF", 250, "250"],
        [2, 141, 240, 100, 0, 0, 100, 240, path_in, "NS IVF", 100, "100"],
        [3, 141, 240, 0, 300, 0, -300, 240, "flowsheet|Flowsheet Cell Labels|I&O|Output (ml)|Urine|Urine",
         "Urine", 300, "300"],
    ])
    _write(folder, "microLab", ["microLabID", "patientUnitStayID", "cultureTakenOffset", "cultureSite",
                                "organism", "antibiotic", "sensitivityLevel"], [
        [1, 200, 300, "Blood, Venipuncture", "Staphylococcus aureus", "oxacillin", "Sensitive"],
    ])
    _write(folder, "allergy", ["allergyID", "patientUnitStayID", "allergyOffset", "allergyEnteredOffset",
                               "allergyNoteType", "drugName", "allergyType", "allergyName"], [
        [1, 141, 5, 5, "Admission", "penicillin", "Drug", "Penicillins"],
    ])
    _write(folder, "vitalPeriodic", ["vitalPeriodicID", "patientUnitStayID", "observationOffset", "temperature",
                                     "saO2", "heartRate", "respiration", "cvp", "systemicSystolic",
                                     "systemicDiastolic", "systemicMean"], [
        [1, 141, 5, "", 97, 88, 18, "", 120, 60, 80],
        [2, 141, 10, 37.1, 96, 92, 20, "", 118, 61, 79],
    ], gz=True)
    return folder


def _ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def test_load_turns_offsets_into_one_timeline(eicu_folder: Path) -> None:
    load = load_csv_folder(eicu_folder)
    text = " ".join(load.messages)
    assert "table cost: no CSV" in text and "left empty" in text
    assert "table patient: computed hospitaladmittime" in text
    assert "table diagnosis: computed diagnosisname, diagnosistime" in text
    con = sqlite3.connect(load.path)
    try:
        rows = {r[0]: r[1:] for r in con.execute(
            "select patientunitstayid, uniquepid, gender, age, ethnicity, hospitaladmittime, unitadmittime, "
            "unitdischargetime, hospitaldischargetime, hospitaldischargestatus, hospitaladmitsource from patient")}
        assert rows[141][:4] == ("002-1", "female", "> 89", "caucasian")
        hadmit, uadmit, udisch, hdisch = (_ts(t) for t in rows[141][4:8])
        assert hdisch.year == 2104 and hdisch.strftime("%H:%M:%S") == "18:30:00"  # 2014 + 90
        assert uadmit.strftime("%H:%M:%S") == "16:30:00"  # agrees with unitAdmitTime24
        assert hdisch - uadmit == timedelta(minutes=3000) and uadmit - hadmit == timedelta(minutes=120)
        assert udisch - uadmit == timedelta(minutes=2000)
        assert rows[142][4] == rows[141][4] and rows[142][7] == rows[141][7]  # one hospital visit
        assert _ts(rows[142][5]) > uadmit
        assert _ts(rows[200][7]).year == 2105 and rows[200][8:] == ("expired", "direct admit")
        (dx,) = con.execute("select diagnosisname, icd9code, diagnosistime from diagnosis "
                            "where patientunitstayid = 141").fetchall()
        assert dx[:2] == ("acute respiratory failure", "518.81, j96.00")
        assert _ts(dx[2]) - uadmit == timedelta(minutes=60)
        lab_time, unit_200 = con.execute(
            "select labresulttime, unitadmittime from lab join patient using (patientunitstayid) "
            "where labid = 3").fetchone()
        assert _ts(unit_200) - _ts(lab_time) == timedelta(minutes=60)  # a negative offset
        assert con.execute("select treatmentname from treatment").fetchone()[0] == "mechanical ventilation"
        assert con.execute("select count(*) from cost").fetchone()[0] == 0
        assert con.execute("select count(*) from vitalperiodic where heartrate > 90").fetchone()[0] == 1
    finally:
        con.close()
    again = load_csv_folder(eicu_folder)
    assert again.path == load.path and any("reused" in m for m in again.messages)


def test_import_over_user_csv_folder(eicu_folder: Path, tmp_path: Path) -> None:
    first_visit = ("select patient.patientunitstayid from patient where patient.patienthealthsystemstayid in "
                   "( select patient.patienthealthsystemstayid from patient where patient.uniquepid = '{}' "
                   "and patient.hospitaldischargetime is not null order by patient.hospitaladmittime asc limit 1 )")
    rows = [
        {"id": "u1", "query": "select distinct medication.routeadmin from medication "
                              "where medication.drugname = 'furosemide 40 mg iv'"},
        {"id": "u2", "query": "select lab.labresult from lab where lab.patientunitstayid in ( "
                              + first_visit.format("002-1")
                              + " ) and lab.labname = 'potassium' order by lab.labresulttime desc limit 1"},
        {"id": "u3", "query": "select count(*)>0 from diagnosis where diagnosis.patientunitstayid in ( select "
                              "patient.patientunitstayid from patient where patient.uniquepid = '002-1' ) and "
                              "diagnosis.diagnosisname = 'acute respiratory failure' and "
                              "strftime('%y',diagnosis.diagnosistime) = '2104'"},
        {"id": "u4", "query": "select sum(intakeoutput.cellvaluenumeric) from intakeoutput where "
                              "intakeoutput.patientunitstayid in ( select patient.patientunitstayid from patient "
                              "where patient.uniquepid = '002-1' ) and intakeoutput.cellpath like '%intake%'"},
        {"id": "u5", "query": "select distinct patient.hospitaldischargestatus from patient "
                              "where patient.uniquepid = '002-2'"},
        {"id": "u6", "query": "select microlab.organism from microlab where microlab.patientunitstayid in ( "
                              "select patient.patientunitstayid from patient where patient.uniquepid = '002-2' ) "
                              "and microlab.culturesite = 'blood, venipuncture' order by "
                              "microlab.culturetakentime asc limit 1"},
        {"id": "u7", "query": "select sum(cost.cost) from cost"},
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "user.jsonl"
    report = DATASET.import_file(source, out, db=eicu_folder)
    assert report.details["db_kind"] == "user_csv" and report.details["gold_executed"] == 7
    assert report.samples_written == 6 and report.details["skipped_empty"] == 1  # no cost data: no answer
    samples = {s.metadata["official_id"]: s for s in map(Sample.model_validate_json, out.read_text().splitlines())}
    got = {k: s.target.value for k, s in samples.items()}
    assert got == {"u1": ["iv push", "oral"], "u2": 4.4, "u3": True, "u4": 350.0,
                   "u5": ["expired"], "u6": ["staphylococcus aureus"]}
    for sample in samples.values():
        assert "user's CSV" in sample.resources[0].description
        namespace: dict = {"DATABASES": {"eicu": sample.resources[0].path}}
        exec(sample.solution.code, namespace)  # noqa: S102 - the reference solution, by design
        assert namespace["answer"] == sample.target.value


def test_a_folder_without_patient_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path / "cache"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="patient"):
        load_csv_folder(tmp_path / "empty")
