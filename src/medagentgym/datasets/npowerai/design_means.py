"""Designs that compare means: one-sample, paired and two-sample t-tests (equal and unequal
allocation) and the one-way ANOVA, each with several narrative scenarios."""

from __future__ import annotations

import random
from dataclasses import dataclass

from medagentgym.datasets.npowerai.common import (
    Asks,
    Draw,
    alpha_phrase,
    num,
    num_list,
    pick_alpha,
    pick_sided,
    power_question,
    sided_phrase,
    size_question,
)
from medagentgym.datasets.npowerai.design import TestType


def _round(value: float, decimals: int) -> float | int:
    return round(value) if decimals == 0 else round(value, decimals)


# --------------------------------------------------------------------------- one-sample t-test


@dataclass(frozen=True)
class OneSampleScenario:
    name: str
    mu0: float
    sd: tuple[float, float]
    decimals: int  # of the expected mean and the SD
    sign: int  # direction of the expected change: -1 lower, +1 higher
    subjects: str
    intro: str  # states the reference mean {mu0}, the expected mean {mean} and the SD {sd}
    direction: str  # the one-sided alternative in words


ONE_SAMPLE_SCENARIOS = (
    OneSampleScenario(
        "diet-blood-pressure", 120, (6.0, 20.0), 1, -1, "women",
        "A nutrition researcher will put a random sample of healthy, non-pregnant adult women on a "
        "Nordic-style diet for eight weeks. Adult women in the general population have a mean "
        "systolic blood pressure of {mu0} mmHg. She expects the women on the diet to average {mean} "
        "mmHg, with a standard deviation of {sd} mmHg.",
        "a mean below {mu0} mmHg",
    ),
    OneSampleScenario(
        "preterm-cognition", 100, (12.0, 18.0), 1, -1, "children",
        "A developmental psychologist will test a random sample of school-age children who were born "
        "before 32 weeks of gestation with a cognitive test normed to a population mean of {mu0}. "
        "She expects the children to score {mean} on average, with a standard deviation of {sd} points.",
        "a mean score below {mu0}",
    ),
    OneSampleScenario(
        "hba1c-program", 7.0, (0.6, 1.6), 2, -1, "patients",
        "A diabetes clinic will enrol patients with type 2 diabetes in a six-month self-management "
        "programme and compare their mean HbA1c with the treatment goal of {mu0}%. The team expects "
        "a mean HbA1c of {mean}% after the programme, with a standard deviation of {sd} percentage points.",
        "a mean HbA1c below {mu0}%",
    ),
    OneSampleScenario(
        "athlete-heart-rate", 72, (6.0, 14.0), 1, -1, "athletes",
        "A sports physician will measure the resting heart rate of a random sample of amateur "
        "endurance runners and compare it with the adult reference mean of {mu0} beats per minute. "
        "She expects a mean of {mean} beats per minute, with a standard deviation of {sd}.",
        "a mean below {mu0} beats per minute",
    ),
    OneSampleScenario(
        "birth-weight", 3400, (380.0, 620.0), 0, 1, "newborns",
        "A midwife-led unit wants to know whether babies born to mothers in its nutrition "
        "supplementation scheme are heavier than the regional mean birth weight of {mu0} g. The "
        "team expects a mean of {mean} g, with a standard deviation of {sd} g.",
        "a mean above {mu0} g",
    ),
)


@dataclass(frozen=True)
class OneSampleT(TestType):
    key: str = "one_sample_t"
    method: str = "one_sample_t"
    size_arg: str = "n"
    min_size: int = 3
    max_size: int = 2000

    def design(self, rng: random.Random) -> Draw:
        scenario = rng.choice(ONE_SAMPLE_SCENARIOS)
        sd = _round(rng.uniform(*scenario.sd), scenario.decimals)
        d = rng.uniform(0.12, 1.2)
        mean = _round(scenario.mu0 + scenario.sign * d * sd, scenario.decimals)
        if mean == scenario.mu0:
            mean = _round(scenario.mu0 + scenario.sign * 10 ** -max(scenario.decimals, 0), scenario.decimals)
        args = {"mu0": scenario.mu0, "mean": mean, "sd": sd, "alpha": pick_alpha(rng), "sided": pick_sided(rng)}
        return Draw(self.method, args, scenario.name)

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        scenario = next(s for s in ONE_SAMPLE_SCENARIOS if s.name == draw.scenario)
        a = draw.args
        values = {"mu0": num(a["mu0"]), "mean": num(a["mean"]), "sd": num(a["sd"])}
        test = (
            f"The comparison will be a one-sample t-test against {values['mu0']}, "
            f"{sided_phrase(a['sided'], scenario.direction.format(**values), rng)} "
            f"{alpha_phrase(a['alpha'], rng)}; the effect size is Cohen's d, the difference between "
            f"the expected mean and {values['mu0']} divided by the standard deviation."
        )
        parts = [scenario.intro.format(**values), test]
        if asks == "size":
            parts.append(size_question(a["power"], scenario.subjects, rng))
        else:
            parts.append(f"The study will include {a['n']} {scenario.subjects}. " + power_question(rng))
        return " ".join(parts)


# --------------------------------------------------------------------------- paired t-test


@dataclass(frozen=True)
class PairedScenario:
    name: str
    subjects: str
    intro: str  # the study and the expected mean change {change} (a positive number)
    unit: str
    change: tuple[float, float]
    sd: tuple[float, float]  # SD of one measurement
    decimals: int
    direction: str


PAIRED_SCENARIOS = (
    PairedScenario(
        "statin-cholesterol", "patients",
        "A physician will measure total cholesterol in patients aged 60 or over before and two "
        "months after they start a new lipid-lowering drug. From earlier studies she expects the "
        "drug to lower cholesterol by {change} mg/dL on average.",
        "mg/dL", (6.0, 25.0), (25.0, 45.0), 1, "a reduction in cholesterol",
    ),
    PairedScenario(
        "physio-pain", "patients",
        "A physiotherapist will record pain on a 0-100 visual analogue scale in patients with chronic "
        "low back pain before and after a six-week exercise programme, and expects a mean "
        "improvement of {change} points.",
        "points", (4.0, 15.0), (12.0, 22.0), 1, "a reduction in pain",
    ),
    PairedScenario(
        "bronchodilator-fev1", "patients",
        "A respiratory team will measure FEV1 in adults with asthma before and 15 minutes after an "
        "inhaled bronchodilator, expecting a mean increase of {change} L.",
        "L", (0.08, 0.35), (0.45, 0.9), 2, "an increase in FEV1",
    ),
    PairedScenario(
        "lifestyle-weight", "participants",
        "A community health service will weigh adults with obesity at the start and at the end of a "
        "twelve-week lifestyle programme and expects an average weight loss of {change} kg.",
        "kg", (1.5, 6.0), (9.0, 16.0), 1, "a weight loss",
    ),
)


@dataclass(frozen=True)
class PairedT(TestType):
    key: str = "paired_t"
    method: str = "paired_t"
    size_arg: str = "n"
    min_size: int = 3
    max_size: int = 2000

    def design(self, rng: random.Random) -> Draw:
        scenario = rng.choice(PAIRED_SCENARIOS)
        change = round(rng.uniform(*scenario.change), scenario.decimals)
        sd = round(rng.uniform(*scenario.sd), scenario.decimals)
        args: dict[str, object] = {"mean_difference": change, "alpha": pick_alpha(rng), "sided": pick_sided(rng, 0.5)}
        if rng.random() < 0.5:
            correlation = round(rng.uniform(0.3, 0.85), 2)
            args.update(sd=sd, correlation=correlation)
        else:
            args.update(sd_difference=round(sd * rng.uniform(0.5, 1.1), scenario.decimals))
        return Draw(self.method, args, scenario.name)

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        scenario = next(s for s in PAIRED_SCENARIOS if s.name == draw.scenario)
        a = draw.args
        parts = [scenario.intro.format(change=num(a["mean_difference"]))]
        if "sd_difference" in a:
            parts.append(
                f"The standard deviation of the within-patient differences (after minus before) is "
                f"expected to be {num(a['sd_difference'])} {scenario.unit}."
            )
        else:
            parts.append(
                f"Each measurement has a standard deviation of {num(a['sd'])} {scenario.unit}, and the "
                f"before and after measurements of a person are expected to be correlated with a "
                f"correlation coefficient of {num(a['correlation'])}."
            )
        parts.append(
            f"The data will be analysed with a paired t-test, {sided_phrase(a['sided'], scenario.direction, rng)} "
            f"{alpha_phrase(a['alpha'], rng)}; the effect size is Cohen's d, the mean difference "
            "divided by the standard deviation of the paired differences."
        )
        if asks == "size":
            parts.append(size_question(a["power"], f"{scenario.subjects} (pairs of measurements)", rng))
        else:
            parts.append(f"{a['n']} {scenario.subjects} will be measured twice. " + power_question(rng))
        return " ".join(parts)


# --------------------------------------------------------------------------- two-sample t-tests


@dataclass(frozen=True)
class TwoSampleScenario:
    name: str
    subjects: str
    group1: str
    group2: str
    intro: str
    outcome: str
    unit: str
    difference: tuple[float, float]
    sd: tuple[float, float]
    decimals: int
    direction: str


TWO_SAMPLE_SCENARIOS = (
    TwoSampleScenario(
        "diet-glucose", "patients", "diet A", "diet B",
        "A clinical dietitian will randomise patients with type 2 diabetes to diet A or diet B for "
        "six weeks and then measure fasting blood glucose.",
        "fasting blood glucose", "mg/dL", (6.0, 20.0), (12.0, 24.0), 1, "lower glucose on diet A",
    ),
    TwoSampleScenario(
        "antihypertensive", "patients", "the new drug", "placebo",
        "A cardiologist plans a randomised trial of a new antihypertensive drug against placebo, "
        "with the fall in systolic blood pressure over twelve weeks as the outcome.",
        "fall in systolic blood pressure", "mmHg", (3.0, 12.0), (9.0, 18.0), 1, "a larger fall on the new drug",
    ),
    TwoSampleScenario(
        "rehab-walk", "patients", "the supervised programme", "home exercise",
        "A rehabilitation unit will compare a supervised cardiac rehabilitation programme with home "
        "exercise, using the six-minute walk distance at three months.",
        "six-minute walk distance", "m", (20.0, 70.0), (60.0, 110.0), 0, "a longer distance with supervision",
    ),
    TwoSampleScenario(
        "therapy-depression", "patients", "the therapy", "usual care",
        "A psychiatrist will randomise adults with moderate depression to a brief behavioural "
        "therapy or usual care and compare Hamilton depression scores at eight weeks.",
        "Hamilton depression score", "points", (1.5, 5.0), (5.0, 9.0), 1, "lower scores with the therapy",
    ),
)


def _two_sample_sd_text(a: dict[str, object], s: TwoSampleScenario) -> str:
    if a["sd1"] == a["sd2"]:
        return f"The standard deviation of the {s.outcome} is expected to be {num(a['sd1'])} {s.unit} in both groups."  # type: ignore[arg-type]
    return (
        f"The standard deviation of the {s.outcome} is expected to be {num(a['sd1'])} {s.unit} with "  # type: ignore[arg-type]
        f"{s.group1} and {num(a['sd2'])} {s.unit} with {s.group2}."  # type: ignore[arg-type]
    )


def _two_sample_test_text(a: dict[str, object], s: TwoSampleScenario, rng: random.Random) -> str:
    return (
        f"The groups will be compared with Student's two-sample t-test (pooled variance), "
        f"{sided_phrase(str(a['sided']), s.direction, rng)} {alpha_phrase(float(a['alpha']), rng)}" + "; "  # type: ignore[arg-type]
        "the effect size is Cohen's d, the difference in means divided by the square root of the "
        "mean of the two variances ((SD1^2 + SD2^2) / 2)."
    )


@dataclass(frozen=True)
class TwoSampleT(TestType):
    key: str = "two_sample_t"
    method: str = "two_sample_t"
    size_arg: str = "n1"
    min_size: int = 3
    max_size: int = 2000

    def design(self, rng: random.Random) -> Draw:
        scenario = rng.choice(TWO_SAMPLE_SCENARIOS)
        sd1 = _round(rng.uniform(*scenario.sd), scenario.decimals)
        sd2 = sd1 if rng.random() < 0.5 else _round(sd1 * rng.uniform(0.8, 1.25), scenario.decimals)
        difference = _round(rng.uniform(*scenario.difference), scenario.decimals)
        args = {"difference": difference, "sd1": sd1, "sd2": sd2, "alpha": pick_alpha(rng), "sided": pick_sided(rng)}
        return Draw(self.method, args, scenario.name)

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in TWO_SAMPLE_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        parts = [
            s.intro,
            f"The expected difference in mean {s.outcome} between {s.group1} and {s.group2} is {num(a['difference'])} {s.unit}.",
            _two_sample_sd_text(a, s),
            "Both groups will have the same size.",
            _two_sample_test_text(a, s, rng),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], f"{s.subjects} per group", rng))
        else:
            parts.append(f"Each group will have {a['n1']} {s.subjects}. " + power_question(rng))
        return " ".join(parts)


UNEQUAL_SCENARIOS = (
    TwoSampleScenario(
        "trial-2to1", "patients", "placebo", "the active drug",
        "A trial of a new anti-inflammatory drug for knee osteoarthritis will randomise more patients "
        "to the active drug than to placebo, so that more patients gain experience with it; the "
        "outcome is the WOMAC pain score at twelve weeks.",
        "WOMAC pain score", "points", (1.5, 4.5), (3.5, 6.0), 1, "lower pain with the drug",
    ),
    TwoSampleScenario(
        "smokers-bone", "smokers", "smokers", "non-smokers",
        "An epidemiologist will compare lumbar-spine bone mineral density between smokers and "
        "non-smokers recruited from the same screening programme, where non-smokers are more common.",
        "bone mineral density", "g/cm^2", (0.03, 0.09), (0.11, 0.16), 2, "lower density in smokers",
    ),
    TwoSampleScenario(
        "cases-controls-biomarker", "cases", "cases", "controls",
        "A laboratory study will compare serum ferritin between patients with restless legs syndrome "
        "(cases) and healthy controls, recruiting several controls per case.",
        "serum ferritin", "ng/mL", (12.0, 35.0), (35.0, 60.0), 0, "lower ferritin in cases",
    ),
)


@dataclass(frozen=True)
class UnequalAllocationT(TestType):
    """Two-sample t-test where group 2 is ``ratio`` times as large as group 1 (common SD)."""

    key: str = "unequal_allocation_t"
    method: str = "two_sample_t"
    size_arg: str = "n1"
    min_size: int = 3
    max_size: int = 1500

    def design(self, rng: random.Random) -> Draw:
        scenario = rng.choice(UNEQUAL_SCENARIOS)
        sd = _round(rng.uniform(*scenario.sd), scenario.decimals)
        difference = _round(rng.uniform(*scenario.difference), scenario.decimals)
        args = {
            "difference": difference, "sd1": sd, "sd2": sd, "alpha": pick_alpha(rng), "sided": pick_sided(rng),
            "ratio": float(rng.choice((2, 2, 3, 4))),
        }
        return Draw(self.method, args, scenario.name)

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in UNEQUAL_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        ratio = num(a["ratio"])
        parts = [
            s.intro,
            f"The expected difference in mean {s.outcome} between {s.group1} and {s.group2} is {num(a['difference'])} {s.unit}.",
            _two_sample_sd_text(a, s),
            f"The allocation is {ratio}:1: there will be {ratio} times as many in the {s.group2} group as in the {s.group1} group.",
            _two_sample_test_text(a, s, rng),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], f"{s.subjects} in the smaller group ({s.group1}; the other group has {ratio} times as many)", rng))
        else:
            n1 = a["n1"]
            parts.append(f"The study will include {n1} in the {s.group1} group and {int(n1 * a['ratio'])} in the {s.group2} group. " + power_question(rng))
        return " ".join(parts)


# --------------------------------------------------------------------------- one-way ANOVA


@dataclass(frozen=True)
class AnovaScenario:
    name: str
    subjects: str
    groups: tuple[str, ...]
    intro: str  # {k} groups named {names}
    outcome: str
    unit: str
    centre: tuple[float, float]
    sd: tuple[float, float]
    decimals: int


ANOVA_SCENARIOS = (
    AnovaScenario(
        "teaching-methods", "students", ("method A", "method B", "method C", "method D", "method E"),
        "An education researcher will randomly assign fourth-grade students to {k} ways of teaching "
        "mathematics ({names}) for a school year and compare their standardised maths scores.",
        "maths score", "points", (480.0, 560.0), (60.0, 95.0), 0,
    ),
    AnovaScenario(
        "weight-loss-diets", "participants", ("low-fat", "low-carbohydrate", "Mediterranean", "intermittent fasting", "high-protein"),
        "A nutrition trial will randomise adults with overweight to {k} diets ({names}) and compare "
        "their weight loss after six months.",
        "weight loss", "kg", (3.0, 7.0), (3.5, 6.0), 1,
    ),
    AnovaScenario(
        "exercise-vo2", "volunteers", ("walking", "cycling", "interval training", "resistance training", "swimming"),
        "A sports medicine study will assign sedentary volunteers to {k} exercise programmes "
        "({names}) for ten weeks and compare their maximal oxygen uptake (VO2max) at the end.",
        "VO2max", "mL/kg/min", (28.0, 36.0), (4.0, 7.5), 1,
    ),
    AnovaScenario(
        "analgesic-doses", "patients", ("placebo", "low dose", "medium dose", "high dose", "very high dose"),
        "A dose-finding trial will randomise patients after knee surgery to {k} arms ({names}) of a "
        "new analgesic and compare the reduction in pain score over 24 hours.",
        "pain reduction", "points", (15.0, 30.0), (12.0, 20.0), 1,
    ),
)


@dataclass(frozen=True)
class OneWayAnova(TestType):
    key: str = "one_way_anova"
    method: str = "one_way_anova"
    size_arg: str = "n_per_group"
    min_size: int = 3
    max_size: int = 1500

    def design(self, rng: random.Random) -> Draw:
        scenario = rng.choice(ANOVA_SCENARIOS)
        k = rng.choice((3, 3, 4, 4, 5))
        sd = _round(rng.uniform(*scenario.sd), scenario.decimals)
        centre = rng.uniform(*scenario.centre)
        f = rng.uniform(0.1, 0.5)
        offsets = [rng.gauss(0.0, 1.0) for _ in range(k)]
        mean_offset = sum(offsets) / k
        spread = (sum((o - mean_offset) ** 2 for o in offsets) / k) ** 0.5 or 1.0
        means = [_round(centre + (o - mean_offset) / spread * f * sd, scenario.decimals) for o in offsets]
        if len(set(means)) == 1:
            means[0] = _round(means[0] + 10 ** -scenario.decimals, scenario.decimals)
        return Draw(self.method, {"means": means, "sd": sd, "alpha": pick_alpha(rng)}, scenario.name)

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in ANOVA_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        k = len(a["means"])
        names = list(s.groups[:k])
        parts = [
            s.intro.format(k=k, names=", ".join(names)),
            (f"The expected mean {s.outcome} is {num_list(a['means'])} {s.unit} for {', '.join(names[:-1])} and {names[-1]} respectively, "
            f"with a common within-group standard deviation of {num(a['sd'])} {s.unit}."),
            "All groups will have the same size.",
            (f"The groups will be compared with a one-way ANOVA F test {alpha_phrase(a['alpha'], rng)}; the "
            "effect size is Cohen's f, the standard deviation of the group means (population form: "
            f"divide by the number of groups, {k}) divided by the within-group standard deviation."),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], f"{s.subjects} per group", rng))
        else:
            parts.append(f"Each group will have {a['n_per_group']} {s.subjects}. " + power_question(rng))
        return " ".join(parts)
