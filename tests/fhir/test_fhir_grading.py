"""Grading write tasks from the created resources: right, wrong, empty, malformed and gaming.

``score_answer(submitted, target, writes=...)`` with a ``Target.state``: the scorer sees only the
resources the episode created (plain JSON), never the env, the store or a dataset.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from medagentgym.catalog.sample import (
    AnswerType,
    ExpectedWrite,
    FieldCheck,
    StateTarget,
    Target,
)
from medagentgym.scoring import score_answer
from medagentgym.scoring.state import MAX_VALUES_PER_PATH, MAX_WRITES, check_state

NOW = "2023-11-13T10:15:00+00:00"
MRN = "S1234567"

ORDER_CHECKS = (
    FieldCheck(path="subject.reference", op="reference", value=f"Patient/{MRN}", label="subject"),
    FieldCheck(path="status", op="equals", value="active", label="status"),
    FieldCheck(path="intent", op="equals", value="order", label="intent"),
    FieldCheck(path="authoredOn", op="instant", value=NOW, tolerance=300, label="authoredOn"),
    FieldCheck(path="medicationCodeableConcept.coding", op="coding",
               value={"system": "http://hl7.org/fhir/sid/ndc", "code": "0338-1715-40"}, match="any", label="drug"),
    FieldCheck(path="dosageInstruction.route.text|dosageInstruction.route.coding.code", op="text", value="IV",
               match="any", label="route"),
    FieldCheck(path="dosageInstruction.doseAndRate.doseQuantity.value", op="number", value=2, label="dose"),
    FieldCheck(path="dosageInstruction.doseAndRate.doseQuantity.unit", op="text", value="g", label="dose unit"),
    FieldCheck(path="dosageInstruction.timing.repeat.duration", op="number", value=2, label="infusion time"),
)
ORDER = ExpectedWrite(resource_type="MedicationRequest", description="IV magnesium 2 g over 2 h", checks=ORDER_CHECKS)
WRITE_AND_ANSWER = Target(answer_type=AnswerType.NUMBER, value=1.3, state=StateTarget(creates=(ORDER,)))
ANSWER_NO_WRITE = Target(answer_type=AnswerType.NUMBER, value=2.2, state=StateTarget())
WRITE_ONLY = Target(answer_type=AnswerType.STRING, value=None, state=StateTarget(creates=(ORDER,)))


def order(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "101",
        "status": "active",
        "intent": "order",
        "authoredOn": NOW,
        "subject": {"reference": f"Patient/{MRN}"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "6585"},
                                                 {"system": "http://hl7.org/fhir/sid/ndc", "code": "0338-1715-40"}]},
        "dosageInstruction": [{"route": {"text": "IV"},
                               "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "g"}}],
                               "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}],
    }
    resource.update(changes)
    return resource


# -- right --------------------------------------------------------------------------------------------


def test_the_right_order_and_answer_score_one() -> None:
    score = score_answer(1.3, WRITE_AND_ANSWER, writes=[order()])
    assert score.value == 1.0 and score.correct and score.parsed == 1.3
    assert "created IV magnesium 2 g over 2 h (MedicationRequest/101)" in score.explanation


@pytest.mark.parametrize(
    "variant",
    [
        order(authoredOn="2023-11-13T10:15:00Z"),
        order(authoredOn="2023-11-13T12:16:00+02:00"),  # the same minute in another zone
        order(subject={"reference": f"http://localhost:8080/fhir/Patient/{MRN}"}),
        order(dosageInstruction=[{"route": {"coding": [{"code": "IV"}]},
                                  "doseAndRate": [{"doseQuantity": {"value": 2.0, "unit": "G"}}],
                                  "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}]),
    ],
)
def test_equivalent_spellings_pass(variant: dict[str, Any]) -> None:
    assert score_answer(1.3, WRITE_AND_ANSWER, writes=[variant]).correct


def test_no_write_when_none_is_indicated_scores_one() -> None:
    score = score_answer(2.2, ANSWER_NO_WRITE, writes=[])
    assert score.correct and "no write, as expected" in score.explanation
    assert score_answer(2.2, ANSWER_NO_WRITE, writes=None).correct


def test_write_only_targets_ignore_the_answer() -> None:
    for answer in ("done", "", None, [1, 2], {"x": 1}, "x" * 50_000):
        assert score_answer(answer, WRITE_ONLY, writes=[order()]).correct
    assert "answer not graded" in score_answer("done", WRITE_ONLY, writes=[order()]).explanation


def test_writes_match_in_any_order() -> None:
    second = ExpectedWrite(resource_type="ServiceRequest", description="lab", checks=(
        FieldCheck(path="code.coding", op="coding", value={"system": "http://loinc.org", "code": "2823-3"},
                   match="any"),))
    state = StateTarget(creates=(ORDER, second))
    lab = {"resourceType": "ServiceRequest", "id": "7", "code": {"coding": [{"system": "http://loinc.org",
                                                                             "code": "2823-3"}]}}
    assert check_state(state, [lab, order()]).correct
    assert check_state(state, [order(), lab]).correct


# -- wrong ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "needle"),
    [
        (order(dosageInstruction=[{"route": {"text": "IV"}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "g"}}],
                                   "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}]), "dose expected 2"),
        (order(dosageInstruction=[{"route": {"text": "IV"}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "mg"}}],
                                   "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}]), "dose unit"),
        (order(dosageInstruction=[{"route": {"text": "oral"}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "g"}}],
                                   "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}]), "route"),
        (order(dosageInstruction=[{"route": {"text": "IV"}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "g"}}],
                                   "timing": {"repeat": {"duration": 4, "durationUnit": "h"}}}]), "infusion time"),
        (order(medicationCodeableConcept={"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0000-0000-00"}]}),
         "drug"),
        (order(status="draft"), "status"),
        (order(intent="plan"), "intent"),
        (order(authoredOn="2023-11-14T10:15:00+00:00"), "authoredOn"),
        (order(authoredOn="2023-11-13T10:15:00"), "authoredOn"),  # no time zone: not an instant
        (order(authoredOn="2023-11-13"), "authoredOn"),
    ],
)
def test_a_wrong_field_scores_zero_and_says_which(variant: dict[str, Any], needle: str) -> None:
    score = score_answer(1.3, WRITE_AND_ANSWER, writes=[variant])
    assert score.value == 0.0 and not score.correct
    assert "missing IV magnesium" in score.explanation and needle in score.explanation
    assert "extra write not asked for: MedicationRequest/101" in score.explanation


def test_a_right_order_with_a_wrong_answer_scores_zero() -> None:
    score = score_answer(1.4, WRITE_AND_ANSWER, writes=[order()])
    assert not score.correct and "created IV magnesium" in score.explanation


# -- empty ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("writes", [None, [], ()])
def test_no_write_when_one_is_indicated_scores_zero(writes: Any) -> None:
    score = score_answer(1.3, WRITE_AND_ANSWER, writes=writes)
    assert not score.correct and "no MedicationRequest was created" in score.explanation
    assert not score_answer("done", WRITE_ONLY, writes=writes).correct


def test_an_empty_answer_scores_zero_even_with_the_right_order() -> None:
    for answer in (None, "", [], "  "):
        assert not score_answer(answer, WRITE_AND_ANSWER, writes=[order()]).correct


# -- malformed ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "writes",
    [
        ["MedicationRequest/101"],
        [None],
        [{"id": "1"}],
        [{"resourceType": 3}],
        [order(dosageInstruction="2 g IV")],
        [order(dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": "2", "unit": "g"}}]}])],
        [order(dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": True, "unit": "g"}}]}])],
        [order(dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": float("nan"), "unit": "g"}}]}])],
        [order(authoredOn=12345)],
        [order(authoredOn="x" * 10_000)],
        [order(subject={"reference": {"value": "Patient/S1234567"}})],
    ],
)
def test_malformed_writes_score_zero_without_raising(writes: list[Any]) -> None:
    assert not score_answer(1.3, WRITE_AND_ANSWER, writes=writes).correct


def test_too_many_writes_score_zero() -> None:
    verdict = check_state(WRITE_AND_ANSWER.state, [order()] * (MAX_WRITES + 1))  # type: ignore[arg-type]
    assert not verdict.correct and "more than" in verdict.explanation


def test_fan_out_of_a_path_is_bounded() -> None:
    wide = order(dosageInstruction=[{"route": {"text": "IV"}, "doseAndRate": [
        {"doseQuantity": {"value": 2, "unit": "g"}}] * 100}] * 100)
    assert check_state(WRITE_AND_ANSWER.state, [wide]).matched in (0, 1)  # type: ignore[arg-type]
    assert MAX_VALUES_PER_PATH <= 10_000


# -- gaming ---------------------------------------------------------------------------------------------


def test_posting_twice_scores_zero() -> None:
    twice = [order(), order(id="102")]
    score = score_answer(1.3, WRITE_AND_ANSWER, writes=twice)
    assert not score.correct and "extra write not asked for: MedicationRequest/102" in score.explanation


def test_posting_for_the_wrong_patient_scores_zero() -> None:
    other = order(subject={"reference": "Patient/S7654321"})
    assert not score_answer(1.3, WRITE_AND_ANSWER, writes=[other]).correct
    # ...and a right order beside it does not rescue the episode
    assert not score_answer(1.3, WRITE_AND_ANSWER, writes=[order(), other]).correct


def test_ordering_when_not_indicated_scores_zero() -> None:
    score = score_answer(2.2, ANSWER_NO_WRITE, writes=[order()])
    assert not score.correct and "extra write not asked for" in score.explanation


def test_hedging_with_two_doses_in_one_order_scores_zero() -> None:
    hedged = order(dosageInstruction=[{"route": {"text": "IV"},
                                       "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "g"}},
                                                       {"doseQuantity": {"value": 4, "unit": "g"}}],
                                       "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}])
    assert not score_answer(1.3, WRITE_AND_ANSWER, writes=[hedged]).correct


def test_the_submission_cannot_stand_in_for_the_write() -> None:
    printed = copy.deepcopy(order())
    for answer in (printed, [printed], str(printed)):
        assert not score_answer(answer, WRITE_ONLY, writes=[]).correct
        assert not score_answer(answer, WRITE_AND_ANSWER, writes=[]).correct


def test_targets_without_state_ignore_writes() -> None:
    plain = Target(answer_type=AnswerType.NUMBER, value=2.2)
    assert score_answer(2.2, plain, writes=[order()]).correct
    assert score_answer(2.2, plain).correct
    assert not score_answer(2.3, plain, writes=[]).correct


def test_other_writes_allowed_when_not_forbidden() -> None:
    lenient = StateTarget(creates=(ORDER,), forbid_other_writes=False)
    assert check_state(lenient, [order(), {"resourceType": "Observation", "id": "9"}]).correct
