"""Build the treqs database from a user's real MIMIC-III CSV files (``import --db DIR``).

MIMICSQL is derived from MIMIC-III, so with the real files we derive it as MIMICSQL does, in two
steps that reuse the world path's SQL:

1. mimic_iii's CSV loader (``csv_db.load_csv_folder``) loads the ten tables MIMICSQL needs into
   an EHRSQL-shaped SQLite file (lowercased, ``admissions.age`` computed). Only those files are
   offered to it (through a folder of links), so the multi-gigabyte CHARTEVENTS is never read.
2. The MIMIC-III columns EHRSQL drops are read from the same CSVs into the four staging tables
   ``stage_world.sql`` makes for the world: ADMISSIONS.RELIGION and DIAGNOSIS, D_LABITEMS.FLUID
   and CATEGORY, LABEVENTS.FLAG and VALUE, PRESCRIPTIONS.ICUSTAY_ID, DRUG_TYPE and
   FORMULARY_DRUG_CD. Then ``fill.sql`` writes the five tables, as for the world.

MIMIC-III has no patient names (MIMICSQL made up its own), so ``demographic.name`` is NULL here;
questions by name have no answer on a real database. The result is cached under
``<cache>/datasets/treqs/user/`` by a fingerprint of the files and the build's SQL; the
intermediate files are deleted.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets.mimic_iii.csv_db import (
    CHUNK_ROWS,
    find_table_file,
    load_csv_folder,
)
from medagentgym.datasets.treqs.build import (
    build_version,
    fill,
    indexes_sql,
    schema_sql,
)
from medagentgym.paths import dataset_cache_dir

#: The MIMIC-III tables MIMICSQL is derived from.
SOURCE_TABLES: tuple[str, ...] = (
    "patients",
    "admissions",
    "icustays",
    "diagnoses_icd",
    "procedures_icd",
    "d_icd_diagnoses",
    "d_icd_procedures",
    "labevents",
    "d_labitems",
    "prescriptions",
)

# Staging table <- (CSV table, staging columns, CSV columns). NULL where a CSV has no such column
# (``name``: MIMIC-III has no names).
_STAGING: tuple[tuple[str, str, tuple[str, ...], tuple[str | None, ...]], ...] = (
    ("stage_admission", "admissions", ("hadm_id", "name", "religion", "diagnosis"),
     ("hadm_id", None, "religion", "diagnosis")),
    ("stage_lab_item", "d_labitems", ("itemid", "label", "fluid", "category"),
     ("itemid", "label", "fluid", "category")),
    ("stage_lab", "labevents", ("row_id", "flag", "value"), ("row_id", "flag", "value")),
    ("stage_rx", "prescriptions", ("row_id", "icustay_id", "drug_type", "formulary_drug_cd"),
     ("row_id", "icustay_id", "drug_type", "formulary_drug_cd")),
)


@dataclass
class CsvBuild:
    path: Path
    messages: list[str] = field(default_factory=list)


def fingerprint(folder: Path) -> str:
    """Identity of a build: the source files (name, size, mtime) and the build's SQL."""
    parts: list[object] = [str(folder.resolve()), build_version(), schema_sql()]
    for table in SOURCE_TABLES:
        path = find_table_file(folder, table)
        if path is not None:
            st = path.stat()
            parts += [path.name, st.st_size, st.st_mtime_ns]
    return f"{stable_hash(*parts):016x}"


def build_from_csv(folder: Path, *, force: bool = False) -> CsvBuild:
    """The treqs database derived from ``folder``'s MIMIC-III CSVs (built once, then reused)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of MIMIC-III CSV files")
    out_dir = dataset_cache_dir("treqs") / "user"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"treqs-{fingerprint(folder)}.sqlite"
    result = CsvBuild(target)
    if target.exists() and not force:
        result.messages.append(f"reused the database built earlier from {folder}: {target}")
        return result
    with tempfile.TemporaryDirectory(prefix=".treqs-csv-", dir=out_dir) as work_name:
        work = Path(work_name)
        links = work / "csv"
        links.mkdir()
        for table in SOURCE_TABLES:
            path = find_table_file(folder, table)
            if path is None:
                result.messages.append(f"table {table}: no CSV in {folder}, left empty")
            else:
                (links / path.name).symlink_to(path.resolve())
        core = load_csv_folder(links, target=work / "mimic_iii.sqlite", force=True)
        result.messages += [m for m in core.messages if "no CSV" not in m]
        extra = work / "staging.sqlite"
        _write_staging(folder, extra, result.messages)
        tmp = work / "treqs.sqlite"
        _write_view(tmp, core.path, extra)
        os.replace(tmp, target)
    return result


def _write_staging(folder: Path, path: Path, messages: list[str]) -> None:
    """The staging tables, read from the CSVs (values lowercased, as the core loader does)."""
    import pandas as pd

    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        for table, source, columns, csv_columns in _STAGING:
            key = columns[0]
            con.execute(
                f"CREATE TABLE {table} ({key} INTEGER PRIMARY KEY, "
                + ", ".join(f"{c} TEXT" for c in columns[1:]) + ")"
            )
            csv_path = find_table_file(folder, source)
            if csv_path is None:
                continue
            insert = f"INSERT OR IGNORE INTO {table} VALUES ({', '.join('?' * len(columns))})"
            reported = False
            for chunk in pd.read_csv(csv_path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
                chunk.columns = [str(c).strip().lower() for c in chunk.columns]
                missing = [c for c in csv_columns if c is not None and c not in chunk.columns]
                if missing and not reported:
                    messages.append(f"{csv_path.name}: no column(s) {', '.join(missing)}; left empty")
                    reported = True
                values = [
                    chunk[c].tolist() if c is not None and c in chunk.columns else [""] * len(chunk)
                    for c in csv_columns
                ]
                con.executemany(
                    insert,
                    [tuple(v.lower() if v else None for v in row) for row in zip(*values, strict=True)],
                )
        con.commit()
    finally:
        con.close()


def _write_view(path: Path, core: Path, staging: Path) -> None:
    """The five tables from the core EHRSQL database (as ``world``) and the staging tables
    (attached as ``staging``; ``fill.sql`` names them unqualified, which finds them there)."""
    con = sqlite3.connect(f"file:{path}", uri=True)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.executescript(schema_sql())
        con.execute("ATTACH DATABASE ? AS world", (f"file:{core}?mode=ro",))
        con.execute("ATTACH DATABASE ? AS staging", (f"file:{staging}?mode=ro",))
        fill(con)
        con.commit()
        con.execute("DETACH DATABASE staging")
        con.execute("DETACH DATABASE world")
        con.executescript(indexes_sql())
        con.execute("ANALYZE")
        con.commit()
    finally:
        con.close()
