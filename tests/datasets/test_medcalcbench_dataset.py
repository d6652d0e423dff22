"""MedCalc-Bench dataset: categories, generator, entity mapping, importer, official agreement."""

from __future__ import annotations

import contextlib
import inspect
import io
import json
from pathlib import Path

import pytest

from medagentgym.catalog.dataset import Dataset
from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.catalog.splits import split_of
from medagentgym.datasets.medcalcbench import DATASET, label_rules
from medagentgym.datasets.medcalcbench.categories import load_specs, spec_by_name
from medagentgym.datasets.medcalcbench.entities import (
    ENTITY_MAP,
    UNIT_TABLE,
    EntityError,
    givens_from_entities,
    parse_entities,
)
from medagentgym.datasets.medcalcbench.generate import CHOICES, FINDINGS, QUANTITIES
from medagentgym.datasets.medcalcbench.importer import import_file
from medagentgym.scoring import score_answer

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release" / "medcalcbench"
MEASURED_AGREEMENT = 434 / 525  # test_tasks_dev_half.jsonl, see docs/medcalcbench.md
# Official rows whose labels follow from neither the published formula nor any known label code
# (docs/medcalcbench.md): every Glasgow Coma Score row (each label differs from the sum of the
# components its own entities name) and two MELD-Na rows.
LABEL_INCONSISTENT_ROWS = {848, 850, 852, 854, 856, 858, 860, 862, 864, 866, 340, 342}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path / "cache"))


def run_solution(code: str) -> object:
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - our own reference code
    return namespace["answer"]


CATEGORY_NAMES = [spec.name for spec in load_specs()]


# --------------------------------------------------------------------------- table


def test_dataset_protocol_and_table() -> None:
    assert isinstance(DATASET, Dataset)
    categories = DATASET.categories()
    assert len(categories) == 55  # every official calculator
    assert len({c.name for c in categories}) == len(categories)
    assert {c.params["official_id"] for c in categories} == set(range(2, 70)) - {1, 12, 14, 34, 35, 37, 41, 42, 47, 50, 52, 53, 54, 55}
    for category in categories:
        assert category.dataset == "medcalcbench"
        assert category.count("train") >= 90 and category.count("test") >= 15
        assert category.count("train", full=True) >= category.count("train")
        if category.answer_type is AnswerType.NUMBER:
            # 5% as the official ranges; tighter where neighbouring answers are closer (half-point scores)
            assert 0 < category.params["tolerance"] <= 0.05
    for spec in load_specs():
        signature = set(inspect.signature(spec.function).parameters)
        assert set(spec.params) == signature, spec.name
        for kind in spec.params.values():
            known = kind in QUANTITIES or kind in FINDINGS or kind in CHOICES or kind in UNIT_TABLE
            assert known or kind in ("sex", "black"), kind
        assert set(ENTITY_MAP[spec.name].values()) <= signature, spec.name
    with pytest.raises(KeyError):
        DATASET.generate("no-such-calculator", "train", 0)


# --------------------------------------------------------------------------- generator


def test_generation_is_deterministic() -> None:
    for name in ("creatinine-clearance", "glasgow-coma-score", "has-bled"):
        first = DATASET.generate(name, "test", 3, seed=7)
        assert first == DATASET.generate(name, "test", 3, seed=7)
        assert first != DATASET.generate(name, "test", 4, seed=7)
        assert first.id == f"medcalcbench/{name}/test/7/3"


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_solution_reproduces_target(name: str) -> None:
    for split in ("train", "test"):
        for index in range(6):
            sample = DATASET.generate(name, split, index, seed=1)
            assert sample.split == split and sample.category == name
            answer = run_solution(sample.solution.code)
            assert answer == sample.target.value, (sample.id, answer, sample.target.value)
            assert type(answer) is type(sample.target.value)
            if sample.target.answer_type is AnswerType.NUMBER:
                assert sample.target.lower is not None and sample.target.upper is not None
                assert sample.target.lower <= sample.target.value <= sample.target.upper
            elif sample.target.answer_type is AnswerType.INTEGER:
                assert isinstance(sample.target.value, int)
            elif sample.target.answer_type is AnswerType.DATE:
                assert isinstance(sample.target.value, str)  # MM/DD/YYYY
            else:
                assert sample.target.answer_type is AnswerType.WEEKS_DAYS and isinstance(sample.target.value, list)
            assert split_of(sample.metadata["content_key"]) == split


def test_train_and_test_never_share_an_instance() -> None:
    for name in ("anion-gap", "cha2ds2-vasc", "qtc-bazett", "centor-mcisaac"):
        train = {DATASET.generate(name, "train", i).metadata["content_key"] for i in range(80)}
        test = {DATASET.generate(name, "test", i).metadata["content_key"] for i in range(25)}
        assert train.isdisjoint(test), name
        assert len(train) > 40  # the draw varies


def _given_texts(given: dict[str, object]) -> list[str]:
    value = given["value"]
    if isinstance(value, list):
        return [f"{value[0]} ft {value[1]} in"]
    if isinstance(value, bool):
        return []
    if isinstance(value, str):  # a choice: its phrases, with either set of pronouns
        pronouns = [
            {"He": "He", "His": "His", "he": "he", "his": "his", "him": "him"},
            {"He": "She", "His": "Her", "he": "she", "his": "her", "him": "her"},
        ]
        kinds = [k for k, choice in CHOICES.items() if value in choice.options]
        return [phrase.format(**p) for k in kinds for phrase in CHOICES[k].options[value] for p in pronouns]
    return [str(value)]


# Categories with a note generator of their own (pregnancy, medications, severity) are checked
# by their family's tests.
NARRATIVE_CATEGORIES = [spec.name for spec in load_specs() if not spec.generator]


@pytest.mark.parametrize("name", NARRATIVE_CATEGORIES)
def test_prompt_shows_note_question_and_every_value(name: str) -> None:
    spec = spec_by_name(name)
    for index in range(4):
        sample = DATASET.generate(name, "train", index)
        assert sample.prompt.startswith("Patient note:\n")
        assert spec.question in sample.prompt
        note = sample.prompt.split("\n\nQuestion:")[0]
        assert len(note) > 80
        for given in sample.metadata["givens"]:
            texts = _given_texts(given)
            if texts:
                assert any(text in note for text in texts), (sample.id, given)
            if given["param"] == "male":
                words = ("man", "boy") if given["value"] else ("woman", "girl")
                assert any(f"-old {w}" in note or f"-old Black {w}" in note or f" {w}" in note for w in words)
        assert sample.resources == ()
        # the public view hides the answer
        assert "target" not in sample.public_view() and "solution" not in sample.public_view()


def test_notes_vary_units_and_wording() -> None:
    prompts = [DATASET.generate("creatinine-clearance", "train", i).prompt for i in range(40)]
    joined = "\n".join(prompts)
    assert "µmol/L" in joined and "mg/dL" in joined
    assert " lb" in joined and " kg" in joined
    assert " ft " in joined and " cm" in joined
    assert len({p.split(" ")[4] for p in prompts}) > 2  # openings differ
    temps = "\n".join(DATASET.generate("centor-mcisaac", "train", i).prompt for i in range(30))
    assert "°F" in temps and "°C" in temps


# --------------------------------------------------------------------------- entity mapping


def _canon(name: str, text: str) -> dict[str, object]:
    givens, _ = givens_from_entities(spec_by_name(name), parse_entities(text))
    return {g.param: g.canonical for g in givens}


def test_entity_mapping_units_and_defaults() -> None:
    cg = _canon(
        "creatinine-clearance",
        "{'sex': 'Female', 'age': [70, 'years'], 'weight': [154.0, 'lbs'], 'height': [65.0, 'in'], "
        "'creatinine': [88.4, 'µmol/L']}",
    )
    assert cg["male"] is False and cg["age"] == 70
    assert cg["weight_kg"] == pytest.approx(69.853, abs=1e-3)
    assert cg["height_cm"] == pytest.approx(165.1)
    assert cg["creatinine_mg_dl"] == pytest.approx(1.0)
    centor = _canon("centor-mcisaac", "{'age': [30.0, 'years'], 'Temperature': [101.3, 'degrees fahreinheit'], 'Cough Absent': True}")
    assert centor["temperature_c"] == pytest.approx(38.5)
    assert "tonsillar_exudate" not in centor  # absent finding -> calculator default False
    osm = _canon("serum-osmolality", "{'Sodium': [140.0, 'mmol/L'], 'Blood Urea Nitrogen (BUN)': [10.0, 'mmol/L'], 'Glucose': [10.0, 'mmol/L']}")
    assert osm["bun_mg_dl"] == pytest.approx(28.0) and osm["glucose_mg_dl"] == pytest.approx(180.16)
    chads = _canon("cha2ds2-vasc", "{'sex': 'Male', 'age': [80.0, 'years'], 'Congestive Heart Faliure': True}")
    assert chads == {"age": 80.0, "male": True, "chf": True}
    fib = _canon("fib-4", "{'age': [50, 'years'], 'Aspartate aminotransferase': [40.0, 'U/L'], "
                 "'Alanine aminotransferase': [25.0, 'U/L'], 'Platelet count': [200000.0, 'µL']}")
    assert fib["platelets_10e9_l"] == pytest.approx(200.0)
    mdrd = _canon("mdrd-gfr", "{'age': [50, 'years'], 'creatinine': [1.0, 'mg/dL'], 'sex': 'Male', 'Race': 'Black'}")
    assert mdrd["black"] is True
    meld = _canon("meld-na", "{'creatinine': [1.0, 'mg/dL'], 'Bilirubin': [34.2, 'µmol/L'], "
                  "'international normalized ratio': 1.2, 'Sodium': [135.0, 'mEq/L']}")
    assert meld["bilirubin_mg_dl"] == pytest.approx(2.0) and meld["inr"] == 1.2


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("anion-gap", "{'Sodium': [140.0, 'mmol/L'], 'Chloride': [100.0, 'mmol/L']}", "missing required"),
        ("anion-gap", "{'Sodium': [140.0, 'furlongs'], 'Chloride': [1, 'mmol/L'], 'Bicarbonate': [2, 'mmol/L']}", "unsupported unit"),
        ("anion-gap", "__import__('os').system('echo pwned')", "not a Python literal"),
        ("anion-gap", "[1, 2]", "not a dict"),
        ("cha2ds2-vasc", "{'sex': 'Male', 'age': [70, 'years'], 'Stroke': 'yes'}", "true/false"),
    ],
)
def test_entity_mapping_rejects_bad_rows(name: str, text: str, message: str) -> None:
    with pytest.raises(EntityError, match=message):
        givens_from_entities(spec_by_name(name), parse_entities(text))


# --------------------------------------------------------------------------- importer


def _row(number: int, calculator_id: int, entities: str, answer: str, lower: str, upper: str) -> str:
    return json.dumps(
        {
            "Row Number": number,
            "Calculator ID": calculator_id,
            "Calculator Name": "synthetic",
            "Patient Note": f"Synthetic note number {number} written for this test.",
            "Question": "What is the value?",
            "Relevant Entities": entities,
            "Ground Truth Answer": answer,
            "Lower Limit": lower,
            "Upper Limit": upper,
        }
    )


def test_importer_on_a_synthetic_file(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    lines = [
        _row(1, 39, "{'Sodium': [140.0, 'mmol/L'], 'Chloride': [100.0, 'mmol/L'], 'Bicarbonate': [20.0, 'mmol/L']}", "20", "19", "21"),
        '{"Row Number": 2, "Calculator ID": 39, "Patient Note": "trunc',  # corrupt line
        _row(3, 21, "{'Best eye response': 'eye opening to pain', 'Best verbal response': 'confused', "
                    "'Best motor response': 'obeys commands'}", "13", "13", "13"),  # 2+4+6=12: a label error
        _row(4, 99, "{}", "1", "1", "1"),  # calculator not implemented
        _row(5, 2, "{'sex': 'Male', 'age': [60, 'years'], 'weight': [158.73, 'lbs'], 'height': [185.0, 'cm'], "
                   "'creatinine': [1.0, 'mg/dL']}", "80.0", "76.0", "84.0"),
        _row(6, 39, "{'Sodium': [140.0, 'mmol/L']}", "20", "19", "21"),  # required entity missing
        "",
    ]
    source.write_text("\n".join(lines), encoding="utf-8")
    output = tmp_path / "out" / "samples.jsonl"
    report = DATASET.import_file(source, output)
    assert report.rows_read == 6
    assert report.samples_written == 4
    assert report.rows_skipped == 2
    assert any("line 2" in message for message in report.messages)
    assert report.details["unsupported_calculators"] == {"99: synthetic": 1}
    agreement = report.details["agreement"]
    assert agreement["anion-gap"] == {
        "official_id": 39, "label_rule": None, "rows": 2, "agree": 1, "reproduced": 0, "explained": 1, "unexplained": [6],
        "not_computable": 1, "rate": 0.5, "reproduced_rate": 0.0, "explained_rate": 0.5, "unexplained_rate": 0.5,
    }
    assert agreement["glasgow-coma-score"]["agree"] == 0 and agreement["glasgow-coma-score"]["unexplained"] == [3]
    assert agreement["creatinine-clearance"]["agree"] == 1
    assert report.details["overall"] == {
        "rows": 4, "agree": 2, "reproduced": 0, "explained": 2, "unexplained": [3, 6], "not_computable": 1,
        "rate": 0.5, "reproduced_rate": 0.0, "explained_rate": 0.5, "unexplained_rate": 0.5,
    }
    assert report.details["target"] == "official" and report.details["label_rules"] == {}

    samples = [Sample.model_validate(json.loads(line)) for line in output.read_text(encoding="utf-8").splitlines()]
    by_row = {s.metadata["official_row_number"]: s for s in samples}
    assert set(by_row) == {1, 3, 5, 6}
    anion = by_row[1]
    assert anion.id == "medcalcbench/anion-gap/test/official-1" and anion.split == "test"
    assert "Synthetic note number 1" in anion.prompt and "What is the value?" in anion.prompt
    assert anion.target.answer_type is AnswerType.NUMBER
    assert (anion.target.value, anion.target.lower, anion.target.upper) == (20.0, 19.0, 21.0)
    assert run_solution(anion.solution.code) == 20.0
    gcs = by_row[3]
    assert gcs.target.answer_type is AnswerType.INTEGER and gcs.target.value == 13
    assert run_solution(gcs.solution.code) == 12 and gcs.metadata["agrees"] is False
    assert run_solution(by_row[5].solution.code) == pytest.approx(80.0, abs=0.01)
    assert run_solution(by_row[6].solution.code) is None
    train = DATASET.import_file(source, tmp_path / "train.jsonl", split="train")
    assert train.details["split"] == "train"
    with pytest.raises(ValueError):
        DATASET.import_file(source, tmp_path / "x.jsonl", split="dev")


# --------------------------------------------------------------------------- official file and medcalc


def _reference_file() -> Path:
    path = REFERENCE / "test_tasks_dev_half.jsonl"
    if not path.exists():
        pytest.skip(f"official MedCalc-Bench reference file not found at {path} (shared/reference absent)")
    return path


def test_agreement_with_official_labels(tmp_path: Path) -> None:
    """All 55 calculators on the official dev file: our published value agrees with the label,
    or the calculator's label rule reproduces it, on every row but the label-inconsistent ones."""
    report = DATASET.import_file(_reference_file(), tmp_path / "official.jsonl")
    assert report.rows_read == report.samples_written == 525 and report.rows_skipped == 0
    assert report.details["unsupported_calculators"] == {}
    assert len(report.details["agreement"]) == 55
    overall = report.details["overall"]
    assert overall["rows"] == 525 and overall["not_computable"] == 0
    assert overall["rate"] >= MEASURED_AGREEMENT - 0.02
    assert set(overall["unexplained"]) == LABEL_INCONSISTENT_ROWS
    assert overall["explained"] == 525 - len(LABEL_INCONSISTENT_ROWS)
    assert overall["explained"] == overall["agree"] + sum(
        1 for item in report.details["disagreements"] if item["label_rule_reproduces"]
    )
    for name, stats in report.details["agreement"].items():
        assert stats["not_computable"] == 0, name
        assert stats["explained"] + len(stats["unexplained"]) == stats["rows"], name
        if stats["agree"] < stats["rows"] and not set(stats["unexplained"]) <= LABEL_INCONSISTENT_ROWS:
            pytest.fail(f"{name}: unexplained rows {stats['unexplained']}")
        if stats["label_rule"] is not None:  # a rule restates the label code: it reproduces every row
            assert stats["reproduced"] == stats["rows"], (name, stats)
    # every written sample's solution reproduces the value the report recorded, and the oracle
    # scores 1 exactly where our value agrees with the official label
    for line in (tmp_path / "official.jsonl").read_text(encoding="utf-8").splitlines():
        sample = Sample.model_validate(json.loads(line))
        answer = run_solution(sample.solution.code)
        assert answer == sample.metadata["our_value"]
        assert (score_answer(answer, sample.target).value == 1.0) == sample.metadata["agrees"], sample.id
        assert "Patient note:\n" in sample.prompt and sample.metadata["target_source"] == "official"


def test_recomputed_targets_on_the_official_file(tmp_path: Path) -> None:
    """With ``target="recomputed"`` every row becomes a sample graded against our published
    value, and the oracle scores 1 on all of them; the official answer stays in the metadata."""
    output = tmp_path / "recomputed.jsonl"
    report = import_file(_reference_file(), output, target="recomputed")
    assert report.samples_written == 525 and report.rows_skipped == 0 and report.details["target"] == "recomputed"
    disagreeing = 0
    for line in output.read_text(encoding="utf-8").splitlines():
        sample = Sample.model_validate(json.loads(line))
        answer = run_solution(sample.solution.code)
        assert answer == sample.target.value == sample.metadata["our_value"]
        assert score_answer(answer, sample.target).value == 1.0, sample.id
        assert sample.id.endswith("-recomputed") and sample.metadata["target_source"] == "recomputed"
        disagreeing += not sample.metadata["agrees"]
    assert disagreeing == 525 - report.details["overall"]["agree"]


# --------------------------------------------------------------------------- the target option


def _synthetic_rows(tmp_path: Path) -> Path:
    source = tmp_path / "rows.jsonl"
    lines = [
        # our value agrees with the label
        _row(1, 39, "{'Sodium': [140.0, 'mmol/L'], 'Chloride': [100.0, 'mmol/L'], 'Bicarbonate': [20.0, 'mmol/L']}", "20", "19", "21"),
        # a label slip its rule reproduces: Child-Pugh with lower-case "slight" ascites (ours 6, label 4)
        _row(2, 15, "{'Bilirubin': [1.0, 'mg/dL'], 'Albumin': [4.0, 'g/dL'], 'international normalized ratio': 1.1, "
                    "'Ascites': 'slight'}", "4", "4", "4"),
        # a label nothing explains (2 + 4 + 6 = 12)
        _row(3, 21, "{'Best eye response': 'eye opening to pain', 'Best verbal response': 'confused', "
                    "'Best motor response': 'obeys commands'}", "13", "13", "13"),
        # not computable: a required entity is missing
        _row(4, 39, "{'Sodium': [140.0, 'mmol/L']}", "20", "19", "21"),
        # a decimal calculator: the recomputed target takes the calculator's tolerance
        _row(5, 6, "{'weight': [70.0, 'kg'], 'height': [175.0, 'cm']}", "22.9", "21.755", "24.045"),
        # a date calculator with the label slip
        _row(6, 13, "{'cycle length': 22, 'Last menstrual date': '12/11/2013'}", "09/23/2014", "09/23/2014", "09/23/2014"),
    ]
    source.write_text("\n".join(lines), encoding="utf-8")
    return source


def _samples(path: Path) -> dict[int, Sample]:
    samples = (Sample.model_validate(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines())
    return {s.metadata["official_row_number"]: s for s in samples}


def test_target_option_official_and_recomputed(tmp_path: Path) -> None:
    source = _synthetic_rows(tmp_path)
    official = import_file(source, tmp_path / "official.jsonl")
    recomputed = import_file(source, tmp_path / "recomputed.jsonl", target="recomputed")
    # the label checks do not depend on the target
    assert official.details["agreement"] == recomputed.details["agreement"]
    assert official.details["overall"]["unexplained"] == [3, 4]
    assert official.details["label_rules"]["child-pugh"]["name"] == "child-pugh-capitalised-ascites"
    assert (official.samples_written, official.rows_skipped) == (6, 0)
    assert (recomputed.samples_written, recomputed.rows_skipped) == (5, 1)  # row 4 has no value of ours
    assert any(m.startswith("line 4: skipped, no recomputed target") for m in recomputed.messages)

    by_official, by_recomputed = _samples(tmp_path / "official.jsonl"), _samples(tmp_path / "recomputed.jsonl")
    assert set(by_recomputed) == {1, 2, 3, 5, 6}
    child = by_recomputed[2]
    assert child.target.answer_type is AnswerType.INTEGER and child.target.value == 6
    assert child.metadata["official_answer"] == "4" and child.metadata["label_rule_value"] == 4
    assert child.metadata["label_rule_reproduces"] and not child.metadata["agrees"]
    assert by_official[2].target.value == 4
    bmi = by_recomputed[5].target
    assert bmi.answer_type is AnswerType.NUMBER and bmi.value == pytest.approx(22.857, abs=1e-3)
    assert (bmi.lower, bmi.upper) == pytest.approx((bmi.value * 0.95, bmi.value * 1.05))
    assert by_recomputed[6].target.value == "09/11/2014" and by_official[6].target.value == "09/23/2014"
    for number, sample in by_recomputed.items():
        answer = run_solution(sample.solution.code)
        assert score_answer(answer, sample.target).value == 1.0, number  # the oracle: 1 wherever ours is computable
        assert sample.prompt == by_official[number].prompt  # the same task, another target
        assert sample.id == by_official[number].id + "-recomputed"
        view = json.dumps(sample.public_view())
        assert "metadata" not in sample.public_view() and "official_answer" not in view and "target" not in sample.public_view()
    for number, sample in by_official.items():
        expected = 1.0 if sample.metadata["agrees"] else 0.0
        assert score_answer(run_solution(sample.solution.code), sample.target).value == expected, number
    # a wrong answer still scores 0 against a recomputed target
    assert score_answer(7, child.target).value == 0.0 and score_answer(4, child.target).value == 0.0


@pytest.mark.parametrize("target", ["Recomputed", "recomputed; rm -rf /", "", None, ["official"], 1, "label"])
def test_target_option_rejects_anything_else_and_keeps_earlier_output(tmp_path: Path, target: object) -> None:
    source = _synthetic_rows(tmp_path)
    output = tmp_path / "out.jsonl"
    import_file(source, output)
    before = output.read_bytes()
    with pytest.raises(ValueError, match="target must be one of official, recomputed"):
        import_file(source, output, target=target)  # type: ignore[arg-type]
    assert output.read_bytes() == before
    assert import_file(source, output, target="recomputed").samples_written == 5  # the next import is unaffected


def test_dataset_forwards_the_target_option(tmp_path: Path) -> None:
    source = _synthetic_rows(tmp_path)
    report = DATASET.import_file(source, tmp_path / "out.jsonl", target="recomputed")
    assert report.details["target"] == "recomputed"
    with pytest.raises(ValueError):
        DATASET.import_file(source, tmp_path / "out.jsonl", target="bogus")


def test_label_rule_registry_covers_every_disagreeing_calculator(tmp_path: Path) -> None:
    """A calculator whose labels slip has a rule named in the report; one without disagreements
    or with only label-inconsistent rows has none."""
    report = DATASET.import_file(_reference_file(), tmp_path / "official.jsonl")
    slipping = {item["category"] for item in report.details["disagreements"] if item["row"] not in LABEL_INCONSISTENT_ROWS}
    assert slipping == set(label_rules.RULES)
    assert set(report.details["label_rules"]) == set(label_rules.RULES)
    for name, described in report.details["label_rules"].items():
        assert described == {"name": label_rules.RULES[name].name, "slip": label_rules.RULES[name].slip}
        assert report.details["agreement"][name]["label_rule"] == described["name"]


CROSSCHECK = {
    "anion-gap": "{'Sodium': [139.0, 'mmol/L'], 'Chloride': [101.0, 'mmol/L'], 'Bicarbonate': [19.0, 'mmol/L']}",
    "creatinine-clearance": "{'sex': 'Female', 'age': [67, 'years'], 'weight': [92.0, 'kg'], 'height': [160.0, 'cm'], "
    "'creatinine': [1.3, 'mg/dL']}",
    "mdrd-gfr": "{'age': [58, 'years'], 'creatinine': [2.1, 'mg/dL'], 'sex': 'Female'}",
    "cha2ds2-vasc": "{'sex': 'Female', 'age': [71.0, 'years'], 'Hypertension history': True, 'Stroke': True}",
    "curb-65": "{'age': [72.0, 'years'], 'Systolic Blood Pressure': [88.0, 'mm hg'], 'Diastolic Blood Pressure': [58.0, 'mm hg'], "
    "'Blood Urea Nitrogen (BUN)': [30.0, 'mg/dL'], 'respiratory rate': [22.0, 'breaths per minute']}",
    "qtc-fridericia": "{'Heart Rate or Pulse': [92, 'beats per minute'], 'QT interval': [380, 'msec']}",
    "meld-na": "{'creatinine': [1.9, 'mg/dL'], 'Bilirubin': [3.2, 'mg/dL'], 'international normalized ratio': 1.8, "
    "'Sodium': [131.0, 'mEq/L']}",
}


@pytest.mark.parametrize("name", sorted(CROSSCHECK))
def test_crosscheck_with_medcalc_package(name: str) -> None:
    pytest.importorskip("medcalc", reason="medcalc-bench (import medcalc) is not installed")
    from medagentgym.datasets.medcalcbench.crosscheck import medcalc_answer
    from medagentgym.datasets.medcalcbench.solution import compute

    spec = spec_by_name(name)
    entities = parse_entities(CROSSCHECK[name])
    givens, _ = givens_from_entities(spec, entities)
    ours = compute(spec.function, givens, spec.answer_type)
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = medcalc_answer(name, entities)
    if spec.answer_type is AnswerType.INTEGER:
        assert ours == theirs
    else:
        assert ours == pytest.approx(float(theirs), rel=0.01)
