"""Synthetic MedCalc-Bench samples: sampled parameters, a varied patient note, target, solution.

Parameters are drawn first (that draw alone decides the split, via its content key), then the
note is rendered from the same random stream: templates, units, irrelevant findings and sentence
order vary, the values a calculator needs do not.
"""

from __future__ import annotations

import importlib
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from medagentgym.catalog.sample import AnswerType, Sample, Solution, Split, Target, make_sample_id
from medagentgym.catalog.splits import DistinctSequence, rng_for
from medagentgym.datasets.medcalcbench import facts
from medagentgym.datasets.medcalcbench.categories import DATASET_NAME, CalculatorSpec, spec_by_name
from medagentgym.datasets.medcalcbench.facts import (
    DISTRACTOR_CONDITIONS,
    DISTRACTOR_LABS,
    DISTRACTOR_VITALS,
    SAMPLING_ORDER,
    Choice,
    Display,
    Finding,
    Quantity,
    sample_quantity,
)
from medagentgym.datasets.medcalcbench.families import merged
from medagentgym.datasets.medcalcbench.solution import Given, compute, render_solution

# The whole vocabulary: facts.py plus every calculator family's kinds.
QUANTITIES: dict[str, Quantity] = merged(facts.QUANTITIES, "QUANTITIES")
FINDINGS: dict[str, Finding] = merged(facts.FINDINGS, "FINDINGS")
CHOICES: dict[str, Choice] = merged(facts.CHOICES, "CHOICES")
# Arguments only official rows give (the yes/no form of a criterion whose measurement generated
# notes state instead): never drawn, so the calculator's default applies. Category -> arguments.
IMPORT_ONLY: dict[str, tuple[str, ...]] = merged({}, "IMPORT_ONLY")
# Patterns (case-insensitive regular expressions) a category's notes must not match: distractors
# that would count for its score or contradict one of its findings. Category -> patterns.
NOTE_CONFLICTS: dict[str, tuple[str, ...]] = merged({}, "NOTE_CONFLICTS")
MAX_NOTE_TRIES = 200
# Sections whose findings, templated quantities and choices are sentences placed by render_note;
# any other section becomes a paragraph of its own.
_SENTENCE_SECTIONS = ("symptoms", "exam", "meds", "renal")


@dataclass(frozen=True)
class Shown:
    """A quantity as the note writes it."""

    kind: str
    value: Any  # float/int, or (feet, inches)
    display: Display

    @property
    def text(self) -> str:
        if self.display.unit == "ft-in":
            feet, inches = self.value
            return f"{feet} ft {inches} in"
        number = format_number(self.value, self.display.decimals)
        unit = self.display.unit
        if not unit:
            return number
        return f"{number}{unit}" if unit[0] in "/%" else f"{number} {unit}"

    @property
    def given_unit(self) -> str:
        return "ft, in" if self.display.unit == "ft-in" else self.display.unit


@dataclass(frozen=True)
class Draw:
    """The parameter draw of one sample: what decides its content and split."""

    values: dict[str, Any]  # kind -> canonical value, bool or option (incl. hidden helpers)
    shown: dict[str, Shown]  # quantity kind -> as written
    givens: tuple[Given, ...]
    target: float | int
    key: str


def format_number(value: float | int, decimals: int) -> str:
    if decimals == 0:
        return str(int(value))
    return f"{value:.{decimals}f}"


def show_quantity(kind: str, canonical: float, display: Display) -> Shown:
    if display.unit == "ft-in":
        total = int(round(display.to_display(canonical)))
        return Shown(kind, (total // 12, total % 12), display)
    raw = display.to_display(canonical)
    value: float | int = int(round(raw)) if display.decimals == 0 else round(raw, display.decimals)
    return Shown(kind, value, display)


def _sample_kind(kind: str, rng: random.Random, ctx: dict[str, Any], spec: CalculatorSpec) -> Any:
    if kind == "sex":
        return rng.random() < 0.5
    if kind == "black":
        return rng.random() < 0.25
    if kind in QUANTITIES:
        value = sample_quantity(kind, rng, ctx, spec.ranges.get(kind), QUANTITIES)
        if kind == "age":
            return int(value)
        if kind == "alcohol":
            return int(round(value)) if rng.random() < 0.7 else 0
        return value
    if kind in FINDINGS:
        return rng.random() < FINDINGS[kind].p_true
    if kind in CHOICES:
        choice = CHOICES[kind]
        options = sorted(choice.options)
        if choice.weights:
            return rng.choices(options, weights=[choice.weights.get(o, 1.0) for o in options])[0]
        return rng.choice(options)
    raise KeyError(f"unknown fact kind {kind!r}")


def _ordered(kinds: set[str]) -> list[str]:
    first = [kind for kind in SAMPLING_ORDER if kind in kinds]
    return first + sorted(kinds - set(first))


def note_spec(spec: CalculatorSpec) -> CalculatorSpec:
    """``spec`` without its import-only arguments: what a generated note states."""
    hidden = IMPORT_ONLY.get(spec.name, ())
    if not hidden:
        return spec
    return replace(spec, params={param: kind for param, kind in spec.params.items() if param not in hidden})


def make_draw(spec: CalculatorSpec, values: dict[str, Any], shown: dict[str, Shown]) -> Draw | None:
    """The draw of these values as the note shows them: givens, target and content key; None
    when the calculator has no finite value for them."""
    givens = []
    for param, kind in spec.params.items():
        if kind in shown:
            item = shown[kind]
            givens.append(Given(param, item.value, item.given_unit, item.display.convert))
        elif kind == "age":
            givens.append(Given(param, values[kind], "years"))
        elif kind == "alcohol":
            givens.append(Given(param, values[kind], "drinks per week"))
        else:  # sex (male: bool), findings (bool), choices (str)
            givens.append(Given(param, values[kind]))
    try:
        target = compute(spec.function, givens, spec.answer_type)
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    if isinstance(target, (int, float)) and not math.isfinite(float(target)):
        return None
    parts = []
    for given in givens:
        canonical = given.canonical
        parts.append(f"{given.param}={round(canonical, 2) if isinstance(canonical, float) else canonical}")
    return Draw(values, shown, tuple(givens), target, f"{spec.name}|" + ",".join(parts))


def propose(spec: CalculatorSpec, rng: random.Random) -> Draw:
    """Sample a valid parameter set (the calculator must give a finite value) for ``spec``
    (import-only arguments are left to the calculator's default)."""
    spec = note_spec(spec)
    for _ in range(1000):
        needed = set(spec.params.values()) | {"sex", "age"}
        if "weight" in needed:
            needed.add("height")  # weight is drawn from height and a BMI
        ctx: dict[str, Any] = {}
        for kind in _ordered(needed):
            ctx[kind] = _sample_kind(kind, rng, ctx, spec)
        shown: dict[str, Shown] = {}
        for kind in sorted(needed):
            if kind in QUANTITIES and kind not in ("age", "alcohol"):
                shown[kind] = show_quantity(kind, ctx[kind], rng.choice(QUANTITIES[kind].displays))
        draw = make_draw(spec, ctx, shown)
        if draw is not None:
            return draw
    raise RuntimeError(f"could not draw valid parameters for {spec.name}")


# --------------------------------------------------------------------------- note rendering

THEMES: dict[str, tuple[str, ...]] = {
    "renal": ("fatigue and decreased urine output", "bilateral leg swelling", "nausea and poor appetite", "a routine nephrology follow-up"),
    "afib": ("palpitations", "an irregular pulse found at a routine visit", "dizziness and palpitations", "newly diagnosed atrial fibrillation"),
    "general": ("abdominal pain", "shortness of breath", "a fall at home", "fever and malaise", "generalized weakness", "vomiting for two days"),
    "cardiac": ("a syncopal episode", "palpitations", "chest discomfort", "a medication review before starting an antiemetic"),
    "liver": ("abdominal distension", "jaundice", "abnormal liver tests", "fatigue and pruritus"),
    "throat": ("a sore throat", "painful swallowing", "sore throat and feeling feverish"),
    "trauma": ("a head injury after a fall", "injuries from a motor vehicle collision", "altered consciousness after being found down at home"),
    "diabetes": ("polyuria and polydipsia", "confusion and vomiting", "a diabetes follow-up visit"),
    "lipids": ("a cardiovascular risk assessment", "a routine fasting lipid panel"),
    "pneumonia": ("productive cough and fever", "shortness of breath and fever", "pleuritic chest pain and fever"),
    "oncology": ("planning of chemotherapy dosing", "a newly diagnosed lymphoma"),
    # neutral about every scored item (no shock, hypoxia, melena or syncope in the complaint)
    "icu": ("a severe pneumonia", "sepsis from a urinary source", "acute pancreatitis", "a perforated bowel", "a drug overdose"),
    "gi_bleed": ("vomiting blood", "coffee-ground emesis", "hematemesis after a bout of retching", "a suspected upper gastrointestinal bleed"),
}
SETTINGS = ("the emergency department", "our outpatient clinic", "the medical ward", "the urgent care center")
# Where a theme's patients are seen, when not anywhere (intensive care scores are not clinic visits).
THEME_SETTINGS: dict[str, tuple[str, ...]] = {
    "icu": ("the emergency department", "the intensive care unit", "the resuscitation bay"),
    "gi_bleed": ("the emergency department", "the medical ward", "the urgent care center"),
}
DISTRACTOR_EXAM = (
    "The abdomen was soft and non-tender.",
    "The skin was warm and dry.",
    "Pupils were equal and reactive to light.",
    "There was no jugular venous distension.",
    "Capillary refill was under two seconds.",
)
DISTRACTOR_MEDS = ("levothyroxine", "omeprazole", "atorvastatin", "sertraline", "vitamin D", "tamsulosin", "inhaled salbutamol")
CLOSINGS = ("", "Further management is being planned.", "The team is reviewing the results.", "{He} was admitted for observation.")


def _article(age: int) -> str:
    return "An" if age in (8, 11, 18) or 80 <= age <= 89 else "A"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def render_note(spec: CalculatorSpec, draw: Draw, rng: random.Random) -> str:
    """A narrative patient note that states every value the calculator needs, among others, and
    matches none of the category's ``NOTE_CONFLICTS`` (redrawn from the same stream until it does
    not, so the note is still a function of the sample slot)."""
    spec = note_spec(spec)
    patterns = [re.compile(p, re.IGNORECASE) for p in NOTE_CONFLICTS.get(spec.name, ())]
    for _ in range(MAX_NOTE_TRIES):
        note = _render_once(spec, draw, rng)
        if not any(pattern.search(note) for pattern in patterns):
            return note
    raise RuntimeError(f"no note for {spec.name} free of {NOTE_CONFLICTS[spec.name]} in {MAX_NOTE_TRIES} tries")


def _render_once(spec: CalculatorSpec, draw: Draw, rng: random.Random) -> str:
    """One narrative note for the draw."""
    ctx = draw.values
    male = bool(ctx["sex"])
    age = int(ctx["age"])
    pron = {"He": "He" if male else "She", "His": "His" if male else "Her", "he": "he" if male else "she",
            "his": "his" if male else "her", "him": "him" if male else "her"}
    used = set(spec.params.values())

    def fmt(text: str) -> str:
        return text.format(**pron)

    params_in_order = list(dict.fromkeys(spec.params.values()))

    def section_sentences(section: str) -> list[str]:
        """Templated quantities and non-GCS choices of ``section``, in argument order."""
        out = []
        for kind in params_in_order:
            quantity = QUANTITIES.get(kind)
            if quantity is not None and quantity.templates and quantity.section == section and kind in draw.shown:
                out.append(rng.choice(quantity.templates).format(text=draw.shown[kind].text, **pron))
            choice = CHOICES.get(kind)
            if choice is not None and choice.section == section:
                out.append(fmt(rng.choice(choice.options[ctx[kind]])))
        return out

    def finding_sentences(section: str) -> list[str]:
        """Findings of a sentence section: stated when present, sometimes denied when absent."""
        out = []
        for kind in params_in_order:
            finding = FINDINGS.get(kind)
            if finding is not None and finding.section == section:
                if ctx[kind]:
                    out.append(fmt(rng.choice(finding.yes)))
                elif finding.always_state or rng.random() < 0.5:
                    out.append(fmt(rng.choice(finding.no)))
        return out

    # opening
    if age < 18:
        noun = "boy" if male else "girl"
    else:
        noun = "man" if male else "woman"
    if "black" in used:
        race = "Black " if ctx["black"] else rng.choice(["", "white ", "Hispanic ", "Asian "])
    else:
        race = ""
    complaint = rng.choice(THEMES.get(spec.theme, THEMES["general"]))
    settings = THEME_SETTINGS.get(spec.theme, SETTINGS)
    who = f"{age}-year-old {race}{noun}"
    opening = rng.choice(
        [
            f"{_article(age)} {who} presented to {rng.choice(settings)} with {complaint}.",
            f"{_article(age)} {who} was admitted because of {complaint}.",
            f"We saw {_article(age).lower()} {who} in {rng.choice(settings)} for {complaint}.",
            f"Patient is {_article(age).lower()} {who} evaluated for {complaint}.",
        ]
    )

    # history, medications, social
    history: list[str] = []
    positives = [rng.choice(FINDINGS[k].yes) for k in spec.params.values() if k in FINDINGS and FINDINGS[k].section == "history" and ctx[k]]
    positives += rng.sample(DISTRACTOR_CONDITIONS, rng.randint(0, 3))
    rng.shuffle(positives)
    negatives = [
        FINDINGS[k].no[0]
        for k in spec.params.values()
        if k in FINDINGS and FINDINGS[k].section == "history" and not ctx[k] and (FINDINGS[k].always_state or rng.random() < 0.4)
    ]
    if positives:
        history.append(fmt(rng.choice(["{His} past medical history is notable for ", "{He} has a history of ", "Medical history includes "])) + _join(positives) + ".")
    elif not negatives:
        history.append(fmt("{He} has no significant past medical history."))
    if negatives:
        history.append(fmt(rng.choice(["{He} has no history of ", "There is no known ", "{He} denies any prior "])) + _join_or(negatives) + ".")
    for kind in spec.params.values():
        finding = FINDINGS.get(kind)
        if finding is not None and finding.section == "meds":
            if ctx[kind]:
                history.append(fmt(rng.choice(finding.yes)))
            elif finding.always_state or rng.random() < 0.5:
                history.append(fmt(rng.choice(finding.no)))
    if rng.random() < 0.5:
        history.append(fmt("{He} also takes ") + _join(rng.sample(DISTRACTOR_MEDS, rng.randint(1, 2))) + ".")
    if "alcohol" in used:
        drinks = ctx["alcohol"]
        if drinks == 0:
            history.append(fmt(rng.choice(["{He} does not drink alcohol.", "{He} abstains from alcohol."])))
        else:
            template = rng.choice(["{He} drinks about {n} alcoholic drinks per week.", "{He} reports {n} alcoholic drinks per week."])
            history.append(template.format(n=drinks, **pron))
    elif rng.random() < 0.3:
        history.append(fmt(rng.choice(["{He} is a former smoker.", "{He} has never smoked.", "{He} smokes half a pack a day."])))

    for section in ("history", "meds", "social"):
        history += section_sentences(section)

    symptoms = [
        fmt(rng.choice(FINDINGS[k].yes if ctx[k] else FINDINGS[k].no))
        for k in spec.params.values()
        if k in FINDINGS and FINDINGS[k].section == "symptoms"
    ]
    symptoms += section_sentences("symptoms")

    # vitals and body size
    shown = dict(draw.shown)
    extra_rng_kinds: list[str] = []
    for kind in ("systolic", "diastolic"):
        if kind not in shown:
            extra_rng_kinds.append(kind)
    for kind in DISTRACTOR_VITALS:
        if kind not in used and rng.random() < 0.6:
            extra_rng_kinds.append(kind)
    for kind in ("height", "weight"):
        if kind not in used and rng.random() < 0.35:
            extra_rng_kinds.append(kind)
    lab_pool = [k for k in DISTRACTOR_LABS if k not in used]
    extra_rng_kinds += rng.sample(lab_pool, min(len(lab_pool), rng.randint(2, 5)))
    local = dict(ctx)
    for kind in _ordered(set(extra_rng_kinds)):
        if kind in shown:
            continue
        if kind not in local or kind in ("systolic", "diastolic", "chloride"):
            local[kind] = sample_quantity(kind, rng, local, None, QUANTITIES)
        shown[kind] = show_quantity(kind, local[kind], rng.choice(QUANTITIES[kind].displays))

    heart_rate_in_ecg = "qt" in shown and "heart_rate" in shown and rng.random() < 0.5
    vitals: list[str] = []
    if "systolic" in shown and "diastolic" in shown:
        bp = f"{format_number(shown['systolic'].value, 0)}/{format_number(shown['diastolic'].value, 0)} mm Hg"
        vitals.append(rng.choice(["blood pressure ", "blood pressure of ", "BP "]) + bp)
    more_vitals = sorted(
        k for k in shown
        if QUANTITIES[k].section == "vitals" and not QUANTITIES[k].templates
        and k not in ("heart_rate", "respiratory_rate", "temperature", "spo2", "systolic", "diastolic")
    )
    for kind in ("heart_rate", "respiratory_rate", "temperature", "spo2", *more_vitals):
        if kind in shown and not (kind == "heart_rate" and heart_rate_in_ecg):
            label = rng.choice(QUANTITIES[kind].labels)
            vitals.append(f"{label} {shown[kind].text}")
    rng.shuffle(vitals)
    vitals_text = ""
    if vitals:
        lead = rng.choice(["Vital signs were ", "On arrival, vital signs showed ", "{His} vitals included ", "Examination revealed "])
        vitals_text = fmt(lead) + _join(vitals) + "."
    body = []
    if "weight" in shown and "height" in shown and rng.random() < 0.5:
        body.append(fmt("{He} weighs ") + shown["weight"].text + " and is " + shown["height"].text + " tall.")
    else:
        for kind in ("height", "weight"):
            if kind in shown:
                body.append(fmt(rng.choice(["{His} " + kind + " is ", kind.capitalize() + ": ", "Measured " + kind + " was "])) + shown[kind].text + ".")
    for kind in sorted(k for k in shown if QUANTITIES[k].section == "body" and not QUANTITIES[k].templates and k not in ("height", "weight")):
        label = rng.choice(QUANTITIES[kind].labels)
        body.append(label[0].upper() + label[1:] + ": " + shown[kind].text + ".")
    rng.shuffle(body)

    # exam
    exam: list[str] = []
    for kind in spec.params.values():
        finding = FINDINGS.get(kind)
        if finding is not None and finding.section == "exam":
            if ctx[kind]:
                exam.append(fmt(rng.choice(finding.yes)))
            elif finding.always_state or rng.random() < 0.5:
                exam.append(fmt(rng.choice(finding.no)))
    gcs = [rng.choice(CHOICES[k].options[ctx[k]]) for k in ("gcs_eye", "gcs_verbal", "gcs_motor") if k in used]
    if gcs:
        rng.shuffle(gcs)
        exam.append(rng.choice(["On neurological examination the patient ", "On assessment, the patient ", "At the scene, the patient "]) + _join(gcs) + ".")
    exam += section_sentences("exam")
    exam += rng.sample(DISTRACTOR_EXAM, rng.randint(0, 2))
    rng.shuffle(exam)

    # labs and ECG
    lab_items = [
        f"{rng.choice(QUANTITIES[k].labels)} {shown[k].text}"
        for k in shown
        if QUANTITIES[k].section == "labs" and not QUANTITIES[k].templates
    ]
    rng.shuffle(lab_items)
    labs: list[str] = []
    if lab_items:
        cut = len(lab_items) if len(lab_items) <= 4 or rng.random() < 0.5 else rng.randint(2, len(lab_items) - 1)
        labs.append(rng.choice(["Laboratory tests revealed ", "Blood work showed ", "Labs: ", "Initial laboratory results included "]) + _join(lab_items[:cut]) + ".")
        if cut < len(lab_items):
            labs.append(rng.choice(["Further results included ", "Other values were ", "Additional tests showed "]) + _join(lab_items[cut:]) + ".")
    ecg: list[str] = []
    if "qt" in shown:
        rate = f" at {shown['heart_rate'].text}" if heart_rate_in_ecg else ""
        ecg.append(rng.choice(["An ECG showed sinus rhythm", "The electrocardiogram demonstrated a regular rhythm", "A 12-lead ECG was recorded in sinus rhythm"]) + rate + " with a " + rng.choice(["QT interval of ", "measured QT of "]) + shown["qt"].text + ".")

    renal = []
    for kind in params_in_order:
        finding = FINDINGS.get(kind)
        if finding is not None and finding.section == "renal":
            if ctx[kind]:
                renal.append(fmt(rng.choice(finding.yes)))
            elif rng.random() < 0.5:
                renal.append(fmt(rng.choice(finding.no)))
    renal += section_sentences("renal")
    # Sections of the families' own (surgery, family history, pregnancy...): a paragraph each.
    placed = {"history", "meds", "social", "symptoms", "exam", "renal", "plan", "vitals", "labs", "body", "ecg", "demo", "gcs"}
    own_sections = list(dict.fromkeys(
        item.section
        for kind in params_in_order
        for item in (QUANTITIES.get(kind), FINDINGS.get(kind), CHOICES.get(kind))
        if item is not None and item.section not in placed
    ))
    own_blocks = [" ".join(finding_sentences(section) + section_sentences(section)) for section in own_sections]
    plan = []
    if "target_bmi" in shown:
        plan.append(rng.choice(["A target BMI of {} was agreed.", "The dietitian set a goal BMI of {}.", "The agreed target BMI is {}."]).format(shown["target_bmi"].text))
    plan += section_sentences("plan")
    closing = fmt(rng.choice(CLOSINGS))

    blocks = [" ".join([vitals_text, *body]).strip(), " ".join(exam), " ".join(labs), " ".join(ecg), *own_blocks]
    if rng.random() < 0.5:
        rng.shuffle(blocks)
    head = [opening, " ".join(symptoms)]
    history_text = " ".join(history)
    if rng.random() < 0.7:
        head.append(history_text)
    else:
        blocks.insert(rng.randint(0, len(blocks)), history_text)
    parts = [p for p in head + blocks + [" ".join(renal), " ".join(plan), closing] if p.strip()]
    if len(parts) > 4 and rng.random() < 0.5:
        split_at = rng.randint(2, len(parts) - 1)
        return " ".join(parts[:split_at]) + "\n\n" + " ".join(parts[split_at:])
    return " ".join(parts)


ANSWER_HINTS = {
    AnswerType.INTEGER: "a single integer",
    AnswerType.NUMBER: "a single number",
    AnswerType.DATE: "a date as MM/DD/YYYY",
    AnswerType.WEEKS_DAYS: "weeks and days as [weeks, days] with days 0-6",
}


def build_prompt(note: str, question: str, answer_type: AnswerType) -> str:
    return f"Patient note:\n{note}\n\nQuestion: {question}\n\nGive your final answer as {ANSWER_HINTS[answer_type]}."


def make_target(value: Any, answer_type: AnswerType, tolerance: float) -> Target:
    """Integer scores exactly; dates and (weeks, days) exactly; numbers within ``tolerance``."""
    if answer_type is AnswerType.INTEGER:
        return Target(answer_type=AnswerType.INTEGER, value=int(value))
    if answer_type in (AnswerType.DATE, AnswerType.WEEKS_DAYS):
        return Target(answer_type=answer_type, value=value)
    low, high = sorted((value * (1 - tolerance), value * (1 + tolerance)))
    return Target(answer_type=AnswerType.NUMBER, value=value, lower=low, upper=high, rel_tol=tolerance)


@dataclass(frozen=True)
class NoteWriter:
    """How a category's notes are made: its parameter draw and its note renderer."""

    propose: Callable[[CalculatorSpec, random.Random], Draw]
    render_note: Callable[[CalculatorSpec, Draw, random.Random], str]


def note_writer(spec: CalculatorSpec) -> NoteWriter:
    """This module's narrative notes, or the ``generator`` module a category names."""
    if not spec.generator:
        return NoteWriter(propose, render_note)
    module = importlib.import_module(f"{__package__}.{spec.generator}")
    return NoteWriter(module.propose, module.render_note)


@lru_cache(maxsize=128)
def _sequence(category: str, split: Split, seed: int) -> DistinctSequence[Draw]:
    """The distinct parameter draws of one (category, split, seed): index i never repeats an
    instance of indices 0..i-1, so a catalog of N samples holds N different questions."""
    return DistinctSequence(split, lambda i: rng_for(DATASET_NAME, category, split, i, seed), lambda d: d.key)


def _draw_with_stream(spec: CalculatorSpec, writer: NoteWriter, split: Split, index: int, seed: int) -> tuple[Draw, random.Random]:
    """The draw at ``index`` and its random stream positioned just after it (the note is
    rendered from there): replaying the slot's stream reaches the same draw again, since the
    first candidate with the accepted key is the accepted one."""
    draw = _sequence(spec.name, split, seed).get(index, lambda r: writer.propose(spec, r))
    rng = rng_for(DATASET_NAME, spec.name, split, index, seed)
    for _ in range(100_000):
        if writer.propose(spec, rng).key == draw.key:
            return draw, rng
    raise RuntimeError(f"could not replay the draw of {spec.name}/{split}/{index}")  # pragma: no cover


def generate_sample(category: str, split: Split, index: int, seed: int = 0) -> Sample:
    """The sample at (category, split, index, seed); the same arguments give the same sample."""
    spec = spec_by_name(category)
    writer = note_writer(spec)
    draw, rng = _draw_with_stream(spec, writer, split, index, seed)
    note = writer.render_note(spec, draw, rng)
    return Sample(
        id=make_sample_id(DATASET_NAME, category, split, index, seed),
        dataset=DATASET_NAME,
        category=category,
        split=split,
        index=index,
        seed=seed,
        prompt=build_prompt(note, spec.question, spec.answer_type),
        target=make_target(draw.target, spec.answer_type, spec.tolerance),
        solution=Solution(language="python", code=render_solution(spec.function, draw.givens, spec.answer_type)),
        metadata={
            "official_calculator_id": spec.official_id,
            "calculator": spec.official_name,
            "content_key": draw.key,
            "givens": [
                {"param": g.param, "value": list(g.value) if isinstance(g.value, tuple) else g.value, "unit": g.unit}
                for g in draw.givens
            ],
        },
    )
