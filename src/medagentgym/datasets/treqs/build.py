"""The treqs database: the five MIMICSQL tables as a view of the shared synthetic world.

MIMICSQL (the TREQS benchmark's database) is a denormalised extract of MIMIC-III. We derive it
the same way from the world (``medagentgym.world``): ``stage_world.sql`` gathers the facts that
EHRSQL's 17 tables lack (names, religion, admission diagnosis, lab fluid/category and reference
ranges, drug type and formulary code) into four staging tables, and ``fill.sql`` writes the five
tables from the EHRSQL-shaped tables plus the staging. The user-CSV build (``csv_source.py``)
fills the same staging from real MIMIC-III files and runs the same ``fill.sql``.

``build_view`` stamps the file with everything it was made from; the SQL lives in package
files, so their text enters the stamp through ``version`` (``build_view`` itself only sees the
source of the ``populate`` function).
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from medagentgym.catalog.splits import stable_hash

BUILD_VERSION = 1  # bump when the Python below changes what the database holds
NAME = "treqs"

_PACKAGE = "medagentgym.datasets.treqs"
# ICD-9 short-title abbreviations MIMIC-III writes in capitals ('Hyp ht dis NOS w ht fail').
_ICD_CAPITALS = frozenset({"nos", "nec"})


def read_text(name: str) -> str:
    """A package data file of this dataset (SQL, TOML), as text."""
    return resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def schema_sql() -> str:
    return read_text("schema.sql")


def indexes_sql() -> str:
    return read_text("indexes.sql")


def build_version() -> int:
    """The view's version for the stamp: the code version and every SQL file it runs."""
    texts = [read_text(name) for name in ("stage_world.sql", "fill.sql")]
    return stable_hash(NAME, BUILD_VERSION, *texts) & 0x7FFF_FFFF


# --------------------------------------------------------------------------- letter case
# MIMIC-III stores most categorical text in capitals and dictionary text in mixed case; the
# world (like EHRSQL) stores lowercase. These restore MIMIC-III's look so that answers read like
# MIMICSQL's; the gold SQL is lowercase and compares through COLLATE NOCASE either way.


def sentence(text: str | None) -> str | None:
    """'circumcision' -> 'Circumcision' (ICD-9 long titles)."""
    return text[:1].upper() + text[1:] if text else text


def icd_title(text: str | None) -> str | None:
    """'hyp ht dis nos w ht fail' -> 'Hyp ht dis NOS w ht fail' (ICD-9 short titles)."""
    if not text:
        return text
    words = [w.upper() if w in _ICD_CAPITALS else w for w in text.split(" ")]
    return sentence(" ".join(words))


def capitalize_words(text: str | None) -> str | None:
    """'thyroxine (t4), free' -> 'Thyroxine (T4), Free': each word capitalised, a word in
    parentheses (an abbreviation) in capitals. Used for lab labels, fluids, categories, names
    and insurance ('Self Pay')."""
    if not text:
        return text
    out = []
    for word in text.split(" "):
        if word.startswith("(") and len(word.strip("(),")) <= 5:
            out.append(word.upper())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def drug_name(text: str | None) -> str | None:
    """'potassium chloride' -> 'Potassium Chloride'; short solution names in capitals ('NS',
    'D5W'), as MIMIC-III writes them."""
    if not text:
        return text
    if " " not in text and len(text) <= 3:
        return text.upper()
    return capitalize_words(text)


def number_text(value: float | int | None) -> str | None:
    """A lab value as MIMIC-III's text column shows it: 11.0 -> '11', 1.25 -> '1.25'."""
    if value is None:
        return None
    number = float(value)
    if number.is_integer():
        return str(int(number))
    return f"{number:.6g}"


def register_functions(con: sqlite3.Connection) -> None:
    """Make the treqs_* SQL functions that fill.sql and stage_world.sql call available."""
    for name, func in (
        ("treqs_sentence", sentence),
        ("treqs_icd_title", icd_title),
        ("treqs_capitalize_words", capitalize_words),
        ("treqs_drug_name", drug_name),
        ("treqs_number_text", number_text),
    ):
        con.create_function(name, 1, func, deterministic=True)


# --------------------------------------------------------------------------- populate


def fill(con: sqlite3.Connection) -> None:
    """Write the five tables from schema ``world`` and the staging relations (both sources)."""
    register_functions(con)
    con.executescript(read_text("fill.sql"))


def populate_from_world(con: sqlite3.Connection) -> None:
    """``build_view``'s populate: stage from the world's extra tables, then fill."""
    register_functions(con)
    con.executescript(read_text("stage_world.sql"))
    fill(con)
    for table in ("stage_admission", "stage_lab_item", "stage_lab", "stage_rx"):
        con.execute(f"DROP TABLE temp.{table}")


def build_database(*, force: bool = False) -> Path:
    """Build (or find) the treqs view of the world; returns its path."""
    from medagentgym.world import build_view

    return build_view(
        NAME,
        version=build_version(),
        ddl=schema_sql(),
        populate=populate_from_world,
        indexes=indexes_sql(),
        force=force,
    )


def default_db_path() -> Path:
    """Where the treqs view lives: ``<cache>/datasets/treqs/treqs.sqlite``."""
    from medagentgym.world import view_path

    return view_path(NAME)
