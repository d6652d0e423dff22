"""Sequential EHRSQL questions: 2-4 dependent questions over one patient's MIMIC-III record.

Each template draws its anchors from the database (a patient, a lab, a drug, a year...) and
writes one gold query per question in EHRSQL's style. The questions build on each other in the
conversation ("of those drugs, which ..."), but every gold query is complete on its own, so each
answer is checked independently of what the agent answered before. An instance is accepted only
when every question has a proper answer (``mimic_iii.generate.evaluate``: non-empty, no tie in a
first/last ordering, one row for a scalar) and a refinement really refines (the filtered answer
differs from the unfiltered one where the template says so).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.mimic_iii.generate import (  # EHRSQL-style SQL fragments
    Ctx,
    Instance,
    _adm,
    _d_items,
    _first_adm,
    _first_icu,
    _lab_items,
    _ordered,
    draw_valid,
    evaluate,
)

N = AnswerType.NUMBER
I = AnswerType.INTEGER  # noqa: E741 - reads as the answer type's initial beside N, B, S, D
B = AnswerType.BOOLEAN
S = AnswerType.STRING_SET
D = AnswerType.DATE


@dataclass(frozen=True)
class SeqQuestion:
    """One question of a sequence: its gold SQL (EHRSQL style), answer type and tie check."""

    sql: str
    answer_type: AnswerType
    tie_check: str | None = None


@dataclass(frozen=True)
class SeqInstance:
    """One sequence before rendering: identity (family, template, params) and its questions."""

    family: str
    template: str
    params: tuple[tuple[str, Any], ...]
    questions: tuple[SeqQuestion, ...]

    @property
    def key(self) -> str:
        """The content key: the same sequence (whatever the wording) always has the same key."""
        parts = "|".join(f"{k}={v}" for k, v in self.params)
        return f"{self.family}|{self.template}|{parts}"

    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)


def _seq(family: str, template: str, questions: list[SeqQuestion], **params: Any) -> SeqInstance:
    return SeqInstance(family, template, tuple(sorted(params.items())), tuple(questions))


def _q(sql: str, answer_type: AnswerType, tie: str | None = None) -> SeqQuestion:
    return SeqQuestion(sql, answer_type, tie)


def _ordered_q(select: str, order_key: str, body: str, answer_type: AnswerType) -> SeqQuestion:
    sql, tie = _ordered(select, order_key, body)
    return _q(sql, answer_type, tie)


def _discharged_patient(ctx: Ctx, rng: random.Random, min_visits: int = 1) -> int | None:
    where = "dischtime is not null"
    if min_visits > 1:
        where += (" and subject_id in (select subject_id from admissions where dischtime is not null "
                  f"group by subject_id having count(*) >= {min_visits})")
    row = ctx.row(rng, "admissions", "subject_id", where)
    return None if row is None else int(row[0])


def _first_hadm(ctx: Ctx, p: int) -> int | None:
    return ctx.one(f"{_first_adm(p)}")


# --------------------------------------------------------------------------- filter then project


def _filter_then_project(ctx: Ctx, rng: random.Random, template: str) -> SeqInstance | None:
    f = "filter_then_project"
    if template == "drugs_then_route":
        p = _discharged_patient(ctx, rng)
        hadm = None if p is None else _first_hadm(ctx, p)
        if hadm is None:
            return None
        routes = [r[0] for r in ctx.all("select distinct route from prescriptions where hadm_id = ? order by route", hadm)]
        if len(routes) < 2:
            return None
        route = rng.choice(routes)
        drugs = [r[0] for r in ctx.all(
            "select distinct drug from prescriptions where hadm_id = ? and route = ? order by drug", hadm, route)]
        drug = rng.choice(drugs)
        if "'" in drug or "'" in route:
            return None
        body = f"from prescriptions where prescriptions.hadm_id in ( {_first_adm(p)} )"
        return _seq(f, template, [
            _q(f"select distinct prescriptions.drug {body}", S),
            _q(f"select distinct prescriptions.drug {body} and prescriptions.route = '{route}'", S),
            _q(f"select count(*) {body} and prescriptions.drug = '{drug}'", I),
        ], patient=p, route=route, drug=drug)
    if template == "diagnoses_then_codes":
        p = _discharged_patient(ctx, rng)
        if p is None:
            return None
        dx = (f"select diagnoses_icd.icd9_code from diagnoses_icd where diagnoses_icd.hadm_id in "
              f"( {_first_adm(p)} )")
        return _seq(f, template, [
            _q(f"select distinct d_icd_diagnoses.short_title from d_icd_diagnoses where "
               f"d_icd_diagnoses.icd9_code in ( {dx} )", S),
            _q(f"select distinct diagnoses_icd.icd9_code from diagnoses_icd where "
               f"diagnoses_icd.hadm_id in ( {_first_adm(p)} )", S),
            _q("select sum(cost.cost) from cost where cost.event_type = 'diagnoses_icd' and "
               f"cost.hadm_id in ( {_first_adm(p)} )", N),
        ], patient=p)
    # specimens_then_organisms
    row = ctx.row(rng, "microbiologyevents", "subject_id, spec_type_desc", "org_name is not null")
    if row is None:
        return None
    p, specimen = int(row[0]), str(row[1])
    if "'" in specimen:
        return None
    base = f"from microbiologyevents where microbiologyevents.hadm_id in ( {_adm(p)} )"
    with_spec = f"{base} and microbiologyevents.spec_type_desc = '{specimen}'"
    return _seq(f, template, [
        _q(f"select distinct microbiologyevents.spec_type_desc {base}", S),
        _q(f"select distinct microbiologyevents.org_name {with_spec} and microbiologyevents.org_name is not null", S),
        _ordered_q("microbiologyevents.charttime", "microbiologyevents.charttime",
                   f"{with_spec} order by microbiologyevents.charttime asc", D),
    ], patient=p, specimen=specimen)


# --------------------------------------------------------------------------- filter then aggregate


def _lab_of_first_visit(ctx: Ctx, rng: random.Random) -> tuple[int, str] | None:
    p = _discharged_patient(ctx, rng)
    hadm = None if p is None else _first_hadm(ctx, p)
    if hadm is None:
        return None
    labs = [r[0] for r in ctx.all(
        "select distinct d.label from labevents l join d_labitems d using (itemid) "
        "where l.hadm_id = ? order by d.label", hadm)]
    label = rng.choice(labs) if labs else None
    if label is None or not ctx.unique_label("d_labitems", "label", label):
        return None
    return p, label


def _vital_of_first_icu(ctx: Ctx, rng: random.Random, linksto: str = "chartevents") -> tuple[int, str] | None:
    p = _discharged_patient(ctx, rng)
    if p is None:
        return None
    stay = ctx.one(_first_icu(p))
    if stay is None:
        return None
    table = {"chartevents": "chartevents", "inputevents_cv": "inputevents_cv"}[linksto]
    items = [r[0] for r in ctx.all(
        f"select distinct d.label from {table} e join d_items d using (itemid) "
        "where e.icustay_id = ? and d.label not in ('admit wt', 'admit ht') order by d.label", stay)]
    label = rng.choice(items) if items else None
    if label is None or "'" in label:
        return None
    return p, label


def _filter_then_aggregate(ctx: Ctx, rng: random.Random, template: str) -> SeqInstance | None:
    f = "filter_then_aggregate"
    if template == "lab_stats":
        anchor = _lab_of_first_visit(ctx, rng)
        if anchor is None:
            return None
        p, lab = anchor
        body = (f"from labevents where labevents.hadm_id in ( {_first_adm(p)} ) "
                f"and labevents.itemid in {_lab_items(lab)}")
        return _seq(f, template, [
            _q(f"select count(*) {body}", I),
            _q(f"select max(labevents.valuenum) {body}", N),
            _q(f"select min(labevents.valuenum) {body}", N),
            _ordered_q("labevents.charttime", "labevents.charttime",
                       f"{body} order by labevents.charttime asc", D),
        ], patient=p, lab=lab)
    if template == "vital_stats":
        anchor = _vital_of_first_icu(ctx, rng)
        if anchor is None:
            return None
        p, vital = anchor
        body = (f"from chartevents where chartevents.icustay_id in ( {_first_icu(p)} ) "
                f"and chartevents.itemid in {_d_items(vital, 'chartevents')}")
        return _seq(f, template, [
            _q(f"select count(*) {body}", I),
            _q(f"select avg(chartevents.valuenum) {body}", N),
            _q(f"select max(chartevents.valuenum) {body}", N),
        ], patient=p, vital=vital)
    # input_total
    anchor = _vital_of_first_icu(ctx, rng, "inputevents_cv")
    if anchor is None:
        return None
    p, item = anchor
    body = (f"from inputevents_cv where inputevents_cv.icustay_id in ( {_first_icu(p)} ) "
            f"and inputevents_cv.itemid in {_d_items(item, 'inputevents_cv')}")
    return _seq(f, template, [
        _q(f"select count(*) {body}", I),
        _q(f"select sum(inputevents_cv.amount) {body}", N),
        _ordered_q("inputevents_cv.charttime", "inputevents_cv.charttime",
                   f"{body} order by inputevents_cv.charttime desc", D),
    ], patient=p, item=item)


# --------------------------------------------------------------------------- time refinement


def _time_refinement(ctx: Ctx, rng: random.Random, template: str) -> SeqInstance | None:
    f = "time_refinement"
    if template == "visits_since_year":
        p = _discharged_patient(ctx, rng, min_visits=2)
        if p is None:
            return None
        years = [int(r[0][:4]) for r in ctx.all(
            "select admittime from admissions where subject_id = ? order by admittime", p)]
        year = rng.choice(years[1:])  # a year after the first visit: the filter must bite
        since = f"{_adm(p)} and strftime('%y',admissions.admittime) >= '{year}'"
        return _seq(f, template, [
            _q(f"select count( distinct admissions.hadm_id ) from admissions where admissions.subject_id = {p}", I),
            _q(f"select count( distinct admissions.hadm_id ) from admissions where admissions.hadm_id in ( {since} )", I),
            _q("select count( distinct admissions.hadm_id ) from admissions where admissions.hadm_id in "
               f"( {since} ) and admissions.admission_type = 'emergency'", I),
        ], patient=p, year=year)
    if template == "labs_in_year":
        row = ctx.row(rng, "labevents", "subject_id, itemid, charttime")
        if row is None:
            return None
        p, itemid, when = int(row[0]), row[1], str(row[2])
        lab = ctx.one("select label from d_labitems where itemid = ?", itemid)
        if lab is None or not ctx.unique_label("d_labitems", "label", lab):
            return None
        year = int(when[:4])
        body = f"from labevents where labevents.hadm_id in ( {_adm(p)} ) and labevents.itemid in {_lab_items(lab)}"
        in_year = f"{body} and strftime('%y',labevents.charttime) = '{year}'"
        return _seq(f, template, [
            _q(f"select count(*) {body}", I),
            _q(f"select count(*) {in_year}", I),
            _q(f"select max(labevents.valuenum) {in_year}", N),
        ], patient=p, lab=lab, year=year)
    # prescriptions_first_days
    p = _discharged_patient(ctx, rng)
    hadm = None if p is None else _first_hadm(ctx, p)
    if hadm is None:
        return None
    early = ("select prescriptions.row_id from prescriptions where prescriptions.hadm_id in "
             f"( {_first_adm(p)} ) and julianday(prescriptions.startdate) - julianday(( select "
             "admissions.admittime from admissions where admissions.hadm_id = prescriptions.hadm_id )) < 2")
    routes = [r[0] for r in ctx.all(
        "select distinct p.route from prescriptions p join admissions a using (hadm_id) where "
        "p.hadm_id = ? and julianday(p.startdate) - julianday(a.admittime) < 2 order by p.route", hadm)]
    if not routes:
        return None
    route = rng.choice(routes)
    if "'" in route:
        return None
    return _seq(f, template, [
        _q(f"select count(*) from prescriptions where prescriptions.hadm_id in ( {_first_adm(p)} )", I),
        _q(f"select count(*) from prescriptions where prescriptions.row_id in ( {early} )", I),
        _q(f"select count(*) from prescriptions where prescriptions.row_id in ( {early} ) "
           f"and prescriptions.route = '{route}'", I),
    ], patient=p, route=route)


# --------------------------------------------------------------------------- comparison


def _first_last(ctx: Ctx, table: str, body: str, op: str) -> list[SeqQuestion] | None:
    """First value, last value, then whether ``last op first``: over the rows ``body`` selects."""
    if ctx.one(f"select count(*) {body}") < 2:
        return None
    value, time = f"{table}.valuenum", f"{table}.charttime"
    first = f"select {value} {body} order by {time} asc limit 1"
    last = f"select {value} {body} order by {time} desc limit 1"
    return [
        _ordered_q(value, time, f"{body} order by {time} asc", N),
        _ordered_q(value, time, f"{body} order by {time} desc", N),
        _q(f"select ( {last} ) {op} ( {first} )", B),
    ]


def _comparison(ctx: Ctx, rng: random.Random, template: str) -> SeqInstance | None:
    f = "comparison"
    if template == "lab_first_last":
        anchor = _lab_of_first_visit(ctx, rng)
        if anchor is None:
            return None
        p, lab = anchor
        body = (f"from labevents where labevents.hadm_id in ( {_first_adm(p)} ) "
                f"and labevents.itemid in {_lab_items(lab)}")
        questions = _first_last(ctx, "labevents", body, ">")
        return None if questions is None else _seq(f, template, questions, patient=p, lab=lab)
    if template == "vital_first_last":
        anchor = _vital_of_first_icu(ctx, rng)
        if anchor is None:
            return None
        p, vital = anchor
        body = (f"from chartevents where chartevents.icustay_id in ( {_first_icu(p)} ) "
                f"and chartevents.itemid in {_d_items(vital, 'chartevents')}")
        questions = _first_last(ctx, "chartevents", body, "<")
        return None if questions is None else _seq(f, template, questions, patient=p, vital=vital)
    # cost_two_visits
    pair = _visit_pair(ctx, rng)
    if pair is None:
        return None
    p, i, j = pair
    cost_a = f"select sum(cost.cost) from cost where cost.hadm_id in ( {_nth_adm(p, i)} )"
    cost_b = f"select sum(cost.cost) from cost where cost.hadm_id in ( {_nth_adm(p, j)} )"
    return _seq(f, template, [
        _q(cost_a, N),
        _q(cost_b, N),
        _q(f"select ( {cost_b} ) > ( {cost_a} )", B),
    ], patient=p, visit_a=_ORDINALS[i - 1], visit_b=_ORDINALS[j - 1])


# --------------------------------------------------------------------------- set operations

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def _nth_adm(p: int, k: int) -> str:
    """The k-th (1-based) completed hospital visit of patient ``p``."""
    return (f"{_adm(p)} and admissions.dischtime is not null order by admissions.admittime asc "
            f"limit 1 offset {k - 1}")


def _visit_pair(ctx: Ctx, rng: random.Random) -> tuple[int, int, int] | None:
    """A patient with two or more completed visits and two of them (i < j, 1-based)."""
    p = _discharged_patient(ctx, rng, min_visits=2)
    if p is None:
        return None
    n = min(int(ctx.one("select count(*) from admissions where subject_id = ? and dischtime is not null", p)),
            len(_ORDINALS))
    i, j = sorted(rng.sample(range(1, n + 1), 2))
    return p, i, j


def _set_operations(ctx: Ctx, rng: random.Random, template: str) -> SeqInstance | None:
    f = "set_operations"
    pair = _visit_pair(ctx, rng)
    if pair is None:
        return None
    p, i, j = pair
    a, b = _nth_adm(p, i), _nth_adm(p, j)
    words = {"visit_a": _ORDINALS[i - 1], "visit_b": _ORDINALS[j - 1]}
    if template == "drugs_two_visits":
        items = lambda adm: f"select prescriptions.drug from prescriptions where prescriptions.hadm_id in ( {adm} )"  # noqa: E731
        show = lambda inner: f"select distinct t.drug from ( {inner} ) as t"  # noqa: E731
    elif template == "routes_two_visits":
        items = lambda adm: f"select prescriptions.route from prescriptions where prescriptions.hadm_id in ( {adm} )"  # noqa: E731
        show = lambda inner: f"select distinct t.route from ( {inner} ) as t"  # noqa: E731
    elif template == "labs_two_visits":
        items = lambda adm: (  # noqa: E731
            "select d_labitems.label from d_labitems where d_labitems.itemid in ( select "
            f"labevents.itemid from labevents where labevents.hadm_id in ( {adm} ) )")
        show = lambda inner: f"select distinct t.label from ( {inner} ) as t"  # noqa: E731
    else:  # diagnoses_two_visits
        items = lambda adm: (  # noqa: E731
            "select d_icd_diagnoses.short_title from d_icd_diagnoses where d_icd_diagnoses.icd9_code "
            f"in ( select diagnoses_icd.icd9_code from diagnoses_icd where diagnoses_icd.hadm_id in ( {adm} ) )")
        show = lambda inner: f"select distinct t.short_title from ( {inner} ) as t"  # noqa: E731
    return _seq(f, template, [
        _q(show(items(a)), S),
        _q(show(items(b)), S),
        _q(show(f"{items(a)} intersect {items(b)}"), S),
        _q(f"select count(*) from ( {items(b)} except {items(a)} ) as t", I),
    ], patient=p, **words)


FAMILIES: dict[str, Callable[[Ctx, random.Random, str], SeqInstance | None]] = {
    "filter_then_project": _filter_then_project,
    "filter_then_aggregate": _filter_then_aggregate,
    "time_refinement": _time_refinement,
    "comparison": _comparison,
    "set_operations": _set_operations,
}

# Templates whose second answer must differ from the first (a filter that really filters).
_REFINES = {"drugs_then_route", "visits_since_year"}


def evaluate_sequence(con: sqlite3.Connection, inst: SeqInstance) -> list[Any] | None:
    """Every question's answer, or None when any question is not a proper one."""
    answers: list[Any] = []
    for q in inst.questions:
        single = Instance(inst.family, inst.template, inst.params, q.sql, q.tie_check)
        answer = evaluate(con, single, q.answer_type)
        if answer is None:
            return None
        answers.append(answer)
    if inst.template in _REFINES and answers[0] == answers[1]:
        return None
    return answers


def propose_sequence(
    con: sqlite3.Connection,
    rng: random.Random,
    family: str,
    templates: list[str],
    *,
    max_tries: int = 400,
) -> tuple[SeqInstance, list[Any]]:
    """Draw a valid sequence of ``family`` (a template at random, then its anchors)."""
    return draw_valid(
        Ctx(con), rng, FAMILIES[family], templates, lambda inst: evaluate_sequence(con, inst),
        max_tries=max_tries, label=f"ehr_seqsql {family}",
    )
