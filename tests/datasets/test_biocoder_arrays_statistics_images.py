"""The biocoder families numeric_arrays, statistics and image_processing.

Per template: every drawn variant is deterministic, well formed, and its reference passes its own
hidden cases (fast); the spec leaks neither the reference nor expected values; the parameter space
is large enough for the catalog's counts; and the cases catch wrong code: the wrong-answer
policy's wrapper, an empty function, and - the strongest check - the reference of a variant with
other params, which must fail at least one case of this one (so every param really changes the
task, and the cases see the change). The conventions the specs attribute to scipy and
scikit-image are checked against them. Then a few samples of each category go through the env.
"""

from __future__ import annotations

import ast
import json
import random
import time
from functools import cache

import numpy as np
import pytest

from medagentgym.catalog.sample import TestCase
from medagentgym.codetests.reference import compute_expected
from medagentgym.datasets.biocoder import fn_arrays, fn_images, fn_statistics
from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.policies.oracle import wrong_source
from medagentgym.scoring.code_tests import values_match

FAMILIES = {"numeric_arrays": fn_arrays, "statistics": fn_statistics, "image_processing": fn_images}
TEMPLATES = [(category, t) for category, module in FAMILIES.items() for t in module.TEMPLATES]
IDS = [f"{category}/{t.key}" for category, t in TEMPLATES]
CHECKED_DRAWS = 6  # variants per template checked in full
SPACE_DRAWS = 400  # draws per template when counting its parameter space
# The catalog asks 122 train and 19 test variants per category; ask for head room.
NEEDED = {"train": 122, "test": 19}


@cache
def _variant(key: str, seed: int) -> Variant:
    template = next(t for _, t in TEMPLATES if t.key == key)
    return template.draw(random.Random(seed))


@cache
def _cases(key: str, seed: int) -> tuple[TestCase, ...]:
    variant = _variant(key, seed)
    return compute_expected(variant.reference, variant.cases)


def _passes(source: str, cases: tuple[TestCase, ...]) -> bool:
    """Whether ``source`` (a module defining the function) passes every case, run in-process."""
    try:
        got = compute_expected(source, [c.model_copy(update={"expected": None}) for c in cases])
    except Exception:  # noqa: BLE001 - whatever the candidate raises, it did not pass
        return False
    return all(values_match(g.expected, c.expected, c.rel_tol, c.abs_tol) for g, c in zip(got, cases, strict=True))


def _function(source: str, name: str):
    """The function ``name`` defined by a reference source (our own code, loaded in this process)."""
    namespace: dict = {}
    exec(compile(source, "<reference>", "exec"), namespace)  # noqa: S102 - the project's own reference
    return namespace[name]


def _numbers(value: object) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    return []


def _bools(value: object) -> list[bool]:
    if isinstance(value, bool):
        return [value]
    if isinstance(value, list):
        return [x for v in value for x in _bools(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _bools(v)]
    return []


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [x for v in value for x in _strings(v)]
    if isinstance(value, dict):
        return [x for k, v in value.items() if k not in ("dtype",) for x in _strings(v)]
    return []


# -- the families --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", sorted(FAMILIES))
def test_family_has_enough_templates_in_both_splits(category: str) -> None:
    templates = FAMILIES[category].TEMPLATES
    assert len(templates) >= 10
    assert sum(t.split == "test" for t in templates) >= 2
    assert sum(t.split == "test" for t in templates) / len(templates) >= 0.2
    assert all(isinstance(t, FunctionTemplate) and t.title for t in templates)


def test_template_keys_and_function_names_are_unique() -> None:
    keys = [t.key for _, t in TEMPLATES]
    assert len(keys) == len(set(keys))
    # a test-split function is never a train function under another key
    names = {}
    for _, t in TEMPLATES:
        names.setdefault(_variant(t.key, 0).name, set()).add(t.split)
    assert all(len(splits) == 1 for splits in names.values()), names


def test_splits_stay_apart_across_the_other_families() -> None:
    """No function (template key or function name) is asked in one split here and in the other split by
    another family of the dataset, and our keys are unique across every family in the table."""
    from medagentgym.datasets.biocoder.categories import present_specs, templates_of

    others = [t for spec in present_specs() if spec.name not in FAMILIES for t in templates_of(spec.name)]
    assert not {t.key for t in others} & {t.key for _, t in TEMPLATES}

    def functions(templates: list[FunctionTemplate], split: str) -> set[str]:
        chosen = [t for t in templates if t.split == split]
        return {t.key for t in chosen} | {t.draw(random.Random(seed)).name for t in chosen for seed in range(3)}

    ours = [t for _, t in TEMPLATES]
    assert not functions(ours, "test") & functions(others, "train")
    assert not functions(ours, "train") & functions(others, "test")


# -- each variant --------------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_variants_are_deterministic_well_formed_and_pass_their_own_cases(category: str, template: FunctionTemplate) -> None:
    for seed in range(CHECKED_DRAWS):
        variant = _variant(template.key, seed)
        assert template.draw(random.Random(seed)) == variant
        json.dumps(variant.params)  # JSON-able
        assert variant.name.isidentifier()
        assert variant.signature.startswith(f"def {variant.name}(")
        assert variant.spec == variant.spec.strip() and all(ln == ln.rstrip() for ln in variant.spec.splitlines())
        assert 4 <= len(variant.cases) <= 8
        assert len({c.name for c in variant.cases}) == len(variant.cases)
        assert all(c.expected is None and c.expr for c in variant.cases)
        tree = ast.parse(variant.reference)
        assert any(isinstance(n, ast.FunctionDef) and n.name == variant.name for n in tree.body)
        started = time.perf_counter()
        cases = _cases(template.key, seed)
        per_case = (time.perf_counter() - started) / len(cases)
        assert per_case < 0.5, (template.key, seed, per_case)
        values = [c.expected for c in cases]
        assert len({json.dumps(v, sort_keys=True) for v in values}) > 1, (template.key, seed, "all cases agree")
        assert any(_numbers(v) or _strings(v) or _bools(v) for v in values), (template.key, seed, "only empty values")


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_spec_leaks_neither_reference_nor_expected_values(category: str, template: FunctionTemplate) -> None:
    for seed in range(CHECKED_DRAWS):
        variant = _variant(template.key, seed)
        body = variant.reference.split(f"def {variant.name}(", 1)[1]
        lines = [ln.strip() for ln in body.splitlines()[1:] if len(ln.strip()) > 25]
        shown = [ln for ln in lines if ln in variant.spec]  # a procedure may name a step the code also takes
        assert len(shown) <= 1 and len(shown) < 0.3 * max(1, len(lines)), (template.key, shown)
        assert "case_" not in variant.spec
        for case in _cases(template.key, seed):
            for number in _numbers(case.expected):
                if not number.is_integer() and len(repr(number)) > 6:
                    assert repr(number) not in variant.spec, (template.key, number)
                    assert repr(round(number, 4)) not in variant.spec or abs(number) < 1, (template.key, number)
            for text in _strings(case.expected):
                if len(text) > 3:
                    assert text not in variant.spec, (template.key, text)


# -- parameter spaces ----------------------------------------------------------------------------


@cache
def _distinct_params(key: str) -> int:
    template = next(t for _, t in TEMPLATES if t.key == key)
    rng = random.Random(f"space-{key}")
    return len({json.dumps(template.draw(rng).params, sort_keys=True) for _ in range(SPACE_DRAWS)})


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_each_template_has_a_real_parameter_space(category: str, template: FunctionTemplate) -> None:
    assert _distinct_params(template.key) >= (20 if template.split == "train" else 12)


@pytest.mark.parametrize("category", sorted(FAMILIES))
@pytest.mark.parametrize("split", ["train", "test"])
def test_each_category_has_room_for_its_counts(category: str, split: str) -> None:
    total = sum(_distinct_params(t.key) for t in FAMILIES[category].TEMPLATES if t.split == split)
    assert total >= 1.5 * NEEDED[split], (category, split, total)


# -- wrong code fails ----------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_wrong_implementations_fail(category: str, template: FunctionTemplate) -> None:
    for seed in range(CHECKED_DRAWS):
        variant, cases = _variant(template.key, seed), _cases(template.key, seed)
        assert _passes(variant.reference, cases)  # the harness itself accepts the reference
        assert not _passes(wrong_source(variant.reference, variant.name, False), cases), (template.key, seed)
        assert not _passes(f"def {variant.name}(*args, **kwargs):\n    return None\n", cases)
        assert not _passes(f"def {variant.name}(*args, **kwargs):\n    raise NotImplementedError\n", cases)
        # echoing the first argument back is never right
        assert not _passes(f"def {variant.name}(*args, **kwargs):\n    return args[0] if args else None\n", cases)


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_every_param_change_shows_in_the_cases(category: str, template: FunctionTemplate) -> None:
    """The reference of a variant with other params fails some case of this variant."""
    seen: dict[str, int] = {}
    seed = 0
    while len(seen) < 2 * CHECKED_DRAWS and seed < 200:
        key = json.dumps(_variant(template.key, seed).params, sort_keys=True)
        seen.setdefault(key, seed)
        seed += 1
    seeds = list(seen.values())
    for a, b in zip(seeds, seeds[1:] + seeds[:1], strict=True):
        other = _variant(template.key, a)
        assert not _passes(other.reference, _cases(template.key, b)), (
            template.key, other.params, _variant(template.key, b).params
        )


# -- the conventions the specs name ---------------------------------------------------------------


def test_otsu_matches_scikit_image() -> None:
    filters = pytest.importorskip("skimage.filters")
    checked = 0
    for seed in range(80):
        variant = _variant("threshold_image", seed)
        if variant.params["method"] != "otsu" or variant.params["output"] != "value":
            continue
        rng = np.random.default_rng(seed)
        image = np.concatenate([rng.normal(20, 5, (30, 20)), rng.normal(70, 10, (10, 20))])
        ours = _function(variant.reference, variant.name)(image)
        assert ours == pytest.approx(filters.threshold_otsu(image, nbins=variant.params["nbins"]), rel=1e-12)
        checked += 1
    assert checked >= 3


def test_rank_tests_match_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(5)
    x = np.round(rng.normal(1, 1, 14), 1)
    y = np.round(rng.normal(0, 1, 11), 1)
    for alternative in ("two-sided", "greater", "less"):
        for test, cc in (("mann_whitney_cc", True), ("mann_whitney", False)):
            ours = _function(fn_statistics._two_sample_reference("f", test, alternative, "p"), "f")
            expected = stats.mannwhitneyu(x, y, use_continuity=cc, alternative=alternative, method="asymptotic").pvalue
            assert ours(x, y) == pytest.approx(expected, rel=1e-10)
        for test, cc in (("wilcoxon", False), ("wilcoxon_cc", True)):
            ours = _function(fn_statistics._paired_reference("f", test, alternative, "p"), "f")
            yy = x[:11] + np.round(rng.normal(0.3, 1, 11), 1)
            yy[0] = x[0]  # a zero difference
            expected = stats.wilcoxon(x[:11], yy, zero_method="wilcox", correction=cc, alternative=alternative,
                                      method="asymptotic").pvalue
            assert ours(x[:11], yy) == pytest.approx(expected, rel=1e-10)


def test_hardy_weinberg_exact_test_matches_a_direct_enumeration() -> None:
    """The exact p-value against the textbook sum over heterozygote counts with exact fractions."""
    from fractions import Fraction
    from math import factorial

    exact_p = _function(fn_statistics._hwe_reference("f", "counts", "exact_p"), "f")
    for n_aa, n_ab, n_bb in [(20, 50, 32), (24, 5, 21), (6, 36, 6), (34, 2, 0), (1, 1, 1)]:
        n, n_a, n_b = n_aa + n_ab + n_bb, 2 * n_aa + n_ab, 2 * n_bb + n_ab

        def prob(h: int, n: int = n, n_a: int = n_a, n_b: int = n_b) -> Fraction:
            aa, bb = (n_a - h) // 2, (n_b - h) // 2
            num = 2**h * factorial(n) * factorial(n_a) * factorial(n_b)
            return Fraction(num, factorial(aa) * factorial(h) * factorial(bb) * factorial(2 * n))

        observed = prob(n_ab)
        exact = sum(prob(h) for h in range(n_a % 2, min(n_a, n_b) + 1, 2) if prob(h) <= observed)
        assert exact_p((n_aa, n_ab, n_bb)) == pytest.approx(float(exact), rel=1e-9)


def test_proportion_intervals_match_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    names = {"wald": "normal", "wilson": "wilson", "agresti_coull": "agresti_coull", "clopper_pearson": "beta",
             "jeffreys": "jeffreys"}
    for method, theirs in names.items():
        for k, n in [(3, 17), (0, 9), (9, 9), (40, 100)]:
            for seed in range(300):
                variant = fn_statistics._draw_proportion(random.Random(seed))
                if variant.params["method"] == method and variant.params["clip"] in (None, True):  # statsmodels clips
                    break
            level = variant.params["level"]
            lo, hi = _function(variant.reference, variant.name)(k, n)
            want = list(proportion.proportion_confint(k, n, alpha=1 - level, method=theirs))
            if method == "jeffreys":  # the spec's boundary modification, which statsmodels leaves out
                want = [0.0 if k == 0 else want[0], 1.0 if k == n else want[1]]
            assert [lo, hi] == pytest.approx(want, abs=1e-9), (method, k, n)


def test_adjusted_pvalues_match_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    names = {"bonferroni": "bonferroni", "holm": "holm", "hochberg": "simes-hochberg", "bh": "fdr_bh", "by": "fdr_by"}
    p = np.array([0.001, 0.02, 0.02, 0.04, 0.3, 0.011, 0.8, 0.049])
    for method, theirs in names.items():
        ours = _function(fn_statistics._adjust_reference("f", method, "exclude", "list"), "f")
        want = multitest.multipletests(p, method=theirs)[1]
        assert ours(list(p)) == pytest.approx(list(want), rel=1e-12)


def test_mode_descriptions_match_scipy_ndimage() -> None:
    """The spec's pictures of each boundary mode (c b a | a b c ...) are what scipy.ndimage filters do."""
    from scipy import ndimage

    row = np.array([1.0, 2.0, 3.0])

    def outside(mode: str, offset: int) -> float:  # the value a filter sees at index -offset
        weights = np.zeros(5)
        weights[2 - offset] = 1.0
        return float(ndimage.correlate1d(row, weights, mode=mode, cval=0.0)[0])

    assert [outside("reflect", k) for k in (1, 2)] == [1.0, 2.0]  # b a | a b c
    assert [outside("mirror", k) for k in (1, 2)] == [2.0, 3.0]  # c b | a b c
    assert [outside("nearest", k) for k in (1, 2)] == [1.0, 1.0]  # a a | a b c
    assert [outside("wrap", k) for k in (1, 2)] == [3.0, 2.0]  # b c | a b c
    assert [outside("constant", k) for k in (1, 2)] == [0.0, 0.0]


# -- through the env ------------------------------------------------------------------------------


GAMING = {
    "empty": "def {name}(*args, **kwargs):\n    pass\n",
    "always-equal": (
        "class _Any:\n    def __eq__(self, other):\n        return True\n\n"
        "def {name}(*args, **kwargs):\n    return _Any()\n"
    ),
    "patched-assert": (
        "import builtins\nbuiltins.AssertionError = Exception\n\n"
        "def {name}(*args, **kwargs):\n    return 0\n"
    ),
    "reads-the-harness": (
        "import inspect\n\ndef {name}(*args, **kwargs):\n"
        "    return [str(f.frame.f_globals.get('expected')) for f in inspect.stack()]\n"
    ),
}


@pytest.mark.parametrize("category", sorted(FAMILIES))
def test_samples_through_the_env(sandbox_server, category: str) -> None:
    """The oracle scores 1 and the wrong-answer policy 0 in both splits; gaming answers score below 1."""
    from medagentgym.catalog import get_dataset
    from medagentgym.env import MedAgentEnv
    from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
    from medagentgym.rollout import run_episode

    dataset = get_dataset("biocoder")
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        for split in ("train", "test"):
            sample = dataset.generate(category, split, 1, 0)
            assert sample.metadata["template"] in {t.key for t in FAMILIES[category].TEMPLATES if t.split == split}
            good = run_episode(env, OraclePolicy(), sample, run_id="h3")
            assert good.success, (sample.id, good.score)
            bad = run_episode(env, WrongAnswerPolicy(), sample, run_id="h3")
            assert bad.status == "ok" and not bad.success, sample.id
        entry = sample.target.tests.entry
        for label, code in GAMING.items():
            env.reset(options={"sample": sample})
            _, reward, *_, info = env.step(json.dumps({"action": "submit", "answer": code.format(name=entry)}))
            # returning 0 may match a case that expects 0 (an empty mask's object count): partial, never full
            assert reward == 0.0 if label != "patched-assert" else reward < 1.0, (label, info["score"])
    finally:
        env.close()


def test_no_variant_is_all_nan() -> None:
    """The wrong-answer wrapper maps NaN to NaN: a variant whose every case is NaN could not catch it."""
    for _, template in TEMPLATES:
        for seed in range(CHECKED_DRAWS):
            values = [c.expected for c in _cases(template.key, seed)]
            assert any(v != {"float": "nan"} for v in values), template.key
