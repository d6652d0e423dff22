"""The small hand-made FHIR store the store's tests use (independent of any dataset)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medagentgym.fhir import FhirStore

NOW = "2023-11-13T10:15:00+00:00"
LAB = "urn:test:lab"
LOINC = "http://loinc.org"


def observation(ident: str, patient: str, code: str, when: str, value: float, *, loinc: str | None = None,
                system: str | None = LAB) -> dict[str, Any]:
    coding = [{"code": code, **({"system": system} if system else {})}]
    if loinc:
        coding.append({"system": LOINC, "code": loinc})
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": {"coding": coding},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mg/dL"},
    }


def patient(ident: str, given: str, family: str, born: str, gender: str = "female") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": ident,
        "identifier": [{"system": "urn:test:mrn", "value": ident}],
        "name": [{"family": family, "given": [given], "text": f"{given} {family}"}],
        "gender": gender,
        "birthDate": born,
        "address": [{"city": "Springfield", "state": "IL", "postalCode": "62701"}],
    }


RESOURCES: list[dict[str, Any]] = [
    patient("S0000001", "Peter", "Whitcombe", "1931-06-14", "male"),
    patient("S0000002", "José", "Núñez", "1970-05-01", "male"),
    patient("S0000003", "Petra", "Whitcombe", "1980-02-10"),
    observation("mg-1", "S0000001", "MG", "2023-11-13T10:15:00+00:00", 1.8, loinc="19123-9"),
    observation("mg-2", "S0000001", "MG", "2023-11-12T10:15:00+00:00", 2.1, loinc="19123-9"),
    observation("mg-3", "S0000001", "MG", "2023-11-01T08:00:00+00:00", 1.2, loinc="19123-9"),
    observation("k-1", "S0000001", "K", "2023-11-10T09:00:00+00:00", 3.1, loinc="2823-3"),
    observation("mg-4", "S0000002", "MG", "2023-11-13T09:00:00+02:00", 2.4, loinc="19123-9"),
    observation("nosys-1", "S0000002", "MG", "2023-10-01", 2.0, system=None),
    {
        "resourceType": "Condition",
        "id": "cond-1",
        "category": [{"coding": [{"code": "problem-list-item"}]}],
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": {"reference": "Patient/S0000001"},
        "onsetDateTime": "2001-01-01",
    },
    {
        "resourceType": "Procedure",
        "id": "proc-1",
        "status": "completed",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "93000"}]},
        "subject": {"reference": "Patient/S0000001"},
        "performedPeriod": {"start": "2023-06-01T08:00:00+00:00", "end": "2023-06-01T09:00:00+00:00"},
    },
]


def build_small_store(path: Path) -> Path:
    with FhirStore.build(path, now=NOW) as store:
        store.add_many(RESOURCES)
        store.seal()
    return path
