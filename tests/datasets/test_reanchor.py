"""Re-anchoring of official EHRSQL-style rows (``_reanchor``) and the shared import loop.

Unit tests run on a small hand-made TREQS-like database, so they show that a dataset supplies
its own ``SlotSpace`` as data; the official mimic_iii file is imported once per module.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.catalog import AnswerType, Sample
from medagentgym.datasets._ehrsql import (
    answer_from_rows,
    infer_answer_type,
    several_columns,
    solution_code,
)
from medagentgym.datasets._ehrsql_import import ImportConfig, import_ehrsql_file
from medagentgym.datasets._reanchor import (
    EICU_SPACE,
    MIMIC_III_SPACE,
    TREQS_SPACE,
    ColumnSource,
    Reanchorer,
    SlotSpace,
    TableLink,
    absent_slots,
    find_slots,
    in_question,
    repair_quotes,
    swap_question,
)
from medagentgym.readonly_sql import connect_readonly

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release"


# --------------------------------------------------------------------------- slots


def test_find_slots_reads_every_comparison_style_with_positions() -> None:
    sql = (
        "select count(*)>0 from prescriptions where prescriptions.hadm_id in ( select admissions.hadm_id "
        "from admissions where admissions.subject_id = 10266 ) and prescriptions.drug in ( 'd5 1/2ns', "
        "'labetalol' ) and strftime('%y',prescriptions.startdate) >= '2103' and demographic.'name' = "
        "'o''neil' and transfers.wardid = 23 and intakeoutput.cellpath like '%intake%' limit 1"
    )
    slots = find_slots(sql, {"patient_id": 10266, "drug_name1": "d5 1/2ns", "ward_id": 23.0})
    got = [(s.column, s.op, s.literal, s.transform, s.name) for s in slots]
    assert got == [
        ("admissions.subject_id", "=", "10266", None, "patient_id"),
        ("prescriptions.drug", "in", "d5 1/2ns", None, "drug_name1"),
        ("prescriptions.drug", "in", "labetalol", None, None),
        ("prescriptions.startdate", ">=", "2103", "%y", None),
        ("demographic.name", "=", "o'neil", None, None),
        ("transfers.wardid", "=", "23", None, "ward_id"),
        ("intakeoutput.cellpath", "like", "%intake%", None, None),
    ]
    assert [sql[s.start : s.end] for s in slots][:2] == ["10266", "'d5 1/2ns'"]
    assert sql[slots[4].start : slots[4].end] == "'o''neil'"
    assert [s.is_equality for s in slots] == [True, True, True, False, True, True, False]
    # limit 1, count(*)>0 and the literals inside function calls are not slots
    assert all(s.literal not in ("1", "0", "%y") for s in slots)


def test_find_slots_scope_is_the_enclosing_subquery() -> None:
    sql = (
        "select x from chartevents where chartevents.itemid in ( select d_items.itemid from d_items "
        "where d_items.label = 'heart rate' and d_items.linksto = 'chartevents' )"
    )
    label = find_slots(sql)[0]
    assert "linksto = 'chartevents'" in sql[label.scope[0] : label.scope[1]]
    assert MIMIC_III_SPACE.source_for("d_items.label", sql, sql[label.scope[0] : label.scope[1]]).requires == (
        "chartevents",
    )


def test_repair_quotes_escapes_apostrophes_inside_literals() -> None:
    broken = "select count(*) from demographic where demographic.'diagnosis' = 'crohn's disease' and x = 'a'"
    fixed = repair_quotes(broken)
    assert fixed == "select count(*) from demographic where demographic.'diagnosis' = 'crohn''s disease' and x = 'a'"
    assert repair_quotes(fixed) == fixed  # idempotent; correct SQL is unchanged
    for sql in ("select 'a''b', 'c'", "select x from t where t.c = 'it''s' and t.d in ('a','b')"):
        assert repair_quotes(sql) == sql
    con = sqlite3.connect(":memory:")
    assert con.execute(repair_quotes("select 'crohn's disease', 'o'neil'")).fetchone() == ("crohn's disease", "o'neil")
    [slot] = find_slots(fixed)[:1]
    assert slot.literal == "crohn's disease"


def test_swap_question_matches_case_words_numbers_and_dates() -> None:
    question = "Did patient 23 get PO Potassium on 02/10/2105, in 04/2105 or on 12/29? ward 23.0"
    new, unmatched = swap_question(
        question,
        {"23": "45", "po": "iv", "2105-02-10": "2104-12-31", "2105-04": "2103-01", "12-29": "01-05", "absent": "x"},
    )
    assert new == "Did patient 45 get iv Potassium on 12/31/2104, in 01/2103 or on 01/05? ward 45"
    assert unmatched == ["absent"]
    # all at once: a swap's new value is never swapped again
    swapped = swap_question("aspirin then heparin", {"aspirin": "heparin", "heparin": "aspirin"})[0]
    assert swapped == "heparin then aspirin"
    # the longer old value wins where two overlap
    assert swap_question("d5 1/2ns and ns", {"ns": "sw", "d5 1/2ns": "d5w"})[0] == "d5w and sw"
    assert in_question("since 06/16/2105", "2105-06-16") and not in_question("potassium", "po")
    # several words retyped: other punctuation, a truncated last word
    assert swap_question("who left against medical advice?", {"left against medical advi": "home"})[0] == "who home?"
    assert swap_question("had sigmoid diverticulitis colovestical fistula/sda", {
        "sigmoid diverticulitis, colovestical fistula/sda": "sepsis"})[0] == "had sepsis"
    assert swap_question("a heart rate", {"heart": "x"})[1] == []  # single words stay exact
    assert swap_question("hearty", {"heart": "x"}) == ("hearty", ["heart"])


def test_swap_question_finds_paraphrased_and_misspelled_values() -> None:
    cases = {
        # misspelled in the question
        ("how many patients had hemoptysis on base drugs?", "hemopytsis"): "how many patients had NEW on base drugs?",
        ("prescribed the drug ondasetron odt?", "ondansetron odt"): "prescribed the drug NEW?",
        # another order of the same words, other punctuation
        ("patients tested for indirect bilirubin, aged below 50", "bilirubin, indirect"): (
            "patients tested for NEW, aged below 50"
        ),
        # part of the value (the abbreviation left out); the bracket never stays half behind
        ("had cerebrospinal fluid lab test?", "cerebrospinal fluid (csf)"): "had NEW lab test?",
        ("who had free thyroxine (t4) lab test", "thyroxine (t4), free"): "who had NEW lab test",
        ("with hypertension (rule out coronary artery disease\\cardiac cath) as primary",
         "hypertension;rule out coronary artery disease\\cardiac cath"): "with NEW as primary",
        # a truncated single word goes on (MIMIC cuts titles), a value's own marks go with it
        ("had the drug route dialysis?", "dialys"): "had the drug route NEW?",
        ("given the drug clofarabine *ind*?", "clofarabine  *ind*"): "given the drug NEW?",
    }
    for (question, old), expected in cases.items():
        assert in_question(question, old), (question, old)
        assert swap_question(question, {old: "NEW"}) == (expected, []), (question, old)
    # not alike enough, other digits, too short: left alone and reported
    for question, old in (
        ("diagnosed with unspecified encephalopathy and abnormal status", "encephalopathy nos"),
        ("drug code maal301", "maal30l"),  # a typo in a code's digits is not the code
        ("icd9 code 42732", "42731"),
        ("patients on nebulizer therapy", "neb"),
        ("hypertensive heart disease with heart failure", "hyp ht dis nos w ht fail"),
        ("drug code neolevo50", "neolevo5"),
    ):
        assert not in_question(question, old), (question, old)
        assert swap_question(question, {old: "NEW"}) == (question, [old])
    # an exact match of one value is never taken by another value's fuzzy match
    assert swap_question("heparin and hepparin flush", {"heparin": "a", "heparin flush": "b"}) == ("a and b", [])


# --------------------------------------------------------------------------- a toy TREQS-like database


def _toy_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.executescript(
        """
        create table demographic (subject_id integer, hadm_id integer, name text collate nocase,
                                  gender text collate nocase, dob_year integer);
        create table prescriptions (subject_id integer, hadm_id integer, drug text collate nocase);
        insert into demographic values (1, 11, 'Ann Lee', 'F', 2050), (2, 21, 'Bo Chan', 'M', 2060),
                                       (3, 31, 'Cy Dorn', 'M', 2070);
        insert into prescriptions values (1, 11, 'Heparin'), (1, 11, 'Aspirin'), (2, 21, 'Insulin'),
                                         (3, 31, 'Insulin');
        """
    )
    con.commit()
    con.close()
    return path


TOY_SPACE = SlotSpace(
    name="toy",
    patients_sql="select subject_id from demographic",
    tables={
        "demographic": TableLink("select subject_id from demographic", "demographic.subject_id = ?"),
        "prescriptions": TableLink("select distinct subject_id from prescriptions", "prescriptions.subject_id = ?"),
    },
    sources=(
        ColumnSource(
            "demographic.subject_id",
            "select subject_id from demographic",
            "select subject_id from demographic where subject_id = ?",
            key_of_sql="select subject_id from demographic where subject_id = ?",
        ),
        ColumnSource(
            "demographic.name",
            "select name from demographic",
            "select name from demographic where subject_id = ?",
            key_of_sql="select subject_id from demographic where name = ?",
        ),
        ColumnSource("demographic.gender", "select gender from demographic",
                     "select gender from demographic where subject_id = ?"),
        ColumnSource("prescriptions.drug", "select drug from prescriptions",
                     "select drug from prescriptions where subject_id = ?"),
    ),
    lowercase_values=True,
)


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    path = _toy_db(tmp_path / "toy.sqlite")
    con = connect_readonly(path)
    yield path, con
    con.close()


COHERENT = (
    "select count ( distinct demographic.'subject_id' ) from demographic inner join prescriptions on "
    "demographic.hadm_id = prescriptions.hadm_id where demographic.'gender' = 'x' and prescriptions.'drug' = 'warfarin'"
)


def test_absent_values_are_swapped_coherently_in_sql_and_question(toy: tuple[Path, sqlite3.Connection]) -> None:
    _, con = toy
    question = "How many X patients were given Warfarin?"
    slots = find_slots(COHERENT)
    assert [s.literal for s in absent_slots(con, TOY_SPACE, COHERENT, slots)] == ["x", "warfarin"]
    result = Reanchorer(con, TOY_SPACE).reanchor("row-1", question, COHERENT)
    assert result.ok and result.rows[0][0] >= 1  # the gender and the drug of one patient
    swaps = {s.old: s.new for s in result.swaps}
    assert set(swaps) == {"x", "warfarin"} and all(s.in_question for s in result.swaps)
    assert swaps["warfarin"] in ("heparin", "aspirin", "insulin")  # lowercased, as TREQS writes them
    assert f"'{swaps['warfarin']}'" in result.sql and swaps["warfarin"] in result.question
    # deterministic: a fresh re-anchorer gives the same swaps for the same row
    again = Reanchorer(con, TOY_SPACE).reanchor("row-1", question, COHERENT)
    assert (again.sql, again.question, again.swaps) == (result.sql, result.question, result.swaps)


def test_present_values_stay_and_patient_ids_follow_names(toy: tuple[Path, sqlite3.Connection]) -> None:
    _, con = toy
    sql = (
        "select prescriptions.'drug' from demographic inner join prescriptions on demographic.hadm_id = "
        "prescriptions.hadm_id where demographic.'name' = 'zed roe' and prescriptions.'drug' = 'insulin'"
    )
    result = Reanchorer(con, TOY_SPACE).reanchor("r2", "what drug did zed roe get, insulin?", sql)
    assert result.ok
    # insulin is present, so it stays and the new patient is one who got it
    assert [s.old for s in result.swaps] == ["zed roe"]
    assert result.swaps[0].new in ("bo chan", "cy dorn")


def test_unreachable_rows_fail_cleanly(toy: tuple[Path, sqlite3.Connection]) -> None:
    _, con = toy
    anchor = Reanchorer(con, TOY_SPACE, max_attempts=6)
    for sql in (
        "select 1 from demographic where 1 = 0",  # nothing to swap
        "select nope from nowhere where nowhere.x = 'a'",  # fails to run
        "select demographic.'name' from demographic where demographic.'gender' = 'q' and 1 = 0",  # always empty
    ):
        result = anchor.reanchor("r", "which?", sql)
        assert not result.ok and result.sql == sql and result.rows == [] and result.swaps == []


def test_hostile_rows(toy: tuple[Path, sqlite3.Connection], tmp_path: Path) -> None:
    path, con = toy
    anchor = Reanchorer(con, TOY_SPACE, time_limit_s=1.0, row_budget_s=3.0)
    victim = tmp_path / "victim.sqlite"
    for sql in (
        f"attach database '{victim}' as v",
        "insert into demographic (subject_id, name) values (9, 'x')",
        f"vacuum into '{victim}'",
        "select 1; drop table demographic",
    ):
        assert not anchor.reanchor("evil", "q", sql).ok
    assert not victim.exists()
    # a huge literal is not a slot and costs nothing
    huge = "select count(*) from demographic where demographic.'name' = '" + "a" * 1_000_000 + "'"
    started = time.monotonic()
    assert find_slots(huge) == [] and not anchor.reanchor("huge", "q", huge).ok
    assert time.monotonic() - started < 2
    # odd value dicts: non-string values, unhashable values, keys naming slots absent from the SQL
    odd = {"drug_name": ["x"], "patient_id": {"a": 1}, 5: "x", "lab_value": float("nan"), "gender": True,
           "procedure_name": "not in the sql", "name": "Zed Roe"}
    slots = find_slots("select 1 from demographic where demographic.'name' = 'zed roe'", odd)  # type: ignore[arg-type]
    assert [(s.literal, s.name) for s in slots] == [("zed roe", "name")]
    gender = "select demographic.'gender' from demographic where demographic.'name' = 'zed roe'"
    assert anchor.reanchor("odd", "zed roe?", gender, odd).ok  # type: ignore[arg-type]
    # a query that runs away with the new values stops the row at its first timeout
    slow = (
        "with recursive r(n) as (select 1 union all select n + 1 from r) "
        "select count(*) from r, demographic where demographic.'name' = 'zed roe'"
    )
    started = time.monotonic()
    assert not anchor.reanchor("slow", "how many for zed roe?", slow).ok
    assert time.monotonic() - started < 3
    con2 = sqlite3.connect(path)
    assert con2.execute("select count(*) from demographic").fetchone() == (3,)
    con2.close()


def test_shared_import_loop_on_a_custom_space(toy: tuple[Path, sqlite3.Connection], tmp_path: Path) -> None:
    path, _ = toy
    rows = [
        {"id": "a", "question": "how many patients with crohn's disease got warfarin?", "split": "test",
         "query": "select count ( distinct prescriptions.'subject_id' ) from prescriptions where "
                  "prescriptions.'drug' = 'warfarin' and prescriptions.'drug' != 'crohn's disease'",
         "answer": ["4"]},
        {"id": "b", "question": "what is the gender of ann lee?",
         "query": "select demographic.'gender' from demographic where demographic.'name' = 'ann lee'", "answer": ["F"]},
        {"id": "c", "query": "select nope from nowhere"},
        {"id": "d", "query": "select 1 where 1 = 0"},
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = ImportConfig(
        dataset="toy", db_name="toy", resource_description="a toy database", prompt_note="Use the toy database.",
        category=lambda sql: "toy_" + ("drugs" if "prescriptions" in sql else "people"),
        space=TOY_SPACE, repair_quotes=True,
    )
    out = tmp_path / "out.jsonl"
    report = import_ehrsql_file(config, source, out, db_path=path)
    details = report.details
    assert report.rows_read == 4 and report.samples_written == 2 == details["answerable"]
    assert details["gold_executed"] == 3 and details["errors"]["error"] == 1 and details["skipped_empty"] == 1
    assert details["gold_nonempty_before"] == 2 and details["reanchored"] == 1  # row a names an absent drug
    samples = {s.metadata["official_id"]: s for s in map(Sample.model_validate_json, out.read_text().splitlines())}
    a, b = samples["a"], samples["b"]
    assert a.id == "toy/toy_drugs/test/official-a" and b.id == "toy/toy_people/train/official-b"
    assert a.metadata["reanchored"] and not b.metadata["reanchored"]
    assert a.metadata["official_question"] == rows[0]["question"] and a.metadata["official_sql"] == rows[0]["query"]
    assert "warfarin" not in a.prompt and a.prompt.startswith(a.metadata["reanchored_question"])
    assert a.metadata["swaps"][0]["old"] == "warfarin" and a.target.value >= 1
    assert b.target.value == ["f"] and b.metadata["swaps"] == []
    for sample in samples.values():
        namespace: dict = {"DATABASES": {"toy": str(path)}}
        exec(sample.solution.code, namespace)  # noqa: S102
        assert namespace["answer"] == sample.target.value


def test_values_the_question_does_not_show_are_never_swapped(toy: tuple[Path, sqlite3.Connection]) -> None:
    _, con = toy
    # 'warfarin' is absent but the question calls it "the blood thinner": it must stay; the
    # absent patient the question names is swapped for one who makes the result informative.
    sql = (
        "select count ( distinct prescriptions.'subject_id' ) from demographic inner join prescriptions on "
        "demographic.hadm_id = prescriptions.hadm_id where demographic.'name' = 'zed roe' and "
        "prescriptions.'drug' in ('warfarin', 'heparin')"
    )
    question = "did zed roe get the blood thinner or heparin?"
    result = Reanchorer(con, TOY_SPACE).reanchor("hidden", question, sql)
    assert result.ok and result.informative and result.rows == [(1,)]
    assert result.unswappable == ["warfarin"] and result.question_unmatched == []
    assert [(s.old, s.new, s.in_question) for s in result.swaps] == [("zed roe", "ann lee", True)]
    assert "'warfarin'" in result.sql and result.question == "did ann lee get the blood thinner or heparin?"
    # with nothing else to swap, the row cannot be re-anchored
    only = "select count ( distinct prescriptions.'subject_id' ) from prescriptions where prescriptions.'drug' = 'warfarin'"
    failed = Reanchorer(con, TOY_SPACE).reanchor("h2", "how many patients got the blood thinner?", only)
    assert not failed.ok and failed.unswappable == ["warfarin"] and failed.attempts == 0


def test_rows_resting_on_a_value_the_question_hides_are_skipped(
    toy: tuple[Path, sqlite3.Connection], tmp_path: Path
) -> None:
    path, _ = toy
    rows = [
        {"id": "h", "question": "how many patients got the blood thinner?",
         "query": "select count ( distinct prescriptions.'subject_id' ) from prescriptions "
                  "where prescriptions.'drug' = 'warfarin'"},
        # the same hidden value, but the row's own result is informative: kept as it is
        {"id": "k", "question": "how many patients got insulin or the blood thinner?",
         "query": "select count ( distinct prescriptions.'subject_id' ) from prescriptions "
                  "where prescriptions.'drug' in ('insulin', 'warfarin')"},
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = ImportConfig(
        dataset="toy", db_name="toy", resource_description="toy", prompt_note="", category=lambda _: "c", space=TOY_SPACE
    )
    report = import_ehrsql_file(config, source, tmp_path / "out.jsonl", db_path=path)
    details = report.details
    assert report.samples_written == 1 and details["skipped_unmatched"] == 1 and details["skipped_empty"] == 0
    assert report.rows_skipped == 1 and any("'warfarin'" in m and "line 1" in m for m in report.messages)
    [sample] = [Sample.model_validate_json(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sample.metadata["official_id"] == "k" and not sample.metadata["reanchored"] and sample.target.value == 2


def test_zero_counts_move_the_thresholds_the_question_shows(
    toy: tuple[Path, sqlite3.Connection], tmp_path: Path
) -> None:
    path, _ = toy
    rows = [
        {"id": "z", "question": "how many patients were born before 1882?",
         "query": "select count ( distinct demographic.'subject_id' ) from demographic "
                  "where demographic.'dob_year' < '1882'"},
        # the question does not show the threshold: the 0 stays
        {"id": "n", "question": "how many patients are very old?",
         "query": "select count ( distinct demographic.'subject_id' ) from demographic "
                  "where demographic.'dob_year' < '1882'"},
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = ImportConfig(
        dataset="toy", db_name="toy", resource_description="toy", prompt_note="", category=lambda _: "c", space=TOY_SPACE
    )
    out = tmp_path / "out.jsonl"
    report = import_ehrsql_file(config, source, out, db_path=path)
    details = report.details
    assert report.samples_written == 2 and details["reanchored_zero"] == 1 and details["zero_answers"] == 1
    samples = {s.metadata["official_id"]: s for s in map(Sample.model_validate_json, out.read_text().splitlines())}
    moved, kept = samples["z"], samples["n"]
    [swap] = moved.metadata["swaps"]
    assert swap["old"] == "1882" and int(swap["new"]) > 2050 and moved.target.value >= 1
    assert moved.metadata["question"] == f"how many patients were born before {swap['new']}?"
    assert kept.target.value == 0 and not kept.metadata["reanchored"]


# --------------------------------------------------------------------------- several columns


def test_several_columns_answer_with_every_column() -> None:
    rows = [("2182-04-24 21:20:00", "Circumcision"), ("2182-04-24 21:20:00", None), (5.0, "M")]
    sql = "select demographic.'admittime', procedures.'long_title' from demographic"
    assert several_columns(rows) and not several_columns([(1,), (2,)]) and not several_columns([])
    assert infer_answer_type(sql, rows) is AnswerType.STRING_SET
    assert infer_answer_type("select count(*), x from t", [(0, "a")]) is AnswerType.STRING_SET
    answer = answer_from_rows(rows, AnswerType.STRING_SET, all_columns=True)
    assert answer == ["2182-04-24 21:20:00", "5", "circumcision", "m"]
    assert answer_from_rows(rows, AnswerType.STRING_SET) == ["2182-04-24 21:20:00", "5"]  # first column
    with pytest.raises(ValueError):
        answer_from_rows(rows, AnswerType.INTEGER, all_columns=True)
    # the single-column rule text is unchanged, so existing samples stay byte-identical
    single = solution_code("select 1", "toy", AnswerType.STRING_SET)
    assert single == solution_code("select 1", "toy", AnswerType.STRING_SET, all_columns=False)
    assert single.endswith("answer = sorted({_text(r[0]) for r in rows if r and r[0] is not None})\n")


def test_multi_column_rows_import_with_every_column(toy: tuple[Path, sqlite3.Connection], tmp_path: Path) -> None:
    path, _ = toy
    row = {"id": "m", "question": "what is the gender and drug of ann lee?",
           "query": "select demographic.'gender', prescriptions.'drug' from demographic inner join prescriptions "
                    "on demographic.hadm_id = prescriptions.hadm_id where demographic.'name' = 'ann lee'",
           "answer": ["F", "Heparin", "F", "Aspirin"]}
    source = tmp_path / "rows.jsonl"
    source.write_text(json.dumps(row) + "\n")
    config = ImportConfig(
        dataset="toy", db_name="toy", resource_description="toy", prompt_note="", category=lambda _: "c", space=TOY_SPACE
    )
    out = tmp_path / "out.jsonl"
    report = import_ehrsql_file(config, source, out, db_path=path)
    assert report.details["multi_column"] == 1 and report.details["answer_types"] == {"string_set": 1}
    [sample] = [Sample.model_validate_json(x) for x in out.read_text().splitlines()]
    assert sample.target.answer_type is AnswerType.STRING_SET
    assert sample.target.value == ["aspirin", "f", "heparin"]
    namespace: dict = {"DATABASES": {"toy": str(path)}}
    exec(sample.solution.code, namespace)  # noqa: S102
    assert namespace["answer"] == sample.target.value


def test_spaces_name_real_columns() -> None:
    """Every source's SQL parses against the schema it is written for."""
    root = Path(__file__).resolve().parents[2] / "src" / "medagentgym" / "datasets"
    for space, schema in ((MIMIC_III_SPACE, "mimic_iii/schema.sql"), (EICU_SPACE, "eicu/schema.sql"),
                          (TREQS_SPACE, "treqs/schema.sql")):
        schema_path = root / schema
        if not schema_path.exists():
            continue
        con = sqlite3.connect(":memory:")
        con.executescript(schema_path.read_text())
        statements = [space.patients_sql] + [link.patients_sql for link in space.tables.values()]
        statements += [s.values_sql for s in space.sources] + [f.patients_sql for f in space.filters]
        for sql in statements:
            con.execute(sql).fetchall()
        for sql in [s.patient_values_sql for s in space.sources] + [s.key_of_sql for s in space.sources]:
            if sql:
                con.execute(sql, (1,)).fetchall()
        for table, link in space.tables.items():
            con.execute(f"select 1 from {table} where {link.restrict}", (1,)).fetchall()
        con.close()


# --------------------------------------------------------------------------- the official files


@pytest.fixture(scope="module", params=["mimic_iii", "eicu", "treqs"])
def official_import(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One dataset's official task file imported onto its view of the world (once per module)."""
    name = request.param
    source = REFERENCE / name / "train_tasks.jsonl"
    if not source.exists():
        pytest.skip(f"official {name} task file not found at {source} (../shared/reference absent)")
    cache = request.getfixturevalue(f"{name}_cache")  # the world with this dataset's view built
    from medagentgym.catalog import get_dataset

    out = tmp_path_factory.mktemp("reanchor") / f"{name}.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(cache))
        started = time.monotonic()
        report = get_dataset(name).import_file(source, out)
        elapsed = time.monotonic() - started
    samples = [Sample.model_validate_json(line) for line in out.read_text().splitlines()]
    return name, report, samples, elapsed


def test_official_rows_become_answerable(official_import) -> None:
    name, report, samples, elapsed = official_import
    details = report.details
    total = report.rows_read
    assert details["gold_executed"] >= 0.99 * total
    assert report.samples_written == len(samples) == details["answerable"] >= 0.90 * total, details
    assert details["reanchored"] > details["gold_nonempty_before"] * 0.5 or name == "treqs"  # mostly absent things
    skipped = details["skipped_empty"] + details["skipped_unmatched"] + details["bad_rows"]
    assert report.rows_skipped == skipped + sum(details["errors"].values())
    assert elapsed < 120, elapsed  # about 10 s on a shared 2-core machine; catches runaway searches
    assert len({s.id for s in samples}) == len(samples)
    for sample in samples:
        meta = sample.metadata
        assert sample.id.startswith(f"{name}/") and sample.id.endswith(f"/official-{meta['official_id']}")
        assert {"official_question", "official_sql", "official_answer", "swaps", "reanchored"} <= set(meta)
        assert sample.prompt.startswith(meta["question"])
        if meta["reanchored"]:
            assert meta["reanchored_sql"] != meta["official_sql"]


def test_official_questions_and_sql_agree(official_import) -> None:
    """Every swapped value was replaced in the question: no sample asks about one value while
    its SQL compares another."""
    _, _, samples, _ = official_import
    for sample in samples:
        meta = sample.metadata
        assert meta["question_unmatched"] == [], sample.id
        for swap in meta["swaps"]:
            assert swap["in_question"], (sample.id, swap)
            assert in_question(meta["question"], swap["new"]), (sample.id, swap)
            assert f"'{swap['new']}'" in meta["gold_sql_ehrsql"] or swap["new"] in meta["gold_sql_ehrsql"]
            if not in_question(swap["new"], swap["old"]):
                assert not in_question(meta["question"], swap["old"]), (sample.id, swap)


def test_official_solutions_reproduce_their_targets(official_import) -> None:
    name, report, samples, _ = official_import
    several = 0
    for sample in samples:
        namespace: dict = {"DATABASES": {sample.resources[0].name: sample.resources[0].path}}
        exec(sample.solution.code, namespace)  # noqa: S102
        assert namespace["answer"] == sample.target.value, sample.id
        several += int(" for v in r " in sample.solution.code)
    assert several == report.details["multi_column"]
    if name == "treqs":
        assert several >= 90  # "what is the age and gender of ...": every column answers
