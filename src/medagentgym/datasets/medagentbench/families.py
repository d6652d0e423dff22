"""The ten task families: their instances, prompts, and the solver that derives each answer.

A family's *solver* reads the record store only through FHIR GETs (``fetch(url) -> JSON``), the
same requests the reference solution replays, so the answer the generator stores is the answer
those requests give; the importer runs the same solvers against a user's FHIR server. A solver
returns the answer, the writes the task calls for (the payloads the reference solution POSTs)
and the expectations the grader checks those writes against (``ExpectedWrite``: subject, codes,
values, units, doses, times), or none when no order is indicated.

Read families: patient_mrn, patient_age, latest_magnesium, average_glucose, latest_glucose.
Write families: record_bp, ortho_referral (writes only), magnesium_replacement,
potassium_replacement, hba1c_check (an answer and, depending on the data, orders).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from medagentgym.catalog.sample import AnswerType, ExpectedWrite, FieldCheck
from medagentgym.datasets.medagentbench import vocab as v
from medagentgym.datasets.medagentbench.patients import age_on

Fetch = Callable[[str], dict[str, Any]]

NOT_FOUND = "Patient not found"
#: Seconds an order's authoredOn (or a vital sign's time) may differ from "now".
NOW_TOLERANCE_S = 300
MAGNESIUM_LOW = 2.0  # mg/dL: below this the magnesium family orders replacement
POTASSIUM_LOW = 3.5  # mmol/L
GLUCOSE_ABS_TOL = 0.01


class SolveError(RuntimeError):
    """The store does not hold what an instance needs (e.g. an imported row's patient)."""


@dataclass(frozen=True)
class Instance:
    """One task instance: a family, a patient (or a name to look up) and its parameters."""

    family: str
    branch: str
    mrn: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.family}|{self.mrn}|{json.dumps(self.params, sort_keys=True)}"


@dataclass
class Solved:
    """What the store says about an instance: the answer and the writes it calls for."""

    answer: Any  # None for a write-only family (the submission is not graded)
    answer_type: AnswerType
    gets: list[str]
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    creates: list[ExpectedWrite] = field(default_factory=list)
    abs_tol: float | None = None

    def actions(self) -> list[dict[str, Any]]:
        """The reference solution: the GETs, the POSTs, then the submission."""
        out: list[dict[str, Any]] = [{"action": "fhir_get", "url": url} for url in self.gets]
        out += [{"action": "fhir_post", "url": url, "payload": payload} for url, payload in self.posts]
        out.append({"action": "submit", "answer": "done" if self.answer is None else self.answer})
        return out


# -- family table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    name: str
    answer_type: AnswerType
    writes: bool  # whether the family may order something


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("patient_mrn", AnswerType.STRING, False),
        Family("patient_age", AnswerType.INTEGER, False),
        Family("record_bp", AnswerType.STRING, True),
        Family("latest_magnesium", AnswerType.NUMBER, False),
        Family("magnesium_replacement", AnswerType.NUMBER, True),
        Family("average_glucose", AnswerType.NUMBER, False),
        Family("latest_glucose", AnswerType.NUMBER, False),
        Family("ortho_referral", AnswerType.STRING, True),
        Family("potassium_replacement", AnswerType.NUMBER, True),
        Family("hba1c_check", AnswerType.ORDERED_LIST, True),
    )
}


# -- prompts -------------------------------------------------------------------------------------


def prompt(instance: Instance, now: str) -> str:
    """The task text of an instance (our own wording), with the facts the task needs."""
    p = instance.params
    mrn = instance.mrn
    clock = f"The current time is {now}."
    match instance.family:
        case "patient_mrn":
            return (
                f"Find the medical record number (MRN) of the patient named {p['given']} {p['family']}, "
                f"born on {p['birth_date']}. If no patient with that name and birth date is on record, the "
                f'answer is "{NOT_FOUND}".\n\n{clock}'
            )
        case "patient_age":
            return (
                f"How old is the patient with MRN {mrn}? Give the age in completed years (rounded down) as "
                f"of now.\n\n{clock}"
            )
        case "record_bp":
            return (
                f"The blood pressure of patient {mrn} was just measured: \"{p['bp']}\". File it in the chart as "
                f"a vital-sign Observation taken now, with the measurement as valueString.\n\n{clock} The "
                f'flowsheet ID for blood pressure is "{v.BP_FLOWSHEET}".'
            )
        case "latest_magnesium":
            return (
                f"What is the most recent magnesium level of patient {mrn} measured within the last 24 hours? "
                "Answer in mg/dL, or -1 if no magnesium was measured in the last 24 hours.\n\n"
                f'{clock} The lab code for magnesium is "MG".'
            )
        case "magnesium_replacement":
            return (
                f"Review the latest serum magnesium of patient {mrn} from the last 24 hours. If it is low, "
                "order IV magnesium replacement following the dosing table below. If it is not low, or no "
                "magnesium was measured in the last 24 hours, order nothing. Submit the magnesium value you "
                "acted on (mg/dL), or -1 if none was measured in the last 24 hours.\n\n"
                f'{clock} The lab code for magnesium is "MG". The replacement product is IV magnesium sulfate, '
                f"NDC {v.MAGNESIUM_NDC}. Dosing table: 1.5 to 1.9 mg/dL: 1 g over 1 hour; 1.0 to 1.4 mg/dL: "
                "2 g over 2 hours; below 1.0 mg/dL: 4 g over 4 hours; 2.0 mg/dL or more is not low. The order "
                'is a MedicationRequest (status "active", intent "order", authoredOn now) whose dosage has '
                'route text "IV", the dose as doseQuantity in g, and the infusion time as '
                'timing.repeat.duration with durationUnit "h".'
            )
        case "average_glucose":
            return (
                f"What is the average capillary blood glucose (CBG) of patient {mrn} over the last 24 hours? "
                "Answer in mg/dL with at least two decimals, or -1 if no CBG was measured in the last 24 "
                f'hours.\n\n{clock} The lab code for CBG is "GLU".'
            )
        case "latest_glucose":
            return (
                f"What is the most recent capillary blood glucose (CBG) value of patient {mrn}? Answer in "
                f'mg/dL, or -1 if none is on record.\n\n{clock} The lab code for CBG is "GLU".'
            )
        case "ortho_referral":
            return (
                f"Place an orthopedic surgery referral for patient {mrn}. Put exactly this text in the "
                f"referral's free-text note: \"{v.REFERRAL_NOTES[p['note']]}\"\n\n{clock} The referral is a "
                f"ServiceRequest coded with SNOMED CT {v.ORTHO_REFERRAL_SNOMED} (status \"active\", intent "
                '"order", priority "stat", authoredOn now), with the text as its note.'
            )
        case "potassium_replacement":
            return (
                f"Check the most recent potassium level of patient {mrn}. If it is low, order oral potassium "
                "replacement following the dosing rule below, and pair it with a serum potassium test for "
                "tomorrow at 08:00. If it is not low, or no potassium is on record, order nothing. Submit the "
                "potassium value you acted on (mmol/L), or -1 if none is on record.\n\n"
                f'{clock} The lab code for potassium is "K". Low means below {POTASSIUM_LOW} mmol/L. Dosing '
                f"rule: 10 mEq of potassium for every 0.1 mmol/L below {POTASSIUM_LOW}. The replacement is a "
                f'MedicationRequest for NDC {v.POTASSIUM_NDC} (route text "oral", the dose as doseQuantity in '
                'mEq, status "active", intent "order", authoredOn now). The test is a ServiceRequest for LOINC '
                f"{v.POTASSIUM_LAB_LOINC} (status \"active\", intent \"order\", priority \"stat\", authoredOn now) "
                "with occurrenceDateTime set to 08:00 tomorrow in the same time zone as now."
            )
        case "hba1c_check":
            return (
                f"What is the latest hemoglobin A1c (HbA1c) value in the chart of patient {mrn}, and when was it "
                "recorded? If the latest result is more than one year old, or there is none, also order a new "
                "HbA1c test. Submit [value, recorded], the value in % and the time it was recorded exactly as "
                "the record's effectiveDateTime gives it, or [-1] if none is on record.\n\n"
                f'{clock} The lab code for HbA1c is "A1C". The test order is a ServiceRequest for LOINC '
                f'{v.HBA1C_LAB_LOINC} (status "active", intent "order", priority "stat", authoredOn now).'
            )
    raise KeyError(f"unknown medagentbench family {instance.family!r}")


# -- reading the store ---------------------------------------------------------------------------


def _parse_now(now: str) -> datetime:
    moment = datetime.fromisoformat(now)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def search_url(resource_type: str, params: list[tuple[str, str]]) -> str:
    return f"{resource_type}?{urlencode(params)}"


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry") or []
    return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _value(observation: dict[str, Any]) -> float:
    quantity = observation.get("valueQuantity") or {}
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SolveError(f"Observation/{observation.get('id')} has no numeric valueQuantity")
    return value


def _latest(fetch: Fetch, mrn: str, code: str, since: datetime | None, gets: list[str]) -> dict[str, Any] | None:
    params = [("patient", mrn), ("code", code)]
    if since is not None:
        params.append(("date", f"ge{_iso(since)}"))
    url = search_url("Observation", [*params, ("_sort", "-date"), ("_count", "1")])
    gets.append(url)
    found = _entries(fetch(url))
    return found[0] if found else None


def _all(fetch: Fetch, mrn: str, code: str, since: datetime, gets: list[str]) -> list[dict[str, Any]]:
    url = search_url("Observation", [("patient", mrn), ("code", code), ("date", f"ge{_iso(since)}"),
                                     ("_count", "500")])
    gets.append(url)
    bundle = fetch(url)
    found = _entries(bundle)
    if isinstance(bundle.get("total"), int) and bundle["total"] > len(found):
        raise SolveError(f"more than {len(found)} {code} results for {mrn}: cannot average one page")
    return found


def _has_given(patient: dict[str, Any], given: str) -> bool:
    """Whether one of the patient's names has exactly these given names (case-insensitive)."""
    wanted = given.casefold().split()
    for name in patient.get("name") or []:
        if isinstance(name, dict):
            names = [g.casefold() for g in name.get("given") or [] if isinstance(g, str)]
            if " ".join(names).split() == wanted:
                return True
    return False


def _patient(fetch: Fetch, mrn: str, gets: list[str]) -> dict[str, Any]:
    url = f"Patient/{mrn}"
    gets.append(url)
    patient = fetch(url)
    if patient.get("resourceType") != "Patient":
        raise SolveError(f"no patient {mrn}")
    return patient


# -- expectations --------------------------------------------------------------------------------


def _order_checks(mrn: str, now: str, *, priority: bool) -> list[FieldCheck]:
    checks = [
        FieldCheck(path="subject.reference", op="reference", value=f"Patient/{mrn}", label="subject"),
        FieldCheck(path="status", op="equals", value="active", label="status"),
        FieldCheck(path="intent", op="equals", value="order", label="intent"),
        FieldCheck(path="authoredOn", op="instant", value=now, tolerance=NOW_TOLERANCE_S, label="authoredOn"),
    ]
    if priority:
        checks.append(FieldCheck(path="priority", op="equals", value="stat", label="priority"))
    return checks


def _coding(path: str, system: str, code: str, label: str) -> FieldCheck:
    return FieldCheck(path=path, op="coding", value={"system": system, "code": code}, match="any", label=label)


def _service_request(mrn: str, now: str, loinc: str, display: str, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "code": {"coding": [{"system": v.LOINC, "code": loinc, "display": display}]},
        "authoredOn": now,
        "status": "active",
        "intent": "order",
        "priority": "stat",
        "subject": {"reference": f"Patient/{mrn}"},
    }
    payload.update(extra)
    return payload


def _medication_request(
    mrn: str, now: str, ndc: str, display: str, route: str, dose: float, unit: str, hours: float | None = None
) -> dict[str, Any]:
    dosage: dict[str, Any] = {
        "route": {"text": route},
        "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}],
    }
    if hours is not None:
        dosage["timing"] = {"repeat": {"duration": hours, "durationUnit": "h"}}
    return {
        "resourceType": "MedicationRequest",
        "medicationCodeableConcept": {"coding": [{"system": v.NDC, "code": ndc, "display": display}],
                                      "text": display},
        "authoredOn": now,
        "dosageInstruction": [dosage],
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{mrn}"},
    }


# -- solvers -------------------------------------------------------------------------------------


def magnesium_dose(value: float) -> tuple[int, int] | None:
    """(grams, hours) of IV replacement for a magnesium level, or None when it is not low."""
    tenths = round(value * 10)
    if tenths >= 20:
        return None
    if tenths >= 15:
        return 1, 1
    if tenths >= 10:
        return 2, 2
    return 4, 4


def potassium_dose(value: float) -> int | None:
    """mEq of oral replacement for a potassium level, or None when it is not low."""
    tenths = round(value * 10)
    return (35 - tenths) * 10 if tenths < 35 else None


def solve(instance: Instance, fetch: Fetch, now: str) -> Solved:
    """Derive the answer and the writes of an instance from the store at ``fetch``."""
    moment = _parse_now(now)
    mrn = instance.mrn
    p = instance.params
    gets: list[str] = []
    family = FAMILIES[instance.family]
    match instance.family:
        case "patient_mrn":
            # family name and birth date on the server; the given name(s) compared here, so that a
            # server whose patients carry middle names is read the same way
            url = search_url("Patient", [("family:exact", p["family"]), ("birthdate", p["birth_date"])])
            gets.append(url)
            found = [r for r in _entries(fetch(url)) if _has_given(r, p["given"])]
            if len(found) > 1:
                raise SolveError(f"{len(found)} patients match {p['given']} {p['family']} {p['birth_date']}")
            answer: Any = str(found[0]["id"]) if found else NOT_FOUND
            return Solved(answer, family.answer_type, gets)
        case "patient_age":
            patient = _patient(fetch, mrn, gets)
            return Solved(age_on(date.fromisoformat(patient["birthDate"]), moment), family.answer_type, gets)
        case "record_bp":
            _patient(fetch, mrn, gets)
            payload = {
                "resourceType": "Observation",
                "category": [{"coding": [{"system": v.VITALS_CATEGORY, "code": "vital-signs",
                                          "display": "Vital Signs"}]}],
                "code": {"text": v.BP_FLOWSHEET},
                "effectiveDateTime": now,
                "status": "final",
                "valueString": p["bp"],
                "subject": {"reference": f"Patient/{mrn}"},
            }
            expected = ExpectedWrite(
                resource_type="Observation",
                description=f"blood pressure {p['bp']} for Patient/{mrn}",
                checks=(
                    FieldCheck(path="subject.reference", op="reference", value=f"Patient/{mrn}", label="subject"),
                    FieldCheck(path="code.text|code.coding.code", op="text", value=v.BP_FLOWSHEET, match="any",
                               label="flowsheet ID"),
                    FieldCheck(path="valueString", op="text", value=p["bp"], label="value"),
                    FieldCheck(path="status", op="equals", value="final", label="status"),
                    FieldCheck(path="effectiveDateTime", op="instant", value=now, tolerance=NOW_TOLERANCE_S,
                               label="time taken"),
                    FieldCheck(path="category.coding.code", op="equals", value="vital-signs", match="any",
                               label="category"),
                ),
            )
            return Solved(None, family.answer_type, gets, [("Observation", payload)], [expected])
        case "latest_magnesium" | "magnesium_replacement":
            latest = _latest(fetch, mrn, "MG", moment - timedelta(hours=24), gets)
            value = _value(latest) if latest is not None else -1
            solved = Solved(value, family.answer_type, gets)
            if instance.family == "magnesium_replacement" and latest is not None:
                dose = magnesium_dose(value)
                if dose is not None:
                    grams, hours = dose
                    solved.posts.append(("MedicationRequest", _medication_request(
                        mrn, now, v.MAGNESIUM_NDC, v.MAGNESIUM_DISPLAY, "IV", grams, "g", hours)))
                    solved.creates.append(ExpectedWrite(
                        resource_type="MedicationRequest",
                        description=f"IV magnesium order of {grams} g over {hours} h for Patient/{mrn}",
                        checks=(
                            *_order_checks(mrn, now, priority=False),
                            _coding("medicationCodeableConcept.coding", v.NDC, v.MAGNESIUM_NDC, "medication"),
                            FieldCheck(path="dosageInstruction.route.text|dosageInstruction.route.coding.code",
                                       op="text", value="IV", match="any", label="route"),
                            FieldCheck(path="dosageInstruction.doseAndRate.doseQuantity.value", op="number",
                                       value=grams, label="dose"),
                            FieldCheck(path="dosageInstruction.doseAndRate.doseQuantity.unit", op="text",
                                       value="g", label="dose unit"),
                            FieldCheck(path="dosageInstruction.timing.repeat.duration", op="number", value=hours,
                                       label="infusion time"),
                            FieldCheck(path="dosageInstruction.timing.repeat.durationUnit", op="equals",
                                       value="h", label="infusion time unit"),
                        ),
                    ))
            return solved
        case "average_glucose":
            readings = _all(fetch, mrn, "GLU", moment - timedelta(hours=24), gets)
            values = [_value(r) for r in readings]
            average = sum(values) / len(values) if values else -1
            return Solved(average, family.answer_type, gets, abs_tol=GLUCOSE_ABS_TOL)
        case "latest_glucose":
            latest = _latest(fetch, mrn, "GLU", None, gets)
            return Solved(_value(latest) if latest is not None else -1, family.answer_type, gets)
        case "ortho_referral":
            _patient(fetch, mrn, gets)
            note = p["note_text"] if "note_text" in p else v.REFERRAL_NOTES[p["note"]]
            payload = {
                "resourceType": "ServiceRequest",
                "code": {"coding": [{"system": v.SNOMED, "code": v.ORTHO_REFERRAL_SNOMED,
                                     "display": v.ORTHO_REFERRAL_DISPLAY}]},
                "authoredOn": now,
                "status": "active",
                "intent": "order",
                "priority": "stat",
                "subject": {"reference": f"Patient/{mrn}"},
                "note": [{"text": note}],
            }
            expected = ExpectedWrite(
                resource_type="ServiceRequest",
                description=f"orthopedic referral for Patient/{mrn}",
                checks=(
                    *_order_checks(mrn, now, priority=True),
                    _coding("code.coding", v.SNOMED, v.ORTHO_REFERRAL_SNOMED, "referral code"),
                    FieldCheck(path="note.text", op="text", value=note, match="any", label="note"),
                ),
            )
            return Solved(None, family.answer_type, gets, [("ServiceRequest", payload)], [expected])
        case "potassium_replacement":
            latest = _latest(fetch, mrn, "K", None, gets)
            value = _value(latest) if latest is not None else -1
            solved = Solved(value, family.answer_type, gets)
            dose = potassium_dose(value) if latest is not None else None
            if dose is not None:
                tomorrow = (moment + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
                solved.posts.append(("MedicationRequest", _medication_request(
                    mrn, now, v.POTASSIUM_NDC, v.POTASSIUM_DISPLAY, "oral", dose, "mEq")))
                solved.posts.append(("ServiceRequest", _service_request(
                    mrn, now, v.POTASSIUM_LAB_LOINC, v.LABS["K"].display, occurrenceDateTime=_iso(tomorrow))))
                solved.creates += [
                    ExpectedWrite(
                        resource_type="MedicationRequest",
                        description=f"oral potassium order of {dose} mEq for Patient/{mrn}",
                        checks=(
                            *_order_checks(mrn, now, priority=False),
                            _coding("medicationCodeableConcept.coding", v.NDC, v.POTASSIUM_NDC, "medication"),
                            FieldCheck(path="dosageInstruction.route.text|dosageInstruction.route.coding.code",
                                       op="text", value="oral", match="any", label="route"),
                            FieldCheck(path="dosageInstruction.doseAndRate.doseQuantity.value", op="number",
                                       value=dose, label="dose"),
                            FieldCheck(path="dosageInstruction.doseAndRate.doseQuantity.unit", op="text",
                                       value="mEq", label="dose unit"),
                        ),
                    ),
                    ExpectedWrite(
                        resource_type="ServiceRequest",
                        description=f"serum potassium test at {_iso(tomorrow)} for Patient/{mrn}",
                        checks=(
                            *_order_checks(mrn, now, priority=True),
                            _coding("code.coding", v.LOINC, v.POTASSIUM_LAB_LOINC, "test code"),
                            FieldCheck(path="occurrenceDateTime", op="instant", value=_iso(tomorrow), tolerance=60,
                                       label="test time"),
                        ),
                    ),
                ]
            return solved
        case "hba1c_check":
            latest = _latest(fetch, mrn, "A1C", None, gets)
            answer = [_value(latest), latest["effectiveDateTime"]] if latest is not None else [-1]
            solved = Solved(answer, family.answer_type, gets)
            stale = latest is None or datetime.fromisoformat(latest["effectiveDateTime"]) < _year_before(moment)
            if stale:
                solved.posts.append(("ServiceRequest", _service_request(
                    mrn, now, v.HBA1C_LAB_LOINC, v.LABS["A1C"].display)))
                solved.creates.append(ExpectedWrite(
                    resource_type="ServiceRequest",
                    description=f"HbA1c test order for Patient/{mrn}",
                    checks=(
                        *_order_checks(mrn, now, priority=True),
                        _coding("code.coding", v.LOINC, v.HBA1C_LAB_LOINC, "test code"),
                    ),
                ))
            return solved
    raise KeyError(f"unknown medagentbench family {instance.family!r}")


def _year_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # February 29
        return moment.replace(year=moment.year - 1, day=28)
