"""The biocoder package: its table, its generator (distinct, deterministic, disjoint splits), what
the agent sees, and grading through the real env and sandbox (oracle 1, wrong and gaming answers 0).

Generation is exercised on the families of this package's author (``sequences``, ``alignment``);
the other families have their own test files and the registry-wide contract test.
"""

from __future__ import annotations

import ast
import json

import pytest

from medagentgym.catalog import get_dataset
from medagentgym.catalog.dataset import ImportReport
from medagentgym.catalog.sample import PLACEHOLDER, SPLITS, AnswerType
from medagentgym.catalog.selection import find_sample
from medagentgym.codetests.reference import ReferenceSolutionError, compute_expected
from medagentgym.datasets.biocoder import DATASET, categories, fn_sequences, generate
from medagentgym.datasets.biocoder.spec import (
    FunctionTemplate,
    Variant,
    bind_variant,
    call_case,
    raises_case,
)
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode

OWN = ("sequences", "alignment")
EXPECTED_ROWS = ("sequences", "alignment", "file_formats", "intervals", "tabular_clustering", "numeric_arrays",
                 "statistics", "image_processing")


# -- the package and its table ---------------------------------------------------------------------


def test_registered_with_its_family() -> None:
    dataset = get_dataset("biocoder")
    assert dataset is DATASET
    assert dataset.family == "bioinformatics_code"
    dataset.build()  # nothing to build, and it says so by doing nothing


def test_import_file_delegates_to_the_importer(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    importer = pytest.importorskip("medagentgym.datasets.biocoder.importer")
    calls = []

    def fake_import(source, output, **options):
        calls.append((source, output, options))
        return ImportReport(dataset="biocoder", source=str(source), rows_read=0, samples_written=0)

    monkeypatch.setattr(importer, "import_file", fake_import)
    report = DATASET.import_file(str(tmp_path / "rows.jsonl"), tmp_path / "out.jsonl", split="test")
    assert report.dataset == "biocoder"
    assert calls == [(tmp_path / "rows.jsonl", tmp_path / "out.jsonl", {"split": "test"})]


def test_table_has_the_eight_families_and_the_release_counts() -> None:
    specs = categories.load_specs()
    assert tuple(s.name for s in specs) == EXPECTED_ROWS
    assert all(s.module.startswith("fn_") for s in specs)
    for scale in ("counts", "full_counts"):
        totals = {split: sum(getattr(s, scale)[split] for s in specs) for split in SPLITS}
        assert totals == {"train": 981, "test": 157}, scale
    assert sorted(s.counts["test"] for s in specs) == [19, 19, 19, 20, 20, 20, 20, 20]
    assert all(s.present() for s in specs)  # a family left out would shrink the catalog silently
    assert [c.name for c in DATASET.categories()] == list(EXPECTED_ROWS)


def test_categories_are_the_rows_whose_module_exists() -> None:
    listed = [c.name for c in DATASET.categories()]
    assert set(OWN) <= set(listed)
    assert listed == [s.name for s in categories.load_specs() if s.present()]
    for category in DATASET.categories():
        assert category.answer_type is AnswerType.CODE_TESTS
        assert category.count("test") == category.count("test", full=True)


def test_a_missing_family_fails_only_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = categories.CategorySpec("ghost", "A family not written yet", "fn_not_written_yet", "numpy",
                                    {"train": 1, "test": 1}, {"train": 1, "test": 1})
    table = categories.load_specs()
    monkeypatch.setattr(categories, "load_specs", lambda: (*table, ghost))
    assert "ghost" not in [c.name for c in DATASET.categories()]
    with pytest.raises(categories.MissingFamilyError, match="fn_not_written_yet"):
        DATASET.generate("ghost", "test", 0)
    with pytest.raises(KeyError, match="unknown biocoder category"):
        DATASET.generate("no_such_family", "test", 0)
    with pytest.raises(ValueError, match="split"):
        DATASET.generate("sequences", "validation", 0)  # type: ignore[arg-type]


def _template(key: str, split: str) -> FunctionTemplate:
    def draw(rng):
        return Variant("f", "def f(x: int) -> int", "Return x.", "def f(x):\n    return x\n", (call_case("f", 1),) * 4)

    return FunctionTemplate(key, split, draw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        (None, "non-empty tuple"),
        ((), "non-empty tuple"),
        (("not a template",), "FunctionTemplate"),
        ((_template("a", "train"), _template("a", "test")), "repeats"),
        (tuple(_template(str(i), "train") for i in range(9)) + (_template("t", "test"),), "test-only"),
        ((_template("t", "test"),), "test-only"),
    ],
)
def test_family_modules_are_checked(templates, message: str) -> None:
    with pytest.raises(categories.FamilyError, match=message):
        categories.checked_templates("a family", templates)
    assert categories.templates_of("sequences") == categories.checked_templates("again", fn_sequences.TEMPLATES)


def test_case_helpers() -> None:
    raising = "def f(x):\n    if x < 0:\n        raise ValueError(x)\n    if x == 0:\n        raise TypeError(x)\n    return x\n"
    cases = compute_expected(raising, [raises_case("f", -1), raises_case("f", 2), call_case("f", 3)])
    assert [c.expected for c in cases] == ["ValueError", "returned 2", 3]
    with pytest.raises(ReferenceSolutionError):  # another exception is no pass
        compute_expected(raising, [raises_case("f", 0)])
    long = call_case("f", "A" * 200)
    assert len(long.name) <= 90 and long.expr == f"f({'A' * 200!r})"

    def _double(x: int, factor: int) -> int:
        return x * factor

    variant = bind_variant("double", "x: int", "int", "x", _double, {"factor": 2}, "Double x.", [call_case("double", 4)],
                           {"factor": 2})
    assert variant.signature == "def double(x: int) -> int"
    assert variant.reference.endswith("def double(x: int) -> int:\n    return _double(x, factor=2)\n")
    assert compute_expected(variant.reference, variant.cases)[0].expected == 8


def test_template_keys_are_unique_across_present_families() -> None:
    keys = [t.key for spec in categories.present_specs() if spec.name in OWN for t in categories.templates_of(spec.name)]
    assert len(keys) == len(set(keys))


# -- generation ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_samples():
    """Every sample of the two families in both splits (the default catalog is the full one)."""
    return {
        (category, split): [DATASET.generate(category, split, i) for i in range(DATASET_COUNTS[category][split])]
        for category in OWN
        for split in SPLITS
    }


DATASET_COUNTS = {c.name: {s: c.count(s) for s in SPLITS} for c in DATASET.categories()}


def test_every_index_generates_distinct_instances(own_samples) -> None:
    for (category, split), samples in own_samples.items():
        assert len(samples) == DATASET_COUNTS[category][split]
        keys = [s.metadata["content_key"] for s in samples]
        assert len(set(keys)) == len(keys), (category, split)
        assert len({s.id for s in samples}) == len(samples)
        for s in samples:
            assert (s.dataset, s.category, s.split, s.seed) == ("biocoder", category, split, 0)
            assert s.metadata["content_key"].startswith(s.metadata["template"] + "|")
            assert 4 <= len(s.target.tests.cases) <= 8


def test_splits_are_disjoint_by_template(own_samples) -> None:
    for category in OWN:
        train, test = own_samples[(category, "train")], own_samples[(category, "test")]
        assert not {s.metadata["content_key"] for s in train} & {s.metadata["content_key"] for s in test}
        assert not {s.metadata["template"] for s in train} & {s.metadata["template"] for s in test}
        split_of = {t.key: t.split for t in categories.templates_of(category)}
        assert all(split_of[s.metadata["template"]] == s.split for s in train + test)
        # the templates take turns: every template of the split is asked
        for split, samples in (("train", train), ("test", test)):
            asked = {s.metadata["template"] for s in samples}
            assert asked == {t.key for t in categories.templates_in(category, split)}, (category, split)


def test_generation_is_deterministic_and_seeded(own_samples) -> None:
    for category in OWN:
        first = own_samples[(category, "train")][37]
        generate.variant_sequence.cache_clear()  # drawn again from scratch
        assert DATASET.generate(category, "train", 37) == first
        assert find_sample(first.id) == first
        other = [DATASET.generate(category, "test", i, seed=1).metadata["content_key"] for i in range(5)]
        assert other != [s.metadata["content_key"] for s in own_samples[(category, "test")][:5]]
    with pytest.raises(IndexError):
        DATASET.generate("sequences", "test", -1)


def test_an_exhausted_space_is_reported() -> None:
    sequence = generate.VariantSequence("tiny", "train", 0, (_template("only", "train"),))
    sequence.get(0)
    with pytest.raises(RuntimeError, match="exhausted"):
        sequence.get(1)


def reference_of(sample) -> str:
    """The reference source the oracle's code holds (its first line is ``answer = <repr>``)."""
    first = sample.solution.code.splitlines()[0]
    assert first.startswith("answer = ")
    return ast.literal_eval(first[len("answer = "):])


def test_prompt_and_public_view_hide_the_reference_and_the_cases(own_samples) -> None:
    for samples in own_samples.values():
        for s in samples:
            tests = s.target.tests
            view = s.public_view()
            assert not {"target", "solution", "metadata"} & set(view)
            shown = json.dumps(view)
            assert f"`{tests.entry}`" in s.prompt and "Signature:" in s.prompt and "may import" in s.prompt
            assert tests.mode == "function" and PLACEHOLDER not in s.prompt
            body = [line.strip() for line in reference_of(s).splitlines() if line.strip()]
            leaked = [line for line in body if len(line) > 20 and line in s.prompt]
            assert not leaked, (s.id, leaked)
            assert "return _" not in shown and "def _" not in shown
            for case in tests.cases:
                assert case.expr not in s.prompt, (s.id, case.name)
                assert not case.setup or case.setup.strip() not in s.prompt
                if isinstance(case.expected, str) and len(case.expected) >= 8 and case.expr != "_biocoder_outcome":
                    assert case.expected not in s.prompt, (s.id, case.name)


def test_solution_is_the_reference_source() -> None:
    sample = DATASET.generate("alignment", "test", 3)
    namespace: dict = {}
    exec(sample.solution.code, namespace)  # noqa: S102 - our own reference solution
    assert isinstance(namespace["answer"], str) and f"def {sample.target.tests.entry}(" in namespace["answer"]
    assert callable(namespace[sample.target.tests.entry])


# -- grading through the env -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(sandbox_server):
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _submit(env: MedAgentEnv, sample, answer) -> tuple[float, str]:
    env.reset(options={"sample": sample})
    _obs, reward, terminated, _truncated, info = env.step(json.dumps({"action": "submit", "answer": answer}))
    assert terminated
    return reward, info["score"]["explanation"]


GRADED = [("sequences", "train", 0), ("sequences", "test", 1), ("alignment", "train", 2), ("alignment", "test", 0)]


@pytest.mark.parametrize(("category", "split", "index"), GRADED)
def test_oracle_passes_and_wrong_answer_fails(env, category: str, split: str, index: int) -> None:
    sample = DATASET.generate(category, split, index)
    good = run_episode(env, OraclePolicy(), sample, run_id="biocoder")
    assert good.success and good.score.value == 1.0, good.score
    bad = run_episode(env, WrongAnswerPolicy(), sample, run_id="biocoder")
    assert bad.status == "ok" and not bad.success


def _gaming_answers(entry: str) -> dict[str, str]:
    return {
        "empty body": f"def {entry}(*args, **kwargs):\n    pass\n",
        "prints instead of returning": f"def {entry}(*args, **kwargs):\n    print(args)\n",
        "echoes its first argument": f"def {entry}(*args, **kwargs):\n    return args[0] if args else None\n",
        "always raises ValueError": f"def {entry}(*args, **kwargs):\n    raise ValueError('no')\n",
        "equal to everything": (
            f"class _Any:\n    def __eq__(self, other):\n        return True\n\n"
            f"def {entry}(*args, **kwargs):\n    return _Any()\n"
        ),
        "reads the caller's frame": (
            f"import inspect\n\ndef {entry}(*args, **kwargs):\n"
            "    return repr([sorted(f.frame.f_globals) for f in inspect.stack()])\n"
        ),
        "patches the encoder": (
            "g = globals()\nfor k in list(g):\n    if isinstance(g[k], dict) and 'encode' in g[k]:\n"
            "        g[k]['encode'] = lambda value, **kw: value\n"
            f"def {entry}(*args, **kwargs):\n    return None\n"
        ),
        "patches builtins": (
            "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.type = lambda *a: object\n"
            f"def {entry}(*args, **kwargs):\n    return 0\n"
        ),
        "exits the process": f"import os\ndef {entry}(*args, **kwargs):\n    os._exit(0)\n",
    }


@pytest.mark.parametrize(("category", "split", "index"), GRADED[:2])
def test_gaming_answers_score_zero(env, category: str, split: str, index: int) -> None:
    sample = DATASET.generate(category, split, index)
    entry = sample.target.tests.entry
    for label, answer in _gaming_answers(entry).items():
        reward, explanation = _submit(env, sample, answer)
        assert reward < 1.0, (label, explanation)
    for answer in (42, {"code": 7}, "", f"def not_{entry}():\n    return 1\n", "def broken(:\n"):
        reward, explanation = _submit(env, sample, answer)
        assert reward == 0.0, (answer, explanation)


def test_submission_cannot_read_or_change_the_expected_values(env) -> None:
    """The expected values never enter the sandbox: a submission that searches every reachable
    object for them finds nothing, and one that rewrites the session's objects still fails."""
    sample = DATASET.generate("sequences", "test", 0)
    entry = sample.target.tests.entry
    snoop = (
        "import gc\n"
        f"def {entry}(*args, **kwargs):\n"
        "    found = sum(1 for obj in gc.get_objects() if isinstance(obj, dict) and 'expected' in obj)\n"
        "    return f'found {found}'\n"
    )
    reward, explanation = _submit(env, sample, snoop)
    assert reward == 0.0 and "found 0" in explanation and "found 1" not in explanation, explanation
    tamper = (
        "import gc\n"
        "for obj in gc.get_objects():\n"
        "    if isinstance(obj, dict) and 'encode' in obj and 'json' in obj:\n"
        "        obj['encode'] = lambda value, **kw: {'dict': []}\n"
        f"def {entry}(*args, **kwargs):\n"
        "    return []\n"
    )
    reward, explanation = _submit(env, sample, tamper)
    assert reward < 1.0, explanation
