"""(being written) medications calculators of MedCalc-Bench; see families.py for the module contract."""

from __future__ import annotations

from typing import Any

QUANTITIES: dict[str, Any] = {}
FINDINGS: dict[str, Any] = {}
CHOICES: dict[str, Any] = {}
ENTITY_MAP: dict[str, dict[str, str]] = {}
UNIT_TABLE: dict[str, dict[str, Any]] = {}
