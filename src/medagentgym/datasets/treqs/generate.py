"""Question generators: MIMICSQL-style questions with gold SQL over the treqs database.

The machinery is mimic_iii's (``Instance`` identity and content key, ``evaluate`` acceptance
rule); the families are MIMICSQL's question types, built from ``conditions.py``. The question's
wording is not part of an instance (``wording.py``), so paraphrases never change the content key
that decides the split.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.mimic_iii.generate import Instance, draw_valid, evaluate
from medagentgym.datasets.treqs.conditions import (
    CLINICAL_EQUAL,
    CLINICAL_SPECIFIC,
    CLINICAL_TABLES,
    TABLE_ORDER,
    Column,
    Cond,
    TreqsCtx,
    clinical_cond,
    cond_params,
    demographic_column,
    demographic_cond,
    in_mimicsql_order,
    join_clause,
    literal_text,
    quote,
    where_clause,
)

# What a patient lookup may ask for.
DEMO_ATTRIBUTES: tuple[str, ...] = (
    "age", "gender", "marital_status", "language", "religion", "admission_type", "days_stay",
    "insurance", "ethnicity", "expire_flag", "admission_location", "discharge_location",
    "diagnosis", "dob", "dod", "admittime", "dischtime",
)
CLINICAL_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("diagnoses", "short_title"), ("diagnoses", "long_title"), ("diagnoses", "icd9_code"),
    ("procedures", "short_title"), ("procedures", "long_title"), ("procedures", "icd9_code"),
    ("prescriptions", "drug"),
)
# Code lookups: (given column, wanted column) per table.
CODE_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "diagnoses": (
        ("icd9_code", "short_title"), ("icd9_code", "long_title"), ("short_title", "icd9_code"),
        ("long_title", "icd9_code"), ("short_title", "long_title"), ("long_title", "short_title"),
    ),
    "procedures": (
        ("icd9_code", "short_title"), ("icd9_code", "long_title"), ("short_title", "icd9_code"),
        ("long_title", "icd9_code"), ("short_title", "long_title"), ("long_title", "short_title"),
    ),
    "prescriptions": (
        ("drug", "formulary_drug_cd"), ("formulary_drug_cd", "drug"), ("drug", "route"),
        ("drug", "drug_type"), ("formulary_drug_cd", "drug_dose"), ("formulary_drug_cd", "route"),
    ),
    "lab": (
        ("itemid", "label"), ("label", "itemid"), ("label", "fluid"), ("label", "category"),
        ("itemid", "fluid"), ("itemid", "category"),
    ),
}
CODE_TEMPLATES = {"diagnoses": "diagnosis", "procedures": "procedure",
                  "prescriptions": "drug", "lab": "lab"}
AGGREGATES = {"average": "avg", "minimum": "min", "maximum": "max"}
MEASURES: tuple[str, ...] = ("age", "days_stay")


def _inst(family: str, template: str, sql: str, **params: Any) -> Instance:
    return Instance(family, template, tuple(sorted(params.items())), sql)


def _first_demographic(ctx: TreqsCtx, rng: random.Random, exclude: Sequence[str] = ()) -> tuple[
    dict[str, Any] | None, Cond | None
]:
    """An anchor admission and a first condition it meets."""
    column = demographic_column(rng, exclude)
    adm = ctx.anchor(rng, "demographic", column)
    return adm, None if adm is None else demographic_cond(rng, adm, column)


def _first_clinical(ctx: TreqsCtx, rng: random.Random, table: str, specific: bool = False) -> tuple[
    dict[str, Any] | None, Cond | None
]:
    """An anchor event of ``table`` and a first condition it meets (on a column naming one
    specific thing when ``specific``)."""
    column = rng.choice((CLINICAL_SPECIFIC if specific else CLINICAL_EQUAL)[table])
    event = ctx.anchor(rng, table, column)
    return event, None if event is None else clinical_cond(table, column, event)


def _second_demographic(
    ctx: TreqsCtx, rng: random.Random, hadm_id: int, exclude: Sequence[str] = ()
) -> Cond | None:
    """A condition the admission ``hadm_id`` meets, on a column not in ``exclude``."""
    adm = ctx.anchor(rng, "demographic", hadm_id=hadm_id)
    return None if adm is None else demographic_cond(rng, adm, demographic_column(rng, exclude))


# --------------------------------------------------------------------------- families


def _count_sql(conds: Sequence[Cond]) -> str:
    """MIMICSQL's count: distinct patients of the admissions meeting every condition."""
    return (
        "select count ( distinct demographic.'subject_id' ) from demographic"
        f"{join_clause([c.table for c in conds])} where {where_clause(conds)}"
    )


def _finish(conds: Sequence[Cond | None], **params: Any) -> tuple[
    list[Cond], dict[str, Any]
] | None:
    """The conditions in MIMICSQL's order with their parameters, or None if one is missing."""
    if any(c is None for c in conds):
        return None
    present = in_mimicsql_order([c for c in conds if c is not None])
    return present, {**params, **cond_params(present)}


def _count(ctx: TreqsCtx, rng: random.Random, template: str) -> Instance | None:
    """How many patients meet one or two conditions (demographic and/or one clinical table)."""
    conds: list[Cond | None]
    if template in ("one_demographic", "two_demographic"):
        adm, first = _first_demographic(ctx, rng)
        conds = [first]
        if template == "two_demographic" and adm is not None and first is not None:
            conds.append(demographic_cond(rng, adm, demographic_column(rng, (first.column,))))
    else:  # one_clinical, demographic_clinical
        event, first = _first_clinical(ctx, rng, rng.choice(CLINICAL_TABLES))
        conds = [first]
        if template == "demographic_clinical" and event is not None:
            conds.append(_second_demographic(ctx, rng, event["hadm_id"]))
    done = _finish(conds)
    return None if done is None else _inst("count", template, _count_sql(done[0]), **done[1])


def _multi_join(ctx: TreqsCtx, rng: random.Random, template: str) -> Instance | None:
    """How many patients had something in two clinical tables (and, optionally, a demographic
    condition): MIMICSQL's three-table joins."""
    first_table, second_table = sorted(rng.sample(CLINICAL_TABLES, 2), key=TABLE_ORDER.index)
    if rng.random() < 0.5:  # either table may carry the anchor's (long-tailed) value
        first_table, second_table = second_table, first_table
    event, first = _first_clinical(ctx, rng, first_table, specific=True)
    if event is None or first is None:
        return None
    other = ctx.anchor(rng, second_table, hadm_id=event["hadm_id"])
    column = rng.choice(CLINICAL_EQUAL[second_table])
    conds = [first, None if other is None else clinical_cond(second_table, column, other)]
    if template == "two_clinical_demographic":
        conds.append(_second_demographic(ctx, rng, event["hadm_id"]))
    done = _finish(conds)
    return None if done is None else _inst("multi_join", template, _count_sql(done[0]), **done[1])


def _aggregate(ctx: TreqsCtx, rng: random.Random, template: str) -> Instance | None:
    """The average / minimum / maximum age or length of stay of admissions meeting conditions
    (MIMICSQL aggregates over demographic rows, i.e. admissions)."""
    measure = rng.choice(MEASURES)
    agg = rng.choice(tuple(AGGREGATES))
    adm, first = _first_demographic(ctx, rng, exclude=(measure,))
    conds = [first]
    if template == "two_conditions" and adm is not None and first is not None:
        conds.append(demographic_cond(rng, adm, demographic_column(rng, (measure, first.column))))
    done = _finish(conds, agg=agg, measure=measure)
    if done is None:
        return None
    sql = (f"select {AGGREGATES[agg]} ( demographic.'{measure}' ) from demographic "
           f"where {where_clause(done[0])}")
    return _inst("aggregate", template, sql, **done[1])


def _patient_lookup(ctx: TreqsCtx, rng: random.Random, template: str) -> Instance | None:
    """An attribute of one patient, named by subject id or by name (a set: a patient with
    several admissions may have several values)."""
    adm = ctx.anchor(rng, "demographic")
    if adm is None:
        return None
    by_name = template.endswith("_by_name")
    if by_name:
        name = literal_text(adm["name"])
        if name is None or ctx.one(
            "select count ( distinct subject_id ) from demographic where name = ?", name
        ) != 1:
            return None
        who = Cond("demographic", "name", "=", name)
        key: dict[str, Any] = {"name": name}
    else:
        who = Cond("demographic", "subject_id", "=", str(adm["subject_id"]))
        key = {"patient": adm["subject_id"]}
    if template.startswith("demographic"):
        attr = Column("demographic", rng.choice(DEMO_ATTRIBUTES))
        sql = f"select demographic.'{attr.column}' from demographic where {who.sql()}"
    else:
        attr = Column(*rng.choice(CLINICAL_ATTRIBUTES))
        if by_name:
            sql = (f"select {attr.table}.'{attr.column}' from demographic{join_clause([attr.table])} "
                   f"where {who.sql()}")
        else:
            sql = (f"select {attr.table}.'{attr.column}' from {attr.table} "
                   f"where {attr.table}.'subject_id' = {quote(str(adm['subject_id']))}")
    return _inst("patient_lookup", template, sql, attr=attr, **key)


def _code_lookup(ctx: TreqsCtx, rng: random.Random, template: str) -> Instance | None:
    """Dictionary facts: ICD-9 code <-> title, drug <-> formulary code / route / type / dose,
    lab item id <-> label / fluid / category."""
    table = next(t for t, name in CODE_TEMPLATES.items() if name == template)
    given, want = rng.choice(CODE_PAIRS[table])
    row = ctx.anchor(rng, table, given)
    value = None if row is None else literal_text(row[given])
    if value is None:
        return None
    sql = f"select {table}.'{want}' from {table} where {table}.'{given}' = {quote(value)}"
    return _inst("code_lookup", template, sql,
                 given=Column(table, given), want=Column(table, want), value=value)


FAMILIES: dict[str, Callable[[TreqsCtx, random.Random, str], Instance | None]] = {
    "count": _count,
    "aggregate": _aggregate,
    "patient_lookup": _patient_lookup,
    "code_lookup": _code_lookup,
    "multi_join": _multi_join,
}


def propose(
    con: sqlite3.Connection,
    rng: random.Random,
    family: str,
    templates: list[str],
    answer_type: AnswerType,
    *,
    weights: list[float] | None = None,
    max_tries: int = 400,
) -> tuple[Instance, Any]:
    """Draw a valid instance of ``family`` (mimic_iii's loop over this module's families)."""
    return draw_valid(
        TreqsCtx(con), rng, FAMILIES[family], templates, lambda inst: evaluate(con, inst, answer_type),
        weights=weights, max_tries=max_tries, label=f"treqs {family}",
    )
