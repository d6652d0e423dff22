"""Load a user's real MIMIC-III CSV files into an EHRSQL-compatible SQLite database.

MIMIC-III ships as uppercase CSVs (``PATIENTS.csv``, ``ADMISSIONS.csv.gz``, ...). EHRSQL's
version differs from them in ways the gold queries rely on, so loading also:

* lowercases column names and text values (EHRSQL compares lowercase strings);
* computes ``admissions.age`` (full years from ``patients.dob`` to ``admittime``) when absent;
* gives ``diagnoses_icd`` / ``procedures_icd`` a ``charttime`` (the admission time) when absent;
* takes ``microbiologyevents.chartdate`` when ``charttime`` is empty;
* creates a missing table (``cost`` is EHRSQL-made and not in MIMIC-III) empty, and says so.

The schema is the package's ``schema.sql`` with NOT NULL relaxed, because real extracts have gaps
(e.g. chartevents rows without an icustay_id) that must not abort a load. Files are read in
chunks, so the multi-gigabyte chartevents file streams instead of filling memory.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from medagentgym.catalog.splits import stable_hash
from medagentgym.paths import dataset_cache_dir
from medagentgym.world import MIMIC_TABLES as TABLES
from medagentgym.world import vocab

CHUNK_ROWS = 200_000
_FALLBACKS = {("microbiologyevents", "charttime"): "chartdate"}


@dataclass
class CsvLoad:
    path: Path
    messages: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def schema_columns(schema_sql: str) -> dict[str, list[str]]:
    """Table -> column names, parsed from the DDL."""
    out: dict[str, list[str]] = {}
    for table, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\);", schema_sql, flags=re.S):
        out[table] = [line.split()[0] for line in body.strip().splitlines() if line.strip()]
    return out


def find_table_file(folder: Path, table: str) -> Path | None:
    """``TABLE.csv`` or ``TABLE.csv.gz``, any case."""
    wanted = {f"{table}.csv", f"{table}.csv.gz"}
    for child in sorted(folder.iterdir()):
        if child.name.lower() in wanted:
            return child
    return None


def _fingerprint(folder: Path) -> str:
    parts: list[object] = [str(folder.resolve())]
    for child in sorted(folder.iterdir()):
        if child.is_file():
            st = child.stat()
            parts += [child.name, st.st_size, st.st_mtime_ns]
    parts.append(vocab.read_text("schema/mimic_iii.sql"))
    return f"{stable_hash(*parts):016x}"


def load_csv_folder(folder: Path, target: Path | None = None, *, force: bool = False) -> CsvLoad:
    """Load ``folder``'s MIMIC-III CSVs into SQLite (cached by the folder's fingerprint)."""
    import pandas as pd

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of MIMIC-III CSV files")
    if target is None:
        target = dataset_cache_dir("mimic_iii") / "user" / f"mimic_iii-{_fingerprint(folder)}.sqlite"
    load = CsvLoad(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    present = {t: find_table_file(folder, t) for t in TABLES}
    if target.exists() and not force:
        load.messages.append(f"reused the database loaded earlier from {folder}: {target}")
        load.messages += [f"table {t}: no CSV in {folder}, left empty" for t, p in present.items() if p is None]
        return load

    schema = vocab.read_text("schema/mimic_iii.sql")
    columns = schema_columns(schema)
    fd, tmp_name = tempfile.mkstemp(prefix=".user-", suffix=".sqlite.tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    con = sqlite3.connect(tmp)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.executescript(schema.replace(" NOT NULL", ""))
        for table in TABLES:
            path = present[table]
            if path is None:
                load.messages.append(f"table {table}: no CSV in {folder}, left empty")
                load.rows[table] = 0
                continue
            wanted = columns[table]
            marks = ", ".join("?" * len(wanted))
            insert = f"INSERT OR IGNORE INTO {table} ({', '.join(wanted)}) VALUES ({marks})"
            count = 0
            missing_reported = False
            for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
                chunk.columns = [str(c).strip().lower() for c in chunk.columns]
                missing = [c for c in wanted if c not in chunk.columns]
                if missing and not missing_reported:
                    load.messages.append(f"table {table}: no column(s) {', '.join(missing)} in {path.name}")
                    missing_reported = True
                cols = []
                for c in wanted:
                    if c in chunk.columns:
                        cols.append(chunk[c].tolist())
                    elif (table, c) in _FALLBACKS and _FALLBACKS[table, c] in chunk.columns:
                        cols.append(chunk[_FALLBACKS[table, c]].tolist())
                    else:
                        cols.append([""] * len(chunk))
                rows = [
                    tuple(v.lower() if v else None for v in values) for values in zip(*cols, strict=True)
                ]
                con.executemany(insert, rows)
                count += len(rows)
            load.rows[table] = count
        _derive(con, load)
        con.executescript(vocab.read_text("schema/indexes.sql"))
        con.commit()
    except BaseException:  # a failed load leaves no half-written file behind
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, target)
    return load


def _derive(con: sqlite3.Connection, load: CsvLoad) -> None:
    """Fill EHRSQL's derived columns where the CSVs lack them."""
    n = con.execute("select count(*) from admissions where age is null").fetchone()[0]
    if n:
        con.execute(
            "update admissions set age = ( select cast(strftime('%Y', admissions.admittime) as integer)"
            " - cast(strftime('%Y', patients.dob) as integer)"
            " - (strftime('%m-%d', admissions.admittime) < strftime('%m-%d', patients.dob))"
            " from patients where patients.subject_id = admissions.subject_id ) where age is null"
        )
        load.messages.append(f"admissions.age computed from patients.dob for {n} admission(s)")
    for table in ("diagnoses_icd", "procedures_icd"):
        n = con.execute(f"select count(*) from {table} where charttime is null").fetchone()[0]
        if n:
            con.execute(
                f"update {table} set charttime = ( select admissions.admittime from admissions "
                f"where admissions.hadm_id = {table}.hadm_id ) where charttime is null"
            )
            load.messages.append(f"{table}.charttime set to the admission time for {n} row(s)")
