"""BioDSBench's ``test_cases`` (Python ``assert`` statements) read as hidden tests, never run.

The original task files end each question with asserts over the variables its reference leaves
(``assert abs(kmf.durations.sum() - 118.5) < 1e-8``). Running them in the agent's session would
let the agent's objects take part in the verdict: a value whose ``__eq__`` always says True, a
shadowed ``abs``, a patched ``pandas`` would pass them. So each assert is *parsed* (``ast``, on
the harness's side; nothing here executes test code) and turned into a :class:`Check`:

- **value** checks: the agent-side sub-expression (``kmf.durations.sum()``) is evaluated in the
  agent's session and encoded there (``codetests.probe``); the harness compares it with the
  same expression's value in the *reference's* session. Forms: ``X <op> F`` and ``F <op> X``
  (any comparison operator), ``abs(X - F) < tol`` (the tolerance is the assert's), ``X.equals(F)``,
  ``np.isclose``/``math.isclose``/``np.allclose(X, F, ...)`` (their tolerances),
  ``np.array_equal(X, F)``, ``not X`` and a bare ``X``; ``a and b`` is split into its parts.
  ``X`` reads the agent's variables, ``F`` does not (a literal or something the test computed
  itself). An inequality against a literal becomes an equality with the reference's value: the
  literal was a bound fitted to the original study, which the user's copy may not match.
- **condition** checks (what cannot be split that way: both sides read the agent's variables,
  ``in``/``is``, ``isinstance``, ``or``, chained comparisons): the whole condition is evaluated
  in the agent's session and must be exactly the ``True`` object (the probe encodes only real
  bools as booleans). Weaker: an agent object can still answer True from its own ``__eq__`` or
  ``__contains__``, or spoof ``__class__`` for ``isinstance``.

Names are resolved as the test file binds them, statement by statement: module aliases the test
imported (and ``pd``/``np``), names the test computed itself from the files ("fixed"), builtins,
and everything else: the agent's variables. In every check the builtins and modules are read
through private aliases imported in the check's setup, so an agent that rebinds ``abs``, ``len``
or ``pd`` in its session changes nothing. A test name derived from the agent's variables by one
plain assignment (``res = pd.Series(results)``) is inlined; anything else the test does to the
agent's variables before asserting (mutating them, reading them in loops) cannot be reproduced
without running test code in the agent's session, so such asserts are dropped and counted.

Tests that call ``__import__``, ``exec``, ``open``, dunder attributes, ``os`` beyond
``os.path``, or import modules outside a small allow-list raise :class:`UnsafeTestsError`: no
analysis check needs them, and the importer skips the row.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

#: Longest ``test_cases`` text read (official ones are under 2,000 characters).
MAX_TEST_CHARS = 50_000
#: Longest source text of one check's expression.
MAX_EXPR_CHARS = 4_000
#: Prefix of every private name a check binds in the agent's session.
PRIVATE = "_medagentgym_t_"
BUILTINS_ALIAS = f"{PRIVATE}builtins"
#: Names the sandbox session defines before any code runs (``pd``, ``np``): modules unless the
#: test binds them otherwise.
SESSION_MODULES = {"pd": "import pandas as {alias}", "np": "import numpy as {alias}", "json": "import json as {alias}"}
#: Top-level modules a test may import.
ALLOWED_MODULES = frozenset(
    {
        "os", "pandas", "numpy", "math", "statistics", "scipy", "lifelines", "statsmodels", "sklearn",
        "matplotlib", "seaborn", "PyComplexHeatmap", "collections", "itertools", "functools", "re",
        "json", "datetime",
    }
)
#: Builtins no analysis test needs and that reach beyond the values (code, files, frames).
FORBIDDEN_NAMES = frozenset(
    {
        "__import__", "exec", "eval", "compile", "open", "globals", "locals", "vars", "getattr",
        "setattr", "delattr", "breakpoint", "input", "exit", "quit", "help", "__build_class__",
        "__builtins__", "__loader__", "__spec__", "memoryview",
    }
)
#: Dunder attributes a test may read (type names); every other dunder is refused.
ALLOWED_DUNDERS = frozenset({"__name__", "__qualname__", "__module__"})
_BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_ISCLOSE_DEFAULTS = {  # (relative, absolute) tolerances of the library calls, and their keywords
    "isclose_numpy": ((1e-5, 1e-8), ("rtol", "atol")),
    "allclose": ((1e-5, 1e-8), ("rtol", "atol")),
    "isclose_math": ((1e-9, 0.0), ("rel_tol", "abs_tol")),
}

CheckKind = Literal["value", "condition"]


class OfficialTestsError(ValueError):
    """The test text cannot be read (not a string, too long, not Python)."""


class UnsafeTestsError(OfficialTestsError):
    """The test text uses something no analysis test needs (the message names it)."""


@dataclass(frozen=True)
class Check:
    """One converted assert.

    ``expr`` (with ``setup``, the private imports it needs) is evaluated in a session: the
    agent's to grade, the reference's to get the expected value. ``rel_tol``/``abs_tol`` None
    means "exact unless the expected value holds floats, then 1e-6 relative".
    """

    kind: CheckKind
    label: str  # the agent-side expression as the test wrote it (value checks), or the condition
    expr: str
    setup: str
    official: str  # the assert as the test wrote it
    variables: tuple[str, ...]
    rel_tol: float | None = None
    abs_tol: float | None = None
    form: str = ""  # which form it was read as ("compare", "abs-difference", "isinstance", ...)


@dataclass
class ConvertedTests:
    """Everything read from one row's ``test_cases``."""

    checks: list[Check] = field(default_factory=list)
    #: The test's statements in order, ``("setup" | "assert", source)``: replayed only in the
    #: reference's session, to count how many official asserts hold on the user's data.
    statements: list[tuple[str, str]] = field(default_factory=list)
    #: Asserts that became no check, by reason.
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def variables(self) -> tuple[str, ...]:
        """The agent's variables the checks read, in order of first use."""
        seen: dict[str, None] = {}
        for check in self.checks:
            for name in check.variables:
                seen.setdefault(name, None)
        return tuple(seen)


class _Drop(Exception):
    """An assert that becomes no check; ``args[0]`` is the reason counted in the report."""


# -- binding environment ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Binding:
    kind: Literal["module", "fixed", "inline", "opaque"]
    import_line: str = ""  # module: how to import it under a private alias ("{alias}" placeholder)
    value: ast.expr | None = None  # inline: the expression the name stands for (already expanded)


def _import_lines(node: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """The names an import statement binds, each with a line importing it under ``{alias}``."""
    out: dict[str, str] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                out[alias.asname] = f"import {alias.name} as {{alias}}"
            else:
                top = alias.name.split(".")[0]
                line = f"import {top} as {{alias}}"
                if alias.name != top:
                    line = f"import {alias.name}\n{line}"
                out[top] = line
    else:
        if node.level or not node.module:
            raise UnsafeTestsError("a relative import")
        for alias in node.names:
            if alias.name == "*":
                raise UnsafeTestsError("a star import")
            out[alias.asname or alias.name] = f"from {node.module} import {alias.name} as {{alias}}"
    return out


def _reference_bindings(reference: ast.Module | None) -> tuple[set[str], dict[str, str]]:
    """(names the reference assigns, names it only imports -> import line) at any block level
    outside function and class bodies: a name both imported and assigned (``import os`` then
    ``os = median``) is a variable."""
    assigned: set[str] = set()
    imported: dict[str, str] = {}
    if reference is None:
        return assigned, imported
    stack: list[ast.AST] = list(reference.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            try:
                imported.update(_import_lines(node))
            except UnsafeTestsError:
                pass
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            assigned.add(node.name)
            continue
        for child in ast.walk(node) if isinstance(node, ast.stmt) else ():
            if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                assigned.add(child.id)
        for name in ("body", "orelse", "finalbody", "handlers"):
            stack.extend(getattr(node, name, ()) or ())
    return assigned, {k: v for k, v in imported.items() if k not in assigned}


# -- safety ----------------------------------------------------------------------------------


def _check_safe(tree: ast.Module) -> None:
    """A first filter (the sandbox is the boundary): refuse what reaches beyond values."""
    os_names = {"os"} | {
        alias.asname for node in ast.walk(tree) if isinstance(node, ast.Import)
        for alias in node.names if alias.name == "os" and alias.asname
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise UnsafeTestsError(f"the tests use {node.id!r}")
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and node.attr not in ALLOWED_DUNDERS:
                raise UnsafeTestsError(f"the tests read the attribute {node.attr!r}")
            if isinstance(node.value, ast.Name) and node.value.id in os_names and node.attr not in ("path", "sep"):
                raise UnsafeTestsError(f"the tests call os.{node.attr}")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in ALLOWED_MODULES:
                    raise UnsafeTestsError(f"the tests import {alias.name!r}")
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] not in ALLOWED_MODULES:
                raise UnsafeTestsError(f"the tests import {module!r}")
            if module == "os" and any(alias.name not in ("path", "sep") for alias in node.names):
                raise UnsafeTestsError("the tests import from os beyond os.path")
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await, ast.Yield, ast.YieldFrom)):
            raise UnsafeTestsError(f"the tests use {type(node).__name__}")


# -- name analysis ---------------------------------------------------------------------------


def _local_names(node: ast.AST) -> set[str]:
    """Names bound inside an expression (comprehension targets, lambda arguments)."""
    local: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.comprehension):
            local |= {n.id for n in ast.walk(child.target) if isinstance(n, ast.Name)}
        elif isinstance(child, ast.Lambda):
            args = child.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    local.add(arg.arg)
    return local


def _loads(node: ast.AST) -> list[str]:
    """Free names an expression reads, in order."""
    local = _local_names(node)
    out: dict[str, None] = {}
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and child.id not in local:
            out.setdefault(child.id, None)
    return list(out)


class _Scope:
    """How each name of the test resolves at the current statement."""

    def __init__(self, reference_assigned: set[str], reference_imports: dict[str, str]) -> None:
        self.env: dict[str, _Binding] = {}
        self.reference_assigned = reference_assigned
        self.reference_imports = reference_imports

    def kind(self, name: str) -> str:
        """module | fixed | inline | opaque | builtin | agent."""
        binding = self.env.get(name)
        if binding is not None:
            return binding.kind
        if name in self.reference_assigned:
            return "agent"
        if name in SESSION_MODULES or name in self.reference_imports:
            return "module"
        if name in _BUILTIN_NAMES:
            return "builtin"
        return "agent"

    def import_line(self, name: str) -> str:
        binding = self.env.get(name)
        if binding is not None and binding.kind == "module":
            return binding.import_line
        if name in SESSION_MODULES:
            return SESSION_MODULES[name]
        return self.reference_imports[name]

    def kinds(self, node: ast.AST) -> dict[str, str]:
        return {name: self.kind(name) for name in _loads(node)}

    def expand(self, node: ast.expr) -> ast.expr:
        """``node`` with every inline name replaced by the expression it stands for."""
        scope = self
        local = _local_names(node)

        class Inline(ast.NodeTransformer):
            def visit_Name(self, name: ast.Name) -> ast.AST:
                binding = scope.env.get(name.id)
                if isinstance(name.ctx, ast.Load) and name.id not in local and binding is not None and binding.kind == "inline":
                    assert binding.value is not None
                    return copy.deepcopy(binding.value)
                return name

        return Inline().visit(copy.deepcopy(node))

    # -- statements of the test that are not asserts

    def bind_statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name, line in _import_lines(stmt).items():
                self.env[name] = _Binding("module", import_line=line)
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print" and self.kind("print") == "builtin":
            return  # printing changes nothing a check reads
        reads = [n for n in _loads(stmt) if self.kind(n) != "builtin"]
        derived = any(self.kind(n) in ("agent", "inline", "opaque") for n in reads)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if not derived:
                self.env[name] = _Binding("fixed")
            elif name not in self.env:
                self.env[name] = _Binding("inline", value=self.expand(stmt.value))
            else:
                self.env[name] = _Binding("opaque")
            return
        # Anything else: every name it binds or may change takes the statement's nature; an
        # agent variable the statement may mutate (``kmf.fit(...)``) is no longer the agent's.
        touched: set[str] = set()
        for child in ast.walk(stmt):
            if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                touched.add(child.id)
            elif isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                touched.add(child.name)
        if derived:
            touched |= {n for n in reads if self.kind(n) in ("agent", "inline")}
            for name in touched:
                self.env[name] = _Binding("opaque")
        else:
            for name in touched:
                self.env[name] = _Binding("fixed")


# -- asserts -> checks -----------------------------------------------------------------------


def _is_agent(scope: _Scope, node: ast.AST) -> bool:
    return any(kind == "agent" for kind in scope.kinds(node).values())


def _literal_number(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal_number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    return None


def _call_name(func: ast.expr) -> str:
    """``np.isclose`` -> "np.isclose", ``abs`` -> "abs" (else "")."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
        return ".".join(reversed(parts))
    return ""


def _abs_difference(scope: _Scope, node: ast.AST) -> tuple[ast.expr, ast.expr] | None:
    """``abs(a - b)`` or ``abs(a + b)`` (also ``np.abs``, ``math.fabs``) -> (a, b)."""
    if not isinstance(node, ast.Call) or len(node.args) != 1 or node.keywords:
        return None
    name = _call_name(node.func)
    head = name.split(".")[0]
    if name == "abs" and scope.kind("abs") != "builtin":
        return None
    if name != "abs" and (name.split(".")[-1] not in ("abs", "fabs", "absolute") or scope.kind(head) != "module"):
        return None
    inner = node.args[0]
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, (ast.Sub, ast.Add)):
        return inner.left, inner.right  # abs(x + c) < tol reads x against -c: the same value check
    return None


class _Converter:
    def __init__(self, scope: _Scope) -> None:
        self.scope = scope

    def convert(self, test: ast.expr, official: str) -> list[Check]:
        node = self.scope.expand(test)
        kinds = self.scope.kinds(node)
        if "opaque" in kinds.values():
            raise _Drop("needs_test_setup")
        if "agent" not in kinds.values():
            raise _Drop("tests_nothing")
        return self._convert(node, official)

    def _convert(self, node: ast.expr, official: str) -> list[Check]:
        scope = self.scope
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            out: list[Check] = []
            for value in node.values:
                if _is_agent(scope, value):
                    out += self._convert(value, official)
            return out
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, op, right = node.left, node.ops[0], node.comparators[0]
            for diff, bound, ops in ((left, right, (ast.Lt, ast.LtE)), (right, left, (ast.Gt, ast.GtE))):
                pair = _abs_difference(scope, diff)
                if pair is not None and not _is_agent(scope, bound):
                    tol = _literal_number(bound)
                    if isinstance(op, ops) and tol is not None and tol >= 0:
                        return [self._value_of_pair(pair, official, "abs-difference", 0.0, tol)]
                    if isinstance(op, ast.Eq) and tol == 0:
                        return [self._value_of_pair(pair, official, "abs-difference", 0.0, 0.0)]
            if isinstance(op, (ast.In, ast.NotIn, ast.Is, ast.IsNot)):
                return [self._condition(node, official, "membership-or-identity")]
            agent_left, agent_right = _is_agent(scope, left), _is_agent(scope, right)
            if agent_left and agent_right:
                return [self._condition(node, official, "two-agent-sides")]
            side = left if agent_left else right
            return [self._value(side, official, "compare")]
        if isinstance(node, ast.Compare):
            return [self._condition(node, official, "chained-compare")]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            if isinstance(node.operand, (ast.Compare, ast.BoolOp)):
                return [self._condition(node, official, "negated-condition")]
            return [self._value(node.operand, official, "truth")]
        if isinstance(node, ast.BoolOp):
            return [self._condition(node, official, "or")]
        if isinstance(node, ast.Call):
            special = self._call(node, official)
            if special is not None:
                return special
        return [self._value(node, official, "truth")]

    def _call(self, node: ast.Call, official: str) -> list[Check] | None:
        scope = self.scope
        name = _call_name(node.func)
        head = name.split(".")[0]
        tail = name.split(".")[-1]
        if name == "isinstance" and scope.kind("isinstance") == "builtin":
            return [self._condition(node, official, "isinstance")]
        if isinstance(node.func, ast.Attribute) and node.func.attr == "equals" and len(node.args) == 1 and not node.keywords:
            return [self._value_of_pair((node.func.value, node.args[0]), official, "equals", None, None)]
        if head and scope.kind(head) == "module" and len(node.args) == 2 and tail in ("isclose", "allclose", "array_equal"):
            pair = (node.args[0], node.args[1])
            if tail == "array_equal":
                return [self._value_of_pair(pair, official, "array_equal", 0.0, 0.0)]
            from_math = "math" in scope.import_line(head).split(" as ")[0].split()  # math.isclose or from math import isclose
            key = "isclose_math" if from_math else ("allclose" if tail == "allclose" else "isclose_numpy")
            (rel, absolute), (rel_kw, abs_kw) = _ISCLOSE_DEFAULTS[key]
            for keyword in node.keywords:
                value = _literal_number(keyword.value)
                if value is None or value < 0:
                    return [self._condition(node, official, "isclose")]
                if keyword.arg == rel_kw:
                    rel = value
                elif keyword.arg == abs_kw:
                    absolute = value
                else:
                    return [self._condition(node, official, "isclose")]
            return [self._value_of_pair(pair, official, tail, rel, absolute)]
        return None

    def _value_of_pair(self, pair: tuple[ast.expr, ast.expr], official: str, form: str, rel: float | None, absolute: float | None) -> Check:
        a, b = pair
        agent_a, agent_b = _is_agent(self.scope, a), _is_agent(self.scope, b)
        if agent_a and agent_b:
            raise _Drop("two_agent_sides_in_tolerance")  # replaced by a condition below
        if not (agent_a or agent_b):
            raise _Drop("tests_nothing")
        return self._value(a if agent_a else b, official, form, rel, absolute)

    def _value(self, node: ast.expr, official: str, form: str, rel: float | None = None, absolute: float | None = None) -> Check:
        return self._check("value", node, official, form, rel, absolute)

    def _condition(self, node: ast.expr, official: str, form: str) -> Check:
        return self._check("condition", node, official, form, None, None)

    def _check(self, kind: CheckKind, node: ast.expr, official: str, form: str, rel: float | None, absolute: float | None) -> Check:
        kinds = self.scope.kinds(node)
        if any(k in ("fixed", "opaque") for k in kinds.values()):
            raise _Drop("needs_test_setup")  # the test's own values do not exist in the agent's session
        if isinstance(node, ast.NamedExpr) or any(isinstance(n, (ast.NamedExpr, ast.Starred)) for n in ast.walk(node)):
            raise _Drop("unsupported_expression")
        expr, setup = self._private(node, kinds)
        label = ast.unparse(node)
        if len(expr) > MAX_EXPR_CHARS:
            raise _Drop("expression_too_long")
        variables = tuple(name for name, k in kinds.items() if k == "agent")
        return Check(kind=kind, label=label, expr=expr, setup=setup, official=official, variables=variables,
                     rel_tol=rel, abs_tol=absolute, form=form)

    def _private(self, node: ast.expr, kinds: dict[str, str]) -> tuple[str, str]:
        """The expression with builtins and modules read through private aliases, and the
        imports that bind those aliases."""
        lines: dict[str, None] = {}
        renamed: dict[str, ast.expr] = {}
        for name, kind in kinds.items():
            if kind == "builtin":
                lines.setdefault(f"import builtins as {BUILTINS_ALIAS}", None)
                renamed[name] = ast.Attribute(value=ast.Name(id=BUILTINS_ALIAS, ctx=ast.Load()), attr=name, ctx=ast.Load())
            elif kind == "module":
                alias = f"{PRIVATE}m_{name}"
                lines.setdefault(self.scope.import_line(name).format(alias=alias), None)
                renamed[name] = ast.Name(id=alias, ctx=ast.Load())
        local = _local_names(node)

        class Rename(ast.NodeTransformer):
            def visit_Name(self, name: ast.Name) -> ast.AST:
                if isinstance(name.ctx, ast.Load) and name.id in renamed and name.id not in local:
                    return copy.deepcopy(renamed[name.id])
                return name

        tree = Rename().visit(copy.deepcopy(node))
        return ast.unparse(ast.fix_missing_locations(tree)), "\n".join(lines)


def _condition_instead(scope: _Scope, test: ast.expr, official: str) -> list[Check]:
    """The whole condition as one check (when a tolerance form had the agent on both sides)."""
    node = scope.expand(test)
    return [_Converter(scope)._condition(node, official, "two-agent-sides")]


def parse_tests(text: object) -> ast.Module:
    """The test text as a module (raises OfficialTestsError / UnsafeTestsError)."""
    if not isinstance(text, str):
        raise OfficialTestsError("test_cases is not a string")
    if len(text) > MAX_TEST_CHARS:
        raise OfficialTestsError(f"test_cases longer than {MAX_TEST_CHARS} characters")
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise OfficialTestsError(f"test_cases is not Python: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise OfficialTestsError(f"test_cases cannot be parsed ({type(exc).__name__})") from None
    _check_safe(tree)
    return tree


def convert_tests(text: object, reference: ast.Module | None = None) -> ConvertedTests:
    """Read a row's ``test_cases`` into checks (see the module docstring).

    ``reference`` (the parsed reference solution) tells which names are the agent's variables
    even when they shadow a builtin or an import (``os = median_os``).
    """
    tree = parse_tests(text)
    assigned, imports = _reference_bindings(reference)
    scope = _Scope(assigned, imports)
    out = ConvertedTests()
    seen: dict[tuple[str, str], int] = {}
    try:
        for stmt in tree.body:
            source = ast.unparse(stmt)
            if isinstance(stmt, ast.Assert):
                out.statements.append(("assert", source))
                try:
                    checks = _Converter(scope).convert(stmt.test, source)
                except _Drop as drop:
                    if drop.args[0] != "two_agent_sides_in_tolerance":
                        out.dropped[drop.args[0]] += 1
                        continue
                    try:
                        checks = _condition_instead(scope, stmt.test, source)
                    except _Drop as again:
                        out.dropped[again.args[0]] += 1
                        continue
                for check in checks:
                    key = (check.kind, check.expr)
                    if key in seen:
                        out.checks[seen[key]] = _tighter(out.checks[seen[key]], check)
                    else:
                        seen[key] = len(out.checks)
                        out.checks.append(check)
                continue
            out.statements.append(("setup", source))
            if any(isinstance(n, ast.Assert) for n in ast.walk(stmt)):
                out.dropped["assert_inside_statement"] += sum(isinstance(n, ast.Assert) for n in ast.walk(stmt))
            scope.bind_statement(stmt)
    except RecursionError:
        raise OfficialTestsError("test_cases nested too deeply") from None
    return out


def _tighter(a: Check, b: Check) -> Check:
    """Two asserts over the same expression: keep the stricter tolerances."""
    def smaller(x: float | None, y: float | None) -> float | None:
        if x is None:
            return y
        return x if y is None else min(x, y)

    return Check(kind=a.kind, label=a.label, expr=a.expr, setup=a.setup, official=f"{a.official}\n{b.official}",
                 variables=a.variables, rel_tol=smaller(a.rel_tol, b.rel_tol), abs_tol=smaller(a.abs_tol, b.abs_tol),
                 form=a.form)
