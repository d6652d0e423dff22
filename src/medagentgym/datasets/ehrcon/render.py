"""Note text: a plan's statements laid out as a nursing note, a progress note or a discharge summary.

The statements are one line each (``<entity>: ...``) inside sections, as the structured parts of
real notes are; the prose around them (assessment, plan, course) states no value, time or drug,
so every checkable claim is in a statement line.
"""

from __future__ import annotations

import random
from datetime import datetime

from medagentgym.datasets.ehrcon.notes import Plan, Statement
from medagentgym.datasets.ehrcon.record import Admission

TITLES = {
    "nursing_note": "nursing progress note",
    "physician_note": "physician progress note",
    "discharge_summary": "discharge summary",
}

_DENIED = {
    "nursing_note": ("not given this shift or earlier this admission", "none given this admission"),
    "physician_note": ("not given this admission", "never started this admission"),
    "discharge_summary": ("not administered during this admission", "not given during this admission"),
}

_NEURO = (
    "Alert and oriented x3, follows commands.",
    "Drowsy but arousable, moves all extremities.",
    "Calm and cooperative, no focal deficits noted.",
)
_CV = (
    "Rhythm regular, peripheral pulses palpable.",
    "Skin warm and dry, cap refill brisk.",
    "Extremities warm, no edema noted.",
)
_RESP = (
    "Lungs clear bilaterally, no distress.",
    "Coarse breath sounds at bases, encouraged to cough.",
    "Breathing unlabored on current support.",
)
_NURSE_PLAN = (
    "Continue to monitor vital signs and labs per protocol.",
    "Fall precautions maintained; family updated.",
    "Will continue current plan of care and notify team of changes.",
)
_SUBJECTIVE = (
    "Patient reports feeling somewhat better today.",
    "No acute events overnight.",
    "Complains of mild fatigue, denies chest pain or dyspnea.",
)
_PLAN = (
    "Continue current management and trend labs.",
    "Monitor electrolytes and replete as needed.",
    "Discussed plan with patient; will reassess tomorrow.",
)
_COURSE = (
    "The patient was admitted and treated as below with gradual improvement.",
    "Hospital course was notable for close monitoring and medication adjustments as listed.",
    "The patient was managed medically and improved over the stay.",
)


def statement_line(s: Statement, note_type: str, rng: random.Random) -> str:
    """The one line that states everything the note says about an entity."""
    if s.kind == "measure":
        parts = [f"{f.value} {f.unit} ({f.time})" if f.unit else f"{f.value} ({f.time})" for f in s.facts]
        return f"{s.entity}: " + "; ".join(parts)
    if s.kind == "given":
        (f,) = s.facts
        return f"{s.entity}: {f.value} {f.unit} {f.route}, started {f.time}"
    return f"{s.entity}: {rng.choice(_DENIED[note_type])}"


def render(plan: Plan, adm: Admission, rng: random.Random) -> str:
    """The note's text (deterministic from ``rng``)."""
    sections: dict[str, list[str]] = {"vitals": [], "labs": [], "meds": []}
    for s in plan.statements:
        sections[s.section].append("  " + statement_line(s, plan.note_type, rng))
    sex = "male" if adm.gender.upper().startswith("M") else "female"
    problem = adm.diagnoses[0] if adm.diagnoses else "acute illness"
    lines: list[str]
    if plan.note_type == "nursing_note":
        unit = adm.careunit.upper() or "medical floor"
        lines = [
            "NURSING PROGRESS NOTE",
            f"Unit: {unit}    Shift: {plan.start} to {plan.end}",
            f"Neuro: {rng.choice(_NEURO)}",
            f"CV: {rng.choice(_CV)}",
            f"Resp: {rng.choice(_RESP)}",
        ]
        if sections["vitals"]:
            lines += ["Vital signs:", *sections["vitals"]]
        if sections["labs"]:
            lines += ["Labs:", *sections["labs"]]
        lines += ["Medications:", *sections["meds"], f"Plan: {rng.choice(_NURSE_PLAN)}"]
    elif plan.note_type == "physician_note":
        day = (
            datetime.strptime(plan.start[:10], "%Y-%m-%d") - datetime.strptime(adm.admittime[:10], "%Y-%m-%d")
        ).days + 1
        lines = [
            f"PROGRESS NOTE - hospital day {day}",
            f"Date: {plan.start[:10]}",
            f"{adm.age}-year-old {sex} admitted with {problem}.",
            f"Subjective: {rng.choice(_SUBJECTIVE)}",
            "Objective:",
        ]
        if sections["vitals"]:
            lines += [" Vitals:", *sections["vitals"]]
        if sections["labs"]:
            lines += [" Labs:", *sections["labs"]]
        lines += ["Medications:", *sections["meds"], f"Assessment and plan: {problem}. {rng.choice(_PLAN)}"]
    else:
        lines = [
            "DISCHARGE SUMMARY",
            f"Admission date: {adm.admittime[:10]}    Discharge date: {adm.dischtime[:10]}",
            f"Patient: {adm.age}-year-old {sex}",
            "Diagnoses:",
            *[f"  - {d}" for d in adm.diagnoses],
            f"Brief hospital course: {rng.choice(_COURSE)}",
            "Pertinent results:",
            *sections["vitals"],
            *sections["labs"],
            "Medications during admission:",
            *sections["meds"],
            f"Discharge disposition: {adm.discharge_location.lower()}",
        ]
    return "\n".join(lines)
