"""The shared EHRSQL helpers: fixed now, strftime rewrites, rows->answer rule, task-file reading."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets._ehrsql import (
    MIMIC_III_NOW,
    answer_from_rows,
    infer_answer_type,
    is_nonempty,
    prepare_query,
    read_task_rows,
    solution_code,
)


def test_now_is_ehrsql_end_of_2105() -> None:
    assert MIMIC_III_NOW == "2105-12-31 23:59:00"


def test_current_time_substituted_as_whole_word_any_case() -> None:
    sql = "select datetime(current_time,'-1 year'), CURRENT_TIME, current_timestamp, t.my_current_time"
    out = prepare_query(sql)
    assert out.count(f"'{MIMIC_III_NOW}'") == 2
    assert "current_timestamp" in out and "my_current_time" in out


def test_strftime_rewrites_follow_ehrsql_evaluation() -> None:
    sql = "select strftime('%y',current_time), strftime('%j',current_time) - strftime('%j','2105-12-30 23:59:00')"
    con = sqlite3.connect(":memory:")
    year, days = con.execute(prepare_query(sql)).fetchone()
    assert year == "2105" and days == pytest.approx(1.0)
    raw = prepare_query(sql, ehrsql_compat=False)
    assert "%y" in raw and "%j" in raw
    # without the rewrite '%y' is NULL (SQLite < 3.44) or a two-digit year: never '2105'
    assert con.execute(raw).fetchone()[0] != "2105"


def test_answer_from_rows_rules() -> None:
    assert answer_from_rows([("PO",), ("iv",), ("po",), (None,)], AnswerType.STRING_SET) == ["iv", "po"]
    assert answer_from_rows([], AnswerType.STRING_SET) == []
    assert answer_from_rows([(3,)], AnswerType.INTEGER) == 3
    assert answer_from_rows([(2.0,)], AnswerType.INTEGER) == 2
    assert answer_from_rows([(1,)], AnswerType.BOOLEAN) is True
    assert answer_from_rows([(0,)], AnswerType.BOOLEAN) is False
    assert answer_from_rows([(7.25,)], AnswerType.NUMBER) == 7.25
    assert answer_from_rows([("M",)], AnswerType.STRING) == "m"
    assert answer_from_rows([("2105-01-02 03:04:00",)], AnswerType.DATE) == "2105-01-02 03:04:00"
    with pytest.raises(ValueError):
        answer_from_rows([(None,)], AnswerType.NUMBER)
    assert is_nonempty([(None,)]) is False and is_nonempty([(0,)]) is True


def test_infer_answer_type() -> None:
    assert infer_answer_type("select count(*)>0 from x", [(1,)]) is AnswerType.BOOLEAN
    assert infer_answer_type("select count( distinct a ) from x", [(4,)]) is AnswerType.INTEGER
    assert infer_answer_type("select distinct route from x", [("po",)]) is AnswerType.STRING_SET
    assert infer_answer_type("select valuenum from x", [(3.5,)]) is AnswerType.NUMBER
    assert infer_answer_type("select dob from x", [("2050-01-01 00:00:00",)]) is AnswerType.DATE
    assert infer_answer_type("select drug from x", [("a",), ("b",)]) is AnswerType.STRING_SET


def test_solution_code_applies_the_same_rule(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    con = sqlite3.connect(db)
    con.execute("create table t (v)")
    con.executemany("insert into t values (?)", [("B",), ("a",), ("b",)])
    con.commit()
    con.close()
    for kind, expected in ((AnswerType.STRING_SET, ["a", "b"]), (AnswerType.STRING, "b")):
        namespace = {"DATABASES": {"mimic_iii": str(db)}}
        exec(solution_code("select v from t", "mimic_iii", kind), namespace)  # noqa: S102
        assert namespace["answer"] == expected


def test_read_task_rows_skips_and_explains_bad_lines(tmp_path: Path) -> None:
    good = {"id": "a", "question": "q", "query": "select 1"}
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n\n" + json.dumps({"id": "b"}) + "\n[1]\n")
    read = read_task_rows(path)
    assert [r["id"] for r in read.rows] == ["a"]
    assert read.skipped == 3
    assert any("line 2" in m for m in read.messages)
    as_list = tmp_path / "rows.json"
    as_list.write_text(json.dumps([good, good]))
    assert len(read_task_rows(as_list).rows) == 2
