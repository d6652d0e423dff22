"""ehrcon importer: official rows over a tiny user folder (a MIMIC-III SQLite file and notes), with
missing admissions and notes skipped and counted, and files that are not EHRCon rows refused."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.cli import app
from medagentgym.datasets.ehrcon import DATASET

REFERENCE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "reference"
    / "medagentgym-release"
    / "ehrcon"
    / "train_tasks.jsonl"
)


def _rows() -> list[dict]:
    if not REFERENCE.is_file():
        pytest.skip("official EHRCon task file not present")
    return [json.loads(line) for line in REFERENCE.read_text().splitlines() if line.strip()]


def _user_folder(root: Path, in_db: list[int], with_notes: list[int], *, noteevents: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(root / "mimic_iii.sqlite")
    con.execute("CREATE TABLE ADMISSIONS (ROW_ID INTEGER, SUBJECT_ID INTEGER, HADM_ID INTEGER)")
    con.executemany("INSERT INTO ADMISSIONS VALUES (?, ?, ?)", [(i, i, h) for i, h in enumerate(in_db)])
    con.commit()
    con.close()
    if noteevents:
        with (root / "NOTEEVENTS.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["ROW_ID", "HADM_ID", "CHARTTIME", "CATEGORY", "TEXT"])
            for i, h in enumerate(with_notes):
                writer.writerow([i, f"{h}.0", "2150-01-01 10:00:00", "Nursing", f"Pt stable. K 4.1, note {h}"])
            writer.writerow([99, "", "", "Radiology", "ignored"])
    else:
        (root / "notes").mkdir()
        for h in with_notes:
            (root / "notes" / f"{h}.txt").write_text(f"Nursing note for {h}: HR 88, K 4.1")
    return root


@pytest.mark.parametrize("layout", ["notes_dir", "noteevents"])
def test_import_writes_two_samples_per_usable_row_and_counts_skips(tmp_path: Path, layout: str) -> None:
    rows = _rows()
    hadms = sorted({int(float(r["Hospital admission"])) for r in rows})
    in_db, with_notes = hadms[:40], hadms[:30] + hadms[50:55]  # 10 in the db without a note; the rest absent
    folder = _user_folder(tmp_path / "user", in_db, with_notes, noteevents=layout == "noteevents")
    out = tmp_path / "out.jsonl"
    report = DATASET.import_file(REFERENCE, out, db=folder)
    usable = [r for r in rows if int(float(r["Hospital admission"])) in set(hadms[:30])]
    assert report.rows_read == len(rows) and report.samples_written == 2 * len(usable)
    skipped = report.details["skipped"]
    assert skipped["note_missing"] == sum(int(float(r["Hospital admission"])) in set(hadms[30:40]) for r in rows)
    assert skipped["admission_not_in_db"] == len(rows) - len(usable) - skipped["note_missing"]
    samples = [Sample.model_validate_json(line) for line in out.read_text().splitlines()]
    first = samples[0]
    row = usable[0]
    assert first.target == first.target.model_copy(update={"value": row["Has error"]})
    assert first.target.answer_type is AnswerType.BOOLEAN and samples[1].target.answer_type is AnswerType.INTEGER
    assert samples[1].target.value == row["Number of inconsistencies"]
    assert row["Medical entity"] in first.prompt and f"{int(float(row['Hospital admission']))}" in first.prompt
    assert first.split == "train" and first.resources[0].path == str((folder / "mimic_iii.sqlite").resolve())
    assert len({s.id for s in samples}) == len(samples)
    if layout == "noteevents":
        assert first.category == "nursing_note"


def test_files_that_are_not_ehrcon_rows_are_refused(tmp_path: Path) -> None:
    folder = _user_folder(tmp_path / "user", [1], [1])
    for name, text in (
        ("empty.jsonl", ""),
        ("object.jsonl", '{"a": 1}\n'),
        ("medcalc.jsonl", '{"Patient Note": "x", "Question": "y", "Ground Truth Answer": "1"}\n'),
    ):
        source = tmp_path / name
        source.write_text(text)
        with pytest.raises(ValueError) as err:
            DATASET.import_file(source, tmp_path / "out.jsonl", db=folder)
        assert "\n" not in str(err.value) and name in str(err.value)
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps(
            {"Hospital admission": "1.0", "Medical entity": "K", "Number of inconsistencies": 0, "Has error": False}
        )
        + "\n"
    )
    with pytest.raises(ValueError, match="needs --db"):
        DATASET.import_file(good, tmp_path / "out.jsonl")


def test_cli_import_passes_the_folder(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps(
            {"Hospital admission": "7.0", "Medical entity": "K", "Number of inconsistencies": 2, "Has error": True}
        )
        + "\n"
    )
    folder = _user_folder(tmp_path / "user", [7], [7])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["import", "ehrcon", str(good), "--db", str(folder), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert [Sample.model_validate_json(x).target.value for x in out.read_text().splitlines()] == [True, 2]
