"""Re-anchoring of official EHRSQL-style rows (``_reanchor``) and the shared import loop.

Unit tests run on a small hand-made TREQS-like database, so they show that a dataset supplies
its own ``SlotSpace`` as data; the official mimic_iii file is imported once per module.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.catalog import Sample
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
    assert not anchor.reanchor("slow", "q", slow).ok
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


def test_rows_whose_question_hides_the_value_can_be_dropped(
    toy: tuple[Path, sqlite3.Connection], tmp_path: Path
) -> None:
    path, _ = toy
    row = {"id": "h", "question": "how many patients got the blood thinner?",
           "query": "select count ( distinct prescriptions.'subject_id' ) from prescriptions "
                    "where prescriptions.'drug' = 'warfarin'"}
    source = tmp_path / "rows.jsonl"
    source.write_text(json.dumps(row) + "\n")
    base = ImportConfig(
        dataset="toy", db_name="toy", resource_description="toy", prompt_note="", category=lambda _: "c", space=TOY_SPACE
    )
    kept = import_ehrsql_file(base, source, tmp_path / "kept.jsonl", db_path=path)
    assert kept.details["reanchored"] == 1 and kept.details["question_unmatched"] == 1
    [sample] = [Sample.model_validate_json(x) for x in (tmp_path / "kept.jsonl").read_text().splitlines()]
    assert sample.metadata["question_unmatched"] == ["warfarin"] and not sample.metadata["swaps"][0]["in_question"]
    strict = dataclasses.replace(base, drop_unmatched_questions=True)
    dropped = import_ehrsql_file(strict, source, tmp_path / "strict.jsonl", db_path=path)
    assert dropped.details["reanchored"] == 0 and dropped.details["reanchor_unmatched_dropped"] == 1
    [sample] = [Sample.model_validate_json(x) for x in (tmp_path / "strict.jsonl").read_text().splitlines()]
    assert not sample.metadata["reanchored"] and sample.target.value == 0  # the official row, as it is


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


# --------------------------------------------------------------------------- the official mimic_iii file


@pytest.fixture(scope="module")
def official_import(mimic_iii_cache: Path, tmp_path_factory: pytest.TempPathFactory):
    source = REFERENCE / "mimic_iii" / "train_tasks.jsonl"
    if not source.exists():
        pytest.skip(f"official MIMIC-III task file not found at {source} (shared/reference absent)")
    from medagentgym.datasets.mimic_iii import DATASET

    out = tmp_path_factory.mktemp("reanchor") / "official.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDAGENTGYM_CACHE", str(mimic_iii_cache))
        started = time.monotonic()
        report = DATASET.import_file(source, out)
        elapsed = time.monotonic() - started
    samples = [Sample.model_validate_json(line) for line in out.read_text().splitlines()]
    return report, samples, elapsed


def test_official_mimic_iii_rows_become_answerable(official_import) -> None:
    report, samples, elapsed = official_import
    details = report.details
    total = report.rows_read
    assert details["gold_executed"] >= 0.99 * total
    assert report.samples_written == len(samples) >= 0.90 * total
    assert details["reanchored"] > details["gold_nonempty_before"] * 0.5  # most rows named absent things
    assert details["question_unmatched"] <= 0.05 * total
    assert elapsed < 120, elapsed  # about 10 s on a shared 2-core machine; catches runaway searches
    assert len({s.id for s in samples}) == len(samples)
    for sample in samples:
        meta = sample.metadata
        assert sample.id.startswith("mimic_iii/ehrsql_") and sample.id.endswith(f"/official-{meta['official_id']}")
        assert {"official_question", "official_sql", "official_answer", "swaps", "reanchored"} <= set(meta)
        assert sample.prompt.startswith(meta["question"])
        if meta["reanchored"]:
            assert meta["reanchored_sql"] != meta["official_sql"]
            for swap in meta["swaps"]:
                if swap["in_question"]:
                    assert in_question(meta["question"], swap["new"])


def test_official_mimic_iii_solutions_reproduce_their_targets(official_import) -> None:
    _, samples, _ = official_import
    for sample in samples:
        namespace: dict = {"DATABASES": {"mimic_iii": sample.resources[0].path}}
        exec(sample.solution.code, namespace)  # noqa: S102
        assert namespace["answer"] == sample.target.value, sample.id
