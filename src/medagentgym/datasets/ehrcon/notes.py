"""Notes rendered from an admission's record, with inconsistencies injected on purpose.

A note is a list of *statements*, one line each, about one entity: a lab or vital with up to three
charted values and times, a medication with its dose and start day, or a medication stated as not
given. Every statement is copied from the record; an injection then changes one fact of it:

* ``value``: a charted value (or a dose) is changed to one the record does not hold at that time;
* ``time``: a charted time (or a start day) is moved to one where the record has no such entry;
* ``absent``: a medication the admission never received is stated as given;
* ``reverse``: a medication the admission received is stated as not given.

The label of every entity is known by construction (``Statement.errors``); tests check it against
the checker (``entities.CHECKER_TEMPLATE``) that the reference solution runs in the sandbox.

A plan holds three questioned entities: A and B (exactly one of them inconsistent, in random
order, so a constant yes/no answer always misses one) and C (a measured entity with three stated
values, 0 to 3 of them injected: the count question).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from medagentgym.datasets.ehrcon.entities import BY_NAME, format_dose, format_value
from medagentgym.datasets.ehrcon.record import Admission, Measurement, Prescription, usable_prescriptions

KINDS = ("value", "time", "absent", "reverse")
STAMP = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Fact:
    """One checkable fact of a statement, as the note states it."""

    value: str  # the stated value or dose
    time: str  # the stated chart time (YYYY-MM-DD HH:MM) or start day (YYYY-MM-DD)
    unit: str = ""
    route: str = ""
    error: str = ""  # the injection kind, "" when copied from the record


@dataclass(frozen=True)
class Statement:
    """Every fact a note states about one entity (rendered on one line)."""

    entity: str
    kind: str  # "measure", "given" or "denied"
    facts: tuple[Fact, ...] = ()
    error: str = ""  # for "given"/"denied": an injection of the whole statement (absent, reverse)

    @property
    def errors(self) -> int:
        """How many inconsistencies the statement holds (each wrong fact once)."""
        return sum(1 for f in self.facts if f.error) + (1 if self.error else 0)

    @property
    def section(self) -> str:
        if self.kind == "measure":
            return "vitals" if BY_NAME[self.entity].table == "chartevents" else "labs"
        return "meds"


@dataclass(frozen=True)
class Plan:
    """A note's content and its three questions, before rendering."""

    hadm_id: int
    note_type: str
    start: str
    end: str
    statements: tuple[Statement, ...]
    entity_a: str
    entity_b: str
    entity_c: str

    def statement(self, entity: str) -> Statement:
        return next(s for s in self.statements if s.entity == entity)

    def injections(self) -> list[tuple[str, str]]:
        """(entity, kind) of every injected inconsistency, in note order."""
        out = []
        for s in self.statements:
            if s.error:
                out.append((s.entity, s.error))
            out += [(s.entity, f.error) for f in s.facts if f.error]
        return out


class Reject(Exception):
    """This admission and window cannot hold the note asked for; draw another."""


# ---- drawing a plan


def draw_plan(
    adm: Admission, note_type: str, window_hours: int, pool: tuple[Prescription, ...], rng: random.Random
) -> Plan:
    """A note's statements with the three questioned entities and their injections."""
    start, end = _window(adm, window_hours, rng)
    in_window = [m for m in adm.measurements if start <= m.time < end]
    by_entity: dict[str, list[Measurement]] = {}
    for m in in_window:
        by_entity.setdefault(m.entity, []).append(m)
    measured = {e: _pick_measurements(ms, note_type, rng) for e, ms in sorted(by_entity.items())}
    triples = sorted(e for e, ms in measured.items() if len(ms) == 3)
    if not triples:
        raise Reject("no entity with three values in the window")
    usable = usable_prescriptions(adm)
    meds = {p.drug: p for p in _one_per_drug([p for p in usable if p.start < end], rng)}
    recorded = {p.drug for p in adm.prescriptions}
    absent_pool = [p for p in pool if p.drug not in recorded]

    entity_c = rng.choice(triples)
    statements: dict[str, Statement] = {}
    n_c = rng.randint(0, 3)
    window = (start, end)
    statements[entity_c] = _measure_statement(entity_c, measured[entity_c], adm, rng, window, n_errors=n_c)

    # the inconsistent one of A/B
    kind = rng.choice(KINDS)
    free_measured = [e for e in measured if e not in statements]
    free_meds = [d for d in meds if d not in statements]
    bad: Statement
    if kind in ("value", "time"):
        options = [("measure", e) for e in free_measured] + [("given", d) for d in free_meds]
        if not options:
            raise Reject("nothing to inject into")
        what, name = rng.choice(options)
        if what == "measure":
            bad = _measure_statement(name, measured[name], adm, rng, window, n_errors=1, kinds=(kind,))
        else:
            bad = _given_statement(meds[name], adm, rng, error=kind)
    elif kind == "absent":
        if not absent_pool:
            raise Reject("no drug the admission lacks")
        drug = rng.choice(absent_pool)
        day = _day_in(start, end, adm, rng)
        bad = Statement(drug.drug, "given", (Fact(drug.dose, day, drug.unit, drug.route),), error="absent")
    else:
        names = sorted({p.drug for p in usable} - set(statements))
        if not names:
            raise Reject("no recorded drug to deny")
        bad = Statement(rng.choice(names), "denied", error="reverse")
    statements[bad.entity] = bad

    # the consistent one
    good_options = [("measure", e) for e in measured if e not in statements]
    good_options += [("given", d) for d in meds if d not in statements]
    deniable = [p.drug for p in absent_pool if p.drug not in statements]
    if deniable and (not good_options or rng.random() < 0.25):
        good_options = [("denied", rng.choice(deniable))]
    if not good_options:
        raise Reject("no consistent entity left")
    what, name = rng.choice(good_options)
    good = _clean_statement(what, name, measured, meds, rng)
    statements[good.entity] = good

    # fillers: more consistent statements, as a real note has
    rest = [("measure", e) for e in measured if e not in statements]
    rng.shuffle(rest)
    for what, name in rest[: rng.randint(2, 6)]:
        statements[name] = _clean_statement(what, name, measured, meds, rng)
    drugs = [("given", d) for d in meds if d not in statements]
    rng.shuffle(drugs)
    for what, name in drugs[: rng.randint(1, 4)]:
        statements[name] = _clean_statement(what, name, measured, meds, rng)
    if absent_pool and rng.random() < 0.4:
        name = rng.choice(absent_pool).drug
        if name not in statements:
            statements[name] = Statement(name, "denied")

    order = list(statements.values())
    rng.shuffle(order)
    pair = [bad.entity, good.entity]
    rng.shuffle(pair)
    return Plan(adm.hadm_id, note_type, start, end, tuple(order), pair[0], pair[1], entity_c)


def _clean_statement(
    what: str, name: str, measured: dict[str, list[Measurement]], meds: dict[str, Prescription], rng: random.Random
) -> Statement:
    if what == "measure":
        ms = measured[name]
        return Statement(name, "measure", tuple(_fact(m) for m in ms))
    if what == "given":
        p = meds[name]
        return Statement(name, "given", (Fact(p.dose, p.start[:10], p.unit, p.route),))
    return Statement(name, "denied")


def _window(adm: Admission, hours: int, rng: random.Random) -> tuple[str, str]:
    """The part of the stay the note covers: a shift, a hospital day, or the whole admission."""
    if hours == 0:
        return adm.admittime, _stamp(_parse(adm.dischtime) + timedelta(minutes=1))
    admit, disch = _parse(adm.admittime), _parse(adm.dischtime)
    first = admit.replace(hour=0, minute=0)
    starts = []
    t = first
    while t < disch:
        for h in (7, 19) if hours == 12 else (0,):
            s = t.replace(hour=h)
            if s + timedelta(hours=hours) > admit and s < disch:
                starts.append(s)
        t += timedelta(days=1)
    s = rng.choice(starts)
    return _stamp(s), _stamp(s + timedelta(hours=hours))


def _pick_measurements(ms: list[Measurement], note_type: str, rng: random.Random) -> list[Measurement]:
    """Up to three values of one entity: the first, the last and one between (a trend)."""
    if len(ms) <= 3:
        return list(ms)
    if note_type == "discharge_summary":
        return [ms[0], ms[rng.randrange(1, len(ms) - 1)], ms[-1]]
    return sorted(rng.sample(ms, 3), key=lambda m: m.time)


def _one_per_drug(ps: list[Prescription], rng: random.Random) -> list[Prescription]:
    by_drug: dict[str, list[Prescription]] = {}
    for p in ps:
        by_drug.setdefault(p.drug, []).append(p)
    return [rng.choice(v) for _, v in sorted(by_drug.items())]


def _fact(m: Measurement) -> Fact:
    return Fact(format_value(m.value, BY_NAME[m.entity].decimals), m.time, m.unit)


def _measure_statement(
    entity: str,
    ms: list[Measurement],
    adm: Admission,
    rng: random.Random,
    window: tuple[str, str],
    *,
    n_errors: int,
    kinds: tuple[str, ...] = ("value", "time"),
) -> Statement:
    facts = [_fact(m) for m in ms]
    for i in rng.sample(range(len(facts)), n_errors):
        kind = rng.choice(kinds)
        facts[i] = (
            _corrupt_value(entity, facts[i], adm, rng)
            if kind == "value"
            else _corrupt_time(entity, facts[i], adm, rng, window)
        )
    # a changed time may break the order; notes list values in time order
    facts.sort(key=lambda f: f.time)
    return Statement(entity, "measure", tuple(facts))


def _corrupt_value(entity: str, fact: Fact, adm: Admission, rng: random.Random) -> Fact:
    item = BY_NAME[entity]
    charted = {
        format_value(m.value, item.decimals) for m in adm.measurements if m.entity == entity and m.time == fact.time
    }
    value = float(fact.value)
    for _ in range(50):
        delta = item.step * rng.uniform(1.0, 2.5)
        sign = rng.choice((-1, 1))
        new = value + sign * delta
        if not item.low <= new <= item.high:
            new = value - sign * delta
        text = format_value(new, item.decimals)
        if item.low <= new <= item.high and text not in charted and float(text) != value:
            return replace(fact, value=text, error="value")
    raise Reject(f"no plausible wrong value for {entity}")


def _corrupt_time(entity: str, fact: Fact, adm: Admission, rng: random.Random, window: tuple[str, str]) -> Fact:
    """A time the record has no value of the entity at; inside the note's window when one is free
    (a time outside the window would give the injection away without a look at the record)."""
    taken = {m.time for m in adm.measurements if m.entity == entity}
    for attempt in range(60):
        # whole hours first: charting keeps its minute within a stay, an odd minute would stand out
        minutes = rng.randint(1, 6) * 60 if attempt < 30 else rng.randint(45, 360)
        shift = rng.choice((-1, 1)) * minutes
        new = _stamp(_parse(fact.time) + timedelta(minutes=shift))
        inside = window[0] <= new < window[1] and adm.admittime <= new <= adm.dischtime
        if new not in taken and (inside or attempt >= 40):
            return replace(fact, time=new, error="time")
    raise Reject(f"no free time for {entity}")


def _given_statement(p: Prescription, adm: Admission, rng: random.Random, *, error: str) -> Statement:
    same = [q for q in adm.prescriptions if q.drug == p.drug]
    fact = Fact(p.dose, p.start[:10], p.unit, p.route)
    if error == "value":
        doses = {_float(q.dose) for q in same}
        for factor in rng.sample([0.25, 0.5, 1.5, 2.0, 3.0, 4.0, 10.0], 7):
            new = float(p.dose) * factor
            if new not in doses and new > 0:
                return Statement(p.drug, "given", (replace(fact, value=format_dose(new), error="value"),))
        raise Reject("no wrong dose")
    days = {q.start[:10] for q in same}
    for attempt in range(30):
        shift = rng.choice((-1, 1)) * rng.randint(1, 3)
        new = (_parse(p.start) + timedelta(days=shift)).strftime("%Y-%m-%d")
        inside = adm.admittime[:10] <= new <= adm.dischtime[:10]  # a day outside the stay gives it away
        if new not in days and (inside or attempt >= 20):
            return Statement(p.drug, "given", (replace(fact, time=new, error="time"),))
    raise Reject("no free start day")


def _day_in(start: str, end: str, adm: Admission, rng: random.Random) -> str:
    lo = max(_parse(start), _parse(adm.admittime))
    hi = min(_parse(end), _parse(adm.dischtime))
    days = max((hi.date() - lo.date()).days, 0)
    return (lo + timedelta(days=rng.randint(0, days))).strftime("%Y-%m-%d")


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp[:16], STAMP)


def _stamp(t: datetime) -> str:
    return t.strftime(STAMP)
