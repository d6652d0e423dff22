"""FHIR's REST interactions over a store: what a GET or a POST answers, as a :class:`FhirResponse`.

The env's ``fhir_get`` / ``fhir_post`` actions and the HTTP server (``server.py``) both go through
:func:`handle`, so an agent in the gym and a tool outside it see the same answers: a
``searchset`` Bundle for a search, the resource for a read, ``201 Created`` with the stored
resource and its ``Location`` for a create, a CapabilityStatement for ``metadata``, and an
OperationOutcome with the HTTP status for every error. ``handle`` never raises for anything a
client sent.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from medagentgym.fhir.resources import RESOURCE_DEFS
from medagentgym.fhir.store import (
    MAX_BODY_CHARS,
    CreateError,
    FhirStore,
    SearchError,
    SearchResult,
)
from medagentgym.fhir.urls import (
    FhirUrlError,
    RequestTarget,
    normalize_base,
    parse_request_url,
)
from medagentgym.fhir.validate import Issue
from medagentgym.untrusted import UntrustedJSONError, clean_json, loads_bounded

#: Nesting accepted in a POST body given as JSON text.
MAX_BODY_DEPTH = 16


@dataclass(frozen=True)
class FhirResponse:
    """An HTTP status, a FHIR JSON body and, for a create, the new resource's location."""

    status: int
    body: dict[str, Any]
    location: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self, *, indent: int | None = None) -> str:
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.body, ensure_ascii=False, indent=indent, separators=separators)


_REASONS = {
    200: "OK", 201: "Created", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 413: "Payload Too Large", 414: "URI Too Long",
    422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway",
}


def reason(status: int) -> str:
    return _REASONS.get(status, "")


def operation_outcome(issues: list[Issue], *, dropped: int = 0) -> dict[str, Any]:
    """An OperationOutcome with one ``error`` issue per problem."""
    entries = [
        {
            "severity": "error",
            "code": issue.code,
            "diagnostics": issue.diagnostics,
            **({"expression": [issue.expression]} if issue.expression else {}),
        }
        for issue in issues
    ]
    if dropped:
        entries.append({"severity": "information", "code": "informational",
                        "diagnostics": f"{dropped} more problems were not listed"})
    return {"resourceType": "OperationOutcome", "issue": entries}


def error(status: int, message: str, *, code: str = "invalid", expression: str = "") -> FhirResponse:
    return FhirResponse(status, operation_outcome([Issue(expression, message, code)]))


def bundle(store: FhirStore, target: RequestTarget, result: SearchResult) -> dict[str, Any]:
    """A ``searchset`` Bundle for one page of a search, with self and next links."""
    base = normalize_base(store.base_url)
    self_url = base + target.relative()
    digest = hashlib.blake2b(self_url.encode(), digest_size=8).hexdigest()
    links = [{"relation": "self", "url": self_url}]
    end = result.offset + len(result.resources)
    if not result.summary_count and result.count and end < result.total:
        kept = [(k, v) for k, v in target.params if k not in ("_offset", "_count")]
        following = urlencode([*kept, ("_count", str(result.count)), ("_offset", str(end))])
        links.append({"relation": "next", "url": f"{base}{target.resource_type}?{following}"})
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": digest,
        "meta": {"lastUpdated": store.now} if store.now else {},
        "type": "searchset",
        "total": result.total,
        "link": links,
    }
    if not body["meta"]:
        del body["meta"]
    if result.resources:
        body["entry"] = [
            {
                "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in result.resources
        ]
    return body


def capability_statement(store: FhirStore) -> dict[str, Any]:
    """What this server supports: its types, their search parameters, read/search/create."""
    resources = []
    for definition in RESOURCE_DEFS.values():
        resources.append(
            {
                "type": definition.name,
                "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "create"}],
                "searchParam": [{"name": p.name, "type": p.kind} for p in definition.params.values()],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": store.now or "2023-01-01",
        "kind": "instance",
        "software": {"name": "medagentgym FHIR store"},
        "implementation": {"description": "MedAgentGym FHIR R4 record store", "url": store.base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": resources}],
    }


def handle_get(store: FhirStore, url: object) -> FhirResponse:
    """A read, a search or ``metadata``."""
    try:
        target = parse_request_url(url, store.base_url, method="GET")
    except FhirUrlError as exc:
        return error(exc.status, str(exc), code="not-found" if exc.status == 404 else "invalid")
    if target.interaction == "capabilities":
        return FhirResponse(200, capability_statement(store))
    assert target.resource_type is not None
    if target.resource_type not in RESOURCE_DEFS:
        return error(
            404,
            f"unknown resource type {target.resource_type!r} (known: {', '.join(RESOURCE_DEFS)})",
            code="not-supported",
        )
    if target.interaction == "read":
        assert target.resource_id is not None
        resource = store.read(target.resource_type, target.resource_id)
        if resource is None:
            return error(404, f"{target.resource_type}/{target.resource_id} is not known", code="not-found")
        return FhirResponse(200, resource)
    try:
        result = store.search(target.resource_type, target.params)
    except SearchError as exc:
        return error(exc.status, str(exc), code="not-supported" if "unknown" in str(exc) else "invalid")
    except (sqlite3.Error, OverflowError) as exc:  # a store fault, not the client's
        return error(500, f"the search failed in the store ({type(exc).__name__})", code="exception")
    return FhirResponse(200, bundle(store, target, result))


def parse_body(payload: Any) -> Any:
    """A POST body: a JSON object, or JSON text holding one (models often send a string).

    Raises ValueError with a message for the client.
    """
    if isinstance(payload, (str, bytes)):
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        if len(text) > MAX_BODY_CHARS:
            raise ValueError(f"the body is longer than {MAX_BODY_CHARS} characters")
        try:
            payload = loads_bounded(text, max_depth=MAX_BODY_DEPTH, max_chars=MAX_BODY_CHARS)
        except UntrustedJSONError as exc:
            raise ValueError(f"the body is {exc}") from None
    else:
        try:
            size = len(json.dumps(payload, ensure_ascii=False, default=str))
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"the body cannot be read as JSON ({type(exc).__name__})") from None
        if size > MAX_BODY_CHARS:
            raise ValueError(f"the body is longer than {MAX_BODY_CHARS} characters")
    # A "\udcff" escape is valid JSON but not storable UTF-8: kept as U+FFFD.
    return clean_json(payload)


def handle_post(store: FhirStore, url: object, payload: Any) -> FhirResponse:
    """A create: ``POST Type`` with the resource as body."""
    try:
        target = parse_request_url(url, store.base_url, method="POST")
    except FhirUrlError as exc:
        return error(exc.status, str(exc))
    if target.interaction != "search" or target.resource_type is None:
        return error(405, "create with POST to a resource type's URL, e.g. Observation", code="not-supported")
    extra = [k for k, _ in target.params if k not in ("_format", "_pretty")]
    if extra:
        return error(400, f"a create takes no query parameters ({', '.join(extra[:5])})")
    try:
        body = parse_body(payload)
    except ValueError as exc:
        status = 413 if "longer than" in str(exc) else 400
        return error(status, str(exc), code="structure")
    try:
        stored = store.create(target.resource_type, body)
    except CreateError as exc:
        return FhirResponse(exc.status, operation_outcome(exc.issues, dropped=exc.dropped))
    except (sqlite3.Error, OverflowError) as exc:
        return error(500, f"the create failed in the store ({type(exc).__name__})", code="exception")
    location = f"{normalize_base(store.base_url)}{stored['resourceType']}/{stored['id']}/_history/1"
    return FhirResponse(201, stored, location)


def handle(store: FhirStore, method: str, url: object, payload: Any = None) -> FhirResponse:
    """One request against ``store``; every client mistake is an OperationOutcome, never raised."""
    if method == "GET":
        return handle_get(store, url)
    if method == "POST":
        return handle_post(store, url, payload)
    return error(405, f"{method[:10]} is not supported: this server reads (GET) and creates (POST)",
                 code="not-supported")
