"""`medagentgym import` at the edge (issue 14, item 5): files that are not the dataset's rows are
one-line errors (exit 2, the output left as it was), a good import prints a short summary, `--json`
prints only the report, and the split follows the file name when it states one.

Rows here are synthetic, shaped after each dataset's ``row_shape``; no official row is used. The
command is registered on a tiny app of its own, so these tests do not depend on cli.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from medagentgym.catalog import get_dataset
from medagentgym.catalog.dataset import RowShape, split_named_by, survey_rows
from medagentgym.catalog.import_command import import_command, row_shapes

app = typer.Typer()
app.command("import")(import_command)


@app.command("version")
def _version() -> None:  # a second command, so "import" stays a subcommand as in the real CLI
    """Unused."""


runner = CliRunner()


def _invoke(*args: str) -> Any:
    return runner.invoke(app, ["import", *args])


def _one_line_error(result: Any, *needles: str) -> str:
    """The single ``error:`` line of a refused import (exit 2, no traceback, nothing on stdout)."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _calc_row(number: int, **overrides: Any) -> dict[str, Any]:
    """A synthetic MedCalc-Bench-shaped row: anion gap 140 - (100 + 20) = 20."""
    row: dict[str, Any] = {
        "Row Number": number,
        "Calculator ID": 39,
        "Calculator Name": "Anion Gap",
        "Patient Note": f"Synthetic note {number}: sodium 140, chloride 100, bicarbonate 20.",
        "Question": "What is the patient's anion gap in mEq/L?",
        "Relevant Entities": "{'Sodium': [140.0, 'mmol/L'], 'Chloride': [100.0, 'mmol/L'], 'Bicarbonate': [20.0, 'mmol/L']}",
        "Ground Truth Answer": "20",
        "Lower Limit": "19",
        "Upper Limit": "21",
    }
    row.update(overrides)
    return row


def _shaped_row(shape: RowShape, n: int) -> dict[str, Any]:
    """A row with a dataset's fields (placeholder values) and its tags."""
    return {**{name: f"value {n}" for name in shape.fields}, **shape.tags}


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    """An earlier output that a refused import must leave as it was."""
    path = tmp_path / "out" / "samples.jsonl"
    path.parent.mkdir()
    path.write_text("earlier output\n", encoding="utf-8")
    return path


def _untouched(output: Path) -> None:
    assert output.read_text(encoding="utf-8") == "earlier output\n"
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]  # no staging file left


# ------------------------------------------------------------------ another dataset's rows

SHAPED = sorted(row_shapes())
PAIRS = [(source, target) for source in SHAPED for target in SHAPED if source != target]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-into-{t}" for s, t in PAIRS])
def test_another_datasets_rows_are_refused_and_named(tmp_path: Path, earlier: Path, source: str, target: str) -> None:
    shapes = row_shapes()
    path = _write(tmp_path / "tasks.jsonl", [_shaped_row(shapes[source], n) for n in range(4)])
    line = _one_line_error(
        _invoke(target, str(path), "--output", str(earlier)),
        f"0 of 4 rows look like {target} rows",
        "expected fields: " + ", ".join(shapes[target].fields[:2]),
        f"these look like {source} rows",
    )
    assert "found: " in line
    _untouched(earlier)


def test_every_dataset_with_an_importer_declares_its_row_shape() -> None:
    for name in ("biocoder", "biodsbench", "ehrcon", "eicu", "medagentbench", "medcalcbench", "mimic_iii", "npowerai", "treqs"):
        assert isinstance(getattr(get_dataset(name), "row_shape", None), RowShape), name


def test_a_json_list_of_eicu_rows_is_not_imported_as_mimic_iii(tmp_path: Path, earlier: Path) -> None:
    rows = [{"id": f"e{n}", "question": "q", "query": "select count(*) from patient", "db_id": "eicu"} for n in range(3)]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(rows), encoding="utf-8")  # one JSON document, as the EHRSQL importers accept
    _one_line_error(_invoke("mimic_iii", str(path), "--output", str(earlier)), "0 of 3 rows", "look like eicu rows")
    _untouched(earlier)


# ------------------------------------------------------------------ files that are nobody's rows


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"", ("no rows", "the file is empty", "expected JSONL rows with fields: Row Number")),
        (b"\n  \n\n", ("no rows",)),
        (b'{"a":1}\n', ("0 of 1 rows look like medcalcbench rows", "found: a")),
        (b"{not json\n[1, 2]\n", ("not a JSONL task file", "0 of 2 rows", "line 1:")),
        (bytes(range(256)) * 3, ("not a JSONL task file", "0 of 4 rows", "line 1:")),
        (b"\xff\xfe\x00garbage\n", ("not a JSONL task file", "invalid UTF-8")),
        (b"[" * 5000 + b"]" * 5000 + b"\n", ("not a JSONL task file", "nested")),
    ],
    ids=["empty", "blank-lines", "a-1", "not-json", "binary", "bad-utf8", "deep"],
)
def test_files_that_hold_no_rows_are_one_line_errors(
    tmp_path: Path, earlier: Path, content: bytes, needles: tuple[str, ...]
) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(content)
    _one_line_error(_invoke("medcalcbench", str(path), "--output", str(earlier)), str(path), *needles)
    _untouched(earlier)


def test_a_folder_a_missing_file_and_a_fifo_are_refused(tmp_path: Path, earlier: Path) -> None:
    _one_line_error(_invoke("medcalcbench", str(tmp_path), "--output", str(earlier)), "a folder, not a task file")
    _one_line_error(_invoke("medcalcbench", str(tmp_path / "nope.jsonl"), "--output", str(earlier)), "no such file")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.jsonl"
        os.mkfifo(fifo)  # reading it would block forever: refused before any read
        _one_line_error(_invoke("medcalcbench", str(fifo), "--output", str(earlier)), "not a regular file")
    _untouched(earlier)


def test_the_output_may_not_be_the_task_file_or_a_folder(tmp_path: Path) -> None:
    source = _write(tmp_path / "calc.jsonl", [_calc_row(1)])
    before = source.read_bytes()
    _one_line_error(_invoke("medcalcbench", str(source), "--output", str(source)), "the task file itself")
    assert source.read_bytes() == before
    _one_line_error(_invoke("medcalcbench", str(source), "--output", str(tmp_path)), "a folder")


def test_a_file_name_with_a_newline_still_gives_one_line(tmp_path: Path, earlier: Path) -> None:
    path = tmp_path / "evil\nerror: forged.jsonl"
    path.write_text('{"a": 1}\n', encoding="utf-8")
    line = _one_line_error(_invoke("medcalcbench", str(path), "--output", str(earlier)), "found: a")
    assert "evil error: forged" in line
    _untouched(earlier)


def test_every_row_skipped_is_an_error_and_keeps_the_earlier_output(tmp_path: Path, earlier: Path) -> None:
    rows = [_calc_row(n, **{"Calculator ID": 99999}) for n in range(3)]  # no such calculator
    path = _write(tmp_path / "calc.jsonl", rows)
    _one_line_error(
        _invoke("medcalcbench", str(path), "--output", str(earlier)),
        "0 of 3 rows became medcalcbench samples",
        "calculator not implemented here (3)",
        "nothing was written",
    )
    _untouched(earlier)
    # the next run is unaffected
    good = _write(tmp_path / "good.jsonl", [_calc_row(1)])
    assert _invoke("medcalcbench", str(good), "--output", str(earlier)).exit_code == 0


# ------------------------------------------------------------------ names and splits


def test_an_unknown_dataset_names_the_known_ones_and_the_closest(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.jsonl", [{"a": 1}])
    _one_line_error(_invoke("mimic3", str(path)), "unknown dataset 'mimic3'", "known: ", "did you mean 'mimic_iii'?")
    _one_line_error(_invoke("medcalcbnch", str(path)), "did you mean 'medcalcbench'")
    line = _one_line_error(_invoke("zzzz", str(path)), "unknown dataset 'zzzz'")
    assert "did you mean" not in line


def test_an_explicit_split_must_be_train_or_test(tmp_path: Path, earlier: Path) -> None:
    path = _write(tmp_path / "rows.jsonl", [_calc_row(1)])
    _one_line_error(_invoke("medcalcbench", str(path), "--split", "dev", "--output", str(earlier)), "--split 'dev'", "unknown split", "train, test")
    _untouched(earlier)


@pytest.mark.parametrize(
    ("name", "extra", "split", "why"),
    [
        ("train_tasks.jsonl", [], "train", "the file name 'train_tasks.jsonl' says train"),
        ("test_tasks_dev_half.jsonl", [], "test", "the file name 'test_tasks_dev_half.jsonl' says test"),
        ("rows.jsonl", [], "test", "the default"),
        ("train_tasks.jsonl", ["--split", "test"], "test", "--split"),
    ],
)
def test_the_split_follows_the_file_name_and_the_summary_says_why(
    tmp_path: Path, name: str, extra: list[str], split: str, why: str
) -> None:
    path = _write(tmp_path / name, [_calc_row(1)])
    output = tmp_path / "out.jsonl"
    result = _invoke("medcalcbench", str(path), "--output", str(output), *extra)
    assert result.exit_code == 0, result.output
    assert f"split:  {split} ({why}" in result.stdout
    (sample,) = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert sample["split"] == split and f"/{split}/official-1" in sample["id"]


def test_the_rows_split_field_is_used_when_the_name_states_none(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.jsonl", [_calc_row(1, split="train"), _calc_row(2, split="train")])
    result = _invoke("medcalcbench", str(path), "--output", str(tmp_path / "out.jsonl"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == "train" and report["split_reason"] == "every row's 'split' field says train"


def test_split_named_by_reads_words_of_the_file_name() -> None:
    assert split_named_by(Path("train_tasks.jsonl")) == "train"
    assert split_named_by(Path("/x/test_tasks.jsonl")) == "test"
    assert split_named_by(Path("trainer.jsonl")) is None  # a word, not a substring
    assert split_named_by(Path("train_test.jsonl")) is None  # both: says nothing


# ------------------------------------------------------------------ a good import


def test_a_partial_import_prints_a_short_summary(tmp_path: Path) -> None:
    rows: list[Any] = [_calc_row(1), _calc_row(2), {"Row Number": 3}, _calc_row(4, **{"Calculator ID": 99999})]
    path = _write(tmp_path / "test_calc.jsonl", rows)
    output = tmp_path / "deep" / "calc.samples.jsonl"
    result = _invoke("medcalcbench", str(path), "--output", str(output))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert 4 <= len(lines) <= 6, result.stdout
    assert lines[0] == "imported 2 medcalcbench samples from 4 rows (2 skipped)"
    assert f"  source: {path}" in lines and f"  output: {output}" in lines
    skipped = next(line for line in lines if line.startswith("  skipped: "))
    assert "2 of 4 rows" in skipped and "calculator not implemented here (1)" in skipped and "missing fields (1)" in skipped
    assert len(output.read_text(encoding="utf-8").splitlines()) == 2


def test_json_prints_only_the_whole_report(tmp_path: Path) -> None:
    path = _write(tmp_path / "calc.jsonl", [_calc_row(1), {"Row Number": 2}])
    output = tmp_path / "calc.samples.jsonl"
    result = _invoke("medcalcbench", str(path), "--output", str(output), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # nothing but JSON on stdout
    assert report["dataset"] == "medcalcbench" and report["rows_read"] == 2
    assert report["samples_written"] == 1 and report["rows_skipped"] == 1
    assert report["skipped_by_reason"] == {"missing fields": 1}
    assert report["output"] == str(output) and report["split"] == "test"
    assert report["details"]["target"] == "official" and any(m.startswith("line 2:") for m in report["messages"])


def test_the_survey_bounds_what_a_hostile_row_can_make_it_count(tmp_path: Path) -> None:
    path = _write(tmp_path / "wide.jsonl", [{f"k{n}": n for n in range(5000)}])
    survey = survey_rows(path, "medcalcbench", get_dataset("medcalcbench").row_shape, row_shapes())
    assert survey.rows == 1 and survey.fitting == 0 and len(survey.fields) <= 256
    result = _invoke("medcalcbench", str(path))
    line = _one_line_error(result, "found: k0, k1")
    assert len(line) < 600


@pytest.mark.slow
def test_ehrsql_rows_keep_their_own_split_unless_one_is_asked_for(world_cache: Path, tmp_path: Path) -> None:
    """EHRSQL importers file each row under its own 'split' field; --split overrides it."""
    query = "select count( distinct patients.subject_id ) from patients"
    rows = [
        {"id": "a", "question": "How many patients are there?", "query": query, "split": "train", "db_id": "mimic_iii"},
        {"id": "b", "question": "How many patients are there?", "query": query, "split": "test", "db_id": "mimic_iii"},
    ]
    path = _write(tmp_path / "rows.jsonl", rows)
    output = tmp_path / "out.jsonl"
    result = _invoke("mimic_iii", str(path), "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "split:  per row (each row's own 'split' field (train 1, test 1))" in result.stdout
    assert [json.loads(x)["split"] for x in output.read_text(encoding="utf-8").splitlines()] == ["train", "test"]
    forced = _invoke("mimic_iii", str(path), "--output", str(output), "--split", "test", "--json")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["split"] == "test"
    assert [json.loads(x)["split"] for x in output.read_text(encoding="utf-8").splitlines()] == ["test", "test"]
