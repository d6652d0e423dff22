"""Severity and risk scores of MedCalc-Bench: Child-Pugh, Glasgow-Blatchford, APACHE II, PSI,
SOFA, Framingham hard CHD and SIRS (the module contract is in ``families.py``).

The calculators follow the published scores, not the MedCalc-Bench label code: where the
official labels differ (their code skips lowercase ascites labels, adds the raw GCS to APACHE II,
always counts the SIRS heart-rate point...), the disagreement is a label error documented in the
agreement study, never copied here. Each calculator is self-contained (only ``math``), because its
source is embedded verbatim in reference solutions; thresholds of the published tables are
applied to continuous values as half-open bands (``39 <= t < 41``), the natural reading of the
integer ranges the tables print.

Missing values: APACHE II (Knaus 1985), PSI (Fine 1997) and SOFA score a variable that was not
measured as normal (0 points), so their laboratory and physiological arguments default to
``None``; the official rows rely on that (not every row states every item).

Notes: the generic notes of ``generate.py`` are used, with a thin ``propose``/``render_note`` of
this module (``generator = "severity"`` in the table) that keeps the blood gas physiologically
consistent (PaO2 below the alveolar PO2, the A-a gradient derived from FiO2, PaO2 and a PaCO2,
an oxygen saturation that matches the PaO2), makes most vasoactive infusions absent (not
mentioned, dose 0), keeps CPAP and invasive ventilation exclusive, leaves the SOFA
"hypotension" flag to the official rows (notes state the blood pressure), and redraws a note
whose random filler contradicts a scored item (a smoking sentence where smoking is scored, a
soft abdomen beside ascites).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from medagentgym.datasets.medcalcbench.facts import Choice, Display, Finding, Quantity

if TYPE_CHECKING:  # generate imports this module (through families.py): import it lazily
    import random

    from medagentgym.datasets.medcalcbench.categories import CalculatorSpec
    from medagentgym.datasets.medcalcbench.generate import Draw, Shown


# --------------------------------------------------------------------------- unit conversions
# Self-contained like units.py: their source is embedded in reference solutions.


def fio2_fraction_to_percent(value: float) -> float:
    """FiO2 written as a fraction (0.21-1.0) into percent; a value above 1 is already percent.
    Rounded to 1e-6 so that 0.55 is exactly 55 % (0.55 x 100 is 55.00000000000001 in binary),
    which keeps a PaO2/FiO2 ratio of exactly 300 from scoring as 299.99..."""
    return round(value * 100.0, 6) if value <= 1.0 else value


def kpa_to_mm_hg(value: float) -> float:
    return value * 7.50062


def wbc_per_ul_to_10e9_l(value: float) -> float:
    """Cells per µL (= per mm³) into 10^9/L."""
    return value / 1000.0


def hemoglobin_g_l_to_g_dl(value: float) -> float:
    return value / 10.0


def hemoglobin_mmol_l_to_g_dl(value: float) -> float:
    """Haemoglobin in mmol/L (monomer, 16.11 g/mol x 1000) into g/dL."""
    return value * 1.611


def litres_per_day_to_ml_per_day(value: float) -> float:
    return value * 1000.0


# --------------------------------------------------------------------------- calculators


def child_pugh(
    bilirubin_mg_dl: float,
    albumin_g_dl: float,
    inr: float,
    ascites: str = "absent",
    encephalopathy: str = "No Encephalopathy",
) -> int:
    """Child-Pugh score for cirrhosis, 5-15 (Child & Turcotte 1964; Pugh et al. 1973; INR in
    place of the prothrombin time, as in current use and MDCalc).

    Bilirubin < 2 mg/dL 1, 2-3 mg/dL 2, > 3 mg/dL 3; albumin > 3.5 g/dL 1, 2.8-3.5 g/dL 2,
    < 2.8 g/dL 3; INR < 1.7 1, 1.7-2.3 2, > 2.3 3; ascites absent 1, slight 2, moderate 3;
    hepatic encephalopathy none 1, grade 1-2 2, grade 3-4 3. The middle bands include both
    ends (bilirubin 3.0 scores 2). Option labels are read case-insensitively (the official
    files write "absent"/"slight"); an unstated ascites or encephalopathy counts as absent.
    """
    ascites_points = {"absent": 1, "none": 1, "slight": 2, "mild": 2, "moderate": 3, "severe": 3}
    encephalopathy_points = {"no encephalopathy": 1, "none": 1, "grade 1-2": 2, "grade 3-4": 3}
    if bilirubin_mg_dl < 2.0:
        score = 1
    elif bilirubin_mg_dl <= 3.0:
        score = 2
    else:
        score = 3
    if albumin_g_dl > 3.5:
        score += 1
    elif albumin_g_dl >= 2.8:
        score += 2
    else:
        score += 3
    if inr < 1.7:
        score += 1
    elif inr <= 2.3:
        score += 2
    else:
        score += 3
    score += ascites_points[ascites.strip().lower()]
    score += encephalopathy_points[encephalopathy.strip().lower()]
    return score


def glasgow_blatchford(
    bun_mg_dl: float,
    hemoglobin_g_dl: float,
    systolic: float,
    heart_rate: float,
    male: bool,
    melena: bool = False,
    syncope: bool = False,
    hepatic_disease: bool = False,
    cardiac_failure: bool = False,
) -> int:
    """Glasgow-Blatchford bleeding score, 0-23 (Blatchford et al., Lancet 2000).

    Blood urea 6.5-8 mmol/L 2, 8-10 3, 10-25 4, >= 25 6, written for BUN in mg/dL (x 2.8):
    18.2-22.4 2, 22.4-28 3, 28-70 4, >= 70 6. Haemoglobin, men 12-13 g/dL 1, 10-12 3, < 10 6;
    women 10-12 1, < 10 6. Systolic pressure 100-109 mm Hg 1, 90-99 2, < 90 3. Pulse >= 100 1,
    melena 1, syncope 2, hepatic disease 2, cardiac failure 2. Sex only selects the haemoglobin
    bands (there is no point for sex itself). Bands are half-open: 13.0 g/dL in a man scores 0.
    """
    score = 0
    if bun_mg_dl >= 70.0:
        score += 6
    elif bun_mg_dl >= 28.0:
        score += 4
    elif bun_mg_dl >= 22.4:
        score += 3
    elif bun_mg_dl >= 18.2:
        score += 2
    if hemoglobin_g_dl < 10.0:
        score += 6
    elif male and hemoglobin_g_dl < 12.0:
        score += 3
    elif hemoglobin_g_dl < (13.0 if male else 12.0):
        score += 1
    if systolic < 90.0:
        score += 3
    elif systolic < 100.0:
        score += 2
    elif systolic < 110.0:
        score += 1
    score += int(heart_rate >= 100.0) + int(melena)
    score += 2 * int(syncope) + 2 * int(hepatic_disease) + 2 * int(cardiac_failure)
    return score


def apache_ii(
    age: float,
    temperature_c: float | None = None,
    systolic: float | None = None,
    diastolic: float | None = None,
    heart_rate: float | None = None,
    respiratory_rate: float | None = None,
    fio2: float | None = None,
    pao2: float | None = None,
    a_a_gradient: float | None = None,
    ph: float | None = None,
    sodium: float | None = None,
    potassium: float | None = None,
    creatinine_mg_dl: float | None = None,
    acute_renal_failure: bool = False,
    hematocrit: float | None = None,
    wbc_10e9_l: float | None = None,
    gcs: float | None = None,
    organ_insufficiency: bool = False,
    admission: str = "Nonoperative",
) -> int:
    """APACHE II score, 0-71 (Knaus et al., Crit Care Med 1985).

    Acute physiology (points by distance from normal): temperature (°C) >= 41 4, 39-41 3,
    38.5-39 1, 36-38.5 0, 34-36 1, 32-34 2, 30-32 3, < 30 4; MAP = (SBP + 2 DBP) / 3 (mm Hg)
    >= 160 4, 130-160 3, 110-130 2, 70-110 0, 50-70 2, < 50 4; heart rate >= 180 4, 140-180 3,
    110-140 2, 70-110 0, 55-70 2, 40-55 3, < 40 4; respiratory rate >= 50 4, 35-50 3, 25-35 1,
    12-25 0, 10-12 1, 6-10 2, < 6 4. Oxygenation: FiO2 (%) >= 50 -> A-a gradient (mm Hg)
    >= 500 4, 350-500 3, 200-350 2, < 200 0; FiO2 < 50 (or not stated: room air) -> PaO2 > 70 0,
    60-70 1, 55-60 3, < 55 4. Arterial pH >= 7.7 4, 7.6-7.7 3, 7.5-7.6 1, 7.33-7.5 0,
    7.25-7.33 2, 7.15-7.25 3, < 7.15 4. Sodium (mmol/L) >= 180 4, 160-180 3, 155-160 2,
    150-155 1, 130-150 0, 120-130 2, 111-120 3, < 111 4. Potassium >= 7 4, 6-7 3, 5.5-6 1,
    3.5-5.5 0, 3-3.5 1, 2.5-3 2, < 2.5 4. Creatinine (mg/dL) >= 3.5 4, 2-3.5 3, 1.5-2 2,
    0.6-1.5 0, < 0.6 2, doubled in acute renal failure. Haematocrit (%) >= 60 4, 50-60 2,
    46-50 1, 30-46 0, 20-30 2, < 20 4. WBC (10^9/L) >= 40 4, 20-40 2, 15-20 1, 3-15 0, 1-3 2,
    < 1 4. Neurology: 15 - GCS. Age <= 44 0, 45-54 2, 55-64 3, 65-74 5, >= 75 6. Chronic
    health (history of severe organ insufficiency or immunocompromise): 5 for a nonoperative or
    emergency postoperative admission, 2 for an elective postoperative one.
    A value not measured scores 0 (Knaus 1985); an admission not described as postoperative is
    nonoperative. Chronic renal failure does not double the creatinine points.
    """
    score = 0
    if age >= 75:
        score += 6
    elif age >= 65:
        score += 5
    elif age >= 55:
        score += 3
    elif age >= 45:
        score += 2
    if temperature_c is not None:
        for bound, points in ((41.0, 4), (39.0, 3), (38.5, 1), (36.0, 0), (34.0, 1), (32.0, 2), (30.0, 3)):
            if temperature_c >= bound:
                score += points
                break
        else:
            score += 4
    if systolic is not None and diastolic is not None:
        mean_pressure = (systolic + 2.0 * diastolic) / 3.0
        for bound, points in ((160.0, 4), (130.0, 3), (110.0, 2), (70.0, 0), (50.0, 2)):
            if mean_pressure >= bound:
                score += points
                break
        else:
            score += 4
    if heart_rate is not None:
        for bound, points in ((180.0, 4), (140.0, 3), (110.0, 2), (70.0, 0), (55.0, 2), (40.0, 3)):
            if heart_rate >= bound:
                score += points
                break
        else:
            score += 4
    if respiratory_rate is not None:
        for bound, points in ((50.0, 4), (35.0, 3), (25.0, 1), (12.0, 0), (10.0, 1), (6.0, 2)):
            if respiratory_rate >= bound:
                score += points
                break
        else:
            score += 4
    if fio2 is not None and fio2 >= 50.0:
        if a_a_gradient is not None:
            if a_a_gradient >= 500.0:
                score += 4
            elif a_a_gradient >= 350.0:
                score += 3
            elif a_a_gradient >= 200.0:
                score += 2
    elif pao2 is not None:
        if pao2 > 70.0:
            score += 0
        elif pao2 > 60.0:
            score += 1
        elif pao2 >= 55.0:
            score += 3
        else:
            score += 4
    if ph is not None:
        for bound, points in ((7.7, 4), (7.6, 3), (7.5, 1), (7.33, 0), (7.25, 2), (7.15, 3)):
            if ph >= bound:
                score += points
                break
        else:
            score += 4
    if sodium is not None:
        for bound, points in ((180.0, 4), (160.0, 3), (155.0, 2), (150.0, 1), (130.0, 0), (120.0, 2), (111.0, 3)):
            if sodium >= bound:
                score += points
                break
        else:
            score += 4
    if potassium is not None:
        for bound, points in ((7.0, 4), (6.0, 3), (5.5, 1), (3.5, 0), (3.0, 1), (2.5, 2)):
            if potassium >= bound:
                score += points
                break
        else:
            score += 4
    if creatinine_mg_dl is not None:
        renal_points = 2  # below 0.6 mg/dL
        for bound, points in ((3.5, 4), (2.0, 3), (1.5, 2), (0.6, 0)):
            if creatinine_mg_dl >= bound:
                renal_points = points
                break
        score += renal_points * (2 if acute_renal_failure else 1)
    if hematocrit is not None:
        for bound, points in ((60.0, 4), (50.0, 2), (46.0, 1), (30.0, 0), (20.0, 2)):
            if hematocrit >= bound:
                score += points
                break
        else:
            score += 4
    if wbc_10e9_l is not None:
        for bound, points in ((40.0, 4), (20.0, 2), (15.0, 1), (3.0, 0), (1.0, 2)):
            if wbc_10e9_l >= bound:
                score += points
                break
        else:
            score += 4
    if gcs is not None:
        score += 15 - int(gcs)
    if organ_insufficiency:
        chronic_points = {
            "nonoperative": 5, "nonelective": 5, "emergency": 5, "emergency postoperative": 5,
            "elective": 2, "elective postoperative": 2,
        }
        score += chronic_points[admission.strip().lower()]
    return score


def pneumonia_severity_index(
    age: float,
    male: bool,
    nursing_home: bool = False,
    neoplastic_disease: bool = False,
    liver_disease: bool = False,
    chf: bool = False,
    cerebrovascular_disease: bool = False,
    renal_disease: bool = False,
    altered_mental_status: bool = False,
    respiratory_rate: float | None = None,
    systolic: float | None = None,
    temperature_c: float | None = None,
    heart_rate: float | None = None,
    ph: float | None = None,
    bun_mg_dl: float | None = None,
    sodium: float | None = None,
    glucose_mg_dl: float | None = None,
    hematocrit: float | None = None,
    pao2: float | None = None,
    pleural_effusion: bool = False,
) -> int:
    """Pneumonia Severity Index (PORT score) in points (Fine et al., N Engl J Med 1997).

    The 20 items: age in years (women: age - 10); nursing home resident +10; neoplastic disease
    +30; liver disease +20; congestive heart failure +10; cerebrovascular disease +10; renal
    disease +10; altered mental status +20; respiratory rate >= 30/min +20; systolic pressure
    < 90 mm Hg +20; temperature < 35 °C or >= 40 °C +15; pulse >= 125/min +10; arterial pH
    < 7.35 +30; BUN >= 30 mg/dL +20; sodium < 130 mmol/L +20; glucose >= 250 mg/dL +10;
    haematocrit < 30 % +10; PaO2 < 60 mm Hg +10; pleural effusion +10. Values not measured
    count as normal (Fine 1997). Age counts in whole years.
    """
    score = int(age) - (0 if male else 10)
    score += 10 * int(nursing_home) + 30 * int(neoplastic_disease) + 20 * int(liver_disease)
    score += 10 * int(chf) + 10 * int(cerebrovascular_disease) + 10 * int(renal_disease)
    score += 20 * int(altered_mental_status) + 10 * int(pleural_effusion)
    if respiratory_rate is not None and respiratory_rate >= 30.0:
        score += 20
    if systolic is not None and systolic < 90.0:
        score += 20
    if temperature_c is not None and (temperature_c < 35.0 or temperature_c >= 40.0):
        score += 15
    if heart_rate is not None and heart_rate >= 125.0:
        score += 10
    if ph is not None and ph < 7.35:
        score += 30
    if bun_mg_dl is not None and bun_mg_dl >= 30.0:
        score += 20
    if sodium is not None and sodium < 130.0:
        score += 20
    if glucose_mg_dl is not None and glucose_mg_dl >= 250.0:
        score += 10
    if hematocrit is not None and hematocrit < 30.0:
        score += 10
    if pao2 is not None and pao2 < 60.0:
        score += 10
    return score


def sofa(
    pao2: float | None = None,
    fio2: float | None = None,
    mechanical_ventilation: bool = False,
    cpap: bool = False,
    platelets_10e9_l: float | None = None,
    gcs: float | None = None,
    bilirubin_mg_dl: float | None = None,
    systolic: float | None = None,
    diastolic: float | None = None,
    hypotension: bool = False,
    dopamine: float = 0.0,
    dobutamine: float = 0.0,
    epinephrine: float = 0.0,
    norepinephrine: float = 0.0,
    creatinine_mg_dl: float | None = None,
    urine_output_ml_day: float | None = None,
) -> int:
    """Sequential Organ Failure Assessment score, 0-24 (Vincent et al., Intensive Care Med 1996).

    Respiration, PaO2 (mm Hg) / FiO2 (fraction): >= 400 0, 300-400 1, 200-300 2, 100-200 with
    respiratory support 3, < 100 with support 4; without support (invasive ventilation or CPAP)
    the points stop at 2. Platelets (10^9/L) >= 150 0, 100-150 1, 50-100 2, 20-50 3, < 20 4.
    GCS 15 0, 13-14 1, 10-12 2, 6-9 3, < 6 4. Bilirubin (mg/dL) < 1.2 0, 1.2-2 1, 2-6 2,
    6-12 3, >= 12 4. Cardiovascular (doses in µg/kg/min, the worst applies): MAP < 70 mm Hg
    (MAP = (SBP + 2 DBP) / 3, or hypotension stated) 1; dopamine <= 5 or any dobutamine 2;
    dopamine > 5, epinephrine <= 0.1 or norepinephrine <= 0.1 3; dopamine > 15, epinephrine
    > 0.1 or norepinephrine > 0.1 4. Renal, the worse of creatinine (mg/dL) 1.2-2 1, 2-3.5 2,
    3.5-5 3, >= 5 4 and urine output < 500 mL/day 3, < 200 mL/day 4. An organ system without
    its values scores 0; an infusion not given has dose 0.
    """
    score = 0
    if pao2 is not None and fio2 is not None:
        ratio = 100.0 * pao2 / fio2  # FiO2 in percent; exact for whole-number quotients
        supported = mechanical_ventilation or cpap
        if ratio < 100.0 and supported:
            score += 4
        elif ratio < 200.0 and supported:
            score += 3
        elif ratio < 300.0:
            score += 2
        elif ratio < 400.0:
            score += 1
    if platelets_10e9_l is not None:
        for bound, points in ((20.0, 4), (50.0, 3), (100.0, 2), (150.0, 1)):
            if platelets_10e9_l < bound:
                score += points
                break
    if gcs is not None:
        for bound, points in ((6, 4), (10, 3), (13, 2), (15, 1)):
            if gcs < bound:
                score += points
                break
    if bilirubin_mg_dl is not None:
        for bound, points in ((12.0, 4), (6.0, 3), (2.0, 2), (1.2, 1)):
            if bilirubin_mg_dl >= bound:
                score += points
                break
    low_map = hypotension
    if systolic is not None and diastolic is not None:
        low_map = low_map or (systolic + 2.0 * diastolic) / 3.0 < 70.0
    if dopamine > 15.0 or epinephrine > 0.1 or norepinephrine > 0.1:
        score += 4
    elif dopamine > 5.0 or epinephrine > 0.0 or norepinephrine > 0.0:
        score += 3
    elif dopamine > 0.0 or dobutamine > 0.0:
        score += 2
    elif low_map:
        score += 1
    renal = 0
    if creatinine_mg_dl is not None:
        for bound, points in ((5.0, 4), (3.5, 3), (2.0, 2), (1.2, 1)):
            if creatinine_mg_dl >= bound:
                renal = points
                break
    if urine_output_ml_day is not None:
        if urine_output_ml_day < 200.0:
            renal = max(renal, 4)
        elif urine_output_ml_day < 500.0:
            renal = max(renal, 3)
    return score + renal


def framingham_hard_chd(
    age: float,
    male: bool,
    total_cholesterol_mg_dl: float,
    hdl_mg_dl: float,
    systolic: float,
    smoker: bool = False,
    bp_treated: bool = False,
) -> float:
    """10-year risk (%) of hard coronary heart disease (myocardial infarction or coronary death)
    by the Framingham equations of the NCEP ATP III report (2001), in the form MDCalc uses.

    Men: L = 52.00961 ln(age) + 20.014077 ln(TC) - 0.905964 ln(HDL) + 1.305784 ln(SBP)
    + 0.241549 treated + 12.096316 smoker - 4.605038 ln(age) ln(TC) - 2.84367 ln(age_s) smoker
    - 2.93323 ln(age)^2 - 172.300168, risk = 1 - 0.9402^exp(L), age_s = min(age, 70).
    Women: L = 31.764001 ln(age) + 22.465206 ln(TC) - 1.187731 ln(HDL) + 2.552905 ln(SBP)
    + 0.420251 treated + 13.07543 smoker - 5.060998 ln(age) ln(TC) - 2.996945 ln(age_s) smoker
    - 146.5933061, risk = 1 - 0.98767^exp(L), age_s = min(age, 78).
    Cholesterol in mg/dL, SBP in mm Hg; nothing is rounded before the result (the MedCalc-Bench
    labels instead convert cholesterol to mmol/L and round L and the risk to a tenth).
    """
    ln_age = math.log(age)
    ln_tc = math.log(total_cholesterol_mg_dl)
    ln_hdl = math.log(hdl_mg_dl)
    ln_sbp = math.log(systolic)
    smoke = 1.0 if smoker else 0.0
    treated = 1.0 if bp_treated else 0.0
    if male:
        ln_age_smoke = math.log(min(age, 70.0))
        linear = (
            52.00961 * ln_age + 20.014077 * ln_tc - 0.905964 * ln_hdl + 1.305784 * ln_sbp
            + 0.241549 * treated + 12.096316 * smoke - 4.605038 * ln_age * ln_tc
            - 2.84367 * ln_age_smoke * smoke - 2.93323 * ln_age * ln_age - 172.300168
        )
        risk = 1.0 - 0.9402 ** math.exp(linear)
    else:
        ln_age_smoke = math.log(min(age, 78.0))
        linear = (
            31.764001 * ln_age + 22.465206 * ln_tc - 1.187731 * ln_hdl + 2.552905 * ln_sbp
            + 0.420251 * treated + 13.07543 * smoke - 5.060998 * ln_age * ln_tc
            - 2.996945 * ln_age_smoke * smoke - 146.5933061
        )
        risk = 1.0 - 0.98767 ** math.exp(linear)
    return 100.0 * risk


def sirs_criteria(
    temperature_c: float,
    heart_rate: float,
    wbc_10e9_l: float,
    respiratory_rate: float | None = None,
    paco2: float | None = None,
    bands_percent: float | None = None,
) -> int:
    """Number of SIRS criteria met, 0-4 (Bone et al., ACCP/SCCM consensus, Chest 1992).

    Temperature > 38 °C or < 36 °C; heart rate > 90/min; respiratory rate > 20/min or PaCO2
    < 32 mm Hg; WBC > 12 x 10^9/L or < 4 x 10^9/L or > 10 % immature (band) forms.
    A value not stated does not meet its criterion.
    """
    count = int(temperature_c > 38.0 or temperature_c < 36.0) + int(heart_rate > 90.0)
    breathing = respiratory_rate is not None and respiratory_rate > 20.0
    breathing = breathing or (paco2 is not None and paco2 < 32.0)
    white_cells = wbc_10e9_l > 12.0 or wbc_10e9_l < 4.0
    white_cells = white_cells or (bands_percent is not None and bands_percent > 10.0)
    return count + int(breathing) + int(white_cells)


# --------------------------------------------------------------------------- note vocabulary

_MMHG = Display("mm Hg", 0)
_KPA = Display("kPa", 1, lambda v: v / 7.50062, kpa_to_mm_hg)
_DOSE_UNITS = ("mcg/kg/min", "µg/kg/min")
INFUSIONS = ("dopamine", "dobutamine", "epinephrine", "norepinephrine")


def _infusion(kind: str, typical: tuple[float, float, float], decimals: int) -> Quantity:
    name = kind.capitalize()
    return Quantity(
        kind, "infusions", (kind,), typical, None,
        tuple(Display(unit, decimals) for unit in _DOSE_UNITS),
        (f"{name} is infused at {{text}}.", f"{{He}} is receiving {kind} at {{text}}.", f"A {kind} infusion runs at {{text}}."),
    )


QUANTITIES: dict[str, Quantity] = {
    q.kind: q
    for q in [
        Quantity(
            "fio2", "blood_gas", ("FiO2",), (21, 40, 100), None,
            (Display("%", 0), Display("", 2, lambda v: v / 100.0, fio2_fraction_to_percent)),
            ("The fraction of inspired oxygen (FiO2) is {text}.", "The blood gas was drawn on an FiO2 of {text}.",
             "{He} is breathing an inspired oxygen fraction of {text}."),
        ),
        Quantity(
            "pao2", "blood_gas", ("PaO2",), (48, 78, 150), (38, 60), (_MMHG, _KPA),
            ("Arterial blood gas shows a PaO2 of {text}.", "The arterial oxygen tension (PaO2) is {text}.",
             "PaO2 on the arterial sample is {text}."),
        ),
        Quantity(
            "paco2", "blood_gas", ("PaCO2",), (26, 40, 56), (20, 32), (_MMHG, _KPA),
            ("The arterial PaCO2 is {text}.", "Blood gas PaCO2 measures {text}."),
        ),
        Quantity(
            "a_a_gradient", "blood_gas", ("A-a gradient",), (20, 250, 600), None, (_MMHG,),
            ("The alveolar-arterial oxygen gradient (A-a gradient) is {text}.", "The calculated A-a gradient is {text}."),
        ),
        Quantity(
            "ph", "blood_gas", ("arterial pH",), (7.10, 7.38, 7.62), (7.0, 7.78), (Display("", 2),),
            ("The arterial pH is {text}.", "Blood gas pH is {text}."),
        ),
        Quantity("hematocrit", "labs", ("hematocrit", "Hct"), (24, 39, 52), (15, 65), (Display("%", 0), Display("%", 1))),
        Quantity("bands", "labs", ("band forms", "bands"), (0, 4, 25), None, (Display("%", 0),)),
        Quantity(
            "gcs_total", "exam", ("Glasgow Coma Score",), (2.6, 15.4, 15.4), (14.5, 15.4),
            (Display("", 0), Display("/15", 0)),
            ("{His} Glasgow Coma Score is {text}.", "The Glasgow Coma Scale total is {text}.", "GCS on assessment is {text}."),
        ),
        Quantity(
            "urine_output", "renal", ("urine output",), (150, 1100, 2600), (40, 500),
            (Display("mL/day", 0), Display("L/day", 2, lambda v: v / 1000.0, litres_per_day_to_ml_per_day)),
            ("Urine output over the past 24 hours was {text}.", "{His} urine output is {text}."),
        ),
        _infusion("dopamine", (1.0, 6.0, 20.0), 1),
        _infusion("dobutamine", (2.0, 5.0, 15.0), 1),
        _infusion("epinephrine", (0.01, 0.08, 0.3), 2),
        _infusion("norepinephrine", (0.01, 0.1, 0.5), 2),
    ]
}

FINDINGS: dict[str, Finding] = {
    f.kind: f
    for f in [
        Finding(
            "melena", "symptoms",
            ("{He} reports black, tarry stools since yesterday.", "{He} has passed melena twice today."),
            ("{He} denies black or tarry stools.", "There has been no melena."), 0.5,
        ),
        Finding(
            "syncope", "symptoms",
            ("{He} fainted briefly at home before arrival.", "{He} had a syncopal episode this morning."),
            ("There was no syncope.", "{He} denies any loss of consciousness."), 0.3,
        ),
        Finding(
            "nursing_home", "residence",
            ("{He} lives in a nursing home.", "{He} is a long-term resident of a skilled nursing facility."),
            ("{He} lives at home with family.", "{He} lives independently in {his} own apartment."), 0.25, True,
        ),
        Finding(
            "neoplastic_disease", "history",
            ("metastatic colon cancer on palliative chemotherapy", "non-small-cell lung cancer diagnosed eight months ago",
             "active diffuse large B-cell lymphoma"),
            ("cancer",), 0.2,
        ),
        Finding(
            "cerebrovascular_disease", "history",
            ("a prior ischemic stroke with residual left-sided weakness", "a transient ischemic attack last year"),
            ("stroke or transient ischemic attack",), 0.25,
        ),
        Finding(
            "pleural_effusion", "imaging",
            ("A chest radiograph shows right lower lobe consolidation with a small pleural effusion.",
             "Chest X-ray demonstrates a left basilar infiltrate and a moderate left pleural effusion."),
            ("A chest radiograph shows right lower lobe consolidation without pleural effusion.",
             "Chest X-ray demonstrates a left basilar infiltrate; there is no pleural effusion."), 0.3, True,
        ),
        Finding(
            "organ_insufficiency", "history",
            ("biopsy-proven cirrhosis with portal hypertension", "NYHA class IV heart failure",
             "severe COPD requiring home oxygen", "immunosuppression from chemotherapy for acute leukemia",
             "long-term high-dose corticosteroid therapy"),
            ("severe organ insufficiency or immunocompromise",), 0.35,
        ),
        Finding(
            "acute_renal_failure", "renal",
            ("{He} has acute kidney injury, with creatinine rising from a normal baseline over the past 48 hours.",),
            ("There is no acute kidney injury; renal function is at {his} baseline.",), 0.3,
        ),
        Finding(
            "mechanical_ventilation", "ventilation",
            ("{He} is intubated and mechanically ventilated.", "{He} remains on invasive mechanical ventilation."),
            ("{He} is breathing spontaneously and is not intubated.",), 0.45, True,
        ),
        Finding(
            "cpap", "ventilation",
            ("{He} is receiving continuous positive airway pressure (CPAP) by face mask.",),
            ("{He} is not on CPAP.",), 0.25,
        ),
        # import-only (IMPORT_ONLY): the official SOFA rows' "MAP < 70 mm Hg" flag
        Finding(
            "hypotension", "exam",
            ("{He} is hypotensive, with a mean arterial pressure below 70 mm Hg.",),
            ("{He} is not hypotensive.",), 0.0,
        ),
        Finding(
            "smoker", "smoking",
            ("{He} currently smokes about a pack of cigarettes a day.", "{He} is an active cigarette smoker."),
            ("{He} has never smoked cigarettes.", "{He} quit smoking more than ten years ago.", "{He} does not smoke."),
            0.35, True,
        ),
        Finding(
            "bp_treated", "meds",
            ("{He} takes lisinopril for high blood pressure.", "{His} blood pressure is treated with amlodipine."),
            ("{He} takes no blood pressure medication.",), 0.4, True,
        ),
    ]
}

CHOICES: dict[str, Choice] = {
    "ascites": Choice(
        "ascites",
        {
            "absent": ("There is no ascites on examination or ultrasound.", "The abdomen is soft without shifting dullness; ultrasound shows no ascites."),
            "slight": ("Ultrasound shows a small amount of ascites that is not evident on examination.", "There is slight ascites."),
            "moderate": ("There is moderate ascites with obvious distension and shifting dullness.", "Tense ascites distends the abdomen."),
        },
        section="exam",
    ),
    "encephalopathy": Choice(
        "encephalopathy",
        {
            "No Encephalopathy": ("{He} is alert and fully oriented without asterixis.", "There are no signs of hepatic encephalopathy."),
            "Grade 1-2": (
                "{He} is mildly confused with asterixis, consistent with grade 2 hepatic encephalopathy.",
                "{He} shows a short attention span and subtle personality change (grade 1 hepatic encephalopathy).",
            ),
            "Grade 3-4": (
                "{He} is somnolent and disoriented, rousable only to strong stimuli (grade 3 hepatic encephalopathy).",
                "{He} is comatose from hepatic encephalopathy (grade 4).",
            ),
        },
        section="exam",
    ),
    "apache_admission": Choice(
        "apache_admission",
        {
            "Nonoperative": (
                "{He} was admitted to the intensive care unit for medical management; no operation was performed.",
                "This is a nonoperative (medical) ICU admission.",
            ),
            "Emergency postoperative": (
                "{He} came to the intensive care unit directly after an emergency laparotomy.",
                "The ICU admission followed emergency surgery for a perforated viscus.",
            ),
            "Elective postoperative": (
                "{He} came to the intensive care unit after an elective aortic valve replacement.",
                "The ICU admission followed a scheduled (elective) colectomy.",
            ),
        },
        section="admission",
        weights={"Nonoperative": 2.0},
    ),
}

# --------------------------------------------------------------------------- official entities

_BP = {"Systolic Blood Pressure": "systolic", "Diastolic Blood Pressure": "diastolic"}
_PAO2 = {"Partial pressure of oxygen (PaO₂) for Apache II": "pao2", "Partial pressure of oxygen (PaO₂)": "pao2"}
_FIO2 = {"FiO₂": "fio2", "FiO2": "fio2"}
_GCS = {"Glasgow Coma Score": "gcs"}

ENTITY_MAP: dict[str, dict[str, str]] = {
    "child-pugh": {
        "Bilirubin": "bilirubin_mg_dl",
        "Albumin": "albumin_g_dl",
        "international normalized ratio": "inr",
        "Ascites": "ascites",
        "Encephalopathy": "encephalopathy",
    },
    "glasgow-blatchford": {
        "Blood Urea Nitrogen (BUN)": "bun_mg_dl",
        "Hemoglobin": "hemoglobin_g_dl",
        "Systolic Blood Pressure": "systolic",
        "Heart Rate or Pulse": "heart_rate",
        "sex": "male",
        "Melena present": "melena",
        "Recent syncope": "syncope",
        "Hepatic disease history": "hepatic_disease",
        "Cardiac failure present": "cardiac_failure",
    },
    "apache-ii": {
        "age": "age",
        "Temperature": "temperature_c",
        **_BP,
        "Heart Rate or Pulse": "heart_rate",
        "respiratory rate": "respiratory_rate",
        **_FIO2,
        **_PAO2,
        "A-a gradient": "a_a_gradient",
        "pH": "ph",
        "Sodium": "sodium",
        "Potassium": "potassium",
        "creatinine": "creatinine_mg_dl",
        "Acute renal failure": "acute_renal_failure",
        "Hematocrit": "hematocrit",
        "White blood cell count": "wbc_10e9_l",
        **_GCS,
        "History of severe organ failure or immunocompromise": "organ_insufficiency",
        "Surgery Type": "admission",
    },
    "pneumonia-severity-index": {
        "age": "age",
        "sex": "male",
        "Nursing home resident": "nursing_home",
        "Neoplastic disease": "neoplastic_disease",
        "Liver disease severity": "liver_disease",
        "Congestive Heart Faliure": "chf",  # sic, as spelled in the official files
        "Congestive Heart Failure": "chf",
        "Cerebrovascular disease history": "cerebrovascular_disease",
        "Renal disease": "renal_disease",
        "Altered mental status": "altered_mental_status",
        "respiratory rate": "respiratory_rate",
        "Systolic Blood Pressure": "systolic",
        "Temperature": "temperature_c",
        "Heart Rate or Pulse": "heart_rate",
        "pH": "ph",
        "Blood Urea Nitrogen (BUN)": "bun_mg_dl",
        "Sodium": "sodium",
        "Glucose": "glucose_mg_dl",
        "Hematocrit": "hematocrit",
        **_PAO2,
        "Pleural effusion on x-ray": "pleural_effusion",
    },
    "sofa": {
        **_PAO2,
        **_FIO2,
        "On mechanical ventilation": "mechanical_ventilation",
        "Continous positive airway pressure": "cpap",  # sic
        "Continuous positive airway pressure": "cpap",
        "Platelet count": "platelets_10e9_l",
        **_GCS,
        "Bilirubin": "bilirubin_mg_dl",
        **_BP,
        "Hypotension": "hypotension",
        "DOPamine": "dopamine",
        "DOBUTamine": "dobutamine",
        "EPINEPHrine": "epinephrine",
        "norEPINEPHrine": "norepinephrine",
        "creatinine": "creatinine_mg_dl",
        "Urine Output": "urine_output_ml_day",
    },
    "framingham-hard-chd": {
        "age": "age",
        "sex": "male",
        "Total cholesterol": "total_cholesterol_mg_dl",
        "high-density lipoprotein cholesterol": "hdl_mg_dl",
        "Systolic Blood Pressure": "systolic",
        "Smoker": "smoker",
        "Blood pressure being treated with medicines": "bp_treated",
    },
    "sirs-criteria": {
        "Temperature": "temperature_c",
        "Heart Rate or Pulse": "heart_rate",
        "respiratory rate": "respiratory_rate",
        "PaCO₂": "paco2",
        "White blood cell count": "wbc_10e9_l",
    },
}

_PRESSURE = {"mm hg": None, "mmhg": None, "kpa": kpa_to_mm_hg}
_DOSE = {"mcg/kg/min": None, "µg/kg/min": None, "ug/kg/min": None}
_WBC_COUNT = wbc_per_ul_to_10e9_l

# Fact kind -> accepted official unit (lower case) -> conversion into the canonical unit.
UNIT_TABLE: dict[str, dict[str, Any]] = {
    "fio2": {"%": None, "": fio2_fraction_to_percent},
    "pao2": _PRESSURE,
    "paco2": _PRESSURE,
    "a_a_gradient": {"": None, "mm hg": None, "mmhg": None},
    "ph": {"": None},
    "hematocrit": {"%": None},
    "bands": {"%": None},
    "gcs_total": {"": None},
    "potassium": {"mmol/l": None, "meq/l": None},
    "hemoglobin": {"g/dl": None, "g/l": hemoglobin_g_l_to_g_dl, "mmol/l": hemoglobin_mmol_l_to_g_dl},
    # The official files give the white cell count per mm³ whatever the unit says: "µL", and
    # (sic) "m^3" and "L" for the same counts (a note's "9.44 x 10^9/L" is stored as [9440, "L"]).
    "wbc": {
        "x10^9/l": None, "10^9/l": None, "x10^3/µl": None, "k/µl": None,
        "µl": _WBC_COUNT, "/µl": _WBC_COUNT, "mm^3": _WBC_COUNT, "/mm3": _WBC_COUNT, "m^3": _WBC_COUNT, "l": _WBC_COUNT,
    },
    "urine_output": {"ml/day": None, "ml/24h": None, "ml/24 h": None, "l/day": litres_per_day_to_ml_per_day},
    **{kind: _DOSE for kind in INFUSIONS},
}


# --------------------------------------------------------------------------- note writer hooks

ALVEOLAR_WATER_FACTOR = 760.0 - 47.0  # sea-level barometric minus water vapour pressure, mm Hg
RESPIRATORY_QUOTIENT = 0.8
_SPO2_DISPLAY = Display("%", 0)
_SPO2_ROOM_AIR = Display("% on room air", 0)

# Arguments only the official entities give: generated notes state the blood pressure instead of
# a "hypotension" flag, so the flag is never drawn and keeps its default (the MAP decides).
IMPORT_ONLY: dict[str, tuple[str, ...]] = {"sofa": ("hypotension",)}

# generate.py's random sentences that would contradict a scored item (case-insensitive regexes,
# see generate.NOTE_CONFLICTS): its smoking sentences where smoking is scored, a soft abdomen where
# ascites is scored.
NOTE_CONFLICTS: dict[str, tuple[str, ...]] = {
    "framingham-hard-chd": (r"is a former smoker\.", r"has never smoked\.", r"smokes half a pack a day\."),
    "child-pugh": (r"abdomen was soft",),
}


def _stated(item: Shown) -> float:
    """A shown quantity in its canonical unit, as the note's reader would compute it."""
    convert = item.display.convert
    if convert is None:
        return float(item.value)
    return float(convert(*item.value)) if isinstance(item.value, tuple) else float(convert(item.value))


def severinghaus_spo2(pao2: float) -> float:
    """Oxygen saturation (%) for a PaO2 (mm Hg), Severinghaus (1979)."""
    return 100.0 / (23400.0 / (pao2**3 + 150.0 * pao2) + 1.0)


def propose(spec: CalculatorSpec, rng: random.Random) -> Draw:
    """``generate.propose`` with the physiology of these scores made consistent (module doc)."""
    from medagentgym.datasets.medcalcbench import generate

    note_spec = generate.note_spec(spec)
    kinds = set(note_spec.params.values())
    for _ in range(1000):
        draw = generate.propose(note_spec, rng)
        values, shown = dict(draw.values), dict(draw.shown)
        running = [kind for kind in INFUSIONS if kind in kinds]
        if running:
            none_running = rng.random() < 0.35
            for kind in running:
                if none_running or rng.random() < 0.6:
                    values[kind] = 0.0
                    shown[kind] = generate.show_quantity(kind, 0.0, shown[kind].display)
        if {"mechanical_ventilation", "cpap"} <= kinds and values["mechanical_ventilation"]:
            values["cpap"] = False
        if "pao2" in shown:
            fio2 = _stated(shown["fio2"]) if "fio2" in shown else 21.0
            paco2 = _stated(shown["paco2"]) if "paco2" in shown else rng.uniform(30.0, 48.0)
            alveolar = fio2 / 100.0 * ALVEOLAR_WATER_FACTOR - paco2 / RESPIRATORY_QUOTIENT
            pao2 = _stated(shown["pao2"])
            if pao2 > alveolar - 8.0:
                continue  # more oxygen in the artery than in the alveolus: draw again
            if "a_a_gradient" in shown:
                values["a_a_gradient"] = alveolar - pao2
                shown["a_a_gradient"] = generate.show_quantity("a_a_gradient", alveolar - pao2, shown["a_a_gradient"].display)
            display = _SPO2_DISPLAY if "fio2" in shown else _SPO2_ROOM_AIR
            shown["spo2"] = generate.show_quantity("spo2", severinghaus_spo2(pao2), display)
        consistent = generate.make_draw(note_spec, values, shown)
        if consistent is not None:
            return consistent
    raise RuntimeError(f"could not draw a consistent blood gas for {spec.name}")  # pragma: no cover


def render_note(spec: CalculatorSpec, draw: Draw, rng: random.Random) -> str:
    """``generate.render_note`` without the infusions that are not running (dose 0)."""
    from medagentgym.datasets.medcalcbench import generate

    shown = {kind: item for kind, item in draw.shown.items() if not (kind in INFUSIONS and item.value == 0)}
    return generate.render_note(spec, replace(draw, shown=shown), rng)
