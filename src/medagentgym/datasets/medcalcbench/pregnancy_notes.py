"""Notes of a pregnancy visit, for the dating calculators (the ``generator`` of categories 13, 68, 69).

The draw (``propose``) fixes the dates and the cycle length and how the note spells each date
(US, ISO or written out); the note (``render_note``) states them among other visit details, in
varied wording. Last menstrual periods fall between 2000 and 2025; a visit comes 5 to 17 weeks
later for the due-date and conception questions, and up to 42 weeks later for gestational age.
A note never states a date near the answer, nor the gestational age in words.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from typing import Any

from medagentgym.datasets.medcalcbench.categories import CalculatorSpec
from medagentgym.datasets.medcalcbench.generate import Draw
from medagentgym.datasets.medcalcbench.pregnancy import QUANTITIES, iso_date_to_us, written_date_to_us
from medagentgym.datasets.medcalcbench.solution import Given, compute, content_key

LMP_WINDOW = (datetime.date(2000, 1, 1), datetime.date(2025, 12, 31))
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# How a note spells a date -> (unit shown in the solution, conversion into MM/DD/YYYY)
SPELLINGS: dict[str, tuple[str, Callable[[str], str] | None]] = {
    "us": ("MM/DD/YYYY", None),
    "iso": ("ISO", iso_date_to_us),
    "month-day-year": ("written out", written_date_to_us),
    "day-month-year": ("written out", written_date_to_us),
}
_SHE = {"He": "She", "His": "Her", "he": "she", "his": "her", "him": "her"}
_SPELLING_WEIGHTS = {"us": 0.55, "iso": 0.15, "month-day-year": 0.2, "day-month-year": 0.1}


def spell_date(day: datetime.date, spelling: str) -> str:
    if spelling == "us":
        return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"
    if spelling == "iso":
        return day.isoformat()
    if spelling == "month-day-year":
        return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"
    if spelling == "day-month-year":
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    raise ValueError(f"unknown date spelling {spelling!r}")


def every_spelling(day: datetime.date) -> list[str]:
    """The date in every spelling a note may use (to check that an answer never appears)."""
    return [spell_date(day, spelling) for spelling in SPELLINGS]


def _pick_spelling(rng: random.Random) -> str:
    names = list(_SPELLING_WEIGHTS)
    return rng.choices(names, weights=[_SPELLING_WEIGHTS[n] for n in names])[0]


def _date_given(param: str, day: datetime.date, spelling: str) -> Given:
    unit, convert = SPELLINGS[spelling]
    return Given(param, spell_date(day, spelling), unit, convert)


def propose(spec: CalculatorSpec, rng: random.Random) -> Draw:
    """The dates and cycle length of one visit, and the spelling of each stated date."""
    start, end = LMP_WINDOW
    lmp = start + datetime.timedelta(days=rng.randint(0, (end - start).days))
    cycle = 28 if rng.random() < 0.25 else rng.randint(21, 35)
    if "visit_date" in spec.params.values():
        # gestational age: mostly 6 to 42 weeks, sometimes the first weeks
        elapsed = rng.randint(0, 41) if rng.random() < 0.1 else rng.randint(42, 294)
    else:
        elapsed = rng.randint(35, 120)  # a first prenatal visit; the date is a distractor
    visit = lmp + datetime.timedelta(days=elapsed)
    spellings = {"lmp": _pick_spelling(rng), "visit": _pick_spelling(rng)}
    givens = []
    for param, kind in spec.params.items():
        if kind == "lmp_date":
            givens.append(_date_given(param, lmp, spellings["lmp"]))
        elif kind == "visit_date":
            givens.append(_date_given(param, visit, spellings["visit"]))
        elif kind == "cycle_length":
            givens.append(Given(param, cycle, "days"))
        else:
            raise KeyError(f"pregnancy notes cannot state the fact kind {kind!r}")
    target = compute(spec.function, givens, spec.answer_type)
    values: dict[str, Any] = {"lmp": lmp, "visit": visit, "cycle": cycle, "spellings": spellings}
    return Draw(values, {}, tuple(givens), target, content_key(spec.name, givens))


# --------------------------------------------------------------------------- the note

_EARLY_REASONS = (
    "for her first prenatal visit after a positive home pregnancy test",
    "to confirm a suspected pregnancy",
    "for pregnancy dating and initial prenatal care",
    "because her period is late and a home pregnancy test was positive",
)
_LATER_REASONS = (
    "for a routine prenatal visit",
    "for scheduled prenatal follow-up",
    "with mild ankle swelling",
    "after transferring her prenatal care from another practice",
)
_SETTINGS = ("the obstetrics clinic", "our prenatal clinic", "the family medicine clinic", "the women's health center")
_LMP_SENTENCES = (
    "Her last menstrual period began on {date}.",
    "She reports that the first day of her last menstrual period was {date}.",
    "LMP: {date}.",
    "She is certain of the date of her last menstrual period, which started on {date}.",
    "The first day of her last normal menstrual period was {date}.",
)
_VISIT_SENTENCES = (
    "Today's date is {date}.",
    "She is seen today, {date}.",
    "Date of visit: {date}.",
    "This visit takes place on {date}.",
)
_DISTRACTORS = (
    "She takes a daily prenatal vitamin with folic acid.",
    "She reports mild nausea in the mornings without vomiting.",
    "She does not smoke and does not drink alcohol.",
    "Her past medical history is notable for well-controlled hypothyroidism on levothyroxine.",
    "She has a history of migraine without aura.",
    "She has no known drug allergies.",
    "She works as a schoolteacher and lives with her partner.",
)
_CLOSINGS = (
    "Routine prenatal laboratory tests were ordered.",
    "An ultrasound for dating is being arranged.",
    "Prenatal counseling was provided.",
    "",
)


def _obstetric_history(rng: random.Random, lmp: datetime.date) -> tuple[str, str]:
    """A "G2P1"-style summary for the opening, and maybe a sentence about an earlier delivery."""
    gravida = rng.randint(1, 5)
    para = rng.randint(0, gravida - 1)
    if gravida == 1:
        summary = rng.choice(["primigravida", "G1P0", "gravida 1, para 0"])
    else:
        summary = rng.choice([f"G{gravida}P{para}", f"gravida {gravida}, para {para}"])
    sentence = ""
    if para and rng.random() < 0.5:
        year = lmp.year - rng.randint(1, 8)
        sentence = rng.choice(
            [f"Her last delivery, in {year}, was an uncomplicated term vaginal birth.", f"She had a cesarean delivery at term in {year}."]
        )
    return summary, sentence


def _vitals(rng: random.Random) -> str:
    systolic = rng.randint(98, 132)
    diastolic = rng.randint(58, 84)
    pulse = rng.randint(64, 98)
    weight = round(rng.uniform(48.0, 95.0), 1)
    items = [f"blood pressure {systolic}/{diastolic} mm Hg", f"pulse {pulse} beats/min", f"weight {weight} kg"]
    rng.shuffle(items)
    return rng.choice(["Vital signs: ", "On examination, ", "Her vitals were "]) + ", ".join(items[: rng.randint(1, 3)]) + "."


def render_note(spec: CalculatorSpec, draw: Draw, rng: random.Random) -> str:
    """A prenatal visit note that states the dates (and cycle length) among other details."""
    values = draw.values
    lmp: datetime.date = values["lmp"]
    visit: datetime.date = values["visit"]
    kinds = set(spec.params.values())
    by_kind = {spec.params[g.param]: g for g in draw.givens}
    age = rng.randint(18, 44)
    summary, delivery = _obstetric_history(rng, lmp)
    elapsed = (visit - lmp).days
    reason = rng.choice(_EARLY_REASONS if elapsed < 120 else _LATER_REASONS)
    article = "an" if age == 18 else "a"  # ages 18-44: only "an 18-year-old"
    opening = rng.choice(
        [
            f"{article.capitalize()} {age}-year-old woman, {summary}, presents to {rng.choice(_SETTINGS)} {reason}.",
            f"Patient is {article} {age}-year-old {summary} woman seen in {rng.choice(_SETTINGS)} {reason}.",
            f"We saw {article} {age}-year-old woman ({summary}) {reason}.",
        ]
    )

    dating = [rng.choice(_LMP_SENTENCES).format(date=by_kind["lmp_date"].value)]
    if "cycle_length" in kinds or rng.random() < (0.7 if spec.official_id == 68 else 0.3):
        sentence = rng.choice(QUANTITIES["cycle_length"].templates)
        dating.append(sentence.format(text=f"{values['cycle']} days", **_SHE))
    if "visit_date" in kinds:
        dating.append(rng.choice(_VISIT_SENTENCES).format(date=by_kind["visit_date"].value))
    elif rng.random() < 0.5:
        dating.append(rng.choice(_VISIT_SENTENCES).format(date=spell_date(visit, _pick_spelling(rng))))
    rng.shuffle(dating)

    details = rng.sample(_DISTRACTORS, rng.randint(1, 3))
    if delivery:
        details.append(delivery)
    if rng.random() < 0.6:
        details.append(_vitals(rng))
    if elapsed < 120 and rng.random() < 0.4:
        details.append("A urine pregnancy test in the clinic is positive.")
    rng.shuffle(details)
    closing = rng.choice(_CLOSINGS)

    if rng.random() < 0.5:
        paragraphs = [" ".join([opening, *dating]), " ".join([*details, closing]).strip()]
    else:
        paragraphs = [" ".join([opening, *details[:1], *dating, *details[1:], closing]).strip()]
    return "\n\n".join(p for p in paragraphs if p)
