"""Reference solutions: the ground-truth method's own source, called with the question's numbers.

The sandbox has numpy, scipy, statsmodels and lifelines (the same virtual environment), so the
solution runs the very functions that made the target (``methods.py``) and reproduces it exactly.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

from medagentgym.datasets.npowerai import methods


@cache
def _source(name: str) -> str:
    functions = (*methods.HELPERS[name], methods.METHODS[name])
    return "\n\n".join(inspect.getsource(function).rstrip() for function in functions)


def _literal(value: Any) -> str:
    """A Python literal for a question's number, list or string (repr round-trips floats)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return repr(value)


def render_call(method: str, args: dict[str, Any]) -> str:
    arguments = ",\n    ".join(f"{name}={_literal(value)}" for name, value in args.items())
    return f"answer = {method}(\n    {arguments},\n)\n"


def render_solution(method: str, args: dict[str, Any]) -> str:
    """Self-contained code that leaves the answer in ``answer``."""
    if method not in methods.METHODS:
        raise KeyError(f"unknown npowerai method {method!r}")
    return (
        "from __future__ import annotations\n\n"
        f"{_source(method)}\n\n\n"
        "# The question's numbers:\n"
        f"{render_call(method, args)}"
    )
