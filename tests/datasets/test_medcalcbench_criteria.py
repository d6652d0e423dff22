"""MedCalc-Bench criteria scores (criteria.py): calculators, official rows, the medcalc package,
distinct full counts and note content.

Calculators are checked against values worked out by hand from the published scores, one
criterion at a time. The official rows must import, agree with the labels or disagree only where a
documented label rule reproduces the label, and agree with the authors' ``medcalc`` package where
that package follows the published score.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.catalog.splits import split_of
from medagentgym.datasets.medcalcbench import DATASET, label_rules
from medagentgym.datasets.medcalcbench import criteria as crit
from medagentgym.datasets.medcalcbench.categories import spec_by_name
from medagentgym.datasets.medcalcbench.entities import (
    givens_from_entities,
    parse_entities,
)
from medagentgym.datasets.medcalcbench.generate import CHOICES, FINDINGS, QUANTITIES
from medagentgym.datasets.medcalcbench.solution import compute

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release" / "medcalcbench"
CATEGORIES = (
    "wells-pe", "wells-dvt", "revised-cardiac-risk-index", "heart-score",
    "charlson-comorbidity-index", "feverpain", "caprini-score", "perc-rule",
)
OFFICIAL_IDS = {8: "wells-pe", 16: "wells-dvt", 17: "revised-cardiac-risk-index", 18: "heart-score",
                32: "charlson-comorbidity-index", 33: "feverpain", 36: "caprini-score", 48: "perc-rule"}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path / "cache"))


def run_solution(code: str) -> object:
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - our own reference code
    return namespace["answer"]


# --------------------------------------------------------------------------- calculators


def test_wells_pe_each_criterion() -> None:
    assert crit.wells_pe(80) == 0.0
    assert crit.wells_pe(100) == 0.0 and crit.wells_pe(101) == 1.5  # heart rate > 100
    points = {
        "clinical_dvt_signs": 3.0, "pe_most_likely": 3.0, "immobilized_3_days": 1.5, "surgery_past_4_weeks": 1.5,
        "previous_pe": 1.5, "previous_dvt": 1.5, "hemoptysis": 1.0, "malignancy": 1.0,
    }
    for name, value in points.items():
        assert crit.wells_pe(80, **{name: True}) == value, name
    # one item each: immobilization or surgery, previous PE or DVT
    assert crit.wells_pe(80, immobilized_3_days=True, surgery_past_4_weeks=True) == 1.5
    assert crit.wells_pe(80, previous_pe=True, previous_dvt=True) == 1.5
    assert crit.wells_pe(130, **dict.fromkeys(points, True)) == 12.5


def test_wells_pe_tolerance_separates_neighbouring_scores() -> None:
    """Generated Wells PE targets are numbers with a relative window; no window may hold a
    second achievable score (the official +-5% ranges would, above 10 points)."""
    from itertools import product

    from medagentgym.datasets.medcalcbench.generate import make_target

    spec = spec_by_name("wells-pe")
    scores = {crit.wells_pe(101 if fast else 80, *flags) for fast in (False, True) for flags in product((False, True), repeat=8)}
    assert min(scores) == 0 and max(scores) == 12.5 and len(scores) == 24  # 0.5 and 12.0 cannot occur
    for score in scores:
        target = make_target(score, AnswerType.NUMBER, spec.tolerance)
        inside = {other for other in scores if target.lower <= other <= target.upper}
        assert inside == {score}, (score, inside)
    assert any(len({o for o in scores if abs(o - s) <= 0.05 * s}) > 1 for s in scores)  # why 5% would not do


def test_wells_dvt_each_criterion() -> None:
    assert crit.wells_dvt() == 0
    singles = ["active_cancer", "bedridden_3_days", "major_surgery_12_weeks", "calf_swelling", "collateral_veins",
               "entire_leg_swollen", "deep_vein_tenderness", "pitting_edema", "paralysis_or_cast", "previous_dvt"]
    for name in singles:
        assert crit.wells_dvt(**{name: True}) == 1, name
    assert crit.wells_dvt(alternative_diagnosis=True) == -2
    assert crit.wells_dvt(bedridden_3_days=True, major_surgery_12_weeks=True) == 1  # one item
    # calf swelling: more than 3 cm, as a measurement or as the official flag
    assert crit.wells_dvt(calf_difference_cm=3.0) == 0 and crit.wells_dvt(calf_difference_cm=3.1) == 1
    assert crit.wells_dvt(calf_swelling=True, calf_difference_cm=1.0) == 1
    assert crit.wells_dvt(**dict.fromkeys(singles, True)) == 9
    assert crit.wells_dvt(**dict.fromkeys(singles, True), alternative_diagnosis=True) == 7


def test_revised_cardiac_risk_index_each_criterion() -> None:
    assert crit.revised_cardiac_risk_index(1.0) == 0
    assert crit.revised_cardiac_risk_index(2.0) == 0 and crit.revised_cardiac_risk_index(2.01) == 1
    items = ["elevated_risk_surgery", "ischemic_heart_disease", "heart_failure", "cerebrovascular_disease", "insulin_treatment"]
    for name in items:
        assert crit.revised_cardiac_risk_index(1.0, **{name: True}) == 1, name
    assert crit.revised_cardiac_risk_index(2.5, **dict.fromkeys(items, True)) == 6


def test_heart_score_components() -> None:
    low = ("Slightly suspicious", "Normal", "less than or equal to normal limit")
    assert crit.heart_score(30, *low) == 0
    # age 45-64 1, >= 65 2
    assert [crit.heart_score(age, *low) for age in (44, 45, 64, 65)] == [0, 1, 1, 2]
    assert crit.heart_score(30, "Moderately suspicious", "Normal", low[2]) == 1
    assert crit.heart_score(30, "highly suspicious", "NORMAL", low[2]) == 2  # labels matched without case
    assert crit.heart_score(30, low[0], "Non-specific repolarization disturbance", low[2]) == 1
    assert crit.heart_score(30, low[0], "Significant ST deviation", low[2]) == 2
    assert crit.heart_score(30, low[0], low[1], "between the normal limit or up to three times the normal limit") == 1
    assert crit.heart_score(30, low[0], low[1], "greater than three times normal limit") == 2
    # risk factors: 1-2 -> 1, >= 3 -> 2, atherosclerotic disease alone -> 2
    for name in ("hypertension", "hypercholesterolemia", "diabetes", "smoking", "family_history", "obesity"):
        assert crit.heart_score(30, *low, **{name: True}) == 1, name
    assert crit.heart_score(30, *low, hypertension=True, diabetes=True) == 1
    assert crit.heart_score(30, *low, hypertension=True, diabetes=True, smoking=True) == 2
    assert crit.heart_score(30, *low, atherosclerotic_disease=True) == 2
    # obesity from weight and height: BMI > 30 (90.75 kg at 1.74 m is 29.97; 91 kg is 30.06)
    assert crit.heart_score(30, *low, weight_kg=90.75, height_cm=174) == 0
    assert crit.heart_score(30, *low, weight_kg=91, height_cm=174) == 1
    assert crit.heart_score(70, "Highly suspicious", "Significant ST deviation", "greater than three times normal limit",
                            hypertension=True, diabetes=True, smoking=True) == 10
    with pytest.raises(KeyError):
        crit.heart_score(30, "somewhat suspicious", "Normal", low[2])


def test_charlson_components() -> None:
    assert [crit.charlson_comorbidity_index(age) for age in (49, 50, 59, 60, 69, 70, 79, 80)] == [0, 1, 1, 2, 2, 3, 3, 4]
    for name in ("myocardial_infarction", "heart_failure", "peripheral_vascular_disease", "stroke", "tia", "dementia",
                 "copd", "connective_tissue_disease", "peptic_ulcer_disease"):
        assert crit.charlson_comorbidity_index(40, **{name: True}) == 1, name
    assert crit.charlson_comorbidity_index(40, stroke=True, tia=True) == 1  # one item
    for name in ("hemiplegia", "ckd_moderate_severe", "leukemia", "lymphoma"):
        assert crit.charlson_comorbidity_index(40, **{name: True}) == 2, name
    assert crit.charlson_comorbidity_index(40, aids=True) == 6
    liver = {"none": 0, "mild": 1, "moderate to severe": 3, "Moderate": 3, "Severe": 3, "Moderate to Severe": 3}
    for label, points in liver.items():
        assert crit.charlson_comorbidity_index(40, liver_disease=label) == points, label
    diabetes = {"None or Diet-controlled": 0, "uncomplicated": 1, "End-organ damage": 2}
    for label, points in diabetes.items():
        assert crit.charlson_comorbidity_index(40, diabetes=label) == points, label
    tumor = {"none": 0, "localized": 2, "Metastatic": 6, "True": 2, "False": 0}  # True: a tumor, extent not given
    for label, points in tumor.items():
        assert crit.charlson_comorbidity_index(40, solid_tumor=label) == points, label
    # 72 years (3) + CHF 1 + PVD 1 + CTD 1 + PUD 1 + moderate liver 3 + metastatic 6 + leukemia 2 + lymphoma 2
    assert crit.charlson_comorbidity_index(
        72, heart_failure=True, peripheral_vascular_disease=True, connective_tissue_disease=True, peptic_ulcer_disease=True,
        liver_disease="Moderate", solid_tumor="Metastatic", leukemia=True, lymphoma=True,
    ) == 20
    with pytest.raises(KeyError):
        crit.charlson_comorbidity_index(40, liver_disease="catastrophic")


def test_feverpain_each_criterion() -> None:
    assert crit.feverpain() == 0
    for name in ("fever_past_24_hours", "purulent_tonsils", "onset_within_3_days", "severe_tonsil_inflammation", "no_cough_or_coryza"):
        assert crit.feverpain(**{name: True}) == 1, name
    assert crit.feverpain(days_since_onset=3.0) == 1 and crit.feverpain(days_since_onset=crit.hours_to_days(73)) == 0
    assert crit.feverpain(max_temperature_c=37.9) == 0 and crit.feverpain(max_temperature_c=38.0) == 1
    # 100.4 °F is 38.0 °C: every one-decimal Fahrenheit value falls on the same side either way
    from medagentgym.datasets.medcalcbench.units import fahrenheit_to_celsius

    for tenths in range(980, 1030):
        assert (fahrenheit_to_celsius(tenths / 10) >= 38.0) == (tenths >= 1004)
    assert crit.feverpain(True, None, True, True, None, True, True) == 5


def test_caprini_components() -> None:
    assert [crit.caprini_score(age) for age in (40, 41, 60, 61, 74, 75)] == [0, 1, 1, 2, 2, 3]
    surgery = {"none": 0, "minor": 1, "major": 2, "laparoscopic": 2, "arthroscopic": 2,
               "elective major lower extremity arthroplasty": 5}
    for label, points in surgery.items():
        assert crit.caprini_score(30, surgery_type=label) == points, label
    for label, points in {"normal": 0, "on bed rest": 1, "confined to bed >72 hours": 2}.items():
        assert crit.caprini_score(30, mobility=label) == points, label
    weighted = {
        "recent_major_surgery": 1, "recent_heart_failure": 1, "recent_sepsis": 1, "recent_pneumonia": 1,
        "recent_plaster_cast": 2, "recent_fracture": 5, "recent_stroke": 5, "recent_multiple_trauma": 5,
        "recent_spinal_cord_injury": 5, "varicose_veins": 1, "swollen_legs": 1, "central_venous_access": 2,
        "previous_dvt": 3, "previous_pe": 3, "family_history_thrombosis": 3, "factor_v_leiden": 3, "prothrombin_20210a": 3,
        "elevated_homocysteine": 3, "lupus_anticoagulant": 3, "anticardiolipin_antibody": 3,
        "heparin_induced_thrombocytopenia": 3, "other_thrombophilia": 3, "inflammatory_bowel_disease": 1,
        "acute_myocardial_infarction": 1, "copd": 1, "malignancy": 2,
    }
    for name, points in weighted.items():
        assert crit.caprini_score(30, **{name: True}) == points, name
    assert crit.caprini_score(30, previous_dvt=True, previous_pe=True) == 3  # one item
    assert crit.caprini_score(30, bmi=25.0) == 0 and crit.caprini_score(30, bmi=25.1) == 1
    # BMI from weight and height: 81 kg at 180 cm is 25.0, 82 kg is 25.3
    assert crit.caprini_score(30, weight_kg=81, height_cm=180) == 0
    assert crit.caprini_score(30, weight_kg=82, height_cm=180) == 1
    # 63 y (2) + major (2) + confined (2) + major surgery 1 + fracture 5 + trauma 5 + varicose 1 + DVT 3
    # + family 3 + homocysteine 3 + BMI 27.1 (1) = 28
    assert crit.caprini_score(
        63, "major", "confined to bed >72 hours", recent_major_surgery=True, recent_fracture=True,
        recent_multiple_trauma=True, varicose_veins=True, previous_dvt=True, family_history_thrombosis=True,
        elevated_homocysteine=True, bmi=27.1,
    ) == 28


def test_perc_each_criterion() -> None:
    assert crit.perc_rule(49, 99, 95) == 0
    assert crit.perc_rule(50, 99, 95) == 1 and crit.perc_rule(49, 100, 95) == 1 and crit.perc_rule(49, 99, 94) == 1
    items = ["unilateral_leg_swelling", "hemoptysis", "recent_surgery_or_trauma", "previous_pe", "previous_dvt", "hormone_use"]
    for name in items:
        assert crit.perc_rule(49, 99, 95, **{name: True}) == 1, name
    assert crit.perc_rule(49, 99, 95, previous_pe=True, previous_dvt=True) == 1  # one criterion
    assert crit.perc_rule(70, 120, 88, **dict.fromkeys(items, True)) == 8


# --------------------------------------------------------------------------- official rows


def _official_rows() -> list[dict[str, Any]]:
    path = REFERENCE / "test_tasks_dev_half.jsonl"
    if not path.exists():
        pytest.skip(f"official MedCalc-Bench reference file not found at {path} (shared/reference absent)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if int(row["Calculator ID"]) in OFFICIAL_IDS]


def _ours(category: str, entities: dict[str, Any]) -> int | float:
    spec = spec_by_name(category)
    givens, _ = givens_from_entities(spec, entities)
    return compute(spec.function, givens, spec.answer_type)


# How the labels that disagree were made (docs: every disagreement is a label error), restated in
# ``label_rules.py``: RCRI reads "Cerebrovascular disease history" only, never "History of
# cerebrovascular disease" (which these rows set, and their notes confirm); CCI compares option
# labels case-sensitively, so any other truthy value scores one point; Caprini counts age, type of
# surgery and mobility only.
LABEL_RULES = {
    name: label_rules.RULES[name].function
    for name in ("revised-cardiac-risk-index", "charlson-comorbidity-index", "caprini-score")
}
MEASURED_AGREEMENT = {  # of 10 rows each (docs/medcalcbench.md)
    "wells-pe": 10, "wells-dvt": 10, "revised-cardiac-risk-index": 5, "heart-score": 10,
    "charlson-comorbidity-index": 2, "feverpain": 10, "caprini-score": 0, "perc-rule": 10,
}


def test_official_rows_import_and_every_disagreement_is_a_label_rule(tmp_path: Path) -> None:
    rows = _official_rows()
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    report = DATASET.import_file(source, tmp_path / "out.jsonl")
    assert report.rows_read == 80 and report.samples_written == 80 and report.rows_skipped == 0
    agreement = report.details["agreement"]
    assert {name: stats["agree"] for name, stats in agreement.items()} == MEASURED_AGREEMENT
    assert all(stats["rows"] == 10 and stats["not_computable"] == 0 for stats in agreement.values())
    samples = [Sample.model_validate(json.loads(line)) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    by_row = {row["Row Number"]: row for row in rows}
    for sample in samples:
        row = by_row[sample.metadata["official_row_number"]]
        assert run_solution(sample.solution.code) == sample.metadata["our_value"]
        if sample.metadata["agrees"]:
            continue
        rule = LABEL_RULES[sample.category]  # a KeyError here is an unexplained disagreement
        assert rule(parse_entities(row["Relevant Entities"])) == float(row["Ground Truth Answer"]), row["Row Number"]
        # the importer records the same reconstruction
        assert sample.metadata["label_rule"] == label_rules.RULES[sample.category].name
        assert sample.metadata["label_rule_reproduces"] and sample.metadata["label_rule_value"] == rule(parse_entities(row["Relevant Entities"]))
    assert all(stats["explained"] == 10 and stats["unexplained"] == [] for stats in agreement.values())
    # Wells PE keeps half points and the official +-5% range; the scores are exact integers
    wells_pe = next(s for s in samples if s.category == "wells-pe" and s.target.value == 1.5)
    assert wells_pe.target.answer_type is AnswerType.NUMBER and (wells_pe.target.lower, wells_pe.target.upper) == (1.425, 1.575)
    assert all(s.target.answer_type is AnswerType.INTEGER for s in samples if s.category != "wells-pe")


# --------------------------------------------------------------------------- the medcalc package

# our argument -> the package's key, per category (module, function, keys)
PACKAGE = {
    "wells-pe": ("wells_criteria_pe", "calculate_pe_wells_explanation", {
        "heart_rate": "heart_rate", "clinical_dvt_signs": "clinical_dvt", "pe_most_likely": "pe_number_one",
        "immobilized_3_days": "immobilization_for_3days", "surgery_past_4_weeks": "surgery_in_past4weeks",
        "previous_pe": "previous_pe", "previous_dvt": "previous_dvt", "hemoptysis": "hemoptysis",
        "malignancy": "malignancy_with_treatment"}),
    "wells-dvt": ("wells_criteria_dvt", "compute_wells_criteria_dvt_explanation", {
        "active_cancer": "active_cancer", "bedridden_3_days": "bedridden_for_atleast_3_days",
        "major_surgery_12_weeks": "major_surgery_in_last_12_weeks", "calf_swelling": "calf_swelling_3cm",
        "collateral_veins": "collateral_superficial_veins", "entire_leg_swollen": "leg_swollen",
        "deep_vein_tenderness": "localized_tenderness_on_deep_venuous_system",
        "pitting_edema": "pitting_edema_on_symptomatic_leg",
        "paralysis_or_cast": "paralysis_paresis_immobilization_in_lower_extreme", "previous_dvt": "previous_dvt",
        "alternative_diagnosis": "alternative_to_dvt_diagnosis"}),
    "revised-cardiac-risk-index": ("cardiac_risk_index", "compute_cardiac_index_explanation", {
        "creatinine_mg_dl": "pre_operative_creatinine", "elevated_risk_surgery": "elevated_risk_surgery",
        "ischemic_heart_disease": "ischemetic_heart_disease", "heart_failure": "congestive_heart_failure",
        "cerebrovascular_disease": "cerebrovascular_disease", "insulin_treatment": "pre_operative_insulin_treatment"}),
    "heart-score": ("heart_score", "compute_heart_score_explanation", {
        "age": "age", "history": "history", "ecg": "electrocardiogram", "troponin": "initial_troponin",
        "hypertension": "hypertension", "hypercholesterolemia": "hypercholesterolemia", "diabetes": "diabetes_mellitus",
        "smoking": "smoking", "obesity": "obesity", "family_history": "family_with_cvd",
        "atherosclerotic_disease": "atherosclerotic_disease"}),
    "charlson-comorbidity-index": ("cci", "compute_cci_explanation", {
        "age": "age", "myocardial_infarction": "mi", "heart_failure": "chf",
        "peripheral_vascular_disease": "peripheral_vascular_disease", "stroke": "cva", "tia": "tia", "dementia": "dementia",
        "copd": "copd", "connective_tissue_disease": "connective_tissue_disease", "peptic_ulcer_disease": "peptic_ucler_disease",
        "liver_disease": "liver_disease", "diabetes": "diabetes_mellitus", "hemiplegia": "hemiplegia",
        "ckd_moderate_severe": "moderate_to_severe_ckd", "solid_tumor": "solid_tumor", "leukemia": "leukemia",
        "lymphoma": "lymphoma", "aids": "aids"}),
    "feverpain": ("feverpain", "compute_fever_pain_explanation", {
        "fever_past_24_hours": "fever_24_hours", "no_cough_or_coryza": "cough_coryza_absent",
        "onset_within_3_days": "symptom_onset", "purulent_tonsils": "purulent_tonsils",
        "severe_tonsil_inflammation": "severe_tonsil_inflammation"}),
    "caprini-score": ("caprini_score", "caprini_score_explanation", {
        "age": "age", "surgery_type": "surgery_type", "mobility": "mobility"}),
    "perc-rule": ("perc_rule", "compute_perc_rule_explanation", {
        "age": "age", "heart_rate": "heart_rate", "oxygen_saturation": "oxygen_sat",
        "unilateral_leg_swelling": "unilateral_leg_swelling", "hemoptysis": "hemoptysis",
        "recent_surgery_or_trauma": "recent_surgery_or_trauma", "previous_pe": "previous_pe",
        "previous_dvt": "previous_dvt", "hormone_use": "hormonal_use"}),
}
# The package's own option spellings (it compares them exactly; ours are matched without case).
_PACKAGE_OPTIONS = {"moderate": "moderate to severe", "severe": "moderate to severe", "true": "localized", "false": "none"}


def _package_answer(category: str, entities: dict[str, Any]) -> Any:
    """The medcalc package's answer for official entities, renamed to its keys (a "yes" under
    either of two names for one item wins, as in our importer)."""
    medcalc = pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    module_name, function_name, keys = PACKAGE[category]
    inputs: dict[str, Any] = {}
    for name, value in entities.items():
        param = crit.ENTITY_MAP[category].get(name)
        if param not in keys:
            continue
        key = keys[param]
        if isinstance(value, list):
            value = tuple(value)
        if category == "charlson-comorbidity-index" and param in ("liver_disease", "diabetes", "solid_tumor"):
            value = _PACKAGE_OPTIONS.get(str(value).lower(), str(value).lower())
        inputs[key] = (inputs[key] or value) if key in inputs and isinstance(value, bool) else value
    if category == "caprini-score":
        inputs["sex"] = entities.get("sex", "Female")  # required by the package, worth no points
    module = importlib.import_module(f"{medcalc.__name__}.{module_name}")
    with contextlib.redirect_stdout(io.StringIO()):
        return getattr(module, function_name)(inputs)["Answer"]


@pytest.mark.parametrize("category", CATEGORIES)
def test_official_rows_agree_with_the_medcalc_package(category: str) -> None:
    """Every official row computed both ways. Caprini: the package scores age, surgery type and
    mobility (its yes/no items only add text to its explanation, and it gives BMI > 25 two
    points), so only those are compared; CCI: given its own option spellings."""
    rows = [row for row in _official_rows() if OFFICIAL_IDS[int(row["Calculator ID"])] == category]
    assert len(rows) == 10
    for row in rows:
        entities = parse_entities(row["Relevant Entities"])
        if category == "caprini-score":
            entities = {k: v for k, v in entities.items() if k in ("age", "sex", "Surgery Type", "Mobility")}
        assert float(_package_answer(category, entities)) == float(_ours(category, entities)), row["Row Number"]


SYNTHETIC = {
    "wells-pe": "{'Heart Rate or Pulse': [112, 'beats per minute'], 'Clinical signs and symptoms of Deep Vein Thrombosis': True, "
    "'Pulmonary Embolism is #1 diagnosis OR equally likely': True, 'Hemoptysis': True, 'Surgery in the previous 4 weeks': True, "
    "'Previously Documented Pulmonary Embolism': True, 'Malignancy with treatment within 6 months or palliative': True}",
    "wells-dvt": "{'Collateral (nonvaricose) superficial veins present': True, 'Entire Leg Swollen': True, "
    "'Localized tenderness along the deep venous system': True, 'Pitting edema, confined to symptomatic leg': True, "
    "'Calf swelling >3 centimeters compared to the other leg': True, 'Major surgery within 12 weeks': True, "
    "'Alternative diagnosis to Deep Vein Thrombosis as likely or more likely': False}",
    "revised-cardiac-risk-index": "{'Pre-operative creatinine': [221.0, 'µmol/L'], 'Elevated-risk surgery': True, "
    "'Pre-operative treatment with insulin': True, 'Cerebrovascular disease history': True}",
    "heart-score": "{'age': [70, 'years'], 'Suspicion History': 'Highly suspicious', 'Electrocardiogram Test': "
    "'Non-specific repolarization disturbance', 'Initial troponin': 'between the normal limit or up to three times the normal limit', "
    "'Hypertension history': True, 'smoking': True, 'obesity': True, 'hypercholesterolemia': True}",
    "charlson-comorbidity-index": "{'age': [83, 'years'], 'Myocardial infarction': True, 'Dementia': True, 'Hemiplegia': True, "
    "'AIDS': True, 'Liver disease severity': 'mild', 'Diabetes mellitus criteria for CCI rule': 'end-organ damage', "
    "'Solid tumor': 'localized', 'Lymphoma': True}",
    "feverpain": "{'Fever in past 24 hours': True, 'Absence of cough or coryza': True, 'Symptom onset ≤3 days': True, "
    "'Severe tonsil inflammation': True}",
    "caprini-score": "{'age': [77, 'years'], 'sex': 'Male', 'Surgery Type': 'elective major lower extremity arthroplasty', "
    "'Mobility': 'on bed rest'}",
    "perc-rule": "{'age': [44, 'years'], 'Heart Rate or Pulse': [104, 'beats per minute'], 'O₂ saturation percentage': [96, '%'], "
    "'Unilateral Leg Swelling': True, 'Hormone use': True, 'Previously documented Deep Vein Thrombosis': True}",
}


@pytest.mark.parametrize("category", CATEGORIES)
def test_items_the_official_rows_never_set_agree_with_the_medcalc_package(category: str) -> None:
    entities = parse_entities(SYNTHETIC[category])
    ours = _ours(category, entities)
    assert float(_package_answer(category, entities)) == float(ours)
    assert ours != 0  # the case exercises points, not only defaults


# --------------------------------------------------------------------------- generation


def _canonical(key: str) -> dict[str, str]:
    """The draw's arguments from its content key ("name|a=1,b=True")."""
    return dict(part.split("=", 1) for part in key.split("|", 1)[1].split(","))


def _bmi(draw: dict[str, str]) -> float:
    return float(draw["weight_kg"]) / (float(draw["height_cm"]) / 100.0) ** 2


# numeric criteria: category -> the arguments a threshold reads -> the threshold the calculator applies
THRESHOLDS: dict[str, dict[tuple[str, ...], Any]] = {
    "wells-pe": {("heart_rate",): lambda d: float(d["heart_rate"]) > 100},
    "wells-dvt": {("calf_difference_cm",): lambda d: float(d["calf_difference_cm"]) > 3.0},
    "revised-cardiac-risk-index": {("creatinine_mg_dl",): lambda d: float(d["creatinine_mg_dl"]) > 2.0},
    "heart-score": {("age",): lambda d: float(d["age"]) >= 45, ("weight_kg", "height_cm"): lambda d: _bmi(d) > 30},
    "charlson-comorbidity-index": {("age",): lambda d: float(d["age"]) >= 60},
    "feverpain": {
        ("max_temperature_c",): lambda d: float(d["max_temperature_c"]) >= 38.0,
        ("days_since_onset",): lambda d: float(d["days_since_onset"]) <= 3.0,
    },
    "caprini-score": {("age",): lambda d: float(d["age"]) > 60, ("weight_kg", "height_cm"): lambda d: _bmi(d) > 25},
    "perc-rule": {
        ("age",): lambda d: float(d["age"]) >= 50,
        ("heart_rate",): lambda d: float(d["heart_rate"]) >= 100,
        ("oxygen_saturation",): lambda d: float(d["oxygen_saturation"]) < 95,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("category", CATEGORIES)
def test_full_counts_are_distinct_disjoint_and_both_branches_common(category: str) -> None:
    spec = spec_by_name(category)
    keys = {}
    for split in ("train", "test"):
        n = spec.full_counts[split]
        keys[split] = [DATASET.generate(category, split, index).metadata["content_key"] for index in range(n)]
        assert len(set(keys[split])) == n, (category, split)
        assert all(split_of(key) == split for key in keys[split])
    assert not set(keys["train"]) & set(keys["test"])
    draws = [_canonical(key) for key in keys["train"]]
    shares = {params: sum(map(rule, draws)) / len(draws) for params, rule in THRESHOLDS[category].items()}
    numeric = {param for params in THRESHOLDS[category] for param in params}
    assert numeric <= set(draws[0])
    for param in set(draws[0]) - numeric:
        values = [draw[param] for draw in draws]
        if set(values) <= {"True", "False"}:
            shares[(param,)] = values.count("True") / len(values)
        else:  # an option: every option of the choice is drawn
            assert set(values) == set(CHOICES[spec.params[param]].options), param
    for params, share in shares.items():
        assert 0.1 <= share <= 0.9, (params, share)


def _texts(category: str, given: dict[str, Any], male: bool) -> list[str]:
    """What the note must contain for one given (a value, or one sentence of a chosen option)."""
    value = given["value"]
    if isinstance(value, list):
        return [f"{value[0]} ft {value[1]} in"]
    if isinstance(value, bool):
        return []
    if isinstance(value, str):
        pron = {"He": "He" if male else "She", "His": "His" if male else "Her", "he": "he" if male else "she",
                "his": "his" if male else "her", "him": "him" if male else "her"}
        choice = CHOICES[spec_by_name(category).params[given["param"]]]
        return [sentence.format(**pron) for sentence in choice.options[value]]
    return [str(value)]


_SCORE_NAMES = re.compile(r"wells|cardiac risk index|heart score|charlson|feverpain|caprini|\bperc\b|\bpoints?\b", re.IGNORECASE)


@pytest.mark.parametrize("category", CATEGORIES)
def test_notes_state_every_value_and_never_the_answer(category: str) -> None:
    spec = spec_by_name(category)
    hidden = set(crit.IMPORT_ONLY.get(category, ()))
    conflicts = [re.compile(p, re.IGNORECASE) for p in crit.NOTE_CONFLICTS.get(category, ())]
    for split in ("train", "test"):
        for index in range(6):
            sample = DATASET.generate(category, split, index, seed=3)
            note = sample.prompt.split("\n\nQuestion:")[0]
            assert spec.question in sample.prompt
            male = bool(re.search(r"-year-old (?:\w+ )?(?:man|boy)\b", note))
            givens = sample.metadata["givens"]
            assert not hidden & {g["param"] for g in givens}  # import-only flags are never drawn
            for given in givens:
                texts = _texts(category, given, male)
                if texts:
                    assert any(text in note for text in texts), (sample.id, given)
            assert not _SCORE_NAMES.search(note), sample.id  # the note never names or scores the rule
            assert not any(pattern.search(note) for pattern in conflicts), sample.id
            view = sample.public_view()
            assert "target" not in view and "solution" not in view and "metadata" not in view
            answer = run_solution(sample.solution.code)
            assert answer == sample.target.value and type(answer) is type(sample.target.value)


def test_own_phrases_never_trip_the_conflict_patterns() -> None:
    """A category's own sentences must pass its conflict check, or notes could never be written."""
    for category, patterns in crit.NOTE_CONFLICTS.items():
        compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
        texts: list[str] = [spec_by_name(category).question]
        for kind in spec_by_name(category).params.values():
            if kind in FINDINGS:
                texts += [*FINDINGS[kind].yes, *FINDINGS[kind].no]
            if kind in CHOICES:
                texts += [s for sentences in CHOICES[kind].options.values() for s in sentences]
            if kind in QUANTITIES:
                texts += [*QUANTITIES[kind].templates, *QUANTITIES[kind].labels]
        clashes = [text for text in texts for pattern in compiled if pattern.search(text)]
        assert not clashes, (category, clashes)


def test_the_notes_a_category_rejects_do_occur() -> None:
    """The conflict check is not vacuous: generate.py's plain notes for the same draw contain the
    rejected words often enough that some of the first samples needed a redraw."""
    from medagentgym.datasets.medcalcbench import generate

    spec = spec_by_name("feverpain")
    rng = random.Random(5)
    plain = [generate._render_once(generate.note_spec(spec), generate.propose(spec, rng), rng) for _ in range(40)]
    assert any(re.search(r"\btemperature \d", note) for note in plain)
    ours = [generate.render_note(spec, generate.propose(spec, rng), rng) for _ in range(40)]
    assert not any(re.search(r"\btemperature \d", note) for note in ours)


# --------------------------------------------------------------------------- hostile official rows


def test_hostile_entities_become_not_computable_rows_and_the_next_row_is_unaffected(tmp_path: Path) -> None:
    def row(number: int, calculator_id: int, entities: str) -> str:
        return json.dumps({
            "Row Number": number, "Calculator ID": calculator_id, "Calculator Name": "x",
            "Patient Note": f"Synthetic note {number} for this test.", "Question": "What is the score?",
            "Relevant Entities": entities, "Ground Truth Answer": "1", "Lower Limit": "1", "Upper Limit": "1",
        })

    marker = tmp_path / "pwned"
    injection = f"mild\\n__import__('os').system('touch {marker}')\\n"
    lines = [
        # an option outside the published table: the calculator refuses it (KeyError)
        row(1, 32, "{'age': [60, 'years'], 'Liver disease severity': '" + injection + "'}"),
        row(2, 18, "{'age': [60, 'years'], 'Suspicion History': 'Extremely suspicious', 'Electrocardiogram Test': 'Normal', "
                   "'Initial troponin': 'less than or equal to normal limit'}"),
        # a yes/no item given as text, a number given as a boolean, code instead of a literal
        row(3, 48, "{'age': [60, 'years'], 'Heart Rate or Pulse': [90, 'beats per minute'], "
                   "'O₂ saturation percentage': [97, '%'], 'Hemoptysis': 'yes'}"),
        row(4, 8, "{'Heart Rate or Pulse': [True, 'beats per minute']}"),
        row(5, 17, f"__import__('os').system('touch {marker}')"),
        # and a good row after them
        row(6, 33, "{'Purulent tonsils': True}"),
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(lines), encoding="utf-8")
    report = DATASET.import_file(source, tmp_path / "out.jsonl")
    assert report.rows_read == 6 and report.samples_written == 6 and report.rows_skipped == 0
    samples = {s.metadata["official_row_number"]: s for s in (
        Sample.model_validate(json.loads(line)) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines())}
    for number in (1, 2, 3, 4, 5):
        code = samples[number].solution.code
        compile(code, "<solution>", "exec")  # the problem text stays inside its comment
        assert run_solution(code) is None and samples[number].metadata["agrees"] is False
        assert "\n__import__" not in code
    assert not marker.exists()
    assert run_solution(samples[6].solution.code) == 1 and samples[6].metadata["agrees"] is True
    not_computable = sum(stats["not_computable"] for stats in report.details["agreement"].values())
    assert not_computable == 5
