"""npowerai ground truth proven three ways: the library (statsmodels / lifelines, ``methods.py``),
an independent closed form over scipy's noncentral distributions (``closed_form.py``), and a
seeded Monte Carlo simulation of the actual test (``simulate.py``) on a sample of items."""

from __future__ import annotations

import math
import random

import pytest

from medagentgym.catalog import SPLITS
from medagentgym.datasets.npowerai import DATASET, closed_form, methods, simulate
from medagentgym.datasets.npowerai.categories import load_specs, spec_by_name

CATEGORY_NAMES = [spec.name for spec in load_specs()]
MC_TOLERANCE = 0.015  # 1.5 points of power
# Simulations per item: cheap simulators (counts drawn in one call) get more, to shrink the noise.
NSIM = {"chi2_independence": 100_000, "chi2_goodness_of_fit": 100_000, "two_proportions": 100_000}
NSIM_DEFAULT = 20_000


def _same(library: float, closed: float) -> bool:
    if isinstance(library, int):
        return library == closed
    return math.isclose(library, closed, rel_tol=1e-6, abs_tol=1e-12)


def _check_closed_form(name: str, split: str, count: int) -> None:
    for index in range(count):
        sample = DATASET.generate(name, split, index)
        method, args = sample.metadata["method"], sample.metadata["args"]
        closed = closed_form.compute(method, args)
        assert _same(sample.target.value, closed), (sample.id, sample.target.value, closed)


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_library_equals_closed_form_on_each_category(name: str) -> None:
    for split in SPLITS:
        _check_closed_form(name, split, 6)


@pytest.mark.slow
def test_library_equals_closed_form_on_the_full_catalog_which_is_distinct_and_disjoint() -> None:
    for category in DATASET.categories():
        keys: dict[str, list[str]] = {}
        for split in SPLITS:
            n = category.count(split, full=True)
            _check_closed_form(category.name, split, n)
            keys[split] = [DATASET.generate(category.name, split, i).metadata["content_key"] for i in range(n)]
            assert len(set(keys[split])) == n, (category.name, split)
        assert not set(keys["train"]) & set(keys["test"]), category.name


def test_closed_form_is_independent_of_statsmodels(monkeypatch: pytest.MonkeyPatch) -> None:
    """The closed form must not call the library it checks: break statsmodels and it still works."""
    import statsmodels.stats.power as sm_power

    cases = [
        ("one_sample_t", {"mu0": 0.0, "mean": 0.5, "sd": 1.0, "alpha": 0.05, "sided": "two-sided", "n": 30}),
        ("one_way_anova", {"means": [0.0, 0.25, 0.5], "sd": 1.0, "alpha": 0.05, "n_per_group": 20}),
        ("two_proportions", {"p1": 0.3, "p2": 0.2, "alpha": 0.05, "sided": "one-sided", "power": 0.8}),
    ]
    expected = [methods.compute(method, args) for method, args in cases]

    def broken(*args: object, **kwargs: object) -> float:
        raise AssertionError("closed_form called statsmodels")

    for name in ("ttest_power", "ftest_anova_power", "normal_power"):
        monkeypatch.setattr(sm_power, name, broken)
    for (method, args), value in zip(cases, expected, strict=True):
        assert _same(value, closed_form.compute(method, args)), (method, value)


def test_sizes_are_the_first_integer_reaching_the_power() -> None:
    """For size questions, the library's power at the answer reaches the target and one below it
    does not (what the question's "round up" means)."""
    for name in CATEGORY_NAMES:
        spec = spec_by_name(name)
        if spec.asks != "size" or spec.test.key == "cox_freedman":  # lifelines rounds each group up itself
            continue
        for index in range(3):
            sample = DATASET.generate(name, "test", index)
            args, answer = sample.metadata["args"], int(sample.target.value)
            at = methods.compute(spec.test.method, spec.test.with_size(args, answer))
            below = methods.compute(spec.test.method, spec.test.with_size(args, answer - 1))
            assert at >= args["power"] > below, (sample.id, at, below)


def _mc_items(per_category: int, salt: int) -> list[tuple[str, int]]:
    """Seeded test-split items, ``per_category`` distinct ones per category."""
    chooser = random.Random(salt)
    return [(name, index) for name in CATEGORY_NAMES for index in chooser.sample(range(spec_by_name(name).counts["test"]), per_category)]


def _check_monte_carlo(name: str, index: int) -> None:
    """Simulate the stated design, run the named test, and compare the rejection rate with the
    answer (power questions) or with the power at the answered size (size questions)."""
    spec = spec_by_name(name)
    sample = DATASET.generate(name, "test", index)
    method, args = sample.metadata["method"], sample.metadata["args"]
    if spec.asks == "size":
        args = spec.test.with_size(args, int(sample.target.value))
    power = float(methods.compute(method, args))
    nsim = NSIM.get(method, NSIM_DEFAULT)
    simulated = simulate.simulated_power(method, args, nsim=nsim, seed=index)
    assert abs(simulated - power) <= MC_TOLERANCE, (sample.id, power, simulated, args)
    if spec.asks == "power":
        assert power == sample.target.value


FAST_ITEMS = _mc_items(1, 20240917)  # ~7 s for all 21 categories
SLOW_ITEMS = [item for item in _mc_items(4, 7) if item not in FAST_ITEMS]


@pytest.mark.parametrize(("name", "index"), FAST_ITEMS, ids=[f"{n}-{i}" for n, i in FAST_ITEMS])
def test_monte_carlo_power_of_the_actual_test(name: str, index: int) -> None:
    _check_monte_carlo(name, index)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "index"), SLOW_ITEMS, ids=[f"{n}-{i}" for n, i in SLOW_ITEMS])
def test_monte_carlo_power_on_more_items(name: str, index: int) -> None:
    _check_monte_carlo(name, index)


def test_monte_carlo_detects_a_wrong_answer() -> None:
    """The simulation can fail: a power computed for the wrong sidedness is caught."""
    args = {"mu0": 0.0, "mean": 0.4, "sd": 1.0, "alpha": 0.05, "sided": "two-sided", "n": 40}
    simulated = simulate.simulated_power("one_sample_t", args, nsim=20_000, seed=1)
    right = methods.one_sample_t(**args)
    wrong = methods.one_sample_t(**{**args, "sided": "one-sided"})
    assert abs(simulated - right) <= MC_TOLERANCE
    assert abs(simulated - wrong) > MC_TOLERANCE
