"""Official "Relevant Entities" -> calculator arguments: an explicit table per calculator.

MedCalc-Bench rows carry their inputs as a Python-literal dict with readable names
("Systolic Blood Pressure", "Blood Urea Nitrogen (BUN)") and ``[value, unit]`` pairs. Each
calculator here lists which official names feed which of its arguments; the argument's fact kind
(``categories.toml``) picks the unit table. Findings that a row leaves out default to the
calculator's default (absent), as MedCalc-Bench assumes.

Two more shapes feed the date and drug calculators. A *date kind* (its unit table has the key
"mm/dd/yyyy") takes a date string, "12/11/2013" or "2013-12-11", checked to be a real calendar
date. A *drug entry* ``['Dexamethasone PO', 7.96, 'mg']`` is read as two entities, the drug name
under its own key and ``[7.96, 'mg']`` under "<key> dose", when the calculator maps that second
name. And a calculator that reads drug doses ("<drug> Dose") refuses a row naming a drug it has
no factor for, rather than leaving that drug out of the total.
"""

from __future__ import annotations

import ast
import datetime
import inspect
import re
from collections.abc import Callable
from typing import Any

from medagentgym.datasets.medcalcbench import facts, units
from medagentgym.datasets.medcalcbench.categories import CalculatorSpec
from medagentgym.datasets.medcalcbench.families import merged
from medagentgym.datasets.medcalcbench.solution import Given


class EntityError(ValueError):
    """A row's entities cannot feed the calculator (missing input, unknown unit, bad value)."""


_AGE = {"age": "age"}
_SEX = {"sex": "male"}
_CG = {**_AGE, **_SEX, "weight": "weight_kg", "height": "height_cm", "creatinine": "creatinine_mg_dl"}
_QT = {"Heart Rate or Pulse": "heart_rate", "QT interval": "qt_msec"}
_GAP = {"Sodium": "sodium", "Chloride": "chloride", "Bicarbonate": "bicarbonate"}
_GAP_ALB = {**_GAP, "Albumin": "albumin_g_dl"}
_BP = {"Systolic Blood Pressure": "systolic", "Diastolic Blood Pressure": "diastolic"}

_BASE_ENTITY_MAP: dict[str, dict[str, str]] = {
    "creatinine-clearance": _CG,
    "ckd-epi-2021": {**_AGE, **_SEX, "creatinine": "creatinine_mg_dl"},
    "cha2ds2-vasc": {
        **_AGE,
        **_SEX,
        "Congestive Heart Faliure": "chf",  # sic, as spelled in the official files
        "Congestive Heart Failure": "chf",
        "Hypertension history": "hypertension",
        "Stroke": "stroke",
        "Transient Ischemic Attacks History": "tia",
        "Thromboembolism history": "thromboembolism",
        "Vascular disease history": "vascular_disease",
        "Diabetes history": "diabetes",
    },
    "mean-arterial-pressure": _BP,
    "bmi": {"weight": "weight_kg", "height": "height_cm"},
    "calcium-correction": {"Calcium": "calcium_mg_dl", "Albumin": "albumin_g_dl"},
    "mdrd-gfr": {**_AGE, **_SEX, "creatinine": "creatinine_mg_dl", "Race": "black"},
    "ideal-body-weight": {**_SEX, "height": "height_cm"},
    "qtc-bazett": _QT,
    "qtc-fridericia": _QT,
    "qtc-framingham": _QT,
    "qtc-hodges": _QT,
    "qtc-rautaharju": _QT,
    "fib-4": {
        **_AGE,
        "Aspartate aminotransferase": "ast_u_l",
        "Alanine aminotransferase": "alt_u_l",
        "Platelet count": "platelets_10e9_l",
    },
    "centor-mcisaac": {
        **_AGE,
        "Temperature": "temperature_c",
        "Cough Absent": "cough_absent",
        "Tender/swollen anterior cervical lymph nodes": "tender_anterior_nodes",
        "Exudate or swelling on tonsils": "tonsillar_exudate",
    },
    "glasgow-coma-score": {
        "Best eye response": "eye",
        "Best verbal response": "verbal",
        "Best motor response": "motor",
    },
    "maintenance-fluids": {"weight": "weight_kg"},
    "meld-na": {
        "creatinine": "creatinine_mg_dl",
        "Bilirubin": "bilirubin_mg_dl",
        "international normalized ratio": "inr",
        "Sodium": "sodium",
        "Dialysis at least twice in the past week": "dialysis_twice",
        "Continuous veno-venous hemodialysis for ≥24 hours in the past week": "cvvhd",
    },
    "has-bled": {
        **_AGE,
        "Hypertension history": "hypertension",
        "Renal disease criteria for the HAS-BLED rule": "renal_disease",
        "Liver disease criteria for the HAS-BLED rule": "liver_disease",
        "Stroke": "stroke",
        "Prior major bleeding or predisposition to bleeding": "prior_bleeding",
        "Labile international normalized ratio": "labile_inr",
        "Medication usage predisposing to bleeding": "bleeding_medication",
        "Number of Alcoholic Drinks Per Week": "alcohol_drinks_per_week",
    },
    "sodium-correction-hyperglycemia": {"Sodium": "sodium", "Glucose": "glucose_mg_dl"},
    "serum-osmolality": {"Sodium": "sodium", "Blood Urea Nitrogen (BUN)": "bun_mg_dl", "Glucose": "glucose_mg_dl"},
    "homa-ir": {"Insulin": "insulin_uiu_ml", "Glucose": "glucose_mg_dl"},
    "free-water-deficit": {**_AGE, **_SEX, "weight": "weight_kg", "Sodium": "sodium"},
    "anion-gap": _GAP,
    "delta-gap": _GAP,
    "delta-ratio": _GAP,
    "albumin-corrected-anion-gap": _GAP_ALB,
    "albumin-corrected-delta-gap": _GAP_ALB,
    "albumin-corrected-delta-ratio": _GAP_ALB,
    "fena": {
        "Sodium": "sodium",
        "creatinine": "creatinine_mg_dl",
        "Urine sodium": "urine_sodium",
        "Urine creatinine": "urine_creatinine_mg_dl",
    },
    "ldl-calculated": {
        "Total cholesterol": "total_cholesterol_mg_dl",
        "high-density lipoprotein cholesterol": "hdl_mg_dl",
        "Triglycerides": "triglycerides_mg_dl",
    },
    "curb-65": {
        **_AGE,
        **_BP,
        "Blood Urea Nitrogen (BUN)": "bun_mg_dl",
        "respiratory rate": "respiratory_rate",
        "Confusion": "confusion",
    },
    "body-surface-area": {"weight": "weight_kg", "height": "height_cm"},
    "target-weight": {"Body Mass Index (BMI)": "target_bmi", "height": "height_cm"},
    "adjusted-body-weight": {**_SEX, "weight": "weight_kg", "height": "height_cm"},
}

_CONCENTRATION = {"mmol/l": None, "meq/l": None}
_CREATININE = {"mg/dl": None, "µmol/l": units.creatinine_umol_l_to_mg_dl, "umol/l": units.creatinine_umol_l_to_mg_dl}
_CHOLESTEROL = {"mg/dl": None, "mmol/l": units.cholesterol_mmol_l_to_mg_dl}
_ENZYME = {"u/l": None, "iu/l": None}
_NONE: dict[str, Callable[..., float] | None] = {"": None}

# Fact kind -> accepted units (lower case) -> conversion into the canonical unit (None: as is).
_BASE_UNIT_TABLE: dict[str, dict[str, Callable[..., float] | None]] = {
    "age": {"years": None, "months": units.months_to_years},
    "weight": {"kg": None, "lbs": units.lb_to_kg, "lb": units.lb_to_kg, "g": units.g_to_kg},
    "height": {"cm": None, "m": units.m_to_cm, "in": units.in_to_cm},
    "target_bmi": {"kg/m^2": None, "kg/m²": None},
    "creatinine": _CREATININE,
    "urine_creatinine": _CREATININE,
    "bun": {"mg/dl": None, "mmol/l": units.bun_mmol_l_to_mg_dl},
    "glucose": {"mg/dl": None, "mmol/l": units.glucose_mmol_l_to_mg_dl},
    "sodium": {**_CONCENTRATION, "mg/dl": units.sodium_mg_dl_to_mmol_l},
    "chloride": _CONCENTRATION,
    "bicarbonate": _CONCENTRATION,
    "urine_sodium": _CONCENTRATION,
    "albumin": {"g/dl": None, "g/l": units.albumin_g_l_to_g_dl, "mg/dl": units.albumin_mg_dl_to_g_dl},
    "calcium": {"mg/dl": None, "mmol/l": units.calcium_mmol_l_to_mg_dl},
    "bilirubin": {"mg/dl": None, "µmol/l": units.bilirubin_umol_l_to_mg_dl, "umol/l": units.bilirubin_umol_l_to_mg_dl},
    "platelets": {"µl": units.platelets_per_ul_to_10e9_l, "l": units.platelets_per_l_to_10e9_l},
    "ast": _ENZYME,
    "alt": _ENZYME,
    "total_cholesterol": _CHOLESTEROL,
    "hdl": _CHOLESTEROL,
    "triglycerides": {"mg/dl": None, "mmol/l": units.triglycerides_mmol_l_to_mg_dl},
    "insulin": {"µiu/ml": None, "pmol/l": units.insulin_pmol_l_to_uiu_ml},
    "temperature": {
        "degrees celsius": None,
        "degrees celsisus": None,  # sic
        "°c": None,
        "degrees fahrenheit": units.fahrenheit_to_celsius,
        "degrees fahreinheit": units.fahrenheit_to_celsius,  # sic
        "°f": units.fahrenheit_to_celsius,
    },
    "qt": {"msec": None, "ms": None},
    "heart_rate": {"beats per minute": None, "bpm": None},  # "bpm": an official SIRS row
    "respiratory_rate": {"breaths per minute": None},
    "systolic": {"mm hg": None, "mmhg": None},
    "diastolic": {"mm hg": None, "mmhg": None},
    "inr": _NONE,
    "alcohol": _NONE,
}

# With every calculator family's entity names, units and options (families.py).
ENTITY_MAP: dict[str, dict[str, str]] = merged(_BASE_ENTITY_MAP, "ENTITY_MAP")
UNIT_TABLE: dict[str, dict[str, Callable[..., float] | None]] = merged(_BASE_UNIT_TABLE, "UNIT_TABLE")
CHOICE_KINDS: frozenset[str] = frozenset(merged(facts.CHOICES, "CHOICES"))


def parse_entities(text: str) -> dict[str, Any]:
    """The "Relevant Entities" field: a Python literal, read with ``ast.literal_eval`` (never eval)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError) as error:
        raise EntityError(f"Relevant Entities is not a Python literal: {error}") from None
    if not isinstance(value, dict):
        raise EntityError("Relevant Entities is not a dict")
    return value


# Date spellings a date kind may accept (its unit table's keys), with their (month, day, year) groups.
_DATE_SPELLINGS: dict[str, tuple[re.Pattern[str], tuple[int, int, int]]] = {
    "mm/dd/yyyy": (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII), (0, 1, 2)),
    "yyyy-mm-dd": (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII), (1, 2, 0)),
}
_MAX_DATE_CHARS = 32
_DOSE_SUFFIXES = (" Dose", " Dose Per Day")


def _is_date_kind(kind: str) -> bool:
    return "mm/dd/yyyy" in UNIT_TABLE.get(kind, {})


def _date_given(param: str, name: str, raw: Any, table: dict[str, Callable[..., Any] | None]) -> Given:
    """A date entity: the string as written, its spelling as the unit, and the conversion into
    MM/DD/YYYY; a spelling the kind does not list or an impossible date is an ``EntityError``."""
    if not isinstance(raw, str):
        raise EntityError(f"{name!r}: expected a date string, got {type(raw).__name__}")
    text = raw.strip()
    if len(text) <= _MAX_DATE_CHARS:
        for spelling, (regex, order) in _DATE_SPELLINGS.items():
            match = regex.fullmatch(text)
            if match is None:
                continue
            month, day, year = (int(match.group(i + 1)) for i in order)
            try:
                datetime.date(year, month, day)
            except ValueError as error:
                raise EntityError(f"{name!r}: {text!r} is not a calendar date ({error})") from None
            if spelling not in table:
                raise EntityError(f"{name!r}: unsupported date spelling {spelling!r}")
            return Given(param, text, spelling.upper(), table[spelling])
    raise EntityError(f"{name!r}: {text[:_MAX_DATE_CHARS]!r} is not a date (MM/DD/YYYY or YYYY-MM-DD)")


def _is_drug_entry(raw: Any) -> bool:
    """``[name, amount, unit]``: a drug name, a number and a unit."""
    return (
        isinstance(raw, (list, tuple))
        and len(raw) == 3
        and isinstance(raw[0], str)
        and isinstance(raw[1], (int, float))
        and not isinstance(raw[1], bool)
        and isinstance(raw[2], str)
    )


def expand_drug_entries(entities: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Each drug entry whose "<key> dose" the calculator maps, as two entities (name, dose)."""
    out: dict[str, Any] = {}
    for name, raw in entities.items():
        dose_name = f"{name} dose"
        if _is_drug_entry(raw) and dose_name in mapping:
            if dose_name in entities:
                raise EntityError(f"{name!r}: a drug entry and a separate {dose_name!r} entity")
            out[name] = raw[0]
            out[dose_name] = [raw[1], raw[2]]
        else:
            out[name] = raw
    return out


def _number(value: Any, name: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EntityError(f"{name!r}: expected a number, got {value!r}")
    return value


def to_given(spec: CalculatorSpec, param: str, name: str, raw: Any) -> Given:
    """One official entity as a ``Given`` for ``param`` of ``spec``'s calculator."""
    kind = spec.params[param]
    if kind == "sex":
        if raw not in ("Male", "Female"):
            raise EntityError(f"{name!r}: unknown sex {raw!r}")
        return Given(param, raw == "Male")
    if kind == "black":
        return Given(param, isinstance(raw, str) and raw.strip().lower() in ("black", "african american"))
    if kind in CHOICE_KINDS:  # an option label, checked by the calculator
        return Given(param, str(raw).strip())
    if _is_date_kind(kind):
        return _date_given(param, name, raw, UNIT_TABLE[kind])
    if kind in UNIT_TABLE:
        if isinstance(raw, (list, tuple)):
            if len(raw) < 2:
                raise EntityError(f"{name!r}: expected [value, unit], got {raw!r}")
            value, unit = _number(raw[0], name), str(raw[1])
        else:
            value, unit = _number(raw, name), ""
        table = UNIT_TABLE[kind]
        key = unit.strip().lower()
        if key not in table:
            raise EntityError(f"{name!r}: unsupported unit {unit!r} for {kind}")
        return Given(param, value, unit, table[key])
    # findings: booleans
    if not isinstance(raw, bool):
        raise EntityError(f"{name!r}: expected true/false, got {raw!r}")
    return Given(param, raw)


def givens_from_entities(spec: CalculatorSpec, entities: dict[str, Any]) -> tuple[list[Given], list[str]]:
    """The calculator's givens from a row's entities, and the entity names it did not use.

    An argument fed by no entity takes the calculator's default (absent finding); a required
    argument with no entity raises ``EntityError``.
    """
    mapping = ENTITY_MAP[spec.name]
    reads_doses = any(isinstance(key, str) and key.endswith(" Dose") for key in mapping)
    givens: dict[str, Given] = {}
    unused = []
    for name, raw in expand_drug_entries(entities, mapping).items():
        param = mapping.get(name)
        if param is None:
            if reads_doses and isinstance(name, str) and name.endswith(_DOSE_SUFFIXES):
                raise EntityError(f"{name[:80]!r}: a drug {spec.name} has no conversion factor for")
            unused.append(name)
            continue
        if param in givens:  # two official names for one argument: "yes" wins
            if isinstance(raw, bool) and raw and givens[param].value is False:
                givens[param] = to_given(spec, param, name, raw)
            continue
        givens[param] = to_given(spec, param, name, raw)
    signature = inspect.signature(spec.function)
    ordered = []
    for param, parameter in signature.parameters.items():
        if param in givens:
            ordered.append(givens[param])
        elif parameter.default is inspect.Parameter.empty:
            raise EntityError(f"missing required input {param!r} for {spec.name}")
    return ordered, unused
