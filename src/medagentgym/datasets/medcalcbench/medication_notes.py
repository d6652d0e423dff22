"""Medication notes, for the steroid conversion and MME calculators (the ``generator`` of 24, 49).

The draw (``propose``) fixes the drugs, doses and frequencies and how the note writes each of
them (mg or g; µg or mcg; "twice daily", "BID" or "every 12 hours"); the note (``render_note``)
lists them with other, non-opioid or non-steroid medications in prose or as a list, in varied
wording. Doses come from each drug's usual strengths (steroid doses also at arbitrary precision,
as weight-based doses are), so the instance space is large. A note never states the answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from medagentgym.datasets.medcalcbench.categories import CalculatorSpec
from medagentgym.datasets.medcalcbench.generate import Draw
from medagentgym.datasets.medcalcbench.medications import OPIOIDS, STEROIDS, every_hours_to_per_day, grams_to_mg
from medagentgym.datasets.medcalcbench.solution import Given, compute, content_key


def format_amount(value: float) -> str:
    """12 -> "12", 7.5 -> "7.5", 0.25 -> "0.25": no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _as_written(value: float) -> float | int:
    """The number as a note writes it: an int when whole (so the solution shows 40, not 40.0)."""
    rounded = round(value, 3)
    return int(rounded) if float(rounded).is_integer() else rounded


# --------------------------------------------------------------------------- steroids

# Official label -> (lowest, highest dose in mg, step of the usual strengths)
STEROID_DOSES: dict[str, tuple[float, float, float]] = {
    "Betamethasone IV": (0.5, 12.0, 0.25),
    "Cortisone PO": (12.5, 300.0, 12.5),
    "Dexamethasone IV": (0.5, 24.0, 0.25),
    "Dexamethasone PO": (0.5, 16.0, 0.25),
    "Hydrocortisone IV": (25.0, 400.0, 5.0),
    "Hydrocortisone PO": (5.0, 60.0, 2.5),
    "MethylPrednisoLONE IV": (10.0, 1000.0, 10.0),
    "MethylPrednisoLONE PO": (2.0, 64.0, 2.0),
    "PrednisoLONE PO": (1.0, 80.0, 0.5),
    "PredniSONE PO": (1.0, 80.0, 0.5),
    "Triamcinolone IV": (4.0, 80.0, 2.0),
}
INDICATIONS = (
    "an asthma exacerbation", "an exacerbation of COPD", "a flare of rheumatoid arthritis", "polymyalgia rheumatica",
    "giant cell arteritis", "a lupus flare", "ulcerative colitis", "autoimmune hepatitis", "sarcoidosis",
    "vasogenic cerebral edema from a brain metastasis", "adrenal insufficiency", "an acute gout flare",
)
_OTHER_MEDS_STEROID = (
    "omeprazole 20 mg daily", "calcium carbonate 1250 mg with vitamin D 400 IU twice daily", "alendronate 70 mg weekly",
    "metformin 500 mg twice daily", "amlodipine 5 mg daily", "trimethoprim-sulfamethoxazole 800/160 mg three times weekly",
)


def _steroid_dose(rng: random.Random, label: str) -> float:
    low, high, step = STEROID_DOSES[label]
    if rng.random() < 0.25:  # weight-based or tapering doses: any precision
        return round(rng.uniform(low, high), rng.choice([1, 2, 3]))
    return low + step * rng.randint(0, round((high - low) / step))


def _propose_steroid(spec: CalculatorSpec, rng: random.Random) -> tuple[list[Given], dict[str, Any]]:
    labels = sorted(STEROIDS)
    source = rng.choice(labels)
    target = rng.choice([label for label in labels if label != source])
    dose_mg = _steroid_dose(rng, source)
    if dose_mg >= 250 and rng.random() < 0.4:
        dose = Given("input_dose_mg", _as_written(dose_mg / 1000.0), "g", grams_to_mg)
    else:
        dose = Given("input_dose_mg", _as_written(dose_mg), "mg")
    by_param = {"input_steroid": Given("input_steroid", source), "input_dose_mg": dose, "target_steroid": Given("target_steroid", target)}
    givens = [by_param[param] for param in spec.params]
    return givens, {"source": source, "target": target}


def _route_words(label: str) -> str:
    return "intravenous" if label.endswith(" IV") else "oral"


def _render_steroid(draw: Draw, rng: random.Random, pron: dict[str, str]) -> list[str]:
    source, target = draw.values["source"], draw.values["target"]
    dose = next(g for g in draw.givens if g.param == "input_dose_mg")
    amount = f"{format_amount(dose.value)} {dose.unit}"
    drug = rng.choice(STEROIDS[source])
    current = rng.choice(
        [
            "{He} has been receiving {drug} {amount} once daily for {why}.",
            "For {why}, {he} is currently treated with {drug} at a dose of {amount} per day.",
            "Current steroid: {drug} {amount} daily, started for {why}.",
            "{He} takes {drug}, {amount} each morning, for {why}.",
        ]
    ).format(drug=drug, amount=amount, why=rng.choice(INDICATIONS), **pron)
    if _route_words(target) == "intravenous" and _route_words(source) == "oral":
        because = rng.choice(["{he} can no longer take anything by mouth", "{he} is vomiting and cannot keep tablets down"])
    elif _route_words(target) == "oral" and _route_words(source) == "intravenous":
        because = rng.choice(["{he} is now eating and drinking", "{he} is being prepared for discharge"])
    else:
        because = rng.choice(["of a formulary change", "the pharmacist recommended it", "of a drug shortage"])
    switch = rng.choice(
        [
            "Because " + because + ", the team plans to switch {him} to {new}.",
            "The team will convert this to an equivalent dose of {new} because " + because + ".",
            "Because " + because + ", the steroid is to be changed to {new} at an equivalent dose.",
        ]
    ).format(new=rng.choice(STEROIDS[target]), **pron)
    other = rng.sample(_OTHER_MEDS_STEROID, rng.randint(1, 3))
    meds = rng.choice(["{His} other medications are ", "{He} also takes ", "Other medications: "]).format(**pron) + _join(other) + "."
    return [current, meds, switch]


# --------------------------------------------------------------------------- opioids


@dataclass(frozen=True)
class OpioidNote:
    """How notes name an opioid and the strengths and daily frequencies they use."""

    names: tuple[str, ...]
    strengths: tuple[float, ...]
    per_day: tuple[int, ...]
    max_daily: float | None = None  # labelled maximum daily dose (mg), kept by the draw


OPIOID_NOTES: dict[str, OpioidNote] = {
    "Codeine": OpioidNote(("codeine", "codeine sulfate"), (15, 30, 60), (1, 2, 3, 4, 6), 360),
    "FentaNYL buccal": OpioidNote(("buccal fentanyl", "fentanyl buccal tablets"), (100, 200, 300, 400, 600, 800), (1, 2, 3, 4)),
    "FentANYL patch": OpioidNote(("transdermal fentanyl", "fentanyl patch"), (12, 25, 37, 50, 62, 75, 87, 100), (1, 2)),
    "HYDROcodone": OpioidNote(("hydrocodone", "hydrocodone bitartrate"), (2.5, 5, 7.5, 10, 15, 20, 30, 40), (1, 2, 3, 4, 6)),
    "HYDROmorphone": OpioidNote(("hydromorphone", "hydromorphone tablets"), (1, 2, 3, 4, 8, 12, 16), (1, 2, 3, 4, 6)),
    "Methadone": OpioidNote(("methadone",), (2.5, 5, 10, 15, 20, 30, 40), (1, 2, 3)),
    "Morphine": OpioidNote(("morphine sulfate", "extended-release morphine", "morphine"), (5, 10, 15, 30, 45, 60, 100), (1, 2, 3, 4, 6)),
    "OxyCODONE": OpioidNote(("oxycodone", "extended-release oxycodone"), (5, 10, 15, 20, 30, 40, 60, 80), (1, 2, 3, 4, 6)),
    "OxyMORphone": OpioidNote(("oxymorphone",), (5, 7.5, 10, 15, 20, 30, 40), (1, 2, 3, 4)),
    "Tapentadol": OpioidNote(("tapentadol",), (50, 75, 100, 150, 200, 250), (1, 2, 3, 4), 600),
    "TraMADol": OpioidNote(("tramadol",), (25, 50, 100, 200, 300), (1, 2, 3, 4), 400),
}
_COUNT_WORDS = {
    1: ("once daily", "once a day"),
    2: ("twice daily", "twice a day", "two times a day"),
    3: ("three times daily", "three times a day"),
    4: ("four times daily", "four times a day"),
    6: ("six times a day",),
}
_ABBREVIATIONS = {1: "daily", 2: "BID", 3: "TID", 4: "QID"}
_PAIN = (
    "chronic low back pain after a lumbar fusion", "metastatic prostate cancer with bone pain", "sickle cell disease",
    "chronic pancreatitis", "severe knee osteoarthritis awaiting arthroplasty", "post-herpetic neuralgia",
    "a healing femur fracture", "pancreatic cancer with abdominal pain", "diabetic peripheral neuropathy",
)
_VISITS = (
    "an opioid safety review", "medication reconciliation on admission", "pain clinic follow-up",
    "a pharmacy consultation before discharge", "a primary care visit to renew prescriptions",
)
_OTHER_MEDS_PAIN = (
    "acetaminophen 1000 mg every 8 hours", "gabapentin 300 mg three times daily", "senna 8.6 mg at bedtime",
    "docusate 100 mg twice daily", "duloxetine 60 mg daily", "ondansetron 4 mg as needed for nausea",
    "pregabalin 75 mg twice daily", "naproxen 500 mg twice daily", "polyethylene glycol 17 g daily",
)


def _propose_opioids(spec: CalculatorSpec, rng: random.Random) -> tuple[list[Given], dict[str, Any]]:
    count = rng.choices([1, 2, 3, 4], weights=[2, 4, 3, 1])[0]
    chosen = rng.sample(sorted(OPIOID_NOTES), count)
    by_param: dict[str, Given] = {}
    regimen = []
    for label in chosen:
        prefix, unit = OPIOIDS[label]
        info = OPIOID_NOTES[label]
        strength = rng.choice(info.strengths)
        allowed = [n for n in info.per_day if info.max_daily is None or strength * n <= info.max_daily]
        per_day = rng.choice(allowed or [1])
        if label == "FentANYL patch":
            written_unit, style = rng.choice(["µg/h", "mcg/hr"]), "patches"
            frequency = Given(f"{prefix}_per_day", per_day, "patches worn")
        else:
            written_unit = rng.choice(["µg", "mcg"]) if unit == "ug" else "mg"
            styles = ["count", "interval"] + (["abbreviation"] if per_day in _ABBREVIATIONS else [])
            style = rng.choice(styles)
            if style == "interval":
                frequency = Given(f"{prefix}_per_day", 24 // per_day, "hours between doses", every_hours_to_per_day)
            else:
                frequency = Given(f"{prefix}_per_day", per_day, "doses per day")
        by_param[f"{prefix}_{unit}"] = Given(f"{prefix}_{unit}", strength, written_unit)
        by_param[frequency.param] = frequency
        regimen.append({"label": label, "strength": strength, "unit": written_unit, "per_day": per_day, "style": style})
    givens = [by_param[param] for param in spec.params if param in by_param]
    return givens, {"regimen": regimen}


def _frequency_text(item: dict[str, Any], rng: random.Random) -> str:
    per_day, style = item["per_day"], item["style"]
    if style == "interval":
        return f"every {24 // per_day} hours"
    if style == "abbreviation":
        return _ABBREVIATIONS[per_day]
    return rng.choice(_COUNT_WORDS[per_day])


def _opioid_text(item: dict[str, Any], rng: random.Random) -> str:
    label = item["label"]
    name = rng.choice(OPIOID_NOTES[label].names)
    amount = f"{format_amount(item['strength'])} {item['unit']}"
    if label == "FentANYL patch":
        patches = {1: "one patch", 2: "two patches"}[item["per_day"]]
        return f"{name} {amount} ({patches} applied at a time, changed every 72 hours)"
    route = rng.choice(["", " by mouth", " PO"]) if label != "FentaNYL buccal" else ""
    return f"{name} {amount}{route} {_frequency_text(item, rng)}"


def _render_opioids(draw: Draw, rng: random.Random, pron: dict[str, str]) -> list[str]:
    items = [_opioid_text(item, rng) for item in draw.values["regimen"]]
    others = rng.sample(_OTHER_MEDS_PAIN, rng.randint(1, 3))
    listed = items + others
    rng.shuffle(listed)
    if rng.random() < 0.5:
        meds = "Current medications:\n" + "\n".join(f"- {line}" for line in listed)
    else:
        meds = rng.choice(["{His} medications include ", "{He} currently takes ", "Medication list: "]).format(**pron) + _join(listed) + "."
    extras = rng.sample(
        [
            "{He} rates {his} pain {score}/10 today.",
            "{He} denies sedation, constipation or falls.",
            "A recent urine drug screen was consistent with the prescribed medications.",
            "Respiratory rate is {rr} breaths/min and {he} is alert.",
            "{He} has no history of substance use disorder.",
        ],
        rng.randint(1, 2),
    )
    extras = [e.format(score=rng.randint(2, 8), rr=rng.randint(12, 20), **pron) for e in extras]
    return [meds, *extras]


# --------------------------------------------------------------------------- generator contract


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def propose(spec: CalculatorSpec, rng: random.Random) -> Draw:
    """The drugs, doses and frequencies of one note, and how it writes them."""
    if spec.name == "steroid-conversion":
        givens, values = _propose_steroid(spec, rng)
    elif spec.name == "morphine-milligram-equivalents":
        givens, values = _propose_opioids(spec, rng)
    else:
        raise KeyError(f"medication notes do not serve the category {spec.name!r}")
    values["male"] = rng.random() < 0.5
    values["age"] = rng.randint(24, 88)
    target = compute(spec.function, givens, spec.answer_type)
    return Draw(values, {}, tuple(givens), target, content_key(spec.name, givens))


def render_note(spec: CalculatorSpec, draw: Draw, rng: random.Random) -> str:
    """A medication review note: who, why, the regimen among other drugs, a few findings."""
    male, age = draw.values["male"], draw.values["age"]
    pron = {"He": "He" if male else "She", "His": "His" if male else "Her", "he": "he" if male else "she",
            "his": "his" if male else "her", "him": "him" if male else "her"}
    who = f"{age}-year-old {'man' if male else 'woman'}"
    article = "An" if age in (80, 81, 82, 83, 84, 85, 86, 87, 88) else "A"
    if spec.name == "steroid-conversion":
        opening = rng.choice(
            [f"{article} {who} is reviewed on the medical ward.", f"{article} {who} is seen in clinic for a medication review.",
             f"{article} {who} was admitted to hospital two days ago."]
        )
        body = _render_steroid(draw, rng, pron)
    else:
        opening = rng.choice(
            [f"{article} {who} with {rng.choice(_PAIN)} is seen for {rng.choice(_VISITS)}.",
             f"{article} {who} presents for {rng.choice(_VISITS)}; {pron['he']} has {rng.choice(_PAIN)}."]
        )
        body = _render_opioids(draw, rng, pron)
    allergy = rng.choice(["", "No known drug allergies.", "Allergic to penicillin (rash)."])
    head = " ".join(p for p in [opening, allergy] if p)
    if any("\n" in block for block in body) or rng.random() < 0.5:  # a list stands as its own paragraph
        return "\n\n".join([head, *body])
    return head + " " + " ".join(body)
