"""The FHIR API as an agent reads it: nine endpoints, their parameters and the rules of the store.

The text is rendered into the task prompt of every sample with a FHIR store (``env/prompts.py``),
so it states what the store really does (``store.py``, ``validate.py``): which parameters a
search understands, how tokens, dates and references are written, and what a create must carry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    params: tuple[tuple[str, str], ...]


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET", "Patient", "find patients by demographics",
        (
            ("identifier", "the MRN (e.g. S1234567); the MRN is also the Patient's id"),
            ("name / family / given", "any part of the name, the last name, the first name (case-insensitive prefix)"),
            ("birthdate", "YYYY-MM-DD"),
            ("gender", "male | female"),
            ("address, address-city, address-state, address-postalcode, telecom", "contact details"),
        ),
    ),
    Endpoint(
        "GET", "Observation", "laboratory results",
        (
            ("patient", "the patient's id (MRN)"),
            ("code", "the lab's code, e.g. code=K, or system|code for a LOINC code"),
            ("date", "when the specimen was taken, with a prefix: date=ge2023-11-12T10:15:00+00:00"),
            ("category", "laboratory"),
        ),
    ),
    Endpoint(
        "GET", "Observation", "vital signs",
        (
            ("patient", "the patient's id (MRN)"),
            ("category", "vital-signs"),
            ("date", "when the vital sign was taken, with a prefix"),
        ),
    ),
    Endpoint(
        "POST", "Observation", "record a vital sign",
        (
            ("resourceType", '"Observation"'),
            ("status", '"final"'),
            ("category", ('[{"coding": [{"system": "http://hl7.org/fhir/observation-category", "code": '
                          '"vital-signs", "display": "Vital Signs"}]}]')),
            ("code", '{"text": "<flowsheet id>"}'),
            ("effectiveDateTime", "when it was measured, e.g. 2023-11-13T10:15:00+00:00"),
            ("valueString", 'the measurement as text, e.g. "120/80 mmHg"'),
            ("subject", '{"reference": "Patient/<MRN>"}'),
        ),
    ),
    Endpoint(
        "GET", "MedicationRequest", "medication orders",
        (
            ("patient", "the patient's id (MRN)"),
            ("status", "active | completed | stopped ..."),
            ("category", "inpatient | outpatient | community | discharge"),
            ("authoredon", "when the order was written, with a prefix"),
        ),
    ),
    Endpoint(
        "POST", "MedicationRequest", "order a medication",
        (
            ("resourceType", '"MedicationRequest"'),
            ("status / intent", '"active" / "order"'),
            ("medicationCodeableConcept", ('{"coding": [{"system": "http://hl7.org/fhir/sid/ndc", '
                                           '"code": "<NDC>", "display": "..."}], "text": "..."}')),
            ("authoredOn", "when the order is signed (ISO date-time with a zone)"),
            ("dosageInstruction", ('[{"route": {"text": "IV"}, "doseAndRate": [{"doseQuantity": {"value": 2, '
                                   '"unit": "g"}}], "timing": {"repeat": {"duration": 2, "durationUnit": "h"}}}] '
                                   "(timing.repeat.duration: how long an infusion runs)")),
            ("subject", '{"reference": "Patient/<MRN>"}'),
        ),
    ),
    Endpoint(
        "GET", "Procedure", "procedures done",
        (
            ("patient", "the patient's id (MRN)"),
            ("code", "the CPT code"),
            ("date", "when it was done, with a prefix"),
        ),
    ),
    Endpoint(
        "POST", "ServiceRequest", "order a lab test, a referral or another service",
        (
            ("resourceType", '"ServiceRequest"'),
            ("status / intent / priority", '"active" / "order" / "stat"'),
            ("code", ('{"coding": [{"system": "http://loinc.org" or "http://snomed.info/sct", '
                      '"code": "...", "display": "..."}]}')),
            ("authoredOn", "when the order is signed"),
            ("occurrenceDateTime", "when the service should happen (optional)"),
            ("note", '[{"text": "free text"}] (optional)'),
            ("subject", '{"reference": "Patient/<MRN>"}'),
        ),
    ),
    Endpoint(
        "GET", "Condition", "the problem list",
        (
            ("patient", "the patient's id (MRN)"),
            ("category", "problem-list-item"),
        ),
    ),
)

RULES = """\
Rules of this FHIR R4 server:
- A search answers a Bundle (type searchset) with "total" and the matches under "entry"[i]["resource"];
  at most 50 entries per page unless _count=N (up to 500); a "next" link gives the following page.
- _sort=-date sorts newest first (_sort=date oldest first); _count=1 with it gives the latest only.
- Dates take a prefix: eq (default), gt, ge, lt, le; a date without a time covers the whole day.
- Tokens match a code in any system (code=K) or in one system (code=http://loinc.org|2823-3);
  comma-separated values mean OR; repeating a parameter means AND.
- A create (POST) must name resourceType, status, the subject as {"reference": "Patient/<id>"} and the
  fields listed above; date-times need a time zone. An invalid payload is refused with an
  OperationOutcome and nothing is stored. Every POST that succeeds is a real, recorded order."""


def render_api(base_url: str) -> str:
    """The endpoint list and the rules, for a prompt."""
    lines = [f"FHIR server base URL: {base_url} (URLs may also be written relative to it)", "Endpoints:"]
    for endpoint in ENDPOINTS:
        lines.append(f"- {endpoint.method} {endpoint.path}: {endpoint.summary}")
        for name, text in endpoint.params:
            lines.append(f"    {name}: {text}")
    return "\n".join(lines) + "\n" + RULES
