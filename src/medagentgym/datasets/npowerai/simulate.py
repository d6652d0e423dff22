"""The third proof of an answer: the power of the actual test, estimated by seeded simulation.

Data are drawn from the design the question states (normal outcomes, multinomial and binomial
counts, bivariate normal pairs, exponential event times with administrative censoring), the test
the question names is run on each simulated study (scipy's t-tests and ANOVA, Pearson's
chi-square, the arcsine z-test, Fisher's z, the log-rank test), and the rejection rate estimates
the power. Nothing here shares code with ``methods.py`` or ``closed_form.py``: agreement within
Monte Carlo error shows that the formula answers the question that was asked.

Same keyword arguments as the methods in power mode (the sample size given, no ``power``).
Simulations run in chunks so memory stays bounded for large designs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

TWO_SIDED = "two-sided"
CHUNK_CELLS = 4_000_000  # random numbers drawn at once


def _chunks(nsim: int, per_sim: int) -> list[int]:
    size = max(1, min(nsim, CHUNK_CELLS // max(per_sim, 1)))
    out = [size] * (nsim // size)
    if nsim % size:
        out.append(nsim % size)
    return out


def _rejects_z(z: np.ndarray, alpha: float, sided: str) -> np.ndarray:
    """Rejections of a z statistic oriented so the hypothesised effect is positive."""
    if sided == TWO_SIDED:
        return np.abs(z) > stats.norm.isf(alpha / 2.0)
    return z > stats.norm.isf(alpha)


def one_sample_t(mu0: float, mean: float, sd: float, alpha: float, sided: str, n: int, *, nsim: int, rng: np.random.Generator) -> float:
    alternative = TWO_SIDED if sided == TWO_SIDED else ("greater" if mean > mu0 else "less")
    hits = 0
    for size in _chunks(nsim, n):
        data = rng.normal(mean, sd, size=(size, n))
        hits += int((stats.ttest_1samp(data, mu0, axis=1, alternative=alternative).pvalue < alpha).sum())
    return hits / nsim


def paired_t(
    mean_difference: float, alpha: float, sided: str, n: int, sd_difference: float | None = None,
    sd: float | None = None, correlation: float | None = None, *, nsim: int, rng: np.random.Generator,
) -> float:
    """Before/after pairs from a bivariate normal; the change has the stated mean."""
    if sd_difference is not None:  # any (sd, correlation) with this SD of differences will do
        correlation = 0.5
        sd = sd_difference
    assert sd is not None and correlation is not None
    alternative = TWO_SIDED if sided == TWO_SIDED else "greater"
    hits = 0
    for size in _chunks(nsim, 2 * n):
        z1 = rng.standard_normal((size, n))
        z2 = correlation * z1 + math.sqrt(1.0 - correlation**2) * rng.standard_normal((size, n))
        before, after = 100.0 + sd * z1, 100.0 + abs(mean_difference) + sd * z2
        hits += int((stats.ttest_rel(after, before, axis=1, alternative=alternative).pvalue < alpha).sum())
    return hits / nsim


def two_sample_t(
    difference: float, sd1: float, sd2: float, alpha: float, sided: str, n1: int, ratio: float = 1.0,
    *, nsim: int, rng: np.random.Generator,
) -> float:
    n2 = round(n1 * ratio)
    alternative = TWO_SIDED if sided == TWO_SIDED else "greater"
    hits = 0
    for size in _chunks(nsim, n1 + n2):
        group1 = rng.normal(abs(difference), sd1, size=(size, n1))
        group2 = rng.normal(0.0, sd2, size=(size, n2))
        result = stats.ttest_ind(group1, group2, axis=1, equal_var=True, alternative=alternative)
        hits += int((result.pvalue < alpha).sum())
    return hits / nsim


def one_way_anova(means: Sequence[float], sd: float, alpha: float, n_per_group: int, ddof: int = 0, *, nsim: int, rng: np.random.Generator) -> float:
    hits = 0
    for size in _chunks(nsim, len(means) * n_per_group):
        groups = [rng.normal(m, sd, size=(size, n_per_group)) for m in means]
        hits += int((stats.f_oneway(*groups, axis=1).pvalue < alpha).sum())
    return hits / nsim


def _pearson_independence(tables: np.ndarray) -> np.ndarray:
    """Pearson's X^2 for a stack of r x c tables (empty columns contribute nothing)."""
    total = tables.sum(axis=(1, 2), keepdims=True)
    expected = tables.sum(axis=2, keepdims=True) * tables.sum(axis=1, keepdims=True) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = np.where(expected > 0, (tables - expected) ** 2 / expected, 0.0)
    return cells.sum(axis=(1, 2))


def _group_sizes(total: int, weights: Sequence[float]) -> list[int]:
    shares = np.asarray(weights, dtype=float) / float(np.sum(weights))
    sizes = [round(total * s) for s in shares[:-1]]
    return [*sizes, total - sum(sizes)]


def chi2_independence(
    group_shares: Sequence[float], proportions: Sequence[Sequence[float]], alpha: float, n_total: int,
    *, nsim: int, rng: np.random.Generator,
) -> float:
    """Groups of fixed sizes (n_total split by the shares), multinomial outcomes in each."""
    sizes = _group_sizes(n_total, group_shares)
    probs = [np.asarray(p, dtype=float) / float(np.sum(p)) for p in proportions]
    df = (len(probs) - 1) * (len(probs[0]) - 1)
    crit = stats.chi2.isf(alpha, df)
    tables = np.stack([rng.multinomial(size, p, size=nsim) for size, p in zip(sizes, probs, strict=True)], axis=1)
    return float((_pearson_independence(tables.astype(float)) > crit).mean())


def chi2_goodness_of_fit(null_probs: Sequence[float], alt_probs: Sequence[float], alpha: float, n_total: int, *, nsim: int, rng: np.random.Generator) -> float:
    p0 = np.asarray(null_probs, dtype=float) / float(np.sum(null_probs))
    p1 = np.asarray(alt_probs, dtype=float) / float(np.sum(alt_probs))
    counts = rng.multinomial(n_total, p1, size=nsim)
    expected = n_total * p0
    statistic = ((counts - expected) ** 2 / expected).sum(axis=1)
    return float((statistic > stats.chi2.isf(alpha, len(p0) - 1)).mean())


def two_proportions(p1: float, p2: float, alpha: float, sided: str, n_per_group: int, *, nsim: int, rng: np.random.Generator) -> float:
    """The z-test on arcsine-transformed proportions, oriented in the direction of p1 - p2."""
    x1 = rng.binomial(n_per_group, p1, size=nsim) / n_per_group
    x2 = rng.binomial(n_per_group, p2, size=nsim) / n_per_group
    z = (2.0 * np.arcsin(np.sqrt(x1)) - 2.0 * np.arcsin(np.sqrt(x2))) / math.sqrt(2.0 / n_per_group)
    return float(_rejects_z(math.copysign(1.0, p1 - p2) * z, alpha, sided).mean())


def correlation_test(r: float, alpha: float, sided: str, n: int, *, nsim: int, rng: np.random.Generator) -> float:
    hits = 0
    for size in _chunks(nsim, 2 * n):
        x = rng.standard_normal((size, n))
        y = r * x + math.sqrt(1.0 - r * r) * rng.standard_normal((size, n))
        xc = x - x.mean(axis=1, keepdims=True)
        yc = y - y.mean(axis=1, keepdims=True)
        r_hat = (xc * yc).sum(axis=1) / np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
        z = np.arctanh(np.clip(r_hat, -0.999999999, 0.999999999)) * math.sqrt(n - 3)
        hits += int(_rejects_z(math.copysign(1.0, r) * z, alpha, sided).sum())
    return hits / nsim


def _logrank_rejects(times: np.ndarray, events: np.ndarray, in_group1: np.ndarray, alpha: float) -> int:
    """Two-sided log-rank test on a stack of studies (rows); continuous times, so no ties
    among events (censored times may tie; they do not enter the sums)."""
    n = times.shape[1]
    order = np.argsort(times, axis=1)
    event = np.take_along_axis(events, order, axis=1)
    group1 = np.broadcast_to(in_group1, times.shape)
    group1 = np.take_along_axis(group1, order, axis=1).astype(float)
    at_risk = n - np.arange(n, dtype=float)
    group1_at_risk = in_group1.sum() - np.cumsum(group1, axis=1) + group1
    share = group1_at_risk / at_risk
    observed_minus_expected = (event * (group1 - share)).sum(axis=1)
    variance = (event * share * (1.0 - share)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(variance > 0, observed_minus_expected**2 / variance, 0.0)
    return int((statistic > stats.chi2.isf(alpha, 1)).sum())


def cox_freedman(
    p_exp: float, p_con: float, hazard_ratio: float, alpha: float, n_exp: int, n_con: int,
    *, nsim: int, rng: np.random.Generator,
) -> float:
    """Exponential event times under proportional hazards (control hazard from p_con over a unit
    follow-up, experimental hazard = HR times it), censored at the end of follow-up; log-rank."""
    hazard_con = -math.log(1.0 - p_con)
    rates = np.concatenate([np.full(n_exp, hazard_ratio * hazard_con), np.full(n_con, hazard_con)])
    in_group1 = np.concatenate([np.ones(n_exp, dtype=bool), np.zeros(n_con, dtype=bool)])
    hits = 0
    for size in _chunks(nsim, n_exp + n_con):
        times = rng.exponential(1.0, size=(size, n_exp + n_con)) / rates
        events = times < 1.0
        hits += _logrank_rejects(np.minimum(times, 1.0), events, in_group1, alpha)
    return hits / nsim


def logrank_events(hazard_ratio: float, ratio: float, alpha: float, events: int, *, nsim: int, rng: np.random.Generator) -> float:
    """``events`` patients followed until every one has had the event (no censoring)."""
    n1 = round(events * ratio / (1.0 + ratio))
    rates = np.concatenate([np.full(n1, hazard_ratio), np.ones(events - n1)])
    in_group1 = np.concatenate([np.ones(n1, dtype=bool), np.zeros(events - n1, dtype=bool)])
    hits = 0
    for size in _chunks(nsim, events):
        times = rng.exponential(1.0, size=(size, events)) / rates
        hits += _logrank_rejects(times, np.ones_like(times, dtype=bool), in_group1, alpha)
    return hits / nsim


SIMULATORS: dict[str, Callable[..., float]] = {
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


def simulated_power(method: str, args: dict[str, object], *, nsim: int = 20_000, seed: int = 0) -> float:
    """The rejection rate of the design's test over ``nsim`` simulated studies (power-mode args)."""
    rng = np.random.default_rng(seed)
    kwargs = {k: v for k, v in args.items() if k not in ("power", "report")}
    return SIMULATORS[method](**kwargs, nsim=nsim, rng=rng)
