"""Ground truth: power and sample size from ``statsmodels.stats.power`` and ``lifelines``.

Every public function here answers one study design both ways: given ``power`` it returns the
smallest whole sample size whose power reaches it; given the sample size it returns the power.
Each function is self-contained (its imports are inside it, it calls only the helpers listed in
``HELPERS``), because its source *is* the reference solution: ``solution.py`` embeds the source
of the function and its helpers and calls it with the question's numbers, so the code that makes
a target and the code the oracle runs in the sandbox cannot drift apart.

Why sizes are found by an integer search over the library's power instead of ``solve_power``:

* the question asks for the smallest whole number whose power reaches the target, which is what
  the search returns; ``ceil(solve_power(...))`` agrees except where the real root lies within the
  root finder's tolerance of an integer;
* ``solve_power`` fails outright (NaN and a ConvergenceWarning) when the power function returns
  NaN somewhere on its bracket, which is the known statsmodels case below.

The NaN guard: for a large effect the lower tail of the two-sided t-test is the noncentral t CDF
far out in its left tail, where ``scipy.special.nctdtr`` returns NaN (and the upper tail does the
same for a noncentrality above ~40), so ``TTestPower().power`` returns NaN although the power is
simply close to 1. :func:`t_test_power` recomputes such a tail by quadrature over the chi
distribution (:func:`nct_cdf_quadrature`), which is accurate to ~1e-15 absolute there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType

# Sidedness as the questions state it; one-sided tests are always in the direction of the
# hypothesised effect (statsmodels' "larger" with a positive effect size).
TWO_SIDED = "two-sided"
ONE_SIDED = "one-sided"


def nct_cdf_quadrature(x: float, df: float, nc: float) -> float:
    """P(T <= x) for T ~ noncentral t(df, nc), by quadrature over S = sqrt(V / df), V ~ chi2(df).

    T = (Z + nc) / S, so P(T <= x) = E[Phi(x * S - nc)]. Used only where scipy's special
    function returns NaN (far tails), where the integrand is tiny and smooth.
    """
    import math

    from scipy import integrate, stats

    def integrand(s: float) -> float:
        density = 2.0 * s * df * stats.chi2.pdf(df * s * s, df)
        return float(stats.norm.cdf(x * s - nc)) * float(density)

    value, _error = integrate.quad(integrand, 0.0, math.inf, limit=200)
    return min(max(float(value), 0.0), 1.0)


def t_test_power(effect_size: float, nobs: float, alpha: float, sided: str, df: float) -> float:
    """Power of a t-test (``statsmodels.stats.power.ttest_power``) with the NaN guard.

    ``nobs`` is the effective sample size (n for one-sample and paired tests, n1*n2/(n1+n2) for
    two samples) and ``df`` the test's degrees of freedom, as statsmodels' TTestPower and
    TTestIndPower pass them. A NaN tail is recomputed by :func:`nct_cdf_quadrature`.
    """
    import math
    import warnings

    from scipy import stats
    from statsmodels.stats.power import ttest_power

    d = abs(effect_size)
    alternative = "two-sided" if sided == "two-sided" else "larger"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        power = float(ttest_power(d, nobs, alpha, df=df, alternative=alternative))
        if math.isfinite(power):
            return power
        # The guard: one tail at a time, each from the library when it is finite.
        tail_alpha = alpha / 2.0 if alternative == "two-sided" else alpha
        nc = d * math.sqrt(nobs)
        crit = float(stats.t.isf(tail_alpha, df))
        upper = float(ttest_power(d, nobs, tail_alpha, df=df, alternative="larger"))
        if not math.isfinite(upper):
            upper = 1.0 - nct_cdf_quadrature(crit, df, nc)
        lower = 0.0
        if alternative == "two-sided":
            lower = float(ttest_power(d, nobs, tail_alpha, df=df, alternative="smaller"))
            if not math.isfinite(lower):
                lower = nct_cdf_quadrature(-crit, df, nc)
    return min(upper + lower, 1.0)


def smallest_n(power_at: Callable[[int], float], target: float, start: int = 2, limit: int = 10_000_000) -> int:
    """The smallest integer n >= ``start`` with ``power_at(n) >= target`` (power rises with n).

    Doubling then bisection: about 2 * log2(n) evaluations.
    """
    if power_at(start) >= target:
        return start
    low, high = start, start * 2
    while power_at(high) < target:
        low, high = high, high * 2
        if high > limit:
            raise ValueError(f"power {target} is not reached below n = {limit}")
    while high - low > 1:  # power_at(low) < target <= power_at(high)
        middle = (low + high) // 2
        if power_at(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def one_sample_t(
    mu0: float, mean: float, sd: float, alpha: float, sided: str, power: float | None = None, n: int | None = None
) -> float | int:
    """One-sample t-test of the mean against ``mu0``; Cohen's d = |mean - mu0| / sd.

    Given ``power``: the smallest n reaching it. Given ``n``: the power.
    """
    d = abs(mean - mu0) / sd

    def power_at(size: int) -> float:
        return t_test_power(d, size, alpha, sided, df=size - 1)

    return smallest_n(power_at, power, start=2) if power is not None else power_at(n)


def paired_t(
    mean_difference: float,
    alpha: float,
    sided: str,
    sd_difference: float | None = None,
    sd: float | None = None,
    correlation: float | None = None,
    power: float | None = None,
    n: int | None = None,
) -> float | int:
    """Paired t-test (a one-sample t-test on the within-pair differences).

    Cohen's d = |mean difference| / SD of the differences; when the SD of each measurement and
    their correlation are given instead, SD of the differences = sd * sqrt(2 * (1 - correlation)).
    ``n`` counts pairs.
    """
    import math

    if sd_difference is None:
        sd_difference = sd * math.sqrt(2.0 * (1.0 - correlation))
    d = abs(mean_difference) / sd_difference

    def power_at(size: int) -> float:
        return t_test_power(d, size, alpha, sided, df=size - 1)

    return smallest_n(power_at, power, start=2) if power is not None else power_at(n)


def two_sample_t(
    difference: float,
    sd1: float,
    sd2: float,
    alpha: float,
    sided: str,
    ratio: float = 1.0,
    power: float | None = None,
    n1: int | None = None,
) -> float | int:
    """Student's two-sample t-test (pooled variance) with n2 = ratio * n1.

    Cohen's d = |difference| / sqrt((sd1**2 + sd2**2) / 2) (the two SDs' root mean square; the
    common SD when they are equal). Given ``power``: the smallest n1 (group 1) reaching it.
    """
    import math

    d = abs(difference) / math.sqrt((sd1**2 + sd2**2) / 2.0)

    def power_at(size: int) -> float:
        size2 = size * ratio
        return t_test_power(d, 1.0 / (1.0 / size + 1.0 / size2), alpha, sided, df=size + size2 - 2)

    return smallest_n(power_at, power, start=2) if power is not None else power_at(n1)


def one_way_anova(
    means: Sequence[float],
    sd: float,
    alpha: float,
    power: float | None = None,
    n_per_group: int | None = None,
    ddof: int = 0,
) -> float | int:
    """One-way ANOVA F test with k equal groups (``statsmodels`` FTestAnovaPower, total n = k * n).

    Cohen's f = SD of the group means / common within-group SD; ``ddof=0`` is Cohen's definition
    (divide by k), ``ddof=1`` the sample SD of the means (the official generator's convention).
    """
    import numpy as np
    from statsmodels.stats.power import FTestAnovaPower

    k = len(means)
    f = float(np.std(np.asarray(means, dtype=float), ddof=ddof)) / sd

    def power_at(size: int) -> float:
        return float(FTestAnovaPower().power(f, nobs=size * k, alpha=alpha, k_groups=k))

    return smallest_n(power_at, power, start=2) if power is not None else power_at(n_per_group)


def chi2_independence(
    group_shares: Sequence[float],
    proportions: Sequence[Sequence[float]],
    alpha: float,
    power: float | None = None,
    n_total: int | None = None,
) -> float | int:
    """Pearson chi-square test of independence for an r x c table (noncentral chi-square power).

    Row i is a group with share ``group_shares[i]`` of the sample and outcome distribution
    ``proportions[i]``. Cohen's w compares the joint distribution with the product of its
    margins (``statsmodels.stats.gof.chisquare_effectsize``); df = (r - 1)(c - 1), which
    GofChisquarePower takes as n_bins = df + 1.
    """
    import numpy as np
    from statsmodels.stats.gof import chisquare_effectsize
    from statsmodels.stats.power import GofChisquarePower

    shares = np.asarray(group_shares, dtype=float)
    table = np.asarray(proportions, dtype=float)
    joint = shares[:, None] * table
    independent = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    w = float(chisquare_effectsize(independent.ravel(), joint.ravel()))
    df = (table.shape[0] - 1) * (table.shape[1] - 1)

    def power_at(size: int) -> float:
        return float(GofChisquarePower().power(w, nobs=size, alpha=alpha, n_bins=df + 1))

    return smallest_n(power_at, power, start=2) if power is not None else power_at(n_total)


def chi2_goodness_of_fit(
    null_probs: Sequence[float],
    alt_probs: Sequence[float],
    alpha: float,
    power: float | None = None,
    n_total: int | None = None,
) -> float | int:
    """Chi-square goodness-of-fit test over k categories; Cohen's w, df = k - 1."""
    from statsmodels.stats.gof import chisquare_effectsize
    from statsmodels.stats.power import GofChisquarePower

    w = float(chisquare_effectsize(list(null_probs), list(alt_probs)))
    k = len(null_probs)

    def power_at(size: int) -> float:
        return float(GofChisquarePower().power(w, nobs=size, alpha=alpha, n_bins=k))

    return smallest_n(power_at, power, start=2) if power is not None else power_at(n_total)


def two_proportions(
    p1: float, p2: float, alpha: float, sided: str, power: float | None = None, n_per_group: int | None = None
) -> float | int:
    """Two independent proportions, equal groups: Cohen's h = |2 asin sqrt(p1) - 2 asin sqrt(p2)|
    with the normal approximation (``statsmodels`` NormalIndPower)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = abs(float(proportion_effectsize(p1, p2)))
    alternative = "two-sided" if sided == "two-sided" else "larger"

    def power_at(size: int) -> float:
        return float(NormalIndPower().power(h, nobs1=size, alpha=alpha, ratio=1.0, alternative=alternative))

    return smallest_n(power_at, power, start=2) if power is not None else power_at(n_per_group)


def correlation_test(r: float, alpha: float, sided: str, power: float | None = None, n: int | None = None) -> float | int:
    """Test of zero Pearson correlation by Fisher's z: atanh(r_hat) * sqrt(n - 3) ~ N(atanh(r) *
    sqrt(n - 3), 1) (``statsmodels`` NormalIndPower with ddof=3, one sample)."""
    import math

    from statsmodels.stats.power import NormalIndPower

    z = abs(math.atanh(r))
    alternative = "two-sided" if sided == "two-sided" else "larger"

    def power_at(size: int) -> float:
        return float(NormalIndPower(ddof=3).power(z, nobs1=size, alpha=alpha, ratio=0.0, alternative=alternative))

    return smallest_n(power_at, power, start=4) if power is not None else power_at(n)


def _lifelines_statistics() -> ModuleType:
    """``lifelines.statistics``, imported lazily with a one-line error naming the fix."""
    try:
        from lifelines import statistics
    except ImportError:
        raise ImportError(
            "lifelines is not installed: run scripts/setup.sh (it installs lifelines==0.30.3 with --no-deps)"
        ) from None
    return statistics


def cox_freedman(
    p_exp: float,
    p_con: float,
    hazard_ratio: float,
    alpha: float,
    ratio: float = 1.0,
    power: float | None = None,
    n_exp: int | None = None,
    n_con: int | None = None,
    report: str = "per_group",
) -> float | int:
    """Cox proportional hazards, two groups, two-sided: Freedman's formula as lifelines implements it.

    ``p_exp``/``p_con`` are the probabilities of the event during the study; ``ratio`` = n_exp /
    n_con. Given ``power``: lifelines rounds each group up; ``report`` "per_group" returns the
    experimental group's size (equal groups), "total" the sum of both groups. Given ``n_exp`` and
    ``n_con``: lifelines' power (the far tail of the two-sided test is ignored, as in Freedman).
    """
    statistics = _lifelines_statistics()
    if power is not None:
        exp_size, con_size = statistics.sample_size_necessary_under_cph(power, ratio, p_exp, p_con, hazard_ratio, alpha=alpha)
        return int(exp_size + con_size) if report == "total" else int(exp_size)
    return float(statistics.power_under_cph(n_exp, n_con, p_exp, p_con, hazard_ratio, alpha=alpha))


def logrank_events(
    hazard_ratio: float, ratio: float, alpha: float, power: float | None = None, events: int | None = None
) -> float | int:
    """Events needed by the two-sided log-rank test (Schoenfeld 1981), allocation ``ratio`` = n1 / n2.

    With shares q1 = ratio / (1 + ratio), q2 = 1 - q1, the statistic is approximately
    N(|log HR| * sqrt(q1 * q2 * D), 1) after D events: a one-sample normal test (``statsmodels``
    NormalIndPower, ratio 0) with effect size |log HR| * sqrt(q1 * q2). Given ``power``: the
    smallest D reaching it; given ``events``: the power.
    """
    import math

    from statsmodels.stats.power import NormalIndPower

    share1 = ratio / (1.0 + ratio)
    effect = abs(math.log(hazard_ratio)) * math.sqrt(share1 * (1.0 - share1))

    def power_at(count: int) -> float:
        return float(NormalIndPower().power(effect, nobs1=count, alpha=alpha, ratio=0.0, alternative="two-sided"))

    return smallest_n(power_at, power, start=2) if power is not None else power_at(events)


# The helpers each method calls, in the order their sources are embedded before it.
HELPERS: dict[str, tuple[Callable[..., object], ...]] = {
    "one_sample_t": (nct_cdf_quadrature, t_test_power, smallest_n),
    "paired_t": (nct_cdf_quadrature, t_test_power, smallest_n),
    "two_sample_t": (nct_cdf_quadrature, t_test_power, smallest_n),
    "one_way_anova": (smallest_n,),
    "chi2_independence": (smallest_n,),
    "chi2_goodness_of_fit": (smallest_n,),
    "two_proportions": (smallest_n,),
    "correlation_test": (smallest_n,),
    "cox_freedman": (_lifelines_statistics,),
    "logrank_events": (smallest_n,),
}

METHODS: dict[str, Callable[..., float | int]] = {
    "one_sample_t": one_sample_t,
    "paired_t": paired_t,
    "two_sample_t": two_sample_t,
    "one_way_anova": one_way_anova,
    "chi2_independence": chi2_independence,
    "chi2_goodness_of_fit": chi2_goodness_of_fit,
    "two_proportions": two_proportions,
    "correlation_test": correlation_test,
    "cox_freedman": cox_freedman,
    "logrank_events": logrank_events,
}


def compute(method: str, args: dict[str, object]) -> float | int:
    """The answer of ``method`` for the keyword arguments ``args`` (a question's numbers)."""
    return METHODS[method](**args)
