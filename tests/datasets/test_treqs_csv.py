"""treqs from a user's MIMIC-III CSV files: the same derivation as the world view.

The test writes part of the world out as MIMIC-III-shaped CSV files (upper-case headers, the
MIMIC-III columns EHRSQL drops included, no EHRSQL-only columns) and checks that the tables
derived from them equal the world view's rows for the same patients (names aside: MIMIC-III
has none).
"""

from __future__ import annotations

import csv
import gzip
import sqlite3
from pathlib import Path
from typing import Any

from medagentgym.datasets.treqs.build import read_text, register_functions
from medagentgym.datasets.treqs.csv_source import build_from_csv
from medagentgym.world import world_path

N_SUBJECTS = 40
# World table -> columns a MIMIC-III CSV lacks (EHRSQL additions).
_DROP = {"admissions": {"age"}, "diagnoses_icd": {"charttime"}, "procedures_icd": {"charttime"}}
# World table -> (staging table, its key column, MIMIC-III columns it supplies).
_EXTRA = {
    "admissions": ("stage_admission", "hadm_id", ("religion", "diagnosis")),
    "d_labitems": ("stage_lab_item", "itemid", ("fluid", "category")),
    "labevents": ("stage_lab", "row_id", ("flag", "value")),
    "prescriptions": ("stage_rx", "row_id", ("icustay_id", "drug_type", "formulary_drug_cd")),
}
_TABLES = ("patients", "admissions", "icustays", "diagnoses_icd", "procedures_icd",
           "d_icd_diagnoses", "d_icd_procedures", "labevents", "d_labitems", "prescriptions")


def export_world_as_mimic_csv(folder: Path) -> list[int]:
    """Write N_SUBJECTS patients of the world as MIMIC-III CSVs; returns their subject ids."""
    con = sqlite3.connect(":memory:")
    con.execute("ATTACH DATABASE ? AS world", (f"file:{world_path()}?mode=ro",))
    register_functions(con)
    con.executescript(read_text("stage_world.sql"))
    subjects = [r[0] for r in con.execute(
        f"select subject_id from world.patients order by subject_id limit {N_SUBJECTS}")]
    marks = ",".join("?" * len(subjects))
    for table in _TABLES:
        cols = [r[1] for r in con.execute(f"pragma world.table_info({table})")
                if r[1] not in _DROP.get(table, set())]
        select = ", ".join(f"t.{c}" for c in cols)
        join = ""
        if table in _EXTRA:
            stage, key, extra = _EXTRA[table]
            select += "".join(f", s.{c}" for c in extra)
            join = f" left join temp.{stage} s on s.{key} = t.{key}"
            cols += list(extra)
        where = f" where t.subject_id in ({marks})" if "subject_id" in cols else ""
        rows = con.execute(f"select {select} from world.{table} t{join}{where}",
                           subjects if where else []).fetchall()
        name = f"{table.upper()}.csv" + (".gz" if table == "admissions" else "")
        opener: Any = gzip.open if name.endswith(".gz") else open
        with opener(folder / name, "wt", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.upper() for c in cols])
            writer.writerows([["" if v is None else v for v in row] for row in rows])
    con.close()
    return subjects


def table_rows(path: Path, table: str, subjects: list[int], skip: tuple[str, ...] = ()) -> list[tuple]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cols = [r[1] for r in con.execute(f"pragma table_info({table})") if r[1] not in skip]
        marks = ",".join("?" * len(subjects))
        rows = con.execute(f"select {', '.join(cols)} from {table} where subject_id in ({marks})",
                           subjects).fetchall()
        return sorted(rows, key=repr)
    finally:
        con.close()


def test_csv_build_equals_the_world_view(treqs_env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mimic"
    folder.mkdir()
    (folder / "CHARTEVENTS.csv").write_text("this file must never be read\n\x00")
    subjects = export_world_as_mimic_csv(folder)
    built = build_from_csv(folder)
    assert built.path.exists() and built.path.parent.name == "user"
    assert not any("chartevents" in m for m in built.messages)
    for table in ("demographic", "diagnoses", "procedures", "prescriptions", "lab"):
        skip = ("name",) if table == "demographic" else ()
        ours = table_rows(built.path, table, subjects, skip)
        world = table_rows(treqs_env, table, subjects, skip)
        assert ours and ours == world, table
    names = sqlite3.connect(built.path).execute("select count(name) from demographic").fetchone()[0]
    assert names == 0  # MIMIC-III has no names
    again = build_from_csv(folder)
    assert again.path == built.path and any("reused" in m for m in again.messages)
    assert not [p for p in built.path.parent.iterdir() if p.name.startswith(".treqs-csv-")]
