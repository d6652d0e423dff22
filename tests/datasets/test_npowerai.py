"""npowerai: the category table, generation, questions, reference solutions, the NaN guard, the
lifelines error, and the scorers on right, wrong and hostile answers."""

from __future__ import annotations

import math
import sys
import warnings

import pytest

from medagentgym.catalog import get_dataset
from medagentgym.catalog.dataset import Dataset
from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.catalog.selection import find_sample
from medagentgym.catalog.splits import split_of
from medagentgym.datasets.npowerai import DATASET, closed_form, methods
from medagentgym.datasets.npowerai.categories import (
    TEST_TYPES,
    load_specs,
    spec_by_name,
)
from medagentgym.datasets.npowerai.common import POWER_BAND, num
from medagentgym.env.prompts import SYSTEM_PROMPTS, system_prompt
from medagentgym.scoring import score_answer

OFFICIAL_TYPES = {
    "One-sample t-test",
    "Paired t-test",
    "Two independent samples t-test",
    "One-way ANOVA",
    "Chi-square test of independence",
    "Cox proportional-hazards model",
}
CATEGORY_NAMES = [spec.name for spec in load_specs()]


def run_solution(code: str) -> object:
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - our own reference code
    return namespace["answer"]


# --------------------------------------------------------------------------- table


def test_registry_finds_npowerai_with_its_table() -> None:
    assert get_dataset("npowerai") is DATASET
    assert isinstance(DATASET, Dataset)
    assert DATASET.family == "study_design" and "study_design" in SYSTEM_PROMPTS
    categories = DATASET.categories()
    assert len(categories) >= 12 and len({c.name for c in categories}) == len(categories)
    official = {(c.params["official_task_type"], c.params["asks"]) for c in categories if c.params["official_task_type"]}
    assert official == {(t, asks) for t in OFFICIAL_TYPES for asks in ("size", "power")}
    for category in categories:
        asks = category.params["asks"]
        assert category.answer_type is (AnswerType.INTEGER if asks == "size" else AnswerType.NUMBER)
        assert category.counts == category.full_counts == {"train": 80, "test": 20}
        assert category.params["test"] in TEST_TYPES
    assert sum(c.count("train", full=True) for c in categories) >= 960
    assert sum(c.count("test", full=True) for c in categories) >= 240


def test_unknown_category_and_bad_split_are_clear_errors(tmp_path) -> None:
    with pytest.raises(KeyError, match="unknown npowerai category"):
        DATASET.generate("no-such-test", "test", 0)
    source = tmp_path / "empty.jsonl"
    source.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="split"):
        DATASET.import_file(source, tmp_path / "out.jsonl", split="dev")
    with pytest.raises(TypeError, match="unexpected options"):
        DATASET.import_file(source, tmp_path / "out.jsonl", db="x")


# --------------------------------------------------------------------------- generation


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_generation_is_deterministic_and_well_formed(name: str) -> None:
    spec = spec_by_name(name)
    for split in ("train", "test"):
        sample = DATASET.generate(name, split, 3)
        assert DATASET.generate(name, split, 3) == sample
        assert find_sample(sample.id) == sample
        assert sample.id == f"npowerai/{name}/{split}/0/3"
        assert split_of(sample.metadata["content_key"]) == split
        # the reference solution reproduces the target exactly (same code path as the target)
        value = run_solution(sample.solution.code)
        assert value == sample.target.value
        if spec.asks == "size":
            assert sample.target.answer_type is AnswerType.INTEGER and isinstance(sample.target.value, int)
            assert "round up" in sample.prompt
        else:
            assert sample.target.answer_type is AnswerType.NUMBER and sample.target.rel_tol == 0.01
            assert POWER_BAND[0] <= sample.target.value <= POWER_BAND[1]
            assert "proportion between 0 and 1" in sample.prompt
        view = sample.public_view()
        assert not {"target", "solution", "metadata"} & set(view)
    other_seed = DATASET.generate(name, "test", 3, seed=1)
    assert other_seed.metadata["content_key"] != DATASET.generate(name, "test", 3).metadata["content_key"]


def _stated_numbers(args: dict[str, object]) -> list[tuple[str, ...]]:
    """Every number a question must state, as the question may write it (any of the spellings)."""
    out: list[tuple[str, ...]] = []
    for name, value in args.items():
        if name in ("sided", "report", "ddof"):
            continue
        if name in ("power", "alpha"):
            as_percent = num(round(float(value) * 100, 6)) + "%"  # type: ignore[arg-type]
            out.append((as_percent,) if name == "power" else (as_percent, num(value)))  # type: ignore[arg-type]
        elif name == "group_shares":
            if len(set(value)) > 1:  # type: ignore[arg-type]
                out.append((":".join(str(v) for v in value),))  # type: ignore[union-attr]
        elif name == "ratio":
            if value != 1.0:
                out.append((num(value),))  # type: ignore[arg-type]
        elif isinstance(value, list):
            for item in value:
                out.extend((num(v),) for v in (item if isinstance(item, list) else [item]))
        else:
            out.append((num(value),))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_questions_state_every_number_the_answer_depends_on(name: str) -> None:
    for index in range(4):
        sample = DATASET.generate(name, "test", index)
        args = sample.metadata["args"]
        for spellings in _stated_numbers(args):
            assert any(text in sample.prompt for text in spellings), (sample.id, spellings, sample.prompt)
        if "sided" in args:
            assert ("two-sided" in sample.prompt or "two-tailed" in sample.prompt) == (args["sided"] == "two-sided")
        assert "significance level" in sample.prompt or "alpha =" in sample.prompt
        assert "effect size" in sample.prompt or "Freedman" in sample.prompt or "Schoenfeld" in sample.prompt


def test_scenarios_vary_within_each_test_type() -> None:
    for name in ("one-sample-t-size", "paired-t-power", "anova-size", "chi2-independence-size", "cox-size", "two-sample-t-power"):
        scenarios = {DATASET.generate(name, "train", i).metadata["scenario"] for i in range(30)}
        assert len(scenarios) >= 3, (name, scenarios)


def test_study_design_system_prompt_is_selected() -> None:
    sample = DATASET.generate("anova-power", "test", 0)
    assert system_prompt(sample) == SYSTEM_PROMPTS["study_design"]


# --------------------------------------------------------------------------- methods


def test_nan_guard_one_sample_two_sided_power() -> None:
    """statsmodels returns NaN here (the noncentral t's lower tail is NaN); the guard does not."""
    from statsmodels.stats.power import TTestPower

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # n = 2 (df = 1), d = 5.66: the upper tail is 0.47 and the lower tail is NaN in scipy
        assert math.isnan(TTestPower().power(8 / math.sqrt(2), nobs=2, alpha=0.05, alternative="two-sided"))
        # the original benchmark's first question: d = 20 / 7.3, 37 participants
        assert math.isnan(TTestPower().power(20 / 7.3, nobs=37, alpha=0.05, alternative="two-sided"))
        assert math.isnan(TTestPower().solve_power(effect_size=6.0, alpha=0.05, power=0.9))
    guarded = methods.one_sample_t(mu0=0.0, mean=8.0, sd=math.sqrt(2), alpha=0.05, sided="two-sided", n=2)
    assert math.isfinite(guarded) and 0.4 < guarded < 0.5
    assert guarded == pytest.approx(closed_form.one_sample_t(0.0, 8.0, math.sqrt(2), 0.05, "two-sided", n=2), rel=1e-9)
    assert methods.one_sample_t(120, 100.0, 7.3, 0.05, "two-sided", n=37) == pytest.approx(1.0, abs=1e-12)
    # sizes search the guarded power: the official answer (4) where solve_power gives NaN
    assert methods.one_sample_t(120, 100.0, 7.3, 0.05, "two-sided", power=0.9) == 4
    assert methods.one_sample_t(120, 119.0, 7.3, 0.05, "two-sided", power=0.9) == 562
    large = methods.one_sample_t(0.0, 6.0, 1.0, 0.05, "two-sided", power=0.9)  # solve_power: NaN
    assert large == closed_form.one_sample_t(0.0, 6.0, 1.0, 0.05, "two-sided", power=0.9) == 3


def test_nan_guard_recomputes_only_the_nan_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force a NaN from the library: the guard rebuilds the power tail by tail, by quadrature
    where a tail is NaN, and lands on the closed form."""
    import statsmodels.stats.power as sm_power

    real = sm_power.ttest_power

    def flaky(effect_size, nobs, alpha, df=None, alternative="two-sided"):  # type: ignore[no-untyped-def]
        return float("nan") if alternative in ("two-sided", "smaller") else real(effect_size, nobs, alpha, df=df, alternative=alternative)

    monkeypatch.setattr(sm_power, "ttest_power", flaky)
    value = methods.t_test_power(0.45, 30, 0.05, "two-sided", df=29)
    expected = closed_form.t_power(0.45, 30, 29, 0.05, "two-sided")
    assert value == pytest.approx(expected, rel=1e-9)
    lower_tail = methods.nct_cdf_quadrature(-2.045229642132703, 29, 0.45 * math.sqrt(30))
    assert 0 < lower_tail < 1e-3


def test_smallest_n_is_the_first_integer_reaching_the_power() -> None:
    powers = {n: 1 - 1 / n for n in range(1, 100_000)}
    assert methods.smallest_n(lambda n: powers[n], 0.99, start=2) == 100
    assert methods.smallest_n(lambda n: powers[n], 0.5, start=2) == 2
    with pytest.raises(ValueError, match="not reached"):
        methods.smallest_n(lambda n: 0.0, 0.8, start=2, limit=1000)


def test_lifelines_missing_is_a_one_line_error_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lifelines", None)  # import lifelines -> ImportError
    with pytest.raises(ImportError) as caught:
        methods.cox_freedman(0.3707, 0.489, 0.7, 0.05, power=0.8)
    message = str(caught.value)
    assert "\n" not in message and "scripts/setup.sh" in message and "--no-deps" in message


def test_cox_matches_lifelines_documented_example() -> None:
    # lifelines' own docstring: power 0.8, 1:1, p 0.25 / 0.35, HR 0.7 -> (421, 421)
    assert methods.cox_freedman(0.25, 0.35, 0.7, 0.05, ratio=1.0, power=0.8) == 421
    assert methods.cox_freedman(0.25, 0.35, 0.7, 0.05, ratio=1.0, power=0.8, report="total") == 842


# --------------------------------------------------------------------------- scorers


def _power_sample() -> Sample:
    return DATASET.generate("two-sample-t-power", "test", 0)


def _size_sample() -> Sample:
    return DATASET.generate("anova-size", "test", 0)


def test_power_scorer_right_wrong_and_the_one_percent_edges() -> None:
    target = _power_sample().target
    value = float(target.value)
    assert score_answer(value, target).value == 1.0
    assert score_answer(str(value), target).value == 1.0
    assert score_answer(value * 1.0099, target).value == 1.0
    assert score_answer(value * 0.9901, target).value == 1.0
    assert score_answer(value * 1.0102, target).value == 0.0
    assert score_answer(value * 0.9898, target).value == 0.0
    assert score_answer(value * 100, target).value == 0.0  # a percentage is not the asked proportion
    assert score_answer(round(value, 4), target).value == 1.0


def test_size_scorer_is_exact() -> None:
    target = _size_sample().target
    n = int(target.value)
    assert score_answer(n, target).value == 1.0
    assert score_answer(str(n), target).value == 1.0
    assert score_answer(float(n), target).value == 1.0
    assert score_answer(n + 1, target).value == 0.0
    assert score_answer(n - 1, target).value == 0.0
    assert score_answer(n + 0.5, target).value == 0.0


@pytest.mark.parametrize(
    "answer",
    ["", None, "nan", "inf", "-inf", "1e999", "about 0.8", "0.8 power", "85 participants", [0.8], {"power": 0.8}, True,
     "9" * 5000, "[" * 100 + "]" * 100, "\udcff", "0x50"],
)
def test_malformed_answers_score_zero_without_raising(answer: object) -> None:
    for sample in (_power_sample(), _size_sample()):
        score = score_answer(answer, sample.target)
        assert score.value == 0.0 and not score.correct
    # the next scoring is unaffected
    good = _size_sample()
    assert score_answer(good.target.value, good.target).value == 1.0
