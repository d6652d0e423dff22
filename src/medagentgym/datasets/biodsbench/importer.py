"""Importer for the original BioDSBench task files, graded by their own test cases.

Each official row holds a question (``queries``), the study files it reads (``dataframes``:
``/workdir/<name>.csv`` with schemas and heads), a reference solution (``reference_answer``) and
asserts over the variables the reference leaves (``test_cases``). The original never runs those
asserts (its reward is "the code exited with 0"); here they are the grade, read without ever
being run in the agent's session (``official_tests``).

The study files are on no registry: the user passes a folder (``data``) holding one subfolder
per study id (``DATA/12345678/data_clinical_patient.csv``). Per row:

1. host side, no code run: the row's fields are checked, its study folder's data files are
   copied into the cache (content-addressed, so every sandbox level can mount them and nothing
   else of the user's folder is visible), ``/workdir`` in the reference and the tests is
   rewritten to that copy, and the asserts become checks;
2. sandbox side: the reference runs in a fresh session over the copy (``SandboxServer``), then
   every check's expression is evaluated there (``run_namespace_tests``): those values are the
   expected values. A second run on a *second* sandbox server (another hash seed, so set and
   dict orders differ) must give the same values, or the row is nondeterministic;
3. the official asserts (and the test's own statements) are replayed in the first reference
   session only, to count how many hold on this data (a conformance number: on the original
   study files they all should; on a synthetic study the literals differ);
4. a sample is written: namespace-mode hidden tests over the variables the checks read, the
   rewritten reference as the oracle's solution, a prompt with the question, the files (read
   from the copy) and the variables to leave. Never the asserts or the reference.

Rows that cannot become samples are skipped with a reason counted in the report (missing study
folder or files, unsafe or unreadable tests, reference failing, timing out, leaving no value for
a check or failing a condition, nondeterministic values).
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import tempfile
import textwrap
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import ImportReport, split_named_by
from medagentgym.catalog.sample import (
    AnswerType,
    CodeTests,
    Resource,
    Sample,
    Solution,
    Split,
    Target,
    TestCase,
)
from medagentgym.datasets.biodsbench import ROW_SHAPE
from medagentgym.datasets.biodsbench.official_tests import (
    MAX_TEST_CHARS,
    Check,
    ConvertedTests,
    OfficialTestsError,
    UnsafeTestsError,
    convert_tests,
)
from medagentgym.paths import cache_dir
from medagentgym.untrusted import clean_text, iter_jsonl, model_json, write_lines_atomic

DATASET_NAME = "biodsbench"
#: The folder the original tasks read their files from.
WORKDIR = "/workdir"
#: Category of rows that none of the keyword rules (``CATEGORY_RULES``) places.
OFFICIAL_CATEGORY = "official"
#: Fields of an official row this importer reads.
REQUIRED_FIELDS = ROW_SHAPE.fields
#: Suffixes of the study files copied from the user's folder.
DATA_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
#: Largest study folder copied (bytes, all its data files together).
MAX_STUDY_BYTES = 4 * 1024**3
#: Longest reference solution read (official ones are under 3,000 characters).
MAX_REFERENCE_CHARS = 100_000
#: Default time limit of a reference run: an episode step's default limit (``EnvConfig``), so the
#: oracle, which runs the reference as one step, finishes within it.
DEFAULT_TIME_LIMIT_S = 30.0
#: Put before every reference: the original harness's sessions had ``os`` imported, and official
#: references call ``os.path.join`` without importing it.
REFERENCE_PRELUDE = "import os\n"
#: Relative tolerance of a check on a float value when the assert states none.
FLOAT_REL_TOL = 1e-6
FLOAT_ABS_TOL = 1e-9

NO_DATA = (
    "biodsbench rows read the original study files, which no registry distributes: pass --data DIR, "
    "a folder with one subfolder of data files per study id (DIR/<study_ids>/data_clinical_patient.csv, ...)"
)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SAFE_STUDY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LISTED_FILE = re.compile(r"/workdir/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})")
_MESSAGES_SHOWN = 200

#: Keyword rules placing an official question in a category: the first rule with a pattern found
#: in the lower-cased question wins; none: ``OFFICIAL_CATEGORY``. A rule whose category is not in
#: the dataset's table (``categories.toml``) is passed over.
CATEGORY_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("oncoprint-matrix", (r"oncoprint",)),
    ("cox-hazard-ratio", (r"hazard ratio", r"\bcox\b", r"univariate (survival )?analysis", r"\bhr\b")),
    ("logrank-test", (r"log-?rank", r"p-?value.*surviv", r"surviv.*p-?value")),
    ("median-survival", (r"median (overall |progression-free |recurrence-free )?surviv", r"median (os|pfs)\b")),
    ("kaplan-meier", (r"surviv\w* curve", r"kaplan", r"\bkm curve", r"kaplanmeierfitter", r"free from progression")),
    ("tmb-comparison", (r"mutational burden", r"mutation burden", r"\btmb\b")),
    ("fusion-partners", (r"fusion", r"structural variant")),
    ("copy-number-frequency", (r"amplification", r"deep deletion", r"copy[- ]number", r"\bcna\b")),
    ("co-occurrence", (r"fisher", r"co-?occurr", r"mutual(ly)? exclusiv")),
    ("top-mutated-genes", (r"top[- ]\d* ?(most )?(frequent(ly)? )?mutated genes", r"most frequent(ly)? mutated genes")),
    ("variant-classification", (r"missense", r"truncating", r"substitution", r"inactivating", r"variant[_ ]classification", r"mutation types")),
    ("mutation-frequency", (r"mutated genes?", r"mutation frequency", r"frequen\w* of (the )?mutation")),
    ("treatment-duration", (r"treatment to failure", r"time to (best )?respon", r"time to best", r"on treatment", r"treatment duration", r"timeline")),
    ("clinical-crosstab", (r"distribution", r"\bcount", r"\bratio\b", r"how many patients", r"baseline", r"contingency")),
)


class _Skip(Exception):
    """A row that cannot become a sample: ``reason`` (counted) and a detail (listed)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class _Row:
    """An official row read on the host, bound to its staged study copy."""

    line: int
    study_id: str
    question_id: str
    query: str
    listed_files: list[str]
    study: Path
    reference: str  # rewritten to the copy's path
    tests: ConvertedTests
    category: str
    official_tests: str
    needed: list[str] = field(default_factory=list)


@dataclass
class _Stats:
    """What the report counts."""

    skipped: Counter[str] = field(default_factory=Counter)
    forms: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    conformance: Counter[str] = field(default_factory=Counter)
    reference_seconds: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def skip(self, line: int, skip: _Skip) -> None:
        self.skipped[skip.reason] += 1
        if len(self.messages) < _MESSAGES_SHOWN:
            detail = clean_text(skip.detail.splitlines()[0] if skip.detail else "")[:240]
            self.messages.append(f"line {line}: skipped ({skip.reason}), {detail}")


# -- options ---------------------------------------------------------------------------------


def split_from_name(source: Path) -> Split:
    """The split a task file's name states (``train_tasks.jsonl`` -> train), else test."""
    return split_named_by(source) or "test"


def _data_folder(data: object) -> Path:
    if data is None or (isinstance(data, str) and not data.strip()):
        raise ValueError(NO_DATA)
    folder = Path(str(data)).expanduser()
    if not folder.is_dir():
        raise ValueError(f"--data {folder}: not a folder ({NO_DATA.split(': ', 1)[1]})")
    return folder.resolve()


# -- paths -----------------------------------------------------------------------------------


def _rewrite_path(text: str, folder: Path) -> str:
    if text == WORKDIR or text == WORKDIR + "/":
        return str(folder)
    if text.startswith(WORKDIR + "/"):
        return f"{folder}/{text[len(WORKDIR) + 1:]}"
    return text


def rewrite_paths(source: str, folder: Path) -> str:
    """``source`` with every string constant naming ``/workdir`` or a file under it pointed at
    ``folder`` (f-string parts included). Comments go; the code is regenerated from its tree."""
    tree = ast.parse(source)

    class Rewrite(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            if isinstance(node.value, str):
                return ast.copy_location(ast.Constant(_rewrite_path(node.value, folder)), node)
            return node

    return ast.unparse(ast.fix_missing_locations(Rewrite().visit(tree)))


def _needed_files(*sources: str) -> list[str]:
    """Study files the code reads: string constants under ``/workdir/`` and the last argument
    of ``os.path.join(...)`` calls (``os.path.join(INPUT_DIR, "data_cna.csv")``); plain file
    names only (an f-string's fragment or a subfolder path is left to the reference run)."""
    names: dict[str, None] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(WORKDIR + "/"):
                names.setdefault(node.value[len(WORKDIR) + 1:], None)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "join"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "path"
                and len(node.args) >= 2
                and isinstance(node.args[-1], ast.Constant)
                and isinstance(node.args[-1].value, str)
            ):
                names.setdefault(node.args[-1].value, None)
    return sorted(name for name in names if _SAFE_NAME.match(name))


# -- the study copy --------------------------------------------------------------------------


def studies_dir() -> Path:
    """Where study copies live (under the cache, which every sandbox level can read)."""
    path = cache_dir() / "imports" / DATASET_NAME / "studies"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _data_files(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue  # a link could point anywhere on the machine
        if _SAFE_NAME.match(path.name) and path.suffix.lower() in DATA_SUFFIXES:
            files.append(path)
    return files


def _stage_study(data: Path, study_id: str, staged: dict[str, Path | _Skip]) -> Path:
    """The cache copy of one study folder (made once per import, reused across imports)."""
    if study_id in staged:
        done = staged[study_id]
        if isinstance(done, _Skip):
            raise done
        return done
    try:
        staged[study_id] = path = _copy_study(data, study_id)
    except _Skip as skip:
        staged[study_id] = skip
        raise
    return path


def _copy_study(data: Path, study_id: str) -> Path:
    folder = data / study_id
    if not folder.is_dir():
        raise _Skip("no_study_folder", f"no folder {study_id!r} in {data}")
    files = _data_files(folder)
    if not files:
        raise _Skip("no_study_folder", f"{folder} holds no data files ({', '.join(sorted(DATA_SUFFIXES))})")
    total = sum(f.stat().st_size for f in files)
    if total > MAX_STUDY_BYTES:
        raise _Skip("study_too_large", f"{folder} holds {total} bytes of data files (limit {MAX_STUDY_BYTES})")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    root = studies_dir()
    target = root / f"{study_id}-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        for path in files:
            shutil.copyfile(path, staging / path.name)
        os.chmod(staging, 0o755)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # not a concurrent import that got there first
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


# -- the prompt ------------------------------------------------------------------------------

_MAX_COLUMNS_LISTED = 60
_HEAD_COLUMNS = 12


def _describe_file(path: Path) -> str:
    """A short description of one study file, read from the copy (the official text describes
    the original files, which the user's copy may not match)."""
    import pandas as pd

    try:
        with path.open("rb") as handle:
            lines = sum(1 for _ in handle)
        tabbed = path.suffix.lower() in (".tsv", ".txt")  # cBioPortal's text files: tabs, '#' headers
        head = pd.read_csv(path, nrows=3, sep="\t" if tabbed else ",", comment="#" if tabbed else None, low_memory=False)
    except Exception as exc:  # noqa: BLE001 - a file pandas cannot read is described as such, never fatal
        return f"- `{path.name}`: could not be read as a table ({type(exc).__name__})"
    columns = [str(c) for c in head.columns]
    shown = ", ".join(columns[:_MAX_COLUMNS_LISTED]) + (f", ... ({len(columns)} columns)" if len(columns) > _MAX_COLUMNS_LISTED else "")
    with pd.option_context("display.max_colwidth", 30, "display.width", 10_000):
        table = head.iloc[:, :_HEAD_COLUMNS].to_string(index=False)
    more = f" (first {_HEAD_COLUMNS} columns)" if len(columns) > _HEAD_COLUMNS else ""
    return (
        f"- `{path.name}`: {max(lines - 1, 0)} data lines, {len(columns)} columns: {shown}\n"
        f"  First rows{more}:\n{textwrap.indent(table, '    ')}"
    )


def _prompt(row: _Row, variables: tuple[str, ...], descriptions: dict[Path, str]) -> str:
    query = row.query.strip().replace(WORKDIR + "/", f"{row.study}/").replace(WORKDIR, str(row.study))
    names = [name for name in row.listed_files if (row.study / name).is_file()]
    names += [name for name in row.needed if name not in names and (row.study / name).is_file()]
    files = []
    for name in names:
        path = row.study / name
        if path not in descriptions:
            descriptions[path] = _describe_file(path)
        files.append(descriptions[path])
    listing = "\n".join(files) if files else "(see the folder)"
    wanted = ", ".join(f"`{v}`" for v in variables)
    return (
        f"{query}\n\n"
        f"The study's files are in the folder `{row.study}` (`RESOURCES['study']` in your Python session; "
        f"where the task says `{WORKDIR}/`, read from this folder):\n{listing}\n\n"
        f"After you submit, hidden checks read these variables from your Python session: {wanted}. "
        "Leave each one there with the type the task asks for (a pandas DataFrame, a Series, a "
        "lifelines fitter, a number, ...); the submitted answer text itself is not graded."
    )


# -- categories ------------------------------------------------------------------------------


def _known_categories() -> frozenset[str]:
    """The category names of the biodsbench table, or none when it cannot be loaded."""
    try:
        from medagentgym.catalog.registry import get_dataset

        return frozenset(c.name for c in get_dataset(DATASET_NAME).categories())
    except Exception:  # noqa: BLE001 - the category table is optional to this importer
        return frozenset()


def category_for(query: str, known: frozenset[str]) -> str:
    """The first keyword rule matching ``query`` whose category is in ``known``."""
    text = query.lower()
    for category, patterns in CATEGORY_RULES:
        if category in known and any(re.search(p, text) for p in patterns):
            return category
    return OFFICIAL_CATEGORY


# -- reading a row ---------------------------------------------------------------------------


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("study_ids", "question_ids"):
        return str(value)
    if not isinstance(value, str):
        raise _Skip("invalid_row", f"field {name!r} is not a string")
    return value


def _read_row(value: Any, line: int, data: Path, staged: dict[str, Path | _Skip], known: frozenset[str]) -> _Row:
    if not isinstance(value, dict):
        raise _Skip("invalid_row", "not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in value]
    if missing:
        raise _Skip("invalid_row", f"missing fields {missing}")
    query, listing, reference, tests_text = (_text(value, n) for n in ("queries", "dataframes", "reference_answer", "test_cases"))
    study_id = _text(value, "study_ids").strip()
    question_id = str(value.get("question_ids", ""))[:40]
    if not _SAFE_STUDY.match(study_id) or study_id in (".", ".."):
        raise _Skip("invalid_row", f"study id {study_id[:40]!r} is not a plain folder name")
    if not query.strip():
        raise _Skip("invalid_row", "empty question")
    if len(reference) > MAX_REFERENCE_CHARS:
        raise _Skip("reference_unreadable", f"reference longer than {MAX_REFERENCE_CHARS} characters")
    study = _stage_study(data, study_id, staged)
    try:
        rewritten = REFERENCE_PRELUDE + rewrite_paths(reference, study)
        parsed_reference = ast.parse(rewritten)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _Skip("reference_unreadable", f"the reference is not Python ({type(exc).__name__})") from None
    try:
        tests_source = rewrite_paths(tests_text, study) if len(tests_text) <= MAX_TEST_CHARS else tests_text
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tests_source = tests_text  # convert_tests says why
    try:
        tests = convert_tests(tests_source, parsed_reference)
    except UnsafeTestsError as exc:
        raise _Skip("unsafe_tests", str(exc)) from None
    except OfficialTestsError as exc:
        raise _Skip("tests_unreadable", str(exc)) from None
    if not tests.checks:
        dropped = ", ".join(f"{k}: {v}" for k, v in sorted(tests.dropped.items())) or "no assert"
        raise _Skip("no_checks", f"no assert reads a variable of the answer ({dropped})")
    needed = _needed_files(reference, tests_text)
    absent = [name for name in needed if not (study / name).is_file()]
    if absent:
        raise _Skip("missing_files", f"study {study_id} lacks {', '.join(absent[:5])}")
    listed = list(dict.fromkeys(_LISTED_FILE.findall(listing)))
    return _Row(
        line=line, study_id=study_id, question_id=question_id, query=query, listed_files=listed, study=study,
        reference=rewritten, tests=tests, category=category_for(query, known), official_tests=tests_text, needed=needed,
    )


# -- running the reference -------------------------------------------------------------------


def _case_name(check: Check, conditions_before: int) -> str:
    """What explanations call a check: the expression read (values), or a number and the
    variables (conditions, whose text could state the expected literal)."""
    if check.kind == "value":
        return check.label if len(check.label) <= 160 else check.label[:157] + "..."
    return f"condition {conditions_before + 1} on {', '.join(check.variables)}"


def _probe_tests(row: _Row) -> CodeTests:
    """The checks as cases without expected values (what runs in the reference's sessions)."""
    names: Counter[str] = Counter()
    cases = []
    conditions = 0
    for check in row.tests.checks:
        name = _case_name(check, conditions)
        conditions += check.kind == "condition"
        names[name] += 1
        if names[name] > 1:
            name = f"{name} #{names[name]}"
        cases.append(TestCase(name=name, setup=check.setup, expr=check.expr))
    return CodeTests(mode="namespace", variables=row.tests.variables, cases=tuple(cases))


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            return True
        if isinstance(item, dict):
            if set(item) == {"float"}:
                return True
            if set(item) == {"ndarray"} and isinstance(item["ndarray"], dict) and item["ndarray"].get("dtype") in ("f", "c"):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _uninformative(value: Any) -> bool:
    """None, NaN, an infinity, or a container (list, set, array, series, frame) holding only
    such values or nothing: what a wrong answer could equal as easily as a right one."""
    if value is None:
        return True
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        if tag == "float":
            return True
        if tag in ("set", "dict"):
            return _uninformative(body)
        if tag == "ndarray" and isinstance(body, dict):
            return _uninformative(body.get("data"))
        if tag == "series" and isinstance(body, dict):
            return _uninformative(body.get("values"))
        if tag == "dataframe" and isinstance(body, dict):
            return _uninformative(body.get("data"))
        return False
    if isinstance(value, list):
        return all(_uninformative(item) for item in value)
    return False


def _tolerances(check: Check, expected: Any) -> tuple[float, float]:
    if check.rel_tol is not None or check.abs_tol is not None:
        return check.rel_tol or 0.0, check.abs_tol or 0.0
    return (FLOAT_REL_TOL, FLOAT_ABS_TOL) if _has_float(expected) else (0.0, 0.0)


def _failure(result: Any) -> str:
    text = (result.error or result.stderr or result.status or "").strip().splitlines()
    return text[-1][:240] if text else str(result.status)


def _run_reference(server: Any, row: _Row, tests: CodeTests, time_limit: float, replay: bool) -> tuple[list[Any], float, Counter[str]]:
    """Run the reference and the checks in a fresh session: (observed values, seconds, replay
    counts of the official asserts)."""
    from medagentgym.codetests import run_namespace_tests

    resource = Resource(kind="directory", name="study", path=str(row.study))
    conformance: Counter[str] = Counter()
    with server.open_session((resource,)) as session:
        result = session.run_python(row.reference, timeout_s=time_limit)
        if result.status == "timeout" or result.timed_out:
            raise _Skip("reference_timeout", f"the reference ran over {time_limit:g} s")
        if result.status != "ok":
            raise _Skip("reference_fails", _failure(result))
        seconds = result.duration_s
        observed = run_namespace_tests(session, tests)
        for case, seen in zip(tests.cases, observed, strict=True):
            if not seen.ok:
                raise _Skip("reference_value_missing", f"{case.name}: {seen.error}")
        if replay and session.alive:
            conformance = _replay_official(session, row)
    return [seen.value for seen in observed], seconds, conformance


def _replay_official(session: Any, row: _Row) -> Counter[str]:
    """Run the test's statements and asserts as written, in the reference's session only."""
    counts: Counter[str] = Counter()
    flag = "_medagentgym_official"
    for kind, source in row.tests.statements:
        code = (
            f"{flag} = 'error'\ntry:\n{textwrap.indent(source, '    ')}\n    {flag} = 'held'\n"
            f"except AssertionError:\n    {flag} = 'failed'\nexcept Exception:\n    {flag} = 'error'\n"
            f"print({flag})\n"
        )
        result = session.run_python(code, timeout_s=10)
        verdict = result.stdout.strip().splitlines()[-1] if result.status == "ok" and result.stdout.strip() else "error"
        if kind == "assert":
            counts[verdict if verdict in ("held", "failed") else "error"] += 1
        if not session.alive:
            break
    return counts


def _build_sample(row: _Row, split: Split, tests: CodeTests, values: list[Any], prompt: str, meta: dict[str, Any]) -> Sample:
    cases = []
    for check, case, value in zip(row.tests.checks, tests.cases, values, strict=True):
        rel, absolute = _tolerances(check, value)
        cases.append(case.model_copy(update={"expected": value, "rel_tol": rel, "abs_tol": absolute}))
    final = tests.model_copy(update={"cases": tuple(cases)})
    code = row.reference.rstrip() + "\n"
    if "answer" not in final.variables:
        code += "answer = 'done'\n"
    resource = Resource(
        kind="directory", name="study", path=str(row.study),
        description=f"study {row.study_id}: the data files of the original task (copied from --data)",
    )
    return Sample(
        id=f"{DATASET_NAME}/{row.category}/{split}/official-{row.line}",
        dataset=DATASET_NAME,
        category=row.category,
        split=split,
        index=row.line,
        seed=0,
        prompt=prompt,
        resources=(resource,),
        target=Target(answer_type=AnswerType.CODE_TESTS, value=None, tests=final),
        solution=Solution(language="python", code=code),
        metadata=meta,
    )


def _consistent(first: list[Any], second: list[Any], row: _Row) -> str | None:
    from medagentgym.scoring.code_tests import values_match

    for check, a, b in zip(row.tests.checks, first, second, strict=True):
        rel, absolute = _tolerances(check, a)
        if not values_match(b, a, rel, absolute):
            return check.label[:120]
    return None


def _import_row(servers: tuple[Any, Any], row: _Row, split: Split, time_limit: float, stats: _Stats,
                descriptions: dict[Path, str]) -> Sample:
    tests = _probe_tests(row)
    first, seconds, conformance = _run_reference(servers[0], row, tests, time_limit, replay=True)
    for check, value in zip(row.tests.checks, first, strict=True):
        if check.kind == "condition" and value is not True:
            raise _Skip("reference_fails_condition", f"the reference does not satisfy: {check.official[:160]}")
    if all(check.kind == "value" and _uninformative(value) for check, value in zip(row.tests.checks, first, strict=True)):
        raise _Skip("degenerate_values", "on this data the reference leaves only missing, infinite or empty values to check")
    second, _, _ = _run_reference(servers[1], row, tests, time_limit, replay=False)
    differs = _consistent(first, second, row)
    if differs is not None:
        raise _Skip("nondeterministic", f"two runs of the reference disagree on {differs}")
    prompt = _prompt(row, tests.variables, descriptions)
    meta = {
        "source": "official",
        "official_line": row.line,
        "study_id": row.study_id,
        "question_id": row.question_id,
        "study_folder": str(row.study),
        "official_tests": row.official_tests,
        "check_forms": dict(Counter(c.form for c in row.tests.checks)),
        "condition_checks": sum(c.kind == "condition" for c in row.tests.checks),
        "asserts_dropped": dict(row.tests.dropped),
        "official_asserts_held": conformance.get("held", 0),
        "official_asserts_replayed": sum(conformance.values()),
        "reference_seconds": round(seconds, 3),
    }
    sample = _build_sample(row, split, tests, first, prompt, meta)
    stats.reference_seconds.append(seconds)
    stats.conformance.update(conformance)
    stats.forms.update(c.form for c in row.tests.checks)
    stats.kinds.update(c.kind for c in row.tests.checks)
    stats.dropped.update(row.tests.dropped)
    stats.categories[row.category] += 1
    return sample


# -- the import ------------------------------------------------------------------------------


def _options(options: dict[str, Any], source: Path) -> tuple[Path, Split, float]:
    options = dict(options)
    data = options.pop("data", None)
    split = options.pop("split", None)
    time_limit = options.pop("query_timeout_s", None)
    if options:
        raise TypeError(f"unexpected options {sorted(options)}")
    folder = _data_folder(data)
    if split is None:
        split = split_from_name(source)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    limit = DEFAULT_TIME_LIMIT_S if time_limit is None else float(time_limit)
    if not limit > 0:
        raise ValueError("the reference time limit must be positive")
    return folder, split, limit


def _read_rows(source: Path, data: Path, stats: _Stats) -> tuple[list[_Row], int]:
    """Every usable row of the file (the others are counted as skipped) and how many were read."""
    staged: dict[str, Path | _Skip] = {}
    known = _known_categories()
    rows: list[_Row] = []
    read = 0
    for line in iter_jsonl(source):
        read += 1
        try:
            if line.error is not None:
                raise _Skip("invalid_row", line.error)
            rows.append(_read_row(line.value, line.number, data, staged, known))
        except _Skip as skip:
            stats.skip(line.number, skip)
    return rows, read


def import_file(source: Path, output: Path, **options: Any) -> ImportReport:
    """Read official BioDSBench rows from ``source``; write samples as JSONL to ``output``.

    Options: ``data`` (required: the folder of study folders), ``split`` (default: the split the
    file's name states, else test), ``query_timeout_s`` (the reference's time limit, default
    ``DEFAULT_TIME_LIMIT_S``).
    """
    from medagentgym.sandbox import SandboxError, SandboxServer

    data, split, time_limit = _options(options, Path(source))
    started = time.perf_counter()
    stats = _Stats()
    rows, rows_read = _read_rows(Path(source), data, stats)
    samples: list[str] = []
    descriptions: dict[Path, str] = {}
    if rows:
        with ExitStack() as stack:
            try:
                servers = (stack.enter_context(SandboxServer()), stack.enter_context(SandboxServer()))
            except SandboxError as exc:
                raise ValueError(f"the sandbox that runs the references could not start: {exc}") from None
            for row in rows:
                try:
                    try:
                        sample = _import_row(servers, row, split, time_limit, stats, descriptions)
                    except SandboxError as exc:  # one session failed to start or died: that row only
                        raise _Skip("sandbox_error", str(exc)) from None
                    samples.append(model_json(sample))
                except _Skip as skip:
                    stats.skip(row.line, skip)
    write_lines_atomic(Path(output), samples)
    stats.messages.sort(key=lambda m: int(m.split()[1].rstrip(":")) if m.startswith("line ") else 0)
    skipped = sum(stats.skipped.values())
    if skipped > _MESSAGES_SHOWN:
        stats.messages.append(f"... and {skipped - _MESSAGES_SHOWN} more skipped rows")
    seconds = stats.reference_seconds
    return ImportReport(
        dataset=DATASET_NAME,
        source=str(source),
        rows_read=rows_read,
        samples_written=len(samples),
        rows_skipped=skipped,
        skipped_by_reason=dict(stats.skipped),
        details={
            "split": split,
            "data": str(data),
            "skipped_by_reason": dict(sorted(stats.skipped.items())),
            "categories": dict(sorted(stats.categories.items())),
            "checks": {
                "value": stats.kinds.get("value", 0),
                "condition": stats.kinds.get("condition", 0),
                "by_form": dict(sorted(stats.forms.items())),
            },
            "asserts_dropped": dict(sorted(stats.dropped.items())),
            "official_asserts_on_reference": {
                "held": stats.conformance.get("held", 0),
                "failed": stats.conformance.get("failed", 0),
                "error": stats.conformance.get("error", 0),
            },
            "reference_seconds": {
                "max": round(max(seconds), 3) if seconds else 0.0,
                "mean": round(sum(seconds) / len(seconds), 3) if seconds else 0.0,
            },
            "time_limit_s": time_limit,
            "import_seconds": round(time.perf_counter() - started, 2),
        },
        messages=stats.messages,
    )
