"""Clinical calculators as plain, self-contained pure functions.

Each function takes already-normalised parameters (floats in the canonical unit named in its
signature docs, bools, strings) and returns the unrounded value (numbers) or the integer score.
The functions use nothing but ``math`` so that their source can be embedded verbatim
(``inspect.getsource``) into the self-contained reference solutions: the code that computes a
target and the code an oracle runs are one and the same.

Written from the published formulas cited in each docstring; where MedCalc-Bench fixes a
convention (a weight rule, a normal albumin of 4 g/dL, an ideal sodium of 140 mEq/L, absent
findings counting as absent), the docstring says so.
"""

from __future__ import annotations

import math

# --------------------------------------------------------------------------- body size


def body_mass_index(weight_kg: float, height_cm: float) -> float:
    """Body mass index in kg/m².

    BMI = weight (kg) / height (m)² (Quetelet; Keys et al. 1972).
    """
    height_m = height_cm / 100.0
    return weight_kg / (height_m * height_m)


def ideal_body_weight(height_cm: float, male: bool) -> float:
    """Ideal body weight in kg by the Devine formula (Devine 1974).

    IBW = 50 kg (men) or 45.5 kg (women) + 2.3 kg x (height in inches - 60).
    """
    height_in = height_cm / 2.54
    base = 50.0 if male else 45.5
    return base + 2.3 * (height_in - 60.0)


def adjusted_body_weight(weight_kg: float, height_cm: float, male: bool) -> float:
    """Adjusted body weight in kg: ABW = IBW + 0.4 x (actual weight - IBW).

    IBW by Devine (1974); the 0.4 correction factor follows Bauer, Applied Clinical
    Pharmacokinetics (and MedCalc-Bench).
    """
    height_in = height_cm / 2.54
    ibw = (50.0 if male else 45.5) + 2.3 * (height_in - 60.0)
    return ibw + 0.4 * (weight_kg - ibw)


def body_surface_area(weight_kg: float, height_cm: float) -> float:
    """Body surface area in m² by Mosteller (1987): BSA = sqrt(height cm x weight kg / 3600)."""
    return math.sqrt(weight_kg * height_cm / 3600.0)


def target_weight(target_bmi: float, height_cm: float) -> float:
    """Target weight in kg for a target BMI: weight = BMI x height (m)² (inverse of Quetelet)."""
    height_m = height_cm / 100.0
    return target_bmi * height_m * height_m


def maintenance_fluids(weight_kg: float) -> float:
    """Hourly maintenance fluid in mL/hr by the Holliday-Segar 4-2-1 rule (Holliday & Segar 1957).

    4 mL/kg/hr for the first 10 kg, 2 mL/kg/hr for the next 10 kg, 1 mL/kg/hr above 20 kg.
    """
    if weight_kg < 10:
        return 4.0 * weight_kg
    if weight_kg <= 20:
        return 40.0 + 2.0 * (weight_kg - 10.0)
    return 60.0 + (weight_kg - 20.0)


# --------------------------------------------------------------------------- kidney


def creatinine_clearance(
    age: float, male: bool, weight_kg: float, height_cm: float, creatinine_mg_dl: float
) -> float:
    """Creatinine clearance in mL/min by Cockcroft & Gault (1976).

    CrCl = (140 - age) x weight x (0.85 if female) / (72 x serum creatinine mg/dL).
    Weight rule of MedCalc-Bench (stated in its question): BMI < 18.5 -> actual weight;
    18.5 <= BMI <= 24.9 -> min(ideal body weight (Devine), actual weight); otherwise the
    adjusted body weight IBW + 0.4 x (actual - IBW).
    """
    height_m = height_cm / 100.0
    bmi = weight_kg / (height_m * height_m)
    ibw = (50.0 if male else 45.5) + 2.3 * (height_cm / 2.54 - 60.0)
    if bmi < 18.5:
        weight = weight_kg
    elif bmi <= 24.9:
        weight = min(ibw, weight_kg)
    else:
        weight = ibw + 0.4 * (weight_kg - ibw)
    sex_factor = 1.0 if male else 0.85
    return (140.0 - age) * weight * sex_factor / (72.0 * creatinine_mg_dl)


def ckd_epi_2021(age: float, male: bool, creatinine_mg_dl: float) -> float:
    """eGFR in mL/min/1.73 m² by the race-free 2021 CKD-EPI creatinine equation (Inker et al. 2021).

    eGFR = 142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age x 1.012 (if female),
    k = 0.7 (female) or 0.9 (male), a = -0.241 (female) or -0.302 (male).
    """
    kappa = 0.9 if male else 0.7
    alpha = -0.302 if male else -0.241
    ratio = creatinine_mg_dl / kappa
    egfr = 142.0 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age
    return egfr * (1.0 if male else 1.012)


def mdrd_gfr(age: float, male: bool, creatinine_mg_dl: float, black: bool = False) -> float:
    """eGFR in mL/min/1.73 m² by the IDMS-traceable 4-variable MDRD equation (Levey et al. 2006).

    GFR = 175 x Scr^-1.154 x age^-0.203 x 0.742 (if female) x 1.212 (if Black).
    """
    gfr = 175.0 * creatinine_mg_dl**-1.154 * age**-0.203
    if not male:
        gfr *= 0.742
    if black:
        gfr *= 1.212
    return gfr


def fractional_excretion_sodium(
    sodium: float, creatinine_mg_dl: float, urine_sodium: float, urine_creatinine_mg_dl: float
) -> float:
    """Fractional excretion of sodium in percent (Espinel 1976).

    FENa = (urine Na x serum Cr) / (serum Na x urine Cr) x 100.
    """
    return urine_sodium * creatinine_mg_dl / (sodium * urine_creatinine_mg_dl) * 100.0


def free_water_deficit(age: float, male: bool, weight_kg: float, sodium: float) -> float:
    """Free water deficit in litres: TBW x weight x (Na / 140 - 1) (Adrogue & Madias 2000).

    Total-body-water fraction: 0.6 for children (< 18 years) and adult men (18-64), 0.5 for adult
    women and men >= 65, 0.45 for women >= 65. Ideal sodium 140 mEq/L.
    """
    if age < 18:
        fraction = 0.6
    elif age < 65:
        fraction = 0.6 if male else 0.5
    else:
        fraction = 0.5 if male else 0.45
    return fraction * weight_kg * (sodium / 140.0 - 1.0)


# --------------------------------------------------------------------------- electrolytes


def anion_gap(sodium: float, chloride: float, bicarbonate: float) -> float:
    """Anion gap in mEq/L: Na - (Cl + HCO3) (Emmett & Narins 1977)."""
    return sodium - (chloride + bicarbonate)


def delta_gap(sodium: float, chloride: float, bicarbonate: float) -> float:
    """Delta gap in mEq/L: anion gap - 12 (normal anion gap 12; Wrenn 1990)."""
    return sodium - (chloride + bicarbonate) - 12.0


def delta_ratio(sodium: float, chloride: float, bicarbonate: float) -> float:
    """Delta ratio: (anion gap - 12) / (24 - HCO3) (Wrenn 1990; normal HCO3 24 mEq/L)."""
    gap = sodium - (chloride + bicarbonate)
    return (gap - 12.0) / (24.0 - bicarbonate)


def albumin_corrected_anion_gap(
    sodium: float, chloride: float, bicarbonate: float, albumin_g_dl: float
) -> float:
    """Albumin-corrected anion gap in mEq/L: AG + 2.5 x (4 - albumin g/dL) (Figge et al. 1998)."""
    gap = sodium - (chloride + bicarbonate)
    return gap + 2.5 * (4.0 - albumin_g_dl)


def albumin_corrected_delta_gap(
    sodium: float, chloride: float, bicarbonate: float, albumin_g_dl: float
) -> float:
    """Albumin-corrected delta gap in mEq/L: (AG + 2.5 x (4 - albumin)) - 12 (Figge 1998)."""
    gap = sodium - (chloride + bicarbonate)
    return gap + 2.5 * (4.0 - albumin_g_dl) - 12.0


def albumin_corrected_delta_ratio(
    sodium: float, chloride: float, bicarbonate: float, albumin_g_dl: float
) -> float:
    """Albumin-corrected delta ratio: albumin-corrected delta gap / (24 - HCO3) (Figge; Wrenn)."""
    gap = sodium - (chloride + bicarbonate)
    corrected_delta_gap = gap + 2.5 * (4.0 - albumin_g_dl) - 12.0
    return corrected_delta_gap / (24.0 - bicarbonate)


def calcium_correction(calcium_mg_dl: float, albumin_g_dl: float) -> float:
    """Corrected calcium in mg/dL: Ca + 0.8 x (4 - albumin g/dL) (Payne et al. 1973)."""
    return calcium_mg_dl + 0.8 * (4.0 - albumin_g_dl)


def sodium_correction_hyperglycemia(sodium: float, glucose_mg_dl: float) -> float:
    """Sodium corrected for hyperglycaemia in mEq/L: Na + 0.024 x (glucose - 100) (Hillier 1999)."""
    return sodium + 0.024 * (glucose_mg_dl - 100.0)


def serum_osmolality(sodium: float, bun_mg_dl: float, glucose_mg_dl: float) -> float:
    """Calculated serum osmolality in mOsm/kg: 2 x Na + BUN / 2.8 + glucose / 18 (Dorwart 1975)."""
    return 2.0 * sodium + bun_mg_dl / 2.8 + glucose_mg_dl / 18.0


# --------------------------------------------------------------------------- metabolic, liver


def ldl_friedewald(total_cholesterol_mg_dl: float, hdl_mg_dl: float, triglycerides_mg_dl: float) -> float:
    """LDL cholesterol in mg/dL by Friedewald et al. (1972): TC - HDL - TG / 5."""
    return total_cholesterol_mg_dl - hdl_mg_dl - triglycerides_mg_dl / 5.0


def homa_ir(insulin_uiu_ml: float, glucose_mg_dl: float) -> float:
    """HOMA-IR: fasting insulin (µIU/mL) x fasting glucose (mg/dL) / 405 (Matthews et al. 1985)."""
    return insulin_uiu_ml * glucose_mg_dl / 405.0


def fib4_index(age: float, ast_u_l: float, alt_u_l: float, platelets_10e9_l: float) -> float:
    """FIB-4 index: age x AST / (platelets (10^9/L) x sqrt(ALT)) (Sterling et al. 2006)."""
    return age * ast_u_l / (platelets_10e9_l * math.sqrt(alt_u_l))


def meld_na(
    creatinine_mg_dl: float,
    bilirubin_mg_dl: float,
    inr: float,
    sodium: float,
    dialysis_twice: bool = False,
    cvvhd: bool = False,
) -> int:
    """MELD-Na score, UNOS/OPTN policy of 2016 (Kim et al. 2008; OPTN 2016).

    Bounds: creatinine, bilirubin and INR below 1.0 are set to 1.0; creatinine above 4.0, or
    dialysis twice / CVVHD for >= 24 h in the past week, gives 4.0; sodium is clamped to 125-137.
    MELD(i) = 0.957 ln(Cr) + 0.378 ln(bilirubin) + 1.120 ln(INR) + 0.643, rounded to the tenth and
    multiplied by 10. If MELD(i) > 11: MELD = MELD(i) + 1.32 x (137 - Na) - 0.033 x MELD(i) x
    (137 - Na). Rounded to an integer, capped at 40.
    """
    creatinine = min(max(creatinine_mg_dl, 1.0), 4.0)
    if dialysis_twice or cvvhd:
        creatinine = 4.0
    bilirubin = max(bilirubin_mg_dl, 1.0)
    inr_value = max(inr, 1.0)
    sodium_value = min(max(sodium, 125.0), 137.0)
    meld_i = 0.957 * math.log(creatinine) + 0.378 * math.log(bilirubin) + 1.120 * math.log(inr_value) + 0.643
    meld = round(meld_i, 1) * 10.0
    if meld > 11:
        meld = meld + 1.32 * (137.0 - sodium_value) - 0.033 * meld * (137.0 - sodium_value)
    return min(int(round(meld)), 40)


# --------------------------------------------------------------------------- cardiovascular


def mean_arterial_pressure(systolic: float, diastolic: float) -> float:
    """Mean arterial pressure in mm Hg: (2 x DBP + SBP) / 3 (standard one-third pulse-pressure rule)."""
    return (2.0 * diastolic + systolic) / 3.0


def qtc_bazett(qt_msec: float, heart_rate: float) -> float:
    """QTc in msec by Bazett (1920): QT / sqrt(RR), RR = 60 / heart rate in seconds."""
    rr = 60.0 / heart_rate
    return qt_msec / math.sqrt(rr)


def qtc_fridericia(qt_msec: float, heart_rate: float) -> float:
    """QTc in msec by Fridericia (1920): QT / RR^(1/3), RR = 60 / heart rate in seconds."""
    rr = 60.0 / heart_rate
    return qt_msec / rr ** (1.0 / 3.0)


def qtc_framingham(qt_msec: float, heart_rate: float) -> float:
    """QTc in msec by the Framingham linear formula (Sagie et al. 1992): QT + 154 x (1 - RR)."""
    rr = 60.0 / heart_rate
    return qt_msec + 154.0 * (1.0 - rr)


def qtc_hodges(qt_msec: float, heart_rate: float) -> float:
    """QTc in msec by Hodges et al. (1983): QT + 1.75 x (heart rate - 60)."""
    return qt_msec + 1.75 * (heart_rate - 60.0)


def qtc_rautaharju(qt_msec: float, heart_rate: float) -> float:
    """QTc in msec by Rautaharju et al. (2014, QTcRTH): QT x (120 + heart rate) / 180."""
    return qt_msec * (120.0 + heart_rate) / 180.0


def cha2ds2_vasc(
    age: float,
    male: bool,
    chf: bool = False,
    hypertension: bool = False,
    stroke: bool = False,
    tia: bool = False,
    thromboembolism: bool = False,
    vascular_disease: bool = False,
    diabetes: bool = False,
) -> int:
    """CHA2DS2-VASc stroke-risk score (Lip et al. 2010).

    CHF 1, hypertension 1, age >= 75 2 / 65-74 1, diabetes 1, prior stroke/TIA/thromboembolism 2,
    vascular disease 1, female sex 1. Absent findings score 0.
    """
    score = 0
    if age >= 75:
        score += 2
    elif age >= 65:
        score += 1
    if not male:
        score += 1
    score += int(chf) + int(hypertension) + int(vascular_disease) + int(diabetes)
    if stroke or tia or thromboembolism:
        score += 2
    return score


def has_bled(
    age: float,
    hypertension: bool = False,
    renal_disease: bool = False,
    liver_disease: bool = False,
    stroke: bool = False,
    prior_bleeding: bool = False,
    labile_inr: bool = False,
    bleeding_medication: bool = False,
    alcohol_drinks_per_week: float = 0,
) -> int:
    """HAS-BLED major-bleeding score (Pisters et al. 2010).

    One point each: hypertension, abnormal renal function, abnormal liver function, stroke,
    bleeding history or predisposition, labile INR, elderly (age > 65), drugs predisposing to
    bleeding (antiplatelets, NSAIDs), alcohol use (>= 8 drinks/week).
    """
    score = int(age > 65) + int(alcohol_drinks_per_week >= 8)
    score += int(hypertension) + int(renal_disease) + int(liver_disease) + int(stroke)
    score += int(prior_bleeding) + int(labile_inr) + int(bleeding_medication)
    return score


# --------------------------------------------------------------------------- infection, neuro


def curb_65(
    age: float,
    bun_mg_dl: float,
    respiratory_rate: float,
    systolic: float,
    diastolic: float,
    confusion: bool = False,
) -> int:
    """CURB-65 pneumonia severity score (Lim et al. 2003).

    One point each: confusion, BUN > 19 mg/dL (urea > 7 mmol/L), respiratory rate >= 30/min,
    SBP < 90 or DBP <= 60 mm Hg, age >= 65.
    """
    score = int(confusion) + int(bun_mg_dl > 19) + int(respiratory_rate >= 30)
    score += int(systolic < 90 or diastolic <= 60) + int(age >= 65)
    return score


def centor_mcisaac(
    age: float,
    temperature_c: float,
    cough_absent: bool = False,
    tender_anterior_nodes: bool = False,
    tonsillar_exudate: bool = False,
) -> int:
    """Modified Centor (McIsaac) score for streptococcal pharyngitis (McIsaac et al. 1998).

    Age 3-14 +1, 15-44 0, >= 45 -1; temperature > 38 °C +1; absence of cough +1; tender/swollen
    anterior cervical nodes +1; tonsillar exudate or swelling +1.
    """
    score = 0
    if 3 <= age <= 14:
        score += 1
    elif age >= 45:
        score -= 1
    score += int(temperature_c > 38.0) + int(cough_absent)
    score += int(tender_anterior_nodes) + int(tonsillar_exudate)
    return score


def glasgow_coma_score(eye: str, verbal: str, motor: str) -> int:
    """Glasgow Coma Score, 3-15 (Teasdale & Jennett 1974).

    Eye 1-4, verbal 1-5, motor 1-6. A component recorded as "not testable" is scored as in
    MedCalc-Bench (eye 4, verbal 4), since the published scale leaves it unscored.
    """
    eye_points = {
        "eyes open spontaneously": 4,
        "eye opening to verbal command": 3,
        "eye opening to pain": 2,
        "no eye opening": 1,
        "not testable": 4,
    }
    verbal_points = {
        "oriented": 5,
        "confused": 4,
        "inappropriate words": 3,
        "incomprehensible sounds": 2,
        "no verbal response": 1,
        "not testable": 4,
    }
    motor_points = {
        "obeys commands": 6,
        "localizes pain": 5,
        "withdrawal from pain": 4,
        "flexion to pain": 3,
        "extension to pain": 2,
        "no motor response": 1,
    }
    return eye_points[eye] + verbal_points[verbal] + motor_points[motor]
