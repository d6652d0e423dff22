"""MedCalc-Bench severity family: Child-Pugh, Glasgow-Blatchford, APACHE II, PSI, SOFA,
Framingham hard CHD and SIRS (``medcalcbench/severity.py``, ``categories_severity.toml``).

Calculators against hand-computed examples with every criterion toggled; the table and the
vocabulary; generated notes (each stated value in the note, consistent physiology, the answer
kept out of the prompt, both sides of every threshold common, distinct full counts); the official
rows (agreement per calculator, and every disagreement reproduced by the label rules it comes
from); the ``medcalc`` package as an independent cross-check; hostile official rows.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import json
import math
import random
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog import SPLITS
from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.catalog.splits import split_of
from medagentgym.datasets.medcalcbench import DATASET, label_rules, severity
from medagentgym.datasets.medcalcbench.categories import (
    spec_by_name,
    spec_by_official_id,
)
from medagentgym.datasets.medcalcbench.entities import (
    ENTITY_MAP,
    EntityError,
    givens_from_entities,
    parse_entities,
)
from medagentgym.datasets.medcalcbench.generate import (
    CHOICES,
    FINDINGS,
    QUANTITIES,
    note_writer,
)
from medagentgym.datasets.medcalcbench.severity import (
    apache_ii,
    child_pugh,
    framingham_hard_chd,
    glasgow_blatchford,
    pneumonia_severity_index,
    sirs_criteria,
    sofa,
)
from medagentgym.datasets.medcalcbench.solution import compute

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release" / "medcalcbench"

OFFICIAL = {
    15: ("child-pugh", "Child-Pugh Score for Cirrhosis Mortality", AnswerType.INTEGER),
    27: ("glasgow-blatchford", "Glasgow-Blatchford Bleeding Score (GBS)", AnswerType.INTEGER),
    28: ("apache-ii", "APACHE II Score", AnswerType.INTEGER),
    29: ("pneumonia-severity-index", "PSI Score: Pneumonia Severity Index for CAP", AnswerType.INTEGER),
    43: ("sofa", "Sequential Organ Failure Assessment (SOFA) Score", AnswerType.INTEGER),
    46: ("framingham-hard-chd", "Framingham Risk Score for Hard Coronary Heart Disease", AnswerType.NUMBER),
    51: ("sirs-criteria", "SIRS Criteria", AnswerType.INTEGER),
}
NAMES = [name for name, _, _ in OFFICIAL.values()]
CALCULATORS = [child_pugh, glasgow_blatchford, apache_ii, pneumonia_severity_index, sofa, framingham_hard_chd, sirs_criteria]


def run_solution(code: str) -> object:
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - our own reference code
    return namespace["answer"]


# --------------------------------------------------------------------------- Child-Pugh

CP_BASE = {"bilirubin_mg_dl": 1.0, "albumin_g_dl": 4.0, "inr": 1.1}


@pytest.mark.parametrize(
    ("change", "points"),
    [
        ({}, 5),
        ({"bilirubin_mg_dl": 1.99}, 5), ({"bilirubin_mg_dl": 2.0}, 6), ({"bilirubin_mg_dl": 3.0}, 6), ({"bilirubin_mg_dl": 3.01}, 7),
        ({"albumin_g_dl": 3.51}, 5), ({"albumin_g_dl": 3.5}, 6), ({"albumin_g_dl": 2.8}, 6), ({"albumin_g_dl": 2.79}, 7),
        ({"inr": 1.69}, 5), ({"inr": 1.7}, 6), ({"inr": 2.3}, 6), ({"inr": 2.31}, 7),
        ({"ascites": "slight"}, 6), ({"ascites": "Moderate"}, 7), ({"ascites": " ABSENT "}, 5),
        ({"encephalopathy": "Grade 1-2"}, 6), ({"encephalopathy": "grade 3-4"}, 7), ({"encephalopathy": "No Encephalopathy"}, 5),
        ({"bilirubin_mg_dl": 4.0, "albumin_g_dl": 2.5, "inr": 2.5, "ascites": "moderate", "encephalopathy": "Grade 3-4"}, 15),
    ],
)
def test_child_pugh_each_item(change: dict[str, Any], points: int) -> None:
    assert child_pugh(**{**CP_BASE, **change}) == points


def test_child_pugh_rejects_an_unknown_option() -> None:
    with pytest.raises(KeyError):
        child_pugh(**CP_BASE, ascites="massive; import os")


# --------------------------------------------------------------------------- Glasgow-Blatchford

GBS_BASE = {"bun_mg_dl": 15.0, "hemoglobin_g_dl": 14.0, "systolic": 125.0, "heart_rate": 80.0, "male": True}


@pytest.mark.parametrize(
    ("change", "points"),
    [
        ({}, 0),
        ({"bun_mg_dl": 18.1}, 0), ({"bun_mg_dl": 18.2}, 2), ({"bun_mg_dl": 22.4}, 3), ({"bun_mg_dl": 27.9}, 3),
        ({"bun_mg_dl": 28.0}, 4), ({"bun_mg_dl": 69.9}, 4), ({"bun_mg_dl": 70.0}, 6),
        ({"hemoglobin_g_dl": 13.0}, 0), ({"hemoglobin_g_dl": 12.9}, 1), ({"hemoglobin_g_dl": 12.0}, 1),
        ({"hemoglobin_g_dl": 11.9}, 3), ({"hemoglobin_g_dl": 10.0}, 3), ({"hemoglobin_g_dl": 9.9}, 6),
        ({"male": False}, 0), ({"male": False, "hemoglobin_g_dl": 12.0}, 0), ({"male": False, "hemoglobin_g_dl": 11.9}, 1),
        ({"male": False, "hemoglobin_g_dl": 10.0}, 1), ({"male": False, "hemoglobin_g_dl": 9.9}, 6),
        ({"systolic": 110.0}, 0), ({"systolic": 109.0}, 1), ({"systolic": 99.0}, 2), ({"systolic": 89.0}, 3),
        ({"heart_rate": 99.0}, 0), ({"heart_rate": 100.0}, 1),
        ({"melena": True}, 1), ({"syncope": True}, 2), ({"hepatic_disease": True}, 2), ({"cardiac_failure": True}, 2),
    ],
)
def test_glasgow_blatchford_each_item(change: dict[str, Any], points: int) -> None:
    assert glasgow_blatchford(**{**GBS_BASE, **change}) == points


def test_glasgow_blatchford_worked_example() -> None:
    # urea 12 mmol/L (BUN 33.6 mg/dL) 4, a man with Hb 11.0 g/dL 3, SBP 95 2, pulse 110 1,
    # melena 1, syncope 2 = 13 (Blatchford 2000 table)
    assert glasgow_blatchford(33.6, 11.0, 95.0, 110.0, True, melena=True, syncope=True) == 13


# --------------------------------------------------------------------------- APACHE II

APACHE_BASE: dict[str, Any] = {
    "age": 40, "temperature_c": 37.0, "systolic": 120.0, "diastolic": 75.0, "heart_rate": 80.0, "respiratory_rate": 16.0,
    "fio2": 21.0, "pao2": 90.0, "a_a_gradient": 20.0, "ph": 7.40, "sodium": 140.0, "potassium": 4.0,
    "creatinine_mg_dl": 1.0, "hematocrit": 40.0, "wbc_10e9_l": 8.0, "gcs": 15,
}


@pytest.mark.parametrize(
    ("change", "points"),
    [
        ({}, 0),
        ({"age": 44}, 0), ({"age": 45}, 2), ({"age": 55}, 3), ({"age": 65}, 5), ({"age": 74}, 5), ({"age": 75}, 6),
        ({"temperature_c": 41.0}, 4), ({"temperature_c": 39.0}, 3), ({"temperature_c": 38.5}, 1), ({"temperature_c": 38.4}, 0),
        ({"temperature_c": 36.0}, 0), ({"temperature_c": 35.9}, 1), ({"temperature_c": 33.0}, 2), ({"temperature_c": 31.0}, 3),
        ({"temperature_c": 29.9}, 4),
        ({"systolic": 190, "diastolic": 145}, 4), ({"systolic": 160, "diastolic": 115}, 3), ({"systolic": 150, "diastolic": 90}, 2),
        ({"systolic": 90, "diastolic": 60}, 0), ({"systolic": 80, "diastolic": 50}, 2), ({"systolic": 60, "diastolic": 40}, 4),
        ({"heart_rate": 180}, 4), ({"heart_rate": 140}, 3), ({"heart_rate": 110}, 2), ({"heart_rate": 109}, 0),
        ({"heart_rate": 69}, 2), ({"heart_rate": 54}, 3), ({"heart_rate": 39}, 4),
        ({"respiratory_rate": 50}, 4), ({"respiratory_rate": 35}, 3), ({"respiratory_rate": 25}, 1), ({"respiratory_rate": 24}, 0),
        ({"respiratory_rate": 11}, 1), ({"respiratory_rate": 9}, 2), ({"respiratory_rate": 5}, 4),
        ({"pao2": 71}, 0), ({"pao2": 70}, 1), ({"pao2": 61}, 1), ({"pao2": 60}, 3), ({"pao2": 55}, 3), ({"pao2": 54}, 4),
        ({"ph": 7.7}, 4), ({"ph": 7.65}, 3), ({"ph": 7.55}, 1), ({"ph": 7.33}, 0), ({"ph": 7.30}, 2), ({"ph": 7.2}, 3), ({"ph": 7.1}, 4),
        ({"sodium": 180}, 4), ({"sodium": 165}, 3), ({"sodium": 157}, 2), ({"sodium": 152}, 1), ({"sodium": 149}, 0),
        ({"sodium": 125}, 2), ({"sodium": 115}, 3), ({"sodium": 110}, 4),
        ({"potassium": 7.0}, 4), ({"potassium": 6.5}, 3), ({"potassium": 5.7}, 1), ({"potassium": 5.4}, 0),
        ({"potassium": 3.2}, 1), ({"potassium": 2.7}, 2), ({"potassium": 2.4}, 4),
        ({"creatinine_mg_dl": 3.5}, 4), ({"creatinine_mg_dl": 2.5}, 3), ({"creatinine_mg_dl": 1.7}, 2), ({"creatinine_mg_dl": 0.5}, 2),
        ({"creatinine_mg_dl": 1.7, "acute_renal_failure": True}, 4), ({"creatinine_mg_dl": 3.6, "acute_renal_failure": True}, 8),
        ({"creatinine_mg_dl": 1.0, "acute_renal_failure": True}, 0),
        ({"hematocrit": 60}, 4), ({"hematocrit": 55}, 2), ({"hematocrit": 47}, 1), ({"hematocrit": 25}, 2), ({"hematocrit": 19}, 4),
        ({"wbc_10e9_l": 40}, 4), ({"wbc_10e9_l": 25}, 2), ({"wbc_10e9_l": 16}, 1), ({"wbc_10e9_l": 2}, 2), ({"wbc_10e9_l": 0.5}, 4),
        ({"gcs": 14}, 1), ({"gcs": 3}, 12),
        ({"organ_insufficiency": True}, 5), ({"organ_insufficiency": True, "admission": "Emergency postoperative"}, 5),
        ({"organ_insufficiency": True, "admission": "Elective postoperative"}, 2),
        ({"organ_insufficiency": False, "admission": "Elective postoperative"}, 0),
    ],
)
def test_apache_ii_each_band(change: dict[str, Any], points: int) -> None:
    assert apache_ii(**{**APACHE_BASE, **change}) == points


@pytest.mark.parametrize(
    ("fio2", "pao2", "a_a", "points"),
    [
        (49, 50, 600, 4),  # FiO2 < 50 %: the PaO2 counts, the A-a gradient not
        (50, 50, 150, 0),  # FiO2 >= 50 %: the A-a gradient counts, the PaO2 not
        (60, 90, 200, 2), (60, 90, 349, 2), (60, 90, 350, 3), (100, 90, 499, 3), (100, 90, 500, 4),
        (None, 58, 300, 3),  # FiO2 not stated: room air
    ],
)
def test_apache_ii_oxygenation_rule(fio2: float | None, pao2: float, a_a: float, points: int) -> None:
    assert apache_ii(**{**APACHE_BASE, "fio2": fio2, "pao2": pao2, "a_a_gradient": a_a}) == points


def test_apache_ii_worked_example_and_missing_values() -> None:
    # 67 y 5; 38.7 °C 1; BP 90/50 -> MAP 63.3 2; HR 125 2; RR 30 1; FiO2 60 % A-a 380 3; pH 7.28 2;
    # Na 128 2; K 3.1 1; Cr 2.2 in ARF 3 x 2 = 6; Hct 28 2; WBC 18 1; GCS 11 4; cirrhosis,
    # emergency postoperative 5 -> 37
    case = {
        "age": 67, "temperature_c": 38.7, "systolic": 90, "diastolic": 50, "heart_rate": 125, "respiratory_rate": 30,
        "fio2": 60, "pao2": 70, "a_a_gradient": 380, "ph": 7.28, "sodium": 128, "potassium": 3.1, "creatinine_mg_dl": 2.2,
        "acute_renal_failure": True, "hematocrit": 28, "wbc_10e9_l": 18, "gcs": 11, "organ_insufficiency": True,
        "admission": "emergency postoperative",
    }
    assert apache_ii(**case) == 37
    assert apache_ii(age=80) == 6  # not measured = normal (Knaus 1985)
    with pytest.raises(KeyError):
        apache_ii(age=50, organ_insufficiency=True, admission="cardiac")


# --------------------------------------------------------------------------- PSI

PSI_BASE: dict[str, Any] = {
    "age": 50, "male": True, "respiratory_rate": 18, "systolic": 120, "temperature_c": 37.0, "heart_rate": 90, "ph": 7.40,
    "bun_mg_dl": 15, "sodium": 140, "glucose_mg_dl": 110, "hematocrit": 40, "pao2": 80,
}


@pytest.mark.parametrize(
    ("change", "points"),
    [
        ({}, 50), ({"age": 81}, 81), ({"male": False}, 40),
        ({"nursing_home": True}, 60), ({"neoplastic_disease": True}, 80), ({"liver_disease": True}, 70), ({"chf": True}, 60),
        ({"cerebrovascular_disease": True}, 60), ({"renal_disease": True}, 60), ({"altered_mental_status": True}, 70),
        ({"respiratory_rate": 29}, 50), ({"respiratory_rate": 30}, 70),
        ({"systolic": 90}, 50), ({"systolic": 89}, 70),
        ({"temperature_c": 35.0}, 50), ({"temperature_c": 34.9}, 65), ({"temperature_c": 39.9}, 50), ({"temperature_c": 40.0}, 65),
        ({"heart_rate": 124}, 50), ({"heart_rate": 125}, 60),
        ({"ph": 7.35}, 50), ({"ph": 7.34}, 80),
        ({"bun_mg_dl": 29.9}, 50), ({"bun_mg_dl": 30}, 70),
        ({"sodium": 130}, 50), ({"sodium": 129}, 70),
        ({"glucose_mg_dl": 249}, 50), ({"glucose_mg_dl": 250}, 60),
        ({"hematocrit": 30}, 50), ({"hematocrit": 29}, 60),
        ({"pao2": 60}, 50), ({"pao2": 59}, 60),
        ({"pleural_effusion": True}, 60),
    ],
)
def test_psi_each_of_the_twenty_items(change: dict[str, Any], points: int) -> None:
    assert pneumonia_severity_index(**{**PSI_BASE, **change}) == points


def test_psi_counts_missing_values_as_normal() -> None:
    assert pneumonia_severity_index(age=70, male=False) == 60
    assert pneumonia_severity_index(age=70.9, male=True, chf=True) == 80  # whole years


# --------------------------------------------------------------------------- SOFA

SOFA_BASE: dict[str, Any] = {
    "pao2": 100.0, "fio2": 21.0, "platelets_10e9_l": 200.0, "gcs": 15, "bilirubin_mg_dl": 0.8,
    "systolic": 120.0, "diastolic": 80.0, "creatinine_mg_dl": 0.9, "urine_output_ml_day": 1500.0,
}


@pytest.mark.parametrize(
    ("change", "points"),
    [
        ({}, 0),
        ({"pao2": 83, "fio2": 21}, 1), ({"pao2": 120, "fio2": 40}, 1), ({"pao2": 119, "fio2": 40}, 2),
        ({"pao2": 90, "fio2": 50}, 2), ({"pao2": 60, "fio2": 80}, 2),
        ({"pao2": 60, "fio2": 80, "mechanical_ventilation": True}, 4), ({"pao2": 90, "fio2": 60, "cpap": True}, 3),
        ({"pao2": 119, "fio2": 60, "mechanical_ventilation": True}, 3), ({"pao2": 120, "fio2": 60, "mechanical_ventilation": True}, 2),
        ({"platelets_10e9_l": 150}, 0), ({"platelets_10e9_l": 149}, 1), ({"platelets_10e9_l": 99}, 2),
        ({"platelets_10e9_l": 49}, 3), ({"platelets_10e9_l": 19}, 4),
        ({"gcs": 14}, 1), ({"gcs": 13}, 1), ({"gcs": 12}, 2), ({"gcs": 10}, 2), ({"gcs": 9}, 3), ({"gcs": 6}, 3), ({"gcs": 5}, 4),
        ({"bilirubin_mg_dl": 1.19}, 0), ({"bilirubin_mg_dl": 1.2}, 1), ({"bilirubin_mg_dl": 2.0}, 2),
        ({"bilirubin_mg_dl": 6.0}, 3), ({"bilirubin_mg_dl": 12.0}, 4),
        ({"systolic": 90, "diastolic": 59}, 1), ({"systolic": 90, "diastolic": 60}, 0), ({"hypotension": True}, 1),
        ({"dopamine": 5.0}, 2), ({"dobutamine": 10.0}, 2), ({"dopamine": 5.1}, 3), ({"epinephrine": 0.1}, 3),
        ({"norepinephrine": 0.05}, 3), ({"dopamine": 15.1}, 4), ({"epinephrine": 0.11}, 4), ({"norepinephrine": 0.2, "dobutamine": 5}, 4),
        ({"dobutamine": 5.0, "systolic": 80, "diastolic": 50}, 2),
        ({"creatinine_mg_dl": 1.2}, 1), ({"creatinine_mg_dl": 2.0}, 2), ({"creatinine_mg_dl": 3.5}, 3), ({"creatinine_mg_dl": 5.0}, 4),
        ({"urine_output_ml_day": 499}, 3), ({"urine_output_ml_day": 199}, 4), ({"urine_output_ml_day": 500}, 0),
        ({"urine_output_ml_day": 300, "creatinine_mg_dl": 5.5}, 4), ({"urine_output_ml_day": 150, "creatinine_mg_dl": 2.5}, 4),
    ],
)
def test_sofa_each_band(change: dict[str, Any], points: int) -> None:
    assert sofa(**{**SOFA_BASE, **change}) == points


@pytest.mark.parametrize(("pao2", "fraction", "points"), [(165, 0.55, 1), (84, 0.21, 0), (171, 0.57, 1), (116, 0.58, 2), (58, 0.58, 2)])
def test_sofa_ratio_exactly_on_a_band_edge(pao2: float, fraction: float, points: int) -> None:
    """An FiO2 written as a fraction must not move an exact ratio (165 / 0.55 = 300) below its edge."""
    fio2 = severity.fio2_fraction_to_percent(fraction)
    assert fio2 == round(fraction * 100)
    assert sofa(**{**SOFA_BASE, "pao2": pao2, "fio2": fio2}) == points


def test_sofa_organ_systems_without_values_score_zero() -> None:
    assert sofa() == 0
    assert sofa(gcs=8, creatinine_mg_dl=4.0) == 6
    with pytest.raises(ZeroDivisionError):
        sofa(pao2=80, fio2=0)


# --------------------------------------------------------------------------- Framingham


def _framingham_linear(risk_percent: float, male: bool) -> float:
    """The linear predictor L behind a risk: risk = 1 - S^exp(L)."""
    survival = 0.9402 if male else 0.98767
    return math.log(math.log(1.0 - risk_percent / 100.0) / math.log(survival))


def test_framingham_worked_examples() -> None:
    # 55-year-old man, TC 213, HDL 50, SBP 120, untreated, non-smoker: 6.5 % (ATP III point
    # tables: 10 points = 6 %); L computed term by term from the published coefficients:
    ln_age, ln_tc, ln_hdl, ln_sbp = math.log(55), math.log(213), math.log(50), math.log(120)
    linear = (52.00961 * ln_age + 20.014077 * ln_tc - 0.905964 * ln_hdl + 1.305784 * ln_sbp
              - 4.605038 * ln_age * ln_tc - 2.93323 * ln_age**2 - 172.300168)
    assert linear == pytest.approx(0.08748, abs=1e-4)
    assert framingham_hard_chd(55, True, 213, 50, 120) == pytest.approx(6.5085, abs=1e-3)
    assert framingham_hard_chd(55, True, 213, 50, 120) == pytest.approx(100 * (1 - 0.9402 ** math.exp(linear)))
    assert framingham_hard_chd(55, False, 213, 50, 120) == pytest.approx(1.2097, abs=1e-3)


def test_framingham_each_input_moves_the_risk() -> None:
    base = {"age": 55, "male": True, "total_cholesterol_mg_dl": 213, "hdl_mg_dl": 50, "systolic": 120}
    risk = framingham_hard_chd(**base)
    assert framingham_hard_chd(**{**base, "smoker": True}) > risk
    assert framingham_hard_chd(**{**base, "bp_treated": True}) > risk
    assert framingham_hard_chd(**{**base, "systolic": 150}) > risk
    assert framingham_hard_chd(**{**base, "hdl_mg_dl": 35}) > risk
    assert framingham_hard_chd(**{**base, "total_cholesterol_mg_dl": 260}) > risk
    assert framingham_hard_chd(**{**base, "age": 65}) > risk
    # the smoking term uses min(age, 70) in men and min(age, 78) in women
    for male, cap in ((True, 70), (False, 78)):
        survival = 0.9402 if male else 0.98767
        smoke_coefficient = 2.84367 if male else 2.996945
        for age in (cap + 2, cap + 5):
            args = {**base, "male": male, "age": age}
            gap = _framingham_linear(framingham_hard_chd(**args, smoker=True), male) - _framingham_linear(framingham_hard_chd(**args), male)
            expected = (12.096316 if male else 13.07543) - smoke_coefficient * math.log(cap)
            assert gap == pytest.approx(expected, abs=1e-6), (male, age, survival)


# --------------------------------------------------------------------------- SIRS

SIRS_BASE = {"temperature_c": 37.0, "heart_rate": 80.0, "wbc_10e9_l": 8.0, "respiratory_rate": 16.0, "paco2": 40.0, "bands_percent": 2.0}


@pytest.mark.parametrize(
    ("change", "count"),
    [
        ({}, 0),
        ({"temperature_c": 38.0}, 0), ({"temperature_c": 38.1}, 1), ({"temperature_c": 36.0}, 0), ({"temperature_c": 35.9}, 1),
        ({"heart_rate": 90}, 0), ({"heart_rate": 91}, 1),
        ({"respiratory_rate": 20}, 0), ({"respiratory_rate": 21}, 1), ({"paco2": 32}, 0), ({"paco2": 31.9}, 1),
        ({"respiratory_rate": 24, "paco2": 28}, 1),
        ({"wbc_10e9_l": 12.0}, 0), ({"wbc_10e9_l": 12.1}, 1), ({"wbc_10e9_l": 4.0}, 0), ({"wbc_10e9_l": 3.9}, 1),
        ({"bands_percent": 10}, 0), ({"bands_percent": 11}, 1), ({"bands_percent": 15, "wbc_10e9_l": 20}, 1),
        ({"temperature_c": 39, "heart_rate": 120, "respiratory_rate": 28, "wbc_10e9_l": 2.0}, 4),
    ],
)
def test_sirs_each_criterion(change: dict[str, Any], count: int) -> None:
    assert sirs_criteria(**{**SIRS_BASE, **change}) == count


def test_sirs_unstated_values_do_not_count() -> None:
    assert sirs_criteria(37.0, 80.0, 8.0) == 0


# --------------------------------------------------------------------------- table and vocabulary


DEFAULTS = tomllib.loads(resources.files("medagentgym.datasets.medcalcbench").joinpath("categories.toml").read_text("utf-8"))["defaults"]


def test_table_rows_and_vocabulary() -> None:
    for official_id, (name, official_name, answer_type) in OFFICIAL.items():
        spec = spec_by_name(name)
        assert spec_by_official_id(official_id) is spec
        assert (spec.official_name, spec.answer_type) == (official_name, answer_type)
        assert spec.counts == DEFAULTS["counts"] and spec.full_counts == DEFAULTS["full"]  # the shared defaults
        signature = inspect.signature(spec.function).parameters
        assert set(spec.params) == set(signature), name
        for param, kind in spec.params.items():
            assert kind in QUANTITIES or kind in FINDINGS or kind in CHOICES or kind == "sex", (name, kind)
            if kind in FINDINGS:
                assert signature[param].default is False, (name, param)
        assert set(ENTITY_MAP[name].values()) <= set(signature), name
        for kind in spec.ranges:
            assert kind in spec.params.values(), (name, kind)
    for table in severity.UNIT_TABLE.values():
        assert all(unit == unit.lower() for unit in table)
    # the kinds this family adds are its own; the ones it reuses come from facts.py
    from medagentgym.datasets.medcalcbench import facts

    for attribute in ("QUANTITIES", "FINDINGS", "CHOICES"):
        assert not set(getattr(severity, attribute)) & set(getattr(facts, attribute))


@pytest.mark.parametrize("function", CALCULATORS, ids=lambda f: f.__name__)
def test_calculators_are_self_contained(function: Callable[..., Any]) -> None:
    """The embedded source runs with nothing but ``math``: no module constant, no helper."""
    source = inspect.getsource(function)
    namespace: dict[str, Any] = {"math": math}
    exec(source, namespace)  # noqa: S102 - our own calculator source
    names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    local = set(inspect.signature(function).parameters) | {function.__name__}
    assigned = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    free = names - local - assigned - {"math", "int", "max", "min", "float", "bool", "str", "abs", "round"}
    assert not free, free
    assert function.__doc__ and "(" in function.__doc__  # the source is cited


# --------------------------------------------------------------------------- generated samples


@pytest.mark.parametrize("name", NAMES)
def test_solution_reproduces_target(name: str) -> None:
    for split in SPLITS:
        for index in range(5):
            sample = DATASET.generate(name, split, index, seed=3)
            answer = run_solution(sample.solution.code)
            assert answer == sample.target.value and type(answer) is type(sample.target.value), sample.id
            assert split_of(sample.metadata["content_key"]) == split
            assert DATASET.generate(name, split, index, seed=3) == sample


def _phrases(texts: tuple[str, ...]) -> list[str]:
    out = []
    for text in texts:
        for he, his, him in (("He", "His", "him"), ("She", "Her", "her")):
            out.append(text.format(He=he, His=his, he=he.lower(), his=his.lower(), him=him))
    return out


def _check_note(name: str, sample: Sample) -> None:
    spec = spec_by_name(name)
    note = sample.prompt.split("\n\nQuestion:")[0]
    for given in sample.metadata["givens"]:
        kind, value = spec.params[given["param"]], given["value"]
        where = (sample.id, given)
        if kind == "sex":
            assert re.search(r"-year-old (man|boy)" if value else r"-year-old (woman|girl)", note), where
        elif kind in severity.INFUSIONS and value == 0:
            pattern = r"(?<!nor)epinephrine" if kind == "epinephrine" else kind
            assert not re.search(pattern, note, re.IGNORECASE), where
        elif isinstance(value, bool):
            finding = FINDINGS[kind]
            yes = [p for p in _phrases(finding.yes) if p in note]
            assert bool(yes) == value, where
            if finding.always_state and not value:
                assert any(p in note for p in _phrases(finding.no)), where
        elif isinstance(value, str):
            assert any(p in note for p in _phrases(CHOICES[kind].options[value])), where
        else:
            assert str(value) in note, where
    assert spec.question in sample.prompt


@pytest.mark.parametrize("name", NAMES)
def test_notes_state_every_given_and_hide_the_answer(name: str) -> None:
    for index in range(12):
        sample = DATASET.generate(name, "train", index)
        _check_note(name, sample)
        prompt = sample.prompt.lower()
        target = sample.target.value
        assert "def " not in prompt and "answer =" not in prompt and "import math" not in prompt
        assert not re.search(rf"(score|index|risk|criteria)( is| of|:) {re.escape(str(target))}\b", prompt), sample.id
        if sample.target.answer_type is AnswerType.NUMBER:
            assert f"{target:.3f}" not in prompt and f"{target:.1f}%" not in prompt
        assert "target" not in sample.public_view() and "solution" not in sample.public_view()


def test_blood_gas_infusions_and_ventilation_are_consistent() -> None:
    for name in ("apache-ii", "sofa", "pneumonia-severity-index"):
        spec = spec_by_name(name)
        writer = note_writer(spec)
        for seed in range(150):
            draw = writer.propose(spec, random.Random(seed))
            given = {g.param: g.canonical for g in draw.givens}
            fio2 = given.get("fio2", 21.0)
            # PaO2 below the alveolar PO2 with a PaCO2 of at least 30 mm Hg
            assert given["pao2"] < fio2 / 100 * 713 - 30 / 0.8, (name, seed)
            if "a_a_gradient" in given:
                alveolar = given["pao2"] + draw.values["a_a_gradient"]
                assert 713 * fio2 / 100 - 48 / 0.8 <= alveolar <= 713 * fio2 / 100 - 30 / 0.8
                assert abs(given["a_a_gradient"] - draw.values["a_a_gradient"]) <= 0.5
            saturation = draw.shown["spo2"].value
            assert saturation == round(severity.severinghaus_spo2(given["pao2"]))
            assert (saturation < 90) <= (given["pao2"] < 60)  # the PSI hypoxaemia item cannot disagree
            if name == "sofa":
                assert not (given["mechanical_ventilation"] and given["cpap"])
                assert "hypotension" not in given  # import-only: the note's blood pressure decides
    doses = [
        [g.canonical for g in note_writer(spec_by_name("sofa")).propose(spec_by_name("sofa"), random.Random(s)).givens
         if g.param in severity.INFUSIONS]
        for s in range(200)
    ]
    none_running = sum(all(d == 0 for d in row) for row in doses) / len(doses)
    assert 0.25 < none_running < 0.6


def test_notes_are_free_of_contradicting_filler() -> None:
    for index in range(40):
        note = DATASET.generate("framingham-hard-chd", "train", index).prompt
        assert not re.search(r"former smoker\.|has never smoked\.|half a pack", note)
    for index in range(40):
        sample = DATASET.generate("child-pugh", "train", index)
        ascites = next(g["value"] for g in sample.metadata["givens"] if g["param"] == "ascites")
        if ascites != "absent":
            assert "abdomen was soft" not in sample.prompt


def _canonical_draws(name: str, count: int = 300) -> list[dict[str, Any]]:
    spec = spec_by_name(name)
    writer = note_writer(spec)
    return [{g.param: g.canonical for g in writer.propose(spec, random.Random(seed)).givens} for seed in range(count)]


def _pf(g: dict[str, Any]) -> float:
    return g["pao2"] / (g["fio2"] / 100)


def _map(g: dict[str, Any]) -> float:
    return (g["systolic"] + 2 * g["diastolic"]) / 3


# Each criterion of each score, as a predicate on the canonical givens: both sides must be common.
CRITERIA: dict[str, dict[str, Callable[[dict[str, Any]], bool]]] = {
    "child-pugh": {
        "bilirubin < 2": lambda g: g["bilirubin_mg_dl"] < 2, "bilirubin > 3": lambda g: g["bilirubin_mg_dl"] > 3,
        "albumin > 3.5": lambda g: g["albumin_g_dl"] > 3.5, "albumin < 2.8": lambda g: g["albumin_g_dl"] < 2.8,
        "INR < 1.7": lambda g: g["inr"] < 1.7, "INR > 2.3": lambda g: g["inr"] > 2.3,
        "no ascites": lambda g: g["ascites"] == "absent", "moderate ascites": lambda g: g["ascites"] == "moderate",
        "no encephalopathy": lambda g: g["encephalopathy"] == "No Encephalopathy",
        "grade 3-4": lambda g: g["encephalopathy"] == "Grade 3-4",
    },
    "glasgow-blatchford": {
        "BUN >= 18.2": lambda g: g["bun_mg_dl"] >= 18.2, "BUN >= 28": lambda g: g["bun_mg_dl"] >= 28,
        "Hb < 10": lambda g: g["hemoglobin_g_dl"] < 10, "Hb < 12": lambda g: g["hemoglobin_g_dl"] < 12,
        "male": lambda g: g["male"], "SBP < 110": lambda g: g["systolic"] < 110, "SBP < 90": lambda g: g["systolic"] < 90,
        "pulse >= 100": lambda g: g["heart_rate"] >= 100, "melena": lambda g: g["melena"], "syncope": lambda g: g["syncope"],
        "hepatic": lambda g: g["hepatic_disease"], "cardiac": lambda g: g["cardiac_failure"],
    },
    "apache-ii": {
        "temperature": lambda g: not 36 <= g["temperature_c"] < 38.5, "MAP": lambda g: not 70 <= _map(g) < 110,
        "heart rate": lambda g: not 70 <= g["heart_rate"] < 110, "respiratory rate": lambda g: not 12 <= g["respiratory_rate"] < 25,
        "FiO2 >= 50": lambda g: g["fio2"] >= 50, "A-a >= 200": lambda g: g["a_a_gradient"] >= 200,
        "PaO2 <= 70": lambda g: g["pao2"] <= 70, "pH": lambda g: not 7.33 <= g["ph"] < 7.5,
        "sodium": lambda g: not 130 <= g["sodium"] < 150, "potassium": lambda g: not 3.5 <= g["potassium"] < 5.5,
        "creatinine": lambda g: not 0.6 <= g["creatinine_mg_dl"] < 1.5, "ARF": lambda g: g["acute_renal_failure"],
        "hematocrit": lambda g: not 30 <= g["hematocrit"] < 46, "WBC": lambda g: not 3 <= g["wbc_10e9_l"] < 15,
        "GCS < 15": lambda g: g["gcs"] < 15, "age >= 45": lambda g: g["age"] >= 45,
        "organ insufficiency": lambda g: g["organ_insufficiency"], "elective": lambda g: g["admission"] == "Elective postoperative",
    },
    "pneumonia-severity-index": {
        "female": lambda g: not g["male"], "nursing home": lambda g: g["nursing_home"], "neoplasm": lambda g: g["neoplastic_disease"],
        "liver": lambda g: g["liver_disease"], "CHF": lambda g: g["chf"], "cerebrovascular": lambda g: g["cerebrovascular_disease"],
        "renal": lambda g: g["renal_disease"], "mental status": lambda g: g["altered_mental_status"],
        "RR >= 30": lambda g: g["respiratory_rate"] >= 30, "SBP < 90": lambda g: g["systolic"] < 90,
        "temperature": lambda g: g["temperature_c"] < 35 or g["temperature_c"] >= 40, "pulse >= 125": lambda g: g["heart_rate"] >= 125,
        "pH < 7.35": lambda g: g["ph"] < 7.35, "BUN >= 30": lambda g: g["bun_mg_dl"] >= 30, "Na < 130": lambda g: g["sodium"] < 130,
        "glucose >= 250": lambda g: g["glucose_mg_dl"] >= 250, "Hct < 30": lambda g: g["hematocrit"] < 30,
        "PaO2 < 60": lambda g: g["pao2"] < 60, "effusion": lambda g: g["pleural_effusion"],
    },
    "sofa": {
        "support": lambda g: g["mechanical_ventilation"] or g["cpap"], "CPAP": lambda g: g["cpap"],
        "P/F < 400": lambda g: _pf(g) < 400, "P/F < 200": lambda g: _pf(g) < 200,
        "platelets < 150": lambda g: g["platelets_10e9_l"] < 150, "GCS < 15": lambda g: g["gcs"] < 15,
        "GCS < 10": lambda g: g["gcs"] < 10, "bilirubin >= 1.2": lambda g: g["bilirubin_mg_dl"] >= 1.2,
        "bilirubin >= 6": lambda g: g["bilirubin_mg_dl"] >= 6,
        "any infusion": lambda g: any(g[k] > 0 for k in severity.INFUSIONS),
        "high-dose infusion": lambda g: g["dopamine"] > 15 or g["epinephrine"] > 0.1 or g["norepinephrine"] > 0.1,
        "MAP < 70": lambda g: _map(g) < 70, "creatinine >= 1.2": lambda g: g["creatinine_mg_dl"] >= 1.2,
        "creatinine >= 3.5": lambda g: g["creatinine_mg_dl"] >= 3.5, "urine < 500": lambda g: g["urine_output_ml_day"] < 500,
    },
    "framingham-hard-chd": {
        "male": lambda g: g["male"], "smoker": lambda g: g["smoker"], "treated": lambda g: g["bp_treated"],
        "age above the smoking cap": lambda g: g["age"] > (70 if g["male"] else 78) or (g["male"] and g["age"] > 60),
    },
    "sirs-criteria": {
        "temperature": lambda g: g["temperature_c"] > 38 or g["temperature_c"] < 36, "heart rate": lambda g: g["heart_rate"] > 90,
        "RR > 20": lambda g: g["respiratory_rate"] > 20, "PaCO2 < 32": lambda g: g["paco2"] < 32,
        "WBC": lambda g: g["wbc_10e9_l"] > 12 or g["wbc_10e9_l"] < 4, "bands > 10": lambda g: g["bands_percent"] > 10,
    },
}


@pytest.mark.parametrize("name", NAMES)
def test_both_sides_of_every_criterion_are_common(name: str) -> None:
    draws = _canonical_draws(name)
    for criterion, predicate in CRITERIA[name].items():
        share = sum(bool(predicate(g)) for g in draws) / len(draws)
        assert 0.08 <= share <= 0.92, (name, criterion, share)
    if name != "framingham-hard-chd":
        assert len({compute_target(name, g) for g in draws}) >= 4  # the score itself varies


def compute_target(name: str, canonical: dict[str, Any]) -> Any:
    return spec_by_name(name).function(**canonical)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_full_counts_are_distinct_and_disjoint(name: str) -> None:
    category = next(c for c in DATASET.categories() if c.name == name)
    keys = {}
    for split in SPLITS:
        count = category.count(split, full=True)
        keys[split] = [DATASET.generate(name, split, index).metadata["content_key"] for index in range(count)]
        assert len(set(keys[split])) == count, (name, split)
    assert not set(keys["train"]) & set(keys["test"])


# --------------------------------------------------------------------------- the official rows
# The official labels were produced by MedCalc-Bench's own code, whose conventions depart from
# the published scores. ``label_rules.py`` restates those conventions (from the facts of each
# slip, never copying the ``medcalc`` package) and each rule must reproduce every label; where
# our published calculator differs, the difference is one of the named departures.


def psi_label(e: dict[str, Any]) -> int:
    """The PSI labels follow the published score: the package is right here (its "> 39.9 °C"
    and its reading of "degrees celsisus" as °F change no official row), so PSI has no label
    rule and our calculator is its own reconstruction."""
    spec = spec_by_name("pneumonia-severity-index")
    return compute(spec.function, givens_from_entities(spec, e)[0], spec.answer_type)


LABEL_RULES: dict[str, Callable[[dict[str, Any]], Any]] = {
    **{name: label_rules.RULES[name].function for name in NAMES if name != "pneumonia-severity-index"},
    "pneumonia-severity-index": psi_label,
}

# Agreement of our (published) calculators with the official labels, test_tasks_dev_half.jsonl.
MEASURED = {
    "child-pugh": (10, 1), "glasgow-blatchford": (10, 8), "apache-ii": (10, 0), "pneumonia-severity-index": (10, 10),
    "sofa": (10, 0), "framingham-hard-chd": (8, 0), "sirs-criteria": (10, 4),
}


def _official_rows() -> list[dict[str, Any]]:
    path = REFERENCE / "test_tasks_dev_half.jsonl"
    if not path.exists():
        pytest.skip(f"official MedCalc-Bench reference file not found at {path} (shared/reference absent)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if int(row["Calculator ID"]) in OFFICIAL]


def test_official_rows_import_and_agreement(tmp_path: Path) -> None:
    rows = _official_rows()
    source = tmp_path / "severity.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    report = DATASET.import_file(source, tmp_path / "out.jsonl")
    assert report.rows_skipped == 0 and report.samples_written == len(rows) == 68
    agreement = report.details["agreement"]
    for name, (count, agree) in MEASURED.items():
        stats = agreement[name]
        assert (stats["rows"], stats["agree"]) == (count, agree), (name, stats)
        assert stats["not_computable"] == 0, (name, stats)  # row 606 writes its pulse in "bpm", a known unit
        # every label is ours or reproduced by the calculator's label rule
        assert stats["explained"] == count and stats["unexplained"] == [], (name, stats)
        assert stats["reproduced"] == (0 if name == "pneumonia-severity-index" else count), (name, stats)
    for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines():
        sample = Sample.model_validate(json.loads(line))
        assert run_solution(sample.solution.code) == sample.metadata["our_value"]


@pytest.mark.parametrize("name", NAMES)
def test_every_official_label_follows_the_label_rules(name: str) -> None:
    spec = spec_by_name(name)
    rule = LABEL_RULES[name]
    disagreements = 0
    for row in _official_rows():
        if OFFICIAL[int(row["Calculator ID"])][0] != name:
            continue
        entities = parse_entities(row["Relevant Entities"])
        label = float(row["Ground Truth Answer"])
        assert rule(entities) == pytest.approx(label), (row["Row Number"], rule(entities), label)
        ours = compute(spec.function, givens_from_entities(spec, entities)[0], spec.answer_type)  # every row computes
        if ours != pytest.approx(label, rel=0.05):
            disagreements += 1
    count, agree = MEASURED[name]
    assert disagreements == count - agree


# --------------------------------------------------------------------------- medcalc cross-check

MEDCALC: dict[str, tuple[str, str, dict[str, str]]] = {
    "child-pugh": ("child_pugh_score", "compute_child_pugh_score_explanation", {
        "international normalized ratio": "inr", "Ascites": "ascites", "Albumin": "albumin",
        "Encephalopathy": "encephalopathy", "Bilirubin": "bilirubin"}),
    "glasgow-blatchford": ("glasgow_bleeding_score", "glasgow_bleeding_score_explanation", {
        "Hepatic disease history": "hepatic_disease_history", "Blood Urea Nitrogen (BUN)": "bun", "Recent syncope": "syncope",
        "Heart Rate or Pulse": "heart_rate", "Hemoglobin": "hemoglobin", "sex": "sex", "Systolic Blood Pressure": "sys_bp",
        "Cardiac failure present": "cardiac_failure", "Melena present": "melena_present"}),
    "apache-ii": ("apache_ii", "apache_ii_explanation", {
        "Heart Rate or Pulse": "heart_rate", "Sodium": "sodium", "creatinine": "creatinine", "FiO₂": "fio2",
        "Systolic Blood Pressure": "sys_bp", "Diastolic Blood Pressure": "dia_bp", "age": "age",
        "Acute renal failure": "acute_renal_failure", "Chronic Renal Failure": "chronic_renal_failure",
        "Hematocrit": "hemocratit", "Glasgow Coma Score": "gcs", "pH": "pH", "White blood cell count": "wbc",
        "Potassium": "potassium", "Temperature": "temperature", "respiratory rate": "respiratory_rate",
        "History of severe organ failure or immunocompromise": "organ_failure_immunocompromise",
        "A-a gradient": "a_a_gradient", "Partial pressure of oxygen (PaO₂) for Apache II": "partial_pressure_oxygen",
        "Surgery Type": "surgery_type"}),
    "pneumonia-severity-index": ("psi_score", "psi_score_explanation", {
        "Hematocrit": "hemocratit", "Glucose": "glucose", "Partial pressure of oxygen (PaO₂) for Apache II": "partial_pressure_oxygen",
        "Congestive Heart Faliure": "chf", "Renal disease": "renal_disease", "Cerebrovascular disease history": "cerebrovascular_disease",
        "Liver disease severity": "liver_disease", "Neoplastic disease": "neoplastic_disease", "pH": "pH",
        "Blood Urea Nitrogen (BUN)": "bun", "age": "age", "Altered mental status": "altered_mental_status",
        "Temperature": "temperature", "Sodium": "sodium", "Heart Rate or Pulse": "heart_rate",
        "Pleural effusion on x-ray": "pleural_effusion", "sex": "sex", "Systolic Blood Pressure": "sys_bp",
        "respiratory rate": "respiratory_rate", "Nursing home resident": "nursing_home_resident"}),
    "sofa": ("sofa", "compute_sofa_explanation", {
        "FiO₂": "fio2", "On mechanical ventilation": "mechanical_ventilation",
        "Partial pressure of oxygen (PaO₂) for Apache II": "partial_pressure_oxygen", "Hypotension": "hypotension",
        "Glasgow Coma Score": "gcs", "creatinine": "creatinine", "Bilirubin": "bilirubin", "Platelet count": "platelet_count",
        "Continous positive airway pressure": "cpap", "EPINEPHrine": "epinephrine", "DOPamine": "dopamine",
        "norEPINEPHrine": "norepinephrine", "DOBUTamine": "dobutamine", "Urine Output": "urine_output",
        "Systolic Blood Pressure": "sys_bp", "Diastolic Blood Pressure": "dia_bp"}),
    "framingham-hard-chd": ("framingham_risk_score", "framingham_risk_score_explanation", {
        "sex": "sex", "age": "age", "Systolic Blood Pressure": "sys_bp", "Smoker": "smoker",
        "Total cholesterol": "total_cholestrol", "high-density lipoprotein cholesterol": "hdl_cholestrol",
        "Blood pressure being treated with medicines": "bp_medicine"}),
    "sirs-criteria": ("sirs_criteria", "sirs_criteria_explanation", {
        "Temperature": "temperature", "Heart Rate or Pulse": "heart_rate", "respiratory rate": "respiratory_rate",
        "White blood cell count": "wbc", "PaCO₂": "paco2"}),
}


def _medcalc(name: str, inputs: dict[str, Any]) -> Any:
    module_name, function_name, _ = MEDCALC[name]
    function = getattr(importlib.import_module(f"medcalc.{module_name}"), function_name)
    with contextlib.redirect_stdout(io.StringIO()):
        return function(inputs)


def _medcalc_inputs(name: str, entities: dict[str, Any]) -> dict[str, Any]:
    keys = MEDCALC[name][2]
    inputs = {keys[k]: tuple(v) if isinstance(v, list) else v for k, v in entities.items() if k in keys}
    if name == "pneumonia-severity-index" and inputs["sodium"][1] == "mEq/L":
        inputs["sodium"] = (inputs["sodium"][0], "mmol/L")  # the package has no valence for sodium
    return inputs


@pytest.mark.parametrize("name", NAMES)
def test_medcalc_package_reproduces_the_official_labels(name: str) -> None:
    """The labels are the package's output: the disagreements above are its conventions."""
    pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    for row in _official_rows():
        if OFFICIAL[int(row["Calculator ID"])][0] != name:
            continue
        answer = _medcalc(name, _medcalc_inputs(name, parse_entities(row["Relevant Entities"])))["Answer"]
        if name == "framingham-hard-chd":
            answer = answer / 100  # the package reports the rounded fraction x 100, the label the fraction
        assert float(answer) == pytest.approx(float(row["Ground Truth Answer"])), row["Row Number"]


def test_medcalc_crosscheck_on_generated_inputs() -> None:
    """Where the package follows the published score, it must agree with ours on generated
    inputs: PSI everywhere (but 39.9-40 °C, its "> 39.9"), GBS and Child-Pugh away from the band
    ends it handles differently, SIRS once its unconditional heart-rate point is taken out."""
    pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    checked = dict.fromkeys(("psi", "gbs", "child-pugh", "sirs"), 0)
    for g in _canonical_draws("pneumonia-severity-index", 120):
        if 39.9 < g["temperature_c"] < 40.0:
            continue
        inputs = {
            "age": (g["age"], "years"), "sex": "Male" if g["male"] else "Female", "heart_rate": (g["heart_rate"], "beats per minute"),
            "temperature": (g["temperature_c"], "degrees celsius"), "pH": g["ph"], "respiratory_rate": (g["respiratory_rate"], "breaths per minute"),
            "sys_bp": (g["systolic"], "mm Hg"), "bun": (g["bun_mg_dl"], "mg/dL"), "sodium": (g["sodium"], "mmol/L"),
            "glucose": (g["glucose_mg_dl"], "mg/dL"), "hemocratit": (g["hematocrit"], "%"), "partial_pressure_oxygen": (g["pao2"], "mm Hg"),
            "nursing_home_resident": g["nursing_home"], "neoplastic_disease": g["neoplastic_disease"], "liver_disease": g["liver_disease"],
            "chf": g["chf"], "cerebrovascular_disease": g["cerebrovascular_disease"], "renal_disease": g["renal_disease"],
            "altered_mental_status": g["altered_mental_status"], "pleural_effusion": g["pleural_effusion"],
        }
        assert _medcalc("pneumonia-severity-index", inputs)["Answer"] == pneumonia_severity_index(**g), g
        checked["psi"] += 1
    for g in _canonical_draws("glasgow-blatchford", 120):
        if g["hemoglobin_g_dl"] in (10.0, 12.0, 13.0) or g["bun_mg_dl"] == 70.0:
            continue
        inputs = {
            "hemoglobin": (g["hemoglobin_g_dl"], "g/dL"), "bun": (g["bun_mg_dl"], "mg/dL"), "sys_bp": (g["systolic"], "mm Hg"),
            "heart_rate": (g["heart_rate"], "beats per minute"), "sex": "Male" if g["male"] else "Female",
            "melena_present": g["melena"], "syncope": g["syncope"], "hepatic_disease_history": g["hepatic_disease"],
            "cardiac_failure": g["cardiac_failure"],
        }
        assert _medcalc("glasgow-blatchford", inputs)["Answer"] == glasgow_blatchford(**g), g
        checked["gbs"] += 1
    for g in _canonical_draws("child-pugh", 120):
        if g["bilirubin_mg_dl"] in (2.0, 3.0) or g["albumin_g_dl"] == 2.8:
            continue
        inputs = {
            "bilirubin": (g["bilirubin_mg_dl"], "mg/dL"), "albumin": (g["albumin_g_dl"], "g/dL"), "inr": g["inr"],
            "ascites": g["ascites"].capitalize(), "encephalopathy": g["encephalopathy"],
        }
        assert _medcalc("child-pugh", inputs)["Answer"] == child_pugh(**g), g
        checked["child-pugh"] += 1
    for g in _canonical_draws("sirs-criteria", 120):
        inputs = {
            "temperature": (g["temperature_c"], "degrees celsius"), "heart_rate": (g["heart_rate"], "beats per minute"),
            "respiratory_rate": (g["respiratory_rate"], "breaths per minute"), "paco2": (g["paco2"], "mm Hg"),
            "wbc": (g["wbc_10e9_l"] * 1000, "m^3"),
        }
        ours = sirs_criteria(g["temperature_c"], g["heart_rate"], g["wbc_10e9_l"], g["respiratory_rate"], g["paco2"])
        assert _medcalc("sirs-criteria", inputs)["Answer"] - int(g["heart_rate"] <= 90) == ours, g
        checked["sirs"] += 1
    assert min(checked.values()) >= 80, checked


def test_medcalc_crosscheck_framingham_coefficients() -> None:
    """With cholesterol passed unconverted, the package evaluates the same equation; its L
    (rounded to 0.1 in its explanation) must match the L behind our risk."""
    pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    for g in _canonical_draws("framingham-hard-chd", 60):
        inputs = {
            "sex": "Male" if g["male"] else "Female", "age": (g["age"], "years"), "sys_bp": (g["systolic"], "mm Hg"),
            "smoker": g["smoker"], "bp_medicine": g["bp_treated"],
            "total_cholestrol": (g["total_cholesterol_mg_dl"], "mmol/L"), "hdl_cholestrol": (g["hdl_mg_dl"], "mmol/L"),
        }
        explanation = _medcalc("framingham-hard-chd", inputs)["Explanation"]
        their_linear = float(re.search(r"172\.300168 = (-?[\d.]+)\.|146\.5933061 = (-?[\d.]+)\.", explanation).group(1 if g["male"] else 2))
        ours = framingham_hard_chd(**g)
        assert _framingham_linear(ours, g["male"]) == pytest.approx(their_linear, abs=0.05 + 1e-9), g


# --------------------------------------------------------------------------- hostile official rows

GOOD_CHILD_PUGH = {"Bilirubin": [1.0, "mg/dL"], "Albumin": [4.0, "g/dL"], "international normalized ratio": 1.1, "Ascites": "absent"}


@pytest.mark.parametrize(
    ("name", "entities"),
    [
        ("child-pugh", {**GOOD_CHILD_PUGH, "Ascites": "moderate'); import os; os.system('id'); ('"}),
        ("child-pugh", {**GOOD_CHILD_PUGH, "Encephalopathy": "grade 5\nimport os"}),
        ("apache-ii", {"age": [60, "years"], "History of severe organ failure or immunocompromise": True, "Surgery Type": "cardiac"}),
        ("apache-ii", {"age": [60, "years"], "pH": True}),
        ("apache-ii", {"age": [60, "years"], "White blood cell count": [9000, "furlongs"]}),
        ("sofa", {"FiO₂": [0, "%"], "Partial pressure of oxygen (PaO₂) for Apache II": [80, "mm Hg"]}),
        ("sirs-criteria", {"Temperature": [37, "degrees celsius"], "Heart Rate or Pulse": [80, "beats per minute"]}),
        ("framingham-hard-chd", {"sex": "Male", "age": [50, "years"], "Systolic Blood Pressure": [120, "mm Hg"],
                                 "Total cholesterol": [-5, "mg/dL"], "high-density lipoprotein cholesterol": [40, "mg/dL"]}),
    ],
)
def test_hostile_rows_are_not_computable_and_do_not_leak_into_code(tmp_path: Path, name: str, entities: dict[str, Any]) -> None:
    official_id = next(i for i, (n, _, _) in OFFICIAL.items() if n == name)
    good = {**GOOD_CHILD_PUGH}
    rows = [
        {"Row Number": 1, "Calculator ID": official_id, "Calculator Name": "x", "Patient Note": "A note.", "Question": "Score?",
         "Relevant Entities": repr(entities), "Ground Truth Answer": "3", "Lower Limit": "3", "Upper Limit": "3"},
        {"Row Number": 2, "Calculator ID": 15, "Calculator Name": "x", "Patient Note": "Another note.", "Question": "Score?",
         "Relevant Entities": repr(good), "Ground Truth Answer": "5", "Lower Limit": "5", "Upper Limit": "5"},
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    report = DATASET.import_file(source, tmp_path / "out.jsonl")
    assert report.rows_skipped == 0 and report.samples_written == 2
    bad, after = (Sample.model_validate(json.loads(line)) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines())
    assert bad.metadata["our_value"] is None and not bad.metadata["agrees"]
    statements = ast.parse(bad.solution.code).body
    assert len(statements) == 1 and run_solution(bad.solution.code) is None  # the row's text stays in a comment
    # the next row is unaffected
    assert after.metadata["our_value"] == 5 and after.metadata["agrees"]
    assert run_solution(after.solution.code) == 5


def test_official_units_and_options() -> None:
    apache = spec_by_name("apache-ii")
    givens, _ = givens_from_entities(apache, {
        "age": [60, "years"], "FiO₂": 0.6, "A-a gradient": 360, "White blood cell count": [16000.0, "m^3"],
        "Surgery Type": "Nonoperative ", "History of severe organ failure or immunocompromise": True,
        "Partial pressure of oxygen (PaO₂) for Apache II": [9.0, "kPa"],
    })
    values = {g.param: g.canonical for g in givens}
    assert values["fio2"] == pytest.approx(60.0) and values["wbc_10e9_l"] == pytest.approx(16.0)
    assert values["pao2"] == pytest.approx(67.5, abs=0.01)
    assert compute(apache.function, givens, apache.answer_type) == 3 + 3 + 1 + 5  # age, A-a, WBC, chronic health
    gbs = spec_by_name("glasgow-blatchford")
    givens, _ = givens_from_entities(gbs, {
        "Blood Urea Nitrogen (BUN)": [10.0, "mmol/L"], "Hemoglobin": [110.0, "g/L"], "Systolic Blood Pressure": [120, "mm Hg"],
        "Heart Rate or Pulse": [80, "beats per minute"], "sex": "Female",
    })
    assert compute(gbs.function, givens, gbs.answer_type) == 4 + 1  # BUN 28 mg/dL, Hb 11 g/dL in a woman
    with pytest.raises(EntityError):
        givens_from_entities(gbs, {"Hemoglobin": [11.0, "g/dL"], "sex": "Unknown", "Blood Urea Nitrogen (BUN)": [10, "mg/dL"],
                                   "Systolic Blood Pressure": [120, "mm Hg"], "Heart Rate or Pulse": [80, "beats per minute"]})
