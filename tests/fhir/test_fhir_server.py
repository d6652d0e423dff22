"""The HTTP server (``medagentgym fhir serve``): the same answers as the env's actions, over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir_testdata import NOW

from medagentgym.fhir import FhirStore, copy_store, handle
from medagentgym.fhir.server import MAX_BODY_BYTES, MEDIA_TYPE, create_app

fastapi_testclient = pytest.importorskip("fastapi.testclient")

BASE = "http://testserver/fhir/"
BP = {
    "resourceType": "Observation", "status": "final", "code": {"text": "BP"},
    "subject": {"reference": "Patient/S0000001"}, "effectiveDateTime": NOW, "valueString": "120/80 mmHg",
}


@pytest.fixture
def served(small_template: Path, tmp_path: Path):
    with FhirStore(copy_store(small_template, tmp_path / "served.sqlite"), base_url=BASE) as store:
        yield store, fastapi_testclient.TestClient(create_app(store))


def test_search_read_and_metadata(served) -> None:
    store, client = served
    reply = client.get("/fhir/Observation", params={"patient": "S0000001", "code": "MG", "_sort": "-date"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith(MEDIA_TYPE)
    body = reply.json()
    assert [e["resource"]["id"] for e in body["entry"]] == ["mg-1", "mg-2", "mg-3"]
    assert body["entry"][0]["fullUrl"] == BASE + "Observation/mg-1"
    assert body == handle(store, "GET", "Observation?patient=S0000001&code=MG&_sort=-date").body
    assert client.get("/fhir/Patient/S0000001").json()["id"] == "S0000001"
    assert client.get("/fhir/metadata").json()["resourceType"] == "CapabilityStatement"


def test_create_answers_201_with_location_and_is_searchable(served) -> None:
    store, client = served
    reply = client.post("/fhir/Observation", content=json.dumps(BP), headers={"content-type": MEDIA_TYPE})
    assert reply.status_code == 201
    made = reply.json()
    assert reply.headers["location"] == f"{BASE}Observation/{made['id']}/_history/1"
    assert store.created() == [made]
    found = client.get("/fhir/Observation", params={"patient": "S0000001", "_id": made["id"]}).json()
    assert found["total"] == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/fhir/Observation?foo=1", None, 400),
        ("GET", "/fhir/Patient/S7777777", None, 404),
        ("GET", "/fhir/Nope", None, 404),
        ("GET", "/fhir/Patient/..%2F..%2Fetc", None, 404),
        ("POST", "/fhir/Observation", b"{not json", 400),
        ("POST", "/fhir/Observation", json.dumps({**BP, "status": "done"}).encode(), 400),
        ("POST", "/fhir/Observation/1", json.dumps(BP).encode(), 405),
        ("POST", "/fhir/Observation", b"[" * 100 + b"]" * 100, 400),
        ("POST", "/fhir/Observation", b" " * (MAX_BODY_BYTES + 1), 413),
    ],
)
def test_errors_are_operation_outcomes(served, method: str, path: str, body: bytes | None, status: int) -> None:
    store, client = served
    before = store.count()
    reply = client.request(method, path, content=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["resourceType"] == "OperationOutcome"
    assert store.count() == before


def test_the_cli_refuses_bad_options() -> None:
    from typer.testing import CliRunner

    from medagentgym.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["fhir", "serve", "--split", "validation"]).exit_code == 2
    assert runner.invoke(app, ["fhir", "serve", "--port", "0"]).exit_code == 2
    assert runner.invoke(app, ["fhir", "serve", "--dataset", "nope"]).exit_code == 2
