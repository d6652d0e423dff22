"""Encode a Python value as plain JSON, the same way in the sandbox and in a generator's process.

This module is self-contained (standard library, with numpy and pandas looked up only if the
value's module is already loaded), because its *source* is sent into sandbox sessions, which
cannot import the project. A hidden test's value is encoded where it is computed (the sandbox for
an agent's code, the generator's process for a reference implementation) and compared on the
harness's side (``medagentgym.scoring.code_tests``): no object of the agent's ever reaches the
comparison, so an ``__eq__`` that always says True, a patched ``assert`` or a lying ``__repr__``
change nothing.

Encoding (types are checked exactly, so a subclass of ``float`` is an object, not a number):

- ``None``, ``bool``, ``str`` and finite ``int``/``float`` are themselves; numpy scalars become
  the Python scalar of their kind. A non-finite float is ``{"float": "nan" | "inf" | "-inf"}``.
- ``list`` and ``tuple`` are JSON lists; ``set``/``frozenset`` ``{"set": [...]}`` and ``dict``
  ``{"dict": [[key, value], ...]}``, both sorted by the JSON text of their items.
- ``bytes`` is ``{"bytes": hex}``; ``datetime``/``date`` ``{"datetime"|"date": iso}``.
- numpy arrays ``{"ndarray": {"dtype": kind, "shape": [...], "data": nested lists}}``;
  pandas ``{"series": {"name", "index", "values"}}`` and ``{"dataframe": {"columns", "index",
  "data"}}`` (rows); missing values (NaN, None, NA, NaT) inside them are ``{"float": "nan"}``.
- Anything else is ``{"object": "module.QualName"}``: its type, never its contents.

A value deeper than ``MAX_DEPTH`` or with more than ``MAX_ITEMS`` items raises ``ProbeError``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from typing import Any

MAX_DEPTH = 24
MAX_ITEMS = 250_000


class ProbeError(ValueError):
    """The value cannot be encoded (too deep, too large)."""


class _Budget:
    def __init__(self) -> None:
        self.items = 0

    def spend(self, n: int = 1) -> None:
        self.items += n
        if self.items > MAX_ITEMS:
            raise ProbeError(f"value too large to check (over {MAX_ITEMS} items)")


def _number(value: float) -> Any:
    if math.isnan(value):
        return {"float": "nan"}
    if math.isinf(value):
        return {"float": "inf" if value > 0 else "-inf"}
    return value


def _sorted_items(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT and pandas NA (whose != raises or is NA)
    except Exception:
        return True


def encode(value: Any, *, _depth: int = 0, _budget: _Budget | None = None) -> Any:
    """The plain-JSON form of ``value`` (see the module docstring)."""
    budget = _budget if _budget is not None else _Budget()
    if _depth > MAX_DEPTH:
        raise ProbeError(f"value nested deeper than {MAX_DEPTH} levels")
    budget.spend()
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value
    if kind is float:
        return _number(value)
    if kind is bytes or kind is bytearray:
        return {"bytes": bytes(value).hex()}
    if kind is list or kind is tuple:
        return [encode(v, _depth=_depth + 1, _budget=budget) for v in value]
    if kind is set or kind is frozenset:
        return {"set": _sorted_items([encode(v, _depth=_depth + 1, _budget=budget) for v in value])}
    if kind is dict:
        pairs = [
            [encode(k, _depth=_depth + 1, _budget=budget), encode(v, _depth=_depth + 1, _budget=budget)]
            for k, v in value.items()
        ]
        return {"dict": _sorted_items(pairs)}
    if kind is _dt.datetime:
        return {"datetime": value.isoformat()}
    if kind is _dt.date:
        return {"date": value.isoformat()}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.generic) and kind.__module__ == "numpy":
            if kind is numpy.bool_:
                return bool(value)
            if isinstance(value, numpy.integer):
                return int(value)
            if isinstance(value, numpy.floating):
                return _number(float(value))
            if isinstance(value, numpy.str_):
                return str(value)
            if isinstance(value, numpy.datetime64):
                return {"datetime": str(value)}
        if kind is numpy.ndarray:
            budget.spend(int(value.size))
            return {
                "ndarray": {
                    "dtype": value.dtype.kind,
                    "shape": list(value.shape),
                    "data": _cells(value.tolist(), _depth + 1, budget),
                }
            }
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if kind is pandas.Series:
            budget.spend(2 * len(value))
            return {
                "series": {
                    "name": _cell(value.name, _depth + 1, budget),
                    "index": _cells(list(value.index), _depth + 1, budget),
                    "values": _cells(value.tolist(), _depth + 1, budget),
                }
            }
        if kind is pandas.DataFrame:
            budget.spend(int(value.size) + len(value.index) + len(value.columns))
            return {
                "dataframe": {
                    "columns": _cells(list(value.columns), _depth + 1, budget),
                    "index": _cells(list(value.index), _depth + 1, budget),
                    "data": [_cells(list(row), _depth + 1, budget) for row in value.itertuples(index=False)],
                }
            }
        if kind is pandas.Timestamp:
            return {"datetime": value.isoformat()} if not _is_missing(value) else {"float": "nan"}
    return {"object": f"{kind.__module__}.{kind.__qualname__}"}


def _cell(value: Any, depth: int, budget: _Budget) -> Any:
    """A cell of an array or frame: missing markers of any library read as NaN."""
    if type(value) in (list, tuple):
        return _cells(list(value), depth, budget)
    if value is None or (type(value) is not str and _scalar_missing(value)):
        return {"float": "nan"}
    return encode(value, _depth=depth, _budget=budget)


def _scalar_missing(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return math.isnan(value)
    module = kind.__module__
    if module.startswith(("numpy", "pandas")):
        return _is_missing(value) is True and not hasattr(value, "__len__")
    return False


def _cells(values: list[Any], depth: int, budget: _Budget) -> list[Any]:
    if depth > MAX_DEPTH:
        raise ProbeError(f"value nested deeper than {MAX_DEPTH} levels")
    return [_cell(v, depth + 1, budget) for v in values]


def encode_json(value: Any) -> str:
    """``encode`` as compact ASCII JSON text (what a sandbox step hands back)."""
    return json.dumps(encode(value), ensure_ascii=True, separators=(",", ":"), allow_nan=False)
