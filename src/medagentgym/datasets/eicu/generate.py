"""Question generators for the eicu view: EHRSQL's eICU style over the ten eICU tables.

The machinery is mimic_iii's (``Instance`` for the identity and content key of a question,
``Ctx`` for database lookups, ``evaluate`` for the answer and its checks); this module adds the
eICU families. Every question starts from an anchor row drawn from the view, so its answer
exists, and is kept only when ``evaluate`` accepts it (non-empty, one row for scalar answers, no
tie in the ordering key of a first/last question). Gold SQL is written the way EHRSQL writes it
for eICU: a person (``uniquepid``) leads to hospital visits (``patienthealthsystemstayid``), those
to unit stays (``patientunitstayid``), those to events, as nested ``in ( select ... )``.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from typing import Any

from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.mimic_iii.generate import Ctx, Instance, draw_valid, evaluate

#: The id column of each table (anchors are drawn by it).
ID_COLUMNS: dict[str, str] = {
    "patient": "patientunitstayid",
    "diagnosis": "diagnosisid",
    "treatment": "treatmentid",
    "lab": "labid",
    "medication": "medicationid",
    "cost": "costid",
    "allergy": "allergyid",
    "intakeoutput": "intakeoutputid",
    "microlab": "microlabid",
    "vitalperiodic": "vitalperiodicid",
}

#: Vital signs as questions name them -> their vitalperiodic column.
VITALS: dict[str, str] = {
    "heart rate": "heartrate",
    "sao2": "sao2",
    "respiration rate": "respiration",
    "temperature": "temperature",
    "systolic blood pressure": "systemicsystolic",
    "diastolic blood pressure": "systemicdiastolic",
    "mean blood pressure": "systemicmean",
}

_AGG = {"maximum": "max", "minimum": "min", "average": "avg"}
_ORDER = {"first": "asc", "last": "desc"}
_CURRENT_STAYS = "patientunitstayid in (select patientunitstayid from patient where hospitaldischargetime is null)"
_CURRENT_UNIT = "patientunitstayid in (select patientunitstayid from patient where unitdischargetime is null)"


class EicuCtx(Ctx):
    """mimic_iii's ``Ctx`` with anchors drawn by each eICU table's own id column.

    ``memo`` holds what lookups read once (id lists, distinct values); a caller that generates
    many samples from one unchanged database passes the same dict each time, so those lists are
    read once per process rather than once per sample.
    """

    def __init__(self, con: sqlite3.Connection, memo: dict[Any, Any] | None = None) -> None:
        super().__init__(con)
        memo = {} if memo is None else memo
        self._ids: dict[tuple[str, str], list[int]] = memo.setdefault("ids", {})
        self._values: dict[tuple[str, tuple[Any, ...]], list[Any]] = memo.setdefault("values", {})

    def pick(self, rng: random.Random, table: str, cols: str, where: str = "") -> tuple[Any, ...] | None:
        """A row of ``table`` (optionally satisfying ``where``) chosen uniformly, or None.

        Ids have gaps (events of admissions without an ICU stay are not in the view), so the ids
        are listed once (memo) and one is chosen, rather than a random number in their range.
        """
        id_col = ID_COLUMNS[table]
        key = (table, where)
        if key not in self._ids:
            cond = f" where {where}" if where else ""
            self._ids[key] = [r[0] for r in self.all(f"select {id_col} from {table}{cond} order by {id_col}")]
        ids = self._ids[key]
        if not ids:
            return None
        return self.con.execute(f"select {cols} from {table} where {id_col} = ?", (rng.choice(ids),)).fetchone()

    def choice(self, rng: random.Random, sql: str, *args: Any) -> Any:
        """A value of the first column of ``sql`` (read once, kept sorted), chosen uniformly;
        None when it returns nothing. Uniform choices over distinct values (rather than over
        rows) keep frequent names from crowding out the rest, so the key space is well used."""
        key = (sql, args)
        if key not in self._values:
            self._values[key] = sorted({r[0] for r in self.all(sql, *args) if r[0] is not None}, key=str)
        values = self._values[key]
        return rng.choice(values) if values else None

    def pid_of(self, stay: int) -> str:
        return str(self.one("select uniquepid from patient where patientunitstayid = ?", stay))

    def person(self, rng: random.Random, where: str = "") -> str | None:
        """A uniquepid chosen uniformly among persons with a unit stay satisfying ``where``."""
        value = self.choice(rng, "select distinct uniquepid from patient" + (f" where {where}" if where else ""))
        return None if value is None else str(value)

    def value(self, rng: random.Random, table: str, column: str) -> Any:
        """One of the distinct values of ``table.column``, chosen uniformly."""
        return self.choice(rng, f"select distinct {column} from {table}")


# --------------------------------------------------------------------------- SQL fragments

_FIRST_VISIT = " and patient.hospitaldischargetime is not null order by patient.hospitaladmittime asc limit 1"
_LAST_VISIT = " and patient.hospitaldischargetime is not null order by patient.hospitaladmittime desc limit 1"
_CURRENT_VISIT = " and patient.hospitaldischargetime is null"


def _hss(p: str, visit: str = "") -> str:
    """The hospital visits (health-system stays) of person ``p``, optionally one of them."""
    return f"select patient.patienthealthsystemstayid from patient where patient.uniquepid = '{p}'{visit}"


def _stays(p: str, visit: str = "") -> str:
    """The unit stays of the person's hospital visits (all, the first, or the current)."""
    return (
        "select patient.patientunitstayid from patient where patient.patienthealthsystemstayid "
        f"in ( {_hss(p, visit)} )"
    )


def _first_unit(p: str) -> str:
    return f"{_stays(p)} and patient.unitdischargetime is not null order by patient.unitadmittime asc limit 1"


def _last_unit(p: str) -> str:
    return f"{_stays(p)} and patient.unitdischargetime is not null order by patient.unitadmittime desc limit 1"


def _cur_unit(p: str) -> str:
    return f"{_stays(p)} and patient.unitdischargetime is null"


def _visit_ties(p: str, column: str, order: str, cond: str = "") -> str:
    """Tie check over hospital visits: unit stays of one visit share its times, which is no tie."""
    return (
        f"select min(patient.{column}) from patient where patient.uniquepid = '{p}'{cond} "
        f"group by patient.patienthealthsystemstayid order by 1 {order} limit 2"
    )


def _make(family: str, template: str, sql: str, tie: str | None = None, **params: Any) -> Instance:
    return Instance(family, template, tuple(sorted(params.items())), sql, tie)


def _ordered(select: str, key: str, body: str) -> tuple[str, str]:
    """A first/last query and its tie check (the ordering key of the top two rows)."""
    return f"select {select} {body} limit 1", f"select {key} {body} limit 2"


def _ok(*names: Any) -> bool:
    """Values written into SQL literals and questions: present and without a quote."""
    return all(n is not None and "'" not in str(n) for n in names)


# --------------------------------------------------------------------------- demographics


def _demographics(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "demographics"
    p = ctx.person(rng)
    if p is None:
        return None
    if template in ("gender", "ethnicity"):
        sql = f"select distinct patient.{template} from patient where patient.uniquepid = '{p}'"
        return _make(f, template, sql, patient=p)
    if template in ("ward_first_icu", "ward_last_icu"):
        order = "asc" if template == "ward_first_icu" else "desc"
        sql, tie = _ordered("patient.wardid", "patient.unitadmittime",
                            f"from patient where patient.patienthealthsystemstayid in ( {_hss(p)} ) "
                            f"and patient.unitdischargetime is not null order by patient.unitadmittime {order}")
        return _make(f, template, sql, tie, patient=p)
    column, order = {
        "admit_source_first": ("hospitaladmitsource", "asc"),
        "admit_source_last": ("hospitaladmitsource", "desc"),
        "discharge_status_last": ("hospitaldischargestatus", "desc"),
        "hospital_first": ("hospitalid", "asc"),
    }[template]
    cond = " and patient.hospitaldischargetime is not null"
    sql = (f"select patient.{column} from patient where patient.uniquepid = '{p}'{cond} "
           f"order by patient.hospitaladmittime {order} limit 1")
    return _make(f, template, sql, _visit_ties(p, "hospitaladmittime", order, cond), patient=p)


# --------------------------------------------------------------------------- stays


def _days(later: str, earlier: str) -> str:
    return f"cast( julianday(date({later})) - julianday(date({earlier})) as integer )"


def _stays_family(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "stays"
    if template == "days_since_hospital_admit":
        p = ctx.person(rng, "hospitaldischargetime is null")
        if p is None:
            return None
        sql = (f"select distinct {_days('current_time', 'patient.hospitaladmittime')} from patient "
               f"where patient.uniquepid = '{p}' and patient.hospitaldischargetime is null")
        return _make(f, template, sql, patient=p)
    if template == "days_since_unit_admit":
        p = ctx.person(rng, "unitdischargetime is null")
        if p is None:
            return None
        sql = (f"select {_days('current_time', 'patient.unitadmittime')} from patient "
               f"where patient.patientunitstayid in ( {_cur_unit(p)} )")
        return _make(f, template, sql, patient=p)
    p = ctx.person(rng)
    if p is None:
        return None
    if template in ("visit_count", "icu_count", "icu_count_first_visit"):
        if template == "visit_count":
            sql = (f"select count( distinct patient.patienthealthsystemstayid ) from patient "
                   f"where patient.uniquepid = '{p}'")
        else:
            visit = _FIRST_VISIT if template == "icu_count_first_visit" else ""
            sql = (f"select count( distinct patient.patientunitstayid ) from patient "
                   f"where patient.patienthealthsystemstayid in ( {_hss(p, visit)} )")
        return _make(f, template, sql, patient=p)
    if template in ("unit_los_first", "unit_los_last"):
        order = "asc" if template == "unit_los_first" else "desc"
        sql, tie = _ordered(_days("patient.unitdischargetime", "patient.unitadmittime"), "patient.unitadmittime",
                            f"from patient where patient.patienthealthsystemstayid in ( {_hss(p)} ) "
                            f"and patient.unitdischargetime is not null order by patient.unitadmittime {order}")
        return _make(f, template, sql, tie, patient=p)
    select, order = {
        "age_first": ("patient.age", "asc"),
        "age_last": ("patient.age", "desc"),
        "hospital_los_first": (_days("patient.hospitaldischargetime", "patient.hospitaladmittime"), "asc"),
        "hospital_los_last": (_days("patient.hospitaldischargetime", "patient.hospitaladmittime"), "desc"),
    }[template]
    cond = " and patient.hospitaldischargetime is not null"
    sql = (f"select {select} from patient where patient.uniquepid = '{p}'{cond} "
           f"order by patient.hospitaladmittime {order} limit 1")
    return _make(f, template, sql, _visit_ties(p, "hospitaladmittime", order, cond), patient=p)


# --------------------------------------------------------------------------- diagnoses


def _diagnoses(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "diagnoses"
    where = _CURRENT_STAYS if template == "current_visit" else ""
    anchor = ctx.pick(rng, "diagnosis", "patientunitstayid, diagnosisname, diagnosistime", where)
    if anchor is None:
        return None
    stay, name, when = anchor
    if rng.random() < 0.5:  # a negative, most likely: any diagnosis name of the database
        name = ctx.value(rng, "diagnosis", "diagnosisname")
    p = ctx.pid_of(stay)
    if not _ok(name, p):
        return None
    base = ("select count(*)>0 from diagnosis where diagnosis.patientunitstayid in "
            "( {stays} ) and diagnosis.diagnosisname = '" + name + "'")
    if template == "ever":
        return _make(f, template, base.format(stays=_stays(p)), patient=p, diagnosis=name)
    if template in ("current_visit", "first_visit"):
        visit = _CURRENT_VISIT if template == "current_visit" else _FIRST_VISIT
        return _make(f, template, base.format(stays=_stays(p, visit)), patient=p, diagnosis=name)
    year = int(str(when)[:4]) + rng.choice((-1, 0, 0, 1))
    if not 2100 <= year <= 2105:
        return None
    sql = base.format(stays=_stays(p)) + f" and strftime('%Y',diagnosis.diagnosistime) >= '{year}'"
    return _make(f, template, sql, patient=p, diagnosis=name, year=year)


# --------------------------------------------------------------------------- treatments


def _treatments(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "treatments"
    if template in ("patient_count", "patient_count_first_visit"):
        stay, name = ctx.pick(rng, "treatment", "patientunitstayid, treatmentname")
        p = ctx.pid_of(stay)
        if not _ok(p, name):
            return None
        visit = _FIRST_VISIT if template == "patient_count_first_visit" else ""
        sql = (f"select count(*) from treatment where treatment.patientunitstayid in ( {_stays(p, visit)} ) "
               f"and treatment.treatmentname = '{name}'")
        return _make(f, template, sql, patient=p, treatment=name)
    name = ctx.value(rng, "treatment", "treatmentname")
    if not _ok(name):
        return None
    of_name = f"treatment.treatmentname = '{name}'"
    if template in ("patients_in_year", "patients_since_year", "cases_in_year"):
        year = ctx.choice(
            rng, "select distinct strftime('%Y', treatmenttime) from treatment where treatmentname = ?", name
        )
        op = ">=" if template == "patients_since_year" else "="
        in_year = f"strftime('%Y',treatment.treatmenttime) {op} '{year}'"
        if template == "cases_in_year":
            sql = f"select count(*) from treatment where {of_name} and {in_year}"
        else:
            sql = ("select count( distinct patient.uniquepid ) from patient where patient.patientunitstayid in "
                   f"( select treatment.patientunitstayid from treatment where {of_name} and {in_year} )")
        return _make(f, template, sql, treatment=name, year=year)
    if template == "patients_ever":
        sql = ("select count( distinct patient.uniquepid ) from patient where patient.patientunitstayid in "
               f"( select treatment.patientunitstayid from treatment where {of_name} )")
        return _make(f, template, sql, treatment=name)
    return _make(f, template, f"select count(*) from treatment where {of_name}", treatment=name)


# --------------------------------------------------------------------------- medications


def _medications(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "medications"
    drugs = "select distinct medication.drugname from medication where medication.patientunitstayid in "
    if template == "routes":
        drug = ctx.value(rng, "medication", "drugname")
        if not _ok(drug):
            return None
        sql = f"select distinct medication.routeadmin from medication where medication.drugname = '{drug}'"
        return _make(f, template, sql, drug=drug)
    if template in ("drugs_current", "drugs_first_icu"):
        current = template == "drugs_current"
        p = ctx.person(rng, "hospitaldischargetime is null" if current else "")
        if p is None:
            return None
        stays = _stays(p, _CURRENT_VISIT) if current else _first_unit(p)
        return _make(f, template, f"{drugs}( {stays} )", patient=p)
    stay, route, start = ctx.pick(rng, "medication", "patientunitstayid, routeadmin, drugstarttime")
    p = ctx.pid_of(stay)
    if not _ok(route, p):
        return None
    if template in ("drugs_by_route_first", "drugs_by_route_ever"):
        visit = _FIRST_VISIT if template == "drugs_by_route_first" else ""
        sql = f"{drugs}( {_stays(p, visit)} ) and medication.routeadmin = '{route}'"
        return _make(f, template, sql, patient=p, route=route)
    if template == "drugs_on_day":
        day = str(start)[:10]
        sql = f"{drugs}( {_stays(p)} ) and strftime('%Y-%m-%d',medication.drugstarttime) = '{day}'"
        return _make(f, template, sql, patient=p, day=day)
    month = str(start)[:7]
    sql = f"{drugs}( {_stays(p)} ) and strftime('%Y-%m',medication.drugstarttime) = '{month}'"
    return _make(f, template, sql, patient=p, month=month)


# --------------------------------------------------------------------------- labs


def _labs(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "labs"
    current = template == "value_current_visit"
    anchor = ctx.pick(rng, "lab", "patientunitstayid, labname", _CURRENT_STAYS if current else "")
    if anchor is None:
        return None
    p, lab = ctx.pid_of(anchor[0]), anchor[1]
    if not _ok(p, lab):
        return None
    visit = _CURRENT_VISIT if current else _FIRST_VISIT
    body = f"from lab where lab.patientunitstayid in ( {_stays(p, visit)} ) and lab.labname = '{lab}'"
    if template == "agg_first_visit":
        agg = rng.choice(tuple(_AGG))
        return _make(f, template, f"select {_AGG[agg]}(lab.labresult) {body}", patient=p, lab=lab, agg=agg)
    which = rng.choice(tuple(_ORDER))
    sql, tie = _ordered("lab.labresult", "lab.labresulttime", f"{body} order by lab.labresulttime {_ORDER[which]}")
    return _make(f, template, sql, tie, patient=p, lab=lab, which=which)


# --------------------------------------------------------------------------- vitals


def _vitals(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "vitals"
    vital = rng.choice(tuple(VITALS))
    col = VITALS[vital]
    current = template == "agg_current_icu"
    where = f"{col} is not null" + (f" and {_CURRENT_UNIT}" if current else "")
    anchor = ctx.pick(rng, "vitalperiodic", "patientunitstayid", where)
    if anchor is None:
        return None
    p = ctx.pid_of(anchor[0])
    stays = _cur_unit(p) if current else _first_unit(p)
    body = (f"from vitalperiodic where vitalperiodic.patientunitstayid in ( {stays} ) "
            f"and vitalperiodic.{col} is not null")
    if template == "value_first_icu":
        which = rng.choice(tuple(_ORDER))
        sql, tie = _ordered(f"vitalperiodic.{col}", "vitalperiodic.observationtime",
                            f"{body} order by vitalperiodic.observationtime {_ORDER[which]}")
        return _make(f, template, sql, tie, patient=p, vital=vital, which=which)
    agg = rng.choice(tuple(_AGG))
    return _make(f, template, f"select {_AGG[agg]}(vitalperiodic.{col}) {body}", patient=p, vital=vital, agg=agg)


# --------------------------------------------------------------------------- intake / output


def _io_sum(stays: str, kind: str, label: str | None = None) -> str:
    item = f" and intakeoutput.celllabel = '{label}'" if label is not None else ""
    return (f"select sum(intakeoutput.cellvaluenumeric) from intakeoutput where intakeoutput.patientunitstayid "
            f"in ( {stays} ){item} and intakeoutput.cellpath like '%{kind}%'")


def _intake_output(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "intake_output"
    kind = "output" if "output" in template else "intake"
    if template in ("total_intake_current_icu", "total_output_current_icu"):
        p = ctx.person(rng, "unitdischargetime is null")
        if p is None:
            return None
        return _make(f, template, _io_sum(_cur_unit(p), kind), patient=p)
    if template in ("total_intake_first_icu", "total_output_first_icu", "balance_first_icu"):
        p = ctx.person(rng, "patientunitstayid in (select patientunitstayid from intakeoutput)")
        if p is None:
            return None
        if template == "balance_first_icu":
            sql = f"select ( {_io_sum(_first_unit(p), 'intake')} ) - ( {_io_sum(_first_unit(p), 'output')} )"
        else:
            sql = _io_sum(_first_unit(p), kind)
        return _make(f, template, sql, patient=p)
    anchor = ctx.pick(rng, "intakeoutput", "patientunitstayid, celllabel", f"cellpath like '%{kind}%'")
    if anchor is None:
        return None
    p, item = ctx.pid_of(anchor[0]), anchor[1]
    if not _ok(p, item):
        return None
    stays = _first_unit(p) if template.endswith("_first_icu") else _last_unit(p)
    return _make(f, template, _io_sum(stays, kind, item), patient=p, item=item)


# --------------------------------------------------------------------------- microbiology


def _microbiology(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "microbiology"
    if template in ("last_site_first_visit", "first_site_ever"):
        p = ctx.person(rng, "patientunitstayid in (select patientunitstayid from microlab)")
        if p is None:
            return None
        first = template == "first_site_ever"
        stays = _stays(p) if first else _stays(p, _FIRST_VISIT)
        sql, tie = _ordered("microlab.culturesite", "microlab.culturetakentime",
                            f"from microlab where microlab.patientunitstayid in ( {stays} ) "
                            f"order by microlab.culturetakentime {'asc' if first else 'desc'}")
        return _make(f, template, sql, tie, patient=p)
    stay, site = ctx.pick(rng, "microlab", "patientunitstayid, culturesite")
    p = ctx.pid_of(stay)
    if not _ok(p, site):
        return None
    grown = " and microlab.organism <> 'no growth'" if template == "first_organism_grown" else ""
    order = "desc" if template == "last_result" else "asc"
    sql, tie = _ordered("microlab.organism", "microlab.culturetakentime",
                        f"from microlab where microlab.patientunitstayid in ( {_stays(p)} ) and "
                        f"microlab.culturesite = '{site}'{grown} order by microlab.culturetakentime {order}")
    return _make(f, template, sql, tie, patient=p, site=site)


# --------------------------------------------------------------------------- allergy


def _allergy(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "allergy"
    if template == "patients_allergic_to":
        drug = ctx.value(rng, "allergy", "drugname")
        if not _ok(drug):
            return None
        sql = ("select distinct patient.uniquepid from patient where patient.patientunitstayid in "
               f"( select allergy.patientunitstayid from allergy where allergy.drugname = '{drug}' )")
        return _make(f, template, sql, drug=drug)
    current = template == "drugs_current_visit"
    anchor = ctx.pick(rng, "allergy", "patientunitstayid, allergytime, drugname", _CURRENT_STAYS if current else "")
    if anchor is None:
        return None
    stay, when, drug = anchor
    p = ctx.pid_of(stay)
    if not _ok(p, drug):
        return None
    column = "allergyname" if template in ("names_ever", "reactions_to_drug") else "drugname"
    body = f"select distinct allergy.{column} from allergy where allergy.patientunitstayid in "
    if template in ("names_ever", "drugs_ever"):
        return _make(f, template, f"{body}( {_stays(p)} )", patient=p)
    if current:
        return _make(f, template, f"{body}( {_stays(p, _CURRENT_VISIT)} )", patient=p)
    if template == "reactions_to_drug":
        sql = f"{body}( {_stays(p)} ) and allergy.drugname = '{drug}'"
        return _make(f, template, sql, patient=p, drug=drug)
    year = str(when)[:4]
    sql = f"{body}( {_stays(p)} ) and strftime('%Y',allergy.allergytime) = '{year}'"
    return _make(f, template, sql, patient=p, year=year)


# --------------------------------------------------------------------------- cost

_COST_EVENTS = {  # template -> (eventtype, table, id column, name column, question parameter)
    "diagnosis_cost": ("diagnosis", "diagnosis", "diagnosisid", "diagnosisname", "diagnosis"),
    "treatment_cost": ("treatment", "treatment", "treatmentid", "treatmentname", "treatment"),
    "lab_cost": ("lab", "lab", "labid", "labname", "lab"),
    "drug_cost": ("medication", "medication", "medicationid", "drugname", "drug"),
}


def _cost(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "cost"
    if template in _COST_EVENTS:
        event, table, id_col, name_col, param = _COST_EVENTS[template]
        name = ctx.value(rng, table, name_col)
        if not _ok(name):
            return None
        sql = (f"select distinct cost.cost from cost where cost.eventtype = '{event}' and cost.eventid in "
               f"( select {table}.{id_col} from {table} where {table}.{name_col} = '{name}' )")
        return _make(f, template, sql, **{param: name})
    if template in ("total_first_visit", "total_last_visit"):
        p = ctx.person(rng)
        visit = _FIRST_VISIT if template == "total_first_visit" else _LAST_VISIT
        sql = f"select sum(cost.cost) from cost where cost.patienthealthsystemstayid in ( {_hss(p, visit)} )"
        return _make(f, template, sql, patient=p)
    p, when = ctx.pick(rng, "cost", "uniquepid, chargetime")
    if template == "total_in_month":
        month = str(when)[:7]
        sql = (f"select sum(cost.cost) from cost where cost.uniquepid = '{p}' "
               f"and strftime('%Y-%m',cost.chargetime) = '{month}'")
        return _make(f, template, sql, patient=p, month=month)
    year = str(when)[:4]
    sql = (f"select sum(cost.cost) from cost where cost.uniquepid = '{p}' "
           f"and strftime('%Y',cost.chargetime) = '{year}'")
    return _make(f, template, sql, patient=p, year=year)


# --------------------------------------------------------------------------- event times


def _event_times(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "event_times"
    if template in ("first_hospital_admit", "last_hospital_discharge"):
        p = ctx.person(rng)
        if template == "first_hospital_admit":
            sql = (f"select patient.hospitaladmittime from patient where patient.uniquepid = '{p}' "
                   "order by patient.hospitaladmittime asc limit 1")
            return _make(f, template, sql, _visit_ties(p, "hospitaladmittime", "asc"), patient=p)
        cond = " and patient.hospitaldischargetime is not null"
        sql = (f"select patient.hospitaldischargetime from patient where patient.uniquepid = '{p}'{cond} "
               "order by patient.hospitaldischargetime desc limit 1")
        return _make(f, template, sql, _visit_ties(p, "hospitaldischargetime", "desc", cond), patient=p)
    table, time_col, name_col, param, order = {
        "first_diagnosis": ("diagnosis", "diagnosistime", "diagnosisname", "diagnosis", "asc"),
        "last_lab_first_visit": ("lab", "labresulttime", "labname", "lab", "desc"),
        "first_drug": ("medication", "drugstarttime", "drugname", "drug", "asc"),
        "first_culture": ("microlab", "culturetakentime", "culturesite", "site", "asc"),
    }[template]
    stay, name = ctx.pick(rng, table, f"patientunitstayid, {name_col}")
    p = ctx.pid_of(stay)
    if not _ok(p, name):
        return None
    visit = _FIRST_VISIT if template == "last_lab_first_visit" else ""
    sql, tie = _ordered(f"{table}.{time_col}", f"{table}.{time_col}",
                        f"from {table} where {table}.patientunitstayid in ( {_stays(p, visit)} ) and "
                        f"{table}.{name_col} = '{name}' order by {table}.{time_col} {order}")
    return _make(f, template, sql, tie, patient=p, **{param: name})


# --------------------------------------------------------------------------- body measurements


def _body(ctx: EicuCtx, rng: random.Random, template: str) -> Instance | None:
    f = "body_measurements"
    if template == "weight_change":
        p = ctx.person(rng, "uniquepid in (select uniquepid from patient group by uniquepid having count(*) > 1)")
        if p is None:
            return None
        part = (f"select patient.admissionweight from patient where patient.uniquepid = '{p}' "
                "and patient.admissionweight is not null order by patient.unitadmittime {order} limit 1")
        sql = f"select ( {part.format(order='desc')} ) - ( {part.format(order='asc')} )"
        return _make(f, template, sql, patient=p)
    p = ctx.person(rng)
    if p is None:
        return None
    if template in ("discharge_weight_first", "discharge_weight_last"):
        order = "asc" if template == "discharge_weight_first" else "desc"
        sql, tie = _ordered("patient.dischargeweight", "patient.unitdischargetime",
                            f"from patient where patient.uniquepid = '{p}' and patient.dischargeweight "
                            f"is not null order by patient.unitdischargetime {order}")
        return _make(f, template, sql, tie, patient=p)
    column, visit = {
        "height_first_visit": ("admissionheight", _FIRST_VISIT),
        "weight_first_visit": ("admissionweight", _FIRST_VISIT),
        "weight_last_visit": ("admissionweight", _LAST_VISIT),
    }[template]
    which = "first" if template == "height_first_visit" else rng.choice(tuple(_ORDER))
    sql, tie = _ordered(f"patient.{column}", "patient.unitadmittime",
                        f"from patient where patient.patienthealthsystemstayid in ( {_hss(p, visit)} ) "
                        f"and patient.{column} is not null order by patient.unitadmittime {_ORDER[which]}")
    if template == "height_first_visit":
        return _make(f, template, sql, tie, patient=p)
    return _make(f, template, sql, tie, patient=p, which=which)


Family = Callable[[EicuCtx, random.Random, str], "Instance | None"]

FAMILIES: dict[str, Family] = {
    "demographics": _demographics,
    "stays": _stays_family,
    "diagnoses": _diagnoses,
    "treatments": _treatments,
    "medications": _medications,
    "labs": _labs,
    "vitals": _vitals,
    "intake_output": _intake_output,
    "microbiology": _microbiology,
    "allergy": _allergy,
    "cost": _cost,
    "event_times": _event_times,
    "body_measurements": _body,
}


def propose(
    ctx: EicuCtx,
    rng: random.Random,
    family: str,
    templates: list[str],
    answer_type: AnswerType,
    *,
    weights: list[float] | None = None,
    max_tries: int = 400,
) -> tuple[Instance, Any]:
    """Draw a valid instance of ``family``: a template at random (by ``weights``: templates with
    few possible instances, such as questions about the few patients in hospital now, are drawn
    less often so they do not repeat), then its parameters, until mimic_iii's ``evaluate``
    accepts the answer."""
    return draw_valid(
        ctx, rng, FAMILIES[family], templates, lambda inst: evaluate(ctx.con, inst, answer_type),
        weights=weights, max_tries=max_tries, label=f"eicu {family}",
    )
