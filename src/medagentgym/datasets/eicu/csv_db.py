"""Load a user's real eICU CSV files into a SQLite database with the eicu schema.

eICU ships one file per table (``patient.csv.gz``, ``diagnosis.csv.gz``, ``intakeOutput.csv.gz``,
``microLab.csv.gz``, ``vitalPeriodic.csv.gz``, ...) with camelCase headers. EHRSQL's version
differs in ways its gold queries rely on, so loading also:

* lowercases column names and text values (EHRSQL compares lowercase strings);
* turns eICU's minute offsets into timestamps. eICU times are minutes from the unit admission
  (``diagnosisoffset``, ``labresultoffset``, ...) plus, per unit stay, the discharge year and
  clock times. A unit stay's admission is placed from its hospital discharge: the discharge
  year shifted by ``YEAR_SHIFT`` (2014 -> 2104, onto EHRSQL's 2100-2105 timeline), a day of that
  year fixed by a hash of the hospital stay id, the discharge clock time, minus
  ``hospitaldischargeoffset``. Every stay of one hospital visit therefore shares one timeline, and
  each event is its stay's admission plus its offset;
* takes ``diagnosisname`` / ``treatmentname`` as the last part of eICU's ``diagnosisstring`` /
  ``treatmentstring`` (``'pulmonary|...|acute respiratory failure'``), as EHRSQL does;
* keeps a column that is already in the file as it is (a CSV export of EHRSQL's database loads
  unchanged), and creates a missing table (``cost`` is EHRSQL-made, not in eICU) empty, and says so.

Generic pieces (``CsvLoad``, ``schema_columns``, ``find_table_file``) come from mimic_iii's
loader. Files are read in chunks, so the large ``vitalPeriodic`` file streams.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets.eicu.build import NAME, TABLES, read_text
from medagentgym.datasets.mimic_iii.csv_db import (
    CsvLoad,
    find_table_file,
    schema_columns,
)
from medagentgym.paths import dataset_cache_dir

CHUNK_ROWS = 200_000
LOADER_VERSION = 1
YEAR_SHIFT = 90  # eICU's 2014-2015 -> 2104-2105, EHRSQL's timeline ending at its "now"
_DEFAULT_YEAR = 2015
_TS = "%Y-%m-%d %H:%M:%S"

#: (table, column) -> the eICU offset column it is computed from.
TIME_FROM_OFFSET: dict[tuple[str, str], str] = {
    ("diagnosis", "diagnosistime"): "diagnosisoffset",
    ("treatment", "treatmenttime"): "treatmentoffset",
    ("lab", "labresulttime"): "labresultoffset",
    ("medication", "drugstarttime"): "drugstartoffset",
    ("medication", "drugstoptime"): "drugstopoffset",
    ("allergy", "allergytime"): "allergyoffset",
    ("intakeoutput", "intakeoutputtime"): "intakeoutputoffset",
    ("microlab", "culturetakentime"): "culturetakenoffset",
    ("vitalperiodic", "observationtime"): "observationoffset",
}
#: (table, column) -> the eICU path column whose last ``|`` part it is.
LAST_PART_OF: dict[tuple[str, str], str] = {
    ("diagnosis", "diagnosisname"): "diagnosisstring",
    ("treatment", "treatmentname"): "treatmentstring",
}
_PATIENT_TIMES = ("hospitaladmittime", "unitadmittime", "unitdischargetime", "hospitaldischargetime")


def _fingerprint(folder: Path) -> str:
    parts: list[object] = [str(folder.resolve()), LOADER_VERSION, read_text("schema.sql")]
    for child in sorted(folder.iterdir()):
        if child.is_file():
            st = child.stat()
            parts += [child.name, st.st_size, st.st_mtime_ns]
    return f"{stable_hash(*parts):016x}"


def load_csv_folder(folder: Path, target: Path | None = None, *, force: bool = False) -> CsvLoad:
    """Load ``folder``'s eICU CSVs into SQLite (cached by the folder's fingerprint)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of eICU CSV files")
    if target is None:
        target = dataset_cache_dir(NAME) / "user" / f"eicu-{_fingerprint(folder)}.sqlite"
    load = CsvLoad(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    present = {t: find_table_file(folder, t) for t in TABLES}
    if present["patient"] is None:
        raise FileNotFoundError(f"{folder}: no patient.csv(.gz): every eICU table hangs off it")
    if target.exists() and not force:
        load.messages.append(f"reused the database loaded earlier from {folder}: {target}")
        load.messages += [f"table {t}: no CSV in {folder}, left empty" for t, p in present.items() if p is None]
        return load

    schema = read_text("schema.sql")
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
        anchors: dict[int, float] = {}
        for table in TABLES:  # patient first: the other tables' times hang off its anchors
            path = present[table]
            if path is None:
                load.messages.append(f"table {table}: no CSV in {folder}, left empty")
                load.rows[table] = 0
                continue
            load.rows[table] = _load_table(con, table, path, columns[table], anchors, load)
            if table == "patient":
                anchors = _unit_anchors(con)
        con.executescript(read_text("indexes.sql"))
        con.commit()
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, target)
    return load


def _load_table(
    con: sqlite3.Connection,
    table: str,
    path: Path,
    wanted: list[str],
    anchors: dict[int, float],
    load: CsvLoad,
) -> int:
    """Stream one CSV into ``table``; returns the number of rows read."""
    import pandas as pd

    marks = ", ".join("?" * len(wanted))
    insert = f"INSERT OR IGNORE INTO {table} ({', '.join(wanted)}) VALUES ({marks})"
    count = 0
    reported = False
    for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
        chunk.columns = [str(c).strip().lower() for c in chunk.columns]
        cols: list[list[Any]] = []
        memo: dict[str, Any] = {}
        missing: list[str] = []
        derived: list[str] = []
        for column in wanted:
            values, how = _column(chunk, table, column, anchors, memo)
            if how == "missing":
                missing.append(column)
            elif how == "derived":
                derived.append(column)
            cols.append(values)
        if not reported:
            if derived:
                load.messages.append(f"table {table}: computed {', '.join(derived)} from eICU columns")
            if missing:
                load.messages.append(f"table {table}: no column(s) {', '.join(missing)} in {path.name}, left empty")
            reported = True
        rows = [tuple(_cell(v) for v in values) for values in zip(*cols, strict=True)]
        con.executemany(insert, rows)
        count += len(rows)
    return count


def _cell(value: Any) -> Any:
    """A CSV cell as stored: empty -> NULL, text lowercased."""
    if value is None or value == "":
        return None
    return value.lower() if isinstance(value, str) else value


def _column(
    chunk: Any, table: str, column: str, anchors: dict[int, float], memo: dict[str, Any]
) -> tuple[list[Any], str]:
    """One schema column of a chunk: (values, 'present' | 'derived' | 'missing'). ``memo`` keeps
    what several columns of the same chunk derive from (the patient times)."""
    if column in chunk.columns:
        return chunk[column].tolist(), "present"
    if table == "patient" and column in _PATIENT_TIMES:
        if "times" not in memo:
            memo["times"] = _patient_times(chunk)
        return memo["times"][column], "derived"
    offset = TIME_FROM_OFFSET.get((table, column))
    if offset is not None and offset in chunk.columns and "patientunitstayid" in chunk.columns:
        return _times_from_offsets(chunk["patientunitstayid"], chunk[offset], anchors), "derived"
    path_col = LAST_PART_OF.get((table, column))
    if path_col is not None and path_col in chunk.columns:
        return [str(v).split("|")[-1].strip() for v in chunk[path_col]], "derived"
    return [None] * len(chunk), "missing"


def _minutes(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _clock(value: Any) -> float:
    """'HH:MM:SS' -> seconds since midnight (0 when unreadable)."""
    try:
        h, m, *s = str(value).split(":")
        return int(h) * 3600 + int(m) * 60 + (int(s[0]) if s else 0)
    except (TypeError, ValueError):
        return 0.0


def _epoch_day(year: int, day: int) -> float:
    """Seconds from 1970-01-01 to day ``day`` (0-based) of ``year``."""
    import datetime as dt

    return (dt.datetime(year, 1, 1) - dt.datetime(1970, 1, 1)).total_seconds() + day * 86400


def _patient_times(chunk: Any) -> dict[str, list[str | None]]:
    """The four patient timestamps of each row, from eICU's year, clock times and offsets."""
    out: dict[str, list[str | None]] = {c: [] for c in _PATIENT_TIMES}
    get = lambda col: chunk[col].tolist() if col in chunk.columns else [""] * len(chunk)  # noqa: E731
    for hss, year, disch24, disch_off, adm_off, unit_off in zip(
        get("patienthealthsystemstayid"), get("hospitaldischargeyear"), get("hospitaldischargetime24"),
        get("hospitaldischargeoffset"), get("hospitaladmitoffset"), get("unitdischargeoffset"), strict=True,
    ):
        y = int(_minutes(year) or _DEFAULT_YEAR) + YEAR_SHIFT
        day = stable_hash("eicu-discharge-day", hss) % 365
        discharge = _epoch_day(y, day) + _clock(disch24)
        unit_admit = discharge - 60 * (_minutes(disch_off) or 0.0)
        values = {
            "hospitaldischargetime": discharge,
            "unitadmittime": unit_admit,
            "hospitaladmittime": unit_admit + 60 * m if (m := _minutes(adm_off)) is not None else None,
            "unitdischargetime": unit_admit + 60 * m if (m := _minutes(unit_off)) is not None else None,
        }
        for column, seconds in values.items():
            out[column].append(_format(seconds))
    return out


def _format(seconds: float | None) -> str | None:
    import datetime as dt

    if seconds is None:
        return None
    return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=round(seconds))).strftime(_TS)


def _unit_anchors(con: sqlite3.Connection) -> dict[int, float]:
    """patientunitstayid -> its unit admission as seconds since 1970 (for event offsets)."""
    out: dict[int, float] = {}
    for stay, when in con.execute(
        "select patientunitstayid, (julianday(unitadmittime) - 2440587.5) * 86400 from patient "
        "where unitadmittime is not null"
    ):
        out[int(stay)] = float(when)
    return out


def _times_from_offsets(stays: Any, offsets: Any, anchors: dict[int, float]) -> list[str | None]:
    out: list[str | None] = []
    for stay, offset in zip(stays, offsets, strict=True):
        minutes = _minutes(offset)
        try:
            anchor = anchors.get(int(stay))
        except (TypeError, ValueError):
            anchor = None
        out.append(None if anchor is None or minutes is None else _format(anchor + 60 * minutes))
    return out
