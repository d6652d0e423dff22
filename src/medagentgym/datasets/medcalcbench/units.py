"""Unit conversions into the calculators' canonical units, as small self-contained functions.

Like the calculators, their source is embedded in reference solutions, so they use nothing but
arithmetic. Factors: creatinine 88.4 µmol/L per mg/dL (molar mass 113.12 g/mol), glucose 18.016
mg/dL per mmol/L (180.16 g/mol), urea nitrogen 2.8 mg/dL per mmol/L (28.02 g/mol N2), calcium
4.008 mg/dL per mmol/L (40.08 g/mol), bilirubin 17.1 µmol/L per mg/dL, cholesterol 38.67 and
triglycerides 88.57 mg/dL per mmol/L, 1 lb = 0.45359237 kg, 1 in = 2.54 cm.
"""

from __future__ import annotations


def lb_to_kg(value: float) -> float:
    return value * 0.45359237


def g_to_kg(value: float) -> float:
    return value / 1000.0


def in_to_cm(value: float) -> float:
    return value * 2.54


def m_to_cm(value: float) -> float:
    return value * 100.0


def ft_in_to_cm(feet: float, inches: float) -> float:
    return (feet * 12.0 + inches) * 2.54


def fahrenheit_to_celsius(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


def months_to_years(value: float) -> float:
    return value / 12.0


def creatinine_umol_l_to_mg_dl(value: float) -> float:
    return value / 88.4


def glucose_mmol_l_to_mg_dl(value: float) -> float:
    return value * 18.016


def bun_mmol_l_to_mg_dl(value: float) -> float:
    return value * 2.8


def calcium_mmol_l_to_mg_dl(value: float) -> float:
    return value * 4.008


def albumin_g_l_to_g_dl(value: float) -> float:
    return value / 10.0


def albumin_mg_dl_to_g_dl(value: float) -> float:
    return value / 1000.0


def bilirubin_umol_l_to_mg_dl(value: float) -> float:
    return value / 17.1


def cholesterol_mmol_l_to_mg_dl(value: float) -> float:
    return value * 38.67


def triglycerides_mmol_l_to_mg_dl(value: float) -> float:
    return value * 88.57


def platelets_per_ul_to_10e9_l(value: float) -> float:
    return value / 1000.0


def platelets_per_l_to_10e9_l(value: float) -> float:
    return value / 1e9


def sodium_mg_dl_to_mmol_l(value: float) -> float:
    return value * 10.0 / 22.99


def insulin_pmol_l_to_uiu_ml(value: float) -> float:
    return value / 6.0
