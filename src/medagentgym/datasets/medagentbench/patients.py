"""The seeded patient generator: about 100 synthetic patients per split, as FHIR resources.

Every split has its own patients (an MRN's split is fixed by a hash of the MRN, so no patient is
in both), each with a name, a birth date, contact details, conditions, medications, procedures,
vital signs and laboratory results. The results the task families read are placed relative to
the task's fixed "now" so that every branch of every family occurs, and each branch is given to
a fixed share of the split's patients (stratified, then shuffled), not left to chance:

* magnesium (MG): none at all / only older than 24 h / within 24 h at a normal, mildly,
  moderately or severely low level (the replacement dose differs by level);
* potassium (K): none / latest low / latest normal;
* capillary glucose (GLU): none / only older than 24 h / several readings within 24 h;
* HbA1c (A1C): none / latest older than a year / latest within the year;
* birthdays on both sides of "now" (and on the day itself) so that ages need care.

No value sits within ten minutes of a 24-hour boundary or within ten days of a one-year
boundary, so every answer is unambiguous. Everything is a pure function of the split and
``GENERATOR_VERSION``: the same patients on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from medagentgym.catalog.sample import Split
from medagentgym.catalog.splits import split_of, stable_hash
from medagentgym.datasets.medagentbench import vocab as v

GENERATOR_VERSION = 1
NOW = datetime(2023, 11, 13, 10, 15, tzinfo=UTC)
NOW_ISO = "2023-11-13T10:15:00+00:00"
PATIENTS_PER_SPLIT = 100

MG_STATES = ("none", "old", "normal", "mild", "moderate", "severe")
K_STATES = ("none", "low", "normal")
GLU_STATES = ("none", "old_only", "recent")
A1C_STATES = ("none", "old", "recent")
BIRTHDAY_STATES = ("far", "far", "just_passed", "upcoming", "today_or_tomorrow")

_MINUTE = timedelta(minutes=1)
_DAY_MINUTES = 24 * 60


def iso(moment: datetime) -> str:
    """A UTC instant as the store writes it."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def age_on(birth: date, moment: datetime) -> int:
    """Age in whole years (rounded down) at ``moment``."""
    today = moment.date()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@dataclass
class PatientRecord:
    """One patient: identity, the state of each lab the tasks read, and all its resources."""

    mrn: str
    given: str
    family: str
    gender: str
    birth_date: date
    states: dict[str, str]
    resources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return f"Patient/{self.mrn}"


def _mrns(split: Split, n: int) -> list[str]:
    """``n`` MRNs of ``split``: one shared stream of candidates, each kept by the split its hash
    gives it (so the two splits can never share a patient)."""
    rng = random.Random(stable_hash("medagentbench", "mrn", GENERATOR_VERSION))
    found: list[str] = []
    seen: set[str] = set()
    while len(found) < n:
        mrn = f"S{rng.randrange(1_000_000, 10_000_000)}"
        if mrn in seen:
            continue
        seen.add(mrn)
        if split_of(f"medagentbench-mrn:{mrn}", 0.5) == split:
            found.append(mrn)
    return found


def _stratified(rng: random.Random, states: tuple[str, ...], n: int) -> list[str]:
    out = [states[i % len(states)] for i in range(n)]
    rng.shuffle(out)
    return out


def _birth_date(rng: random.Random, state: str) -> date:
    """A birth date whose birthday falls where ``state`` says relative to today (Nov 13):
    "far" keeps it at least 30 days away; the others put it just before, just after, today or
    tomorrow (February 29 never occurs: "far" days are drawn from a common year)."""
    age = rng.randint(19, 94)
    if state == "far":
        today = date(2001, 11, 13)
        while True:
            day = date(2001, 1, 1) + timedelta(days=rng.randint(0, 364))
            if abs((day - today).days) >= 30:
                return date(NOW.year - age, day.month, day.day)
    offset = {
        "just_passed": -rng.randint(1, 20),
        "upcoming": rng.randint(2, 20),
        "today_or_tomorrow": rng.choice((0, 1)),
    }[state]
    return date(NOW.year - age, 11, 13) + timedelta(days=offset)


class _Builder:
    """Builds one patient's resources with its own random stream and resource counter."""

    def __init__(self, record: PatientRecord, rng: random.Random) -> None:
        self.record = record
        self.rng = rng
        self.counter = 0
        self.used_minutes: set[int] = set()

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.record.mrn}-{self.counter}"

    def minutes_ago(self, low: int, high: int) -> int:
        """A distinct whole-minute offset in [low, high] before now (no two results share it)."""
        for _ in range(1000):
            m = self.rng.randint(low, high)
            if m not in self.used_minutes:
                self.used_minutes.add(m)
                return m
        raise RuntimeError("no free minute left")  # pragma: no cover - ranges are wide

    def lab(self, code: str, minutes: int, value: float) -> None:
        lab = v.LABS[code]
        when = NOW - minutes * _MINUTE
        number: float | int = round(value) if lab.decimals == 0 else round(value, lab.decimals)
        self.record.resources.append(
            {
                "resourceType": "Observation",
                "id": self._id("obs"),
                "status": "final",
                "category": [{"coding": [{"system": v.OBSERVATION_CATEGORY, "code": "laboratory",
                                          "display": "Laboratory"}]}],
                "code": {
                    "coding": [
                        {"system": v.LAB_SYSTEM, "code": lab.code, "display": lab.display},
                        {"system": v.LOINC, "code": lab.loinc, "display": lab.display},
                    ],
                    "text": lab.code,
                },
                "subject": {"reference": self.record.reference},
                "effectiveDateTime": iso(when),
                "issued": iso(min(when + timedelta(minutes=40), NOW)),
                "valueQuantity": {"value": number, "unit": lab.unit, "system": v.UCUM, "code": lab.unit},
            }
        )

    def value(self, low: float, high: float, decimals: int) -> float:
        step = 10**-decimals
        return round(low + step * self.rng.randint(0, round((high - low) / step)), decimals)

    # -- per-lab histories --------------------------------------------------------------------

    def magnesium(self, state: str) -> None:
        if state == "none":
            return
        if state == "old":
            near = self.rng.random() < 0.4  # just outside the window: the 24 h cut matters
            latest = self.minutes_ago(_DAY_MINUTES + 15, _DAY_MINUTES + 6 * 60) if near else self.minutes_ago(
                2 * _DAY_MINUTES, 60 * _DAY_MINUTES)
            self.lab("MG", latest, self.value(1.2, 2.5, 1))
        else:
            ranges = {"normal": (2.0, 2.6), "mild": (1.5, 1.9), "moderate": (1.0, 1.4), "severe": (0.5, 0.9)}
            latest = self.minutes_ago(20, _DAY_MINUTES - 15)
            self.lab("MG", latest, self.value(*ranges[state], 1))
        for _ in range(self.rng.randint(0, 3)):
            older = self.minutes_ago(latest + 60, latest + 30 * _DAY_MINUTES)
            self.lab("MG", older, self.value(1.4, 2.5, 1))

    def potassium(self, state: str) -> None:
        if state == "none":
            return
        latest = self.minutes_ago(60, 60 * _DAY_MINUTES)
        self.lab("K", latest, self.value(2.5, 3.4, 1) if state == "low" else self.value(3.5, 5.1, 1))
        for _ in range(self.rng.randint(0, 4)):
            self.lab("K", self.minutes_ago(latest + 60, latest + 90 * _DAY_MINUTES), self.value(3.0, 5.0, 1))

    def glucose(self, state: str) -> None:
        if state == "none":
            return
        if state == "recent":
            for _ in range(self.rng.randint(2, 6)):
                self.lab("GLU", self.minutes_ago(15, _DAY_MINUTES - 15), self.value(70, 260, 0))
        count = self.rng.randint(1, 6) if state == "old_only" else self.rng.randint(0, 8)
        for _ in range(count):
            self.lab("GLU", self.minutes_ago(_DAY_MINUTES + 15, 30 * _DAY_MINUTES), self.value(70, 260, 0))

    def hba1c(self, state: str) -> None:
        if state == "none":
            return
        if state == "old":
            latest = self.minutes_ago(375 * _DAY_MINUTES, 4 * 365 * _DAY_MINUTES)
        else:
            latest = self.minutes_ago(20 * _DAY_MINUTES, 355 * _DAY_MINUTES)
        self.lab("A1C", latest, self.value(5.0, 11.0, 1))
        for _ in range(self.rng.randint(0, 3)):
            self.lab("A1C", self.minutes_ago(latest + 90 * _DAY_MINUTES, latest + 700 * _DAY_MINUTES),
                     self.value(5.0, 11.0, 1))

    def distractors(self) -> None:
        for code, low, high in (("NA", 130, 148), ("CREAT", 0.5, 2.4), ("HGB", 8.0, 16.5)):
            for _ in range(self.rng.randint(0, 3)):
                self.lab(code, self.minutes_ago(30, 200 * _DAY_MINUTES), self.value(low, high, v.LABS[code].decimals))

    def vitals(self) -> None:
        for _ in range(self.rng.randint(1, 4)):
            when = NOW - self.minutes_ago(2 * _DAY_MINUTES, 400 * _DAY_MINUTES) * _MINUTE
            reading = f"{self.rng.randint(100, 165)}/{self.rng.randint(60, 100)} mmHg"
            self.record.resources.append(
                {
                    "resourceType": "Observation",
                    "id": self._id("obs"),
                    "status": "final",
                    "category": [{"coding": [{"system": v.VITALS_CATEGORY, "code": "vital-signs",
                                              "display": "Vital Signs"}]}],
                    "code": {
                        "coding": [
                            {"system": v.FLOWSHEET_SYSTEM, "code": v.BP_FLOWSHEET, "display": "Blood pressure"},
                            {"system": v.LOINC, "code": v.BP_LOINC, "display": "Blood pressure panel"},
                        ],
                        "text": v.BP_FLOWSHEET,
                    },
                    "subject": {"reference": self.record.reference},
                    "effectiveDateTime": iso(when),
                    "valueString": reading,
                }
            )

    def conditions(self) -> None:
        for snomed, icd, name in self.rng.sample(v.CONDITIONS, self.rng.randint(1, 4)):
            onset = NOW - timedelta(days=self.rng.randint(60, 5000))
            self.record.resources.append(
                {
                    "resourceType": "Condition",
                    "id": self._id("cond"),
                    "clinicalStatus": {"coding": [{"system": v.CONDITION_CLINICAL, "code": "active"}]},
                    "category": [{"coding": [{"system": v.CONDITION_CATEGORY, "code": "problem-list-item",
                                              "display": "Problem List Item"}]}],
                    "code": {"coding": [{"system": v.SNOMED, "code": snomed, "display": name},
                                        {"system": v.ICD10, "code": icd, "display": name}], "text": name},
                    "subject": {"reference": self.record.reference},
                    "onsetDateTime": onset.date().isoformat(),
                    "recordedDate": iso(onset + timedelta(days=self.rng.randint(0, 30))),
                }
            )

    def medications(self) -> None:
        for rxnorm, name, text in self.rng.sample(v.MEDICATIONS, self.rng.randint(0, 4)):
            authored = NOW - timedelta(days=self.rng.randint(10, 700), minutes=self.rng.randint(0, 600))
            category = self.rng.choice(("outpatient", "community"))
            self.record.resources.append(
                {
                    "resourceType": "MedicationRequest",
                    "id": self._id("med"),
                    "status": "active",
                    "intent": "order",
                    "category": [{"coding": [{"system": v.MED_REQUEST_CATEGORY, "code": category}]}],
                    "medicationCodeableConcept": {"coding": [{"system": v.RXNORM, "code": rxnorm, "display": name}],
                                                  "text": text},
                    "subject": {"reference": self.record.reference},
                    "authoredOn": iso(authored),
                    "dosageInstruction": [{"text": text}],
                }
            )

    def procedures(self) -> None:
        for cpt, name in self.rng.sample(v.PROCEDURES, self.rng.randint(0, 3)):
            when = NOW - timedelta(days=self.rng.randint(5, 1800), minutes=self.rng.randint(0, 600))
            self.record.resources.append(
                {
                    "resourceType": "Procedure",
                    "id": self._id("proc"),
                    "status": "completed",
                    "code": {"coding": [{"system": v.CPT, "code": cpt, "display": name}], "text": name},
                    "subject": {"reference": self.record.reference},
                    "performedDateTime": iso(when),
                }
            )


def _patient_resource(record: PatientRecord, rng: random.Random) -> dict[str, Any]:
    city, state, postal = rng.choice(v.CITIES)
    return {
        "resourceType": "Patient",
        "id": record.mrn,
        "identifier": [
            {
                "use": "usual",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR",
                                     "display": "Medical record number"}], "text": "MRN"},
                "system": v.MRN_SYSTEM,
                "value": record.mrn,
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": record.family, "given": [record.given],
                  "text": f"{record.given} {record.family}"}],
        "telecom": [{"system": "phone", "value": f"555-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                     "use": "home"}],
        "gender": record.gender,
        "birthDate": record.birth_date.isoformat(),
        "address": [{"use": "home", "line": [f"{rng.randint(1, 999)} {rng.choice(v.STREETS)}"], "city": city,
                     "state": state, "postalCode": postal, "country": "US"}],
    }


def generate_patients(split: Split, n: int = PATIENTS_PER_SPLIT) -> list[PatientRecord]:
    """The split's patients with all their resources (deterministic)."""
    rng = random.Random(stable_hash("medagentbench", "patients", split, GENERATOR_VERSION))
    mrns = _mrns(split, n)
    strata = {
        "MG": _stratified(rng, MG_STATES, n),
        "K": _stratified(rng, K_STATES, n),
        "GLU": _stratified(rng, GLU_STATES, n),
        "A1C": _stratified(rng, A1C_STATES, n),
        "birthday": _stratified(rng, BIRTHDAY_STATES, n),
    }
    names: set[tuple[str, str]] = set()
    records: list[PatientRecord] = []
    for i, mrn in enumerate(mrns):
        own = random.Random(stable_hash("medagentbench", "patient", mrn, GENERATOR_VERSION))
        gender = own.choice(("female", "male"))
        while True:
            given = own.choice(v.GIVEN_FEMALE if gender == "female" else v.GIVEN_MALE)
            family = own.choice(v.FAMILY)
            if (given, family) not in names:
                names.add((given, family))
                break
        states = {lab: strata[lab][i] for lab in ("MG", "K", "GLU", "A1C")}
        states["birthday"] = strata["birthday"][i]
        record = PatientRecord(mrn, given, family, gender, _birth_date(own, states["birthday"]), states)
        record.resources.append(_patient_resource(record, own))
        builder = _Builder(record, own)
        builder.magnesium(states["MG"])
        builder.potassium(states["K"])
        builder.glucose(states["GLU"])
        builder.hba1c(states["A1C"])
        builder.distractors()
        builder.vitals()
        builder.conditions()
        builder.medications()
        builder.procedures()
        records.append(record)
    return records
