"""`medagentgym import biodsbench FILE --data DIR`: official rows graded by their own asserts.

Three layers: the assert conversion (pure ``ast``, every supported form, hostile test text),
the importer over a data folder written by the study generator (rows whose reference runs become
samples, the others are skipped with their reason), and the samples in the env (the oracle scores
1; wrong values, wrong types, objects that say yes to every comparison, shadowed or patched
builtins score 0). Test rows here are written for these tests; the release's file is only read,
in the last test, when it is present.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medagentgym.catalog.sample import Sample
from medagentgym.cli import app
from medagentgym.datasets.biodsbench import importer
from medagentgym.datasets.biodsbench.official_tests import (
    BUILTINS_ALIAS,
    OfficialTestsError,
    UnsafeTestsError,
    convert_tests,
)
from medagentgym.datasets.biodsbench.study import write_study

OFFICIAL = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release" / "biodsbench" / "train_tasks.jsonl"


# ------------------------------------------------------------------ the assert conversion


def _one(test: str, reference: str = "") -> Any:
    converted = convert_tests(test, ast.parse(reference) if reference else None)
    assert len(converted.checks) == 1, converted
    return converted.checks[0]


@pytest.mark.parametrize(
    ("test", "expr", "rel", "absolute", "form"),
    [
        ("assert kmf.event_observed.sum() == 12", "kmf.event_observed.sum()", None, None, "compare"),
        ("assert 12 == kmf.event_observed.sum()", "kmf.event_observed.sum()", None, None, "compare"),
        ("assert abs(kmf.durations.sum() - 118.5) < 1e-8", "kmf.durations.sum()", 0.0, 1e-8, "abs-difference"),
        ("assert abs(118.5 - pvalue) <= 0.01", "pvalue", 0.0, 0.01, "abs-difference"),
        ("assert 1e-3 > abs(pvalue - 0.2)", "pvalue", 0.0, 1e-3, "abs-difference"),
        ("assert abs(coef + 0.5) < 1e-8", "coef", 0.0, 1e-8, "abs-difference"),
        ("assert abs(df['Count'].sum() - 334) == 0", "df['Count'].sum()", 0.0, 0.0, "abs-difference"),
        ("assert np.abs(ratio - 0.5) < 1e-6", "ratio", 0.0, 1e-6, "abs-difference"),
        ("assert np.isclose(hr, 1.5, rtol=1e-3)", "hr", 1e-3, 1e-8, "isclose"),
        ("import math\nassert math.isclose(hr, 1.5, abs_tol=0.1)", "hr", 1e-9, 0.1, "isclose"),
        ("assert np.allclose(arr, [1.0, 2.0])", "arr", 1e-5, 1e-8, "allclose"),
        ("assert np.array_equal(arr, [1, 2])", "arr", 0.0, 0.0, "array_equal"),
        ("assert min(list(results.values())) < 0.1", f"{BUILTINS_ALIAS}.min({BUILTINS_ALIAS}.list(results.values()))", None, None, "compare"),
        ("assert not counts.empty", "counts.empty", None, None, "truth"),
        ("assert df['flag'].any()", "df['flag'].any()", None, None, "truth"),
        ("assert df.shape == (761, 2)", "df.shape", None, None, "compare"),
    ],
)
def test_value_forms_keep_only_the_agent_side(test: str, expr: str, rel: float | None, absolute: float | None, form: str) -> None:
    check = _one(test)
    assert (check.kind, check.expr, check.rel_tol, check.abs_tol, check.form) == ("value", expr, rel, absolute, form)
    assert "assert" not in check.expr and "118.5" not in check.expr  # the literal stays on our side


@pytest.mark.parametrize(
    ("test", "form"),
    [
        ("assert len(bars) == len(patients)", "two-agent-sides"),
        ("assert cols.tolist() == cols.tolist()", "two-agent-sides"),
        ("assert 'sample ID' in table.columns", "membership-or-identity"),
        ("assert result is not None", "membership-or-identity"),
        ("import lifelines\nassert isinstance(kmf, lifelines.KaplanMeierFitter)", "isinstance"),
        ("assert 0 < pvalue < 1", "chained-compare"),
        ("assert a > 1 or b > 1", "or"),
        ("assert not (a == b)", "negated-condition"),
        ("assert abs(a - b) < 1e-8", "two-agent-sides"),
    ],
)
def test_conditions_are_whole_and_must_be_true(test: str, form: str) -> None:
    check = _one(test)
    assert (check.kind, check.form) == ("condition", form)


def test_builtins_and_modules_are_read_through_private_aliases() -> None:
    check = _one("import lifelines\nassert isinstance(kmf, lifelines.KaplanMeierFitter)")
    assert check.expr == f"{BUILTINS_ALIAS}.isinstance(kmf, _medagentgym_t_m_lifelines.KaplanMeierFitter)"
    assert check.setup.splitlines() == [f"import builtins as {BUILTINS_ALIAS}", "import lifelines as _medagentgym_t_m_lifelines"]
    check = _one("assert pd.Series(x).sum() == 3")  # pd without an import: the session's pandas
    assert check.expr == "_medagentgym_t_m_pd.Series(x).sum()" and check.setup == "import pandas as _medagentgym_t_m_pd"
    assert check.variables == ("x",)


def test_and_splits_and_duplicates_merge_with_the_tighter_tolerance() -> None:
    converted = convert_tests("assert a == 1 and b == 2\nassert abs(a - 1) < 1e-3\nassert abs(a - 1) < 1e-6")
    assert [c.expr for c in converted.checks] == ["a", "b"]
    assert (converted.checks[0].rel_tol, converted.checks[0].abs_tol) == (0.0, 1e-6)
    assert converted.checks[1].rel_tol is None  # exact unless the expected value is a float
    assert converted.variables == ("a", "b")


def test_names_resolve_as_the_test_binds_them() -> None:
    # a name the test computed itself from the files is ours: only the agent side is checked
    converted = convert_tests(
        'INPUT_DIR = "/workdir"\nimport os\n'
        'data = pd.read_csv(os.path.join(INPUT_DIR, "data_clinical_patient.csv"))\n'
        "assert sex_counts.equals(data['SEX'].value_counts())\n"
        "assert median_age == data['AGE'].median()\n"
    )
    assert [(c.expr, c.form) for c in converted.checks] == [("sex_counts", "equals"), ("median_age", "compare")]
    assert converted.variables == ("sex_counts", "median_age")
    # a name derived from the agent's variables by one assignment is inlined
    check = convert_tests("import pandas as pd\nres = pd.Series(results)\nassert res.index[res.argmin()] == 'BRAF'").checks[0]
    assert check.expr == "_medagentgym_t_m_pd.Series(results).index[_medagentgym_t_m_pd.Series(results).argmin()]"
    # the test changing an agent variable first cannot be reproduced without running it there
    converted = convert_tests("kmf.fit([1, 2], [1, 0])\nassert kmf.durations.sum() == 3\nassert other == 1")
    assert [c.expr for c in converted.checks] == ["other"] and converted.dropped == {"needs_test_setup": 1}
    # a condition over a test-computed name has nothing to evaluate against in the agent's session
    converted = convert_tests("data = pd.read_csv('/workdir/x.csv')\nassert len(out) == len(data) + len(out)")
    assert not converted.checks and converted.dropped == {"needs_test_setup": 1}
    # asserts that read no variable of the agent test nothing
    converted = convert_tests("x = 1\nassert x == 1\nassert 2 > 1\nassert y == 2")
    assert [c.expr for c in converted.checks] == ["y"] and converted.dropped == {"tests_nothing": 2}


def test_a_variable_named_like_a_module_or_builtin_is_the_agents() -> None:
    reference = "import os\nimport pandas as pd\nmedian = 27.1\nos = median\nmax = 3\n"
    converted = convert_tests("assert abs(os - 27.17) < 1e-8\nassert max == 3\nassert len(x) == 2", ast.parse(reference))
    assert [c.expr for c in converted.checks] == ["os", "max", f"{BUILTINS_ALIAS}.len(x)"]
    assert converted.variables == ("os", "max", "x")


@pytest.mark.parametrize(
    "test",
    [
        "assert __import__('os').system('touch /tmp/medagentgym-pwned') == 0",
        "import os\nassert os.system('true') == 0",
        "import os as o\nassert o.system('true') == 0",
        "from os import system\nassert system('true') == 0",
        "import subprocess\nassert subprocess.run(['true']).returncode == 0",
        "assert open('/etc/passwd').read() != ''",
        "assert eval('1') == 1",
        "assert x.__class__.__subclasses__() == []",
        "assert getattr(x, 'y') == 1",
        "from os import *\nassert x == 1",
        "import importlib\nassert x == 1",
    ],
)
def test_unsafe_tests_are_refused(test: str) -> None:
    with pytest.raises(UnsafeTestsError):
        convert_tests(test)


@pytest.mark.parametrize(
    "text",
    [None, 42, ["assert x"], "assert (", "assert x ==", "\x00", "(" * 5000 + ")" * 5000, "assert x == 1\n" * 10_000],
)
def test_unreadable_tests_raise_one_error(text: object) -> None:
    with pytest.raises(OfficialTestsError):
        convert_tests(text)


@pytest.mark.parametrize("depth", [900, 5000, 20000])
def test_deep_nesting_in_an_assert_is_one_error(depth: int) -> None:
    with pytest.raises(OfficialTestsError, match="nested too deeply|cannot be parsed"):
        convert_tests("assert " + "-" * depth + "x == 1")


def test_split_from_the_file_name() -> None:
    assert importer.split_from_name(Path("train_tasks.jsonl")) == "train"
    assert importer.split_from_name(Path("biodsbench-test.jsonl")) == "test"
    assert importer.split_from_name(Path("tasks.jsonl")) == "test"
    assert importer.split_from_name(Path("trainer.jsonl")) == "test"


def test_category_rules() -> None:
    known = frozenset({"kaplan-meier", "logrank-test", "clinical-crosstab"})
    assert importer.category_for("Make the survival curve of OS for all patients", known) == "kaplan-meier"
    assert importer.category_for("Get the p-value of the log-rank test", known) == "logrank-test"
    assert importer.category_for("Give me the distribution of stages", known) == "clinical-crosstab"
    assert importer.category_for("Make an oncoprint", known) == importer.OFFICIAL_CATEGORY
    assert importer.category_for("Make the survival curve", frozenset()) == importer.OFFICIAL_CATEGORY


def test_paths_are_rewritten_in_code_and_files_read_are_found(tmp_path: Path) -> None:
    code = 'import os\nINPUT_DIR = "/workdir"\na = pd.read_csv("/workdir/data_cna.csv")\nb = os.path.join(INPUT_DIR, "x.txt")\nc = f"/workdir/{a}"\n'
    out = importer.rewrite_paths(code, tmp_path)
    assert "/workdir" not in out and f"'{tmp_path}'" in out and f"'{tmp_path}/data_cna.csv'" in out
    assert importer._needed_files(code) == ["data_cna.csv", "x.txt"]


# ------------------------------------------------------------------ the importer

KM_REFERENCE = """
import pandas as pd
from lifelines import KaplanMeierFitter

patients = pd.read_csv("/workdir/data_clinical_patient.csv").dropna(subset=["OS_MONTHS", "OS_STATUS"])
kmf = KaplanMeierFitter()
kmf.fit(patients["OS_MONTHS"], event_observed=patients["OS_STATUS"].str.startswith("1"))
"""
KM_TESTS = """import lifelines
assert isinstance(kmf, lifelines.KaplanMeierFitter)
assert kmf.event_observed.sum() == 999
assert abs(kmf.durations.sum() - 1.5) < 1e-8
"""
COUNT_REFERENCE = """
INPUT_DIR = "/workdir"
patients = pd.read_csv(os.path.join(INPUT_DIR, "data_clinical_patient.csv"))
sex_counts = patients["SEX"].value_counts()
n = patients["PATIENT_ID"].nunique()
median_age = float(patients["AGE"].median())
stages = sorted(patients["STAGE"].dropna().unique().tolist())
"""
COUNT_TESTS = """INPUT_DIR = "/workdir"
data = pd.read_csv(os.path.join(INPUT_DIR, "data_clinical_patient.csv"))
assert n == 19
assert sex_counts.equals(data["SEX"].value_counts())
assert len(sex_counts) == patients["SEX"].nunique()
assert "Female" in sex_counts.index
assert abs(median_age - 61.0) < 1e-8
assert stages == ["I", "II"]
"""
LISTING = "A Dataframe stored in `/workdir/data_clinical_patient.csv`. Dataframe schema: ...\nA Dataframe stored in `/workdir/data_mutations.csv`."


def _row(study: str, query: str, reference: str, tests: str, **extra: Any) -> dict[str, Any]:
    return {
        "queries": query, "chat_histories": "[]", "dataframes": LISTING, "reference_codes": "[]",
        "study_ids": study, "question_ids": "0", "test_cases": tests, "reference_answer": reference,
        "cot_instructions": "", **extra,
    }


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two synthetic studies, written by the study generator under their study ids."""
    root = tmp_path_factory.mktemp("biodsbench-data")
    write_study(root / "S1", 7, profile="glioma", n_patients=40, study_id="S1")
    write_study(root / "S2", 8, profile="esophagogastric", n_patients=30, study_id="S2")
    (root / "S2" / "notes.md").write_text("not a data file")  # never copied
    return root


@pytest.fixture(scope="module")
def marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file hostile rows try to create: it must never appear (nothing runs outside the sandbox)."""
    return tmp_path_factory.mktemp("marker") / "pwned"


@pytest.fixture(scope="module")
def imported(data_folder: Path, marker: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[Sample]]:
    """One import of good and bad rows (module-scoped: the sandbox runs are the slow part)."""
    rows: list[Any] = [
        _row("S1", "Make the overall survival curve of all patients. Save the fitter as `kmf`.", KM_REFERENCE, KM_TESTS),  # 1
        _row("S2", "How many patients, their sex distribution, median age and stages?", COUNT_REFERENCE, COUNT_TESTS),  # 2
        _row("S1", "q", "x = pd.read_csv('/workdir/data_clinical_patient.csv')['NOT_A_COLUMN']", "assert x == 1"),  # 3 fails
        _row("S9", "q", "n = 1", "assert n == 1"),  # 4 no study folder
        _row("S1", "q", "n = pd.read_csv('/workdir/data_absent.csv')", "assert n == 1"),  # 5 missing file
        _row("S1", "q", "x = int.from_bytes(os.urandom(8), 'big')", "assert x >= 0"),  # 6 nondeterministic
        _row("S1", "q", "names = ['a']", "assert 'b' in names"),  # 7 fails its own condition
        _row("S1", "q", "n = 1", f"assert __import__('os').system('touch {marker}') == 0"),  # 8 unsafe
        _row("S1", "q", f"open({str(marker)!r}, 'w').write('x')\nn = 1", "assert n == 1"),  # 9 writes outside
        _row("S1", "q", "n = 1", 42),  # 10 tests not text
        _row("S1", "q", "n = 1", "x = 1\nassert x == 1"),  # 11 nothing of the agent's
        _row("../..", "q", "n = 1", "assert n == 1"),  # 12 study id escaping the folder
        {"a": 1},  # 13
        [1, 2],  # 14
        _row("S1", "q", "while True:\n    pass", "assert n == 1"),  # 15 runs forever
        _row("S1", "q", "n = (", "assert n == 1"),  # 16 reference not Python
    ]
    source = tmp_path_factory.mktemp("biodsbench-rows") / "train_tasks.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines.insert(13, "{not json")  # line 14
    lines.insert(14, "")  # blank line (not a row)
    source.write_text("\n".join(lines) + "\n")
    output = source.parent / "out.jsonl"
    report = importer.import_file(source, output, data=str(data_folder), query_timeout_s=5)
    samples = [Sample.model_validate_json(line) for line in output.read_text().splitlines()]
    return report, samples


@pytest.mark.slow  # one import of 16 rows in two sandbox servers, then episodes
def test_rows_that_run_become_samples_and_the_rest_are_counted(imported: tuple[Any, list[Sample]], marker: Path) -> None:
    report, samples = imported
    assert [s.id.rsplit("/", 1)[1] for s in samples] == ["official-1", "official-2"]
    assert all(s.split == "train" and s.dataset == "biodsbench" for s in samples)  # from the file's name
    assert report.rows_read == 17 and report.samples_written == 2 and report.rows_skipped == 15
    assert report.details["skipped_by_reason"] == {
        "invalid_row": 5,  # tests not text is caught as a field type; {"a":1}; [1,2]; bad JSON; "../.."
        "missing_files": 1,
        "no_checks": 1,
        "no_study_folder": 1,
        "nondeterministic": 1,
        "reference_fails": 2,
        "reference_fails_condition": 1,
        "reference_timeout": 1,
        "reference_unreadable": 1,
        "unsafe_tests": 1,
    }
    reasons = {int(m.split()[1].rstrip(":")): m for m in report.messages}
    assert "NOT_A_COLUMN" in reasons[3] and "S9" in reasons[4] and "data_absent.csv" in reasons[5]
    assert "__import__" in reasons[8]
    assert not marker.exists()  # neither the unsafe test nor the reference wrote outside the sandbox
    assert report.details["checks"] == {
        "value": 6,
        "condition": 3,
        "by_form": {"abs-difference": 2, "compare": 3, "equals": 1, "isinstance": 1, "membership-or-identity": 1, "two-agent-sides": 1},
    }
    # the literals of the official asserts are for the original study, not this synthetic one
    held = report.details["official_asserts_on_reference"]
    assert held["held"] + held["failed"] + held["error"] == 9 and held["failed"] >= 3


@pytest.mark.slow
def test_samples_hold_the_reference_values_and_never_show_them(imported: tuple[Any, list[Sample]], data_folder: Path) -> None:
    _, samples = imported
    km, counts = samples
    tests = km.target.tests
    assert tests is not None and tests.mode == "namespace" and tests.variables == ("kmf",)
    by_name = {c.name: c for c in tests.cases}
    assert by_name["kmf.event_observed.sum()"].expected != 999 and (by_name["kmf.event_observed.sum()"].rel_tol, by_name["kmf.event_observed.sum()"].abs_tol) == (0.0, 0.0)
    assert by_name["kmf.durations.sum()"].abs_tol == 1e-8 and by_name["kmf.durations.sum()"].expected != 1.5
    assert by_name["condition 1 on kmf"].expected is True
    assert counts.target.tests is not None and counts.target.tests.variables == ("n", "sex_counts", "patients", "median_age", "stages")
    study = Path(km.resources[0].path)
    assert km.resources[0].kind == "directory" and km.resources[0].name == "study"
    assert study.parent == importer.studies_dir() and sorted(p.name for p in study.iterdir()) == sorted(
        p.name for p in (data_folder / "S1").iterdir() if p.suffix == ".csv"
    )
    for sample in samples:
        prompt = sample.prompt
        assert "assert" not in prompt and "999" not in prompt and "KaplanMeierFitter()" not in prompt
        assert "/workdir/" not in prompt.replace("where the task says `/workdir/`", "")
        assert sample.resources[0].path in prompt and "data_clinical_patient.csv" in prompt
        for name in sample.target.tests.variables:  # type: ignore[union-attr]
            assert f"`{name}`" in prompt
        public = json.dumps(sample.public_view())
        assert "expected" not in public and "official_tests" not in public and "_medagentgym_t_" not in public
        assert "/workdir" not in sample.solution.code and sample.solution.code.rstrip().endswith("answer = 'done'")


@pytest.fixture(scope="module")
def env() -> Iterator[Any]:
    from medagentgym.env import MedAgentEnv

    environment = MedAgentEnv()
    yield environment
    environment.close()


def _episode(env: Any, sample: Sample, code: str | None) -> tuple[float, str]:
    env.reset(options={"sample": sample})
    if code is not None:
        _, _, _, _, info = env.step(json.dumps({"action": "execute_python", "code": code}))
    _, reward, done, _, info = env.step(json.dumps({"action": "submit", "answer": "done"}))
    assert done
    return reward, info["score"]["explanation"]


@pytest.mark.slow
def test_oracle_scores_one_and_the_wrong_answer_policy_zero(imported: tuple[Any, list[Sample]], env: Any) -> None:
    from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
    from medagentgym.rollout import run_episode

    for sample in imported[1]:
        oracle = run_episode(env, OraclePolicy(), sample, run_id="t")
        assert oracle.success and oracle.reward == 1.0, oracle.score.explanation
        wrong = run_episode(env, WrongAnswerPolicy(), sample, run_id="t")
        assert not wrong.success and wrong.reward < 1.0


@pytest.mark.slow
def test_gaming_answers_score_zero(imported: tuple[Any, list[Sample]], env: Any) -> None:
    km, counts = imported[1]
    load = KM_REFERENCE.replace("/workdir", km.resources[0].path)
    attacks = {
        "nothing computed": None,
        "wrong value": load + "kmf = KaplanMeierFitter().fit(patients['OS_MONTHS'] + 1.0)",
        "right name, wrong type": "kmf = {'event_observed': [1, 1], 'durations': [1.5]}",
        "says yes to everything": (
            "class Yes(float):\n"
            "    def __eq__(self, other): return True\n"
            "    def __lt__(self, other): return True\n"
            "    def __le__(self, other): return True\n"
            "    def __hash__(self): return 0\n"
            "    def sum(self): return self\n"
            "    def __getattr__(self, name): return self\n"
            "    def __sub__(self, other): return Yes(0.0)\n"
            "    def __abs__(self): return Yes(0.0)\n"
            "kmf = Yes(0.0)\n"
        ),
        "shadowed and patched builtins": (
            "import builtins\n"
            "builtins.abs = lambda x: 0\n"
            "abs = lambda x: 0\n"
            "AssertionError = None\n"
            "builtins.AssertionError = Exception\n"
            "kmf = None\n"
        ),
    }
    for what, code in attacks.items():
        reward, explanation = _episode(env, km, code)
        assert reward < 1.0, (what, explanation)
    count_attacks = {
        "values as strings": "n = '40'\nsex_counts = 'Female 20'\nmedian_age = '61'\nstages = 'I II'\npatients = None",
        "len shadowed": "len = lambda x: 0\nn = 0\nsex_counts = []\npatients = []\nmedian_age = 0.0\nstages = []",
        "yes-objects": (
            "class Yes(list):\n"
            "    def __eq__(self, other): return True\n"
            "    def __contains__(self, item): return True\n"
            "    def equals(self, other): return True\n"
            "    index = property(lambda self: self)\n"
            "n = sex_counts = patients = median_age = stages = Yes()\n"
        ),
    }
    for what, code in count_attacks.items():
        reward, explanation = _episode(env, counts, code)
        assert reward < 1.0, (what, explanation)


# ------------------------------------------------------------------ the command line


def _one_line_error(result: Any, *needles: str) -> str:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_without_data_the_command_says_so_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "train_tasks.jsonl"
    source.write_text(json.dumps(_row("S1", "q", "n = 1", "assert n == 1")) + "\n")
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["import", "biodsbench", str(source), "--output", str(output)])
    _one_line_error(result, "--data")
    assert not output.exists()
    result = CliRunner().invoke(app, ["import", "biodsbench", str(source), "--data", str(tmp_path / "nowhere")])
    _one_line_error(result, "nowhere")
    with pytest.raises(ValueError, match="--data"):
        importer.import_file(source, output)
    with pytest.raises(TypeError):
        importer.import_file(source, output, data=str(tmp_path), db="x")


@pytest.mark.parametrize("content", [b"", b'{"a": 1}\n', b"{not json\n", b"\x00\xff\n", b"[]\n", b'"assert x"\n'])
def test_hostile_files_never_crash_the_command(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "tasks.jsonl"
    source.write_bytes(content)
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["import", "biodsbench", str(source), "--output", str(output), "--data", str(tmp_path)])
    # Empty, not JSONL, or no BioDSBench row: one line naming the file, nothing written (issue 14).
    _one_line_error(result, str(source))
    assert not output.exists()


# ------------------------------------------------------------------ the release's file


def test_every_official_test_text_converts() -> None:
    """The release's 50 rows: every ``test_cases`` reads; its 137 asserts become 121 value
    checks (77 comparisons, 39 absolute differences, 3 ``equals``, 2 truth values) and 16
    conditions (9 ``isinstance``, 6 with the agent on both sides, 1 membership); none dropped."""
    if not OFFICIAL.exists():
        pytest.skip(f"official BioDSBench task file not found at {OFFICIAL} (shared/reference absent)")
    kinds: dict[str, int] = {"value": 0, "condition": 0}
    dropped = 0
    for line in OFFICIAL.read_text("utf-8").splitlines():
        row = json.loads(line)
        try:
            reference = ast.parse(row["reference_answer"])
        except SyntaxError:
            reference = None
        converted = convert_tests(row["test_cases"], reference)
        assert converted.checks
        dropped += sum(converted.dropped.values())
        for check in converted.checks:
            kinds[check.kind] += 1
            assert "assert" not in check.expr
    assert dropped == 0
    assert kinds == {"value": 121, "condition": 16}
