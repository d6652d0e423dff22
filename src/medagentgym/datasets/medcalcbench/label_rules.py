"""How the official MedCalc-Bench labels were made where they depart from the published formulas.

Our calculators follow the published scores and equations. A sixth of the official rows carry
labels that do not: the benchmark's label code had slips (a coefficient for the wrong sex, a unit
read wrongly, option spellings compared case-sensitively, items never read). Each function here
restates one calculator's slips as facts, from a row's "Relevant Entities", and returns the value
that label code produced, so the importer can tell a *known* label slip (the rule reproduces the
label) from a disagreement nobody can explain. None of this decides a target the agent is graded
against by itself: the importer's ``target`` option chooses between the official label and our
published value; these rules only explain the labels.

The rules were established row by row against ``test_tasks_dev_half.jsonl`` and confirmed by
calling the authors' ``medcalc`` package in the tests (never copied from it). Where a rule reads
an input the same way our calculator does, it reuses our entity mapping and calculator and
changes only what the label code did differently, so the slip is the whole difference.

Official rows are third-party input: a rule given entities it cannot use (a missing item, text
where a number belongs, a value that makes the arithmetic fail) yields ``None`` through
:func:`label_value`, never an exception, and never evaluates anything from the row.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medagentgym.catalog.sample import AnswerType
from medagentgym.datasets.medcalcbench.categories import spec_by_name
from medagentgym.datasets.medcalcbench.entities import givens_from_entities
from medagentgym.datasets.medcalcbench.solution import NUMBER_DECIMALS, compute

Entities = dict[str, Any]

# --------------------------------------------------------------------------- helpers


def _v(entities: Entities, name: str, default: Any = None) -> Any:
    """The number of an official ``[value, unit]`` entity, or a bare value as it is."""
    value = entities.get(name, default)
    return value[0] if isinstance(value, list) else value


def _canonical(category: str, entities: Entities) -> dict[str, Any]:
    """The row's inputs read exactly as our importer reads them (canonical units)."""
    givens, _unused = givens_from_entities(spec_by_name(category), entities)
    return {given.param: given.canonical for given in givens}


def _published(category: str, entities: Entities) -> Any:
    """Our published calculator on (possibly edited) entities."""
    spec = spec_by_name(category)
    return compute(spec.function, givens_from_entities(spec, entities)[0], spec.answer_type)


def _label_round(value: float) -> float:
    """The label code rounds every intermediate of a unit conversion: to the thousandth above
    0.001, else to three significant digits."""
    if value > 0.001:
        return round(value, 3)
    if value == 0:
        return 0.0
    return round(value, 2 - math.floor(math.log10(abs(value))))


_MOLAR_PREFIX = {"mmol/l": 1e-3, "µmol/l": 1e-6, "umol/l": 1e-6}


def _label_mg_dl(value: float, unit: str, molar_mass: float) -> float:
    """A molar concentration per litre in mg/dL the way the label code converts it: to moles
    (rounded), to grams with the molar mass (rounded), to milligrams (rounded), then per dL. The
    gram step keeps only thousandths of a gram per litre, i.e. 0.1 mg/dL: creatinine 80.4 µmol/L
    becomes 0.9 mg/dL (published 0.9095), calcium 2.6 mmol/L becomes 12.0 mg/dL (published
    10.42, because 0.0026 mol is first rounded to 0.003 mol)."""
    key = unit.strip().lower()
    if key == "mg/dl":
        return float(value)
    if key not in _MOLAR_PREFIX:
        raise ValueError(f"no label conversion for {unit!r}")
    moles = _label_round(value * _MOLAR_PREFIX[key])
    grams = _label_round(moles * molar_mass)
    return _label_round(_label_round(grams * 1000.0) / 10.0)


def _label_celsius(entities: Entities) -> float:
    """Any temperature unit but exactly "degrees celsius" (even the misspelt "degrees
    celsisus") is read as Fahrenheit."""
    value, unit = entities["Temperature"]
    return value if unit == "degrees celsius" else (value - 32) * 5 / 9


# --------------------------------------------------------------------------- calculators.py


def ckd_epi_2021_label(e: Entities) -> float:
    """Creatinine in µmol/L rounded to 0.1 mg/dL by the converter; a man with creatinine at or
    below 0.9 mg/dL gets kappa 0.7 (published 0.9) with alpha -0.302. Row 23: 80.4 µmol/L ->
    0.9 mg/dL, 142 x (0.9 / 0.7)^-0.302 x 0.9938^74 = 83.07."""
    given = _canonical("ckd-epi-2021", e)
    value, unit = e["creatinine"]
    creatinine = _label_mg_dl(value, unit, 113.12)
    male, age = given["male"], given["age"]
    if male:
        kappa, alpha = (0.7, -0.302) if creatinine <= 0.9 else (0.9, -1.2)
    else:
        kappa, alpha = (0.7, -0.241) if creatinine <= 0.7 else (0.7, -1.2)
    return 142.0 * (creatinine / kappa) ** alpha * 0.9938**age * (1.0 if male else 1.012)


def calcium_correction_label(e: Entities) -> float:
    """Calcium in mmol/L converted through moles rounded to the thousandth (2.6 mmol/L ->
    0.003 mol -> 12.0 mg/dL), then the published Ca + 0.8 x (4 - albumin)."""
    value, unit = e["Calcium"]
    calcium = _label_mg_dl(value, unit, 40.08)
    return calcium + 0.8 * (4.0 - _canonical("calcium-correction", e)["albumin_g_dl"])


# --------------------------------------------------------------------------- criteria.py


def rcri_label(e: Entities) -> Any:
    """Cerebrovascular disease is read from "Cerebrovascular disease history" only; "History of
    cerebrovascular disease" (the name these rows set) is never read."""
    return _published("revised-cardiac-risk-index", {k: v for k, v in e.items() if k != "History of cerebrovascular disease"})


# The three options the label code compares, as the lower-case spellings it expects.
_CCI_SPELLINGS = {
    "Liver disease severity": {"none", "mild", "moderate to severe"},
    "Diabetes mellitus criteria for CCI rule": {"none or diet-controlled", "uncomplicated", "end-organ damage"},
    "Solid tumor": {"none", "localized", "metastatic"},
}


def charlson_label(e: Entities) -> Any:
    """Options compared case-sensitively with lower-case spellings: any other truthy value
    ("None or Diet-controlled", "Metastatic", "Moderate", True) scores one point instead of
    its own (0, 6, 3, ...)."""
    fixed, extra = dict(e), 0
    for name, spellings in _CCI_SPELLINGS.items():
        if name in fixed and fixed[name] not in spellings:
            extra += 1 if fixed[name] else 0
            fixed[name] = "none"
    return _published("charlson-comorbidity-index", fixed) + extra


def caprini_label(e: Entities) -> Any:
    """Only age, type of surgery and mobility are scored; sex, BMI and every yes/no risk factor
    are dropped."""
    return _published("caprini-score", {k: v for k, v in e.items() if k in ("age", "Surgery Type", "Mobility")})


# --------------------------------------------------------------------------- severity.py


def child_pugh_label(e: Entities) -> int:
    """Ascites scores only as capitalised "Absent"/"Slight"/"Moderate" (the rows write
    "absent", "slight": 0 points); bilirubin exactly 2.0 mg/dL scores 0 (bands < 2, 2 < b < 3,
    >= 3); albumin 2.8 scores 3."""
    bilirubin, unit = e["Bilirubin"]
    bilirubin = bilirubin / 17.1 if unit == "µmol/L" else bilirubin
    albumin, inr = _v(e, "Albumin"), _v(e, "international normalized ratio")
    score = 1 if bilirubin < 2 else 2 if 2 < bilirubin < 3 else 3 if bilirubin >= 3 else 0
    score += 1 if albumin > 3.5 else 2 if 2.8 < albumin <= 3.5 else 3
    score += 1 if inr < 1.7 else 2 if inr <= 2.3 else 3
    score += {"Absent": 1, "Slight": 2, "Moderate": 3}.get(e["Ascites"], 0) if "Ascites" in e else 1
    score += {"No Encephalopathy": 1, "Grade 1-2": 2, "Grade 3-4": 3}[e.get("Encephalopathy", "No Encephalopathy")]
    return score


def glasgow_blatchford_label(e: Entities) -> int:
    """The haemoglobin bands include their upper end: a man's 13.0 g/dL and a woman's 12.0 g/dL
    score 1 (published 0)."""
    bun, unit = e["Blood Urea Nitrogen (BUN)"]
    bun = bun * 2.808 if unit == "mmol/L" else bun
    hb, male = _v(e, "Hemoglobin"), e["sex"] == "Male"
    if male:
        score = 1 if 12 < hb <= 13 else 3 if 10 <= hb <= 12 else 6 if hb < 10 else 0
    else:
        score = 1 if 10 < hb <= 12 else 6 if hb < 10 else 0
    score += 2 if 18.2 <= bun < 22.4 else 3 if 22.4 <= bun < 28 else 4 if 28 <= bun < 70 else 6 if bun > 70 else 0
    sbp = _v(e, "Systolic Blood Pressure")
    score += 1 if 100 <= sbp < 110 else 2 if 90 <= sbp < 100 else 3 if sbp < 90 else 0
    score += int(_v(e, "Heart Rate or Pulse") >= 100) + int(bool(e.get("Melena present", False)))
    flags = ("Recent syncope", "Hepatic disease history", "Cardiac failure present")
    return score + 2 * sum(int(bool(e.get(flag, False))) for flag in flags)


def apache_ii_label(e: Entities) -> int:
    """The raw GCS is added (published: 15 - GCS); no points below normal for MAP, heart rate,
    respiratory rate, pH, sodium, potassium, haematocrit or WBC; the WBC per mm³ is compared
    with limits in thousands (always 4 points); "degrees celsisus" is read as °F; "Nonoperative"
    (or no surgery type) gives no chronic-health points; creatinine >= 1.5 scores only with an
    acute or chronic renal failure flag; ages 45 and 75 score 0. Row 868: 10 + 9 + 4 + 3 = 26."""
    organ = e.get("History of severe organ failure or immunocompromise")
    score = {"Elective": 2, "Emergency": 5}.get(e.get("Surgery Type"), 0) if organ else 0
    age = _v(e, "age")
    score += 2 if 45 < age <= 54 else 3 if 55 <= age <= 64 else 5 if 65 <= age <= 74 else 6 if age > 75 else 0
    if _v(e, "FiO₂") >= 50:
        a_a = _v(e, "A-a gradient")
        score += 4 if a_a > 499 else 3 if 350 <= a_a <= 499 else 2 if 200 <= a_a <= 349 else 0
    else:
        pao2 = _v(e, "Partial pressure of oxygen (PaO₂) for Apache II")
        score += 0 if pao2 > 70 else 1 if 61 <= pao2 <= 70 else 3 if 55 <= pao2 <= 60 else 4 if pao2 < 55 else 0
    t = _label_celsius(e)
    score += 4 if t >= 41 else 3 if t >= 39 else 1 if t >= 38.5 else 0 if t >= 36 else 1 if t >= 34 else 2 if t >= 32 else 3 if t >= 30 else 4
    mean_pressure = (_v(e, "Systolic Blood Pressure") + 2 * _v(e, "Diastolic Blood Pressure")) / 3
    score += 4 if mean_pressure > 159 else 3 if mean_pressure > 129 else 2 if mean_pressure > 109 else 0
    hr, rr, ph = _v(e, "Heart Rate or Pulse"), _v(e, "respiratory rate"), _v(e, "pH")
    score += 4 if hr >= 180 else 3 if hr >= 140 else 2 if hr >= 110 else 0
    score += 4 if rr >= 50 else 3 if rr >= 35 else 1 if rr >= 25 else 0
    score += 4 if ph >= 7.7 else 3 if ph >= 7.6 else 1 if ph >= 7.5 else 0
    na, k = _v(e, "Sodium"), _v(e, "Potassium")
    score += 4 if na >= 180 else 3 if na >= 160 else 2 if na >= 155 else 1 if na >= 150 else 0
    score += 4 if k >= 7 else 3 if k >= 6 else 1 if k >= 5.5 else 0
    cr, arf, crf = _v(e, "creatinine"), e.get("Acute renal failure", False), e.get("Chronic Renal Failure", False)
    if cr < 0.6:
        score += 2
    elif cr >= 1.5:
        points = 4 if cr >= 3.5 else 3 if cr >= 2 else 2
        score += 2 * points if arf else points if crf else 0
    hct, wbc_per_mm3 = _v(e, "Hematocrit"), _v(e, "White blood cell count")
    score += 4 if hct >= 60 else 2 if hct >= 50 else 1 if hct >= 46 else 0
    score += 4 if wbc_per_mm3 >= 40 else 2 if wbc_per_mm3 >= 20 else 1 if wbc_per_mm3 >= 15 else 0
    return score + int(_v(e, "Glasgow Coma Score"))


def sofa_label(e: Entities) -> int:
    """PaO2 is divided by the FiO2 in percent (a ratio near 1: 4 points with ventilation, 2
    without support, 0 with CPAP alone); 2 cardiovascular points whenever no dopamine above 5
    runs (even with no infusion), 3 otherwise (never 4), the "Hypotension" flag ignored; no renal
    points when both creatinine and urine output are given. Row 888: 11 + 1 + 1 = 13."""
    ratio = _v(e, "Partial pressure of oxygen (PaO₂) for Apache II") / _v(e, "FiO₂")
    ventilated, cpap = e.get("On mechanical ventilation", False), e.get("Continous positive airway pressure", False)
    score = 2 if ratio <= 199 and not (ventilated or cpap) else 4 if ratio < 100 and ventilated else 0
    dopamine, dobutamine = _v(e, "DOPamine", 0), _v(e, "DOBUTamine", 0)
    epinephrine, norepinephrine = _v(e, "EPINEPHrine", 0), _v(e, "norEPINEPHrine", 0)
    sbp, dbp = _v(e, "Systolic Blood Pressure"), _v(e, "Diastolic Blood Pressure")
    if sbp is not None and dbp is not None and (sbp + 2 * dbp) / 3 < 70 and not (dobutamine or epinephrine or norepinephrine):
        score += 1
    elif dopamine <= 5 or dobutamine:
        score += 2
    else:
        score += 3  # dopamine > 5: the 4-point doses are never reached
    gcs = _v(e, "Glasgow Coma Score", 15)
    score += 4 if gcs < 6 else 3 if gcs <= 9 else 2 if gcs <= 12 else 1 if gcs <= 14 else 0
    bilirubin, unit = e["Bilirubin"]
    bilirubin = bilirubin / 17.1 if unit == "µmol/L" else bilirubin
    score += 4 if bilirubin >= 12 else 3 if bilirubin >= 6 else 2 if bilirubin >= 2 else 1 if bilirubin >= 1.2 else 0
    platelets = _v(e, "Platelet count")
    score += 4 if platelets < 20000 else 3 if platelets < 50000 else 2 if platelets < 100000 else 1 if platelets < 150000 else 0
    if "creatinine" not in e:
        score += 3 if _v(e, "Urine Output") < 500 else 0
    elif "Urine Output" not in e:
        creatinine, unit = e["creatinine"]
        creatinine = creatinine / 88.4 if unit == "µmol/L" else creatinine
        score += 4 if creatinine >= 5 else 3 if creatinine >= 3.5 else 2 if creatinine >= 2 else 1 if creatinine >= 1.2 else 0
    return score


def framingham_label(e: Entities) -> float:
    """Total and HDL cholesterol converted to mmol/L (x 10 / 386.65) and put into the mg/dL
    equation; the linear predictor rounded to 0.1; the risk reported as a fraction rounded to
    0.1 (so almost always 0). Row 552: published 29.0 %, label 0."""
    age, male = _v(e, "age"), e["sex"] == "Male"
    tc = round(_v(e, "Total cholesterol") / 386.65 * 10, 3)
    hdl = round(_v(e, "high-density lipoprotein cholesterol") / 386.65 * 10, 3)
    sbp = _v(e, "Systolic Blood Pressure")
    smoker, treated = int(bool(e.get("Smoker", False))), int(bool(e.get("Blood pressure being treated with medicines", False)))
    ln_age, ln_tc, ln_hdl, ln_sbp = math.log(age), math.log(tc), math.log(hdl), math.log(sbp)
    if male:
        linear = (52.00961 * ln_age + 20.014077 * ln_tc - 0.905964 * ln_hdl + 1.305784 * ln_sbp + 0.241549 * treated
                  + 12.096316 * smoker - 4.605038 * ln_age * ln_tc - 2.84367 * math.log(min(age, 70)) * smoker
                  - 2.93323 * ln_age * ln_age - 172.300168)
        return round(1 - 0.9402 ** math.exp(round(linear, 1)), 1)
    linear = (31.764001 * ln_age + 22.465206 * ln_tc - 1.187731 * ln_hdl + 2.552905 * ln_sbp + 0.420251 * treated
              + 13.07543 * smoker - 5.060998 * ln_age * ln_tc - 2.996945 * math.log(min(age, 78)) * smoker - 146.5933061)
    return round(1 - 0.98767 ** math.exp(round(linear, 1)), 1)


def sirs_label(e: Entities) -> int:
    """The heart-rate criterion always counts (both branches add 1); a WBC given per "µL" or
    "L" is scaled by 10^9 or 10^3 before the 4,000-12,000 limits (so always abnormal), per
    "m^3" used as it is."""
    t = _label_celsius(e)
    count = int(t > 38 or t < 36) + 1
    wbc, unit = e["White blood cell count"]
    wbc = wbc * {"µL": 1e9, "L": 1e3}.get(unit, 1)
    count += int(wbc > 12000 or wbc < 4000)
    count += int(_v(e, "respiratory rate", 0) > 20 or _v(e, "PaCO₂", 99) < 32)
    return count


# --------------------------------------------------------------------------- pregnancy.py


def estimated_due_date_label(e: Entities) -> str:
    """LMP + 280 days + |cycle - 28| days: a cycle shorter than 28 days moves the date later
    instead of earlier. Row 928: 12/11/2013 with a 22-day cycle -> 09/23/2014 (published
    09/11/2014)."""
    given = _canonical("estimated-due-date", e)
    lmp = datetime.datetime.strptime(given["last_menstrual_period"].strip(), "%m/%d/%Y").date()
    cycle = given["cycle_length_days"]
    if isinstance(cycle, bool) or cycle != int(cycle) or cycle <= 0:
        raise ValueError(f"cycle length {cycle!r} is not a whole number of days")
    due = lmp + datetime.timedelta(days=280 + abs(int(cycle) - 28))
    return f"{due.month:02d}/{due.day:02d}/{due.year:04d}"


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class LabelRule:
    """One calculator's label code, restated: its name, the slip in one line, the function."""

    name: str
    category: str
    slip: str
    function: Callable[[Entities], Any]


RULES: dict[str, LabelRule] = {
    rule.category: rule
    for rule in (
        LabelRule("creatinine-rounded-kappa-0.7-for-men", "ckd-epi-2021",
                  "µmol/L creatinine rounded to 0.1 mg/dL; men at or below 0.9 mg/dL get kappa 0.7 instead of 0.9",
                  ckd_epi_2021_label),
        LabelRule("calcium-moles-rounded", "calcium-correction",
                  "mmol/L calcium converted through moles rounded to the thousandth (2.6 mmol/L -> 12.0 mg/dL)",
                  calcium_correction_label),
        LabelRule("rcri-reads-one-cerebrovascular-name", "revised-cardiac-risk-index",
                  'reads "Cerebrovascular disease history" only, never "History of cerebrovascular disease"',
                  rcri_label),
        LabelRule("cci-case-sensitive-options", "charlson-comorbidity-index",
                  "option labels compared case-sensitively; an unmatched truthy option scores 1 point",
                  charlson_label),
        LabelRule("caprini-age-surgery-mobility-only", "caprini-score",
                  "scores age, type of surgery and mobility only; sex, BMI and every yes/no factor dropped",
                  caprini_label),
        LabelRule("child-pugh-capitalised-ascites", "child-pugh",
                  'ascites scored only as capitalised "Absent/Slight/Moderate"; bilirubin exactly 2.0 scores 0',
                  child_pugh_label),
        LabelRule("gbs-hemoglobin-band-tops", "glasgow-blatchford",
                  "haemoglobin band tops counted inside the band (man 13.0, woman 12.0 g/dL -> 1 point)",
                  glasgow_blatchford_label),
        LabelRule("apache-ii-raw-gcs-high-side-only", "apache-ii",
                  'raw GCS added; WBC per mm³ vs limits in thousands; no low-side points; "celsisus" read as °F; '
                  "no nonoperative or flagless creatinine points",
                  apache_ii_label),
        LabelRule("sofa-fio2-in-percent", "sofa",
                  "PaO2 / FiO2 with FiO2 in percent; cardiovascular 2 unless dopamine > 5 (3, never 4); "
                  "no renal points given creatinine and urine output",
                  sofa_label),
        LabelRule("framingham-mmol-in-mg-equation", "framingham-hard-chd",
                  "cholesterol in mmol/L fed to the mg/dL equation; L and risk rounded to 0.1; risk as a fraction",
                  framingham_label),
        LabelRule("sirs-heart-rate-always-counted", "sirs-criteria",
                  'heart-rate criterion always counted; WBC per "µL"/"L" scaled by 1e9/1e3 (always abnormal)',
                  sirs_label),
        LabelRule("due-date-absolute-cycle-offset", "estimated-due-date",
                  "LMP + 280 + |cycle - 28| days: short cycles move the date later instead of earlier",
                  estimated_due_date_label),
    )
}

_US_DATE = re.compile(r"\d{2}/\d{2}/\d{4}", re.ASCII)


def rule_for(category: str) -> LabelRule | None:
    """The label rule of a category, if its labels have a known slip."""
    return RULES.get(category)


def _checked(value: Any, answer_type: AnswerType) -> Any:
    """A rule's result in the answer's type, or None when it is not a usable answer (a complex
    number from a negative base, NaN, infinity, a bool, text where a number belongs)."""
    if answer_type is AnswerType.DATE:
        return value if isinstance(value, str) and _US_DATE.fullmatch(value) else None
    if answer_type is AnswerType.WEEKS_DAYS:
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(type(part) is int for part in value)
        return [value[0], value[1]] if ok else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if answer_type is AnswerType.INTEGER:
        return int(value) if float(value).is_integer() else None
    return round(float(value), NUMBER_DECIMALS)


def label_value(rule: LabelRule, entities: Entities, answer_type: AnswerType) -> Any:
    """What the label code would answer for these entities, or None if the rule cannot be
    applied to them (missing or malformed inputs: official rows are untrusted)."""
    try:
        value = rule.function(dict(entities))
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError):
        return None
    return _checked(value, answer_type)


__all__ = ["RULES", "LabelRule", "label_value", "rule_for"]
