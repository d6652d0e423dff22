"""The eicu database: a view of the shared synthetic world in eICU's shape (EHRSQL version).

The world stores a MIMIC-like hospital (subjects, admissions, ICU stays, events by admission)
plus facts other schemas need (``patient_info``, ``admission_info``, ``allergies``). eICU is
organised differently, and the view follows eICU:

* **One ``patient`` row per ICU unit stay** (``patientunitstayid`` = the world's icustay_id),
  grouped into hospital admissions (``patienthealthsystemstayid`` = hadm_id) of one person
  (``uniquepid`` from ``patient_info``). eICU only holds ICU patients, so a hospital admission
  without an ICU stay is left out with all its events; a person who never reached an ICU is not
  in the view at all.
* **Every event points at a unit stay.** ICU-level events (vitals, intake/output) keep their stay;
  admission-level events (diagnoses, treatments, labs, medications, cultures, allergies) go to the
  admission's latest unit stay that began at or before the event, or to its first unit stay for
  events before any ICU admission (eICU records those with negative offsets on the stay).
* Names read as in eICU: diagnoses and treatments by their ICD-9 long titles, routes, culture
  sites, admission sources and ethnicities through ``mapping.toml``; vitals are pivoted from the
  charted items into one ``vitalperiodic`` row per stay and observation time; intake and output
  events share ``intakeoutput`` with a ``cellpath`` that says ``intake`` or ``output``; cultures
  that grew nothing read ``no growth``; costs keep their event as ``eventtype`` in
  ('diagnosis', 'lab', 'medication', 'treatment') and ``eventid`` = that table's id.

Nothing is copied from the world's hidden tables (``latent``, ``outcomes``): the view is built by
``medagentgym.world.build_view``, which refuses a view that holds them, and the SQL below never
reads them.
"""

from __future__ import annotations

import inspect
import sqlite3
import sys
from functools import cache
from pathlib import Path
from typing import Any

from medagentgym.catalog.splits import stable_hash
from medagentgym.world import vocab as world_vocab

NAME = "eicu"
VIEW_VERSION = 1  # bump when the mapping logic changes in a way the stamp cannot see
PACKAGE = "medagentgym.datasets.eicu"

#: The view's tables, in the order they are filled.
TABLES: tuple[str, ...] = (
    "patient",
    "diagnosis",
    "treatment",
    "lab",
    "medication",
    "cost",
    "allergy",
    "intakeoutput",
    "microlab",
    "vitalperiodic",
)


def read_text(name: str) -> str:
    """A data file of this package (``schema.sql``, ``indexes.sql``, ``mapping.toml``, ...)."""
    return world_vocab.read_text(name, PACKAGE)


@cache
def mapping() -> dict[str, Any]:
    """``mapping.toml``: how world values read in eICU's vocabulary."""
    return world_vocab.read_toml("mapping.toml", PACKAGE)


def view_version() -> int:
    """The ``version`` given to ``build_view``: changes whenever the schema, the mapping or this
    module change (``build_view`` itself only sees the source of ``populate``)."""
    source = inspect.getsource(sys.modules[__name__])
    texts = [read_text(n) for n in ("schema.sql", "indexes.sql", "mapping.toml")]
    return stable_hash(NAME, VIEW_VERSION, source, *texts) & 0x7FFF_FFFF


def build_database(*, force: bool = False, path: Path | None = None) -> Path:
    """Build (or reuse) ``<cache>/datasets/eicu/eicu.sqlite`` (or ``path``) from the world;
    returns its path."""
    from medagentgym.world import build_view

    return build_view(
        NAME,
        version=view_version(),
        ddl=read_text("schema.sql"),
        populate=populate,
        indexes=read_text("indexes.sql"),
        force=force,
        path=path,
    )


def default_db_path() -> Path:
    """Where the view lives: ``<cache>/datasets/eicu/eicu.sqlite`` (``build_database`` makes it)."""
    from medagentgym.world import view_path

    return view_path(NAME)


# --------------------------------------------------------------------------- SQL helpers


def _q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _stay_of(alias: str, time_col: str) -> str:
    """The unit stay an admission-level event of ``alias`` belongs to (see the module doc)."""
    return (
        f"coalesce((select st.icustay_id from _stays st where st.hadm_id = {alias}.hadm_id "
        f"and st.intime <= {alias}.{time_col} order by st.intime desc, st.icustay_id desc limit 1), "
        f"(select st.icustay_id from _stays st where st.hadm_id = {alias}.hadm_id "
        "order by st.intime asc, st.icustay_id asc limit 1))"
    )


def _title(kind: str, code: str) -> str:
    """The ICD-9 long title of ``code``; a category code that is not a billable leaf ('3420')
    reads as its first subcode's title ('34200'), so the event keeps a name."""
    table = f"world.d_icd_{kind}"
    return (
        f"coalesce((SELECT d.long_title FROM {table} d WHERE d.icd9_code = {code}), "
        f"(SELECT d.long_title FROM {table} d WHERE d.icd9_code > {code} "
        f"AND d.icd9_code < {code} || 'z' ORDER BY d.icd9_code LIMIT 1))"
    )


def _load_maps(con: sqlite3.Connection) -> None:
    """The value maps of ``mapping.toml`` as temporary tables (gone when the build closes)."""
    maps = mapping()
    for table in ("route", "culture_site", "admit_source", "ethnicity", "cost_event"):
        con.execute(f"CREATE TEMP TABLE _map_{table} (rank INTEGER, src TEXT PRIMARY KEY, dst TEXT)")
        con.executemany(
            f"INSERT INTO _map_{table} VALUES (?, ?, ?)",
            [(i, k.lower(), str(v).lower()) for i, (k, v) in enumerate(maps[table].items())],
        )
    con.execute("CREATE TEMP TABLE _stays AS SELECT hadm_id, icustay_id, intime FROM world.icustays")
    con.execute("CREATE INDEX temp._stays_ix ON _stays (hadm_id, intime)")


def populate(con: sqlite3.Connection) -> None:
    """Fill the eICU tables from the world attached as ``world`` (called by ``build_view``)."""
    _load_maps(con)
    maps = mapping()
    con.execute(_PATIENT_SQL.format(weight_label=_q(maps["weight"]["chart_label"])))
    con.execute(
        "INSERT INTO diagnosis SELECT row_id, stay, lower(title), charttime, icd9code FROM ("
        f"SELECT e.row_id, {_stay_of('e', 'charttime')} AS stay, {_title('diagnoses', 'e.icd9_code')} AS title, "
        "e.charttime, "
        "CASE WHEN e.icd9_code LIKE 'e%' AND length(e.icd9_code) > 4 "
        "THEN substr(e.icd9_code, 1, 4) || '.' || substr(e.icd9_code, 5) "
        "WHEN length(e.icd9_code) > 3 THEN substr(e.icd9_code, 1, 3) || '.' || substr(e.icd9_code, 4) "
        "ELSE e.icd9_code END AS icd9code "
        "FROM world.diagnoses_icd e"
        ") WHERE stay IS NOT NULL AND title IS NOT NULL ORDER BY row_id"
    )
    con.execute(
        "INSERT INTO treatment SELECT row_id, stay, lower(title), charttime FROM ("
        f"SELECT e.row_id, {_stay_of('e', 'charttime')} AS stay, {_title('procedures', 'e.icd9_code')} AS title, "
        "e.charttime FROM world.procedures_icd e"
        ") WHERE stay IS NOT NULL AND title IS NOT NULL ORDER BY row_id"
    )
    con.execute(
        "INSERT INTO lab SELECT row_id, stay, lower(label), valuenum, charttime FROM ("
        f"SELECT e.row_id, {_stay_of('e', 'charttime')} AS stay, d.label, e.valuenum, e.charttime "
        "FROM world.labevents e JOIN world.d_labitems d ON d.itemid = e.itemid"
        ") WHERE stay IS NOT NULL ORDER BY row_id"
    )
    con.execute(
        "INSERT INTO medication SELECT row_id, stay, lower(drug), lower(dosage), routeadmin, "
        "startdate, enddate FROM ("
        f"SELECT e.row_id, {_stay_of('e', 'startdate')} AS stay, e.drug, "
        "trim(e.dose_val_rx || ' ' || e.dose_unit_rx) AS dosage, "
        "coalesce(m.dst, lower(e.route)) AS routeadmin, e.startdate, e.enddate "
        "FROM world.prescriptions e LEFT JOIN _map_route m ON m.src = lower(e.route)"
        ") WHERE stay IS NOT NULL ORDER BY row_id"
    )
    con.execute(
        "INSERT INTO cost SELECT c.row_id, pi.uniquepid, c.hadm_id, m.dst, c.event_id, "
        "c.chargetime, c.cost FROM world.cost c "
        "JOIN _map_cost_event m ON m.src = c.event_type "
        "JOIN world.patient_info pi ON pi.subject_id = c.subject_id "
        "WHERE c.hadm_id IN (SELECT patienthealthsystemstayid FROM patient) AND CASE m.dst "
        "WHEN 'diagnosis' THEN c.event_id IN (SELECT diagnosisid FROM diagnosis) "
        "WHEN 'treatment' THEN c.event_id IN (SELECT treatmentid FROM treatment) "
        "WHEN 'lab' THEN c.event_id IN (SELECT labid FROM lab) "
        "ELSE c.event_id IN (SELECT medicationid FROM medication) END ORDER BY c.row_id"
    )
    con.execute(
        "INSERT INTO allergy SELECT row_id, stay, lower(drug), lower(allergy_name), charttime FROM ("
        f"SELECT e.row_id, {_stay_of('e', 'charttime')} AS stay, e.drug, e.allergy_name, e.charttime "
        "FROM world.allergies e) WHERE stay IS NOT NULL ORDER BY row_id"
    )
    paths = maps["cellpath"]
    con.execute(
        "INSERT INTO intakeoutput (patientunitstayid, cellpath, celllabel, cellvaluenumeric, "
        "intakeoutputtime) SELECT stay, path || label, label, amount, charttime FROM ("
        f"SELECT e.icustay_id AS stay, {_q(paths['intake'])} AS path, lower(d.label) AS label, "
        "e.amount, e.charttime, 0 AS kind, e.row_id FROM world.inputevents_cv e "
        "JOIN world.d_items d ON d.itemid = e.itemid "
        f"UNION ALL SELECT e.icustay_id, {_q(paths['output'])}, lower(d.label), e.value, "
        "e.charttime, 1, e.row_id FROM world.outputevents e JOIN world.d_items d ON d.itemid = e.itemid"
        ") WHERE stay IN (SELECT patientunitstayid FROM patient) "
        "ORDER BY charttime, kind, row_id"
    )
    negative = _q(maps["microlab"]["negative"])
    con.execute(
        "INSERT INTO microlab SELECT row_id, stay, site, organism, charttime FROM ("
        f"SELECT e.row_id, {_stay_of('e', 'charttime')} AS stay, "
        "coalesce(m.dst, lower(e.spec_type_desc)) AS site, "
        f"coalesce(lower(e.org_name), {negative}) AS organism, e.charttime "
        "FROM world.microbiologyevents e LEFT JOIN _map_culture_site m "
        "ON m.src = lower(e.spec_type_desc) WHERE e.spec_type_desc IS NOT NULL"
        ") WHERE stay IS NOT NULL ORDER BY row_id"
    )
    con.execute(_vitals_sql(maps["vital"]))


_PATIENT_SQL = """
INSERT INTO patient
SELECT pi.uniquepid, a.hadm_id, s.icustay_id,
       CASE lower(p.gender) WHEN 'm' THEN 'male' WHEN 'f' THEN 'female' ELSE lower(p.gender) END,
       CASE WHEN a.age > 89 THEN '> 89' ELSE CAST(a.age AS TEXT) END,
       coalesce((SELECT m.dst FROM _map_ethnicity m WHERE lower(a.ethnicity) LIKE m.src || '%'
                 ORDER BY m.rank LIMIT 1), 'other/unknown'),
       ai.hospital_id, s.first_wardid, round(pi.height_cm, 1),
       round(coalesce((SELECT ce.valuenum FROM world.chartevents ce
                       JOIN world.d_items di ON di.itemid = ce.itemid
                       WHERE ce.icustay_id = s.icustay_id AND di.label = {weight_label}
                       ORDER BY ce.charttime LIMIT 1), ai.admit_weight_kg), 1),
       CASE WHEN s.outtime IS NULL THEN NULL ELSE round(ai.discharge_weight_kg, 1) END,
       a.admittime,
       coalesce((SELECT m.dst FROM _map_admit_source m WHERE m.src = lower(a.admission_location)),
                'other'),
       s.intime, s.outtime, a.dischtime,
       CASE WHEN a.dischtime IS NULL THEN NULL
            WHEN ai.hospital_expire_flag = 1 THEN 'expired' ELSE 'alive' END
FROM world.icustays s
JOIN world.admissions a ON a.hadm_id = s.hadm_id
JOIN world.patients p ON p.subject_id = a.subject_id
JOIN world.patient_info pi ON pi.subject_id = a.subject_id
LEFT JOIN world.admission_info ai ON ai.hadm_id = a.hadm_id
ORDER BY s.icustay_id
"""


def _vitals_sql(columns: dict[str, str]) -> str:
    """Pivot the charted vital items into one row per (unit stay, observation time)."""
    allowed = {"temperature", "sao2", "heartrate", "respiration", "systemicsystolic",
               "systemicdiastolic", "systemicmean"}
    unknown = set(columns.values()) - allowed
    if unknown:
        raise ValueError(f"mapping.toml [vital] names unknown vitalperiodic columns: {sorted(unknown)}")
    order = sorted(allowed)
    picks = []
    for column in order:
        labels = [label for label, col in columns.items() if col == column]
        cond = " OR ".join(f"d.label = {_q(label)}" for label in labels) or "0"
        picks.append(f"max(CASE WHEN {cond} THEN e.valuenum END)")
    wanted = ", ".join(_q(label) for label in columns)
    return (
        f"INSERT INTO vitalperiodic (patientunitstayid, {', '.join(order)}, observationtime) "
        f"SELECT e.icustay_id, {', '.join(picks)}, e.charttime FROM world.chartevents e "
        f"JOIN world.d_items d ON d.itemid = e.itemid WHERE d.label IN ({wanted}) "
        "AND e.icustay_id IN (SELECT patientunitstayid FROM patient) "
        "GROUP BY e.icustay_id, e.charttime ORDER BY e.icustay_id, e.charttime"
    )
