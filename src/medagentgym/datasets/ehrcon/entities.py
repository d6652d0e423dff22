"""The named entities a note talks about, and the one rule that says when a statement is consistent.

Entities are written as clinicians write them ("K", "Hct", "HR"; drugs by their charted name), as
in the official data's ``Medical entity`` column. A measured entity maps to one item of the MIMIC-III
view (``labevents`` or ``chartevents``); any other entity is a drug (``prescriptions``).

The consistency rule lives in ``CHECKER``, Python source that runs both here (tests, labels
checked against construction) and in the sandbox (the reference solution embeds it with the note),
so the label, the oracle and the prompt's stated rule cannot drift apart:

* a measurement ``<value> <unit> (<YYYY-MM-DD HH:MM>)`` is consistent when the record holds the
  item at that minute with that value (as charted, to the item's decimals);
* a medication ``<dose> <unit> <route>, started <YYYY-MM-DD>`` is consistent when the admission
  has a prescription of that drug with that dose starting that day;
* a medication stated as not given is consistent when the admission has no prescription of it.

Each inconsistent statement counts once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Measured:
    """A lab or vital sign as a note names it, and where the record keeps it."""

    name: str  # as written in the note ("K")
    table: Literal["labevents", "chartevents"]
    itemid: int
    decimals: int  # as charted
    step: float  # typical size of a clinically visible change (value injections)
    low: float  # plausible bounds for an injected value
    high: float


MEASURED: tuple[Measured, ...] = (
    Measured("K", "labevents", 50971, 1, 0.4, 1.5, 8.0),
    Measured("Na", "labevents", 50983, 0, 4, 110, 170),
    Measured("Cl", "labevents", 50902, 0, 4, 75, 130),
    Measured("HCO3", "labevents", 50882, 0, 4, 5, 45),
    Measured("BUN", "labevents", 51006, 0, 6, 1, 200),
    Measured("Cr", "labevents", 50912, 1, 0.4, 0.1, 15),
    Measured("Glucose", "labevents", 50931, 0, 25, 20, 900),
    Measured("Ca", "labevents", 50893, 1, 0.6, 5, 15),
    Measured("Mg", "labevents", 50960, 1, 0.4, 0.5, 5),
    Measured("PO4", "labevents", 50970, 1, 0.7, 0.5, 12),
    Measured("AnGap", "labevents", 50868, 0, 4, 2, 45),
    Measured("Hct", "labevents", 51221, 1, 4, 10, 65),
    Measured("Hgb", "labevents", 51222, 1, 1.5, 3, 22),
    Measured("WBC", "labevents", 51301, 1, 3, 0.2, 80),
    Measured("Plt", "labevents", 51265, 0, 50, 5, 1200),
    Measured("INR", "labevents", 51237, 1, 0.4, 0.5, 10),
    Measured("PTT", "labevents", 51275, 1, 8, 15, 150),
    Measured("Lactate", "labevents", 50813, 1, 1.0, 0.2, 25),
    Measured("ALT", "labevents", 50861, 0, 20, 1, 3000),
    Measured("AST", "labevents", 50878, 0, 20, 1, 3000),
    Measured("Alb", "labevents", 50862, 1, 0.5, 1, 6),
    Measured("HR", "chartevents", 211, 0, 15, 30, 180),
    Measured("RR", "chartevents", 618, 0, 5, 6, 45),
    Measured("SpO2", "chartevents", 646, 0, 4, 75, 100),
    Measured("Temp", "chartevents", 677, 1, 0.9, 34.5, 41.0),
)

BY_NAME: dict[str, Measured] = {m.name: m for m in MEASURED}

#: Python run in the sandbox (and here): ``count_inconsistencies(note, entity, conn, hadm_id)``.
#: The measured-entity table is filled in from ``MEASURED`` so there is one source of truth.
CHECKER_TEMPLATE = '''
import re

MEASURED = {measured!r}
NUMBER = r"(-?\\d+(?:\\.\\d+)?)"
STAMP = r"\\((\\d{{4}}-\\d{{2}}-\\d{{2}} \\d{{2}}:\\d{{2}})\\)"


def entity_lines(note, entity):
    """The note's lines about ``entity``: they start with its name and a colon."""
    head = re.compile(r"^\\s*" + re.escape(entity) + r":", re.IGNORECASE)
    return [line.split(":", 1)[1] for line in note.splitlines() if head.match(line)]


def count_inconsistencies(note, entity, conn, hadm_id):
    """How many of the note's statements about ``entity`` the record contradicts."""
    bad = 0
    for text in entity_lines(note, entity):
        if entity in MEASURED:
            table, itemid, decimals = MEASURED[entity]
            for value, stamp in re.findall(NUMBER + r"[^();]*?" + STAMP, text):
                rows = conn.execute(
                    f"SELECT valuenum FROM {{table}} WHERE hadm_id = ? AND itemid = ? "
                    "AND substr(charttime, 1, 16) = ?",
                    (hadm_id, itemid, stamp),
                ).fetchall()
                if not any(v is not None and round(v, decimals) == round(float(value), decimals) for (v,) in rows):
                    bad += 1
            continue
        doses = conn.execute(
            "SELECT dose_val_rx, substr(startdate, 1, 10) FROM prescriptions "
            "WHERE hadm_id = ? AND lower(drug) = lower(?)",
            (hadm_id, entity),
        ).fetchall()
        started = re.search(NUMBER + r".*started (\\d{{4}}-\\d{{2}}-\\d{{2}})", text)
        if started is None:  # stated as not given
            bad += 1 if doses else 0
            continue
        dose, day = float(started.group(1)), started.group(2)
        if not any(_number(d) == dose and start == day for d, start in doses):
            bad += 1
    return bad


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
'''


def checker_source() -> str:
    """The checker with the measured-entity table filled in."""
    table = {m.name: (m.table, m.itemid, m.decimals) for m in MEASURED}
    return CHECKER_TEMPLATE.format(measured=table)


_NAMESPACE: dict[str, Any] | None = None


def count_inconsistencies(note: str, entity: str, conn: sqlite3.Connection, hadm_id: int) -> int:
    """The checker run here (host side): what the reference solution computes in the sandbox."""
    global _NAMESPACE
    if _NAMESPACE is None:
        namespace: dict[str, Any] = {}
        exec(compile(checker_source(), "<ehrcon-checker>", "exec"), namespace)  # noqa: S102 - our own source
        _NAMESPACE = namespace
    return int(_NAMESPACE["count_inconsistencies"](note, entity, conn, hadm_id))


def format_value(value: float, decimals: int) -> str:
    """A value as charted (the item's decimals)."""
    return f"{value:.{decimals}f}"


def format_dose(dose: float) -> str:
    """A dose as prescriptions write it (no trailing zeros)."""
    text = f"{dose:.3f}".rstrip("0").rstrip(".")
    return text or "0"
