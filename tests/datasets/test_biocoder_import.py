"""biocoder importer: official rows rewritten from their syntax tree, gold printed by the reference
in the sandbox (checked for nondeterminism and for independence from the function), hostile task
files skipped with counted reasons, gold cached per environment, and on the official file: the
oracle scores 1 on every imported sample while wrong and gaming answers score 0.

The small programs below are written for these tests; the official file is only read.
"""

from __future__ import annotations

import json
import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medagentgym.catalog.sample import PLACEHOLDER, Sample
from medagentgym.cli import app
from medagentgym.datasets.biocoder import importer as importer_module
from medagentgym.datasets.biocoder.importer import (
    CASE_NAME,
    GoldRunner,
    classify_failure,
    gold_cache_dir,
    import_file,
)
from medagentgym.datasets.biocoder.official import (
    CATEGORIES,
    DUPLICATE,
    INDEPENDENT,
    INVALID,
    MISSING_MODULE,
    NO_MAIN,
    NO_OUTPUT,
    NO_PLACEHOLDER,
    NONDETERMINISTIC,
    NUMPY2,
    OUTPUT_CAP,
    REASONS,
    SHELL,
    TIME_LIMIT,
    UNPARSABLE,
    RowSkip,
    category_of,
    read_program,
    render_prompt,
)
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode

OFFICIAL = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "reference"
    / "medagentgym-release"
    / "biocoder"
    / "test_tasks.jsonl"
)

# -- small programs of our own ------------------------------------------------------------------

GC_CONTEXT = f"""import math
import os
import subprocess
import numpy as np
from scipy.stats import norm, chisquare

WEIGHTS = {{"G": 1, "C": 1}}
def helper(seq):
    return seq.upper()
{PLACEHOLDER}
def main():
    print(gc_content(helper("acgtggccaa")))
    print(gc_content("GGGG"))
if __name__ == "__main__":
    main()
"""
GC_SOLUTION = "def gc_content(seq):\n    return round(sum(WEIGHTS.get(c, 0) for c in seq) / len(seq), 4)\n"
GC_SIGNATURE = "def gc_content(seq)"

METHOD_CONTEXT = f"""class Tally:
    def __init__(self, items):
        self.items = list(items)
    {PLACEHOLDER}
def main():
    print(Tally([3, 1, 2, 2]).histogram())
if __name__ == '__main__':
    main()
"""
METHOD_SOLUTION = (
    "def histogram(self):\n"
    "    counts = {}\n"
    "    for item in sorted(self.items):\n"
    "        counts[item] = counts.get(item, 0) + 1\n"
    "    return counts\n"
)


def row(idx: str, context: str, solution: str, signature: str, problem: str = "Write the function.") -> dict[str, Any]:
    return {"idx": idx, "problem": problem, "solution": solution, "context": context, "signature": signature, "code": ""}


def program_row(idx: str, main_body: str, *, helpers: str = "", solution: str = "def f(x):\n    return x\n") -> dict[str, Any]:
    """A row asking for ``f`` whose ``main()`` runs ``main_body``."""
    context = f"{helpers}{PLACEHOLDER}\ndef main():\n{textwrap.indent(main_body, '    ')}\n"
    return row(idx, context, solution, "def f(x)")


def write_rows(path: Path, lines: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def read_samples(path: Path) -> list[Sample]:
    return [Sample.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def check_counts(report: Any) -> None:
    """The report's numbers agree with each other."""
    details = report.details
    assert report.rows_read == report.samples_written + report.rows_skipped
    assert sum(details["by_reason"].values()) == report.rows_skipped == len(details["skipped"])
    assert sum(details["by_category"].values()) == report.samples_written
    assert set(details["by_reason"]) <= set(REASONS) and set(details["by_category"]) <= set(CATEGORIES)


@pytest.fixture(scope="module")
def runner() -> Iterator[GoldRunner]:
    gold_runner = GoldRunner()
    yield gold_runner
    gold_runner.close()


# -- rewriting (no sandbox) -----------------------------------------------------------------------


def test_main_block_removed_and_placeholder_kept() -> None:
    program = read_program(GC_CONTEXT, GC_SOLUTION, GC_SIGNATURE)
    assert "__main__" not in program.context
    assert "def main():" in program.context  # the test calls it
    assert program.context.split("\n")[program.placeholder_line] == PLACEHOLDER
    assert program.entry == "gc_content" and program.method_of is None
    reversed_guard = GC_CONTEXT.replace('if __name__ == "__main__":', "if '__main__' == __name__:")
    assert "__main__" not in read_program(reversed_guard, GC_SOLUTION, GC_SIGNATURE).context
    # an ordinary `if` at top level stays
    other = GC_CONTEXT.replace("def helper", "if os.sep == '/':\n    SEP = 1\ndef helper")
    assert "if os.sep == '/':" in read_program(other, GC_SOLUTION, GC_SIGNATURE).context


def test_unused_imports_are_dropped_and_used_ones_kept() -> None:
    program = read_program(GC_CONTEXT, GC_SOLUTION, GC_SIGNATURE)
    # nothing uses math, os, subprocess, numpy or chisquare; norm is unused too
    assert set(program.dropped_imports) == {"math", "os", "subprocess", "numpy", "scipy.stats.norm", "scipy.stats.chisquare"}
    assert "import" not in program.context
    # names the reference solution uses keep their imports, also a dotted one and one of a from-list
    solution = "def gc_content(seq):\n    return float(np.mean([norm.cdf(0) for _ in seq]))\n"
    kept = read_program(GC_CONTEXT.replace("import numpy as np", "import numpy as np\nimport os.path"), solution, GC_SIGNATURE)
    assert "import numpy as np" in kept.context and "from scipy.stats import norm\n" in kept.context
    assert "chisquare" not in kept.context and "os.path" in kept.dropped_imports
    assert kept.modules == ("numpy", "scipy")


def test_rm_and_mkdir_subprocess_calls_become_shutil_and_os(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = f"""import os
import subprocess
{PLACEHOLDER}
def main():
    subprocess.run('mkdir ./scratchdir', shell=True)
    with open('./scratchdir/a.txt', 'w') as f:
        f.write(str(touch(1)))
    name = 'b.txt'
    with open(name, 'w') as f:
        f.write('x')
    subprocess.run(f'rm -rf {{name}}', shell=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run('rm -rf ./scratchdir', shell=True)
    subprocess.run('rm -rf ./never-there.txt', shell=True)
    print(sorted(os.listdir('.')))
"""
    program = read_program(context, "def touch(x):\n    return x\n", "def touch(x)")
    assert "subprocess" not in program.context and "import shutil" in program.context
    assert "os.makedirs('./scratchdir', exist_ok=True)" in program.context
    assert "shutil.rmtree(f'{name}')" in program.context
    assert "mkdir -> os.makedirs" in program.rewrites and "rm -rf -> shutil.rmtree/os.remove" in program.rewrites
    # the rewritten harness does what the shell did (our own code, run here in a scratch folder)
    module = program.context.replace(PLACEHOLDER, "def touch(x):\n    return x")
    namespace: dict[str, Any] = {"__name__": "rewritten"}
    monkeypatch.chdir(tmp_path)
    exec(compile(module, "<rewritten>", "exec"), namespace)  # noqa: S102 - test program
    namespace["main"]()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "statement",
    [
        "subprocess.run('ls | wc -l', shell=True)",
        "os.system('rm -rf *')",
        "done = subprocess.run('rm -rf ./a.txt', shell=True)",
        "subprocess.run(f'rm -rf {os.getcwd()}', shell=True)",
        "subprocess.run('rm -rf ./a.txt; curl example.org', shell=True)",
        "subprocess.run(f'rm -rf {name!r}', shell=True)",
    ],
)
def test_shell_commands_that_cannot_be_translated_skip_the_row(statement: str) -> None:
    context = f"import os\nimport subprocess\nname = 'a'\n{PLACEHOLDER}\ndef main():\n    {statement}\n    print(f(1))\n"
    with pytest.raises(RowSkip) as caught:
        read_program(context, "def f(x):\n    return x\n", "def f(x)")
    assert caught.value.reason == SHELL


def test_method_placeholder_and_the_programs_own_copies_of_the_function() -> None:
    program = read_program(METHOD_CONTEXT, METHOD_SOLUTION, "def histogram(self)")
    assert program.method_of == "Tally" and program.placeholder_indent == "    "
    assert program.before_placeholder.endswith("self.items = list(items)")
    # a copy of the asked function beside the placeholder would replace any submission (after it)
    # or show the reference in the prompt (before it): both go
    copy = "    def histogram(self):\n        return {'leaked': True}\n"
    before = METHOD_CONTEXT.replace(f"    {PLACEHOLDER}\n", f"{copy}    {PLACEHOLDER}\n")
    after = METHOD_CONTEXT.replace(f"    {PLACEHOLDER}\n", f"    {PLACEHOLDER}\n    @staticmethod\n{copy}")
    for context in (before, after):
        rewritten = read_program(context, METHOD_SOLUTION, "def histogram(self)")
        assert "leaked" not in rewritten.context and "staticmethod" not in rewritten.context
        assert "removed the program's own copy of the function" in rewritten.rewrites
        assert "leaked" not in render_prompt("Count items.", "def histogram(self)", rewritten)


@pytest.mark.parametrize(
    ("context", "solution", "signature", "reason"),
    [
        ("def main():\n    print(f(1))\n", "def f(x):\n    return x\n", "def f(x)", NO_PLACEHOLDER),
        (f"# {PLACEHOLDER}\ndef main():\n    print(f(1))\n", "def f(x):\n    return x\n", "def f(x)", NO_PLACEHOLDER),
        (f"{PLACEHOLDER}\n{PLACEHOLDER}\ndef main():\n    pass\n", "def f(x):\n    return x\n", "def f(x)", NO_PLACEHOLDER),
        (f"def g():\n    {PLACEHOLDER}\ndef main():\n    pass\n", "def f(x):\n    return x\n", "def f(x)", NO_PLACEHOLDER),
        (f"def main():\n    pass\nif __name__ == '__main__':\n    {PLACEHOLDER}\n", "def f(x):\n    return x\n", "def f(x)", NO_PLACEHOLDER),
        (f"x = (\n{PLACEHOLDER}\ndef main():\n    pass\n", "def f(x):\n    return x\n", "def f(x)", UNPARSABLE),
        (f"{PLACEHOLDER}\ndef main():\n    pass\n", "def f(x):\nreturn x\n", "def f(x)", UNPARSABLE),
        (f"{PLACEHOLDER}\ndef main():\n    pass\n", "def g(x):\n    return x\n", "def f(x)", UNPARSABLE),
        (f"{PLACEHOLDER}\ndef main():\n    pass\n", "def f(x):\n    return x\n", "f(x) -> int", UNPARSABLE),
        (f"{PLACEHOLDER}\nprint(f(1))\n", "def f(x):\n    return x\n", "def f(x)", NO_MAIN),
        # parsable, but deeper than a recursive walk of the tree can go; and too deep to parse
        (f"x = {'-' * 1500}1\n{PLACEHOLDER}\ndef main():\n    pass\n", "def f(x):\n    return x\n", "def f(x)", UNPARSABLE),
        (f"x = {'+'.join(['1'] * 60_000)}\n{PLACEHOLDER}\ndef main():\n    pass\n", "def f(x):\n    return x\n", "def f(x)",
         UNPARSABLE),
    ],
)
def test_malformed_programs_are_skipped_with_their_reason(context: str, solution: str, signature: str, reason: str) -> None:
    with pytest.raises(RowSkip) as caught:
        read_program(context, solution, signature)
    assert caught.value.reason == reason


def test_modules_guarded_imports_and_relative_imports() -> None:
    context = (
        "try:\n    import not_installed_here\nexcept ImportError:\n    not_installed_here = None\n"
        f"from .sibling import thing\n{PLACEHOLDER}\ndef main():\n    print(f(thing, not_installed_here))\n"
    )
    program = read_program(context, "def f(*a):\n    import json\n    return 1\n", "def f(*a)")
    assert program.modules == ("json",) and program.relative_imports == (".sibling",)


def test_prompt_shows_the_program_before_the_placeholder_only() -> None:
    program = read_program(GC_CONTEXT, GC_SOLUTION, GC_SIGNATURE)
    prompt = render_prompt("Return the GC fraction.", GC_SIGNATURE, program)
    assert "def helper(seq):" in prompt and "WEIGHTS" in prompt and GC_SIGNATURE in prompt
    assert "def main" not in prompt and "acgtggccaa" not in prompt  # the harness and its inputs
    assert "round(sum(" not in prompt  # the solution
    assert "# <- your `gc_content` goes here" in prompt


def test_category_rule() -> None:
    assert category_of("Erode the binary image with a structuring element.", "def erode(image)", "") == "image_processing"
    assert category_of("Parse the FASTA file and return headers.", "def headers(filename)", "") == "file_formats"
    assert category_of("Benjamini-Hochberg adjusted p-values.", "def adjust(p)", "") == "statistics"
    assert category_of("Reverse complement of a DNA sequence.", "def rc(seq)", "") == "sequences"
    assert category_of("Return the settings.", "def get(self)", "") == "numeric_arrays"  # no keyword at all
    # a tie goes to the category listed first
    assert category_of("pixel fasta", "def g()", "") == "image_processing"


def test_failure_messages_are_grouped_into_reasons() -> None:
    assert classify_failure("time limit of 20 s reached")[0] == TIME_LIMIT
    assert classify_failure("printed output over the step's cap")[0] == OUTPUT_CAP
    assert classify_failure("the submitted code failed to load: ModuleNotFoundError: No module named 'aTRAM.lib'") == (
        MISSING_MODULE,
        "needs aTRAM",
    )
    removed = "AttributeError: `np.asfarray` was removed in the NumPy 2.0 release. Use `np.asarray` instead."
    assert classify_failure(removed)[0] == NUMPY2
    reason, detail = classify_failure("the submitted code failed to load: NameError: name '__file__' is not defined")
    assert reason == "other exception" and detail.startswith("NameError:")


# -- hostile files and gold (sandbox) ------------------------------------------------------------


def test_hostile_and_malformed_rows_are_counted_never_samples(tmp_path: Path, runner: GoldRunner) -> None:
    good = row("good-1", GC_CONTEXT, GC_SOLUTION, GC_SIGNATURE, problem="Return the GC fraction of a DNA sequence.")
    cases: list[tuple[Any, str]] = [
        ("this is not JSON", INVALID),
        ('{"idx": "x", "problem": ', INVALID),
        ({"a": 1}, INVALID),
        ([1, 2, 3], INVALID),
        ({**good, "idx": "wrong-type", "solution": 42}, INVALID),
        ({**good, "idx": "huge", "context": "x = 1\n" * 1_700_000}, INVALID),  # 10 MB
        ({**good, "idx": "no-placeholder", "context": "def main():\n    print(1)\n"}, NO_PLACEHOLDER),
        ({**good, "idx": "syntax", "context": f"def (:\n{PLACEHOLDER}\n"}, UNPARSABLE),
        (good, "written"),
        ({**good, "problem": "the same idx again"}, DUPLICATE),
        (program_row("silent", "f(1)"), NO_OUTPUT),
        (program_row("independent", "print('always the same')"), INDEPENDENT),
        (program_row("missing", "print(f(1))", helpers="import medagentgym_no_such_module_x\n",
                     solution="def f(x):\n    return medagentgym_no_such_module_x.g(x)\n"), MISSING_MODULE),
        (program_row("relative", "print(f(thing))", helpers="from .pkg import thing\n"), MISSING_MODULE),
        (program_row("raises", "print(f(1))", solution="def f(x):\n    return x / 0\n"), "other exception"),
        (program_row("numpy2", "print(f([1, 2]))", helpers="import numpy as np\n",
                     solution="def f(x):\n    return np.asfarray(x)\n"), NUMPY2),
        (program_row("flood", "print(f('x' * 100_000))"), OUTPUT_CAP),
        (program_row("unseeded", "print(f(np.random.rand(3)))", helpers="import numpy as np\n"), NONDETERMINISTIC),
        (program_row("set-order", "print(f({'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'}))"),
         NONDETERMINISTIC),
        (program_row("shell", "import subprocess\nprint(f(subprocess.run(['id'], capture_output=True)))"), SHELL),
        (program_row("network", "import socket\nprint(f(socket.create_connection(('127.0.0.1', 9), timeout=1)))"),
         "other exception"),
    ]
    source = tmp_path / "hostile.jsonl"
    with source.open("wb") as handle:
        for value, _ in cases:
            handle.write((value if isinstance(value, str) else json.dumps(value)).encode("utf-8") + b"\n")
        handle.write(b"\n   \n")  # blank lines are not rows
        handle.write(b'{"idx": "\xff\xfe"}\n')  # invalid UTF-8
    cases.append(("invalid UTF-8", INVALID))
    output = tmp_path / "out.jsonl"
    report = import_file(source, output, use_cache=False, runner=runner)
    check_counts(report)
    assert report.rows_read == len(cases) and report.samples_written == 1
    got = {entry["line"]: entry["reason"] for entry in report.details["skipped"]}
    expected = {number: reason for number, (_, reason) in enumerate(cases, start=1) if reason != "written"}
    expected[len(cases) + 2] = expected.pop(len(cases))  # the UTF-8 line comes after two blank lines
    assert got == expected
    assert report.details["missing_modules"] == {".pkg": 1, "medagentgym_no_such_module_x": 1}
    assert all(m.startswith("line ") for m in report.messages)
    (sample,) = read_samples(output)
    assert sample.id == "biocoder/sequences/test/official-9"
    assert sample.target.tests is not None and sample.target.tests.cases[0].expected == "0.6\n1.0\n"


def test_time_limit_is_counted_and_not_cached(tmp_path: Path, runner: GoldRunner) -> None:
    source = write_rows(tmp_path / "slow.jsonl", [program_row("loop", "while True:\n    pass")])
    report = import_file(source, tmp_path / "out.jsonl", timeout_s=1.5, runner=runner)
    assert report.details["by_reason"] == {TIME_LIMIT: 1} and report.samples_written == 0
    again = import_file(source, tmp_path / "out.jsonl", timeout_s=1.5, runner=runner)
    assert again.details["gold_cache"]["hits"] == 0  # recomputed: a loaded machine may pass next time


def test_empty_file_is_a_clear_error_and_keeps_the_earlier_output(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text("earlier\n", encoding="utf-8")
    for content in ("", "\n\n  \n"):
        source = tmp_path / "empty.jsonl"
        source.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match="no rows"):
            import_file(source, output)
    assert output.read_text(encoding="utf-8") == "earlier\n"
    with pytest.raises(ValueError, match="split"):
        import_file(source, output, split="validation")  # type: ignore[arg-type]


def test_gold_is_cached_per_environment(tmp_path: Path, runner: GoldRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_rows(tmp_path / "one.jsonl", [row("cache-1", METHOD_CONTEXT, METHOD_SOLUTION, "def histogram(self)")])
    output = tmp_path / "out.jsonl"
    cached_before = set(gold_cache_dir().glob("*.json"))
    first = import_file(source, output, runner=runner)
    assert first.samples_written == 1 and first.details["gold_cache"]["computed"] == 1
    written = output.read_text(encoding="utf-8")
    second = import_file(source, output, runner=runner)
    assert second.details["gold_cache"] == {"hits": 1, "computed": 0, "enabled": True}
    assert output.read_text(encoding="utf-8") == written
    # a damaged cache file is a miss, and is rewritten
    for path in set(gold_cache_dir().glob("*.json")) - cached_before:
        path.write_text("{not json", encoding="utf-8")
    assert import_file(source, output, runner=runner).details["gold_cache"]["computed"] == 1
    # another environment (say, a new numpy) recomputes
    real = importer_module.environment_fingerprint
    monkeypatch.setattr(importer_module, "environment_fingerprint", lambda: {**real(), "numpy": "9.9.9"})
    assert import_file(source, output, runner=runner).details["gold_cache"]["computed"] == 1


def test_cli_import_and_method_row_graded_with_its_class(tmp_path: Path, sandbox_server: Any) -> None:
    source = write_rows(tmp_path / "one.jsonl", [row("cli-1", METHOD_CONTEXT, METHOD_SOLUTION, "def histogram(self)")])
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["import", "biocoder", str(source), "--output", str(output), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["samples_written"] == 1
    refused = CliRunner().invoke(app, ["import", "biocoder", str(source), "--output", str(output), "--db", str(tmp_path)])
    assert refused.exit_code != 0 and "does not accept" in refused.output
    (sample,) = read_samples(output)
    assert sample.metadata["method_of"] == "Tally" and sample.target.tests is not None
    assert sample.target.tests.cases[0].name == CASE_NAME and sample.target.tests.cases[0].expected == "{1: 1, 2: 2, 3: 1}\n"
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        # the reference at column 0 and indented both go into the class body
        for answer in (METHOD_SOLUTION, textwrap.indent(METHOD_SOLUTION, "        ")):
            assert submit(env, sample, answer) == 1.0
        assert submit(env, sample, "def histogram(self):\n    pass\n") == 0.0
    finally:
        env.close()


def test_cli_empty_file_is_a_one_line_error(tmp_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_text("\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "biocoder", str(source), "--output", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "no rows" in lines[0]
    assert not (tmp_path / "out.jsonl").exists()


def test_gold_and_samples_are_not_readable_from_a_session(tmp_path: Path, runner: GoldRunner, sandbox_server: Any) -> None:
    source = write_rows(tmp_path / "one.jsonl", [row("secret-1", GC_CONTEXT, GC_SOLUTION, GC_SIGNATURE)])
    output = tmp_path / "out.jsonl"
    assert import_file(source, output, runner=runner).samples_written == 1
    cached = sorted(gold_cache_dir().glob("*.json"))
    assert cached and "0.6" in output.read_text(encoding="utf-8")
    with sandbox_server.open_session(()) as session:
        for path in [output, source, *cached[:3]]:
            result = session.run_python(f"print(open({str(path)!r}).read())")
            assert result.status != "ok" and "0.6" not in result.stdout, path


def submit(env: MedAgentEnv, sample: Sample, answer: Any) -> float:
    env.reset(options={"sample": sample})
    _obs, reward, terminated, _truncated, _info = env.step(json.dumps({"action": "submit", "answer": answer}))
    assert terminated
    return float(reward)


# -- the official file ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory, runner: GoldRunner) -> tuple[Any, list[Sample], Path]:
    if not OFFICIAL.exists():
        pytest.skip(f"official biocoder file not found at {OFFICIAL} (shared/reference absent)")
    output = tmp_path_factory.mktemp("biocoder") / "official.jsonl"
    report = import_file(OFFICIAL, output, runner=runner)
    return report, read_samples(output), output


@pytest.mark.slow
def test_official_file_counts_and_samples(official: tuple[Any, list[Sample], Path], runner: GoldRunner) -> None:
    report, samples, output = official
    check_counts(report)
    assert report.rows_read == 157 and report.samples_written >= 120
    assert report.details["by_reason"].get(NO_PLACEHOLDER) == 1  # the row whose placeholder is commented out
    rows = [json.loads(line) for line in OFFICIAL.read_text(encoding="utf-8").splitlines()]
    for sample in samples:
        tests = sample.target.tests
        assert tests is not None and re.fullmatch(r"biocoder/[a-z_]+/test/official-\d+", sample.id)
        official_row = rows[sample.index - 1]
        assert sample.metadata["official_idx"] == official_row["idx"]
        assert sum(line.strip() == PLACEHOLDER for line in tests.context.splitlines()) == 1
        assert "subprocess" not in tests.context and "__main__" not in tests.context
        assert "def main(" not in sample.prompt and official_row["solution"].strip() not in sample.prompt
        assert isinstance(tests.cases[0].expected, str) and tests.cases[0].expected.strip()
    # a second import reads every row's gold from the cache and writes the same samples
    written = output.read_text(encoding="utf-8")
    started = time.perf_counter()
    again = import_file(OFFICIAL, output, runner=runner)
    assert again.details["gold_cache"]["computed"] == 0 and time.perf_counter() - started < 30
    assert output.read_text(encoding="utf-8") == written


@pytest.mark.slow
def test_oracle_scores_one_and_wrong_answers_zero_on_every_official_sample(
    official: tuple[Any, list[Sample], Path], sandbox_server: Any
) -> None:
    _report, samples, _output = official
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        for sample in samples:
            oracle = run_episode(env, OraclePolicy(), sample, run_id="oracle")
            assert oracle.success, (sample.id, oracle.score)
            wrong = run_episode(env, WrongAnswerPolicy(), sample, run_id="wrong")
            assert not wrong.success, sample.id
            tests = sample.target.tests
            assert tests is not None
            # an empty body never passes: rows whose output does not depend on the function are skipped
            assert submit(env, sample, f"def {tests.entry}(*args, **kwargs):\n    pass\n") == 0.0, sample.id
    finally:
        env.close()


@pytest.mark.slow
def test_gaming_answers_score_zero_on_official_samples(
    official: tuple[Any, list[Sample], Path], sandbox_server: Any
) -> None:
    _report, samples, _output = official
    functions = [s for s in samples if s.metadata["method_of"] is None][:4]
    methods = [s for s in samples if s.metadata["method_of"]][:2]
    assert len(functions) == 4 and len(methods) == 2
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        for sample in [*functions, *methods]:
            tests = sample.target.tests
            assert tests is not None
            entry, gold = tests.entry, tests.cases[0].expected
            arguments = "self, *args, **kwargs" if sample.metadata["method_of"] else "*args, **kwargs"
            gaming = {
                # prints what main() prints (known here, never to an agent) instead of returning it
                "prints the output": f"def {entry}({arguments}):\n    print({gold!r}, end='')\n",
                "prints and exits": f"def {entry}({arguments}):\n    print({gold!r}, end='')\n    raise SystemExit(0)\n",
                # reads the harness: the caller's frame, its source, the module's globals
                "reads the harness": (
                    f"def {entry}({arguments}):\n    import inspect, sys\n    frames = inspect.stack()\n"
                    "    print([f.function for f in frames], sorted(sys._getframe(1).f_globals)[:20])\n"
                    "    try:\n        return inspect.getsource(sys._getframe(1))\n"
                    "    except Exception as exc:\n        return repr(exc)\n"
                ),
                "empty body": f"def {entry}({arguments}):\n    pass\n",
                "not code": 42,
                "another name": "def something_else():\n    return 1\n",
            }
            for what, answer in gaming.items():
                assert submit(env, sample, answer) == 0.0, (sample.id, what)
            # the reference itself, at column 0 (methods included), passes
            assert submit(env, sample, _reference(sample)) == 1.0, sample.id
    finally:
        env.close()


def _reference(sample: Sample) -> str:
    namespace: dict[str, Any] = {}
    exec(sample.solution.code, namespace)  # noqa: S102 - the solution only assigns a string
    answer = namespace["answer"]
    assert isinstance(answer, str)
    return answer
