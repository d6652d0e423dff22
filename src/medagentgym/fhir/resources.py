"""The resource types the store serves, as data: their elements and their search parameters.

Everything the store knows about a type lives in one :class:`ResourceDef`: the R4 elements it
accepts (name -> datatype; ``[]`` marks an array), which of them a create must carry (R4's own
1..1 elements plus what this store's API asks for, documented in ``api.py``), its choice groups
(``value[x]``: at most one variant) and its search parameters (name -> kind and the element
paths they index). Adding a type or a parameter is a row here, not code in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ParamKind = Literal["token", "string", "date", "reference"]


@dataclass(frozen=True)
class SearchParam:
    """One search parameter: its kind and the element paths (dotted, arrays flattened) it reads.

    ``target`` restricts a reference parameter to one resource type (``patient`` -> Patient).
    """

    name: str
    kind: ParamKind
    paths: tuple[str, ...]
    target: str | None = None


@dataclass(frozen=True)
class ResourceDef:
    name: str
    elements: dict[str, str]
    required: tuple[str, ...] = ()  # element names, or "effective[x]" for a choice group
    choices: tuple[str, ...] = ()  # choice group prefixes: "effective" covers effectiveDateTime...
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # code elements' value sets
    params: dict[str, SearchParam] = field(default_factory=dict)
    sort_date: str | None = None  # the date parameter ``_sort=date`` means


# Elements every DomainResource may carry.
_COMMON = {
    "id": "id",
    "meta": "Meta",
    "implicitRules": "uri",
    "language": "code",
    "text": "Narrative",
    "contained": "Any[]",
    "extension": "Extension[]",
    "modifierExtension": "Extension[]",
}

_COMMON_PARAMS = (
    SearchParam("_id", "token", ("id",)),
    SearchParam("_lastUpdated", "date", ("meta.lastUpdated",)),
)


def _params(*params: SearchParam) -> dict[str, SearchParam]:
    return {p.name: p for p in (*_COMMON_PARAMS, *params)}


def _patient_refs(path: str = "subject") -> tuple[SearchParam, SearchParam]:
    return (
        SearchParam("patient", "reference", (f"{path}.reference",), target="Patient"),
        SearchParam("subject", "reference", (f"{path}.reference",)),
    )


PATIENT = ResourceDef(
    name="Patient",
    elements={
        **_COMMON,
        "identifier": "Identifier[]",
        "active": "boolean",
        "name": "HumanName[]",
        "telecom": "ContactPoint[]",
        "gender": "code",
        "birthDate": "date",
        "deceasedBoolean": "boolean",
        "deceasedDateTime": "dateTime",
        "address": "Address[]",
        "maritalStatus": "CodeableConcept",
        "multipleBirthBoolean": "boolean",
        "multipleBirthInteger": "integer",
        "photo": "Any[]",
        "contact": "Any[]",
        "communication": "Any[]",
        "generalPractitioner": "Reference[]",
        "managingOrganization": "Reference",
        "link": "Any[]",
    },
    required=("name",),
    choices=("deceased", "multipleBirth"),
    codes={"gender": ("male", "female", "other", "unknown")},
    params=_params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("family", "string", ("name.family",)),
        SearchParam("given", "string", ("name.given",)),
        SearchParam("name", "string", ("name.family", "name.given", "name.text", "name.prefix", "name.suffix")),
        SearchParam("birthdate", "date", ("birthDate",)),
        SearchParam("gender", "token", ("gender",)),
        SearchParam("legal-sex", "token", ("gender",)),
        SearchParam(
            "address",
            "string",
            ("address.line", "address.city", "address.district", "address.state", "address.postalCode",
             "address.country", "address.text"),
        ),
        SearchParam("address-city", "string", ("address.city",)),
        SearchParam("address-state", "string", ("address.state",)),
        SearchParam("address-postalcode", "string", ("address.postalCode",)),
        SearchParam("telecom", "token", ("telecom",)),
    ),
)

OBSERVATION = ResourceDef(
    name="Observation",
    elements={
        **_COMMON,
        "identifier": "Identifier[]",
        "basedOn": "Reference[]",
        "partOf": "Reference[]",
        "status": "code",
        "category": "CodeableConcept[]",
        "code": "CodeableConcept",
        "subject": "Reference",
        "focus": "Reference[]",
        "encounter": "Reference",
        "effectiveDateTime": "dateTime",
        "effectivePeriod": "Period",
        "effectiveTiming": "Timing",
        "effectiveInstant": "instant",
        "issued": "instant",
        "performer": "Reference[]",
        "valueQuantity": "Quantity",
        "valueCodeableConcept": "CodeableConcept",
        "valueString": "string",
        "valueBoolean": "boolean",
        "valueInteger": "integer",
        "valueRange": "Range",
        "valueRatio": "Ratio",
        "valueSampledData": "Any",
        "valueTime": "string",
        "valueDateTime": "dateTime",
        "valuePeriod": "Period",
        "dataAbsentReason": "CodeableConcept",
        "interpretation": "CodeableConcept[]",
        "note": "Annotation[]",
        "bodySite": "CodeableConcept",
        "method": "CodeableConcept",
        "specimen": "Reference",
        "device": "Reference",
        "referenceRange": "Any[]",
        "hasMember": "Reference[]",
        "derivedFrom": "Reference[]",
        "component": "Any[]",
    },
    required=("status", "code", "subject", "effective[x]"),
    choices=("effective", "value"),
    codes={
        "status": (
            "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
        )
    },
    params=_params(
        *_patient_refs(),
        SearchParam("code", "token", ("code",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("date", "date", ("effectiveDateTime", "effectivePeriod", "effectiveInstant")),
        SearchParam("status", "token", ("status",)),
    ),
    sort_date="date",
)

CONDITION = ResourceDef(
    name="Condition",
    elements={
        **_COMMON,
        "identifier": "Identifier[]",
        "clinicalStatus": "CodeableConcept",
        "verificationStatus": "CodeableConcept",
        "category": "CodeableConcept[]",
        "severity": "CodeableConcept",
        "code": "CodeableConcept",
        "bodySite": "CodeableConcept[]",
        "subject": "Reference",
        "encounter": "Reference",
        "onsetDateTime": "dateTime",
        "onsetAge": "Quantity",
        "onsetPeriod": "Period",
        "onsetRange": "Range",
        "onsetString": "string",
        "abatementDateTime": "dateTime",
        "abatementAge": "Quantity",
        "abatementPeriod": "Period",
        "abatementRange": "Range",
        "abatementString": "string",
        "recordedDate": "dateTime",
        "recorder": "Reference",
        "asserter": "Reference",
        "stage": "Any[]",
        "evidence": "Any[]",
        "note": "Annotation[]",
    },
    required=("subject", "code"),
    choices=("onset", "abatement"),
    params=_params(
        *_patient_refs(),
        SearchParam("code", "token", ("code",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("clinical-status", "token", ("clinicalStatus",)),
        SearchParam("onset-date", "date", ("onsetDateTime", "onsetPeriod")),
        SearchParam("recorded-date", "date", ("recordedDate",)),
    ),
    sort_date="onset-date",
)

_REQUEST_PRIORITY = ("routine", "urgent", "asap", "stat")

MEDICATION_REQUEST = ResourceDef(
    name="MedicationRequest",
    elements={
        **_COMMON,
        "identifier": "Identifier[]",
        "status": "code",
        "statusReason": "CodeableConcept",
        "intent": "code",
        "category": "CodeableConcept[]",
        "priority": "code",
        "doNotPerform": "boolean",
        "reportedBoolean": "boolean",
        "reportedReference": "Reference",
        "medicationCodeableConcept": "CodeableConcept",
        "medicationReference": "Reference",
        "subject": "Reference",
        "encounter": "Reference",
        "supportingInformation": "Reference[]",
        "authoredOn": "dateTime",
        "requester": "Reference",
        "performer": "Reference",
        "performerType": "CodeableConcept",
        "recorder": "Reference",
        "reasonCode": "CodeableConcept[]",
        "reasonReference": "Reference[]",
        "instantiatesCanonical": "uri[]",
        "instantiatesUri": "uri[]",
        "basedOn": "Reference[]",
        "groupIdentifier": "Identifier",
        "courseOfTherapyType": "CodeableConcept",
        "insurance": "Reference[]",
        "note": "Annotation[]",
        "dosageInstruction": "Dosage[]",
        "dispenseRequest": "Any",
        "substitution": "Any",
        "priorPrescription": "Reference",
        "detectedIssue": "Reference[]",
        "eventHistory": "Reference[]",
    },
    required=("status", "intent", "medication[x]", "subject", "authoredOn"),
    choices=("medication", "reported"),
    codes={
        "status": ("active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"),
        "intent": (
            "proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option",
        ),
        "priority": _REQUEST_PRIORITY,
    },
    params=_params(
        *_patient_refs(),
        SearchParam("code", "token", ("medicationCodeableConcept",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("intent", "token", ("intent",)),
        SearchParam("authoredon", "date", ("authoredOn",)),
        SearchParam(
            "date", "date", ("dosageInstruction.timing.event", "dosageInstruction.timing.repeat.boundsPeriod")
        ),
    ),
    sort_date="authoredon",
)

PROCEDURE = ResourceDef(
    name="Procedure",
    elements={
        **_COMMON,
        "identifier": "Identifier[]",
        "instantiatesCanonical": "uri[]",
        "instantiatesUri": "uri[]",
        "basedOn": "Reference[]",
        "partOf": "Reference[]",
        "status": "code",
        "statusReason": "CodeableConcept",
        "category": "CodeableConcept",
        "code": "CodeableConcept",
        "subject": "Reference",
        "encounter": "Reference",
        "performedDateTime": "dateTime",
        "performedPeriod": "Period",
        "performedString": "string",
        "performedAge": "Quantity",
        "performedRange": "Range",
        "recorder": "Reference",
        "asserter": "Reference",
        "performer": "Any[]",
        "location": "Reference",
        "reasonCode": "CodeableConcept[]",
        "reasonReference": "Reference[]",
        "bodySite": "CodeableConcept[]",
        "outcome": "CodeableConcept",
        "report": "Reference[]",
        "complication": "CodeableConcept[]",
        "complicationDetail": "Reference[]",
        "followUp": "CodeableConcept[]",
        "note": "Annotation[]",
        "focalDevice": "Any[]",
        "usedReference": "Reference[]",
        "usedCode": "CodeableConcept[]",
    },
    required=("status", "code", "subject"),
    choices=("performed",),
    codes={
        "status": (
            "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown",
        )
    },
    params=_params(
        *_patient_refs(),
        SearchParam("code", "token", ("code",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("date", "date", ("performedDateTime", "performedPeriod")),
    ),
    sort_date="date",
)

SERVICE_REQUEST = ResourceDef(
    name="ServiceRequest",
    elements={
        **_COMMON,
        "identifier": "Identifier[]",
        "instantiatesCanonical": "uri[]",
        "instantiatesUri": "uri[]",
        "basedOn": "Reference[]",
        "replaces": "Reference[]",
        "requisition": "Identifier",
        "status": "code",
        "intent": "code",
        "category": "CodeableConcept[]",
        "priority": "code",
        "doNotPerform": "boolean",
        "code": "CodeableConcept",
        "orderDetail": "CodeableConcept[]",
        "quantityQuantity": "Quantity",
        "quantityRatio": "Ratio",
        "quantityRange": "Range",
        "subject": "Reference",
        "encounter": "Reference",
        "occurrenceDateTime": "dateTime",
        "occurrencePeriod": "Period",
        "occurrenceTiming": "Timing",
        "asNeededBoolean": "boolean",
        "asNeededCodeableConcept": "CodeableConcept",
        "authoredOn": "dateTime",
        "requester": "Reference",
        "performerType": "CodeableConcept",
        "performer": "Reference[]",
        "locationCode": "CodeableConcept[]",
        "locationReference": "Reference[]",
        "reasonCode": "CodeableConcept[]",
        "reasonReference": "Reference[]",
        "insurance": "Reference[]",
        "supportingInfo": "Reference[]",
        "specimen": "Reference[]",
        "bodySite": "CodeableConcept[]",
        "note": "Annotation[]",
        "patientInstruction": "string",
        "relevantHistory": "Reference[]",
    },
    required=("status", "intent", "code", "subject", "authoredOn"),
    choices=("quantity", "occurrence", "asNeeded"),
    codes={
        "status": ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"),
        "intent": (
            "proposal", "plan", "directive", "order", "original-order", "reflex-order", "filler-order",
            "instance-order", "option",
        ),
        "priority": _REQUEST_PRIORITY,
    },
    params=_params(
        *_patient_refs(),
        SearchParam("code", "token", ("code",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("intent", "token", ("intent",)),
        SearchParam("priority", "token", ("priority",)),
        SearchParam("authored", "date", ("authoredOn",)),
        SearchParam("occurrence", "date", ("occurrenceDateTime", "occurrencePeriod")),
    ),
    sort_date="authored",
)

RESOURCE_DEFS: dict[str, ResourceDef] = {
    d.name: d for d in (PATIENT, OBSERVATION, CONDITION, MEDICATION_REQUEST, PROCEDURE, SERVICE_REQUEST)
}
RESOURCE_TYPES: tuple[str, ...] = tuple(RESOURCE_DEFS)
