"""MedCalc-Bench calculators against hand-computed values from the published formulas."""

from __future__ import annotations

import pytest

from medagentgym.datasets.medcalcbench import calculators as calc


def approx(value: float, rel: float = 1e-3) -> object:
    return pytest.approx(value, rel=rel)


def test_body_size_formulas() -> None:
    assert calc.body_mass_index(70, 175) == approx(22.857)
    # 177.8 cm is exactly 70 in: Devine gives 50 + 2.3 x 10 (men), 45.5 + 23 (women)
    assert calc.ideal_body_weight(177.8, True) == approx(73.0)
    assert calc.ideal_body_weight(177.8, False) == approx(68.5)
    assert calc.adjusted_body_weight(100, 177.8, True) == approx(83.8)
    assert calc.body_surface_area(81, 180) == approx(2.01246)
    assert calc.target_weight(22, 180) == approx(71.28)


@pytest.mark.parametrize(("weight", "expected"), [(8, 32), (10, 40), (15, 50), (20, 60), (70, 110)])
def test_maintenance_fluids_4_2_1(weight: float, expected: float) -> None:
    assert calc.maintenance_fluids(weight) == approx(expected)


def test_cockcroft_gault_weight_rule() -> None:
    # normal BMI (72 kg, 185 cm: BMI 21, IBW 79.5): min(IBW, actual) = actual 72 kg
    assert calc.creatinine_clearance(60, True, 72, 185, 1.0) == approx(80.0)
    assert calc.creatinine_clearance(60, False, 72, 185, 1.0) == approx(68.0)
    # normal BMI with actual weight above IBW (70 kg, 177.8 cm: BMI 22.1, IBW 73 -> 70)
    assert calc.creatinine_clearance(60, True, 75, 177.8, 1.0) == approx(80 * 73 / 72)
    # obese: ABW = 73 + 0.4 x (120 - 73) = 91.8
    assert calc.creatinine_clearance(60, True, 120, 177.8, 1.0) == approx(102.0)
    # underweight (50 kg, 180 cm, BMI 15.4): actual weight
    assert calc.creatinine_clearance(60, True, 50, 180, 1.0) == approx(55.556)


def test_ckd_epi_2021_matches_nkf_examples() -> None:
    # NKF calculator: 50-year-old, creatinine 1.0 mg/dL -> 92 (male), 68 (female)
    assert calc.ckd_epi_2021(50, True, 1.0) == pytest.approx(91.7, abs=0.2)
    assert calc.ckd_epi_2021(50, False, 1.0) == pytest.approx(68.6, abs=0.2)
    # low creatinine branch uses kappa 0.9 for men (MedCalc-Bench's explanations used 0.7)
    assert calc.ckd_epi_2021(80, True, 0.87) == pytest.approx(87.228, abs=0.01)


def test_mdrd() -> None:
    assert calc.mdrd_gfr(50, True, 1.0) == pytest.approx(79.1, abs=0.1)
    assert calc.mdrd_gfr(50, False, 1.0) == pytest.approx(79.1 * 0.742, abs=0.1)
    assert calc.mdrd_gfr(50, True, 1.0, black=True) == pytest.approx(79.1 * 1.212, abs=0.2)


def test_electrolyte_formulas() -> None:
    assert calc.anion_gap(140, 104, 24) == approx(12)
    assert calc.delta_gap(140, 104, 24) == pytest.approx(0.0)
    assert calc.delta_ratio(140, 100, 14) == approx(1.4)
    assert calc.albumin_corrected_anion_gap(140, 104, 24, 2.0) == approx(17)
    assert calc.albumin_corrected_delta_gap(140, 104, 24, 2.0) == approx(5)
    assert calc.albumin_corrected_delta_ratio(140, 100, 14, 2.0) == approx(1.9)
    assert calc.calcium_correction(8.0, 2.0) == approx(9.6)
    assert calc.sodium_correction_hyperglycemia(130, 600) == approx(142)
    assert calc.serum_osmolality(140, 28, 180) == approx(300)
    assert calc.free_water_deficit(40, True, 70, 160) == approx(6.0)
    assert calc.free_water_deficit(70, False, 60, 154) == approx(2.7)
    assert calc.free_water_deficit(10, False, 30, 154) == approx(1.8)
    assert calc.fractional_excretion_sodium(140, 2.0, 20, 100) == approx(0.285714)


def test_metabolic_and_liver() -> None:
    assert calc.ldl_friedewald(200, 50, 150) == approx(120)
    assert calc.homa_ir(10, 90) == approx(2.2222)
    assert calc.fib4_index(50, 40, 25, 200) == approx(2.0)
    assert calc.meld_na(1.0, 1.0, 1.0, 140) == 6
    # MELD(i) 2.1757 -> 22; 22 + 1.32 x 7 - 0.033 x 22 x 7 = 26.158
    assert calc.meld_na(2.0, 3.0, 1.5, 130) == 26
    # dialysis sets creatinine to 4.0; sodium clamps to 125
    assert calc.meld_na(1.2, 3.0, 1.5, 120, dialysis_twice=True) == calc.meld_na(4.0, 3.0, 1.5, 125)
    assert calc.meld_na(20.0, 40.0, 9.0, 120) == 40


def test_qtc_formulas() -> None:
    for formula in (calc.qtc_bazett, calc.qtc_fridericia, calc.qtc_framingham, calc.qtc_hodges, calc.qtc_rautaharju):
        assert formula(400, 60) == approx(400)  # RR 1 s: every correction is neutral
    assert calc.qtc_bazett(400, 75) == approx(447.21)
    assert calc.qtc_fridericia(400, 75) == approx(430.89)
    assert calc.qtc_framingham(400, 75) == approx(430.8)
    assert calc.qtc_hodges(400, 75) == approx(426.25)
    assert calc.qtc_rautaharju(400, 75) == approx(433.33)


def test_scores() -> None:
    assert calc.cha2ds2_vasc(76, False, hypertension=True, diabetes=True) == 5
    assert calc.cha2ds2_vasc(76, False, True, True, True, True, True, True, True) == 9
    assert calc.cha2ds2_vasc(50, True) == 0
    assert calc.cha2ds2_vasc(70, True, tia=True) == 3
    assert calc.has_bled(70, hypertension=True, alcohol_drinks_per_week=10) == 3
    assert calc.has_bled(65, alcohol_drinks_per_week=7) == 0
    assert calc.has_bled(90, True, True, True, True, True, True, True, 8) == 9
    assert calc.curb_65(70, 25, 32, 85, 55, confusion=True) == 5
    assert calc.curb_65(40, 19, 29, 120, 61) == 0
    assert calc.curb_65(40, 19.5, 20, 120, 60) == 2
    assert calc.centor_mcisaac(10, 38.5, True, True, True) == 5
    assert calc.centor_mcisaac(50, 37.0) == -1
    assert calc.centor_mcisaac(30, 38.0, cough_absent=True) == 1  # 38.0 is not > 38
    assert calc.glasgow_coma_score("eyes open spontaneously", "oriented", "obeys commands") == 15
    assert calc.glasgow_coma_score("no eye opening", "no verbal response", "no motor response") == 3
    assert calc.glasgow_coma_score("eye opening to pain", "inappropriate words", "withdrawal from pain") == 9


def test_calculator_sources_are_self_contained() -> None:
    """Every calculator must run from its own source with only ``math`` available."""
    import inspect

    from medagentgym.datasets.medcalcbench.categories import load_specs

    for spec in load_specs():
        source = inspect.getsource(spec.function)
        assert "import " not in source.replace("import math", ""), spec.name
        namespace: dict[str, object] = {}
        exec("import math\n" + source, namespace)
        assert callable(namespace[spec.function.__name__])
        assert spec.function.__doc__ and any(ch.isdigit() for ch in spec.function.__doc__), spec.name
