"""Cross-check against the MedCalc-Bench authors' ``medcalc`` package (optional dependency).

The package's functions take snake_case keys with ``(value, unit)`` tuples; this table maps the
official entity names onto those keys so the same official row can be computed both ways. Used
by the agreement study (docs/medcalcbench.md) and by tests, never by generation or import.
"""

from __future__ import annotations

import importlib
from typing import Any

from medagentgym.datasets.medcalcbench.entities import ENTITY_MAP

_KEY_OF_PARAM = {
    "age": "age", "male": "sex", "weight_kg": "weight", "height_cm": "height", "creatinine_mg_dl": "creatinine",
    "systolic": "sys_bp", "diastolic": "dia_bp", "heart_rate": "heart_rate", "qt_msec": "qt_interval",
    "sodium": "sodium", "chloride": "chloride", "bicarbonate": "bicarbonate", "albumin_g_dl": "albumin",
    "calcium_mg_dl": "calcium", "glucose_mg_dl": "glucose", "bun_mg_dl": "bun", "insulin_uiu_ml": "insulin",
    "ast_u_l": "ast", "alt_u_l": "alt", "platelets_10e9_l": "platelet_count", "bilirubin_mg_dl": "bilirubin",
    "inr": "inr", "dialysis_twice": "dialysis_twice", "cvvhd": "cvvhd", "black": "race",
    "chf": "chf", "hypertension": "hypertension", "stroke": "stroke", "tia": "tia",
    "thromboembolism": "thromboembolism", "vascular_disease": "vascular_disease", "diabetes": "diabetes",
    "temperature_c": "temperature", "cough_absent": "cough_absent", "tender_anterior_nodes": "tender_lymph_nodes",
    "tonsillar_exudate": "exudate_swelling_tonsils", "eye": "best_eye_response", "verbal": "best_verbal_response",
    "motor": "best_motor_response", "urine_sodium": "urine_sodium", "urine_creatinine_mg_dl": "urine_creatinine",
    "total_cholesterol_mg_dl": "total_cholestrol", "hdl_mg_dl": "hdl_cholestrol", "triglycerides_mg_dl": "triglycerides",
    "respiratory_rate": "respiratory_rate", "confusion": "confusion", "target_bmi": "body_mass_index",
    "alcohol_drinks_per_week": "alcoholic_drinks",
}
_HAS_BLED_KEYS = {
    "hypertension": "hypertension", "renal_disease": "renal_disease_has_bled", "liver_disease": "liver_disease_has_bled",
    "stroke": "stroke", "prior_bleeding": "prior_bleeding", "labile_inr": "labile_inr",
    "bleeding_medication": "medications_for_bleeding",
}

# category -> (module, function) in the medcalc package; delta ratio (64) has no module there.
FUNCTIONS: dict[str, tuple[str, str]] = {
    "creatinine-clearance": ("creatinine_clearance", "generate_cockcroft_gault_explanation"),
    "ckd-epi-2021": ("ckd_epi_2021_creatinine", "ckd_epi_2021_explanation"),
    "cha2ds2-vasc": ("cha2ds2_vasc_score", "generate_cha2ds2_vasc_explanation"),
    "mean-arterial-pressure": ("mean_arterial_pressure", "mean_arterial_pressure_explanation"),
    "bmi": ("bmi_calculator", "bmi_calculator_explanation"),
    "calcium-correction": ("calcium_correction", "calculate_corrected_calcium_explanation"),
    "mdrd-gfr": ("mdrd_gfr", "mrdr_gfr_explanation"),
    "ideal-body-weight": ("ideal_body_weight", "ibw_explanation"),
    "qtc-bazett": ("qt_calculator_bazett", "bazett_calculator_explanation"),
    "qtc-fridericia": ("qt_calculator_fredericia", "fredericia_calculator_explanation"),
    "qtc-framingham": ("qt_calculator_framingham", "framingham_calculator_explanation"),
    "qtc-hodges": ("qt_calculator_hodges", "hodges_calculator_explanation"),
    "qtc-rautaharju": ("qt_calculator_rautaharju", "rautaharju_calculator_explanation"),
    "fib-4": ("fibrosis_4", "compute_fib4_explanation"),
    "centor-mcisaac": ("centor_score", "compute_centor_score_explanation"),
    "glasgow-coma-score": ("glasgow_coma_score", "compute_glasgow_coma_score_explanation"),
    "maintenance-fluids": ("maintenance_fluid_calc", "maintenance_fluid_explanation"),
    "meld-na": ("meldna", "compute_meldna_explanation"),
    "has-bled": ("has_bled_score", "compute_has_bled_score_explanation"),
    "sodium-correction-hyperglycemia": ("sch", "compute_sodium_correction_hyperglycemia_explanation"),
    "serum-osmolality": ("sOsm", "compute_serum_osmolality_explanation"),
    "homa-ir": ("homa_ir", "compute_homa_ir_explanation"),
    "free-water-deficit": ("free_water_deficit", "free_water_deficit_explanation"),
    "anion-gap": ("anion_gap", "compute_anion_gap_explanation"),
    "delta-gap": ("delta_gap", "compute_delta_gap_explanation"),
    "albumin-corrected-anion-gap": ("albumin_corrected_anion", "compute_albumin_corrected_anion_explanation"),
    "albumin-corrected-delta-gap": ("albumin_corrected_delta_gap", "compute_albumin_corrected_delta_gap_explanation"),
    "albumin-corrected-delta-ratio": ("albumin_delta_ratio", "compute_albumin_delta_ratio_explanation"),
    "fena": ("compute_fena", "compute_fena_explanation"),
    "ldl-calculated": ("ldl_calculated", "compute_ldl_explanation"),
    "curb-65": ("curb_65", "curb_65_explanation"),
    "body-surface-area": ("bsa_calculator", "bsa_calculator_explaination"),
    "target-weight": ("target_weight", "targetweight_explanation"),
    "adjusted-body-weight": ("adjusted_body_weight", "abw_explanation"),
}


def medcalc_inputs(category: str, entities: dict[str, Any]) -> dict[str, Any]:
    """The official entities renamed to the ``medcalc`` package's keys (values left as they are)."""
    mapping = ENTITY_MAP[category]
    keys = dict(_KEY_OF_PARAM)
    if category == "has-bled":
        keys.update(_HAS_BLED_KEYS)
    inputs: dict[str, Any] = {}
    for name, value in entities.items():
        param = mapping.get(name)
        if param is None:
            continue
        key = keys[param]
        inputs[key] = tuple(value) if isinstance(value, list) else value
    return inputs


def medcalc_answer(category: str, entities: dict[str, Any]) -> Any:
    """The ``medcalc`` package's answer for the row, or raise ImportError / its own error."""
    module_name, function_name = FUNCTIONS[category]
    module = importlib.import_module(f"medcalc.{module_name}")
    result = getattr(module, function_name)(medcalc_inputs(category, entities))
    return result["Answer"]
