"""Question generators: EHRSQL-style questions with gold SQL over the embedded database.

Each template proposes parameters drawn from the database itself (an anchor row picked at
random, so the answer exists), writes gold SQL in EHRSQL's style (nested ``in ( select ... )``
subqueries, lowercase, ``current_time`` for "now"), and is accepted only when the gold result
is a proper answer: non-empty, and for "first/last" questions without a tie in the ordering key.
The question wording (paraphrases) is data in ``categories.toml``.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets._ehrsql import answer_from_rows, prepare_query


@dataclass(frozen=True)
class Instance:
    """One question instance before rendering: its identity (family, template, params) and SQL."""

    family: str
    template: str
    params: tuple[tuple[str, Any], ...]
    sql: str  # EHRSQL style; may contain current_time
    tie_check: str | None = None  # returns the ordering key of the top two rows

    @property
    def key(self) -> str:
        """The content key: the same question (whatever the wording) always has the same key."""
        parts = "|".join(f"{k}={v}" for k, v in self.params)
        return f"{self.family}|{self.template}|{parts}"

    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)


class Ctx:
    """Database access for proposers: random anchor rows and small lookups."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self._max: dict[str, int] = {}

    def all(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, args).fetchall()

    def one(self, sql: str, *args: Any) -> Any:
        row = self.con.execute(sql, args).fetchone()
        return row[0] if row else None

    def row(self, rng: random.Random, table: str, cols: str, where: str = "") -> tuple[Any, ...] | None:
        """A random row of ``table`` (by row_id), optionally constrained by ``where``."""
        if where:
            ids = self.all(f"select row_id from {table} where {where} order by row_id")
            if not ids:
                return None
            return self.con.execute(
                f"select {cols} from {table} where row_id = ?", (rng.choice(ids)[0],)
            ).fetchone()
        if table not in self._max:
            self._max[table] = int(self.one(f"select max(row_id) from {table}") or 0)
        return self.con.execute(
            f"select {cols} from {table} where row_id = ?", (rng.randint(1, self._max[table]),)
        ).fetchone()

    def unique_label(self, table: str, column: str, value: str) -> bool:
        """True when ``value`` names exactly one row (titles and labels used in questions)."""
        return "'" not in value and self.one(
            f"select count(*) from {table} where {column} = ?", value
        ) == 1


# --------------------------------------------------------------------------- SQL fragments


def _adm(p: int) -> str:
    return f"select admissions.hadm_id from admissions where admissions.subject_id = {p}"


def _first_adm(p: int) -> str:
    return f"{_adm(p)} and admissions.dischtime is not null order by admissions.admittime asc limit 1"


def _cur_adm(p: int) -> str:
    return f"{_adm(p)} and admissions.dischtime is null"


def _first_icu(p: int) -> str:
    return (
        f"select icustays.icustay_id from icustays where icustays.hadm_id in ( {_adm(p)} ) "
        "and icustays.outtime is not null order by icustays.intime asc limit 1"
    )


def _cur_icu(p: int) -> str:
    return (
        f"select icustays.icustay_id from icustays where icustays.hadm_id in ( {_adm(p)} ) "
        "and icustays.outtime is null"
    )


def _dx_code(title: str) -> str:
    return (
        "( select d_icd_diagnoses.icd9_code from d_icd_diagnoses "
        f"where d_icd_diagnoses.short_title = '{title}' )"
    )


def _sg_code(title: str) -> str:
    return (
        "( select d_icd_procedures.icd9_code from d_icd_procedures "
        f"where d_icd_procedures.short_title = '{title}' )"
    )


def _lab_items(label: str) -> str:
    return f"( select d_labitems.itemid from d_labitems where d_labitems.label = '{label}' )"


def _d_items(label: str, linksto: str) -> str:
    return (
        f"( select d_items.itemid from d_items where d_items.label = '{label}' "
        f"and d_items.linksto = '{linksto}' )"
    )


_AGG = {"maximum": "max", "minimum": "min", "average": "avg"}
_ORDER = {"first": "asc", "last": "desc"}

Proposer = Callable[[Ctx, random.Random], "Instance | None"]


def _inst(family: str, template: str, sql: str, tie: str | None = None, **params: Any) -> Instance:
    return Instance(family, template, tuple(sorted(params.items())), sql, tie)


def _ordered(select: str, order_key: str, body: str) -> tuple[str, str]:
    """A 'first/last' query and its tie check (the ordering key of the top two rows)."""
    return f"select {select} {body} limit 1", f"select {order_key} {body} limit 2"


# --------------------------------------------------------------------------- demographics


def _demographics(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    p = ctx.row(rng, "patients", "subject_id")[0]
    f = "demographics"
    if template == "gender":
        sql = f"select patients.gender from patients where patients.subject_id = {p}"
        return _inst(f, template, sql, patient=p)
    if template == "ethnicity":
        sql = (f"select distinct admissions.ethnicity from admissions "
               f"where admissions.subject_id = {p}")
        return _inst(f, template, sql, patient=p)
    column, cond, order = {
        "insurance_first": ("insurance", " and admissions.dischtime is not null", "asc"),
        "marital_last": ("marital_status", "", "desc"),
        "admission_type_first": ("admission_type", "", "asc"),
    }[template]
    body = (f"from admissions where admissions.subject_id = {p}{cond} "
            f"order by admissions.admittime {order}")
    sql, tie = _ordered(f"admissions.{column}", "admissions.admittime", body)
    return _inst(f, template, sql, tie, patient=p)


# --------------------------------------------------------------------------- admissions


def _admissions(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "admissions"
    if template == "days_since_admit":
        row = ctx.row(rng, "admissions", "subject_id", "dischtime is null")
        if row is None:
            return None
        p = row[0]
        sql = ("select cast( julianday(date(current_time)) - julianday(date(admissions.admittime)) "
               f"as integer ) from admissions where admissions.subject_id = {p} "
               "and admissions.dischtime is null")
        return _inst(f, template, sql, patient=p)
    p = ctx.row(rng, "admissions", "subject_id")[0]
    if template == "visit_count":
        sql = (f"select count( distinct admissions.hadm_id ) from admissions "
               f"where admissions.subject_id = {p}")
    elif template == "icu_visit_count":
        sql = (f"select count( distinct icustays.icustay_id ) from icustays "
               f"where icustays.hadm_id in ( {_adm(p)} )")
    elif template == "age_first":
        sql = (f"select admissions.age from admissions where admissions.subject_id = {p} "
               "order by admissions.admittime asc limit 1")
    else:  # los_first
        sql = ("select cast( julianday(date(admissions.dischtime)) - "
               "julianday(date(admissions.admittime)) as integer ) from admissions "
               f"where admissions.subject_id = {p} and admissions.dischtime is not null "
               "order by admissions.admittime asc limit 1")
    return _inst(f, template, sql, patient=p)


# --------------------------------------------------------------------------- diagnoses


def _diagnoses(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "diagnoses"
    where = ""
    if template == "current_visit":
        where = "hadm_id in (select hadm_id from admissions where dischtime is null)"
    anchor = ctx.row(rng, "diagnoses_icd", "subject_id, icd9_code, charttime", where)
    if anchor is None:
        return None
    p, code, charttime = anchor
    if rng.random() < 0.5:  # a negative: a diagnosis someone else has
        code = ctx.row(rng, "diagnoses_icd", "icd9_code")[0]
    title = ctx.one("select short_title from d_icd_diagnoses where icd9_code = ?", code)
    if title is None or not ctx.unique_label("d_icd_diagnoses", "short_title", title):
        return None
    base = (f"select count(*)>0 from diagnoses_icd where diagnoses_icd.icd9_code = "
            f"{_dx_code(title)} and diagnoses_icd.hadm_id in ")
    if template == "ever":
        return _inst(f, template, f"{base}( {_adm(p)} )", patient=p, diagnosis=title)
    if template == "current_visit":
        return _inst(f, template, f"{base}( {_cur_adm(p)} )", patient=p, diagnosis=title)
    year = int(charttime[:4]) + rng.choice((-1, 0, 0, 1))
    if not 2100 <= year <= 2105:
        return None
    sql = f"{base}( {_adm(p)} ) and strftime('%Y',diagnoses_icd.charttime) >= '{year}'"
    return _inst(f, template, sql, patient=p, diagnosis=title, year=year)


# --------------------------------------------------------------------------- procedures


def _procedures(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "procedures"
    p, code, charttime = ctx.row(rng, "procedures_icd", "subject_id, icd9_code, charttime")
    title = ctx.one("select short_title from d_icd_procedures where icd9_code = ?", code)
    if title is None or not ctx.unique_label("d_icd_procedures", "short_title", title):
        return None
    if template == "patient_count":
        sql = (f"select count(*) from procedures_icd where procedures_icd.icd9_code = "
               f"{_sg_code(title)} and procedures_icd.hadm_id in ( {_adm(p)} )")
        return _inst(f, template, sql, patient=p, procedure=title)
    if template == "patients_in_year":
        year = int(charttime[:4])
        sql = ("select count( distinct admissions.subject_id ) from admissions where "
               "admissions.hadm_id in ( select procedures_icd.hadm_id from procedures_icd where "
               f"procedures_icd.icd9_code = {_sg_code(title)} and "
               f"strftime('%Y',procedures_icd.charttime) = '{year}' )")
        return _inst(f, template, sql, procedure=title, year=year)
    sql = f"select count(*) from procedures_icd where procedures_icd.icd9_code = {_sg_code(title)}"
    return _inst(f, template, sql, procedure=title)


# --------------------------------------------------------------------------- prescriptions


def _prescriptions(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "prescriptions"
    if template == "routes":
        drug = ctx.row(rng, "prescriptions", "drug")[0]
        if "'" in drug:
            return None
        sql = f"select distinct prescriptions.route from prescriptions where prescriptions.drug = '{drug}'"
        return _inst(f, template, sql, drug=drug)
    if template == "drugs_current":
        row = ctx.row(rng, "admissions", "subject_id", "dischtime is null")
        if row is None:
            return None
        p = row[0]
        sql = (f"select distinct prescriptions.drug from prescriptions "
               f"where prescriptions.hadm_id in ( {_cur_adm(p)} )")
        return _inst(f, template, sql, patient=p)
    p, route = ctx.row(rng, "prescriptions", "subject_id, route")
    sql = (f"select distinct prescriptions.drug from prescriptions where prescriptions.hadm_id "
           f"in ( {_first_adm(p)} ) and prescriptions.route = '{route}'")
    return _inst(f, template, sql, patient=p, route=route)


# --------------------------------------------------------------------------- labs


def _lab_anchor(ctx: Ctx, rng: random.Random, current: bool) -> tuple[int, str] | None:
    where = "hadm_id in (select hadm_id from admissions where dischtime is null)" if current else ""
    row = ctx.row(rng, "labevents", "subject_id, itemid", where)
    if row is None:
        return None
    label = ctx.one("select label from d_labitems where itemid = ?", row[1])
    if label is None or not ctx.unique_label("d_labitems", "label", label):
        return None
    return int(row[0]), str(label)


def _lab_values(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "lab_values"
    anchor = _lab_anchor(ctx, rng, template == "value_current_visit")
    if anchor is None:
        return None
    p, lab = anchor
    adm = _cur_adm(p) if template == "value_current_visit" else _first_adm(p)
    body = (f"from labevents where labevents.hadm_id in ( {adm} ) "
            f"and labevents.itemid in {_lab_items(lab)}")
    if template == "agg_first_visit":
        agg = rng.choice(("maximum", "minimum"))
        return _inst(f, template, f"select {_AGG[agg]}(labevents.valuenum) {body}",
                     patient=p, lab=lab, agg=agg)
    which = rng.choice(("first", "last"))
    sql, tie = _ordered("labevents.valuenum", "labevents.charttime",
                        f"{body} order by labevents.charttime {_ORDER[which]}")
    return _inst(f, template, sql, tie, patient=p, lab=lab, which=which)


def _lab_time(ctx: Ctx, rng: random.Random) -> Instance | None:
    anchor = _lab_anchor(ctx, rng, False)
    if anchor is None:
        return None
    p, lab = anchor
    sql, tie = _ordered(
        "labevents.charttime", "labevents.charttime",
        f"from labevents where labevents.hadm_id in ( {_first_adm(p)} ) and labevents.itemid "
        f"in {_lab_items(lab)} order by labevents.charttime desc",
    )
    return _inst("event_times", "last_lab_first_visit", sql, tie, patient=p, lab=lab)


# --------------------------------------------------------------------------- vitals


def _vitals(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "vitals"
    current = template == "agg_current_icu"
    where = "icustay_id in (select icustay_id from icustays where outtime is null)" if current else ""
    row = ctx.row(rng, "chartevents", "subject_id, itemid", where)
    if row is None:
        return None
    p, itemid = row
    vital = ctx.one("select label from d_items where itemid = ?", itemid)
    if vital is None or "'" in vital:
        return None
    icu = _cur_icu(p) if current else _first_icu(p)
    body = (f"from chartevents where chartevents.icustay_id in ( {icu} ) and chartevents.itemid "
            f"in {_d_items(vital, 'chartevents')}")
    if template == "value_first_icu":
        which = rng.choice(("first", "last"))
        sql, tie = _ordered("chartevents.valuenum", "chartevents.charttime",
                            f"{body} order by chartevents.charttime {_ORDER[which]}")
        return _inst(f, template, sql, tie, patient=p, vital=vital, which=which)
    if vital in ("admit wt", "admit ht"):
        return None  # charted once: an aggregate would be a trick question
    agg = rng.choice(tuple(_AGG))
    return _inst(f, template, f"select {_AGG[agg]}(chartevents.valuenum) {body}",
                 patient=p, vital=vital, agg=agg)


# --------------------------------------------------------------------------- intake / output


def _intake_output(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "intake_output"
    if template == "all_output_current_icu":
        row = ctx.row(rng, "outputevents", "subject_id",
                      "icustay_id in (select icustay_id from icustays where outtime is null)")
        if row is None:
            return None
        p = row[0]
        sql = (f"select sum(outputevents.value) from outputevents "
               f"where outputevents.icustay_id in ( {_cur_icu(p)} )")
        return _inst(f, template, sql, patient=p)
    table, column = (("inputevents_cv", "amount") if template == "intake_first_icu"
                     else ("outputevents", "value"))
    p, itemid = ctx.row(rng, table, "subject_id, itemid")
    item = ctx.one("select label from d_items where itemid = ?", itemid)
    if item is None or "'" in item:
        return None
    sql = (f"select sum({table}.{column}) from {table} where {table}.icustay_id in "
           f"( {_first_icu(p)} ) and {table}.itemid in {_d_items(item, table)}")
    return _inst(f, template, sql, patient=p, item=item)


# --------------------------------------------------------------------------- microbiology


def _microbiology(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "microbiology"
    if template in ("last_specimen_first_visit", "first_specimen_first_visit"):
        p = ctx.row(rng, "microbiologyevents", "subject_id")[0]
        order = "desc" if template.startswith("last") else "asc"
        sql, tie = _ordered(
            "microbiologyevents.spec_type_desc", "microbiologyevents.charttime",
            f"from microbiologyevents where microbiologyevents.hadm_id in ( {_first_adm(p)} ) "
            f"order by microbiologyevents.charttime {order}",
        )
        return _inst(f, template, sql, tie, patient=p)
    row = ctx.row(rng, "microbiologyevents", "subject_id, spec_type_desc", "org_name is not null")
    if row is None:
        return None
    p, specimen = row
    sql, tie = _ordered(
        "microbiologyevents.org_name", "microbiologyevents.charttime",
        f"from microbiologyevents where microbiologyevents.hadm_id in ( {_adm(p)} ) and "
        f"microbiologyevents.spec_type_desc = '{specimen}' and microbiologyevents.org_name "
        f"is not null order by microbiologyevents.charttime {'desc' if template == 'last_organism' else 'asc'}",
    )
    return _inst(f, template, sql, tie, patient=p, specimen=specimen)


# --------------------------------------------------------------------------- cost


def _cost(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "cost"
    if template == "total_first_visit":
        p = ctx.row(rng, "admissions", "subject_id")[0]
        sql = f"select sum(cost.cost) from cost where cost.hadm_id in ( {_first_adm(p)} )"
        return _inst(f, template, sql, patient=p)
    if template == "procedure_cost":
        code = ctx.row(rng, "procedures_icd", "icd9_code")[0]
        title = ctx.one("select short_title from d_icd_procedures where icd9_code = ?", code)
        if title is None or not ctx.unique_label("d_icd_procedures", "short_title", title):
            return None
        sql = ("select distinct cost.cost from cost where cost.event_type = 'procedures_icd' and "
               "cost.event_id in ( select procedures_icd.row_id from procedures_icd where "
               f"procedures_icd.icd9_code = {_sg_code(title)} )")
        return _inst(f, template, sql, procedure=title)
    if template == "lab_cost":
        itemid = ctx.row(rng, "labevents", "itemid")[0]
        lab = ctx.one("select label from d_labitems where itemid = ?", itemid)
        if lab is None or not ctx.unique_label("d_labitems", "label", lab):
            return None
        sql = ("select distinct cost.cost from cost where cost.event_type = 'labevents' and "
               "cost.event_id in ( select labevents.row_id from labevents where "
               f"labevents.itemid in {_lab_items(lab)} )")
        return _inst(f, template, sql, lab=lab)
    if template == "drug_total_first_visit":
        p, hadm, drug = ctx.row(rng, "prescriptions", "subject_id, hadm_id, drug")
        if "'" in drug or ctx.one(_first_adm(p)) != hadm:
            return None
        sql = ("select sum(cost.cost) from cost where cost.event_type = 'prescriptions' and "
               "cost.event_id in ( select prescriptions.row_id from prescriptions where "
               f"prescriptions.hadm_id in ( {_first_adm(p)} ) and prescriptions.drug = '{drug}' )")
        return _inst(f, template, sql, patient=p, drug=drug)
    drug = ctx.row(rng, "prescriptions", "drug")[0]
    if "'" in drug:
        return None
    sql = ("select distinct cost.cost from cost where cost.event_type = 'prescriptions' and "
           "cost.event_id in ( select prescriptions.row_id from prescriptions where "
           f"prescriptions.drug = '{drug}' )")
    return _inst(f, template, sql, drug=drug)


# --------------------------------------------------------------------------- event times


def _event_times(ctx: Ctx, rng: random.Random, template: str) -> Instance | None:
    f = "event_times"
    if template == "last_lab_first_visit":
        return _lab_time(ctx, rng)
    if template == "dob":
        p = ctx.row(rng, "patients", "subject_id")[0]
        return _inst(f, template, f"select patients.dob from patients where patients.subject_id = {p}",
                     patient=p)
    if template == "first_admission":
        p = ctx.row(rng, "admissions", "subject_id")[0]
        sql, tie = _ordered("admissions.admittime", "admissions.admittime",
                            f"from admissions where admissions.subject_id = {p} "
                            "order by admissions.admittime asc")
        return _inst(f, template, sql, tie, patient=p)
    p = ctx.row(rng, "procedures_icd", "subject_id")[0]
    sql, tie = _ordered("procedures_icd.charttime", "procedures_icd.charttime",
                        f"from procedures_icd where procedures_icd.hadm_id in ( {_adm(p)} ) "
                        "order by procedures_icd.charttime asc")
    return _inst(f, template, sql, tie, patient=p)


FAMILIES: dict[str, Callable[[Ctx, random.Random, str], Instance | None]] = {
    "demographics": _demographics,
    "admissions": _admissions,
    "diagnoses": _diagnoses,
    "procedures": _procedures,
    "prescriptions": _prescriptions,
    "lab_values": _lab_values,
    "vitals": _vitals,
    "intake_output": _intake_output,
    "microbiology": _microbiology,
    "cost": _cost,
    "event_times": _event_times,
}


def evaluate(con: sqlite3.Connection, inst: Instance, answer_type: AnswerType) -> Any | None:
    """The instance's answer, or None when it is not a proper question (empty, tied, NULL)."""
    if inst.tie_check is not None:
        keys = con.execute(prepare_query(inst.tie_check)).fetchall()
        if len(keys) == 2 and keys[0][0] == keys[1][0]:
            return None
    rows = con.execute(prepare_query(inst.sql)).fetchall()
    try:
        answer = answer_from_rows(rows, answer_type)
    except (ValueError, TypeError):
        return None
    if answer_type is AnswerType.STRING_SET and not answer:
        return None
    if answer_type in (AnswerType.NUMBER, AnswerType.INTEGER, AnswerType.STRING, AnswerType.DATE):
        if len(rows) != 1:  # a scalar question must have exactly one answer row
            return None
    return answer


def draw_valid(
    ctx: Ctx,
    rng: random.Random,
    make: Callable[[Any, random.Random, str], Any],
    templates: list[str],
    check: Callable[[Any], Any | None],
    *,
    weights: list[float] | None = None,
    max_tries: int = 400,
    label: str = "",
) -> tuple[Any, Any]:
    """The loop every EHR generator shares: pick a template (uniformly, or by ``weights``), let
    ``make`` propose an instance from the database, keep the first one ``check`` accepts
    (``check`` returns its answer, or None for an improper question)."""
    for _ in range(max_tries):
        template = rng.choices(templates, weights)[0] if weights else rng.choice(templates)
        inst = make(ctx, rng, template)
        if inst is None:
            continue
        answer = check(inst)
        if answer is not None:
            return inst, answer
    raise RuntimeError(f"{label}: no valid instance after {max_tries} proposals")


def propose(
    con: sqlite3.Connection,
    rng: random.Random,
    family: str,
    templates: list[str],
    answer_type: AnswerType,
    *,
    max_tries: int = 400,
) -> tuple[Instance, Any]:
    """Draw a valid instance of ``family`` (a template at random, then its parameters)."""
    return draw_valid(
        Ctx(con), rng, FAMILIES[family], templates, lambda inst: evaluate(con, inst, answer_type),
        max_tries=max_tries, label=family,
    )
