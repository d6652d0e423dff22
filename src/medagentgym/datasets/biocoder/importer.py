"""Importer for the official BioCoder task file: each row whose reference runs becomes a sample
graded by a hidden test.

An official row (``idx``, ``problem``, ``solution``, ``context``, ``signature``, ``code``) asks for
one function of a larger program; the program's ``main()`` calls it and prints. A sample built
from it:

* ``biocoder/<category>/<split>/official-<line>``, the category by the keyword rule of
  ``official.category_of``;
* a function-mode ``CodeTests``: ``entry`` the signature's function, ``context`` the program
  rewritten by ``official.read_program`` (placeholder kept), and one case, ``main() output``,
  that runs ``main()`` and compares what it prints with the gold text;
* the prompt: problem, signature and the program *before* the placeholder (never ``main()``,
  never the solution); the reference solution for the oracle (``answer = <official source>``).

Gold is what the reference prints when it runs **in the sandbox** (the environment agents are
graded in), never in this process (``compute_gold``): the spliced module runs in a fresh session;
then again in fresh sessions whose global random generators were first seeded elsewhere
(``perturbed``), the last of them in a *second* sandbox server. Sessions of one server share its
string hash seed and its generators' state at fork time, so without these a harness printing a
set's order or an unseeded random draw would look deterministic here and fail agents elsewhere.
Finally a do-nothing stand-in of the function runs once. A row is skipped, with its reason
counted, when the reference fails (a missing module, a numpy-2 API removal, another exception,
the time limit, output over the step's cap), prints nothing, prints differently in a checking
run, or prints the same with the stand-in (its output does not depend on the function, so an
empty body would pass).

Sandbox runs are cached per row in the user cache (``imports/biocoder/gold``), keyed by a hash of
the module, the stand-in, the case's time limit, the sandbox limits and an environment fingerprint
(Python and the scientific packages' versions): a second import is fast, and a new environment
recomputes every row. Time-limit results are not cached (they depend on the machine's load).

Task files are untrusted: each line is decoded on its own (``untrusted.iter_jsonl``), fields are
type- and size-checked, a bad row is skipped with its line number, and the output is written
atomically (a failed import leaves an earlier output intact).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import platform
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import ImportReport
from medagentgym.catalog.sample import (
    SPLITS,
    AnswerType,
    CodeTests,
    Sample,
    Solution,
    Split,
    Target,
    TestCase,
)
from medagentgym.codetests import run_function_tests
from medagentgym.datasets.biocoder import ROW_SHAPE
from medagentgym.datasets.biocoder.official import (
    DUPLICATE,
    EXCEPTION,
    INDEPENDENT,
    INVALID,
    MISSING_MODULE,
    NO_OUTPUT,
    NONDETERMINISTIC,
    NUMPY2,
    OUTPUT_CAP,
    REASONS,
    TIME_LIMIT,
    UNPARSABLE,
    Program,
    RowSkip,
    category_of,
    category_scores,
    read_program,
    render_prompt,
    stub_source,
)
from medagentgym.paths import cache_dir
from medagentgym.sandbox import SandboxError, SandboxLimits, SandboxServer
from medagentgym.scoring.code_tests import CaseResult, judge_case, splice_submission
from medagentgym.scoring.parsing import AnswerParseError
from medagentgym.untrusted import iter_jsonl, model_json, write_lines_atomic

DATASET_NAME = "biocoder"
CASE_NAME = "main() output"
#: Seconds ``main()`` may run (the same limit grades agents): official references take < 2 s.
CASE_TIMEOUT_S = 20.0
#: Seeds of the checking runs (see ``perturbed``): all but the last in the first server.
PERTURBATION_SEEDS = (101, 202, 303, 404, 505)
#: Bumped whenever the way gold is computed changes, so cached results are recomputed.
GOLD_PROTOCOL = 1
#: Longest fields accepted (official rows: problem < 1.1 KB, context < 11 KB, solution < 6 KB).
FIELD_LIMITS = {"idx": 200, "problem": 20_000, "signature": 2_000, "solution": 100_000, "context": 200_000}
REQUIRED_FIELDS = ROW_SHAPE.fields
#: Packages whose versions decide what a reference prints (part of the gold cache key).
FINGERPRINT_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "scikit-image",
    "pysam",
    "biopython",
    "centrosome",
    "statsmodels",
    "matplotlib",
    "lifelines",
)
_MESSAGES_SHOWN = 200
#: Skipped rows listed one by one in the report's details (all are counted in ``by_reason``).
MAX_LISTED_SKIPS = 2000
_NO_MODULE = re.compile(r"No module named '([^']+)'")
_NUMPY_REMOVAL = re.compile(r"NumPy 2\.0|module 'numpy' has no attribute|`np\.\w+` was (?:a deprecated|removed)")
_EXCEPTION_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)(?::|$)")
_LOAD_PREFIX = "the submitted code failed to load: "


@dataclass(frozen=True)
class OfficialRow:
    """The fields of one official row that the importer uses (``code`` is never read)."""

    line: int
    idx: str
    problem: str
    solution: str
    context: str
    signature: str


def parse_row(line: int, value: Any) -> OfficialRow:
    """Type- and size-check a decoded row; RowSkip (invalid row) says what is wrong."""
    if not isinstance(value, dict):
        raise RowSkip(INVALID, "not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in value]
    if missing:
        raise RowSkip(INVALID, f"missing fields {missing}")
    fields: dict[str, str] = {}
    for name in REQUIRED_FIELDS:
        text = value[name]
        if not isinstance(text, str) or not text.strip():
            raise RowSkip(INVALID, f"field {name!r} must be a non-empty string")
        if "\x00" in text:
            raise RowSkip(INVALID, f"field {name!r} holds a NUL character")
        if len(text) > FIELD_LIMITS[name]:
            raise RowSkip(INVALID, f"field {name!r} is longer than {FIELD_LIMITS[name]} characters ({len(text)})")
        fields[name] = text
    return OfficialRow(line=line, **fields)


# -- gold ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gold:
    """What the reference printed (``reason`` None), or why the row cannot be graded."""

    stdout: str | None = None
    reason: str | None = None
    detail: str = ""
    seconds: float = 0.0

    @property
    def cacheable(self) -> bool:
        return self.reason != TIME_LIMIT

    def to_json(self) -> dict[str, Any]:
        return {"stdout": self.stdout, "reason": self.reason, "detail": self.detail, "seconds": self.seconds}

    @classmethod
    def from_json(cls, record: Any) -> Gold | None:
        """A cached record, or None when it is not one (a damaged cache file is a miss)."""
        if not isinstance(record, dict):
            return None
        stdout, reason, detail = record.get("stdout"), record.get("reason"), record.get("detail", "")
        seconds = record.get("seconds", 0.0)
        if not isinstance(detail, str) or not isinstance(seconds, (int, float)):
            return None
        if reason is None and isinstance(stdout, str):
            return cls(stdout=stdout, seconds=float(seconds))
        if isinstance(reason, str) and reason in REASONS and stdout is None:
            return cls(reason=reason, detail=detail, seconds=float(seconds))
        return None


def environment_fingerprint() -> dict[str, str]:
    """Python and the versions of the packages references print with ("absent" when missing)."""
    found = {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "machine": platform.machine(),
    }
    for package in FINGERPRINT_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


def gold_key(module: str, stub_module: str, tests: CodeTests, fingerprint: dict[str, str], limits: SandboxLimits) -> str:
    """The cache key of one row's gold: everything its sandbox runs depend on."""
    material = {
        "protocol": GOLD_PROTOCOL,
        "module": module,
        "stub": stub_module,
        "timeout_s": tests.timeout_s,
        "perturbation_seeds": list(PERTURBATION_SEEDS),
        "limits": limits.model_dump(mode="json"),
        "environment": fingerprint,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def gold_cache_dir() -> Path:
    return cache_dir() / "imports" / DATASET_NAME / "gold"


class GoldCache:
    """One JSON file per row's key (written atomically; unreadable files count as misses)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.hits = 0
        self.computed = 0

    def get(self, key: str) -> Gold | None:
        if self.root is None:
            return None
        path = self.root / f"{key}.json"
        try:
            gold = Gold.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
        if gold is not None:
            self.hits += 1
        return gold

    def put(self, key: str, gold: Gold) -> None:
        self.computed += 1
        if self.root is None or not gold.cacheable:
            return
        write_lines_atomic(self.root / f"{key}.json", [json.dumps(gold.to_json(), ensure_ascii=True)])


def classify_failure(error: str) -> tuple[str, str]:
    """(reason, detail) of a failed sandbox run of the reference, from the runner's message."""
    text = error.strip()
    if "time limit of" in text:
        return TIME_LIMIT, text[:200]
    if "over the step's cap" in text:
        return OUTPUT_CAP, text[:200]
    module = _NO_MODULE.search(text)
    if module is not None:
        return MISSING_MODULE, f"needs {module.group(1).split('.')[0]}"
    if _NUMPY_REMOVAL.search(text):
        return NUMPY2, text.removeprefix(_LOAD_PREFIX)[:200]
    body = text.removeprefix(_LOAD_PREFIX)
    name = _EXCEPTION_NAME.match(body)
    kind = name.group(1).rsplit(".", 1)[-1] if name else "error"
    return EXCEPTION, f"{kind}: {body[len(name.group(0)) if name else 0 :].strip()[:180]}"


def exception_kind(reason: str, detail: str) -> str | None:
    """The exception's type name of an ``other exception`` skip (for the report's breakdown)."""
    if reason != EXCEPTION:
        return None
    return detail.split(":", 1)[0] or "error"


class GoldRunner:
    """Two sandbox servers (each starts with its first session; ``close`` ends both).

    Two, because sessions of one server share its string-hash seed and generator state: the last
    checking run of a row goes to the second server (see ``compute_gold``). Their limits are the
    sessions' limits, the defaults unless given (the environment grades agents with the defaults).
    """

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self._servers = (SandboxServer(limits), SandboxServer(limits))

    @property
    def limits(self) -> SandboxLimits:
        return self._servers[0].limits

    def run(self, which: int, tests: CodeTests, module: str) -> list[CaseResult]:
        """Every case of ``tests`` in one fresh session of server ``which`` (0 or 1)."""
        return run_function_tests(self._servers[which], (), tests, module)

    def close(self) -> None:
        for server in self._servers:
            server.close()


def _same_output(expected: str, result: CaseResult) -> bool:
    case = TestCase(name=CASE_NAME, setup="main()", expected=expected)
    return judge_case(case, result) is None


def perturbed(module: str, seed: int) -> str:
    """``module`` with Python's and numpy's global random generators seeded first.

    Sessions of one server all start from the generator state the server had when it forked
    them, so a harness drawing from an unseeded generator prints the same in every fresh session
    of that server, and something else in the server that grades an agent. Runs that start the
    generators elsewhere show it; a program that seeds them itself is unaffected.
    """
    if "from __future__" in module:
        return module  # a statement before it would not compile; such rows get plain runs
    return (
        "import random as _medagentgym_random, numpy as _medagentgym_np\n"
        f"_medagentgym_random.seed({seed}); _medagentgym_np.random.seed({seed})\n"
        "del _medagentgym_random, _medagentgym_np\n"
    ) + module


def compute_gold(runner: GoldRunner, tests: CodeTests, module: str, stub_module: str) -> Gold:
    """Run the reference plainly, then once per perturbation seed (the last one in a second
    server), and the stand-in once; see the module docstring."""
    started = time.perf_counter()

    def done(**fields: Any) -> Gold:
        return Gold(seconds=round(time.perf_counter() - started, 3), **fields)

    (first,) = runner.run(0, tests, module)
    if not first.ok:
        reason, detail = classify_failure(first.error or "failed")
        return done(reason=reason, detail=detail)
    printed = str(first.value)
    if not printed.strip():
        return done(reason=NO_OUTPUT, detail="main() printed nothing")
    for i, seed in enumerate(PERTURBATION_SEEDS):
        which = 1 if i == len(PERTURBATION_SEEDS) - 1 else 0  # the last run in the second server
        (again,) = runner.run(which, tests, perturbed(module, seed))
        if not again.ok:
            reason, detail = classify_failure(again.error or "failed")
            if reason == TIME_LIMIT:
                return done(reason=reason, detail=detail)
            return done(reason=NONDETERMINISTIC, detail=f"a second run failed: {detail}")
        if not _same_output(printed, again):
            where = "in a second sandbox server" if which else "with the random generators seeded elsewhere"
            return done(reason=NONDETERMINISTIC, detail=f"main() printed different text {where}")
    (stub,) = runner.run(0, tests, stub_module)
    if stub.ok and _same_output(printed, stub):
        return done(reason=INDEPENDENT, detail="main() prints the same with a do-nothing function")
    return done(stdout=printed)


# -- samples -------------------------------------------------------------------------------------


def code_tests(program: Program, expected: str | None, timeout_s: float = CASE_TIMEOUT_S) -> CodeTests:
    """The hidden test of a row: run ``main()`` and compare what it prints."""
    case = TestCase(name=CASE_NAME, setup="main()", expr="", expected=expected)
    return CodeTests(
        mode="function",
        entry=program.entry,
        context=program.context,
        cases=(case,),
        timeout_s=timeout_s,
    )


def oracle_code(solution: str) -> str:
    """The reference for the oracle: the official source as the value of ``answer``.

    Executing the source in the episode's session is not needed (and would fail for a method or a
    function whose decorator is a helper of the program): the oracle only submits ``answer``.
    """
    return f"# the official reference solution, submitted as it is\nanswer = {solution!r}\n"


def build_sample(row: OfficialRow, program: Program, tests: CodeTests, gold: str, split: Split) -> Sample:
    category = category_of(row.problem, row.signature, row.solution)
    return Sample(
        id=f"{DATASET_NAME}/{category}/{split}/official-{row.line}",
        dataset=DATASET_NAME,
        category=category,
        split=split,
        index=row.line,
        seed=0,
        prompt=render_prompt(row.problem, row.signature, program),
        target=Target(answer_type=AnswerType.CODE_TESTS, value=None, tests=code_tests(program, gold, tests.timeout_s)),
        solution=Solution(language="python", code=oracle_code(row.solution)),
        metadata={
            "source": "official",
            "official_line": row.line,
            "official_idx": row.idx,
            "entry": program.entry,
            "method_of": program.method_of,
            "rewrites": list(program.rewrites),
            "dropped_imports": list(program.dropped_imports),
            "modules": list(program.modules),
            "category_scores": category_scores(row.problem, row.signature, row.solution),
        },
    )


def missing_modules(program: Program) -> list[str]:
    """Modules the program or solution imports that this Python cannot find (sessions run the same
    interpreter); a relative import can never be found in a one-module program."""
    missing = [m for m in program.modules if importlib.util.find_spec(m) is None]
    return [*missing, *program.relative_imports]


def _prepare(row: OfficialRow, timeout_s: float) -> tuple[Program, CodeTests, str, str]:
    """The rewritten program, its test (no expected value yet), the spliced module and stand-in."""
    program = read_program(row.context, row.solution, row.signature)
    missing = missing_modules(program)
    if missing:
        raise RowSkip(MISSING_MODULE, f"needs {missing[0]}")
    tests = code_tests(program, None, timeout_s)
    try:
        module = splice_submission(row.solution, tests)
        stub_module = splice_submission(stub_source(program.entry), tests)
    except AnswerParseError as exc:
        raise RowSkip(UNPARSABLE, f"the reference cannot be spliced: {exc}") from None
    return program, tests, module, stub_module


def import_file(
    source: Path,
    output: Path,
    *,
    split: Split = "test",
    use_cache: bool = True,
    timeout_s: float = CASE_TIMEOUT_S,
    runner: GoldRunner | None = None,
) -> ImportReport:
    """Read official BioCoder rows from ``source``; write samples as JSONL to ``output``.

    ``use_cache=False`` recomputes every row's gold (and leaves the cache alone); ``timeout_s`` is
    the time ``main()`` may take, for the gold runs and for grading agents. ``runner`` lets a
    caller share sandbox servers across imports (it is then not closed here).

    A file without any row is a ValueError; a failure of the sandbox itself (not of a reference)
    aborts the import with OSError. Either way ``output`` is left as it was.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if isinstance(timeout_s, bool) or not (isinstance(timeout_s, (int, float)) and 0 < timeout_s <= 600):
        raise ValueError(f"timeout_s must be a number of seconds in (0, 600], not {timeout_s!r}")
    started = time.perf_counter()
    own_runner = runner is None
    gold_runner = runner or GoldRunner()
    cache = GoldCache(gold_cache_dir() if use_cache else None)
    fingerprint = environment_fingerprint()
    rows_read = 0
    lines: list[str] = []
    by_reason: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    modules_missing: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    rewrites: Counter[str] = Counter()
    skipped: list[dict[str, Any]] = []
    messages: list[str] = []
    seen: set[str] = set()
    gold_seconds: list[float] = []
    try:
        for line in iter_jsonl(source):
            rows_read += 1
            try:
                if line.error is not None:
                    raise RowSkip(INVALID, line.error)
                row = parse_row(line.number, line.value)
                if row.idx in seen:
                    raise RowSkip(DUPLICATE, f"idx {row.idx[:16]}... already imported")
                seen.add(row.idx)
                program, tests, module, stub_module = _prepare(row, float(timeout_s))
                key = gold_key(module, stub_module, tests, fingerprint, gold_runner.limits)
                gold = cache.get(key)
                if gold is None:
                    try:
                        gold = compute_gold(gold_runner, tests, module, stub_module)
                    except SandboxError as exc:
                        raise OSError(f"the sandbox failed while running line {line.number}: {exc}") from exc
                    cache.put(key, gold)
                    gold_seconds.append(gold.seconds)
                if gold.reason is not None or gold.stdout is None:
                    raise RowSkip(gold.reason or EXCEPTION, gold.detail or "no output recorded")
            except RowSkip as skip:
                by_reason[skip.reason] += 1
                if skip.reason == MISSING_MODULE:
                    modules_missing[skip.detail.removeprefix("needs ")] += 1
                kind = exception_kind(skip.reason, skip.detail)
                if kind is not None:
                    exceptions[kind] += 1
                idx = line.value.get("idx") if isinstance(line.value, dict) else None
                if len(skipped) < MAX_LISTED_SKIPS:
                    skipped.append(
                        {
                            "line": line.number,
                            "idx": idx[:64] if isinstance(idx, str) else None,
                            "reason": skip.reason,
                            "detail": skip.detail[:300],
                        }
                    )
                if len(messages) < _MESSAGES_SHOWN:
                    first_line = (skip.detail.splitlines() or [""])[0]
                    messages.append(f"line {line.number}: skipped, {skip.reason}: {first_line[:160]}")
                continue
            sample = build_sample(row, program, tests, gold.stdout, split)
            lines.append(model_json(sample))
            by_category[sample.category] += 1
            for what in program.rewrites:
                rewrites["dropped unused imports" if what.startswith("dropped") else what] += 1
    finally:
        if own_runner:
            gold_runner.close()
    if rows_read == 0:
        raise ValueError(f"{source}: no rows (the file is empty); nothing was written")
    write_lines_atomic(output, lines)
    total_skipped = sum(by_reason.values())
    if total_skipped > _MESSAGES_SHOWN:
        messages.append(f"... and {total_skipped - _MESSAGES_SHOWN} more skipped rows")
    return ImportReport(
        dataset=DATASET_NAME,
        source=str(source),
        rows_read=rows_read,
        samples_written=len(lines),
        rows_skipped=total_skipped,
        skipped_by_reason={reason: by_reason[reason] for reason in REASONS if by_reason[reason]},
        details={
            "split": split,
            "by_reason": {reason: by_reason[reason] for reason in REASONS if by_reason[reason]},
            "by_category": dict(sorted(by_category.items())),
            "missing_modules": dict(sorted(modules_missing.items())),
            "exceptions": dict(sorted(exceptions.items())),
            "rewrites": dict(sorted(rewrites.items())),
            "skipped": skipped,
            "gold_cache": {"hits": cache.hits, "computed": cache.computed, "enabled": use_cache},
            "gold_run_seconds": _summary(gold_seconds),
            "environment": fingerprint,
            "seconds": round(time.perf_counter() - started, 2),
        },
        messages=messages,
    )


def _summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"rows": 0}
    ordered = sorted(values)
    return {
        "rows": len(values),
        "mean": round(sum(values) / len(values), 3),
        "median": ordered[len(ordered) // 2],
        "max": ordered[-1],
    }
