"""treqs: the MIMICSQL view of the world, its generators, and the official-row importer."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog import Sample
from medagentgym.catalog.registry import get_dataset
from medagentgym.datasets._ehrsql import gold_conformance, read_task_rows
from medagentgym.datasets.treqs import DATASET
from medagentgym.datasets.treqs.build import (
    capitalize_words,
    drug_name,
    icd_title,
    number_text,
    schema_sql,
)
from medagentgym.datasets.treqs.importer import import_category

REFERENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared" / "reference" / "medagentgym-release" / "treqs" / "train_tasks.jsonl"
)
TABLES = {"demographic", "diagnoses", "procedures", "prescriptions", "lab"}


def reference_file() -> Path:
    if not REFERENCE.exists():
        pytest.skip(f"official TREQS task file not found at {REFERENCE} (shared/reference absent)")
    return REFERENCE


def run_solution(sample: Sample) -> Any:
    namespace: dict[str, Any] = {"DATABASES": {"treqs": sample.resources[0].path}}
    exec(sample.solution.code, namespace)  # noqa: S102 - our own reference solution
    return namespace["answer"]


def content_hash(path: Path) -> str:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        for table in sorted(TABLES):
            for row in con.execute(f"select * from {table} order by rowid"):
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        con.close()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------- the view


def test_registry_finds_treqs() -> None:
    assert get_dataset("treqs") is DATASET


def test_build_is_deterministic_and_stamped(treqs_env: Path) -> None:
    first = content_hash(treqs_env)
    mtime = treqs_env.stat().st_mtime_ns
    DATASET.build()  # same stamp: nothing rewritten
    assert treqs_env.stat().st_mtime_ns == mtime
    DATASET.build(force=True)
    assert content_hash(treqs_env) == first


def test_view_holds_only_the_five_tables(treqs_env: Path) -> None:
    tables = {r[0] for r in query(treqs_env, "select name from sqlite_master where type = 'table'")}
    assert tables - {"sqlite_stat1"} == TABLES  # no latent, outcomes or other world table
    counts = {t: query(treqs_env, f"select count(*) from {t}")[0][0] for t in TABLES}
    assert all(n > 0 for n in counts.values()), counts
    # one demographic row per admission
    assert query(treqs_env, "select count(*) = count(distinct hadm_id) from demographic")[0][0] == 1


def test_schema_has_every_column_the_official_sql_uses() -> None:
    columns = {
        (table, col.split()[0])
        for table, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\);", schema_sql(), flags=re.S)
        for col in body.strip().splitlines()
    }
    used = set()
    for row in read_task_rows(reference_file()).rows:
        used |= set(re.findall(r"\b(demographic|diagnoses|procedures|prescriptions|lab)\.'?(\w+)'?", row["query"]))
    assert used and used <= columns, sorted(used - columns)


def test_text_compares_without_case_and_numbers_as_numbers(treqs_env: Path) -> None:
    # stored in MIMIC-III's case, queried in MIMICSQL's lowercase
    assert query(treqs_env, "select count(*) from demographic where gender = 'M'")[0][0] > 0
    assert query(treqs_env, "select count(*) from demographic where demographic.'gender' = 'm'") == query(
        treqs_env, "select count(*) from demographic where upper(gender) = 'M'"
    )
    title = query(treqs_env, "select short_title from diagnoses where short_title glob '*[A-Z]*' limit 1")[0][0]
    assert query(treqs_env, f"select count(*) from diagnoses where short_title = '{title.lower()}'")[0][0] > 0
    # a quoted literal compares as a number: '8' < '50' even though the text '8' > '50'
    assert query(treqs_env, "select count(*) from demographic where demographic.'age' < '50'") == query(
        treqs_env, "select count(*) from demographic where age < 50"
    )
    assert query(treqs_env, "select count(*) from demographic where dod_year <= '2103.0'") == query(
        treqs_env, "select count(*) from demographic where dod_year <= 2103"
    )
    assert query(treqs_env, "select count(*) from lab where lab.'itemid' = '50912'") == query(
        treqs_env, "select count(*) from lab where itemid = 50912"
    )


def test_derived_columns(treqs_env: Path) -> None:
    bad = query(
        treqs_env,
        "select count(*) from demographic where admityear != cast(substr(admittime, 1, 4) as integer)"
        " or dob_year != cast(substr(dob, 1, 4) as integer)"
        " or expire_flag != (dod is not null)"
        " or days_stay != cast(julianday(dischtime) - julianday(admittime) as integer)",
    )
    assert bad == [(0,)]
    flags = dict(query(treqs_env, "select coalesce(flag, 'none'), count(*) from lab group by 1"))
    assert set(flags) == {"none", "abnormal", "delta"}
    assert flags["abnormal"] > flags["delta"] > 0
    doses = query(treqs_env, "select drug_dose from prescriptions where drug_dose is not null limit 50")
    assert all(re.match(r"^[\d.,\-]+\D", d) for (d,) in doses), doses[:5]


def test_letter_case_helpers() -> None:
    assert icd_title("hyp ht dis nos w ht fail") == "Hyp ht dis NOS w ht fail"
    assert capitalize_words("thyroxine (t4), free") == "Thyroxine (T4), Free"
    assert capitalize_words("self pay") == "Self Pay"
    assert drug_name("ns") == "NS" and drug_name("potassium chloride") == "Potassium Chloride"
    assert number_text(11.0) == "11" and number_text(1.25) == "1.25" and number_text(None) is None


# --------------------------------------------------------------------------- generation


def test_categories_and_full_sizes() -> None:
    categories = DATASET.categories()
    assert len(categories) >= 4
    full_train = sum(c.count("train", full=True) for c in categories)
    full_test = sum(c.count("test", full=True) for c in categories)
    assert full_train >= 8988 and full_test >= 996  # MedAgentGym's TREQS split
    for category in categories:
        assert len(category.params["templates"]) >= 2
        assert all(len(w) >= 2 for w in category.params["templates"].values())


@pytest.mark.parametrize("category", [c.name for c in DATASET.categories()])
def test_every_category_generates_valid_samples(treqs_env: Path, category: str) -> None:
    keys: dict[str, set[str]] = {"train": set(), "test": set()}
    templates: set[str] = set()
    for split, n in (("train", 8), ("test", 4)):
        for index in range(n):
            sample = DATASET.generate(category, split, index)
            assert sample.prompt.startswith(sample.metadata["question"])
            assert "{" not in sample.metadata["question"]
            assert run_solution(sample) == sample.target.value
            assert sample.target.value not in (None, [], "")
            keys[split].add(sample.metadata["content_key"])
            templates.add(sample.metadata["template"])
            json.loads(sample.model_dump_json())
    assert not keys["train"] & keys["test"]
    assert len(keys["train"]) == 8 and len(keys["test"]) == 4  # no question repeats in a split
    assert len(templates) >= 2
    again = DATASET.generate(category, "train", 3)
    assert again == DATASET.generate(category, "train", 3)


def test_generated_sql_is_mimicsql_style(treqs_env: Path) -> None:
    sample = DATASET.generate("multi_join", "train", 0)
    sql = sample.metadata["gold_sql"]
    assert sql.startswith("select count ( distinct demographic.'subject_id' ) from demographic inner join")
    assert sql == sql.lower()


# --------------------------------------------------------------------------- official rows


def test_official_gold_sql_executes(treqs_env: Path) -> None:
    result = gold_conformance(treqs_env, read_task_rows(reference_file()).rows)
    # measured 896/898; the other two leave an apostrophe unescaped ('crohn's disease'), which
    # the importer repairs (test_import_official_file imports every row)
    assert result.executed >= 0.99 * result.total, result.errors[:3]


def test_import_category() -> None:
    count = "select count ( distinct demographic.'subject_id' ) from demographic where demographic.'age' < '5'"
    assert import_category(count) == "mimicsql_count"
    assert import_category(
        "select count ( distinct demographic.'subject_id' ) from demographic inner join diagnoses on a = b "
        "inner join lab on a = c where x = 'y'"
    ) == "mimicsql_multi_join"
    assert import_category("select avg ( demographic.'age' ) from demographic where x = 'y'") == "mimicsql_aggregate"
    assert import_category("select demographic.'dob' from demographic where demographic.'name' = 'a b'") == (
        "mimicsql_patient_lookup"
    )
    assert import_category("select lab.'label' from lab where lab.'itemid' = '1'") == "mimicsql_code_lookup"


def test_import_official_file(treqs_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "official.jsonl"
    report = DATASET.import_file(reference_file(), out)
    assert report.rows_read == 898
    assert report.samples_written >= 0.9 * report.rows_read, report.details
    samples = [Sample.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(samples) == report.samples_written
    assert len({s.id for s in samples}) == len(samples)
    for sample in samples:
        assert sample.dataset == "treqs" and sample.category.startswith("mimicsql_")
        assert run_solution(sample) == sample.target.value, sample.id


def test_import_skips_hostile_lines_with_line_numbers(treqs_env: Path, tmp_path: Path) -> None:
    good = {"id": "g1", "question": "how many patients are male?", "split": "train",
            "query": "select count ( distinct demographic.'subject_id' ) from demographic "
                     "where demographic.'gender' = 'm'", "answer": ["1"]}
    lines = [
        json.dumps(good),
        '{"id": "broken", "query": ',  # line 2: invalid JSON
        json.dumps(["not", "an", "object"]),  # line 3
        json.dumps({"id": "noquery", "question": "?"}),  # line 4
        json.dumps({"id": "w", "question": "?", "query": "delete from demographic"}),  # line 5
        json.dumps({"id": "a", "question": "?", "query": "attach database 'x.db' as x"}),  # line 6
        "[" * 5000 + "]" * 5000,  # line 7: nested too deeply
    ]
    source = tmp_path / "hostile.jsonl"
    source.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "\xff"}\n')  # line 8: bad UTF-8
    out = tmp_path / "out.jsonl"
    report = DATASET.import_file(source, out)
    assert report.rows_read == 8
    assert report.samples_written == 1
    text = "\n".join(report.messages)
    for line in (2, 3, 4, 5, 6, 7, 8):
        assert re.search(rf"\bline {line}\b", text), (line, text)
    assert query(treqs_env, "select count(*) from demographic")[0][0] > 0  # nothing was deleted
