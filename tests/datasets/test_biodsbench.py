"""biodsbench: the category table, deterministic generation with distinct and disjoint splits,
prompts that name the files and the variables (and never an expected value), hidden cases whose
expected values the reference solution reproduces, and the same samples in a fresh process."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from medagentgym.catalog import SPLITS, get_dataset
from medagentgym.catalog.dataset import Dataset
from medagentgym.catalog.sample import AnswerType
from medagentgym.catalog.selection import find_sample
from medagentgym.catalog.splits import split_of
from medagentgym.codetests.reference import compute_expected
from medagentgym.datasets.biodsbench import DATASET
from medagentgym.datasets.biodsbench.build import STUDIES
from medagentgym.datasets.biodsbench.categories import FAMILIES, load_specs
from medagentgym.datasets.biodsbench.facts import study_facts
from medagentgym.datasets.biodsbench.generate import draw_for
from medagentgym.datasets.biodsbench.questions import Draw, Reject, choose, choose_n, q
from medagentgym.env.prompts import SYSTEM_PROMPTS, render_task, system_prompt

CATEGORY_NAMES = [spec.name for spec in load_specs()]
FILES = ("data_clinical_patient.csv", "data_clinical_sample.csv", "data_mutations.csv", "data_cna.csv", "data_sv.csv")


def test_registry_finds_biodsbench_with_its_table() -> None:
    assert get_dataset("biodsbench") is DATASET
    assert isinstance(DATASET, Dataset)
    assert DATASET.family == "data_science" and "data_science" in SYSTEM_PROMPTS
    categories = DATASET.categories()
    assert len(categories) >= 12 and len({c.name for c in categories}) == len(categories)
    assert {c.params["family"] for c in categories} == set(FAMILIES)
    for category in categories:
        assert category.answer_type is AnswerType.CODE_TESTS
        assert category.counts == category.full_counts and min(category.counts.values()) >= 5
    assert sum(c.count("train", full=True) for c in categories) >= 50
    assert sum(c.count("test", full=True) for c in categories) >= 49


def test_unknown_category_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="unknown biodsbench category"):
        DATASET.generate("no-such-analysis", "test", 0)


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_generation_is_deterministic_distinct_and_split_disjoint(name: str) -> None:
    keys: dict[str, set[str]] = {}
    for split in SPLITS:
        samples = [DATASET.generate(name, split, i) for i in range(_count(name, split))]
        keys[split] = {s.metadata["content_key"] for s in samples}
        assert len(keys[split]) == len(samples), (name, split)  # no repeated question in a split
        for sample in samples:
            assert split_of(sample.metadata["content_key"]) == split
            assert sample.id == f"biodsbench/{name}/{split}/0/{sample.index}"
            assert sample.target.answer_type is AnswerType.CODE_TESTS and sample.target.value is None
            tests = sample.target.tests
            assert tests is not None and tests.mode == "namespace" and tests.variables
            assert all(case.expected is not None for case in tests.cases)
            assert sample.solution.code.rstrip().endswith('answer = "done"')
            (resource,) = sample.resources
            assert resource.kind == "directory" and resource.name == "study" and Path(resource.path).is_dir()
    assert not keys["train"] & keys["test"], name
    first = DATASET.generate(name, "test", 0)
    assert DATASET.generate(name, "test", 0) == first and find_sample(first.id) == first
    other_seed = DATASET.generate(name, "test", 0, seed=1)
    assert other_seed.seed == 1 and other_seed.id.endswith("/test/1/0")


def _count(name: str, split: str) -> int:
    return next(c for c in DATASET.categories() if c.name == name).count(split)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_prompt_names_files_and_variables_but_no_expected_value(name: str) -> None:
    sample = DATASET.generate(name, "test", 1)
    tests = sample.target.tests
    assert tests is not None
    for text in (sample.prompt, render_task(sample)):
        assert 'RESOURCES["study"]' in text
        for file in FILES:
            assert file in text
        for variable in tests.variables:
            assert f"`{variable}`" in text
    assert "relative tolerance" in sample.prompt
    view = json.dumps(sample.public_view())
    assert "target" not in sample.public_view() and "solution" not in sample.public_view()
    for case in tests.cases:
        for number in _numbers(case.expected):
            if isinstance(number, float) and not number.is_integer() and math.isfinite(number):
                assert repr(number) not in view and f"{number:.4f}" not in sample.prompt, (case.name, number)
    assert system_prompt(sample) == SYSTEM_PROMPTS["data_science"]


def _numbers(value: object) -> list[float | int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    return []


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_reference_solution_reproduces_the_expected_values(name: str) -> None:
    sample = DATASET.generate(name, "train", 2)
    tests = sample.target.tests
    assert tests is not None
    again = compute_expected(sample.solution.code, tests.cases, resources=sample.resources)
    assert [c.expected for c in again] == [c.expected for c in tests.cases]


def test_samples_cover_every_study_and_meaningful_answers() -> None:
    studies = set()
    for name in CATEGORY_NAMES:
        for split in SPLITS:
            for i in range(5):
                sample = DATASET.generate(name, split, i)
                studies.add(sample.metadata["study"])
                tests = sample.target.tests
                assert tests is not None
                for case in tests.cases:
                    assert case.expected != {"float": "nan"}, (sample.id, case.name)
    assert studies == {s.study_id for s in STUDIES}


def test_draws_reject_questions_without_a_meaningful_answer() -> None:
    """Every drawn cohort, group and gene gives a question whose answer is informative."""
    for i in range(5):
        km = draw_for("kaplan-meier", "train", i)
        median = DATASET.generate("median-survival", "train", i).target.tests
        assert median is not None and all(isinstance(c.expected, float) for c in median.cases[:2])
        assert isinstance(km, Draw) and km.params["endpoint"] in ("OS", "PFS")
        cooc = DATASET.generate("co-occurrence", "test", i).target.tests
        assert cooc is not None and cooc.cases[1].expected != 1.0  # odds ratio exactly 1 is never asked
        by_subtype = DATASET.generate("copy-number-by-subtype", "test", i).target.tests
        assert by_subtype is not None
        shares = sorted((v for _, v in by_subtype.cases[0].expected["dict"]), reverse=True)
        assert shares[0] >= 0.05 and shares[0] > shares[1]


def test_the_same_sample_in_a_fresh_process(tmp_path: Path) -> None:
    """Regeneration does not depend on hash seeds or on what this process generated before."""
    sample = DATASET.generate("oncoprint-matrix", "test", 3)
    script = (
        "import json, sys\n"
        "from medagentgym.datasets.biodsbench import DATASET\n"
        "s = DATASET.generate('oncoprint-matrix', 'test', 3)\n"
        "sys.stdout.write(s.model_dump_json())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    assert json.loads(out.stdout) == json.loads(sample.model_dump_json())


def test_choosing_from_too_small_a_pool_rejects_the_draw_and_literals_are_checked() -> None:
    rng = random.Random(0)
    with pytest.raises(Reject):
        choose(rng, [])
    with pytest.raises(Reject):
        choose_n(rng, ["KRAS"], 2)
    assert sorted(choose_n(rng, ("KRAS", "EGFR"), 2)) == ["EGFR", "KRAS"]
    assert q(["3'UTR", "Silent"]) == '["3\'UTR", "Silent"]' and q(5) == "5"
    for bad in (None, True, 1.5, ["a", None]):
        with pytest.raises(TypeError):
            q(bad)  # type: ignore[arg-type]


def test_questions_only_ask_what_a_study_records() -> None:
    for i in range(5):
        for split in SPLITS:
            timeline = draw_for("treatment-duration", split, i)
            assert study_facts(timeline.study).timeline is not None
            for name in ("kaplan-meier", "median-survival", "logrank-test", "cox-hazard-ratio"):
                draw = draw_for(name, split, i)
                if draw.params["endpoint"] == "PFS":
                    assert study_facts(draw.study).has_pfs, (name, draw)
