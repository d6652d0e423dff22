"""FHIR date ranges, and request URLs read as hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from medagentgym.fhir.dates import (
    FhirDateError,
    micros_of,
    parse_search,
    parse_value,
    to_iso,
)
from medagentgym.fhir.urls import (
    MAX_QUERY_PARAMS,
    MAX_URL_CHARS,
    FhirUrlError,
    parse_request_url,
)

BASE = "http://localhost:8080/fhir/"
SECOND = 1_000_000


def at(*parts: int) -> int:
    return micros_of(datetime(*parts, tzinfo=UTC))


# -- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2023", at(2023, 1, 1), at(2024, 1, 1)),
        ("2024-02", at(2024, 2, 1), at(2024, 3, 1)),
        ("2023-11-13", at(2023, 11, 13), at(2023, 11, 14)),
        ("2023-11-13T10:15:00+00:00", at(2023, 11, 13, 10, 15), at(2023, 11, 13, 10, 15) + SECOND),
        ("2023-11-13T10:15:00Z", at(2023, 11, 13, 10, 15), at(2023, 11, 13, 10, 15) + SECOND),
        ("2023-11-13T12:15:00+02:00", at(2023, 11, 13, 10, 15), at(2023, 11, 13, 10, 15) + SECOND),
        ("2023-11-13T10:15:00.5-01:00", at(2023, 11, 13, 11, 15) + SECOND // 2,
         at(2023, 11, 13, 11, 15) + SECOND // 2 + SECOND // 10),
    ],
)
def test_values_cover_their_precision(text: str, low: int, high: int) -> None:
    span = parse_value(text)
    assert (span.low, span.high) == (low, high)


@pytest.mark.parametrize(
    "text",
    ["2023-13", "2023-02-30", "2023-11-13T10:15", "2023-11-13T10:15:00", "2023-11-13 10:15:00+00:00",
     "2023-11-13T24:00:00Z", "2023-11-13T10:15:60Z", "2023-11-13T10:15:00+15:00", "0000", "23-11-13", "",
     "2023-11-13T10:15:00+00:00x"],
)
def test_stored_values_are_strict(text: str) -> None:
    with pytest.raises(FhirDateError):
        parse_value(text)


def test_non_strings_are_not_dates() -> None:
    with pytest.raises(FhirDateError):
        parse_value(20231113)


def test_search_values_take_prefixes_and_lenient_times() -> None:
    assert parse_search("2023-11-13")[0] == "eq"
    prefix, span = parse_search("ge2023-11-12T10:15")
    assert prefix == "ge" and (span.low, span.high) == (at(2023, 11, 12, 10, 15), at(2023, 11, 12, 10, 16))
    assert parse_search("lt2023-11-12T10:15:00 00:00")[1] == parse_value("2023-11-12T10:15:00+00:00")
    for bad in ("ap2023", "zz2023", "ge", "ge2023-11-13T10", "ge2023-11-13T10:15:00+0000"):
        with pytest.raises(FhirDateError):
            parse_search(bad)


def test_iso_round_trip() -> None:
    assert to_iso(parse_value("2023-11-13T12:15:00+02:00").low) == "2023-11-13T10:15:00+00:00"


# -- URLs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "Patient?family=Smith",
        "/Patient?family=Smith",
        "fhir/Patient?family=Smith",
        "/fhir/Patient?family=Smith",
        "http://localhost:8080/fhir/Patient?family=Smith",
        "HTTP://LOCALHOST:8080/fhir/Patient?family=Smith",
        "  Patient?family=Smith  ",
        "Patient/?family=Smith",
        "%50atient?family=Smith",
    ],
)
def test_accepted_spellings_of_a_search(url: str) -> None:
    target = parse_request_url(url, BASE)
    assert (target.interaction, target.resource_type, target.params) == ("search", "Patient", (("family", "Smith"),))


def test_reads_and_metadata() -> None:
    assert parse_request_url("Patient/S1234567", BASE).resource_id == "S1234567"
    assert parse_request_url("metadata", BASE).interaction == "capabilities"
    target = parse_request_url("Observation?date=ge2023-11-12T10:15:00+00:00", BASE)
    assert target.params == (("date", "ge2023-11-12T10:15:00 00:00"),)  # "+" is a space in a query
    assert target.relative() == "Observation?date=ge2023-11-12T10%3A15%3A00+00%3A00"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://evil.example/fhir/Patient", 400),
        ("http://localhost:9999/fhir/Patient", 400),
        ("https://localhost:8080/fhir/Patient", 400),
        ("http://localhost:8080@evil.example/fhir/Patient", 400),
        ("http://user@localhost:8080/fhir/Patient", 400),
        ("//evil.example/fhir/Patient", 400),
        ("file:///etc/passwd", 400),
        ("javascript:alert(1)", 400),
        ("localhost:8080/fhir/Patient", 400),
        ("http://localhost:8080/other/Patient", 400),
        ("http://localhost:8080/fhirx/Patient", 400),
        ("Patient#frag", 400),
        ("../Patient", 404),
        ("Patient/../../etc/passwd", 404),
        ("Patient/%2e%2e", 404),
        ("Patient%2F..%2F..%2Fetc", 404),
        ("Patient/S1/_history/1", 404),
        ("Patient/a b", 400),
        ("Patient\x00?x=1", 400),
        ("Patient?x=\x07", 400),
        ("", 400),
        ("   ", 400),
        ("Patient/" + "a" * 65, 404),
        ("Patient?" + "x" * 65 + "=1", 400),
        ("Patient?family=" + "a" * 501, 400),
        ("Patient?" + "&".join(f"p{i}=1" for i in range(MAX_QUERY_PARAMS + 1)), 400),
        ("Patient?family=%ff", 400),
        ("Patient?" + "a" * MAX_URL_CHARS, 414),
        ("Patient?fam'ily=1", 400),
    ],
)
def test_hostile_urls_are_refused(url: str, status: int) -> None:
    with pytest.raises(FhirUrlError) as caught:
        parse_request_url(url, BASE)
    assert caught.value.status == status


def test_non_string_urls_are_refused() -> None:
    with pytest.raises(FhirUrlError):
        parse_request_url(["Patient"], BASE)


def test_posts_go_to_a_type_only() -> None:
    assert parse_request_url("Observation", BASE, method="POST").resource_type == "Observation"
    with pytest.raises(FhirUrlError) as caught:
        parse_request_url("Observation/1", BASE, method="POST")
    assert caught.value.status == 405
    with pytest.raises(FhirUrlError):
        parse_request_url("metadata", BASE, method="POST")


def test_a_base_without_a_path_prefix() -> None:
    target = parse_request_url("https://fhir.example.org:8443/Patient?_id=S1", "https://fhir.example.org:8443/")
    assert target.resource_type == "Patient"
    with pytest.raises(FhirUrlError):
        parse_request_url("https://fhir.example.org/Patient", "https://fhir.example.org:8443/")
