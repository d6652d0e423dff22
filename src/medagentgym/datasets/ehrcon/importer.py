"""Importer for the official EHRCon task rows, over the user's own credentialed data.

An official row names an admission (``Hospital admission``, e.g. ``"100001.0"``), an entity
(``Medical entity``), the annotated ``Number of inconsistencies`` and ``Has error``. The notes and
the records are in the credentialed EHRCon release and MIMIC-III, so the user passes a folder
(``--db DIR``) laid out as:

* ``DIR/mimic_iii.sqlite``: the user's MIMIC-III as one SQLite file (any schema; it becomes the
  sample's database resource as it is), or else MIMIC-III CSV files in ``DIR`` itself (loaded with
  the mimic_iii loader into the cache);
* the notes: ``DIR/notes/<hadm_id>.txt`` (one note), ``DIR/notes/<hadm_id>/*.txt`` (several, in
  name order), or else ``DIR/NOTEEVENTS.csv`` (MIMIC-III's table: ``HADM_ID``, ``CATEGORY``,
  ``CHARTTIME``, ``TEXT``; the nursing, physician and discharge notes of the admission).

Each row gives two samples: a yes/no question (``Has error``) and a count question (``Number of
inconsistencies``), graded against the annotation. The reference solution states the annotated
answer (a human label: there is no rule to recompute it). Rows whose admission is not in the
database or whose note is missing are skipped with counted reasons.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import ImportReport
from medagentgym.catalog.sample import AnswerType, Resource, Sample, Solution, Split, Target
from medagentgym.untrusted import iter_jsonl, model_json, write_lines_atomic

NAME = "ehrcon"
DB_NAME = "mimic_iii"
FIELDS = ("Hospital admission", "Medical entity", "Number of inconsistencies", "Has error")
#: MIMIC-III NOTEEVENTS categories (lowercased) and the note type each is filed under.
NOTE_CATEGORIES = {
    "nursing": "nursing_note",
    "nursing/other": "nursing_note",
    "physician": "physician_note",
    "discharge summary": "discharge_summary",
}


def import_ehrcon(
    source: Path, output: Path, *, db: Path | None = None, split: str | None = None, **_: Any
) -> ImportReport:
    """Turn EHRCon rows into samples (JSONL at ``output``); see the module docstring."""
    rows, bad_lines = _read_rows(source)
    if db is None:
        raise ValueError(f"{source}: ehrcon import needs --db DIR (the user's MIMIC-III and EHRCon notes)")
    folder = Path(db)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder (expected mimic_iii.sqlite or MIMIC-III CSVs, and notes/)")
    db_path, messages = _database(folder)
    wanted = {hadm for _, row in rows if (hadm := _hadm(row)) is not None}
    notes = _notes(folder, wanted)
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as con:
        present = _admissions(con, wanted)

    skipped: Counter[str] = Counter({"unreadable_line": bad_lines} if bad_lines else {})
    samples: list[Sample] = []
    resource = Resource(
        kind="sqlite", name=DB_NAME, path=str(db_path.resolve()), description="the user's MIMIC-III, read-only"
    )
    for line, row in rows:
        hadm = _hadm(row)
        entity = str(row.get("Medical entity") or "").strip()
        count = row.get("Number of inconsistencies")
        has_error = row.get("Has error")
        if (
            hadm is None
            or not entity
            or not isinstance(count, int)
            or isinstance(count, bool)
            or not isinstance(has_error, bool)
        ):
            skipped["bad_fields"] += 1
            continue
        if hadm not in present:
            skipped["admission_not_in_db"] += 1
            continue
        if hadm not in notes:
            skipped["note_missing"] += 1
            continue
        note_type, text = notes[hadm]
        row_split: Split = "train" if (split or row.get("split") or "test") == "train" else "test"
        samples += _samples(line, row_split, hadm, entity, note_type, text, has_error, count, resource)

    write_lines_atomic(output, (model_json(s) for s in samples))
    rows_skipped = sum(skipped.values())
    return ImportReport(
        dataset=NAME,
        source=str(source),
        rows_read=len(rows) + bad_lines,
        samples_written=len(samples),
        rows_skipped=rows_skipped,
        skipped_by_reason=dict(skipped),
        details={"skipped": dict(skipped), "database": str(db_path), "notes_found": len(notes)},
        messages=messages,
    )


def _read_rows(source: Path) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    rows: list[tuple[int, dict[str, Any]]] = []
    bad = 0
    for item in iter_jsonl(Path(source)):
        if item.error is not None or not isinstance(item.value, dict):
            bad += 1
            continue
        rows.append((item.number, item.value))
    if not rows:
        raise ValueError(f"{source}: no EHRCon rows (empty or unreadable file)")
    if not any(all(f in row for f in FIELDS) for _, row in rows):
        raise ValueError(f"{source}: not EHRCon task rows (expected fields: {', '.join(FIELDS)})")
    return rows, bad


def _hadm(row: dict[str, Any]) -> int | None:
    try:
        return int(float(str(row.get("Hospital admission"))))
    except (TypeError, ValueError, OverflowError):
        return None


def _database(folder: Path) -> tuple[Path, list[str]]:
    single = folder / "mimic_iii.sqlite"
    if single.is_file():
        return single, [f"database: {single}"]
    from medagentgym.datasets.mimic_iii.csv_db import load_csv_folder

    load = load_csv_folder(folder)
    return load.path, [f"database loaded from the CSV files in {folder}", *load.messages]


def _admissions(con: sqlite3.Connection, wanted: set[int]) -> set[int]:
    try:
        return {
            int(r[0]) for r in con.execute("SELECT hadm_id FROM admissions") if r[0] is not None and int(r[0]) in wanted
        }
    except sqlite3.Error as exc:
        raise ValueError(f"the database has no readable admissions table ({exc})") from None


def _notes(folder: Path, wanted: set[int]) -> dict[int, tuple[str, str]]:
    """(note type, text) per admission, from ``notes/`` or ``NOTEEVENTS.csv``."""
    found: dict[int, tuple[str, str]] = {}
    notes_dir = folder / "notes"
    if notes_dir.is_dir():
        for hadm in wanted:
            one = notes_dir / f"{hadm}.txt"
            many = notes_dir / str(hadm)
            if one.is_file():
                found[hadm] = ("note", one.read_text(encoding="utf-8", errors="replace"))
            elif many.is_dir():
                texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(many.glob("*.txt"))]
                if texts:
                    found[hadm] = ("note", "\n\n".join(texts))
        return found
    table = next((p for p in (folder / "NOTEEVENTS.csv", folder / "noteevents.csv") if p.is_file()), None)
    if table is None:
        return found
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    parts: dict[int, list[tuple[str, str, str]]] = {}
    with table.open(newline="", encoding="utf-8", errors="replace") as handle:
        for rec in csv.DictReader(handle):
            rec = {k.upper(): v for k, v in rec.items() if k}
            try:
                hadm = int(float(rec.get("HADM_ID") or "nan"))
            except ValueError:
                continue
            kind = NOTE_CATEGORIES.get((rec.get("CATEGORY") or "").strip().lower())
            if hadm in wanted and kind is not None:
                parts.setdefault(hadm, []).append(
                    (rec.get("CHARTTIME") or rec.get("CHARTDATE") or "", kind, rec.get("TEXT") or "")
                )
    for hadm, items in parts.items():
        items.sort()
        kinds = {k for _, k, _ in items}
        found[hadm] = (kinds.pop() if len(kinds) == 1 else "note", "\n\n".join(t for _, _, t in items))
    return found


def _samples(
    line: int,
    split: Split,
    hadm: int,
    entity: str,
    note_type: str,
    text: str,
    has_error: bool,
    count: int,
    resource: Resource,
) -> list[Sample]:
    category = note_type if note_type != "note" else "official"
    intro = (
        f"Below is the clinical note of hospital admission {hadm}. The admission's records are in the SQLite "
        f"database '{DB_NAME}' (the user's MIMIC-III). Compare what the note states about \"{entity}\" (values, "
        "times, events) with the record.\n\n"
        f"--- NOTE ---\n{text}\n--- END OF NOTE ---\n\n"
    )
    questions = (
        (
            "has_error",
            f'Is there an inconsistency between the note and the record about "{entity}"?',
            Target(answer_type=AnswerType.BOOLEAN, value=has_error),
        ),
        (
            "count",
            f'How many inconsistencies between the note and the record are there about "{entity}"?',
            Target(answer_type=AnswerType.INTEGER, value=count),
        ),
    )
    out = []
    for kind, question, target in questions:
        out.append(
            Sample(
                id=f"{NAME}/{category}/{split}/official-{line}-{kind}",
                dataset=NAME,
                category=category,
                split=split,
                index=line,
                seed=0,
                prompt=intro + question,
                resources=(resource,),
                target=target,
                solution=Solution(language="python", code=f"answer = {target.value!r}  # the official annotation\n"),
                metadata={"official": True, "hadm_id": hadm, "entity": entity, "line": line, "question": kind},
            )
        )
    return out
