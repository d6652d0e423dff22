"""An independent second derivation of every answer: textbook power formulas over scipy's
noncentral distributions, written without statsmodels or lifelines.

Same signatures as ``methods.py`` so a test can feed both the same question. The code paths differ
on purpose: t tails come from ``scipy.stats.nct`` (the lower tail by reflection, P(T < -c | nc) =
P(T > c | -nc), which stays finite where ``special.nctdtr`` returns NaN), F from
``scipy.stats.ncf``, chi-square from ``scipy.stats.ncx2`` with Cohen's w and the degrees of
freedom derived here, normal approximations from ``scipy.stats.norm``, Freedman's formula from
its published form. Sizes are the smallest integer whose closed-form power reaches the target,
found by a plain upward scan from a normal-approximation starting point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import integrate, stats

TWO_SIDED = "two-sided"


def _tail_split(alpha: float, sided: str) -> float:
    return alpha / 2.0 if sided == TWO_SIDED else alpha


def _nct_left(x: float, df: float, nc: float) -> float:
    """P(T <= x) for noncentral t, by reflection through scipy.stats.nct; quadrature if NaN."""
    value = float(stats.nct.sf(-x, df, -nc))
    if math.isfinite(value):
        return value
    density = lambda s: stats.norm.cdf(x * s - nc) * 2.0 * s * df * stats.chi2.pdf(df * s * s, df)
    return float(integrate.quad(density, 0.0, math.inf, limit=200)[0])


def _nct_right(x: float, df: float, nc: float) -> float:
    value = float(stats.nct.sf(x, df, nc))
    return value if math.isfinite(value) else 1.0 - _nct_left(x, df, nc)


def t_power(d: float, n_eff: float, df: float, alpha: float, sided: str) -> float:
    """Power of a t-test whose statistic is noncentral t(df, d * sqrt(n_eff)) under H1."""
    crit = float(stats.t.isf(_tail_split(alpha, sided), df))
    nc = abs(d) * math.sqrt(n_eff)
    power = _nct_right(crit, df, nc)
    if sided == TWO_SIDED:
        power += _nct_left(-crit, df, nc)
    return min(power, 1.0)


def _z(p: float) -> float:
    return float(stats.norm.ppf(p))


def _scan(power_at: Callable[[int], float], target: float, guess: float, start: int) -> int:
    """Smallest n >= start with power_at(n) >= target: from half a normal-approximation guess,
    step down until below the target, gallop up, then bisect the last step."""
    n = max(start, int(guess * 0.5))
    while n > start and power_at(n) >= target:
        n = max(start, n // 2)
    if power_at(n) >= target:
        return n
    step = 1
    while power_at(n + step) < target:
        n += step
        step *= 2
    low, high = n, n + step  # power_at(low) < target <= power_at(high)
    while high - low > 1:
        middle = (low + high) // 2
        if power_at(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def _normal_guess(effect: float, alpha: float, power: float, sided: str, scale: float = 1.0) -> float:
    """n from the normal approximation n = scale * ((z_alpha + z_beta) / effect)^2."""
    return scale * ((_z(1.0 - _tail_split(alpha, sided)) + _z(power)) / max(effect, 1e-12)) ** 2


def one_sample_t(mu0: float, mean: float, sd: float, alpha: float, sided: str, power: float | None = None, n: int | None = None) -> float | int:
    d = abs(mean - mu0) / sd
    power_at = lambda size: t_power(d, size, size - 1, alpha, sided)
    if power is None:
        return power_at(n)
    return _scan(power_at, power, _normal_guess(d, alpha, power, sided), 2)


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
    if sd_difference is None:
        sd_difference = math.sqrt(sd**2 + sd**2 - 2.0 * correlation * sd * sd)  # Var(X - Y)
    return one_sample_t(0.0, mean_difference, sd_difference, alpha, sided, power=power, n=n)


def two_sample_t(
    difference: float, sd1: float, sd2: float, alpha: float, sided: str, ratio: float = 1.0,
    power: float | None = None, n1: int | None = None,
) -> float | int:
    d = abs(difference) / math.sqrt((sd1 * sd1 + sd2 * sd2) / 2.0)

    def power_at(size: int) -> float:
        size2 = ratio * size
        return t_power(d, size * size2 / (size + size2), size + size2 - 2, alpha, sided)

    if power is None:
        return power_at(n1)
    return _scan(power_at, power, _normal_guess(d, alpha, power, sided, (1 + ratio) / ratio), 2)


def one_way_anova(
    means: Sequence[float], sd: float, alpha: float, power: float | None = None, n_per_group: int | None = None, ddof: int = 0
) -> float | int:
    k = len(means)
    grand = sum(means) / k
    f2 = sum((m - grand) ** 2 for m in means) / (k - ddof) / sd**2

    def power_at(size: int) -> float:
        total = k * size
        crit = float(stats.f.isf(alpha, k - 1, total - k))
        return float(stats.ncf.sf(crit, k - 1, total - k, f2 * total))

    if power is None:
        return power_at(n_per_group)
    return _scan(power_at, power, 1.0 / max(f2, 1e-12) / k, 2)


def _chi2_power(w2: float, df: int, alpha: float, total: int) -> float:
    crit = float(stats.chi2.isf(alpha, df))
    return float(stats.ncx2.sf(crit, df, w2 * total))


def chi2_independence(
    group_shares: Sequence[float], proportions: Sequence[Sequence[float]], alpha: float,
    power: float | None = None, n_total: int | None = None,
) -> float | int:
    shares = np.asarray(group_shares, dtype=float) / float(np.sum(group_shares))
    cond = np.asarray(proportions, dtype=float)
    cond = cond / cond.sum(axis=1, keepdims=True)
    joint = shares[:, None] * cond
    column = joint.sum(axis=0)
    expected = shares[:, None] * column[None, :]
    w2 = float(((joint - expected) ** 2 / expected).sum())
    df = (cond.shape[0] - 1) * (cond.shape[1] - 1)
    power_at = lambda size: _chi2_power(w2, df, alpha, size)
    if power is None:
        return power_at(n_total)
    return _scan(power_at, power, 1.0 / max(w2, 1e-12), 2)


def chi2_goodness_of_fit(
    null_probs: Sequence[float], alt_probs: Sequence[float], alpha: float, power: float | None = None, n_total: int | None = None
) -> float | int:
    p0 = np.asarray(null_probs, dtype=float) / float(np.sum(null_probs))
    p1 = np.asarray(alt_probs, dtype=float) / float(np.sum(alt_probs))
    w2 = float(((p1 - p0) ** 2 / p0).sum())
    power_at = lambda size: _chi2_power(w2, len(p0) - 1, alpha, size)
    if power is None:
        return power_at(n_total)
    return _scan(power_at, power, 1.0 / max(w2, 1e-12), 2)


def _normal_power(shift: float, alpha: float, sided: str) -> float:
    """P(reject) for a z statistic ~ N(shift, 1), shift >= 0."""
    crit = _z(1.0 - _tail_split(alpha, sided))
    power = float(stats.norm.sf(crit - shift))
    if sided == TWO_SIDED:
        power += float(stats.norm.cdf(-crit - shift))
    return power


def two_proportions(p1: float, p2: float, alpha: float, sided: str, power: float | None = None, n_per_group: int | None = None) -> float | int:
    h = abs(2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p2)))
    power_at = lambda size: _normal_power(h * math.sqrt(size / 2.0), alpha, sided)
    if power is None:
        return power_at(n_per_group)
    return _scan(power_at, power, _normal_guess(h, alpha, power, sided, 2.0), 2)


def correlation_test(r: float, alpha: float, sided: str, power: float | None = None, n: int | None = None) -> float | int:
    z = abs(0.5 * math.log((1.0 + r) / (1.0 - r)))
    power_at = lambda size: _normal_power(z * math.sqrt(size - 3), alpha, sided)
    if power is None:
        return power_at(n)
    return _scan(power_at, power, _normal_guess(z, alpha, power, sided) + 3, 4)


def cox_freedman(
    p_exp: float, p_con: float, hazard_ratio: float, alpha: float, ratio: float = 1.0,
    power: float | None = None, n_exp: int | None = None, n_con: int | None = None, report: str = "per_group",
) -> float | int:
    """Freedman (1982): events D = (z_{1-a/2} + z_{1-b})^2 (1 + r HR)^2 / (r (1 - HR)^2) with
    r = n_exp / n_con; participants = D / (share-weighted event probability)."""
    if power is not None:
        events = (_z(1.0 - alpha / 2.0) + _z(power)) ** 2 * (1.0 + ratio * hazard_ratio) ** 2 / (ratio * (1.0 - hazard_ratio) ** 2)
        n_con_size = math.ceil(events / (ratio * p_exp + p_con))
        n_exp_size = math.ceil(events * ratio / (ratio * p_exp + p_con))
        return n_exp_size + n_con_size if report == "total" else n_exp_size
    k = n_exp / n_con
    events = n_exp * p_exp + n_con * p_con
    return float(stats.norm.cdf(math.sqrt(k * events) * abs(1.0 - hazard_ratio) / (1.0 + k * hazard_ratio) - _z(1.0 - alpha / 2.0)))


def logrank_events(hazard_ratio: float, ratio: float, alpha: float, power: float | None = None, events: int | None = None) -> float | int:
    """Schoenfeld (1981): a log-rank statistic ~ N(|log HR| sqrt(q1 q2 D), 1) after D events."""
    q1 = ratio / (1.0 + ratio)
    effect = abs(math.log(hazard_ratio)) * math.sqrt(q1 * (1.0 - q1))
    power_at = lambda count: _normal_power(effect * math.sqrt(count), alpha, TWO_SIDED)
    if power is None:
        return power_at(events)
    return _scan(power_at, power, _normal_guess(effect, alpha, power, TWO_SIDED), 2)


CLOSED_FORMS: dict[str, Callable[..., float | int]] = {
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
    return CLOSED_FORMS[method](**args)
