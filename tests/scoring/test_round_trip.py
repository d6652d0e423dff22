"""Property-style checks over seeded random targets (no hypothesis dependency).

Positive: the canonical value (and the ways an agent typically re-spells it) always scores 1.
Negative: a clearly different answer (shifted number, an extra or a missing item) always scores 0,
so the positive property cannot pass by a scorer that accepts everything.
"""

from __future__ import annotations

import json
import random
import string
from datetime import datetime, timedelta
from typing import Any

import pytest

from medagentgym.catalog.sample import VALUE_ANSWER_TYPES, AnswerType, Target
from medagentgym.scoring import normalize_text, parse_target, score_answer

A = AnswerType
SEED = 20240611
N = 300
_ALPHABET = string.ascii_letters + string.digits + " -/_.,()%'\"\u00e9\u00b5"


def _word(rng: random.Random) -> str:
    while True:
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 16)))
        if normalize_text(text) and not text.strip().startswith("["):
            return text


def _number(rng: random.Random) -> float:
    return rng.choice([-1, 1]) * rng.uniform(0, 10) * 10 ** rng.randint(-6, 8)


def _number_item(rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return str(rng.randint(-1000, 100_000))
    if kind == 1:
        return repr(_number(rng))
    return f"{_number(rng):.2f}"


def _items(rng: random.Random) -> list[str]:
    return [
        _number_item(rng) if rng.random() < 0.4 else _word(rng) for _ in range(rng.randint(1, 8))
    ]


def _date(rng: random.Random) -> datetime:
    start = datetime(1900, 1, 1)
    return start + timedelta(seconds=rng.randrange(300 * 365 * 86400))


def random_target(rng: random.Random, answer_type: AnswerType) -> Target:
    if answer_type is A.NUMBER:
        value = _number(rng)
        spelled: Any = rng.choice([value, repr(value), f"{value:e}"])
        mode = rng.randrange(3)
        if mode == 0:
            width = abs(value) * 0.05
            return Target(
                answer_type=A.NUMBER, value=spelled, lower=value - width, upper=value + width
            )
        if mode == 1:
            return Target(answer_type=A.NUMBER, value=spelled, rel_tol=rng.choice([1e-3, 0.05]))
        return Target(answer_type=A.NUMBER, value=spelled)
    if answer_type is A.INTEGER:
        n = rng.randint(-(10**6), 10**6)
        return Target(answer_type=A.INTEGER, value=rng.choice([n, str(n), float(n)]))
    if answer_type is A.STRING:
        return Target(answer_type=A.STRING, value=_word(rng))
    if answer_type is A.STRING_SET:
        return Target(answer_type=A.STRING_SET, value=_items(rng))
    if answer_type is A.ORDERED_LIST:
        return Target(answer_type=A.ORDERED_LIST, value=_items(rng))
    if answer_type is A.DATE:
        moment = _date(rng)
        choice = rng.randrange(3)
        if choice == 0:
            value = moment.date().isoformat()
        elif choice == 1:
            value = moment.strftime("%m/%d/%Y")
        else:
            value = moment.strftime("%Y-%m-%d %H:%M:%S")
        return Target(answer_type=A.DATE, value=value)
    if answer_type is A.BOOLEAN:
        return Target(answer_type=A.BOOLEAN, value=rng.random() < 0.5)
    if answer_type is A.WEEKS_DAYS:
        weeks, days = rng.randint(0, 44), rng.randint(0, 6)
        return Target(answer_type=A.WEEKS_DAYS, value=rng.choice([[weeks, days], f"({weeks} weeks, {days} days)"]))
    raise AssertionError(answer_type)


def respellings(target: Target) -> list[Any]:
    """The canonical value and typical agent spellings of the same answer."""
    value = target.value
    out: list[Any] = [value]
    if isinstance(value, list):
        out += [
            json.dumps(value),
            str(value),
            list(reversed(value)) if target.answer_type is A.STRING_SET else list(value),
        ]
    elif isinstance(value, bool):
        out += [str(value), str(value).upper(), int(value)]
    elif isinstance(value, str):
        out += [f"  {value}\n"]
    else:
        out += [str(value)]
    return out


def different_answer(rng: random.Random, target: Target) -> Any:
    """An answer that must score 0 against ``target``."""
    gold = parse_target(target)
    t = target.answer_type
    if t is A.NUMBER:
        x = gold.value
        if target.upper is not None:
            return target.upper + abs(x) * 0.01 + 1.0
        return x + abs(x) * 0.5 + 1.0
    if t is A.INTEGER:
        return gold.value + rng.choice([-1, 1])
    if t is A.STRING:
        return gold.value.text + "x"
    if t in (A.STRING_SET, A.ORDERED_LIST):
        texts = list(gold.json)
        if len(texts) > 1 and rng.random() < 0.5:
            texts.pop(rng.randrange(len(texts)))
        else:
            texts.append("an extra item that is not gold")
        return texts
    if t is A.DATE:
        return (gold.value + timedelta(days=1)).isoformat()
    if t is A.BOOLEAN:
        return not gold.value
    if t is A.WEEKS_DAYS:
        weeks, days = gold.value
        return rng.choice([[weeks + 1, days], [weeks, (days + 1) % 7], [days, weeks] if days != weeks else [weeks + 2, days]])
    raise AssertionError(t)


@pytest.mark.parametrize("answer_type", list(VALUE_ANSWER_TYPES))
def test_canonical_value_round_trips(answer_type: AnswerType) -> None:
    rng = random.Random(f"{SEED}-{answer_type.value}")
    for _ in range(N):
        target = random_target(rng, answer_type)
        for submitted in respellings(target):
            score = score_answer(submitted, target)
            assert score.value == 1.0, (target, submitted, score.explanation)
        other = different_answer(rng, target)
        score = score_answer(other, target)
        assert score.value == 0.0, (target, other, score.explanation)


def test_parsed_answer_scores_like_the_answer() -> None:
    """Score.parsed is itself a valid submission that scores the same (it is what was compared)."""
    rng = random.Random(SEED)
    for answer_type in VALUE_ANSWER_TYPES:
        for _ in range(50):
            target = random_target(rng, answer_type)
            for submitted in (target.value, different_answer(rng, target)):
                first = score_answer(submitted, target)
                again = score_answer(first.parsed, target)
                assert again.value == first.value, (target, submitted, again.explanation)


def test_dates_round_trip_across_formats() -> None:
    rng = random.Random(SEED)
    for _ in range(N):
        day = _date(rng).date()
        target = Target(answer_type=A.DATE, value=day.isoformat())
        for spelled in (
            day.isoformat(),
            day.strftime("%m/%d/%Y"),
            day.strftime("%Y/%m/%d"),
            f"{day.month}/{day.day}/{day.year}",
            f"{day.isoformat()} 00:00:00",
        ):
            assert score_answer(spelled, target).value == 1.0, spelled
        assert (
            score_answer((day + timedelta(days=rng.randint(1, 400))).isoformat(), target).value
            == 0.0
        )
