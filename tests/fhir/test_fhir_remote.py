"""A user's FHIR server reached from the harness: its replies are untrusted too."""

from __future__ import annotations

import json
from typing import Any

import httpx

from medagentgym.fhir import RemoteEndpoint
from medagentgym.fhir.endpoint import MAX_REMOTE_REPLY_BYTES

BASE = "http://fhir.example.org/fhir/"


def endpoint(handler: Any) -> RemoteEndpoint:
    return RemoteEndpoint(BASE, transport=httpx.MockTransport(handler))


def test_requests_are_re_encoded_and_confined_to_the_base() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "total": 0})

    remote = endpoint(handler)
    assert remote.get("Patient?name=Peter Whitcombe").status == 200
    assert remote.get("http://evil.example/fhir/Patient").status == 400
    assert remote.get("../admin").status == 404
    assert remote.post("Observation/1", {"resourceType": "Observation"}).status == 405
    assert seen == [BASE + "Patient?name=Peter+Whitcombe"]


def test_bad_replies_become_operation_outcomes() -> None:
    replies = iter([
        httpx.Response(200, content=b"<html>not json</html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, content=b"[" * 100_000),
        httpx.Response(200, content=b"{}" + b" " * (MAX_REMOTE_REPLY_BYTES + 10)),
    ])
    remote = endpoint(lambda request: next(replies))
    for _ in range(4):
        reply = remote.get("Patient")
        assert reply.status == 502 and reply.body["resourceType"] == "OperationOutcome"


def test_an_unreachable_server_is_a_502() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    reply = endpoint(handler).get("metadata")
    assert reply.status == 502 and "could not be reached" in reply.body["issue"][0]["diagnostics"]


def test_created_resources_are_read_back_from_the_server() -> None:
    stored: dict[str, dict[str, Any]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            ident = str(len(stored) + 1)
            stored[ident] = {**body, "id": ident, "status": "final"}
            return httpx.Response(201, json=stored[ident],
                                  headers={"location": f"{BASE}Observation/{ident}/_history/1"})
        ident = request.url.path.rsplit("/", 1)[-1]
        if ident in stored:
            return httpx.Response(200, json={**stored[ident], "status": "amended"})  # changed since
        return httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})

    remote = endpoint(handler)
    assert remote.post("Observation", {"resourceType": "Observation"}).status == 201
    assert remote.post("Observation", "{not json").status == 400  # never sent
    assert [r["status"] for r in remote.created()] == ["amended"]  # the server's state, not the reply
    remote.close()
