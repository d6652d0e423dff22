"""MedCalc-Bench date and drug calculators: due date (13), conception (68), gestational age (69),
steroid conversion (24), morphine milligram equivalents (49).

Calculators against hand-computed examples (each branch toggled), the entity shapes they add
(date strings, drug entries), the importer on official and hostile rows, the ``medcalc`` package
as an independent cross-check, generated notes (every input stated, the answer never), scoring
of oracle and wrong answers, and an episode through the real env and sandbox.
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog import SPLITS
from medagentgym.catalog.sample import AnswerType, Sample, Target
from medagentgym.catalog.splits import split_of
from medagentgym.datasets.medcalcbench import DATASET
from medagentgym.datasets.medcalcbench import medications as med
from medagentgym.datasets.medcalcbench import pregnancy as preg
from medagentgym.datasets.medcalcbench.categories import spec_by_name
from medagentgym.datasets.medcalcbench.entities import (
    ENTITY_MAP,
    EntityError,
    expand_drug_entries,
    givens_from_entities,
    parse_entities,
)
from medagentgym.datasets.medcalcbench.label_rules import estimated_due_date_label
from medagentgym.datasets.medcalcbench.medication_notes import format_amount
from medagentgym.datasets.medcalcbench.pregnancy_notes import every_spelling
from medagentgym.datasets.medcalcbench.solution import (
    Given,
    compute,
    content_key,
    render_solution,
)
from medagentgym.policies.oracle import wrong_answer
from medagentgym.scoring import score_answer

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release" / "medcalcbench"
DATE_CATEGORIES = ("estimated-due-date", "estimated-conception-date", "estimated-gestational-age")
DRUG_CATEGORIES = ("steroid-conversion", "morphine-milligram-equivalents")
CATEGORIES = DATE_CATEGORIES + DRUG_CATEGORIES
OFFICIAL_IDS = {13: "estimated-due-date", 68: "estimated-conception-date", 69: "estimated-gestational-age",
                24: "steroid-conversion", 49: "morphine-milligram-equivalents"}

# Independent tables for the checks below (the published values, typed in again here).
STEROID_EQUIVALENT_MG = {"betamethasone": 0.75, "cortisone": 25, "dexamethasone": 0.75, "hydrocortisone": 20,
                         "methylprednisolone": 4, "prednisolone": 5, "prednisone": 5, "triamcinolone": 4}
MME_FACTOR = {"codeine": 0.15, "buccal fentanyl": 0.13, "fentanyl patch": 2.4, "hydrocodone": 1, "hydromorphone": 5,
              "methadone": 4.7, "morphine": 1, "oxycodone": 1.5, "oxymorphone": 3, "tapentadol": 0.4, "tramadol": 0.2}


def run_solution(code: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - our own reference code
    return namespace["answer"]


def us(day: datetime.date) -> str:
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


# --------------------------------------------------------------------------- calculators


def test_due_date_naegele_with_cycle_adjustment() -> None:
    # 03/10/2021 is day 69 of 2021; + 280 = day 349 = December 15
    assert preg.estimated_due_date("03/10/2021", 28) == "12/15/2021"
    # 01/01/2020 (leap year) + 280 days = day 281 = October 7
    assert preg.estimated_due_date("01/01/2020", 28) == "10/07/2020"
    assert preg.estimated_due_date("01/01/2020", 35) == "10/14/2020"  # longer cycle: 7 days later
    assert preg.estimated_due_date("01/01/2020", 21) == "09/30/2020"  # shorter cycle: 7 days earlier
    assert preg.estimated_due_date("05/20/2020", 28) == "02/24/2021"  # across a year end
    assert preg.estimated_due_date("1/5/2021", 28.0) == "10/12/2021"  # unpadded, integral float
    for bad in (0, -3, 27.5, True):
        with pytest.raises(ValueError):
            preg.estimated_due_date("01/01/2020", bad)
    with pytest.raises(ValueError):
        preg.estimated_due_date("02/30/2020", 28)


def test_conception_two_weeks_after_lmp() -> None:
    assert preg.estimated_conception_date("12/25/2019") == "01/08/2020"  # year boundary
    assert preg.estimated_conception_date("02/15/2024") == "02/29/2024"  # leap day
    assert preg.estimated_conception_date("02/15/2023") == "03/01/2023"
    with pytest.raises(ValueError):
        preg.estimated_conception_date("2023-02-15")  # the calculator reads MM/DD/YYYY only


def test_gestational_age_weeks_and_days() -> None:
    assert preg.gestational_age("03/23/2020", "03/23/2020") == (0, 0)
    assert preg.gestational_age("03/23/2020", "04/05/2020") == (1, 6)  # 13 days
    assert preg.gestational_age("03/01/2023", "03/08/2023") == (1, 0)
    assert preg.gestational_age("01/01/2021", "10/08/2021") == (40, 0)  # 280 days
    assert preg.gestational_age("02/01/2024", "03/01/2024") == (4, 1)  # 29 days in a leap February
    with pytest.raises(ValueError, match="before"):
        preg.gestational_age("03/23/2020", "03/22/2020")


def test_date_spellings_convert() -> None:
    assert preg.iso_date_to_us("2013-12-11") == "12/11/2013"
    assert preg.iso_date_to_us("2013-1-2") == "01/02/2013"
    assert preg.written_date_to_us("December 11, 2013") == "12/11/2013"
    assert preg.written_date_to_us("5 March 2001") == "03/05/2001"
    for bad in ("Smarch 3, 2001", "December 2013", "11 December 2013 extra"):
        with pytest.raises(ValueError):
            preg.written_date_to_us(bad)


def test_steroid_equivalents() -> None:
    assert med.steroid_conversion("PredniSONE PO", 50, "MethylPrednisoLONE IV") == pytest.approx(40.0)
    assert med.steroid_conversion("Dexamethasone PO", 4, "PredniSONE PO") == pytest.approx(26.6667, rel=1e-4)
    assert med.steroid_conversion("Hydrocortisone IV", 20, "Cortisone PO") == pytest.approx(25.0)
    assert med.steroid_conversion("Betamethasone IV", 0.75, "Triamcinolone IV") == pytest.approx(4.0)
    assert med.steroid_conversion("Dexamethasone PO", 6, "Dexamethasone IV") == pytest.approx(6.0)  # route only
    assert med.steroid_conversion("  methylprednisolone   po ", 8, "PREDNISOLONE PO") == pytest.approx(10.0)
    with pytest.raises(ValueError, match="no equivalent"):
        med.steroid_conversion("Budesonide PO", 9, "PredniSONE PO")
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            med.steroid_conversion("PredniSONE PO", bad, "PrednisoLONE PO")


def test_mme_factors_and_sum() -> None:
    assert med.morphine_milligram_equivalents() == 0.0
    assert med.morphine_milligram_equivalents(oxycodone_mg=10, oxycodone_per_day=4) == pytest.approx(60.0)
    assert med.morphine_milligram_equivalents(fentanyl_patch_ug_hr=25, fentanyl_patch_per_day=1) == pytest.approx(60.0)
    assert med.morphine_milligram_equivalents(fentanyl_buccal_ug=200, fentanyl_buccal_per_day=2) == pytest.approx(52.0)
    assert med.morphine_milligram_equivalents(methadone_mg=10, methadone_per_day=3) == pytest.approx(141.0)
    assert med.morphine_milligram_equivalents(tramadol_mg=50, tramadol_per_day=4) == pytest.approx(40.0)
    assert med.morphine_milligram_equivalents(hydromorphone_mg=2, hydromorphone_per_day=6) == pytest.approx(60.0)
    assert med.morphine_milligram_equivalents(codeine_mg=30, codeine_per_day=4, tapentadol_mg=50, tapentadol_per_day=2,
                                              hydrocodone_mg=10, hydrocodone_per_day=3, morphine_mg=15, morphine_per_day=2,
                                              oxymorphone_mg=5, oxymorphone_per_day=2) == pytest.approx(18 + 40 + 30 + 30 + 30)
    with pytest.raises(ValueError, match="without a number of doses"):
        med.morphine_milligram_equivalents(morphine_mg=30)
    for bad in ({"morphine_mg": -5, "morphine_per_day": 1}, {"morphine_mg": 5, "morphine_per_day": math.inf},
                {"morphine_mg": math.nan, "morphine_per_day": 1}):
        with pytest.raises(ValueError):
            med.morphine_milligram_equivalents(**bad)


def test_unit_conversions() -> None:
    assert med.every_hours_to_per_day(6) == 4.0 and med.every_hours_to_per_day(24) == 1.0
    assert med.grams_to_mg(0.5) == 500.0 and med.micrograms_to_mg(250) == 0.25 and med.mg_to_micrograms(0.2) == 200.0


def test_solutions_embed_datetime_only_for_date_calculators() -> None:
    spec = spec_by_name("estimated-due-date")
    givens = [Given("last_menstrual_period", "2021-03-10", "ISO", preg.iso_date_to_us), Given("cycle_length_days", 30, "days")]
    code = render_solution(spec.function, givens, spec.answer_type)
    assert "import datetime" in code and run_solution(code) == "12/17/2021" == compute(spec.function, givens, spec.answer_type)
    mme = spec_by_name("morphine-milligram-equivalents")
    code = render_solution(mme.function, [Given("morphine_mg", 10, "mg"), Given("morphine_per_day", 6, "hours between doses", med.every_hours_to_per_day)], mme.answer_type)
    assert "import datetime" not in code and "morphine_hours_between_doses = 6" in code
    assert run_solution(code) == 40.0


def test_content_key_ignores_spelling() -> None:
    by_count = [Given("morphine_mg", 10, "mg"), Given("morphine_per_day", 4, "doses per day")]
    by_interval = [Given("morphine_mg", 10.0, "mg"), Given("morphine_per_day", 6, "hours between doses", med.every_hours_to_per_day)]
    assert content_key("mme", by_count) == content_key("mme", by_interval) == "mme|morphine_mg=10,morphine_per_day=4"
    us_lmp = [Given("last_menstrual_period", "12/11/2013", "MM/DD/YYYY")]
    iso_lmp = [Given("last_menstrual_period", "2013-12-11", "ISO", preg.iso_date_to_us)]
    assert content_key("edd", us_lmp) == content_key("edd", iso_lmp)


# --------------------------------------------------------------------------- entities


def _givens(name: str, text: str) -> dict[str, Any]:
    givens, _ = givens_from_entities(spec_by_name(name), parse_entities(text))
    return {g.param: g.canonical for g in givens}


def test_entity_shapes_dates_and_drug_entries() -> None:
    assert _givens("estimated-due-date", "{'cycle length': 22, 'Last menstrual date': '12/11/2013'}") == {
        "last_menstrual_period": "12/11/2013", "cycle_length_days": 22}
    assert _givens("estimated-gestational-age", "{'Current Date': '2020-03-29', 'Last menstrual date': '3/23/2020'}") == {
        "last_menstrual_period": "3/23/2020", "current_date": "03/29/2020"}
    givens, unused = givens_from_entities(spec_by_name("estimated-conception-date"),
                                          parse_entities("{'cycle length': 21, 'Last menstrual date': '12/17/2009'}"))
    assert [g.param for g in givens] == ["last_menstrual_period"] and unused == ["cycle length"]
    steroid = _givens("steroid-conversion", "{'input steroid': ['Dexamethasone PO', 7.96, 'mg'], 'target steroid': 'PrednisoLONE PO'}")
    assert steroid == {"input_steroid": "Dexamethasone PO", "input_dose_mg": 7.96, "target_steroid": "PrednisoLONE PO"}
    grams = _givens("steroid-conversion", "{'input steroid': ['MethylPrednisoLONE IV', 1, 'g'], 'target steroid': 'PredniSONE PO'}")
    assert grams["input_dose_mg"] == 1000.0
    mme = _givens("morphine-milligram-equivalents",
                  "{'FentaNYL buccal Dose': [20, 'µg'], 'FentaNYL buccal Dose Per Day': [2, 'per day'], "
                  "'FentANYL patch Dose': [50, 'mg'], 'FentANYL patch Dose Per Day': [1, 'per day'], "
                  "'OxyCODONE Dose': [5000, 'µg'], 'OxyCODONE Dose Per Day': [3, 'per day']}")
    assert mme == {"fentanyl_buccal_ug": 20, "fentanyl_buccal_per_day": 2, "fentanyl_patch_ug_hr": 50,
                   "fentanyl_patch_per_day": 1, "oxycodone_mg": 5.0, "oxycodone_per_day": 3}


def test_drug_entries_expand_only_where_mapped() -> None:
    steroid_map = ENTITY_MAP["steroid-conversion"]
    assert expand_drug_entries({"input steroid": ["PredniSONE PO", 5, "mg"]}, steroid_map) == {
        "input steroid": "PredniSONE PO", "input steroid dose": [5, "mg"]}
    # other calculators keep their behaviour: a three-item list is still a bad value there
    assert expand_drug_entries({"weight": ["x", 1, "kg"]}, ENTITY_MAP["bmi"]) == {"weight": ["x", 1, "kg"]}
    with pytest.raises(EntityError, match="expected a number"):
        givens_from_entities(spec_by_name("bmi"), {"weight": ["x", 70, "kg"], "height": [170, "cm"]})
    assert _givens("anion-gap", "{'Sodium': [140.0, 'mmol/L'], 'Chloride': [100.0, 'mmol/L'], 'Bicarbonate': [20.0, 'mmol/L']}") == {
        "sodium": 140.0, "chloride": 100.0, "bicarbonate": 20.0}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("estimated-due-date", "{'cycle length': 28, 'Last menstrual date': '13/45/2014'}", "not a calendar date"),
        ("estimated-due-date", "{'cycle length': 28, 'Last menstrual date': '2014-02-30'}", "not a calendar date"),
        ("estimated-due-date", "{'cycle length': 28, 'Last menstrual date': '12/11/2013 10:00'}", "not a date"),
        ("estimated-due-date", "{'cycle length': 28, 'Last menstrual date': 20131211}", "expected a date string"),
        ("estimated-due-date", "{'cycle length': 28, 'Last menstrual date': ['12/11/2013']}", "expected a date string"),
        ("estimated-due-date", "{'cycle length': 28, 'Last menstrual date': '" + "1" * 5000 + "'}", "not a date"),
        ("estimated-due-date", "{'cycle length': 28, 'Last menstrual date': 'December 11, 2013'}", "not a date"),
        ("estimated-due-date", "{'cycle length': 'long', 'Last menstrual date': '12/11/2013'}", "expected a number"),
        ("estimated-gestational-age", "{'Last menstrual date': '12/11/2013'}", "missing required"),
        ("steroid-conversion", "{'input steroid': ['PredniSONE PO', 5, 'grains'], 'target steroid': 'PrednisoLONE PO'}", "unsupported unit"),
        ("steroid-conversion", ("{'input steroid': ['PredniSONE PO', 5, 'mg'], 'input steroid dose': [9, 'mg'], "
                                "'target steroid': 'PrednisoLONE PO'}"), "separate"),
        ("morphine-milligram-equivalents", "{'Buprenorphine Dose': [2, 'mg'], 'Buprenorphine Dose Per Day': [1, 'per day']}", "no conversion factor"),
        ("morphine-milligram-equivalents", "{'Morphine Dose': [10, 'mg'], 'Morphine Dose Per Day': [1, 'fortnight']}", "unsupported unit"),
        ("morphine-milligram-equivalents", "{'Morphine Dose': [True, 'mg'], 'Morphine Dose Per Day': [1, 'per day']}", "expected a number"),
    ],
)
def test_entity_shapes_reject_bad_rows(name: str, text: str, message: str) -> None:
    with pytest.raises(EntityError, match=message):
        givens_from_entities(spec_by_name(name), parse_entities(text))


# --------------------------------------------------------------------------- importer


def _row(number: int, calculator_id: int, entities: str, answer: str) -> str:
    return json.dumps({
        "Row Number": number, "Calculator ID": calculator_id, "Calculator Name": "synthetic",
        "Patient Note": f"Synthetic note {number}.", "Question": "What is it?", "Relevant Entities": entities,
        "Ground Truth Answer": answer, "Lower Limit": answer, "Upper Limit": answer,
    })


def test_importer_dates_and_weeks_days_with_hostile_rows(tmp_path: Path) -> None:
    edd = "{'cycle length': 28, 'Last menstrual date': '05/20/2020'}"
    ga = "{'Current Date': '03/29/2020', 'Last menstrual date': '03/23/2020'}"
    lines = [
        _row(1, 13, edd, "02/24/2021"),
        _row(2, 13, edd, "02/24/2021 10:30"),  # a time of day: skipped
        _row(3, 13, edd, "not a date"),  # skipped
        _row(4, 69, ga, "('0 weeks', '6 days')"),
        _row(5, 69, ga, "('0 weeks', '9 days')"),  # days above 6: skipped
        _row(6, 69, ga, "6"),  # a bare number: skipped
        _row(7, 69, "{'Current Date': '03/29/2020', 'Last menstrual date': '99/99/2020'}", "('0 weeks', '6 days')"),
        _row(8, 49, "{'Buprenorphine Dose': [2, 'mg'], 'Buprenorphine Dose Per Day': [1, 'per day']}", "20"),
        _row(9, 13, "{'cycle length': 1e999, 'Last menstrual date': '05/20/2020'}", "02/24/2021"),
        _row(10, 13, "{'cycle length': 28, 'Last menstrual date': '12/31/9999'}", "02/24/2021"),
        _row(11, 69, "{'Current Date': '03/29/2020', 'Last menstrual date': '03/23/2020'}", "('0 weeks', '6 days')"),
        _row(12, 68, "{'cycle length': 30, 'Last menstrual date': '12/18/2009'}", "2010-01-01"),  # ISO answer
        # code in a drug name stays a string: the solution only ever answers None
        _row(13, 24, "{'input steroid': ['PredniSONE PO\\nanswer = 99', 5, 'mg'], 'target steroid': 'x\\nanswer = 98'}", "5"),
    ]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(lines), encoding="utf-8")
    report = DATASET.import_file(source, tmp_path / "out.jsonl")
    assert (report.rows_read, report.samples_written, report.rows_skipped) == (13, 9, 4)
    for line in (2, 3, 5, 6):
        assert any(message.startswith(f"line {line}:") for message in report.messages), line
    agreement = report.details["agreement"]
    counts = ("official_id", "rows", "agree", "not_computable", "rate")
    assert {k: agreement["estimated-due-date"][k] for k in counts} == {"official_id": 13, "rows": 3, "agree": 1, "not_computable": 2, "rate": 1 / 3}
    assert {k: agreement["estimated-gestational-age"][k] for k in counts} == {"official_id": 69, "rows": 3, "agree": 2, "not_computable": 1, "rate": 2 / 3}
    # the due-date label rule gives no value for the hostile rows (an infinite cycle, a date past
    # year 9999) instead of failing: they stay unexplained, the good row is reproduced
    due = agreement["estimated-due-date"]
    assert (due["reproduced"], due["explained"], due["unexplained"]) == (1, 1, [9, 10])
    assert agreement["morphine-milligram-equivalents"]["not_computable"] == 1
    assert agreement["estimated-conception-date"]["agree"] == 1
    samples = {s.metadata["official_row_number"]: s for s in
               (Sample.model_validate_json(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines())}
    assert samples[1].target == Target(answer_type=AnswerType.DATE, value="02/24/2021")
    assert run_solution(samples[1].solution.code) == "02/24/2021"
    assert samples[4].target == Target(answer_type=AnswerType.WEEKS_DAYS, value=[0, 6])
    assert run_solution(samples[4].solution.code) == [0, 6] and samples[4].metadata["official_answer"] == "('0 weeks', '6 days')"
    for row in (7, 8, 9, 10, 13):  # not computable: the solution says so and answers None
        assert run_solution(samples[row].solution.code) is None and samples[row].metadata["agrees"] is False
    assert samples[11].metadata["agrees"] is True  # the rows after the hostile ones are unaffected
    assert score_answer(run_solution(samples[12].solution.code), samples[12].target).value == 1.0
    assert "Give your final answer as a date as MM/DD/YYYY." in samples[1].prompt


def _official_rows() -> list[dict[str, Any]]:
    path = REFERENCE / "test_tasks_dev_half.jsonl"
    if not path.exists():
        pytest.skip(f"official MedCalc-Bench reference file not found at {path} (shared/reference absent)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if int(row["Calculator ID"]) in OFFICIAL_IDS]


@pytest.fixture(scope="module")
def official_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[Sample]]:
    rows = _official_rows()
    folder = tmp_path_factory.mktemp("official")
    source = folder / "rows.jsonl"
    source.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    report = DATASET.import_file(source, folder / "samples.jsonl")
    samples = [Sample.model_validate_json(line) for line in (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    return report, samples


def test_official_rows_import_and_agree(official_import: tuple[Any, list[Sample]]) -> None:
    report, samples = official_import
    assert report.rows_read == 50 and report.samples_written == 50 and report.rows_skipped == 0
    rates = {name: (stats["rows"], stats["agree"], stats["not_computable"]) for name, stats in report.details["agreement"].items()}
    assert rates == {
        "estimated-due-date": (10, 2, 0),
        "estimated-conception-date": (10, 10, 0),
        "estimated-gestational-age": (10, 10, 0),
        "steroid-conversion": (10, 10, 0),
        "morphine-milligram-equivalents": (10, 10, 0),
    }
    for sample in samples:
        assert run_solution(sample.solution.code) == sample.metadata["our_value"]
        assert sample.target.answer_type is spec_by_name(sample.category).answer_type
    # Every disagreement is a due date with a cycle under 28 days, where the label adds
    # |cycle - 28| days instead of subtracting (28 - cycle): LMP + 280 + |C - 28| reproduces it
    # (label_rules.estimated_due_date_label, recorded by the importer).
    by_row = {s.metadata["official_row_number"]: s for s in samples}
    disagreements = report.details["disagreements"]
    assert len(disagreements) == 8
    for item in disagreements:
        assert item["category"] == "estimated-due-date"
        entities = ast.literal_eval(next(r for r in _official_rows() if int(r["Row Number"]) == item["row"])["Relevant Entities"])
        lmp = datetime.datetime.strptime(entities["Last menstrual date"], "%m/%d/%Y").date()
        cycle = entities["cycle length"]
        assert cycle < 28
        assert item["official"] == us(lmp + datetime.timedelta(days=280 + abs(cycle - 28)))
        assert item["official"] == estimated_due_date_label(entities) == item["label_rule_value"]
        assert item["label_rule_reproduces"] and item["label_rule"] == "due-date-absolute-cycle-offset"
        assert item["ours"] == us(lmp + datetime.timedelta(days=280 + cycle - 28))
        assert by_row[item["row"]].metadata["agrees"] is False


def _medcalc_answer(calculator_id: int, entities: dict[str, Any]) -> Any:
    pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    from medcalc.conception_date import add_2_weeks_explanation
    from medcalc.estimated_due_date import add_40_weeks_explanation
    from medcalc.gestational_age import compute_gestational_age_explanation
    from medcalc.mme import mme_explanation
    from medcalc.steroid_conversion import compute_steroid_conversion_explanation

    with contextlib.redirect_stdout(io.StringIO()):
        if calculator_id in (13, 68):
            inputs = {"cycle_length": entities["cycle length"], "menstrual_date": entities["Last menstrual date"]}
            function = add_40_weeks_explanation if calculator_id == 13 else add_2_weeks_explanation
            return function(inputs)["Answer"]
        if calculator_id == 69:
            return compute_gestational_age_explanation(
                {"current_date": entities["Current Date"], "menstrual_date": entities["Last menstrual date"]})["Answer"]
        if calculator_id == 24:
            return compute_steroid_conversion_explanation(entities)["Answer"]
        return mme_explanation(entities)["Answer"]


def test_crosscheck_with_medcalc_package_on_official_rows() -> None:
    """Our calculators and the authors' package on the same entities: equal (dates, weeks and
    days) or within 1% (doses; the package multiplies by factors rounded to 3 digits), except the
    due date for cycles under 28 days, where the package adds |cycle - 28| days (its label bug)."""
    compared = 0
    for row in _official_rows():
        calculator_id = int(row["Calculator ID"])
        spec = spec_by_name(OFFICIAL_IDS[calculator_id])
        entities = parse_entities(row["Relevant Entities"])
        givens, _ = givens_from_entities(spec, entities)
        ours = compute(spec.function, givens, spec.answer_type)
        theirs = _medcalc_answer(calculator_id, entities)
        if calculator_id == 69:
            weeks, days = theirs
            assert ours == [int(weeks.split()[0]), int(days.split()[0])]
        elif calculator_id == 13 and entities["cycle length"] < 28:
            gap = 2 * (28 - entities["cycle length"])
            mine = datetime.datetime.strptime(ours, "%m/%d/%Y")
            assert datetime.datetime.strptime(theirs, "%m/%d/%Y") - mine == datetime.timedelta(days=gap)
        elif calculator_id in (13, 68):
            assert ours == theirs
        else:
            assert ours == pytest.approx(float(theirs), rel=0.01)
        compared += 1
    assert compared == 50


# --------------------------------------------------------------------------- generated samples


@pytest.mark.parametrize("name", CATEGORIES)
def test_generated_solution_reproduces_target_and_scores(name: str) -> None:
    spec = spec_by_name(name)
    for split in SPLITS:
        for index in range(5):
            sample = DATASET.generate(name, split, index, seed=3)
            assert sample == DATASET.generate(name, split, index, seed=3)
            assert split_of(sample.metadata["content_key"]) == split
            assert sample.target.answer_type is spec.answer_type
            answer = run_solution(sample.solution.code)
            assert answer == sample.target.value and type(answer) is type(sample.target.value)
            if spec.answer_type is AnswerType.DATE:
                assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", answer)
            elif spec.answer_type is AnswerType.WEEKS_DAYS:
                assert isinstance(answer, list) and len(answer) == 2 and 0 <= answer[1] <= 6
            else:
                assert sample.target.lower <= answer <= sample.target.upper
            assert score_answer(answer, sample.target).value == 1.0
            assert score_answer(wrong_answer(answer, spec.answer_type), sample.target).value == 0.0
            assert "target" not in sample.public_view() and "solution" not in sample.public_view()


def _note(sample: Sample) -> str:
    return sample.prompt.split("\n\nQuestion:")[0]


@pytest.mark.parametrize("name", DATE_CATEGORIES)
def test_pregnancy_notes_state_every_input_and_never_the_answer(name: str) -> None:
    spec = spec_by_name(name)
    for index in range(25):
        sample = DATASET.generate(name, "train", index)
        note = _note(sample)
        assert note.startswith("Patient note:\n") and spec.question in sample.prompt
        for given in sample.metadata["givens"]:
            if given["param"] == "cycle_length_days":
                assert f"{given['value']} days" in note
            else:
                assert given["value"] in note, (sample.id, given)
        if spec.answer_type is AnswerType.DATE:
            answer = datetime.datetime.strptime(sample.target.value, "%m/%d/%Y").date()
            assert not any(text in sample.prompt for text in every_spelling(answer)), sample.id
        else:
            assert "week" not in note.lower()  # the age is never stated


def test_pregnancy_notes_vary_spellings_and_cycle_branches() -> None:
    notes = [DATASET.generate("estimated-due-date", "train", i) for i in range(60)]
    units = {g["unit"] for s in notes for g in s.metadata["givens"] if g["param"] == "last_menstrual_period"}
    assert units == {"MM/DD/YYYY", "ISO", "written out"}
    cycles = [g["value"] for s in notes for g in s.metadata["givens"] if g["param"] == "cycle_length_days"]
    assert sum(c < 28 for c in cycles) >= 12 and sum(c > 28 for c in cycles) >= 12 and 28 in cycles
    assert len({_note(s).split("\n")[1][:30] for s in notes}) > 3  # openings differ
    ages = [run_solution(DATASET.generate("estimated-gestational-age", "train", i).solution.code)[0] for i in range(40)]
    assert min(ages) < 20 < max(ages)


_OPIOID_LINE = re.compile(
    r"\b(?P<name>buccal fentanyl|fentanyl buccal tablets|transdermal fentanyl|fentanyl patch|codeine(?: sulfate)?|"
    r"hydrocodone(?: bitartrate)?|hydromorphone(?: tablets)?|methadone|(?:extended-release )?morphine(?: sulfate)?|"
    r"morphine sulfate|(?:extended-release )?oxycodone|oxymorphone|tapentadol|tramadol)"
    r" (?P<amount>[\d.]+) (?P<unit>mg|µg/h|mcg/hr|µg|mcg)(?: by mouth| PO)?"
    r"(?: \((?P<patches>one|two) patch(?:es)? applied| (?P<freq>once daily|once a day|daily|twice daily|twice a day|"
    r"two times a day|BID|three times daily|three times a day|TID|four times daily|four times a day|QID|"
    r"six times a day|every (?P<hours>\d+) hours))"
)
_PER_DAY = {"once daily": 1, "once a day": 1, "daily": 1, "twice daily": 2, "twice a day": 2, "two times a day": 2,
            "BID": 2, "three times daily": 3, "three times a day": 3, "TID": 3, "four times daily": 4,
            "four times a day": 4, "QID": 4, "six times a day": 6}


def _mme_from_note(note: str) -> float:
    """Read the regimen back from the note with an independent parser and total it."""
    total = 0.0
    for match in _OPIOID_LINE.finditer(note):
        name = match["name"]
        if "fentanyl" in name:
            factor = MME_FACTOR["buccal fentanyl" if "buccal" in name else "fentanyl patch"]
        else:
            factor = next(MME_FACTOR[word] for word in name.split() if word in MME_FACTOR)
        if match["patches"]:
            per_day: float = {"one": 1, "two": 2}[match["patches"]]
        elif match["hours"]:
            per_day = 24 / int(match["hours"])
        else:
            per_day = _PER_DAY[match["freq"]]
        total += float(match["amount"]) * per_day * factor
    return total


def test_mme_notes_state_every_dose_and_frequency() -> None:
    for index in range(40):
        sample = DATASET.generate("morphine-milligram-equivalents", "train", index)
        note = _note(sample)
        assert _mme_from_note(note) == pytest.approx(sample.target.value, abs=1e-6), (sample.id, note)
        assert "MME" not in note and "equivalent" not in note.lower()


def test_steroid_notes_state_drug_dose_and_target() -> None:
    sources, units = set(), set()
    for index in range(40):
        sample = DATASET.generate("steroid-conversion", "train", index)
        note = _note(sample)
        givens = {g["param"]: g for g in sample.metadata["givens"]}
        source, target = givens["input_steroid"]["value"], givens["target_steroid"]["value"]
        dose = givens["input_dose_mg"]
        assert f"{format_amount(dose['value'])} {dose['unit']}" in note
        assert any(phrase in note for phrase in med.STEROIDS[source]) and any(phrase in note for phrase in med.STEROIDS[target])
        switch = next(s for s in re.split(r"(?<=\.)\s", note) if "switch" in s or "convert" in s or "changed to" in s)
        assert any(phrase in switch for phrase in med.STEROIDS[target]) and not re.search(r"\d", switch)
        dose_mg = dose["value"] * (1000 if dose["unit"] == "g" else 1)
        expected = dose_mg * STEROID_EQUIVALENT_MG[target.split()[0].lower()] / STEROID_EQUIVALENT_MG[source.split()[0].lower()]
        assert sample.target.value == pytest.approx(expected, abs=1e-3)
        sources.add(source)
        units.add(dose["unit"])
    assert len(sources) >= 8 and units == {"mg", "g"}


@pytest.mark.slow
@pytest.mark.parametrize("name", CATEGORIES)
def test_full_counts_are_distinct_and_disjoint(name: str) -> None:
    category = next(c for c in DATASET.categories() if c.name == name)
    keys = {}
    for split in SPLITS:
        n = category.count(split, full=True)
        keys[split] = [DATASET.generate(name, split, i).metadata["content_key"] for i in range(n)]
        assert len(set(keys[split])) == n >= 20, (name, split)
    assert not set(keys["train"]) & set(keys["test"])


# --------------------------------------------------------------------------- through the env


def test_hostile_agent_then_oracle_through_the_env(sandbox_server: Any) -> None:
    """An agent hunts for the hidden date in its environment and files, then submits two
    candidate dates: it finds nothing and scores 0; the next episode (the oracle) scores 1."""
    from medagentgym.env import MedAgentEnv
    from medagentgym.policies import OraclePolicy
    from medagentgym.policies.scripted import ScriptedPolicy
    from medagentgym.rollout import run_episode

    sample = DATASET.generate("estimated-due-date", "test", 0)
    answer = sample.target.value
    due = datetime.datetime.strptime(answer, "%m/%d/%Y").date()
    probe = (
        "import os\n"
        f"needles = {every_spelling(due) + [answer]!r}\n"
        "hits = [k for k, v in os.environ.items() if any(n in v for n in needles)]\n"
        "for root, _dirs, files in os.walk('.'):\n"
        "    for f in files:\n"
        "        try:\n"
        "            text = open(os.path.join(root, f), errors='ignore').read()\n"
        "        except OSError:\n"
        "            continue\n"
        "        hits += [f for n in needles if n in text]\n"
        "print('HITS', len(hits))\n"
    )
    earlier = us(due - datetime.timedelta(days=1))
    hostile = ScriptedPolicy([
        json.dumps({"action": "execute_python", "code": probe}),
        json.dumps({"action": "submit", "answer": f"{earlier} or {answer}"}),
    ])
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        bad = run_episode(env, hostile, sample, run_id="dates-drugs")
        assert "HITS 0" in bad.steps[0].observation
        assert bad.status == "ok" and not bad.success and bad.score is not None and bad.score.value == 0.0
        good = run_episode(env, OraclePolicy(), sample, run_id="dates-drugs")
        assert good.success
        ga = DATASET.generate("estimated-gestational-age", "test", 1)
        weeks, days = ga.target.value
        for attack in ([weeks, days + 7], f"{weeks} weeks {days} days or {weeks + 1} weeks 0 days", [[weeks, days]]):
            assert score_answer(attack, ga.target).value == 0.0
        assert run_episode(env, OraclePolicy(), ga, run_id="dates-drugs").success
    finally:
        env.close()
