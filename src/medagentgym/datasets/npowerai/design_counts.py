"""Designs over counts and associations: chi-square tests (independence, goodness of fit), two
proportions and a correlation, each with several narrative scenarios.

Distributions are written as whole percentages (or stated weights such as "equal"), so the numbers
in the text are exactly the method's arguments.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from medagentgym.datasets.npowerai.common import (
    Asks,
    Draw,
    alpha_phrase,
    num,
    pick_alpha,
    pick_sided,
    power_question,
    sided_phrase,
    size_question,
)
from medagentgym.datasets.npowerai.design import RejectDraw, TestType

MIN_EXPECTED = 5.0  # the chi-square approximation's rule of thumb, enforced on every design
# Cohen's w of the chi-square designs. The noncentral chi-square power is a local approximation:
# its error grows with w (about 2 points of power at w = 0.2 for 0.8-0.9 power, measured against
# simulation), so designs stay in the small-effect range where it is within about a point.
W_RANGE = (0.03, 0.12)
# Goodness of fit: the approximation also takes the cell variances from the null, so a cell whose
# proportion changes by a large fraction (0.15 -> 0.18 is 20%) moves the power by 1-2 points;
# no cell may change by more than this fraction of its null proportion.
MAX_RELATIVE_CHANGE = 0.12


def _percentages(weights: list[float], floor: int) -> list[int]:
    """Whole percentages summing to 100, each at least ``floor``, proportional to ``weights``."""
    k = len(weights)
    spare = 100 - floor * k
    total = sum(weights)
    raw = [w / total * spare for w in weights]
    parts = [math.floor(x) for x in raw]
    order = sorted(range(k), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: spare - sum(parts)]:
        parts[i] += 1
    return [p + floor for p in parts]


def _shifted(base: list[int], rng: random.Random, strength: float, floor: int) -> list[int]:
    """Another distribution near ``base``: each weight scaled by a random factor."""
    weights = [b * math.exp(rng.gauss(0.0, strength)) for b in base]
    return _percentages(weights, floor)


def _as_proportions(percentages: list[int]) -> list[float]:
    return [p / 100 for p in percentages]


def cohen_w(null: list[float], alternative: list[float]) -> float:
    """Cohen's w of two distributions over the same cells (each normalised to sum 1)."""
    total0, total1 = sum(null), sum(alternative)
    return math.sqrt(sum((a / total1 - b / total0) ** 2 / (b / total0) for a, b in zip(alternative, null, strict=True)))


def _independence_w(shares: list[int], rows: list[list[float]]) -> float:
    total = sum(shares)
    joint = [s / total * p for s, row in zip(shares, rows, strict=True) for p in row]
    row_margin = [s / total for s in shares]
    column_margin = [sum(s / total * row[j] for s, row in zip(shares, rows, strict=True)) for j in range(len(rows[0]))]
    independent = [r * c for r in row_margin for c in column_margin]
    return cohen_w(independent, joint)


def _listing(labels: tuple[str, ...] | list[str], values: list[float]) -> str:
    items = [f"{label} {num(value)}" for label, value in zip(labels, values, strict=True)]
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- independence


@dataclass(frozen=True)
class IndependenceScenario:
    name: str
    subjects: str
    groups: tuple[str, ...]
    categories: tuple[str, ...]
    intro: str  # {groups} and {categories} as lists


INDEPENDENCE_SCENARIOS = (
    IndependenceScenario(
        "depression-gender", "students", ("female students", "male students"),
        ("no depression", "mild", "moderate", "severe", "extremely severe"),
        "A student health service will survey a random sample of university students to see whether "
        "the severity of depressive symptoms ({categories}) differs between {groups}.",
    ),
    IndependenceScenario(
        "smoking-region", "adults", ("urban", "suburban", "rural"),
        ("never smoked", "former smoker", "current smoker"),
        "A public health team will survey adults from {groups} districts to test whether smoking "
        "status ({categories}) is associated with where people live.",
    ),
    IndependenceScenario(
        "vaccine-age", "adults", ("adults under 40", "adults aged 40 to 64", "adults aged 65 or over"),
        ("would accept", "undecided", "would refuse"),
        "Before a vaccination campaign, a health department will ask a random sample of adults "
        "whether they would accept a new vaccine ({categories}) and compare the answers of {groups}.",
    ),
    IndependenceScenario(
        "health-insurance", "respondents", ("publicly insured", "privately insured"),
        ("excellent", "good", "fair", "poor"),
        "A health-services researcher will compare self-rated health ({categories}) between "
        "{groups} respondents in a household survey.",
    ),
)


def _ratio_text(weights: list[int], groups: tuple[str, ...]) -> str:
    if len(set(weights)) == 1:
        return "The groups will be of equal size."
    return (
        "The group sizes will be in the ratio "
        + ":".join(str(w) for w in weights)
        + f" ({' : '.join(groups)})."
    )


@dataclass(frozen=True)
class ChiSquareIndependence(TestType):
    key: str = "chi2_independence"
    method: str = "chi2_independence"
    size_arg: str = "n_total"
    min_size: int = 20
    max_size: int = 20000

    def design(self, rng: random.Random) -> Draw:
        scenario = rng.choice(INDEPENDENCE_SCENARIOS)
        c = len(scenario.categories)
        base = _percentages([rng.uniform(0.3, 1.0) for _ in range(c)], 3)
        strength = rng.uniform(0.08, 0.35)
        rows = [base] + [_shifted(base, rng, strength, 2) for _ in scenario.groups[1:]]
        r = len(scenario.groups)
        shares = [1] * r if rng.random() < 0.6 else rng.choice(([3, 2], [2, 1], [3, 1]) if r == 2 else ([2, 1, 1], [1, 2, 2], [3, 2, 1]))
        proportions = [_as_proportions(row) for row in rows]
        if not W_RANGE[0] <= _independence_w(shares, proportions) <= W_RANGE[1]:
            raise RejectDraw("effect size outside the range where the approximation holds")
        args: dict[str, Any] = {"group_shares": shares, "proportions": proportions, "alpha": pick_alpha(rng)}
        return Draw(self.method, args, scenario.name)

    def plausible(self, args: dict[str, Any], size: int) -> bool:
        shares = args["group_shares"]
        table = args["proportions"]
        total = sum(shares)
        margin = [sum(s / total * row[j] for s, row in zip(shares, table, strict=True)) for j in range(len(table[0]))]
        return size * min(shares) / total * min(margin) >= MIN_EXPECTED

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in INDEPENDENCE_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        r = len(s.groups)
        parts = [
            s.intro.format(groups=" and ".join(s.groups) if r == 2 else f"{', '.join(s.groups[:-1])} and {s.groups[-1]}",
                           categories=", ".join(s.categories)),
            "The researchers expect these proportions in each category: "
            + "; ".join(f"{group}: {_listing(s.categories, row)}" for group, row in zip(s.groups, a["proportions"], strict=True))
            + ".",
            _ratio_text(a["group_shares"], s.groups),
            (f"Association will be tested with Pearson's chi-square test of independence on the {r} x {len(s.categories)} "
            f"table {alpha_phrase(a['alpha'], rng)}, with the power from the noncentral chi-square "
            "distribution; the effect size is Cohen's w, computed from the joint distribution of group "
            "and category that these proportions and group sizes imply, against independence (the "
            "product of its margins)."),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], f"{s.subjects} in total (all groups together)", rng))
        else:
            parts.append(f"The survey will include {a['n_total']} {s.subjects} in total. " + power_question(rng))
        return " ".join(parts)


# --------------------------------------------------------------------------- goodness of fit


@dataclass(frozen=True)
class GofScenario:
    name: str
    subjects: str
    categories: tuple[str, ...]
    intro: str
    null: str  # how the text introduces the null distribution


GOF_SCENARIOS = (
    GofScenario(
        "blood-groups", "patients", ("O", "A", "B", "AB"),
        "A haematologist wonders whether ABO blood groups are distributed differently among patients "
        "with a rare clotting disorder than in the regional population.",
        "The regional population proportions are",
    ),
    GofScenario(
        "admission-weekday", "admissions", ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "A hospital manager will test whether admissions for heart failure fall on the days of the "
        "week in the same proportions as all emergency admissions of the hospital.",
        "All emergency admissions fall on the days in the proportions",
    ),
    GofScenario(
        "hardy-weinberg", "participants", ("AA", "Aa", "aa"),
        "A genetic epidemiologist will genotype a biallelic marker in a cohort and test the "
        "genotype frequencies against the proportions expected from a published reference panel.",
        "The reference proportions are",
    ),
    GofScenario(
        "birth-season", "children", ("winter", "spring", "summer", "autumn"),
        "A paediatric research group will test whether the season of birth of children diagnosed "
        "with type 1 diabetes differs from the season of birth of all children in the region.",
        "The regional proportions of births are",
    ),
)


@dataclass(frozen=True)
class ChiSquareGoodnessOfFit(TestType):
    key: str = "chi2_goodness_of_fit"
    method: str = "chi2_goodness_of_fit"
    size_arg: str = "n_total"
    min_size: int = 20
    max_size: int = 20000

    def design(self, rng: random.Random) -> Draw:
        scenario = rng.choice(GOF_SCENARIOS)
        k = len(scenario.categories)
        null = _percentages([rng.uniform(0.25, 1.0) for _ in range(k)], 4)
        alt = _shifted(null, rng, rng.uniform(0.04, 0.25), 2)
        if not W_RANGE[0] <= cohen_w(_as_proportions(null), _as_proportions(alt)) <= W_RANGE[1]:
            raise RejectDraw("effect size outside the range where the approximation holds")
        if max(abs(a - b) / b for a, b in zip(alt, null, strict=True)) > MAX_RELATIVE_CHANGE:
            raise RejectDraw("a cell changes by too large a fraction for the approximation")
        args = {"null_probs": _as_proportions(null), "alt_probs": _as_proportions(alt), "alpha": pick_alpha(rng)}
        return Draw(self.method, args, scenario.name)

    def plausible(self, args: dict[str, Any], size: int) -> bool:
        return size * min(args["null_probs"]) >= MIN_EXPECTED

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in GOF_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        parts = [
            s.intro,
            (f"{s.null} {_listing(s.categories, a['null_probs'])}; the study group is expected to show "
            f"{_listing(s.categories, a['alt_probs'])}."),
            (f"The test is the chi-square goodness-of-fit test with {len(s.categories) - 1} degrees of freedom "
            f"{alpha_phrase(a['alpha'], rng)}, with the power from the noncentral chi-square distribution; "
            "the effect size is Cohen's w = sqrt(sum((p1 - p0)^2 / p0)) over the categories."),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], f"{s.subjects} in total", rng))
        else:
            parts.append(f"The study will include {a['n_total']} {s.subjects}. " + power_question(rng))
        return " ".join(parts)


# --------------------------------------------------------------------------- two proportions


@dataclass(frozen=True)
class ProportionScenario:
    name: str
    subjects: str
    group1: str
    group2: str
    intro: str
    event: str
    base: tuple[float, float]  # control proportion range
    sign: int  # -1: the intervention lowers the proportion
    direction: str


PROPORTION_SCENARIOS = (
    ProportionScenario(
        "wound-dressing", "patients", "the new dressing", "the standard dressing",
        "A surgical team will randomise patients after abdominal surgery to a new antimicrobial "
        "dressing or the standard dressing.", "a surgical-site infection within 30 days",
        (0.08, 0.3), -1, "fewer infections with the new dressing",
    ),
    ProportionScenario(
        "response-rate", "patients", "the new drug", "placebo",
        "A rheumatology trial will compare a new biologic drug with placebo in active rheumatoid "
        "arthritis.", "a clinical response at 24 weeks",
        (0.15, 0.45), 1, "a higher response rate on the drug",
    ),
    ProportionScenario(
        "smoking-cessation", "smokers", "the counselling programme", "usual care",
        "A primary-care study will offer smokers either a structured counselling programme or usual "
        "care.", "being abstinent from smoking at six months",
        (0.06, 0.2), 1, "more quitters with counselling",
    ),
    ProportionScenario(
        "readmission", "patients", "the transitional-care service", "usual discharge",
        "A hospital will compare a nurse-led transitional-care service with usual discharge planning "
        "for older patients with heart failure.", "readmission within 30 days",
        (0.15, 0.35), -1, "fewer readmissions with the service",
    ),
)


@dataclass(frozen=True)
class TwoProportions(TestType):
    key: str = "two_proportions"
    method: str = "two_proportions"
    size_arg: str = "n_per_group"
    # The binomial lattice makes the arcsine approximation wobble by 1-2 points of power in
    # groups of a few dozen; from ~150 per group it stays within about a point.
    min_size: int = 150
    max_size: int = 5000

    def design(self, rng: random.Random) -> Draw:
        s = rng.choice(PROPORTION_SCENARIOS)
        p2 = round(rng.uniform(*s.base), 2)
        ratio = rng.uniform(0.5, 0.85) if s.sign < 0 else rng.uniform(1.2, 2.0)
        p1 = round(min(max(p2 * ratio, 0.02), 0.95), 2)
        if p1 == p2:
            raise RejectDraw("equal proportions")
        return Draw(self.method, {"p1": p1, "p2": p2, "alpha": pick_alpha(rng), "sided": pick_sided(rng)}, s.name)

    def plausible(self, args: dict[str, Any], size: int) -> bool:
        return size * min(args["p1"], args["p2"], 1 - args["p1"], 1 - args["p2"]) >= MIN_EXPECTED

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in PROPORTION_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        parts = [
            s.intro,
            (f"The expected proportion of {s.subjects} with {s.event} is {num(a['p1'])} with {s.group1} and "
            f"{num(a['p2'])} with {s.group2}. Both groups will have the same size."),
            (f"The proportions will be compared {alpha_phrase(a['alpha'], rng)} with "
            f"{sided_phrase(a['sided'], s.direction, rng)} based on the normal approximation for "
            "arcsine-transformed proportions; the effect size is Cohen's h = 2*asin(sqrt(p1)) - 2*asin(sqrt(p2))."),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], f"{s.subjects} per group", rng))
        else:
            parts.append(f"Each group will have {a['n_per_group']} {s.subjects}. " + power_question(rng))
        return " ".join(parts)


# --------------------------------------------------------------------------- correlation


@dataclass(frozen=True)
class CorrelationScenario:
    name: str
    subjects: str
    intro: str
    sign: int
    direction: str


CORRELATION_SCENARIOS = (
    CorrelationScenario(
        "vitamin-d-bone", "women",
        "An endocrinologist will measure serum 25-hydroxyvitamin D and hip bone mineral density in "
        "postmenopausal women and test whether the two are correlated.",
        1, "a positive correlation",
    ),
    CorrelationScenario(
        "steps-hba1c", "patients",
        "A diabetes researcher will record the average daily step count (by pedometer) and HbA1c of "
        "patients with type 2 diabetes and test for a correlation between them.",
        -1, "a negative correlation",
    ),
    CorrelationScenario(
        "sleep-cognition", "older adults",
        "A sleep laboratory will measure average nightly sleep duration and a memory test score in "
        "older adults and test whether they are correlated.",
        1, "a positive correlation",
    ),
    CorrelationScenario(
        "bmi-crp", "adults",
        "An epidemiologist will measure body-mass index and C-reactive protein (log scale) in a "
        "population sample and test for a correlation.",
        1, "a positive correlation",
    ),
)


@dataclass(frozen=True)
class CorrelationTest(TestType):
    key: str = "correlation_test"
    method: str = "correlation_test"
    size_arg: str = "n"
    # Fisher's z ignores the bias of atanh(r_hat) (about r / (2(n - 1))): below ~60 pairs the
    # formula understates the power by 1-3 points, so designs start there.
    min_size: int = 60
    max_size: int = 5000

    def design(self, rng: random.Random) -> Draw:
        s = rng.choice(CORRELATION_SCENARIOS)
        r = s.sign * round(rng.uniform(0.08, 0.4), 2)
        return Draw(self.method, {"r": r, "alpha": pick_alpha(rng), "sided": pick_sided(rng)}, s.name)

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in CORRELATION_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        parts = [
            s.intro,
            f"The expected Pearson correlation is {num(a['r'])}.",
            (f"The null hypothesis of zero correlation will be tested with {sided_phrase(a['sided'], s.direction, rng)} "
            f"{alpha_phrase(a['alpha'], rng)} using Fisher's z transformation, with effect size atanh(r): "
            "atanh(r_hat) * sqrt(n - 3) is treated as normal with mean atanh(r) * sqrt(n - 3) and unit variance."),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], s.subjects, rng))
        else:
            parts.append(f"The study will include {a['n']} {s.subjects}. " + power_question(rng))
        return " ".join(parts)
