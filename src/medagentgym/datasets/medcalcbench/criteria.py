"""Criteria scores of MedCalc-Bench: points for findings, counted against published cut-offs.

Eight calculators (official IDs 8, 16, 17, 18, 32, 33, 36, 48): Wells' criteria for pulmonary
embolism and for deep vein thrombosis, the Revised Cardiac Risk Index, the HEART score, the
Charlson Comorbidity Index, FeverPAIN, the Caprini score (2005) and the PERC rule. Like
``calculators.py``, each is a pure function using nothing but builtins, since its source is
embedded verbatim in reference solutions; each docstring cites the published score and states
the conventions MedCalc-Bench adds.

**Two forms of one criterion.** The official "Relevant Entities" give a threshold criterion as a
yes/no statement ("Symptom onset <=3 days": True), but a generated note should state the number
behind it (symptoms began 40 hours ago, a highest temperature of 101.3 °F, a calf 3.4 cm larger,
a weight and a height) and leave the threshold to the reader: that is both the harder task and
what makes thousands of distinct notes possible where FeverPAIN's five yes/no items allow only
32. Such a calculator takes both forms, the yes/no flag (fed by the importer) and the
measurement (fed by the notes), and a criterion is met when either says so. ``IMPORT_ONLY``
lists the flags a generated note never states (``generate.py`` leaves them out of its draws and
notes).

**Distractors that would change the answer.** ``generate.py`` adds irrelevant conditions,
medications, vital signs and laboratory values to every note. A few of them are not irrelevant
to a score here ("hyperlipidemia" is a HEART risk factor, "asthma" a Charlson chronic pulmonary
disease, a current temperature among the vital signs would be a second fever reading for
FeverPAIN, "levothyroxine" reads as hormone use for PERC). ``NOTE_CONFLICTS`` lists, per
category, the patterns that must not match its notes; ``generate.render_note`` redraws the note
from the same random stream until none does, so the target stays the only defensible answer.

**Fact kinds.** Kinds that ``facts.py`` or another family already defines are reused, not
redefined: ``age``, ``heart_rate``, ``spo2``, ``creatinine``, ``weight``, ``height``, ``chf``,
``hypertension``, ``diabetes``, ``stroke``, ``tia`` (facts.py) and ``cerebrovascular_disease``,
``smoker`` (severity.py).
"""

from __future__ import annotations

from typing import Any

from medagentgym.datasets.medcalcbench import units
from medagentgym.datasets.medcalcbench.facts import Choice, Display, Finding, Quantity



# --------------------------------------------------------------------------- unit conversions


def hours_to_days(value: float) -> float:
    return value / 24.0


# --------------------------------------------------------------------------- calculators


def wells_pe(
    heart_rate: float,
    clinical_dvt_signs: bool = False,
    pe_most_likely: bool = False,
    immobilized_3_days: bool = False,
    surgery_past_4_weeks: bool = False,
    previous_pe: bool = False,
    previous_dvt: bool = False,
    hemoptysis: bool = False,
    malignancy: bool = False,
) -> float:
    """Wells' criteria for pulmonary embolism, 0-12.5 (Wells et al., Thromb Haemost 2000;83:416).

    Clinical signs and symptoms of DVT +3; PE the most likely diagnosis or equally likely +3;
    heart rate > 100/min +1.5; immobilization >= 3 days or surgery in the previous 4 weeks +1.5
    (one item); previous, objectively diagnosed PE or DVT +1.5 (one item); hemoptysis +1;
    malignancy treated within 6 months or palliative +1. Findings not given are absent.
    """
    score = 0.0
    score += 3.0 if clinical_dvt_signs else 0.0
    score += 3.0 if pe_most_likely else 0.0
    score += 1.5 if heart_rate > 100 else 0.0
    score += 1.5 if (immobilized_3_days or surgery_past_4_weeks) else 0.0
    score += 1.5 if (previous_pe or previous_dvt) else 0.0
    score += 1.0 if hemoptysis else 0.0
    score += 1.0 if malignancy else 0.0
    return score


def wells_dvt(
    active_cancer: bool = False,
    bedridden_3_days: bool = False,
    major_surgery_12_weeks: bool = False,
    calf_swelling: bool = False,
    calf_difference_cm: float | None = None,
    collateral_veins: bool = False,
    entire_leg_swollen: bool = False,
    deep_vein_tenderness: bool = False,
    pitting_edema: bool = False,
    paralysis_or_cast: bool = False,
    previous_dvt: bool = False,
    alternative_diagnosis: bool = False,
) -> int:
    """Wells' criteria for deep vein thrombosis, -2 to 9 (Wells et al., Lancet 1997;350:1795;
    with "previously documented DVT" as in Wells et al., N Engl J Med 2003;349:1227).

    One point each: active cancer (treatment or palliation within 6 months); bedridden recently
    > 3 days or major surgery within 12 weeks (one item); calf swelling > 3 cm compared with the
    other leg; collateral (nonvaricose) superficial veins; entire leg swollen; localized
    tenderness along the deep venous system; pitting edema confined to the symptomatic leg;
    paralysis, paresis or recent plaster immobilization of the leg; previously documented DVT.
    An alternative diagnosis at least as likely as DVT: -2. Calf swelling is met by the flag or
    by a measured circumference difference > 3 cm (the threshold MedCalc-Bench uses).
    """
    swollen_calf = calf_swelling or (calf_difference_cm is not None and calf_difference_cm > 3.0)
    points = [
        active_cancer,
        bedridden_3_days or major_surgery_12_weeks,
        swollen_calf,
        collateral_veins,
        entire_leg_swollen,
        deep_vein_tenderness,
        pitting_edema,
        paralysis_or_cast,
        previous_dvt,
    ]
    score = sum(1 for point in points if point)
    if alternative_diagnosis:
        score -= 2
    return score


def revised_cardiac_risk_index(
    creatinine_mg_dl: float,
    elevated_risk_surgery: bool = False,
    ischemic_heart_disease: bool = False,
    heart_failure: bool = False,
    cerebrovascular_disease: bool = False,
    insulin_treatment: bool = False,
) -> int:
    """Revised Cardiac Risk Index, 0-6 (Lee et al., Circulation 1999;100:1043).

    One point each: elevated-risk surgery (intraperitoneal, intrathoracic or suprainguinal
    vascular); history of ischemic heart disease; history of congestive heart failure; history
    of cerebrovascular disease (stroke or transient ischemic attack); pre-operative insulin
    treatment; pre-operative creatinine > 2 mg/dL.
    """
    points = [
        elevated_risk_surgery,
        ischemic_heart_disease,
        heart_failure,
        cerebrovascular_disease,
        insulin_treatment,
        creatinine_mg_dl > 2.0,
    ]
    return sum(1 for point in points if point)


def heart_score(
    age: float,
    history: str,
    ecg: str,
    troponin: str,
    hypertension: bool = False,
    hypercholesterolemia: bool = False,
    diabetes: bool = False,
    smoking: bool = False,
    family_history: bool = False,
    atherosclerotic_disease: bool = False,
    obesity: bool = False,
    weight_kg: float | None = None,
    height_cm: float | None = None,
) -> int:
    """HEART score for major cardiac events, 0-10 (Six, Backus & Kelder, Neth Heart J
    2008;16:191; risk factors as in Backus et al., Int J Cardiol 2013;168:2153).

    History: slightly 0, moderately 1, highly suspicious 2. ECG: normal 0, non-specific
    repolarization disturbance 1, significant ST deviation 2. Age: < 45 0, 45-64 1, >= 65 2.
    Risk factors (hypertension, hypercholesterolemia, diabetes, obesity = BMI > 30 kg/m²,
    current or recent smoking, a parent or sibling with cardiovascular disease before 65):
    none 0, one or two 1, three or more 2; known atherosclerotic disease (prior myocardial
    infarction, coronary revascularization, stroke or TIA, peripheral arterial disease) scores
    2 on its own. Initial troponin: <= normal limit 0, up to three times 1, > three times 2.
    Obesity is met by the flag or by a BMI > 30 from weight and height. Option labels are the
    official ones, matched without regard to case.
    """
    history_points = {"slightly suspicious": 0, "moderately suspicious": 1, "highly suspicious": 2}
    ecg_points = {"normal": 0, "non-specific repolarization disturbance": 1, "significant st deviation": 2}
    troponin_points = {
        "less than or equal to normal limit": 0,
        "between the normal limit or up to three times the normal limit": 1,
        "greater than three times normal limit": 2,
    }
    score = history_points[history.strip().lower()] + ecg_points[ecg.strip().lower()]
    score += troponin_points[troponin.strip().lower()]
    if age >= 65:
        score += 2
    elif age >= 45:
        score += 1
    obese = obesity
    if weight_kg is not None and height_cm is not None:
        height_m = height_cm / 100.0
        obese = obese or weight_kg / (height_m * height_m) > 30.0
    factors = [hypertension, hypercholesterolemia, diabetes, obese, smoking, family_history]
    count = sum(1 for factor in factors if factor)
    if atherosclerotic_disease or count >= 3:
        score += 2
    elif count >= 1:
        score += 1
    return score


def charlson_comorbidity_index(
    age: float,
    myocardial_infarction: bool = False,
    heart_failure: bool = False,
    peripheral_vascular_disease: bool = False,
    stroke: bool = False,
    tia: bool = False,
    dementia: bool = False,
    copd: bool = False,
    connective_tissue_disease: bool = False,
    peptic_ulcer_disease: bool = False,
    liver_disease: str = "none",
    diabetes: str = "none or diet-controlled",
    hemiplegia: bool = False,
    ckd_moderate_severe: bool = False,
    solid_tumor: str = "none",
    leukemia: bool = False,
    lymphoma: bool = False,
    aids: bool = False,
) -> int:
    """Charlson Comorbidity Index with age points (Charlson et al., J Chronic Dis 1987;40:373;
    age as in Charlson et al., J Clin Epidemiol 1994;47:1245).

    Age < 50 0, 50-59 1, 60-69 2, 70-79 3, >= 80 4. One point each: myocardial infarction,
    congestive heart failure, peripheral vascular disease, cerebrovascular accident or TIA (one
    item), dementia, chronic pulmonary disease, connective tissue disease, peptic ulcer disease.
    Liver disease mild 1, moderate to severe 3; diabetes uncomplicated 1, with end-organ damage
    2 (none or diet-controlled 0); hemiplegia 2; moderate to severe chronic kidney disease 2;
    solid tumor localized 2, metastatic 6; leukemia 2; lymphoma 2; AIDS 6. Option labels are
    matched without regard to case; as in the official entities, "moderate" and "severe" liver
    disease count as moderate to severe, and a solid tumor given only as present (True) as
    localized.
    """
    score = 0
    if age >= 80:
        score += 4
    elif age >= 70:
        score += 3
    elif age >= 60:
        score += 2
    elif age >= 50:
        score += 1
    one_point = [
        myocardial_infarction,
        heart_failure,
        peripheral_vascular_disease,
        stroke or tia,
        dementia,
        copd,
        connective_tissue_disease,
        peptic_ulcer_disease,
    ]
    score += sum(1 for item in one_point if item)
    liver_points = {"none": 0, "false": 0, "mild": 1, "moderate": 3, "severe": 3, "moderate to severe": 3}
    diabetes_points = {"none or diet-controlled": 0, "none": 0, "false": 0, "uncomplicated": 1, "true": 1, "end-organ damage": 2}
    tumor_points = {"none": 0, "false": 0, "localized": 2, "true": 2, "metastatic": 6}
    score += liver_points[str(liver_disease).strip().lower()]
    score += diabetes_points[str(diabetes).strip().lower()]
    score += tumor_points[str(solid_tumor).strip().lower()]
    score += 2 * sum(1 for item in (hemiplegia, ckd_moderate_severe, leukemia, lymphoma) if item)
    if aids:
        score += 6
    return score


def feverpain(
    fever_past_24_hours: bool = False,
    max_temperature_c: float | None = None,
    purulent_tonsils: bool = False,
    onset_within_3_days: bool = False,
    days_since_onset: float | None = None,
    severe_tonsil_inflammation: bool = False,
    no_cough_or_coryza: bool = False,
) -> int:
    """FeverPAIN score for streptococcal pharyngitis, 0-5 (Little et al., BMJ 2013;347:f5806).

    One point each: Fever in the past 24 hours; Purulence (pus on the tonsils); Attend rapidly
    (symptom onset within 3 days); severely Inflamed tonsils; No cough or coryza. Fever is met
    by the flag or by a highest temperature of at least 38.0 °C in the past 24 hours (the usual
    definition of fever; the score itself asks for reported fever); rapid attendance by the flag
    or by a time since onset of at most 3 days.
    """
    fever = fever_past_24_hours or (max_temperature_c is not None and max_temperature_c >= 38.0)
    rapid = onset_within_3_days or (days_since_onset is not None and days_since_onset <= 3.0)
    points = [fever, purulent_tonsils, rapid, severe_tonsil_inflammation, no_cough_or_coryza]
    return sum(1 for point in points if point)


def caprini_score(
    age: float,
    surgery_type: str = "none",
    mobility: str = "normal",
    recent_major_surgery: bool = False,
    recent_heart_failure: bool = False,
    recent_sepsis: bool = False,
    recent_pneumonia: bool = False,
    recent_plaster_cast: bool = False,
    recent_fracture: bool = False,
    recent_stroke: bool = False,
    recent_multiple_trauma: bool = False,
    recent_spinal_cord_injury: bool = False,
    varicose_veins: bool = False,
    swollen_legs: bool = False,
    central_venous_access: bool = False,
    previous_dvt: bool = False,
    previous_pe: bool = False,
    family_history_thrombosis: bool = False,
    factor_v_leiden: bool = False,
    prothrombin_20210a: bool = False,
    elevated_homocysteine: bool = False,
    lupus_anticoagulant: bool = False,
    anticardiolipin_antibody: bool = False,
    heparin_induced_thrombocytopenia: bool = False,
    other_thrombophilia: bool = False,
    inflammatory_bowel_disease: bool = False,
    acute_myocardial_infarction: bool = False,
    copd: bool = False,
    malignancy: bool = False,
    bmi: float | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
) -> int:
    """Caprini risk score for venous thromboembolism, 2005 version (Caprini, Dis Mon
    2005;51:70-78).

    Age <= 40 0, 41-60 1, 61-74 2, >= 75 3. Surgery: none 0, minor 1, major (> 45 min),
    laparoscopic (> 45 min) or arthroscopic 2, elective major lower-extremity arthroplasty 5.
    Within the past month: major surgery, congestive heart failure, sepsis, pneumonia 1 each;
    immobilizing plaster cast 2; hip, pelvis or leg fracture, stroke, multiple trauma, acute
    spinal cord injury with paralysis 5 each. Varicose veins 1, current swollen legs 1, current
    central venous access 2; history of DVT or PE 3 (one item); family history of thrombosis,
    factor V Leiden, prothrombin 20210A, elevated serum homocysteine, lupus anticoagulant,
    anticardiolipin antibody, heparin-induced thrombocytopenia, other congenital or acquired
    thrombophilia 3 each. Mobility: normal 0, medical patient on bed rest 1, confined to bed
    > 72 hours 2. Inflammatory bowel disease 1, acute myocardial infarction 1, COPD 1, present
    or previous malignancy 2, BMI > 25 kg/m² 1 (the BMI as given, or from weight and height).

    MedCalc-Bench's item set has no inputs for the form's female-only items (oral
    contraceptives or hormone replacement, pregnancy or postpartum, unexplained stillbirth or
    recurrent abortion), so they are not scored; sex itself carries no points.
    """
    score = 0
    if age >= 75:
        score += 3
    elif age > 60:
        score += 2
    elif age > 40:
        score += 1
    surgery_points = {
        "none": 0,
        "minor": 1,
        "major": 2,
        "laparoscopic": 2,
        "arthroscopic": 2,
        "elective major lower extremity arthroplasty": 5,
    }
    mobility_points = {"normal": 0, "on bed rest": 1, "confined to bed >72 hours": 2}
    score += surgery_points[surgery_type.strip().lower()] + mobility_points[mobility.strip().lower()]
    weighted = [
        (recent_major_surgery, 1),
        (recent_heart_failure, 1),
        (recent_sepsis, 1),
        (recent_pneumonia, 1),
        (recent_plaster_cast, 2),
        (recent_fracture, 5),
        (recent_stroke, 5),
        (recent_multiple_trauma, 5),
        (recent_spinal_cord_injury, 5),
        (varicose_veins, 1),
        (swollen_legs, 1),
        (central_venous_access, 2),
        (previous_dvt or previous_pe, 3),
        (family_history_thrombosis, 3),
        (factor_v_leiden, 3),
        (prothrombin_20210a, 3),
        (elevated_homocysteine, 3),
        (lupus_anticoagulant, 3),
        (anticardiolipin_antibody, 3),
        (heparin_induced_thrombocytopenia, 3),
        (other_thrombophilia, 3),
        (inflammatory_bowel_disease, 1),
        (acute_myocardial_infarction, 1),
        (copd, 1),
        (malignancy, 2),
    ]
    score += sum(points for present, points in weighted if present)
    body_mass_index = bmi
    if body_mass_index is None and weight_kg is not None and height_cm is not None:
        height_m = height_cm / 100.0
        body_mass_index = weight_kg / (height_m * height_m)
    if body_mass_index is not None and body_mass_index > 25.0:
        score += 1
    return score


def perc_rule(
    age: float,
    heart_rate: float,
    oxygen_saturation: float,
    unilateral_leg_swelling: bool = False,
    hemoptysis: bool = False,
    recent_surgery_or_trauma: bool = False,
    previous_pe: bool = False,
    previous_dvt: bool = False,
    hormone_use: bool = False,
) -> int:
    """Number of PERC rule criteria met, 0-8 (Kline et al., J Thromb Haemost 2004;2:1247).

    Age >= 50; heart rate >= 100/min; oxygen saturation < 95%; unilateral leg swelling;
    hemoptysis; surgery or trauma within 4 weeks (requiring general anesthesia); prior PE or DVT
    (one criterion); hormone use (oral contraceptives, hormone replacement or estrogen).
    """
    criteria = [
        age >= 50,
        heart_rate >= 100,
        oxygen_saturation < 95,
        unilateral_leg_swelling,
        hemoptysis,
        recent_surgery_or_trauma,
        previous_pe or previous_dvt,
        hormone_use,
    ]
    return sum(1 for criterion in criteria if criterion)


# --------------------------------------------------------------------------- vocabulary

QUANTITIES: dict[str, Quantity] = {
    q.kind: q
    for q in [
        Quantity(
            "calf_difference", "exam", ("calf circumference difference",), (0.5, 2.5, 6.0), None,
            (Display("cm", 1),),
            (
                "Measured 10 cm below the tibial tuberosity, the symptomatic calf is {text} larger in circumference than the other.",
                "The circumference of the affected calf exceeds that of the other calf by {text}.",
            ),
        ),
        Quantity(
            "symptom_days", "symptoms", ("time since symptom onset",), (1.5, 1.5, 7.0), None,
            (Display("days", 0), Display("hours", 0, lambda v: v * 24.0, hours_to_days)),
            ("The symptoms started {text} ago.", "{He} has been unwell for {text}."),
        ),
        Quantity(
            "max_temp_24h", "symptoms", ("highest temperature in the past 24 hours",), (36.6, 37.8, 39.8), None,
            (Display("°C", 1), Display("°F", 1, lambda v: v * 9.0 / 5.0 + 32.0, units.fahrenheit_to_celsius)),
            (
                "{His} highest temperature over the past 24 hours was {text}.",
                "At home, {his} temperature peaked at {text} during the last 24 hours.",
            ),
        ),
        # Given as a number by the official Caprini rows; generated notes state weight and height.
        Quantity("bmi", "body", ("body mass index", "BMI"), (18.0, 26.0, 42.0), None, (Display("kg/m²", 1),)),
    ]
}

_DVT_HISTORY = ("a deep vein thrombosis of the left leg three years ago", "a previous deep vein thrombosis confirmed by ultrasound")
_PE_HISTORY = ("a pulmonary embolism two years ago", "a previous pulmonary embolism confirmed by CT angiography")

FINDINGS: dict[str, Finding] = {
    f.kind: f
    for f in [
        # shared by Wells PE / Wells DVT / PERC / Caprini
        Finding("previous_pe", "history", _PE_HISTORY, ("pulmonary embolism",), 0.3),
        Finding("previous_dvt", "history", _DVT_HISTORY, ("deep vein thrombosis",), 0.3),
        Finding(
            "hemoptysis", "symptoms",
            ("{He} has coughed up small amounts of blood.", "{He} reports blood-streaked sputum."),
            ("There is no hemoptysis.", "{He} has not coughed up any blood."), 0.35,
        ),
        Finding(
            "active_cancer", "history",
            (
                "colon cancer treated with chemotherapy within the past six months",
                "metastatic pancreatic cancer under palliative care",
                "small-cell lung cancer currently on treatment",
            ),
            ("active cancer",), 0.35,
        ),
        Finding(
            "bedridden_3_days", "recent",
            ("{He} has been confined to bed for the past five days.", "{He} has been bedridden for a week because of back pain."),
            ("{He} has been walking around normally.",), 0.35,
        ),
        # Wells PE
        Finding(
            "dvt_signs", "exam",
            ("The left calf is swollen and tender along the deep veins.", "The right leg is swollen, with tenderness over the deep veins."),
            ("There is no leg swelling or calf tenderness.",), 0.3,
        ),
        Finding(
            "pe_most_likely", "assessment",
            ("The team considers pulmonary embolism the most likely diagnosis.", "Pulmonary embolism is judged at least as likely as any other diagnosis."),
            ("An alternative diagnosis is considered more likely than pulmonary embolism.",), 0.4, True,
        ),
        Finding(
            "surgery_4_weeks", "recent",
            ("{He} underwent a laparoscopic cholecystectomy two weeks ago.", "{He} had surgery for a hip fracture three weeks ago."),
            ("{He} has had no surgery in the past month.",), 0.3,
        ),
        # Wells DVT
        Finding(
            "major_surgery_12_weeks", "recent",
            ("{He} had a total knee replacement eight weeks ago.", "{He} underwent an open colectomy six weeks ago."),
            ("{He} has had no major surgery in the past three months.",), 0.3,
        ),
        Finding(
            "calf_swelling_3cm", "exam",
            ("The symptomatic calf is swollen by more than 3 cm compared with the other leg.",),
            ("The calf circumferences differ by no more than 3 cm.",), 0.3,
        ),
        Finding(
            "collateral_veins", "exam",
            ("Dilated nonvaricose superficial collateral veins are visible over the affected leg.",),
            ("No collateral superficial veins are seen.",), 0.3,
        ),
        Finding("entire_leg_swollen", "exam", ("The entire leg is swollen from thigh to ankle.",), ("There is no swelling of the entire leg.",), 0.3),
        Finding(
            "deep_vein_tenderness", "exam",
            ("There is localized tenderness along the distribution of the deep veins.",),
            ("There is no tenderness along the deep venous system.",), 0.35,
        ),
        Finding("pitting_edema", "exam", ("Pitting edema is present in the symptomatic leg only.",), ("There is no pitting edema.",), 0.35),
        Finding(
            "paralysis_or_cast", "exam",
            ("{His} left leg has been in a plaster cast since an ankle fracture ten days ago.", "{He} has paresis of the right leg after a spinal cord injury."),
            ("Strength in both legs is normal and neither leg is immobilized.",), 0.25,
        ),
        Finding(
            "alternative_dvt", "assessment",
            ("A ruptured Baker's cyst is considered at least as likely as deep vein thrombosis.", "Cellulitis is considered at least as likely as deep vein thrombosis."),
            ("No alternative diagnosis is considered as likely as deep vein thrombosis.",), 0.45, True,
        ),
        # Revised Cardiac Risk Index
        Finding(
            "elevated_risk_surgery", "surgery",
            (
                "{He} is scheduled for an open right hemicolectomy.",
                "{He} is scheduled for a right upper lobectomy.",
                "{He} is scheduled for an open repair of an abdominal aortic aneurysm.",
            ),
            (
                "{He} is scheduled for a total knee arthroplasty.",
                "{He} is scheduled for a total hip arthroplasty.",
                "{He} is scheduled for a thyroidectomy.",
                "{He} is scheduled for cataract surgery.",
            ),
            0.45, True,
        ),
        Finding(
            "ischemic_heart_disease", "history",
            (
                "a myocardial infarction four years ago",
                "stable angina treated with sublingual nitroglycerin",
                "coronary artery disease with a positive exercise stress test",
            ),
            ("ischemic heart disease",), 0.4,
        ),
        Finding(
            "insulin_treatment", "meds", ("{He} uses insulin glargine every night for diabetes.", "{His} diabetes is treated with insulin."),
            ("{He} does not use insulin.",), 0.3,
        ),
        # HEART
        Finding("hypercholesterolemia", "history", ("hypercholesterolemia", "familial hypercholesterolemia"), ("high cholesterol",), 0.4),
        Finding(
            "family_history_cvd", "family",
            ("{His} father had a myocardial infarction at the age of 58.", "{His} sister underwent coronary bypass surgery at the age of 55."),
            ("There is no family history of premature cardiovascular disease.",), 0.3,
        ),
        Finding(
            "atherosclerotic_disease", "history",
            ("a myocardial infarction treated with a coronary stent", "peripheral arterial disease", "a prior ischemic stroke"),
            ("known atherosclerotic disease",), 0.25,
        ),
        Finding("obesity", "history", ("obesity",), ("obesity",), 0.3),
        # Charlson
        Finding("myocardial_infarction", "history", ("a myocardial infarction", "a prior myocardial infarction"), ("myocardial infarction",), 0.3),
        Finding(
            "peripheral_vascular_disease", "history", ("peripheral arterial disease with intermittent claudication",),
            ("peripheral vascular disease",), 0.3,
        ),
        Finding("dementia", "history", ("Alzheimer dementia", "vascular dementia"), ("dementia",), 0.25),
        Finding("copd", "history", ("chronic obstructive pulmonary disease", "COPD on home inhalers"), ("chronic lung disease",), 0.3),
        Finding(
            "connective_tissue_disease", "history", ("systemic lupus erythematosus", "rheumatoid arthritis"),
            ("connective tissue disease",), 0.25,
        ),
        Finding("peptic_ulcer_disease", "history", ("peptic ulcer disease", "a bleeding duodenal ulcer"), ("peptic ulcer disease",), 0.25),
        Finding(
            "hemiplegia", "history", ("paraplegia after a spinal cord injury", "left-sided hemiplegia from cerebral palsy"),
            ("hemiplegia or paraplegia",), 0.2,
        ),
        Finding(
            "ckd_moderate_severe", "history",
            ("chronic kidney disease on hemodialysis", "a kidney transplant", "end-stage renal disease on peritoneal dialysis"),
            ("kidney disease",), 0.25,
        ),
        Finding("leukemia", "history", ("chronic lymphocytic leukemia", "acute myeloid leukemia in remission"), ("leukemia",), 0.2),
        Finding("lymphoma", "history", ("non-Hodgkin lymphoma", "Hodgkin lymphoma in remission"), ("lymphoma",), 0.2),
        Finding("aids", "history", ("AIDS with a prior opportunistic infection",), ("HIV infection",), 0.15),
        # FeverPAIN
        Finding(
            "fever_24h", "symptoms", ("{He} reports a fever over the past day.", "{He} has had fevers during the last 24 hours."),
            ("{He} has had no fever in the past 24 hours.",), 0.5,
        ),
        Finding(
            "cough_coryza_absent", "symptoms", ("{He} has no cough and no runny nose.",),
            ("{He} also has a cough.", "{He} has a runny nose and a mild cough."), 0.5,
        ),
        Finding(
            "onset_3_days", "symptoms", ("The symptoms began within the past three days.",),
            ("The symptoms began more than three days ago.",), 0.5,
        ),
        Finding(
            "purulent_tonsils", "exam", ("There is pus on both tonsils.", "The tonsils are covered with purulent exudate."),
            ("There is no pus on the tonsils.",), 0.5, True,
        ),
        Finding(
            "severe_tonsil_inflammation", "exam", ("The tonsils are severely inflamed and enlarged.",),
            ("The tonsils are only mildly inflamed.",), 0.5, True,
        ),
        # Caprini
        Finding("recent_major_surgery", "recent", ("{He} had major abdominal surgery three weeks ago.",), ("There has been no major surgery in the past month.",), 0.3),
        Finding("recent_heart_failure", "recent", ("{He} was treated for a congestive heart failure exacerbation two weeks ago.",), ("There has been no heart failure in the past month.",), 0.25),
        Finding("recent_sepsis", "recent", ("{He} was treated for sepsis within the past month.",), ("There has been no sepsis in the past month.",), 0.25),
        Finding("recent_pneumonia", "recent", ("{He} was treated for pneumonia two weeks ago.",), ("There has been no pneumonia in the past month.",), 0.25),
        Finding("recent_plaster_cast", "recent", ("{His} leg was placed in an immobilizing plaster cast three weeks ago.",), ("No plaster cast has been applied in the past month.",), 0.2),
        Finding("recent_fracture", "recent", ("{He} sustained a hip fracture two weeks ago.", "{He} fractured {his} tibia three weeks ago."), ("There has been no hip, pelvis or leg fracture in the past month.",), 0.2),
        Finding("recent_stroke", "recent", ("{He} had a stroke ten days ago.",), ("There has been no stroke in the past month.",), 0.2),
        Finding("recent_multiple_trauma", "recent", ("{He} suffered multiple trauma in a motor vehicle collision three weeks ago.",), ("There has been no major trauma in the past month.",), 0.15),
        Finding("recent_spinal_cord_injury", "recent", ("{He} has paralysis from an acute spinal cord injury sustained two weeks ago.",), ("There has been no spinal cord injury.",), 0.15),
        Finding("varicose_veins", "exam", ("Varicose veins are visible on both legs.",), ("There are no varicose veins.",), 0.3),
        Finding("swollen_legs", "exam", ("Both legs are currently swollen.",), ("The legs are not swollen.",), 0.3),
        Finding("central_venous_access", "exam", ("A central venous catheter is in place.",), ("There is no central venous line.",), 0.25),
        Finding("family_history_thrombosis", "family", ("{His} mother and brother both had venous blood clots.",), ("There is no family history of thrombosis.",), 0.25),
        Finding("factor_v_leiden", "thrombophilia", ("Factor V Leiden testing was positive.",), ("Factor V Leiden testing was negative.",), 0.2),
        Finding("prothrombin_20210a", "thrombophilia", ("The prothrombin 20210A mutation was detected.",), ("The prothrombin 20210A mutation was not found.",), 0.2),
        Finding("elevated_homocysteine", "thrombophilia", ("Serum homocysteine was elevated.",), ("Serum homocysteine was normal.",), 0.2),
        Finding("lupus_anticoagulant", "thrombophilia", ("Lupus anticoagulant was positive.",), ("Lupus anticoagulant was negative.",), 0.2),
        Finding("anticardiolipin_antibody", "thrombophilia", ("Anticardiolipin antibodies were elevated.",), ("Anticardiolipin antibodies were not elevated.",), 0.2),
        Finding("heparin_induced_thrombocytopenia", "history", ("heparin-induced thrombocytopenia",), ("heparin-induced thrombocytopenia",), 0.15),
        Finding("other_thrombophilia", "thrombophilia", ("An inherited antithrombin deficiency is known.",), ("No other congenital or acquired thrombophilia is known.",), 0.15),
        Finding("inflammatory_bowel_disease", "history", ("Crohn disease", "ulcerative colitis"), ("inflammatory bowel disease",), 0.2),
        Finding("acute_mi", "recent", ("{He} had an acute myocardial infarction during this admission.",), ("There has been no recent myocardial infarction.",), 0.2),
        Finding("malignancy_any", "history", ("thyroid cancer treated ten years ago", "active lung cancer"), ("cancer",), 0.3),
        # PERC
        Finding("unilateral_leg_swelling", "exam", ("The right leg is visibly more swollen than the left.",), ("There is no leg swelling.",), 0.3),
        Finding(
            "recent_surgery_trauma", "recent",
            ("{He} underwent knee surgery under general anesthesia three weeks ago.", "{He} needed surgery under general anesthesia for injuries from a fall two weeks ago."),
            ("There has been no surgery or trauma in the past four weeks.",), 0.3,
        ),
        Finding(
            "hormone_use", "meds", ("{He} takes an estrogen-containing hormone preparation daily.", "{He} is on hormone replacement therapy with estradiol."),
            ("{He} does not use any hormone therapy.",), 0.3,
        ),
    ]
}

CHOICES: dict[str, Choice] = {
    "heart_history": Choice(
        "heart_history",
        {
            "Slightly suspicious": ("The chest pain history is only slightly suspicious for an acute coronary syndrome.",),
            "Moderately suspicious": ("The chest pain history is moderately suspicious for an acute coronary syndrome.",),
            "Highly suspicious": ("The chest pain history is highly suspicious for an acute coronary syndrome.",),
        },
        section="assessment",
    ),
    "heart_ecg": Choice(
        "heart_ecg",
        {
            "Normal": ("The ECG is normal.",),
            "Non-specific repolarization disturbance": ("The ECG shows non-specific repolarization changes without ST deviation.",),
            "Significant ST deviation": ("The ECG shows significant ST-segment depression in the lateral leads.",),
        },
        section="workup",
    ),
    "heart_troponin": Choice(
        "heart_troponin",
        {
            "less than or equal to normal limit": ("The initial troponin is within the normal limit.",),
            "between the normal limit or up to three times the normal limit": (
                "The initial troponin is above the normal limit but less than three times it.",
            ),
            "greater than three times normal limit": ("The initial troponin is more than three times the normal limit.",),
        },
        section="workup",
    ),
    "cci_liver": Choice(
        "cci_liver",
        {
            "none": ("{He} has no liver disease.",),
            "mild": ("{He} has chronic hepatitis C without cirrhosis.", "{He} has cirrhosis without portal hypertension."),
            "moderate to severe": ("{He} has cirrhosis with portal hypertension and esophageal varices.",),
        },
        section="history",
        weights={"none": 2.0},
    ),
    "cci_diabetes": Choice(
        "cci_diabetes",
        {
            "none or diet-controlled": ("{He} does not have diabetes.", "{His} diabetes is controlled by diet alone."),
            "uncomplicated": ("{He} has type 2 diabetes treated with metformin, without known complications.",),
            "end-organ damage": ("{He} has type 2 diabetes complicated by retinopathy and peripheral neuropathy.",),
        },
        section="history",
        weights={"none or diet-controlled": 1.5},
    ),
    "cci_solid_tumor": Choice(
        "cci_solid_tumor",
        {
            "none": ("There is no history of a solid tumor.",),
            "localized": ("{He} had a localized colon cancer resected three years ago.", "{He} has a localized renal cell carcinoma."),
            "metastatic": ("{He} has colon cancer with liver metastases.", "{He} has metastatic lung cancer."),
        },
        section="history",
        weights={"none": 2.0},
    ),
    "caprini_surgery": Choice(
        "caprini_surgery",
        {
            "none": ("No operation is planned.",),
            "minor": ("{He} is scheduled for a minor procedure, the excision of a skin lesion, expected to take 20 minutes.",),
            "major": ("{He} is scheduled for an open colectomy expected to last about three hours.",),
            "laparoscopic": ("{He} is scheduled for a laparoscopic cholecystectomy expected to last over an hour.",),
            "arthroscopic": ("{He} is scheduled for an arthroscopic knee meniscectomy.",),
            "elective major lower extremity arthroplasty": ("{He} is scheduled for an elective total hip arthroplasty.",),
        },
        section="surgery",
    ),
    "caprini_mobility": Choice(
        "caprini_mobility",
        {
            "normal": ("{He} is walking around the ward without restriction.",),
            "on bed rest": ("{He} is a medical patient currently on bed rest.",),
            "confined to bed >72 hours": ("{He} has been confined to bed for the past four days.",),
        },
        section="recent",
    ),
}

# Official "Relevant Entities" name -> calculator argument, per category. Names a calculator
# does not use ("sex" for Caprini, the PECARN items some FeverPAIN rows carry) are left out.
_AGE = {"age": "age"}
_HEART_RATE = {"Heart Rate or Pulse": "heart_rate"}
_PRIOR_VTE = {
    "Previously Documented Pulmonary Embolism": "previous_pe",
    "Previously documented Deep Vein Thrombosis": "previous_dvt",
}

ENTITY_MAP: dict[str, dict[str, str]] = {
    "wells-pe": {
        **_HEART_RATE,
        **_PRIOR_VTE,
        "Clinical signs and symptoms of Deep Vein Thrombosis": "clinical_dvt_signs",
        "Pulmonary Embolism is #1 diagnosis OR equally likely": "pe_most_likely",
        "Immobilization for at least 3 days": "immobilized_3_days",
        "Surgery in the previous 4 weeks": "surgery_past_4_weeks",
        "Hemoptysis": "hemoptysis",
        "Malignancy with treatment within 6 months or palliative": "malignancy",
    },
    "wells-dvt": {
        "Active cancer": "active_cancer",
        # the official combined item; bedridden and surgery score one point together
        "Bedridden recently >3 days or major surgery within 12 weeks": "bedridden_3_days",
        "Major surgery within 12 weeks": "major_surgery_12_weeks",
        "Calf swelling >3 centimeters compared to the other leg": "calf_swelling",
        "Collateral (nonvaricose) superficial veins present": "collateral_veins",
        "Entire Leg Swollen": "entire_leg_swollen",
        "Localized tenderness along the deep venous system": "deep_vein_tenderness",
        "Pitting edema, confined to symptomatic leg": "pitting_edema",
        "Paralysis, paresis, or recent plaster immobilization of the lower extremity": "paralysis_or_cast",
        "Previously documented Deep Vein Thrombosis": "previous_dvt",
        "Alternative diagnosis to Deep Vein Thrombosis as likely or more likely": "alternative_diagnosis",
    },
    "revised-cardiac-risk-index": {
        "Pre-operative creatinine": "creatinine_mg_dl",
        "Elevated-risk surgery": "elevated_risk_surgery",
        "History of ischemic heart disease": "ischemic_heart_disease",
        "Congestive Heart Failure criteria for the Cardiac Risk Index rule": "heart_failure",
        # two official names for one item; a "yes" under either counts
        "History of cerebrovascular disease": "cerebrovascular_disease",
        "Cerebrovascular disease history": "cerebrovascular_disease",
        "Pre-operative treatment with insulin": "insulin_treatment",
    },
    "heart-score": {
        **_AGE,
        "Suspicion History": "history",
        "Electrocardiogram Test": "ecg",
        "Initial troponin": "troponin",
        "Hypertension history": "hypertension",
        "hypercholesterolemia": "hypercholesterolemia",
        "Diabetes mellitus criteria for CCI rule": "diabetes",
        "smoking": "smoking",
        "obesity": "obesity",
        "parent or sibling with Cardiovascular disease before age 65": "family_history",
        "atherosclerotic disease": "atherosclerotic_disease",
        # a TIA is atherosclerotic disease in the HEART score
        "Transient Ischemic Attacks History": "atherosclerotic_disease",
    },
    "charlson-comorbidity-index": {
        **_AGE,
        "Myocardial infarction": "myocardial_infarction",
        "Congestive Heart Faliure": "heart_failure",  # sic, as spelled in the official files
        "Congestive Heart Failure": "heart_failure",
        "Peripheral vascular disease": "peripheral_vascular_disease",
        "Cerebrovascular Accident": "stroke",
        "Transient Ischemic Attacks History": "tia",
        "Dementia": "dementia",
        "Chronic Obstructive Pulmonary Disease": "copd",
        "Connective tissue disease": "connective_tissue_disease",
        "Peptic ulcer disease": "peptic_ulcer_disease",
        "Liver disease severity": "liver_disease",
        "Diabetes mellitus criteria for CCI rule": "diabetes",
        "Hemiplegia": "hemiplegia",
        "Moderate to severe Chronic Kidney Disease": "ckd_moderate_severe",
        "Solid tumor": "solid_tumor",
        "Leukemia": "leukemia",
        "Lymphoma": "lymphoma",
        "AIDS": "aids",
    },
    "feverpain": {
        "Fever in past 24 hours": "fever_past_24_hours",
        "Absence of cough or coryza": "no_cough_or_coryza",
        "Symptom onset ≤3 days": "onset_within_3_days",
        "Purulent tonsils": "purulent_tonsils",
        "Severe tonsil inflammation": "severe_tonsil_inflammation",
    },
    "caprini-score": {
        **_AGE,
        **_PRIOR_VTE,
        "Surgery Type": "surgery_type",
        "Mobility": "mobility",
        "Major Surgery in the last month": "recent_major_surgery",
        "Congestive Heart Failure in the last month": "recent_heart_failure",
        "Sepsis in the last month": "recent_sepsis",
        "Pneumonia in the last month": "recent_pneumonia",
        "Immobilizing plaster cast in the last month": "recent_plaster_cast",
        "Hip, pelvis, or leg fracture in the last month": "recent_fracture",
        "Stroke in the last month": "recent_stroke",
        "Multiple trauma in the last month": "recent_multiple_trauma",
        "Acute spinal cord injury causing paralysis in the last month": "recent_spinal_cord_injury",
        "Varicose veins": "varicose_veins",
        "Current swollen legs": "swollen_legs",
        "Current central venous access": "central_venous_access",
        "Family history of thrombosis": "family_history_thrombosis",
        "Positive Factor V Leiden": "factor_v_leiden",
        "Positive prothrombin 20210A": "prothrombin_20210a",
        "Elevated serum homocysteine": "elevated_homocysteine",
        "Positive lupus anticoagulant": "lupus_anticoagulant",
        "Elevated anticardiolipin antibody": "anticardiolipin_antibody",
        "Heparin-induced thrombocytopenia": "heparin_induced_thrombocytopenia",
        "Other congenital or acquired thrombophilia": "other_thrombophilia",
        "History of inflammatory bowel disease": "inflammatory_bowel_disease",
        "Acute Myocardial infarction": "acute_myocardial_infarction",
        "Chronic Obstructive Pulmonary Disease": "copd",
        "Present or previous malignancy": "malignancy",
        "Body Mass Index (BMI)": "bmi",
    },
    "perc-rule": {
        **_AGE,
        **_HEART_RATE,
        **_PRIOR_VTE,
        "O₂ saturation percentage": "oxygen_saturation",
        "Unilateral Leg Swelling": "unilateral_leg_swelling",
        "Hemoptysis": "hemoptysis",
        "Recent surgery or trauma": "recent_surgery_or_trauma",
        "Hormone use": "hormone_use",
    },
}

# Fact kind -> accepted official unit (lower case) -> conversion into the canonical unit.
UNIT_TABLE: dict[str, dict[str, Any]] = {
    "spo2": {"%": None},
    "bmi": {"kg/m^2": None, "kg/m²": None},
    "calf_difference": {"cm": None},
    "symptom_days": {"days": None, "hours": hours_to_days},
    "max_temp_24h": {"degrees celsius": None, "°c": None, "degrees fahrenheit": units.fahrenheit_to_celsius, "°f": units.fahrenheit_to_celsius},
}


# --------------------------------------------------------------------------- note generator

# Arguments only the official entities give (the yes/no form of a criterion whose measurement
# generated notes state instead): never drawn, so the calculator's default (absent) applies.
IMPORT_ONLY: dict[str, tuple[str, ...]] = {
    "wells-dvt": ("calf_swelling",),
    "heart-score": ("obesity",),
    "feverpain": ("fever_past_24_hours", "onset_within_3_days"),
    "caprini-score": ("bmi",),
}

# Patterns (case-insensitive regular expressions) that must not match a category's notes:
# generate.py's distractors that would count for its score or contradict one of its findings.
NOTE_CONFLICTS: dict[str, tuple[str, ...]] = {
    # hypercholesterolemia, statin therapy, and the random smoking sentences of generate.py
    "heart-score": (
        r"hyperlipidemia", r"atorvastatin", r"is a former smoker\.", r"has never smoked\.", r"smokes half a pack a day\.",
    ),
    # chronic pulmonary disease, peptic ulcer treatment, a creatinine that could define CKD
    "charlson-comorbidity-index": (r"asthma", r"salbutamol", r"omeprazole", r"creatinine"),
    # abnormal pulmonary function (COPD)
    "caprini-score": (r"asthma", r"salbutamol"),
    # a second (current) temperature among the vital signs, a "feverish" complaint
    "feverpain": (r"\btemperature \d", r"feverish"),
    # thyroid hormone is not the hormone use PERC means, but it invites the question
    "perc-rule": (r"levothyroxine",),
}
