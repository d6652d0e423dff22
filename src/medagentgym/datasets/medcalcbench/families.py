"""The calculator families beyond ``calculators.py``, and the vocabulary they add.

Each family module holds calculators (pure functions whose source is embedded in reference
solutions, like ``calculators.py``) and, as module constants, what its notes and the official
files need: ``QUANTITIES``, ``FINDINGS``, ``CHOICES`` (fact kinds, with the types of ``facts.py``),
``ENTITY_MAP`` (category slug -> official entity name -> calculator argument) and ``UNIT_TABLE``
(fact kind -> accepted unit -> conversion). Generation and import read the merged vocabulary, so
a family never edits another's tables.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from medagentgym.datasets.medcalcbench import criteria, medications, pregnancy, severity

FAMILY_MODULES: tuple[ModuleType, ...] = (criteria, severity, pregnancy, medications)


def merged(base: dict[str, Any], attribute: str) -> dict[str, Any]:
    """``base`` plus every family's ``attribute`` dict; a kind defined twice is a bug."""
    out = dict(base)
    for module in FAMILY_MODULES:
        extra: dict[str, Any] = getattr(module, attribute, {})
        clash = sorted(out.keys() & extra.keys())
        if clash:
            raise ValueError(f"medcalcbench family {module.__name__} redefines {attribute} {clash}")
        out.update(extra)
    return out
