"""Expected values of hidden tests, computed from a reference solution in this process.

Generators use it: their reference implementations are the project's own code, run on the same
Python and libraries as the sandbox, and encoded by the same ``probe.encode`` the sandbox uses, so
the values the oracle produces there compare equal. Files a case writes go to a temporary
``workdir`` (the session's working directory in the sandbox); the namespace starts like a
session's (``pd``, ``np``, ``json``, ``sqlite3``, ``DATABASES``, ``RESOURCES``).

Official reference code from elsewhere never runs here: importers compute its output in the
sandbox (``runner.run_function_tests``).
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import tempfile
from collections.abc import Sequence
from typing import Any

from medagentgym.catalog.sample import Resource, TestCase
from medagentgym.codetests.probe import encode


class ReferenceSolutionError(RuntimeError):
    """The reference solution failed on one of its own cases (a dataset bug)."""


def session_like_namespace(resources: Sequence[Resource] = (), workdir: str = ".") -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    return {
        "__name__": "__main__",
        "pd": pd,
        "np": np,
        "json": json,
        "sqlite3": sqlite3,
        "DATABASES": {r.name: r.path for r in resources if r.kind == "sqlite"},
        "RESOURCES": {r.name: r.path for r in resources},
        "workdir": workdir,
    }


def compute_expected(
    reference_source: str,
    cases: Sequence[TestCase],
    *,
    prelude: str = "",
    resources: Sequence[Resource] = (),
) -> tuple[TestCase, ...]:
    """The cases with ``expected`` filled in from running ``reference_source`` and each case.

    Raises ReferenceSolutionError naming the case when the reference fails on it.
    """
    done = []
    with tempfile.TemporaryDirectory(prefix="medagentgym-ref-") as workdir:
        namespace = session_like_namespace(resources, workdir)
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            exec(compile(reference_source, "<reference>", "exec"), namespace)
            if prelude.strip():
                exec(compile(prelude, "<prelude>", "exec"), namespace)
        for case in cases:
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    if case.setup.strip():
                        exec(compile(case.setup, f"<case {case.name}>", "exec"), namespace)
                    value = eval(compile(case.expr, f"<case {case.name}>", "eval"), namespace) if case.expr else None
                expected = encode(value) if case.expr else printed.getvalue()
            except Exception as exc:
                raise ReferenceSolutionError(f"reference fails case {case.name!r}: {type(exc).__name__}: {exc}") from exc
            done.append(case.model_copy(update={"expected": expected}))
    return tuple(done)
