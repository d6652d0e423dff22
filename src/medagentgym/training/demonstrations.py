"""Demonstrations worth training on: a policy that solves tasks the way a good agent would.

The oracle proves that a target is reachable by running the whole reference solution; a small model
tuned on those episodes learns to copy long calculator sources and never sees an error being
fixed. ``DemonstrationPolicy`` plays the same samples with what a model should imitate:

* inspect once (``list_tables`` for a database, ``list_files`` otherwise);
* a reference solution that runs one constant SQL query becomes an ``execute_sql`` action; the
  rows shown in the observation give the answer when that reading scores right on the target,
  otherwise a short Python step post-processes them;
* any other Python solution is compacted (``compact_code``: no docstrings, comments, unused
  imports or annotations, one-expression helpers inlined at their module-level calls) and ends
  with ``print(answer)``; the printed line is what gets submitted;
* with ``recovery`` > 0 an episode, chosen by a seed drawn from (sample id, episode seed), starts
  with a realistic mistake (a missing import, a mistyped variable, a wrong database key, a wrong
  column or table); the env's real error comes back and the next turn sends the correct action.

Samples it cannot shorten (``actions`` solutions over a FHIR store, prediction files, code
answers graded by hidden tests) are played exactly as the oracle plays them, and whenever a
correct step fails unexpectedly the oracle's probe of the full reference solution takes over, so
the policy succeeds wherever the oracle does. Every submitted value was printed by an earlier
step of the episode: nothing the env did not show is ever revealed.
"""

from __future__ import annotations

import ast
import copy
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from medagentgym.catalog.sample import AnswerType, Question, Sample, Target
from medagentgym.catalog.splits import stable_hash
from medagentgym.policies.base import PolicyReply
from medagentgym.policies.oracle import (
    OraclePolicy,
    _answer_from_observation,
    _answer_probe,
)
from medagentgym.runs.schema import PolicyInfo

__all__ = [
    "DemonstrationPolicy",
    "compact_code",
    "single_query",
]

#: Answer types a printed line or a table cell can carry (code answers and files cannot).
_LIST_TYPES = (AnswerType.STRING_SET, AnswerType.ORDERED_LIST)
_SHORTENABLE = tuple(t for t in AnswerType if t not in (AnswerType.CODE_TESTS, AnswerType.PREDICTIONS))
#: Rows ``execute_sql`` shows before it cuts a listing (``SandboxSession.run_sql``'s default).
_SHOWN_ROWS = 50


# -- compacting reference code ---------------------------------------------------------------


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:] or [ast.Pass()]
    return body


def _one_expression(node: ast.stmt) -> ast.expr | None:
    """The returned expression of a plain ``def f(a, b): return expr`` (no defaults, decorators,
    *args or nested scopes in the expression), else None: only those are safe to inline."""
    if not isinstance(node, ast.FunctionDef) or node.decorator_list or len(node.body) != 1:
        return None
    args = node.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.defaults or args.posonlyargs:
        return None
    statement = node.body[0]
    if not isinstance(statement, ast.Return) or statement.value is None:
        return None
    scoped = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)
    if any(isinstance(n, scoped) for n in ast.walk(statement.value)):
        return None
    return statement.value


class _Inliner(ast.NodeTransformer):
    """Replaces calls of one-expression helpers by their expression, arguments substituted.

    Only module-level statements are visited (a helper's body could be shadowed inside another
    function), and only arguments that are names or constants are substituted, so nothing is
    evaluated twice or out of order."""

    def __init__(self, helpers: dict[str, tuple[list[str], ast.expr]]) -> None:
        self.helpers = helpers

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Name) or node.func.id not in self.helpers:
            return node
        params, expression = self.helpers[node.func.id]
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return node
        bound: dict[str, ast.expr] = dict(zip(params, node.args, strict=False))
        bound.update({k.arg: k.value for k in node.keywords if k.arg is not None})
        if set(bound) != set(params) or len(node.args) > len(params):
            return node
        if not all(isinstance(v, (ast.Name, ast.Constant)) for v in bound.values()):
            return node

        class _Substitute(ast.NodeTransformer):
            def visit_Name(self, name: ast.Name) -> ast.AST:
                return copy.deepcopy(bound[name.id]) if name.id in bound else name

        return _Substitute().visit(copy.deepcopy(expression))


def _names_used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def compact_code(code: str) -> str:
    """The same program, shorter: docstrings, comments, function annotations and unused imports
    dropped, one-expression helpers inlined where module-level code calls them (and dropped once
    unused). A ``SyntaxError`` propagates: the caller then keeps the reference as it is."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            node.body = _strip_docstring(node.body)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg):
                if arg is not None:
                    arg.annotation = None
    helpers: dict[str, tuple[list[str], ast.expr]] = {}
    for statement in tree.body:
        expression = _one_expression(statement)
        if expression is not None:
            assert isinstance(statement, ast.FunctionDef)
            helpers[statement.name] = ([a.arg for a in statement.args.args], expression)
    if helpers:
        inliner = _Inliner(helpers)
        tree.body = [inliner.visit(s) for s in tree.body]
    used = _names_used(tree)
    kept: list[ast.stmt] = []
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name in helpers and statement.name not in used:
            continue
        if isinstance(statement, ast.Import):
            statement.names = [a for a in statement.names if (a.asname or a.name.split(".")[0]) in used]
            if not statement.names:
                continue
        if isinstance(statement, ast.ImportFrom) and statement.module != "__future__":
            statement.names = [a for a in statement.names if a.name == "*" or (a.asname or a.name) in used]
            if not statement.names:
                continue
        kept.append(statement)
    tree.body = kept
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def single_query(code: str) -> tuple[str, str | None] | None:
    """(query, database key) when ``code`` runs exactly one constant SQL string through an
    ``.execute(...)`` call (the shape of the EHR datasets' references), else None."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    calls = [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("execute", "read_sql", "read_sql_query")
    ]
    if len(calls) != 1 or not calls[0].args:
        return None
    query = calls[0].args[0]
    if not isinstance(query, ast.Constant) or not isinstance(query.value, str) or not query.value.strip():
        return None
    keys = {
        n.slice.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == "DATABASES"
        and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)
    }
    return query.value, (next(iter(keys)) if len(keys) == 1 else None)


# -- reading observations ----------------------------------------------------------------------

_SECTION = re.compile(r"^(stdout|stderr|error):$|^Out: ", re.MULTILINE)


def _stdout_lines(observation: str) -> list[str]:
    """The lines of the ``stdout:`` section of an execution observation (``render_execution``)."""
    match = re.search(r"^stdout:\n", observation, re.MULTILINE)
    if match is None:
        return []
    rest = observation[match.end():]
    end = _SECTION.search(rest)
    return (rest[: end.start()] if end else rest).rstrip("\n").splitlines()


def _failed(observation: str) -> bool:
    """Whether an execution observation reports a failure (its status head, or an env error)."""
    head = observation.lstrip().split("\n", 1)[0]
    return head.startswith("Error:") or not head.startswith("[ok;")


def _table_column(observation: str) -> list[str] | None:
    """The first column of the table ``execute_sql`` printed, or None when the listing was cut
    or has no single column (a cell holding " | " could not be told apart)."""
    lines = _stdout_lines(observation)
    if len(lines) < 3 or not lines[-1].startswith("(") or "showing first" in lines[-1]:
        return None
    header, rule, *rows, _footer = lines
    if " | " in header or "-+-" in rule:
        return None
    return [row.rstrip() for row in rows]


def _typed(text: str, answer_type: AnswerType) -> Any:
    """A printed cell or line as the answer it spells (a number stays text when it is not one)."""
    if answer_type in (AnswerType.INTEGER, AnswerType.NUMBER):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
    if answer_type is AnswerType.BOOLEAN and text.lower() in ("true", "false", "1", "0"):
        return text.lower() in ("true", "1")
    if answer_type in _LIST_TYPES or answer_type is AnswerType.WEEKS_DAYS:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        return list(value) if isinstance(value, (list, tuple, set)) else value
    return text


def _answer_from_rows(cells: list[str] | None, answer_type: AnswerType) -> Any:
    if cells is None:
        return None
    if answer_type in _LIST_TYPES:
        return list(dict.fromkeys(cells))
    return _typed(cells[0], answer_type) if len(cells) == 1 else None


def _correct(answer: Any, target: Target) -> bool:
    from medagentgym.scoring import score_answer

    if answer is None:
        return False
    try:
        return score_answer(answer, target).correct
    except (ValueError, TypeError, ArithmeticError, RecursionError):  # unparseable: simply not right
        return False


# -- realistic mistakes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    """A first attempt that should fail, and the one-line note of its fix."""

    action: dict[str, Any]
    note: str


def _typo(name: str, taken: set[str]) -> str | None:
    """A plausible misspelling of ``name`` that names nothing in the program."""
    candidates = [name[:i] + name[i + 1] + name[i] + name[i + 2:] for i in range(1, len(name) - 2) if name[i] != name[i + 1]]
    candidates += [name + "s", name.rstrip("_") + "_val"]
    return next((c for c in candidates if c not in taken and c.isidentifier()), None)


def python_mistakes(code: str, rng: random.Random) -> list[Mistake]:
    """Mistakes that make compacted ``code`` raise: a used import dropped (NameError), a
    variable misspelt where module-level code reads it (NameError), a wrong ``DATABASES`` key
    (KeyError). The code's own correct form is the fix."""
    tree = ast.parse(code)
    mistakes: list[Mistake] = []
    lines = code.splitlines()
    used = _names_used(tree)
    from medagentgym.sandbox.server import SEEDED

    preloaded = set(SEEDED)  # names every session starts with: dropping their import is harmless
    for statement in tree.body:
        if isinstance(statement, ast.Import) and len(statement.names) == 1:
            name = statement.names[0].asname or statement.names[0].name.split(".")[0]
            if name in used and name not in preloaded and statement.lineno == statement.end_lineno:
                dropped = "\n".join(lines[: statement.lineno - 1] + lines[statement.lineno :]) + "\n"
                mistakes.append(Mistake({"action": "execute_python", "code": dropped}, f"{name} was not imported."))
    assigned: dict[str, int] = {}
    reads: list[ast.Name] = []
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            continue
        reads += [
            n for n in ast.walk(statement)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in assigned
        ]
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, statement.lineno)
    taken = used | {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    if reads:
        read = rng.choice(reads)
        wrong = _typo(read.id, taken | set(dir(__builtins__)))
        if wrong is not None:
            original = read.id
            read.id = wrong
            mistakes.append(
                Mistake({"action": "execute_python", "code": ast.unparse(tree) + "\n"}, f"The variable is {original}, not {wrong}.")
            )
            read.id = original
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "DATABASES"
            and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)
        ):
            key = node.slice.value
            node.slice.value = key.split("_")[0] if "_" in key else key + "_db"
            mistakes.append(
                Mistake({"action": "execute_python", "code": ast.unparse(tree) + "\n"}, f"The database is {key!r}.")
            )
            node.slice.value = key
            break
    return mistakes


_FROM = re.compile(r"\b(?:from|join)\s+([A-Za-z_]\w*)", re.IGNORECASE)
_QUALIFIED = re.compile(r"\b([A-Za-z_]\w*)\.'?([A-Za-z_]\w*)'?")


def sql_mistakes(query: str, database: str | None) -> list[Mistake]:
    """Mistakes that make ``query`` fail in SQLite: a column name misremembered ("no such
    column") or a table name in the wrong number ("no such table")."""
    tables = sorted({m.group(1) for m in _FROM.finditer(query)})
    mistakes: list[Mistake] = []

    def action(text: str) -> dict[str, Any]:
        return {"action": "execute_sql", "query": text, **({"database": database} if database else {})}

    for match in _QUALIFIED.finditer(query):
        table, column = match.groups()
        if table not in tables:
            continue
        wrong = column.replace("_", "") if "_" in column else column + "_name"
        bad = query[: match.start(2)] + wrong + query[match.end(2):]
        mistakes.append(Mistake(action(bad), f"The column is {column}, not {wrong}."))
        break
    if tables:
        table = tables[0]
        wrong = table[:-1] if table.endswith("s") else table + "s"
        bad = re.sub(rf"\b{re.escape(table)}\b", wrong, query)
        if bad != query:
            mistakes.append(Mistake(action(bad), f"The table is {table}, not {wrong}."))
    return mistakes


# -- the policy --------------------------------------------------------------------------------


@dataclass
class _QuestionPlan:
    """How one question is solved: an SQL query, else compacted Python, else the oracle's probe."""

    question: Question
    query: str | None
    database: str | None
    code: str | None


def _plan_question(question: Question) -> _QuestionPlan:
    target = question.target
    if target.answer_type not in _SHORTENABLE or target.tests is not None or target.predictions is not None:
        return _QuestionPlan(question, None, None, None)
    try:
        code = compact_code(question.solution.code)
    except (SyntaxError, ValueError, RecursionError):
        return _QuestionPlan(question, None, None, None)
    if not code.rstrip().endswith("print(answer)"):
        code = code.rstrip() + "\nprint(answer)\n"
    found = single_query(question.solution.code)
    query, database = found if found is not None else (None, None)
    return _QuestionPlan(question, query, database, code)


def _parse_recovery(value: Any) -> float:
    try:
        recovery = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"recovery must be a number from 0 to 1, not {value!r}") from None
    if not 0.0 <= recovery <= 1.0:
        raise ValueError(f"recovery must be a number from 0 to 1, not {value!r}")
    return recovery


class DemonstrationPolicy(OraclePolicy):
    """Inspect, short code or one query, read the output, submit what was printed; optionally a
    first attempt with a real error and its fix. Falls back to the oracle where it cannot shorten."""

    name = "demonstration"

    def __init__(self, *, action_format: str = "json", recovery: float | str = 0.0) -> None:
        if action_format not in ("json", "tools"):
            raise ValueError(f"action_format must be 'json' or 'tools', not {action_format!r}")
        super().__init__(action_format=action_format)
        self.recovery = _parse_recovery(recovery)
        self.info = PolicyInfo(
            name=self.name, action_format=action_format, sampling={"recovery": self.recovery}  # type: ignore[arg-type]
        )
        self._queue: list[dict[str, Any]] = []
        self._question = 0
        self._stage = "inspect"
        self._mistake: Mistake | None = None
        self._rng = random.Random(0)
        self._plans: list[_QuestionPlan] = []
        self._fallback = False
        self._note: str | None = None
        self._pending_note: str | None = None

    @classmethod
    def from_options(cls, *, action_format: str = "json", recovery: float | str = 0.0) -> DemonstrationPolicy:  # type: ignore[override]
        return cls(action_format=action_format, recovery=recovery)

    def start_episode(self, sample: Sample, *, seed: int = 0) -> DemonstrationPolicy:
        episode = type(self)(action_format=self.action_format, recovery=self.recovery)
        episode._sample = sample
        episode._rng = random.Random(stable_hash("demonstration", sample.id, seed))
        recover = episode._rng.random() < self.recovery
        if sample.solution.language != "python":
            episode._fallback = True
            return episode
        episode._plans = [_plan_question(q) for q in sample.questions]
        if all(p.code is None for p in episode._plans):
            episode._fallback = True
        elif recover:
            episode._mistake = episode._first_mistake(episode._plans[0])
        return episode

    def _first_mistake(self, plan: _QuestionPlan) -> Mistake | None:
        if plan.code is None:
            return None
        if plan.query is not None:
            mistakes = sql_mistakes(plan.query, plan.database)
        else:
            try:
                mistakes = python_mistakes(plan.code, self._rng)
            except SyntaxError:
                mistakes = []
        return self._rng.choice(mistakes) if mistakes else None

    # -- the plan, one turn at a time ----------------------------------------------------------

    def _run_step(self, plan: _QuestionPlan) -> dict[str, Any]:
        if plan.query is not None:
            self._stage = "read_rows"
            return {"action": "execute_sql", "query": plan.query, **({"database": plan.database} if plan.database else {})}
        if plan.code is not None:
            self._stage = "read_print"
            return {"action": "execute_python", "code": plan.code}
        return self._probe_step(plan)

    def _probe_step(self, plan: _QuestionPlan) -> dict[str, Any]:
        self._stage = "read_probe"
        index = self._question
        code = self.transform_code(plan.question.solution.code, self._sample, index)  # type: ignore[arg-type]
        return {"action": "execute_python", "code": _answer_probe(code)}

    def _submit(self, answer: Any) -> dict[str, Any]:
        plan = self._plans[self._question]
        target = plan.question.target
        if target.tests is not None and target.tests.mode == "function":
            answer = self.transform_source(answer, self._sample, self._question)  # type: ignore[arg-type]
        else:
            answer = self.transform_answer(answer, self._sample, target.answer_type)  # type: ignore[arg-type]
        self._question = min(self._question + 1, len(self._plans) - 1)
        self._stage = "run"
        return {"action": "submit", "answer": answer}

    def _plan(self, turn: int, last_observation: str) -> dict[str, Any]:
        assert self._sample is not None, "start_episode() first"
        if self._fallback:
            return super()._plan(turn, last_observation)
        self._note = None
        if self._stage == "inspect":
            self._stage = "run"
            has_db = any(r.kind == "sqlite" for r in self._sample.resources)
            return {"action": "list_tables"} if has_db else {"action": "list_files"}
        plan = self._plans[self._question]
        target = plan.question.target
        if self._stage == "run":
            if self._mistake is not None:
                mistake, self._mistake = self._mistake, None
                self._stage = "fix"
                self._pending_note = mistake.note
                return dict(mistake.action)
            return self._run_step(plan)
        if self._stage == "fix":  # the mistaken attempt's error is in front of us, or it passed
            if _failed(last_observation):
                self._note = self._pending_note
                return self._run_step(plan)
            # the mistake did no harm: its output is read like the correct step's
            self._stage = "read_rows" if plan.query is not None else "read_print"
        if _failed(last_observation):  # a correct step failed: the full reference takes over
            if self._stage == "read_probe":
                return self._submit(None)
            return self._probe_step(plan)
        if self._stage == "read_rows":
            answer = _answer_from_rows(_table_column(last_observation), target.answer_type)
            if _correct(answer, target):
                return self._submit(answer)
            self._stage = "read_print"  # the rows need the reference's post-processing
            return {"action": "execute_python", "code": plan.code}
        if self._stage == "read_print":
            lines = _stdout_lines(last_observation)
            answer = _typed(lines[-1], target.answer_type) if lines else None
            if _correct(answer, target):
                return self._submit(answer)
            self._stage = "read_json"  # the printed form is ambiguous (a set, a quoted string)
            return {"action": "execute_python", "code": "print(json.dumps(answer, default=str))"}
        if self._stage == "read_json":
            lines = _stdout_lines(last_observation)
            try:
                answer = json.loads(lines[-1]) if lines else None
            except ValueError:
                answer = None
            if _correct(answer, target):
                return self._submit(answer)
            return self._probe_step(plan)
        return self._submit(_answer_from_observation(last_observation))  # read_probe

    # -- replies -------------------------------------------------------------------------------

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> PolicyReply:
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        last = str((messages[-1].get("content") or "") if messages else "")
        action = self._plan(turn, last)
        if self.action_format == "json":
            return PolicyReply(content=json.dumps(action))
        name = action.pop("action")
        call_id = f"call_{stable_hash('demonstration-call', self._sample.id if self._sample else '', turn) % 16**12:012x}"
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(action)}}
        return PolicyReply(content=self._note, tool_calls=[call])
