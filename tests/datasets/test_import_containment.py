"""`medagentgym import` on hostile task files (issue 7, item 14), through the command line.

Task files are third-party data whose gold SQL runs in the harness. Each test sends the attack,
checks it was contained (nothing written outside the output, the row skipped and counted with its
line number, a one-line error where the command cannot go on, never a traceback) and that the
next command works.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medagentgym.cli import app
from medagentgym.datasets.medcalcbench import importer as medcalc_importer

runner = CliRunner()
LONE = "\udcff"


def _report(output: str) -> dict[str, Any]:
    """The ImportReport the command prints with --json (nothing else is on stdout)."""
    return json.loads(output)


def _one_line_error(result: Any, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not an uncaught exception
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def _mimic_row(row_id: str, query: str, **extra: Any) -> str:
    return json.dumps({"id": row_id, "question": f"question {row_id}", "split": "test", "query": query, **extra})


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """Another SQLite file on the machine: gold SQL must not be able to touch it."""
    path = tmp_path / "victim.sqlite"
    con = sqlite3.connect(path)
    con.execute("create table t (x integer)")
    con.executemany("insert into t values (?)", [(i,) for i in range(5)])
    con.commit()
    con.close()
    return path


def test_gold_sql_runs_read_only_and_under_a_time_limit(
    mimic_iii_env: Path, tmp_path: Path, victim: Path
) -> None:
    evil = tmp_path / "evil.sqlite"
    db_bytes = mimic_iii_env.read_bytes()
    rows = [
        _mimic_row("good", "select count( distinct patients.subject_id ) from patients"),  # line 1
        _mimic_row("vacuum", f"vacuum into '{evil}'"),  # line 2
        _mimic_row("attach", f"attach database '{victim}' as v"),  # line 3
        _mimic_row("delete", "delete from v.t"),  # line 4
        _mimic_row("commit", "commit"),  # line 5
        _mimic_row("pragma", "pragma query_only = 0"),  # line 6
        _mimic_row("extension", "select load_extension('/tmp/nope.so')"),  # line 7
        _mimic_row("insert", "insert into patients (row_id) values (-1)"),  # line 8
        _mimic_row("runaway", "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r"),
        _mimic_row("many", "with recursive r(n) as (select 1 union all select n + 1 from r where n < 300000) select n from r"),
        _mimic_row("null-first", "select null as x union all select 1"),  # line 11: no scalar answer
    ]
    source = tmp_path / "attack.jsonl"
    source.write_text("\n".join(rows) + "\n")
    output = tmp_path / "out" / "attack.samples.jsonl"
    result = runner.invoke(
        app, ["import", "mimic_iii", str(source), "--output", str(output), "--query-timeout", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    details = report["details"]
    assert report["samples_written"] == 1 and report["rows_read"] == len(rows)
    assert details["gold_refused"] >= 5  # vacuum, attach, commit, pragma, extension, insert
    assert details["gold_timeouts"] == 1 and details["gold_too_many_rows"] == 1 and details["bad_rows"] == 1
    assert report["rows_skipped"] == len(rows) - 1
    messages = "\n".join(report["messages"])
    for line, row_id in ((2, "vacuum"), (3, "attach"), (9, "runaway"), (10, "many"), (11, "null-first")):
        assert f"line {line} (row {row_id})" in messages
    assert "timed out after 1 s" in messages and "may only read" in messages
    # Contained: no file created, the other database and the task database untouched.
    assert not evil.exists()
    con = sqlite3.connect(victim)
    assert con.execute("select count(*) from t").fetchone()[0] == 5
    con.close()
    assert mimic_iii_env.read_bytes() == db_bytes
    # The next command works on what was written.
    run = runner.invoke(app, ["run", "--samples", str(output), "--out", str(tmp_path / "run"), "--no-progress"])
    assert run.exit_code == 0 and "1 successful" in run.output, run.output


def test_bad_rows_are_skipped_with_their_line_numbers(mimic_iii_env: Path, tmp_path: Path) -> None:
    good = _mimic_row("good", "select count( distinct patients.subject_id ) from patients").encode()
    lines = [
        good,  # 1
        b'{"id": "bytes", "query": "select 1", "question": "caf\xe9 \xff"}',  # 2: invalid UTF-8
        b"[" * 5000 + b"]" * 5000,  # 3: nested too deep
        b'{"id": "half", "query": ',  # 4: invalid JSON
        b'{"id": "noquery", "question": "q"}',  # 5: missing field
        b'{"id": "badtype", "query": ["select 1"]}',  # 6: wrong type
        b'"just a string"',  # 7: not an object
        b'{"id": "num", "query": "select 1", "answer": ' + b"9" * 5000 + b"}",  # 8: a 5,000-digit number
        json.dumps({"id": "sur", "question": "lone \udcff here", "split": "test",
                    "query": "select count(*) from admissions"}).encode(),  # 9: valid JSON, lone surrogate
    ]
    source = tmp_path / "rows.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "rows.samples.jsonl"
    result = runner.invoke(app, ["import", "mimic_iii", str(source), "--output", str(output), "--json"])
    assert result.exit_code == 0, result.output
    result.stdout_bytes.decode("utf-8")
    report = _report(result.stdout)
    assert report["samples_written"] == 2 and report["rows_skipped"] == 7 and report["rows_read"] == 9
    messages = report["messages"]
    for number, why in ((2, "invalid UTF-8"), (3, "nested deeper"), (4, "not valid JSON"), (5, "no gold"),
                        (6, "no gold"), (7, "not a JSON object"), (8, "not acceptable JSON")):
        assert any(m.startswith(f"line {number}:") and why in m for m in messages), (number, messages)
    written = output.read_bytes().decode("utf-8").splitlines()
    assert len(written) == 2 and "\ufffd" in written[1]
    shown = runner.invoke(app, ["tasks", "show", "mimic_iii/ehrsql_admissions/test/official-sur", "--samples", str(output)])
    assert shown.exit_code == 0 and "\ufffd" in json.loads(shown.output)["prompt"]


def test_a_failed_reimport_keeps_the_earlier_output(mimic_iii_env: Path, tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text(_mimic_row("good", "select count( distinct patients.subject_id ) from patients") + "\n")
    output = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["import", "mimic_iii", str(source), "--output", str(output)]).exit_code == 0
    before = output.read_bytes()
    for name, content in (
        ("truncated.json", b'[{"id": "x", "query": '),
        ("deep.json", b"[" * 5000 + b"]" * 5000),
        ("bytes.json", b'[{"id": "x", "query": "select 1", "q": "\xff"}]'),
        ("data.json", b'{"data": 3}'),
    ):
        broken = tmp_path / name
        broken.write_bytes(content)
        result = runner.invoke(app, ["import", "mimic_iii", str(broken), "--output", str(output)])
        _one_line_error(result, name)
        assert output.read_bytes() == before
    assert sorted(p.name for p in output.parent.iterdir() if p.name.startswith(".out.jsonl")) == []
    again = runner.invoke(app, ["import", "mimic_iii", str(source), "--output", str(output)])
    assert again.exit_code == 0 and output.read_bytes() == before


def _calc_row(number: int, **overrides: Any) -> str:
    row = {
        "Row Number": number,
        "Calculator ID": 39,
        "Calculator Name": "Anion Gap",
        "Patient Note": f"Note {number}.",
        "Question": "What is the anion gap?",
        "Relevant Entities": "{'Sodium': [140.0, 'mmol/L'], 'Chloride': [100.0, 'mmol/L'], 'Bicarbonate': [20.0, 'mmol/L']}",
        "Ground Truth Answer": "20",
        "Lower Limit": "19",
        "Upper Limit": "21",
    }
    row.update(overrides)
    return json.dumps(row)


def test_medcalcbench_import_skips_hostile_rows_and_writes_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path / "cache"))
    lines = [
        _calc_row(1).encode(),  # 1
        b'{"Row Number": 2, "Patient Note": "\xff"}',  # 2: invalid UTF-8
        b'{"Row Number": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # 3: nested too deep
        _calc_row(4, **{"Row Number": "four"}).encode(),  # 4: wrong type
        _calc_row(5, **{"Calculator ID": "1" * 5000}).encode(),  # 5: absurd number
        json.dumps({"Row Number": 6}).encode(),  # 6: missing fields
        _calc_row(7, **{"Patient Note": f"lone {LONE} surrogate"}).encode(),  # 7: imported, cleaned
        _calc_row(8, **{"Ground Truth Answer": "n/a"}).encode(),  # 8: no numeric answer
    ]
    source = tmp_path / "calc.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "calc.samples.jsonl"
    result = runner.invoke(app, ["import", "medcalcbench", str(source), "--output", str(output), "--json"])
    assert result.exit_code == 0, result.output
    report = _report(result.stdout)
    assert report["samples_written"] == 2 and report["rows_skipped"] == 6
    for number in (2, 3, 4, 5, 6, 8):
        assert any(m.startswith(f"line {number}:") for m in report["messages"]), (number, report["messages"])
    before = output.read_bytes()
    assert "\ufffd" in before.decode("utf-8")

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")  # a failure in the middle of a re-import

    monkeypatch.setattr(medcalc_importer, "convert_row", crash)
    failed = runner.invoke(app, ["import", "medcalcbench", str(source), "--output", str(output)])
    assert failed.exit_code != 0 and output.read_bytes() == before
    assert [p.name for p in output.parent.iterdir() if p.name.startswith(".calc")] == []
    monkeypatch.undo()
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path / "cache"))
    run = runner.invoke(app, ["validate", "--samples", str(output), "--no-progress"])
    assert run.exit_code == 0, run.output


def test_unreadable_task_files_are_one_line_errors(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["import", "mimic_iii", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    folder = runner.invoke(app, ["import", "medcalcbench", str(tmp_path)])
    assert folder.exit_code == 2 and "Traceback" not in folder.output
