"""MedCalc-Bench label rules (``label_rules.py``): how the official labels were made.

Each rule is checked on hand-worked entities (the slip changes the value exactly as stated, and
leaves the value alone where the slip does not apply), against the authors' ``medcalc`` package
where that package holds the same slip, and against hostile entities (a rule never raises and
never returns a value of the wrong type). The rules' agreement with every official row is
checked in the family test files and in ``test_medcalcbench_dataset.py``.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.datasets.medcalcbench import label_rules as lr
from medagentgym.datasets.medcalcbench.categories import load_specs, spec_by_name
from medagentgym.datasets.medcalcbench.entities import ENTITY_MAP, givens_from_entities
from medagentgym.datasets.medcalcbench.importer import import_file
from medagentgym.datasets.medcalcbench.solution import compute


def ours(category: str, entities: dict[str, Any]) -> Any:
    spec = spec_by_name(category)
    return compute(spec.function, givens_from_entities(spec, entities)[0], spec.answer_type)


def label(category: str, entities: dict[str, Any]) -> Any:
    return lr.label_value(lr.RULES[category], entities, spec_by_name(category).answer_type)


# --------------------------------------------------------------------------- registry


def test_registry_is_keyed_by_real_categories_with_one_line_slips() -> None:
    categories = {spec.name for spec in load_specs()}
    assert set(lr.RULES) <= categories
    assert len({rule.name for rule in lr.RULES.values()}) == len(lr.RULES)
    for category, rule in lr.RULES.items():
        assert rule.category == category
        assert rule.slip and "\n" not in rule.slip and len(rule.slip) <= 160, category
        assert rule.function.__doc__, category  # the facts of the slip, in the rule's docstring
        assert lr.rule_for(category) is rule
    # calculators whose labels follow the published formula, or follow nothing, have no rule
    for category in ("pneumonia-severity-index", "glasgow-coma-score", "meld-na", "anion-gap", "wells-pe"):
        assert lr.rule_for(category) is None
    assert lr.rule_for("no-such-calculator") is None


# --------------------------------------------------------------------------- each slip by hand


def test_ckd_epi_creatinine_rounding_and_kappa_for_men() -> None:
    man = {"sex": "Male", "creatinine": [80.4, "µmol/L"], "age": [74, "years"]}
    # 80.4 µmol/L: 8.04e-5 mol x 113.12 g/mol = 0.009095 g/L -> 0.009 g/L = 0.9 mg/dL; kappa 0.7
    assert label("ckd-epi-2021", man) == round(142 * (0.9 / 0.7) ** -0.302 * 0.9938**74, 3) == 83.072
    assert ours("ckd-epi-2021", man) == 88.499  # 0.9095 mg/dL with kappa 0.9
    woman = {"sex": "Female", "creatinine": [42.0, "µmol/L"], "age": [32, "years"]}  # 0.475 -> 0.5 mg/dL
    assert label("ckd-epi-2021", woman) == round(142 * (0.5 / 0.7) ** -0.241 * 0.9938**32 * 1.012, 3)
    # no slip for a man above 0.9 mg/dL or a woman given in mg/dL: the published value
    for entities in ({"sex": "Male", "creatinine": [1.4, "mg/dL"], "age": [65, "years"]},
                     {"sex": "Female", "creatinine": [0.6, "mg/dL"], "age": [50, "years"]}):
        assert label("ckd-epi-2021", entities) == ours("ckd-epi-2021", entities)
    # a man at or below 0.9 mg/dL given in mg/dL: kappa 0.7 alone moves the value
    low = {"sex": "Male", "creatinine": [0.87, "mg/dL"], "age": [80, "years"]}
    assert label("ckd-epi-2021", low) == round(142 * (0.87 / 0.7) ** -0.302 * 0.9938**80, 3) == 80.852


def test_calcium_mole_rounding() -> None:
    entities = {"Albumin": [31.0, "g/L"], "Calcium": [2.6, "mmol/L"]}
    # 2.6 mmol/L = 0.0026 mol -> 0.003 mol x 40.08 = 0.12 g/L = 12.0 mg/dL; + 0.8 x (4 - 3.1)
    assert label("calcium-correction", entities) == 12.72
    assert ours("calcium-correction", entities) == round(2.6 * 4.008 + 0.8 * 0.9, 3) == 11.141
    assert lr._label_mg_dl(1.0, "mmol/L", 40.08) == 4.0  # published 4.008
    in_mg = {"Calcium": [8.6, "mg/dL"], "Albumin": [3.1, "g/dL"]}
    assert label("calcium-correction", in_mg) == ours("calcium-correction", in_mg) == 9.32
    with pytest.raises(ValueError):
        lr._label_mg_dl(1.0, "furlongs", 40.08)


def test_due_date_adds_the_absolute_cycle_offset() -> None:
    short = {"cycle length": 22, "Last menstrual date": "12/11/2013"}
    assert label("estimated-due-date", short) == "09/23/2014"  # 12/11/2013 + 280 + 6 days
    assert ours("estimated-due-date", short) == "09/11/2014"  # + 280 - 6 days
    iso = {"cycle length": 22, "Last menstrual date": "2013-12-11"}
    assert label("estimated-due-date", iso) == "09/23/2014"
    for entities in ({"cycle length": 28, "Last menstrual date": "05/20/2020"},
                     {"cycle length": 30, "Last menstrual date": "03/24/2017"}):
        assert label("estimated-due-date", entities) == ours("estimated-due-date", entities)
    lmp = datetime.date(2013, 12, 11)
    assert label("estimated-due-date", short) == (lmp + datetime.timedelta(days=286)).strftime("%m/%d/%Y")


def test_rcri_reads_one_cerebrovascular_name() -> None:
    base = {"Pre-operative creatinine": [1.0, "mg/dL"], "History of ischemic heart disease": True}
    history = {**base, "History of cerebrovascular disease": True}
    assert (label("revised-cardiac-risk-index", history), ours("revised-cardiac-risk-index", history)) == (1, 2)
    other = {**base, "Cerebrovascular disease history": True}
    assert label("revised-cardiac-risk-index", other) == ours("revised-cardiac-risk-index", other) == 2


@pytest.mark.parametrize(
    ("option", "value", "label_points", "published_points"),
    [
        ("Diabetes mellitus criteria for CCI rule", "None or Diet-controlled", 1, 0),
        ("Diabetes mellitus criteria for CCI rule", "uncomplicated", 1, 1),
        ("Solid tumor", "Metastatic", 1, 6),
        ("Solid tumor", "metastatic", 6, 6),
        ("Solid tumor", False, 0, 0),
        ("Liver disease severity", "Moderate", 1, 3),
        ("Liver disease severity", "mild", 1, 1),
    ],
)
def test_charlson_options_compared_case_sensitively(option: str, value: Any, label_points: int, published_points: int) -> None:
    entities = {"age": [40, "years"], option: value}  # age under 50: no points
    assert label("charlson-comorbidity-index", entities) == label_points
    assert ours("charlson-comorbidity-index", entities) == published_points


def test_caprini_scores_age_surgery_and_mobility_only() -> None:
    entities = {
        "age": [63.0, "years"], "sex": "Female", "Surgery Type": "major", "Mobility": "confined to bed >72 hours",
        "Hip, pelvis, or leg fracture in the last month": True, "Varicose veins": True,
        "Body Mass Index (BMI)": [27.1, "kg/m^2"],
    }
    assert label("caprini-score", entities) == 2 + 2 + 2
    assert ours("caprini-score", entities) == 6 + 5 + 1 + 1  # fracture, varicose veins, BMI > 25


def test_child_pugh_lower_case_ascites_and_bilirubin_two() -> None:
    base = {"Bilirubin": [1.0, "mg/dL"], "Albumin": [4.0, "g/dL"], "international normalized ratio": 1.1}
    slight = {**base, "Ascites": "slight"}
    assert (label("child-pugh", slight), ours("child-pugh", slight)) == (4, 6)  # ascites 0 points, published 2
    assert label("child-pugh", {**base, "Ascites": "Slight"}) == ours("child-pugh", slight) == 6
    two = {**base, "Bilirubin": [2.0, "mg/dL"], "Ascites": "Absent"}
    assert (label("child-pugh", two), ours("child-pugh", two)) == (4, 6)  # bilirubin 2.0: 0 points, published 2


def test_glasgow_blatchford_band_tops() -> None:
    base = {"Blood Urea Nitrogen (BUN)": [15.0, "mg/dL"], "Systolic Blood Pressure": [125.0, "mm Hg"],
            "Heart Rate or Pulse": [80.0, "beats per minute"]}
    for sex, top in (("Male", 13.0), ("Female", 12.0)):
        at_top = {**base, "sex": sex, "Hemoglobin": [top, "g/dL"]}
        assert (label("glasgow-blatchford", at_top), ours("glasgow-blatchford", at_top)) == (1, 0), sex
        above = {**base, "sex": sex, "Hemoglobin": [top + 0.5, "g/dL"]}
        assert label("glasgow-blatchford", above) == ours("glasgow-blatchford", above) == 0, sex


APACHE_NORMAL = {
    "age": [40.0, "years"], "FiO₂": [21.0, "%"], "Partial pressure of oxygen (PaO₂) for Apache II": [90.0, "mm Hg"],
    "A-a gradient": 20.0, "Temperature": [37.0, "degrees celsius"], "Systolic Blood Pressure": [120.0, "mm Hg"],
    "Diastolic Blood Pressure": [75.0, "mm Hg"], "Heart Rate or Pulse": [80.0, "beats per minute"],
    "respiratory rate": [16.0, "breaths per minute"], "pH": 7.4, "Sodium": [140.0, "mmol/L"],
    "Potassium": [4.0, "mmol/L"], "creatinine": [1.0, "mg/dL"], "Hematocrit": [40.0, "%"],
    "White blood cell count": [8000.0, "µL"], "Glasgow Coma Score": 15.0,
}


def test_apache_ii_raw_gcs_wbc_and_misspelt_celsius() -> None:
    assert ours("apache-ii", APACHE_NORMAL) == 0
    assert label("apache-ii", APACHE_NORMAL) == 15 + 4  # the raw GCS, and 8000 per mm³ read as 8000 thousand
    coma = {**APACHE_NORMAL, "Glasgow Coma Score": 3.0}
    assert (label("apache-ii", coma), ours("apache-ii", coma)) == (3 + 4, 12)
    misspelt = {**APACHE_NORMAL, "Temperature": [37.0, "degrees celsisus"]}  # 37 °F = 2.8 °C: 4 points
    assert label("apache-ii", misspelt) == 15 + 4 + 4 and ours("apache-ii", misspelt) == 0
    low_ph = {**APACHE_NORMAL, "pH": 7.1}  # no points below normal
    assert label("apache-ii", low_ph) == 19 and ours("apache-ii", low_ph) == 4


def test_sofa_fio2_in_percent_and_default_cardiovascular_points() -> None:
    entities = {
        "Partial pressure of oxygen (PaO₂) for Apache II": [76.0, "mm Hg"], "FiO₂": [40.0, "%"],
        "Platelet count": [200000.0, "µL"], "Glasgow Coma Score": 15.0, "Bilirubin": [0.8, "mg/dL"],
        "Systolic Blood Pressure": [120.0, "mm Hg"], "Diastolic Blood Pressure": [80.0, "mm Hg"],
        "creatinine": [0.9, "mg/dL"],
    }
    # ratio 76 / 40 = 1.9 (<= 199, no support): 2; no infusion, dopamine 0 <= 5: 2 cardiovascular
    assert label("sofa", entities) == 4
    assert ours("sofa", entities) == 2  # P/F 190 without support: 2 (3 and 4 need support), nothing else
    ventilated = {**entities, "On mechanical ventilation": True}
    assert label("sofa", ventilated) == 4 + 2 and ours("sofa", ventilated) == 3  # label: ratio 1.9 < 100


def test_framingham_mmol_in_the_mg_equation() -> None:
    entities = {"sex": "Male", "age": [54, "years"], "Systolic Blood Pressure": [139.0, "mm hg"], "Smoker": True,
                "Total cholesterol": [235.0, "mg/dL"], "high-density lipoprotein cholesterol": [26.0, "mg/dL"],
                "Blood pressure being treated with medicines": False}
    assert label("framingham-hard-chd", entities) == 0.0
    assert ours("framingham-hard-chd", entities) == pytest.approx(29.0, abs=0.1)


def test_sirs_heart_rate_always_and_wbc_scaled() -> None:
    calm = {"Temperature": [37.0, "degrees celsius"], "Heart Rate or Pulse": [70.0, "beats per minute"],
            "respiratory rate": [16.0, "breaths per minute"], "White blood cell count": [8000.0, "m^3"]}
    assert (label("sirs-criteria", calm), ours("sirs-criteria", calm)) == (1, 0)
    per_ul = {**calm, "White blood cell count": [8000.0, "µL"]}  # 8000 x 1e9: "abnormal"
    assert (label("sirs-criteria", per_ul), ours("sirs-criteria", per_ul)) == (2, 0)
    bpm = {**calm, "Heart Rate or Pulse": [87.0, "bpm"]}  # the unit of official row 606
    assert (label("sirs-criteria", bpm), ours("sirs-criteria", bpm)) == (1, 0)


# --------------------------------------------------------------------------- the medcalc package


def _package(category: str, entities: dict[str, Any]) -> Any:
    pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    from medagentgym.datasets.medcalcbench.crosscheck import medcalc_answer

    with contextlib.redirect_stdout(io.StringIO()):
        return medcalc_answer(category, entities)


def test_ckd_epi_and_calcium_rules_match_the_package_on_a_grid() -> None:
    """The package holds both slips, so on inputs across the slips' edges it must give what the
    rules give (to the thousandth), while ours differs wherever the slip applies."""
    differ = 0
    for sex in ("Male", "Female"):
        for umol in (35.0, 44.2, 61.9, 70.0, 79.6, 80.4, 84.0, 88.4, 97.2, 150.0, 400.0):
            entities = {"sex": sex, "creatinine": [umol, "µmol/L"], "age": [58, "years"]}
            assert label("ckd-epi-2021", entities) == pytest.approx(float(_package("ckd-epi-2021", entities)), abs=1e-3)
            differ += abs(label("ckd-epi-2021", entities) - ours("ckd-epi-2021", entities)) > 0.01
        for mg in (0.5, 0.7, 0.85, 0.9, 0.95, 1.3):
            entities = {"sex": sex, "creatinine": [mg, "mg/dL"], "age": [41, "years"]}
            assert label("ckd-epi-2021", entities) == pytest.approx(float(_package("ckd-epi-2021", entities)), abs=1e-3)
    for mmol in (1.9, 2.1, 2.25, 2.6, 2.74, 3.1):
        entities = {"Calcium": [mmol, "mmol/L"], "Albumin": [3.0, "g/dL"]}
        assert label("calcium-correction", entities) == pytest.approx(float(_package("calcium-correction", entities)), abs=1e-3)
        differ += abs(label("calcium-correction", entities) - ours("calcium-correction", entities)) > 0.01
    assert differ >= 10


def test_due_date_rule_matches_the_package() -> None:
    pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    from medcalc.estimated_due_date import add_40_weeks_explanation

    for cycle in (20, 24, 27, 28, 29, 35):
        for lmp in ("01/31/2020", "12/11/2013", "02/29/2024"):
            entities = {"cycle length": cycle, "Last menstrual date": lmp}
            with contextlib.redirect_stdout(io.StringIO()):
                theirs = add_40_weeks_explanation({"cycle_length": cycle, "menstrual_date": lmp})["Answer"]
            assert label("estimated-due-date", entities) == theirs, (cycle, lmp)


# --------------------------------------------------------------------------- hostile entities


def _every_name(category: str, value: Any) -> dict[str, Any]:
    names = set(ENTITY_MAP[category]) | {"sex", "age"}
    return {name: value for name in names}


HOSTILE_VALUES = [
    "__import__('os').system('echo pwned')",
    [1e308, "mg/dL"],
    [-5.0, "mg/dL"],
    [0, "%"],
    [float("nan"), "mmol/L"],
    [float("inf"), "µmol/L"],
    [[1, 2], "x"],
    True,
    {"nested": [1]},
    10**400,
]


@pytest.mark.parametrize("category", sorted(lr.RULES))
def test_hostile_entities_never_raise_and_never_give_a_wrong_type(category: str) -> None:
    answer_type = spec_by_name(category).answer_type
    cases = [{}, *(_every_name(category, value) for value in HOSTILE_VALUES)]
    for entities in cases:
        value = label(category, entities)
        if value is None:
            continue
        if answer_type is AnswerType.DATE:
            assert isinstance(value, str) and len(value) == 10
        else:
            assert type(value) in (int, float) and math.isfinite(value), (category, value)
            assert answer_type is not AnswerType.INTEGER or type(value) is int
    # the entities given to a rule are not changed by it
    entities = {"age": [40, "years"], "Temperature": [37.0, "degrees celsius"]}
    before = json.dumps(entities)
    label(category, entities)
    assert json.dumps(entities) == before


@pytest.mark.parametrize(
    ("answer_type", "value", "expected"),
    [
        (AnswerType.INTEGER, 3, 3), (AnswerType.INTEGER, 3.0, 3), (AnswerType.INTEGER, 2.5, None),
        (AnswerType.INTEGER, True, None), (AnswerType.INTEGER, float("nan"), None),
        (AnswerType.NUMBER, 1.23456, 1.235), (AnswerType.NUMBER, complex(1, 2), None),
        (AnswerType.NUMBER, float("inf"), None), (AnswerType.NUMBER, "12", None),
        (AnswerType.DATE, "09/23/2014", "09/23/2014"), (AnswerType.DATE, "9/23/2014", None), (AnswerType.DATE, 20140923, None),
        (AnswerType.WEEKS_DAYS, (4, 3), [4, 3]), (AnswerType.WEEKS_DAYS, [4.0, 3], None), (AnswerType.WEEKS_DAYS, [4], None),
    ],
)
def test_rule_results_are_typed_or_none(answer_type: AnswerType, value: Any, expected: Any) -> None:
    rule = lr.LabelRule("probe", "probe", "returns a fixed value", lambda _e: value)
    assert lr.label_value(rule, {}, answer_type) == expected


def test_a_rule_that_fails_on_a_row_leaves_the_next_row_alone(tmp_path: Path) -> None:
    sofa = {"FiO₂": [0.0, "%"], "Partial pressure of oxygen (PaO₂) for Apache II": [80.0, "mm Hg"], "Bilirubin": [1.0, "mg/dL"],
            "Platelet count": [200000.0, "µL"]}  # FiO2 0: the label code would divide by zero
    child = {"Bilirubin": [1.0, "mg/dL"], "Albumin": [4.0, "g/dL"], "international normalized ratio": 1.1, "Ascites": "slight"}

    def row(number: int, calculator_id: int, entities: dict[str, Any], answer: str) -> str:
        return json.dumps({"Row Number": number, "Calculator ID": calculator_id, "Calculator Name": "x",
                           "Patient Note": f"Note {number}.", "Question": "Score?", "Relevant Entities": repr(entities),
                           "Ground Truth Answer": answer, "Lower Limit": answer, "Upper Limit": answer})

    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join([row(1, 43, sofa, "3"), row(2, 15, child, "4")]), encoding="utf-8")
    report = import_file(source, tmp_path / "out.jsonl")
    assert report.samples_written == 2 and report.rows_skipped == 0
    first, second = (Sample.model_validate_json(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines())
    assert first.metadata["label_rule"] == "sofa-fio2-in-percent"
    assert first.metadata["label_rule_value"] is None and first.metadata["label_rule_reproduces"] is False
    assert second.metadata["label_rule_value"] == 4 and second.metadata["label_rule_reproduces"] is True
    assert second.metadata["agrees"] is False  # ours is 6: explained by the rule, not by agreement
    assert report.details["overall"]["unexplained"] == [1]
    for sample in (first, second):  # nothing of the label checks reaches the agent
        view = json.dumps(sample.public_view())
        assert "label_rule" not in view and "metadata" not in sample.public_view()
