"""Creates: validation of every payload before anything is stored, and OperationOutcome errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir_testdata import NOW, RESOURCES

from medagentgym.fhir import FhirStore, handle
from medagentgym.fhir.store import MAX_BODY_CHARS
from medagentgym.fhir.validate import MAX_ARRAY_ITEMS, MAX_STRING_CHARS

BP = {
    "resourceType": "Observation",
    "category": [{"coding": [{"system": "http://hl7.org/fhir/observation-category", "code": "vital-signs",
                              "display": "Vital Signs"}]}],
    "code": {"text": "BP"},
    "effectiveDateTime": NOW,
    "status": "final",
    "valueString": "118/77 mmHg",
    "subject": {"reference": "Patient/S0000001"},
}
MED = {
    "resourceType": "MedicationRequest",
    "medicationCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0338-1715-40"}],
                                  "text": "magnesium sulfate"},
    "authoredOn": NOW,
    "dosageInstruction": [{"route": {"text": "IV"}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "g"}}],
                           "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}],
    "status": "active",
    "intent": "order",
    "subject": {"reference": "Patient/S0000001"},
}
SERVICE = {
    "resourceType": "ServiceRequest",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
    "authoredOn": NOW,
    "status": "active",
    "intent": "order",
    "priority": "stat",
    "subject": {"reference": "Patient/S0000001"},
    "occurrenceDateTime": "2023-11-14T08:00:00+00:00",
    "note": [{"text": "morning potassium"}],
}


def post(store: FhirStore, payload: Any, url: str | None = None) -> Any:
    kind = payload.get("resourceType", "Observation") if isinstance(payload, dict) else "Observation"
    return handle(store, "POST", url or kind, payload)


def problems(store: FhirStore, payload: Any, url: str | None = None) -> list[str]:
    before, made = store.count(), store.created()
    response = post(store, payload, url)
    assert response.status >= 400, response.text()
    assert response.body["resourceType"] == "OperationOutcome"
    assert store.count() == before and store.created() == made  # nothing was stored
    return [f"{(i.get('expression') or [''])[0]}: {i['diagnostics']}" for i in response.body["issue"]]


@pytest.mark.parametrize("payload", [BP, MED, SERVICE])
def test_valid_resources_are_created_with_server_id_and_meta(store, payload) -> None:
    response = post(store, {**payload, "id": "chosen-by-client", "meta": {"versionId": "9"}})
    assert response.status == 201, response.text()
    made = response.body
    assert made["id"] != "chosen-by-client" and made["meta"] == {"versionId": "1", "lastUpdated": NOW}
    assert response.location == f"http://localhost:8080/fhir/{payload['resourceType']}/{made['id']}/_history/1"
    assert store.created() == [made]
    assert handle(store, "GET", f"{payload['resourceType']}/{made['id']}").body == made


def test_a_json_text_body_is_accepted(store) -> None:
    assert handle(store, "POST", "Observation", json.dumps(BP)).status == 201
    bad = handle(store, "POST", "Observation", "{not json")
    assert bad.status == 400 and "not valid JSON" in bad.body["issue"][0]["diagnostics"]


def without(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in keys}


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (without(BP, "status"), "status is required"),
        (without(BP, "subject"), "subject is required"),
        (without(BP, "code"), "code is required"),
        (without(BP, "effectiveDateTime"), "effective[x] is required"),
        (without(MED, "intent"), "intent is required"),
        (without(MED, "medicationCodeableConcept"), "medication[x] is required"),
        (without(MED, "authoredOn"), "authoredOn is required"),
        (without(SERVICE, "code"), "code is required"),
        (without(SERVICE, "subject"), "subject is required"),
    ],
)
def test_missing_required_fields(store, payload, needle: str) -> None:
    assert any(needle in p for p in problems(store, payload))


def test_every_problem_is_listed_at_once(store) -> None:
    found = problems(store, without(BP, "status", "subject", "code"))
    assert len(found) == 3


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"resourceType": "MedicationRequest"}, "resourceType must be 'Observation'"),
        ({"valueQuantity": {"value": 2, "unit": "g"}}, "only one of"),
        ({"valueString": None, "valueQuantity": {"value": "2", "unit": "g"}}, "JSON number"),
        ({"status": "done"}, "is not one of"),
        ({"status": None}, "must not be null"),
        ({"status": ""}, "must not be empty"),
        ({"category": []}, "empty array"),
        ({"category": {"coding": []}}, "must be an array"),
        ({"code": {}}, "empty object"),
        ({"code": "BP"}, "must be a CodeableConcept object"),
        ({"code": {"coding": [{"system": "x y", "code": "BP"}]}}, "not a URI"),
        ({"effectiveDateTime": "2023-11-13T10:15"}, "not a FHIR date"),
        ({"effectiveDateTime": "2023-11-13 10:15:00"}, "not a FHIR date"),
        ({"effectiveDateTime": 1699870500}, "must be a string"),
        ({"subject": {"reference": "Patient/S9999999"}}, "no Patient with id"),
        ({"subject": {"reference": "http://evil.example/fhir/Patient/S0000001"}}, "not a reference to this server"),
        ({"subject": {"reference": "Patient/../S0000001"}}, "not a reference to this server"),
        ({"subject": {"reference": "Observation/mg-1"}}, "must be a Patient"),
        ({"subject": {"display": "Peter"}}, "needs a reference"),
        ({"subject": "Patient/S0000001"}, "must be a Reference object"),
        ({"foo": 1}, "unknown element 'foo'"),
        ({"valueString": "x" * (MAX_STRING_CHARS + 1)}, "longer than"),
        ({"note": [{"text": "n"}] * (MAX_ARRAY_ITEMS + 1)}, "more than"),
        ({"note": [{"authorString": "me"}]}, "needs its text"),
        ({"issued": "2023-11-13"}, "must be an instant"),
        ({"effectivePeriod": {"start": "2023-11-14T00:00:00Z", "end": "2023-11-13T00:00:00Z"}}, "only one of"),
    ],
)
def test_malformed_observations_are_refused(store, change, needle: str) -> None:
    payload = {**BP, **change}
    assert any(needle in p for p in problems(store, payload, "Observation")), problems(store, payload, "Observation")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": True, "unit": "g"}}]}]}, "JSON number"),
        ({"dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": float("nan")}}]}]}, "finite"),
        ({"dosageInstruction": [{"timing": {"repeat": {"durationUnit": "hours"}}}]}, "is not one of"),
        ({"dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 1}, "doseRange": {"low": {"value": 1}}}]}]},
         "only one of"),
        ({"dosageInstruction": [{"route": {"text": "IV"}, "dose": 2}]}, "unknown element 'dose'"),
        ({"medicationReference": {"reference": "Medication/1"}}, "only one of"),
        ({"priority": "now"}, "is not one of"),
        ({"intent": 3}, "must be a string"),
    ],
)
def test_malformed_orders_are_refused(store, change, needle: str) -> None:
    assert any(needle in p for p in problems(store, {**MED, **change}))


def test_period_order_and_depth(store) -> None:
    late = {**without(BP, "effectiveDateTime"),
            "effectivePeriod": {"start": "2023-11-14T00:00:00Z", "end": "2023-11-13T00:00:00Z"}}
    assert any("ends before it starts" in p for p in problems(store, late))
    deep: dict[str, Any] = {"url": "x"}
    for _ in range(20):
        deep = {"url": "x", "extension": [deep]}
    assert problems(store, {**BP, "code": {"text": "BP", "extension": [deep]}})


@pytest.mark.parametrize(
    ("url", "payload", "status"),
    [
        ("Observation/1", BP, 405),
        ("Observation?x=1", BP, 400),
        ("Medication", {"resourceType": "Medication"}, 404),
        ("Observation", [BP], 400),
        ("Observation", "x" * (MAX_BODY_CHARS + 1), 413),
        ("http://evil.example/fhir/Observation", BP, 400),
    ],
)
def test_bad_create_requests(store, url: str, payload: Any, status: int) -> None:
    before = store.count()
    response = handle(store, "POST", url, payload)
    assert response.status == status and response.body["resourceType"] == "OperationOutcome"
    assert store.count() == before


def test_other_methods_are_refused(store) -> None:
    assert handle(store, "DELETE", "Patient/S0000001").status == 405
    assert handle(store, "GET", "Patient/S0000001").status == 200


def test_lone_surrogates_are_stored_as_replacement_characters(store) -> None:
    response = handle(store, "POST", "Observation", json.dumps({**BP, "valueString": "\udcff"}))
    assert response.status == 201 and response.body["valueString"] == "\ufffd"


def test_patients_and_conditions_can_be_created_too(store) -> None:
    patient = copy.deepcopy(RESOURCES[0])
    del patient["id"]
    assert post(store, patient).status == 201
    condition = {"resourceType": "Condition", "code": {"text": "x"}, "subject": {"reference": "Patient/S0000002"}}
    assert post(store, condition).status == 201
    assert any("name is required" in p for p in problems(store, {"resourceType": "Patient", "gender": "male"}))


def test_creates_are_capped_per_store(small_template, tmp_path) -> None:
    from medagentgym.fhir import copy_store

    with FhirStore(copy_store(small_template, tmp_path / "capped.sqlite"), max_creates=2) as capped:
        assert [post(capped, BP).status for _ in range(3)] == [201, 201, 429]
        assert len(capped.created()) == 2
