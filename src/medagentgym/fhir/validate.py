"""Validation of a resource an agent asks the store to create.

A create is the one place an agent changes the store, and write tasks are graded from what it
created, so a payload is checked before anything is written: the ``resourceType``, every element
name against the R4 element table of its type (``resources.py``), each element's datatype
(primitives, CodeableConcept, Reference, Quantity, Dosage, ...), code values against their value
sets, choice groups (one ``value[x]`` at most), the elements this store requires, and every
reference (it must point at this store, and at a resource that exists). FHIR JSON never holds
``null``, empty strings, empty arrays or empty objects, so neither does a valid payload.

Problems are collected (up to ``MAX_ISSUES``) with the FHIRPath-like location of each, for one
OperationOutcome that tells the agent everything to fix at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medagentgym.fhir.dates import FhirDateError, parse_value
from medagentgym.fhir.resources import RESOURCE_DEFS, ResourceDef

#: Issues reported for one payload (the rest are counted).
MAX_ISSUES = 20
#: Longest string element accepted (a clinical note fits; a megabyte of padding does not).
MAX_STRING_CHARS = 10_000
#: Most items in one array element.
MAX_ARRAY_ITEMS = 100
#: Deepest nesting of a payload (FHIR resources of these types nest well under 10 levels).
MAX_DEPTH = 12

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_CODE = re.compile(r"\S+( \S+)*")
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")


@dataclass(frozen=True)
class Issue:
    """One problem: where (``Observation.subject.reference``) and what."""

    expression: str
    diagnostics: str
    code: str = "invalid"  # OperationOutcome issue type: invalid, structure, required, value, not-found


# -- datatype shapes: allowed keys and their datatypes -------------------------------------------

_COMPLEX: dict[str, dict[str, str]] = {
    "CodeableConcept": {"id": "string", "extension": "Extension[]", "coding": "Coding[]", "text": "string"},
    "Coding": {
        "id": "string", "extension": "Extension[]", "system": "uri", "version": "string", "code": "code",
        "display": "string", "userSelected": "boolean",
    },
    "Reference": {
        "id": "string", "extension": "Extension[]", "reference": "string", "type": "uri",
        "identifier": "Identifier", "display": "string",
    },
    "Quantity": {
        "id": "string", "extension": "Extension[]", "value": "decimal", "comparator": "code", "unit": "string",
        "system": "uri", "code": "code",
    },
    "Period": {"id": "string", "extension": "Extension[]", "start": "dateTime", "end": "dateTime"},
    "Range": {"id": "string", "extension": "Extension[]", "low": "Quantity", "high": "Quantity"},
    "Ratio": {"id": "string", "extension": "Extension[]", "numerator": "Quantity", "denominator": "Quantity"},
    "Identifier": {
        "id": "string", "extension": "Extension[]", "use": "code", "type": "CodeableConcept", "system": "uri",
        "value": "string", "period": "Period", "assigner": "Reference",
    },
    "HumanName": {
        "id": "string", "extension": "Extension[]", "use": "code", "text": "string", "family": "string",
        "given": "string[]", "prefix": "string[]", "suffix": "string[]", "period": "Period",
    },
    "ContactPoint": {
        "id": "string", "extension": "Extension[]", "system": "code", "value": "string", "use": "code",
        "rank": "integer", "period": "Period",
    },
    "Address": {
        "id": "string", "extension": "Extension[]", "use": "code", "type": "code", "text": "string",
        "line": "string[]", "city": "string", "district": "string", "state": "string", "postalCode": "string",
        "country": "string", "period": "Period",
    },
    "Annotation": {
        "id": "string", "extension": "Extension[]", "authorReference": "Reference", "authorString": "string",
        "time": "dateTime", "text": "string",
    },
    "Timing": {"id": "string", "extension": "Extension[]", "event": "dateTime[]", "repeat": "TimingRepeat",
               "code": "CodeableConcept"},
    "TimingRepeat": {
        "id": "string", "extension": "Extension[]", "boundsDuration": "Quantity", "boundsRange": "Range",
        "boundsPeriod": "Period", "count": "integer", "countMax": "integer", "duration": "decimal",
        "durationMax": "decimal", "durationUnit": "code", "frequency": "integer", "frequencyMax": "integer",
        "period": "decimal", "periodMax": "decimal", "periodUnit": "code", "dayOfWeek": "code[]",
        "timeOfDay": "string[]", "when": "code[]", "offset": "integer",
    },
    "Dosage": {
        "id": "string", "extension": "Extension[]", "modifierExtension": "Extension[]", "sequence": "integer",
        "text": "string", "additionalInstruction": "CodeableConcept[]", "patientInstruction": "string",
        "timing": "Timing", "asNeededBoolean": "boolean", "asNeededCodeableConcept": "CodeableConcept",
        "site": "CodeableConcept", "route": "CodeableConcept", "method": "CodeableConcept",
        "doseAndRate": "DoseAndRate[]", "maxDosePerPeriod": "Ratio", "maxDosePerAdministration": "Quantity",
        "maxDosePerLifetime": "Quantity",
    },
    "DoseAndRate": {
        "id": "string", "extension": "Extension[]", "type": "CodeableConcept", "doseRange": "Range",
        "doseQuantity": "Quantity", "rateRatio": "Ratio", "rateRange": "Range", "rateQuantity": "Quantity",
    },
    "Narrative": {"id": "string", "extension": "Extension[]", "status": "code", "div": "string"},
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "Dosage": ("asNeeded",),
    "DoseAndRate": ("dose", "rate"),
    "TimingRepeat": ("bounds",),
}
_CODE_SETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Quantity", "comparator"): ("<", "<=", ">=", ">"),
    ("ContactPoint", "system"): ("phone", "fax", "email", "pager", "url", "sms", "other"),
    ("TimingRepeat", "durationUnit"): ("s", "min", "h", "d", "wk", "mo", "a"),
    ("TimingRepeat", "periodUnit"): ("s", "min", "h", "d", "wk", "mo", "a"),
    ("Narrative", "status"): ("generated", "extensions", "additional", "empty"),
}

ReferenceCheck = Callable[[str], tuple[str, str] | None]
"""reference text -> None when it resolves, else (issue code, problem)."""


class _Validator:
    def __init__(self, check_reference: ReferenceCheck) -> None:
        self.issues: list[Issue] = []
        self.dropped = 0
        self.check_reference = check_reference

    def add(self, where: str, message: str, code: str = "invalid") -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(where, message, code))
        else:
            self.dropped += 1

    # -- primitives --------------------------------------------------------------------------

    def primitive(self, kind: str, value: Any, where: str) -> None:
        if kind in ("string", "uri", "code", "id"):
            if not isinstance(value, str):
                self.add(where, f"must be a string, not {_type_name(value)}")
            elif not value.strip():
                self.add(where, "must not be empty")
            elif len(value) > MAX_STRING_CHARS:
                self.add(where, f"is longer than {MAX_STRING_CHARS} characters")
            elif kind == "code" and not _CODE.fullmatch(value):
                self.add(where, f"{value[:40]!r} is not a code (no leading, trailing or double spaces)")
            elif kind == "uri" and any(c.isspace() for c in value):
                self.add(where, f"{value[:40]!r} is not a URI (it holds whitespace)")
            elif kind == "id" and not ID_PATTERN.fullmatch(value):
                self.add(where, f"{value[:40]!r} is not an id (1-64 of A-Z a-z 0-9 - .)")
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.add(where, f"must be true or false, not {_type_name(value)}")
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**31:
                self.add(where, f"must be a 32-bit integer, not {_type_name(value)}")
        elif kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.add(where, f"must be a JSON number, not {_type_name(value)}")
            elif isinstance(value, float) and not math.isfinite(value):
                self.add(where, "must be a finite number")
            elif isinstance(value, int) and abs(value) >= 10**18:
                self.add(where, "is too large")
        elif kind in ("date", "dateTime", "instant"):
            self.temporal(kind, value, where)
        else:  # pragma: no cover - a typo in the tables
            raise ValueError(f"unknown primitive {kind}")

    def temporal(self, kind: str, value: Any, where: str) -> None:
        try:
            parse_value(value)
        except FhirDateError as exc:
            self.add(where, str(exc))
            return
        has_time = "T" in value
        if kind == "date" and has_time:
            self.add(where, f"{value!r} must be a date without a time (YYYY-MM-DD)")
        elif kind == "instant" and not has_time:
            self.add(where, f"{value!r} must be an instant with a time and a time zone")

    # -- structures --------------------------------------------------------------------------

    def element(self, kind: str, value: Any, where: str, depth: int) -> None:
        if value is None:
            self.add(where, "must not be null (leave the element out instead)", "structure")
            return
        if depth > MAX_DEPTH:
            self.add(where, f"is nested deeper than {MAX_DEPTH} levels", "structure")
            return
        if kind.endswith("[]"):
            if not isinstance(value, list):
                self.add(where, f"must be an array, not {_type_name(value)}", "structure")
                return
            if not value:
                self.add(where, "must not be an empty array (leave the element out instead)", "structure")
                return
            if len(value) > MAX_ARRAY_ITEMS:
                self.add(where, f"holds more than {MAX_ARRAY_ITEMS} items", "structure")
                return
            for i, item in enumerate(value):
                self.element(kind[:-2], item, f"{where}[{i}]", depth + 1)
            return
        if isinstance(value, list):
            self.add(where, "must be a single value, not an array", "structure")
            return
        if kind in ("Any", "Extension", "Meta"):
            # contents not checked element by element, but bounded like everything else
            if not isinstance(value, dict) or (kind != "Meta" and not value):
                self.add(where, "must be a non-empty object", "structure")
            elif kind == "Extension" and not isinstance(value.get("url"), str):
                self.add(where, "an extension must be an object with a url", "structure")
            elif _nesting(value) + depth > MAX_DEPTH:
                self.add(where, f"is nested deeper than {MAX_DEPTH} levels", "structure")
            return  # (the store replaces meta on create)
        if kind in _COMPLEX:
            self.complex(kind, value, where, depth)
            return
        self.primitive(kind, value, where)

    def complex(self, kind: str, value: Any, where: str, depth: int) -> None:
        if not isinstance(value, dict):
            self.add(where, f"must be a {kind} object, not {_type_name(value)}", "structure")
            return
        if not value:
            self.add(where, "must not be an empty object", "structure")
            return
        shape = _COMPLEX[kind]
        self.fields(value, shape, where, depth, choices=_CHOICES.get(kind, ()), codes={
            name: allowed for (owner, name), allowed in _CODE_SETS.items() if owner == kind
        })
        if kind == "CodeableConcept" and "coding" not in value and "text" not in value:
            self.add(where, "a CodeableConcept needs a coding or a text", "required")
        if kind == "Coding" and "code" not in value and "display" not in value:
            self.add(where, "a Coding needs a code", "required")
        if kind == "Annotation" and "text" not in value:
            self.add(f"{where}.text", "an Annotation needs its text", "required")
        if kind == "Reference" and isinstance(value.get("reference"), str) and value["reference"].strip():
            problem = self.check_reference(value["reference"])
            if problem is not None:
                code, message = problem
                self.add(f"{where}.reference", message, code)
        if kind == "Period":
            start, end = value.get("start"), value.get("end")
            if isinstance(start, str) and isinstance(end, str):
                try:
                    if parse_value(start).low > parse_value(end).high:
                        self.add(where, "the period ends before it starts", "value")
                except FhirDateError:
                    pass  # already reported

    def fields(
        self,
        value: dict[str, Any],
        shape: dict[str, str],
        where: str,
        depth: int,
        *,
        choices: tuple[str, ...] = (),
        codes: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        for key, item in value.items():
            if not isinstance(key, str) or key not in shape:
                known = ", ".join(sorted(shape))
                self.add(f"{where}.{key}", f"unknown element {str(key)[:40]!r} (known: {known})", "structure")
                continue
            self.element(shape[key], item, f"{where}.{key}", depth + 1)
            allowed = (codes or {}).get(key)
            if allowed and isinstance(item, str) and item not in allowed:
                self.add(f"{where}.{key}", f"{item[:40]!r} is not one of: {', '.join(allowed)}", "value")
        for prefix in choices:
            present = [k for k in value if isinstance(k, str) and _is_choice(k, prefix, shape)]
            if len(present) > 1:
                self.add(where, f"only one of {', '.join(present)} may be given ({prefix}[x])", "structure")


def _nesting(value: Any) -> int:
    """How deep a JSON value nests (iterative: a hostile value cannot exhaust the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > 64:
            return depth
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _is_choice(key: str, prefix: str, shape: dict[str, str]) -> bool:
    return key in shape and key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper()


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


def validate_resource(
    resource_type: str, payload: Any, check_reference: ReferenceCheck
) -> tuple[list[Issue], int]:
    """Problems of a create payload for ``resource_type`` (empty when it is valid), and how many
    more problems were found beyond ``MAX_ISSUES``."""
    v = _Validator(check_reference)
    if not isinstance(payload, dict):
        v.add(resource_type, f"the body must be a JSON object, not {_type_name(payload)}", "structure")
        return v.issues, 0
    declared = payload.get("resourceType")
    if declared != resource_type:
        v.add(
            f"{resource_type}.resourceType",
            f"resourceType must be {resource_type!r} for this URL, not {str(declared)[:40]!r}",
            "required" if declared is None else "value",
        )
        return v.issues, 0
    definition: ResourceDef = RESOURCE_DEFS[resource_type]
    body = {k: item for k, item in payload.items() if k != "resourceType"}
    v.fields(body, definition.elements, resource_type, 0, choices=definition.choices, codes=definition.codes)
    for required in definition.required:
        if required.endswith("[x]"):
            prefix = required[:-3]
            if not any(isinstance(k, str) and _is_choice(k, prefix, definition.elements) for k in body):
                v.add(f"{resource_type}.{required}", f"{required} is required", "required")
        elif required not in body:
            v.add(f"{resource_type}.{required}", f"{required} is required", "required")
    if resource_type != "Patient" and "subject" in body and isinstance(body["subject"], dict):
        reference = body["subject"].get("reference")
        if not isinstance(reference, str):
            v.add(f"{resource_type}.subject.reference", "the subject needs a reference (Patient/<id>)", "required")
        elif not reference_type_is(reference, "Patient"):
            v.add(f"{resource_type}.subject.reference", "the subject must be a Patient", "value")
    return v.issues, v.dropped


def reference_type_is(reference: str, type_name: str) -> bool:
    """Whether ``Type/id`` (or ``.../Type/id``) names a resource of ``type_name``."""
    parts = reference.rstrip("/").split("/")
    return len(parts) >= 2 and parts[-2] == type_name


def split_reference(reference: str, base_url: str) -> tuple[str, str] | None:
    """(type, id) of a reference to this store: ``Type/id`` or ``<base>Type/id``; None otherwise."""
    text = reference
    text = text.removeprefix(base_url)
    parts = text.split("/")
    if len(parts) == 4 and parts[2] == "_history":  # Type/id/_history/n: a versioned reference
        parts = parts[:2]
    if len(parts) != 2:
        return None
    type_name, ident = parts
    if not _TYPE_NAME.fullmatch(type_name) or not ID_PATTERN.fullmatch(ident):
        return None
    return type_name, ident
