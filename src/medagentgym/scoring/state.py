"""Grading a write task from the resources an episode created (``Target.state``).

The writes come from the episode's record store after the episode (the env reads them; this
module never imports the env, the store or a dataset): plain JSON objects, each a FHIR resource.
They are agent-made, so they are treated as hostile input: at most ``MAX_WRITES`` are looked at,
anything that is not an object with a ``resourceType`` is an unreadable write (extra), and
every check reads values by a fixed path with bounded fan-out.

Each expected write must be matched by a *different* created resource that passes all its
checks (a maximum bipartite matching, so the order of creates does not matter); with
``forbid_other_writes``, every created resource left unmatched is an extra. The explanation
lists what is missing (with the checks the closest candidate failed) and what is extra.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medagentgym.catalog.sample import ExpectedWrite, FieldCheck, StateTarget

#: Created resources looked at; an episode that created more is wrong with that reason.
MAX_WRITES = 500
#: Values one path may fan out to (arrays flattened at each step).
MAX_VALUES_PER_PATH = 1_000
_SHORT = 60


@dataclass(frozen=True)
class StateVerdict:
    correct: bool
    explanation: str
    matched: int
    missing: int
    extra: int


def _values(resource: Any, path: str) -> list[Any]:
    """The values at ``path``; ``a.b|c.d`` pools the values of alternative paths."""
    if "|" in path:
        pooled: list[Any] = []
        for alternative in path.split("|"):
            pooled += _values(resource, alternative)
        return pooled[:MAX_VALUES_PER_PATH]
    current: list[Any] = [resource]
    for step in path.split("."):
        following: list[Any] = []
        for item in current:
            if isinstance(item, dict) and step in item:
                value = item[step]
                following.extend(value if isinstance(value, list) else [value])
                if len(following) > MAX_VALUES_PER_PATH:
                    return following[:MAX_VALUES_PER_PATH]
        current = following
    return current


def _text(value: Any) -> str | None:
    return " ".join(value.casefold().split()) if isinstance(value, str) else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _passes(check: FieldCheck, value: Any) -> bool:
    if check.op == "equals":
        return type(value) is type(check.value) and value == check.value
    if check.op == "text":
        got, want = _text(value), _text(check.value)
        return got is not None and got == want
    if check.op == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return math.isfinite(value) and abs(float(value) - float(check.value)) <= check.tolerance + 1e-9
    if check.op == "instant":
        got, want = _instant(value), _instant(check.value)
        return got is not None and want is not None and abs((got - want).total_seconds()) <= check.tolerance
    if check.op == "reference":
        return isinstance(value, str) and (value == check.value or value.endswith("/" + str(check.value)))
    if check.op == "coding":
        wanted = check.value if isinstance(check.value, dict) else {}
        return (
            isinstance(value, dict)
            and value.get("system") == wanted.get("system")
            and value.get("code") == wanted.get("code")
        )
    return False  # pragma: no cover - the Literal type lists every op


def check_passes(check: FieldCheck, resource: Any) -> bool:
    """Whether one created resource passes one check (see ``FieldCheck``)."""
    values = _values(resource, check.path)
    if not values:
        return False
    if check.match == "any":
        return any(_passes(check, v) for v in values)
    return all(_passes(check, v) for v in values)


def _failed(expected: ExpectedWrite, resource: Any) -> list[FieldCheck]:
    return [c for c in expected.checks if not check_passes(c, resource)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def _describe_failure(check: FieldCheck, resource: Any) -> str:
    found = _values(resource, check.path)[:2]
    label = check.label or check.path
    if check.op == "coding" and isinstance(check.value, dict):
        want = _short(f"{check.value.get('system')}|{check.value.get('code')}")
    else:
        want = _short(check.value)
    got = ", ".join(_short(v) for v in found) if found else "nothing"
    return f"{label} expected {want}, found {got}"


def _name(resource: Any) -> str:
    if isinstance(resource, dict):
        return f"{str(resource.get('resourceType'))[:40]}/{str(resource.get('id', '?'))[:40]}"
    return "an unreadable write"


def _match(expected: Sequence[ExpectedWrite], writes: Sequence[Any]) -> dict[int, int]:
    """expected index -> write index: a maximum matching of writes that pass every check."""
    fits = [
        [j for j, w in enumerate(writes) if isinstance(w, dict) and w.get("resourceType") == e.resource_type
         and not _failed(e, w)]
        for e in expected
    ]
    owner: dict[int, int] = {}  # write index -> expected index

    def assign(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or assign(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        assign(i, set())
    return {i: j for j, i in owner.items()}


def check_state(state: StateTarget, writes: Sequence[Any] | None) -> StateVerdict:
    """Grade the created resources ``writes`` against ``state``."""
    writes = list(writes or ())
    if len(writes) > MAX_WRITES:
        return StateVerdict(False, f"{len(writes)} resources were created (more than {MAX_WRITES})", 0,
                            len(state.creates), len(writes))
    matching = _match(state.creates, writes)
    used = set(matching.values())
    parts: list[str] = []
    missing = 0
    for i, expected in enumerate(state.creates):
        if i in matching:
            parts.append(f"created {expected.description} ({_name(writes[matching[i]])})")
            continue
        missing += 1
        candidates = [
            (len(_failed(expected, w)), j) for j, w in enumerate(writes)
            if j not in used and isinstance(w, dict) and w.get("resourceType") == expected.resource_type
        ]
        if candidates:
            _, j = min(candidates)
            reasons = "; ".join(_describe_failure(c, writes[j]) for c in _failed(expected, writes[j])[:4])
            parts.append(f"missing {expected.description}: closest is {_name(writes[j])}: {reasons}")
        else:
            parts.append(f"missing {expected.description}: no {expected.resource_type} was created")
    extras = [j for j in range(len(writes)) if j not in used]
    extra = len(extras) if state.forbid_other_writes else 0
    if extra:
        names = ", ".join(_name(writes[j]) for j in extras[:5]) + (" ..." if len(extras) > 5 else "")
        parts.append(f"extra write{'s' if extra > 1 else ''} not asked for: {names}")
    if not state.creates and not extra:
        parts.append("no write, as expected")
    correct = missing == 0 and extra == 0
    return StateVerdict(correct, "; ".join(parts), len(matching), missing, extra)
