"""Search semantics of the FHIR store, its errors, its indexes against injection, and copies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fhir_testdata import NOW, RESOURCES

from medagentgym.fhir import FhirStore, FhirStoreError, copy_store, handle
from medagentgym.fhir.store import MAX_PAGE_SIZE


def ids(store: FhirStore, url: str) -> list[str]:
    response = handle(store, "GET", url)
    assert response.status == 200, response.text()
    assert response.body["resourceType"] == "Bundle" and response.body["type"] == "searchset"
    return [e["resource"]["id"] for e in response.body.get("entry", [])]


def error_of(store: FhirStore, url: str, status: int = 400) -> str:
    response = handle(store, "GET", url)
    assert response.status == status, response.text()
    assert response.body["resourceType"] == "OperationOutcome"
    issue = response.body["issue"][0]
    assert issue["severity"] == "error" and issue["code"]
    return issue["diagnostics"]


# -- tokens ---------------------------------------------------------------------------------------


def test_token_code_in_any_system(store) -> None:
    assert set(ids(store, "Observation?code=MG")) == {"mg-1", "mg-2", "mg-3", "mg-4", "nosys-1"}


def test_token_system_and_code(store) -> None:
    assert set(ids(store, "Observation?code=urn:test:lab|MG")) == {"mg-1", "mg-2", "mg-3", "mg-4"}
    assert ids(store, "Observation?code=http://loinc.org|2823-3") == ["k-1"]
    assert ids(store, "Observation?code=http://loinc.org|MG") == []


def test_token_without_system_and_any_code_of_a_system(store) -> None:
    assert ids(store, "Observation?code=|MG") == ["nosys-1"]
    assert set(ids(store, "Observation?code=http://loinc.org|")) == {"mg-1", "mg-2", "mg-3", "mg-4", "k-1"}


def test_token_comma_is_or_and_repeats_are_and(store) -> None:
    assert set(ids(store, "Observation?patient=S0000001&code=K,MG")) == {"mg-1", "mg-2", "mg-3", "k-1"}
    assert ids(store, "Observation?code=K&code=MG") == []
    assert ids(store, "Observation?code=mg") == []  # codes are case-sensitive


def test_gender_and_id_tokens(store) -> None:
    assert set(ids(store, "Patient?gender=male")) == {"S0000001", "S0000002"}
    assert ids(store, "Patient?_id=S0000003") == ["S0000003"]
    assert ids(store, "Patient?identifier=urn:test:mrn|S0000002") == ["S0000002"]


# -- strings --------------------------------------------------------------------------------------


def test_string_prefix_case_and_accent_insensitive(store) -> None:
    assert set(ids(store, "Patient?family=whitc")) == {"S0000001", "S0000003"}
    assert ids(store, "Patient?family=NUNEZ") == ["S0000002"]
    assert ids(store, "Patient?given=jose") == ["S0000002"]
    assert ids(store, "Patient?name=Peter%20Whitcombe") == ["S0000001"]
    assert ids(store, "Patient?name=Peter Whitcombe") == ["S0000001"]  # an unencoded space
    assert set(ids(store, "Patient?name=pet")) == {"S0000001", "S0000003"}


def test_string_modifiers(store) -> None:
    assert ids(store, "Patient?family:exact=Whitcombe&given:exact=Peter") == ["S0000001"]
    assert ids(store, "Patient?family:exact=whitcombe") == []
    assert set(ids(store, "Patient?family:contains=hitco")) == {"S0000001", "S0000003"}
    assert "modifiers" in error_of(store, "Patient?family:below=x")


def test_string_search_with_sql_wildcards_is_literal(store) -> None:
    assert ids(store, "Patient?family=%25") == []
    assert ids(store, "Patient?family=_") == []
    assert ids(store, "Patient?family:contains=%25") == []


# -- dates ----------------------------------------------------------------------------------------

# mg-1 at 10:15:00Z on the 13th, mg-2 at 10:15:00Z on the 12th, mg-3 on the 1st, mg-4 at 07:00Z on the
# 13th (written +02:00), nosys-1 the whole day of 2023-10-01.


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date=2023-11-13", {"mg-1", "mg-4"}),
        ("date=eq2023-11-12T10:15:00%2B00:00", {"mg-2"}),
        ("date=ge2023-11-12T10:15:00%2B00:00", {"mg-1", "mg-2", "mg-4"}),  # the boundary instant is in
        ("date=gt2023-11-12T10:15:00%2B00:00", {"mg-1", "mg-4"}),  # ...and out
        ("date=lt2023-11-12T10:15:00%2B00:00", {"mg-3", "nosys-1"}),
        ("date=le2023-11-12T10:15:00%2B00:00", {"mg-2", "mg-3", "nosys-1"}),
        ("date=ge2023-11-12T10:15:00 00:00", {"mg-1", "mg-2", "mg-4"}),  # a "+" decoded to a space
        ("date=ge2023-11-12T10:15", {"mg-1", "mg-2", "mg-4"}),  # no seconds, no zone: UTC
        ("date=ge2023-11-13T09:00:00%2B02:00", {"mg-1", "mg-4"}),  # zones are converted
        ("date=gt2023-11-13T09:00:00%2B02:00", {"mg-1"}),
        ("date=2023-11", {"mg-1", "mg-2", "mg-3", "mg-4"}),
        ("date=ne2023-11", {"nosys-1"}),
        ("date=sa2023-11-12", {"mg-1", "mg-4"}),
        ("date=eb2023-11-12", {"mg-3", "nosys-1"}),
        ("date=ge2023-11-01&date=lt2023-11-13", {"mg-2", "mg-3"}),  # repeated: AND
        ("date=2023-10-01,2023-11-12", {"nosys-1", "mg-2"}),  # comma: OR
        # a value covering a whole day reaches past noon: "the range above" the search value meets it
        ("date=ge2023-10-01T12:00:00%2B00:00", {"mg-1", "mg-2", "mg-3", "mg-4", "nosys-1"}),
        ("date=sa2023-10-01T12:00:00%2B00:00", {"mg-1", "mg-2", "mg-3", "mg-4"}),
    ],
)
def test_date_prefixes_follow_fhir_ranges(store, query: str, expected: set[str]) -> None:
    assert set(ids(store, f"Observation?code=MG&{query}")) == expected


def test_periods_are_searched_by_overlap(store) -> None:
    assert ids(store, "Procedure?patient=S0000001&date=2023-06-01") == ["proc-1"]
    assert ids(store, "Procedure?patient=S0000001&date=gt2023-06-01T08:30:00%2B00:00") == ["proc-1"]
    assert ids(store, "Procedure?patient=S0000001&date=lt2023-06-01T08:00:00%2B00:00") == []


def test_birthdate_search(store) -> None:
    assert ids(store, "Patient?birthdate=1931-06-14") == ["S0000001"]
    assert ids(store, "Patient?birthdate=1932-12-28") == []
    assert set(ids(store, "Patient?birthdate=lt1975")) == {"S0000001", "S0000002"}


@pytest.mark.parametrize("value", ["2023-13-01", "2023-02-30", "yesterday", "xx2023", "ap2023-01-01", "2023-11-13T25:00"])
def test_bad_dates_are_refused(store, value: str) -> None:
    error_of(store, f"Observation?date={value}")


# -- references, sort, paging ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref", ["S0000001", "Patient/S0000001", "http://localhost:8080/fhir/Patient/S0000001"]
)
def test_patient_reference_forms(store, ref: str) -> None:
    assert set(ids(store, f"Observation?patient={ref}&code=MG")) == {"mg-1", "mg-2", "mg-3"}
    assert set(ids(store, f"Observation?subject={ref}&code=MG")) == {"mg-1", "mg-2", "mg-3"}


def test_patient_parameter_must_name_a_patient(store) -> None:
    assert "Patient" in error_of(store, "Observation?patient=Observation/mg-1")
    assert ids(store, "Observation?patient=S9999999") == []


def test_sort_by_date_both_ways_and_count(store) -> None:
    assert ids(store, "Observation?patient=S0000001&code=MG&_sort=-date") == ["mg-1", "mg-2", "mg-3"]
    assert ids(store, "Observation?patient=S0000001&code=MG&_sort=date") == ["mg-3", "mg-2", "mg-1"]
    assert ids(store, "Observation?patient=S0000001&code=MG&_sort=-date&_count=1") == ["mg-1"]
    assert ids(store, "Patient?_sort=-_id") == ["S0000003", "S0000002", "S0000001"]


def test_paging_has_total_and_next_link(store) -> None:
    response = handle(store, "GET", "Observation?code=MG&_sort=date&_count=2")
    body = response.body
    assert body["total"] == 5 and len(body["entry"]) == 2
    following = next(link["url"] for link in body["link"] if link["relation"] == "next")
    second = handle(store, "GET", following)
    assert [e["resource"]["id"] for e in body["entry"]] == ["nosys-1", "mg-3"]
    assert [e["resource"]["id"] for e in second.body["entry"]] == ["mg-2", "mg-4"]
    last = handle(store, "GET", "Observation?code=MG&_sort=date&_count=2&_offset=4").body
    assert [e["resource"]["id"] for e in last["entry"]] == ["mg-1"]
    assert not any(link["relation"] == "next" for link in last["link"])


def test_summary_count_and_zero_count(store) -> None:
    body = handle(store, "GET", "Observation?code=MG&_summary=count").body
    assert body["total"] == 5 and "entry" not in body
    assert ids(store, "Observation?code=MG&_count=0") == []


def test_read_by_id_and_metadata(store) -> None:
    response = handle(store, "GET", "Patient/S0000001")
    assert response.status == 200 and response.body["id"] == "S0000001"
    assert error_of(store, "Patient/S7777777", 404)
    capabilities = handle(store, "GET", "metadata").body
    assert capabilities["resourceType"] == "CapabilityStatement" and capabilities["fhirVersion"] == "4.0.1"


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "needle", "status"),
    [
        ("Observation?foo=1", "unknown search parameter", 400),
        ("Observation?code:text=MG", "token", 400),
        ("Observation?_count=abc", "whole number", 400),
        (f"Observation?_count={MAX_PAGE_SIZE + 1}", "between", 400),
        ("Observation?_sort=code", "cannot sort", 400),
        ("Observation?_summary=true", "_summary", 400),
        ("Observation?_format=xml", "JSON", 406),
        ("Observation?code=", "must not be empty", 400),
        ("Observation?code=" + ",".join(["a"] * 21), "at most", 400),
        ("Medication?code=1", "unknown resource type", 404),
    ],
)
def test_search_errors_are_operation_outcomes(store, url: str, needle: str, status: int) -> None:
    assert needle in error_of(store, url, status)


def test_format_and_pretty_are_accepted(store) -> None:
    assert ids(store, "Patient?_id=S0000001&_format=json&_pretty=true") == ["S0000001"]


# -- injection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "MG' OR '1'='1",
        "MG\" OR 1=1 --",
        "x'); DROP TABLE resources; --",
        "%27%20OR%201%3D1%20--",
    ],
)
def test_sql_in_values_is_only_data(store, value: str) -> None:
    assert ids(store, f"Observation?code={value}") == []
    assert ids(store, f"Patient?family={value}") == []
    assert store.count() == len(RESOURCES)


def test_sql_in_parameter_names_never_reaches_the_database(store) -> None:
    for name in ("code);drop table resources;--", "code'", "code%3Bdrop"):
        error_of(store, f"Observation?{name}=1")
    assert store.count() == len(RESOURCES)


# -- copies and state -----------------------------------------------------------------------------


def test_copies_are_isolated_and_the_template_is_untouched(small_template: Path, tmp_path: Path) -> None:
    payload = {
        "resourceType": "Observation", "status": "final", "code": {"text": "BP"},
        "subject": {"reference": "Patient/S0000001"}, "effectiveDateTime": NOW, "valueString": "120/80 mmHg",
    }
    with FhirStore(copy_store(small_template, tmp_path / "a.sqlite")) as a, \
            FhirStore(copy_store(small_template, tmp_path / "b.sqlite")) as b:
        made = a.create("Observation", payload)
        assert made["id"] and made["meta"]["lastUpdated"] == NOW
        assert [r["id"] for r in a.created()] == [made["id"]]
        assert b.created() == []
        other = b.create("Observation", {**payload, "valueString": "99/60 mmHg"})
        assert [r["valueString"] for r in b.created()] == ["99/60 mmHg"]
        assert [r["valueString"] for r in a.created()] == ["120/80 mmHg"]
        assert made["id"] == other["id"]  # ids are per store: each copy counts on its own
    with FhirStore(small_template, readonly=True) as template:
        assert template.count() == len(RESOURCES) and template.created() == []


def test_created_resources_are_searchable(store) -> None:
    made = store.create("Observation", {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "urn:test:lab", "code": "MG"}]},
        "subject": {"reference": "http://localhost:8080/fhir/Patient/S0000003"},
        "effectiveDateTime": "2023-11-13T10:00:00Z", "valueQuantity": {"value": 1.1, "unit": "mg/dL"},
    })
    assert ids(store, "Observation?patient=S0000003&code=MG") == [made["id"]]


def test_read_only_store_refuses_creates(small_template: Path) -> None:
    with FhirStore(small_template, readonly=True) as template:
        response = handle(template, "POST", "Patient", {"resourceType": "Patient", "name": [{"family": "X"}]})
        assert response.status == 403


def test_missing_or_foreign_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FhirStoreError, match="no FHIR store"):
        FhirStore(tmp_path / "missing.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    with pytest.raises(FhirStoreError, match="not a FHIR store"):
        FhirStore(other)
    with pytest.raises(FhirStoreError):
        copy_store(tmp_path / "missing.sqlite", tmp_path / "copy.sqlite")


def test_a_dropped_episode_store_removes_its_copy(small_template: Path) -> None:
    import gc

    from medagentgym.fhir import EpisodeStore

    endpoint = EpisodeStore(small_template)
    folder = endpoint.path.parent
    assert folder.exists()
    endpoint.store.close()
    del endpoint
    gc.collect()
    assert not folder.exists()
