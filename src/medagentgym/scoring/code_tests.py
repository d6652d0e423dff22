"""Grading code answers by hidden tests: the submission's shape, and the verdict on what the
tests observed.

The tests run in the sandbox (``medagentgym.codetests.runner``), which hands back, per case, the
plain-JSON encoding of the value the case's expression produced (``codetests.probe``) or the text
it printed. Everything is judged here, on the harness's side, against expected values that never
enter a sandbox: an agent's object cannot take part in the comparison.

Value comparison (``values_match``): numbers (int or float, never bool) with the case's
``rel_tol``/``abs_tol``; NaN equals NaN; strings, booleans and None exactly; lists item by item
(a tuple is a list); tagged values (``{"ndarray": ...}``, ``{"dataframe": ...}``, sets, dicts,
dates, objects) only against the same tag, then part by part (an array's dtype kinds only need to
agree on numeric versus non-numeric). Printed output is compared with trailing spaces on each line
and trailing blank lines ignored.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from medagentgym.catalog.sample import PLACEHOLDER, CodeTests, TestCase
from medagentgym.scoring.parsing import AnswerParseError

#: Largest code submission (characters): far above any function a task asks for.
MAX_CODE_CHARS = 100_000
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_+-]*[ \t]*\n(?P<body>.*?)\n[ \t]*```\s*$", re.S)
_NUMERIC_KINDS = frozenset("iufb")


class CaseResult(BaseModel):
    """What one hidden test observed in the sandbox (``value`` is encoded JSON or printed text)."""

    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool  # the case ran to the end (no exception, no time limit)
    value: Any = None
    error: str | None = None


class CodeVerdict(BaseModel):
    """The judgement over all cases of a sample."""

    model_config = ConfigDict(frozen=True)

    passed: int
    total: int
    failures: tuple[str, ...]  # "name: why", in case order

    @property
    def correct(self) -> bool:
        return self.passed == self.total


# -- the submission --------------------------------------------------------------------------


def submission_source(submitted: Any) -> str:
    """The code of a function-mode submission: a JSON string (one surrounding Markdown fence is
    removed), or ``{"code": "..."}``. Raises AnswerParseError with the reason otherwise."""
    if isinstance(submitted, dict) and set(submitted) == {"code"}:
        submitted = submitted["code"]
    if not isinstance(submitted, str):
        raise AnswerParseError(
            f"a code answer must be a JSON string holding the function's source, not {type(submitted).__name__}"
        )
    if len(submitted) > MAX_CODE_CHARS:
        raise AnswerParseError(f"code answer longer than {MAX_CODE_CHARS} characters")
    if "\x00" in submitted:
        raise AnswerParseError("code answer contains a NUL character")
    fenced = _FENCE.match(submitted)
    source = fenced.group("body") if fenced else submitted
    source = textwrap.dedent(source.expandtabs(4)).strip("\n")
    if not source.strip():
        raise AnswerParseError("empty code answer")
    return source + "\n"


def _defines(tree: ast.Module, name: str) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
    return False


def splice_submission(submitted: Any, tests: CodeTests) -> str:
    """The module the hidden tests load: the submitted source put in the context at the
    placeholder line, indented like that line (a method goes into its class body).

    Raises AnswerParseError when the submission is not code, does not parse, or does not define
    ``tests.entry`` at its top level.
    """
    source = submission_source(submitted)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AnswerParseError(f"code answer does not parse: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise AnswerParseError(f"code answer does not parse: {type(exc).__name__}") from None
    if tests.entry and not _defines(tree, tests.entry):
        raise AnswerParseError(f"code answer does not define {tests.entry!r} at its top level")
    if not tests.context:
        return source
    lines = tests.context.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == PLACEHOLDER:
            indent = line[: len(line) - len(line.lstrip())]
            body = textwrap.indent(source, indent, lambda _: True).rstrip("\n").splitlines()
            return "\n".join([*lines[:i], *body, *lines[i + 1 :]]) + "\n"
    raise ValueError("a code-tests context must hold the placeholder line")  # a dataset bug


# -- judging ---------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (type(value) in (int, float)) or (isinstance(value, dict) and set(value) == {"float"})


def _as_float(value: Any) -> float:
    return float(value["float"]) if isinstance(value, dict) else float(value)


def values_match(observed: Any, expected: Any, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Whether an observed encoded value equals the expected one (see the module docstring)."""
    if _is_number(expected):
        if not _is_number(observed):
            return False
        a, b = _as_float(observed), _as_float(expected)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
    if expected is None or type(expected) in (bool, str):
        return type(observed) is type(expected) and observed == expected
    if type(expected) is list:
        return (
            type(observed) is list
            and len(observed) == len(expected)
            and all(values_match(o, e, rel_tol, abs_tol) for o, e in zip(observed, expected, strict=True))
        )
    if type(expected) is dict and len(expected) == 1:
        (tag, body), = expected.items()
        if type(observed) is not dict or set(observed) != {tag}:
            return False
        other = observed[tag]
        if tag == "ndarray":
            return _arrays_match(other, body, rel_tol, abs_tol)
        if tag in ("series", "dataframe"):
            return type(other) is dict and set(other) == set(body) and all(
                values_match(other[k], body[k], rel_tol, abs_tol) for k in body
            )
        if tag in ("set", "dict"):
            return values_match(other, body, rel_tol, abs_tol)
        return other == body  # bytes, dates, objects
    return observed == expected


def _arrays_match(observed: Any, expected: Any, rel_tol: float, abs_tol: float) -> bool:
    if type(observed) is not dict or set(observed) != {"dtype", "shape", "data"}:
        return False
    numeric = (observed["dtype"] in _NUMERIC_KINDS, expected["dtype"] in _NUMERIC_KINDS)
    if numeric[0] != numeric[1] or observed["shape"] != expected["shape"]:
        return False
    return values_match(observed["data"], expected["data"], rel_tol, abs_tol)


def _normalize_printed(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).splitlines()).rstrip("\n").strip("\n")


def _describe(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge_case(case: TestCase, result: CaseResult | None) -> str | None:
    """None when the case passed, else why it failed (without the expected value)."""
    if result is None:
        return "not run"
    if not result.ok:
        return result.error or "failed"
    if not case.expr:
        if _normalize_printed(result.value) == _normalize_printed(case.expected):
            return None
        return "printed output differs"
    if values_match(result.value, case.expected, case.rel_tol, case.abs_tol):
        return None
    return f"wrong value (got {_describe(result.value)})"


def judge(tests: CodeTests, results: Sequence[CaseResult] | None) -> CodeVerdict:
    """Match each case with its observation (by position and name) and count the passes."""
    by_name = {r.name: r for r in results or ()}
    failures = []
    for i, case in enumerate(tests.cases):
        result = results[i] if results is not None and i < len(results) and results[i].name == case.name else by_name.get(case.name)
        why = judge_case(case, result)
        if why is not None:
            failures.append(f"{case.name}: {why}")
    return CodeVerdict(passed=len(tests.cases) - len(failures), total=len(tests.cases), failures=tuple(failures))
