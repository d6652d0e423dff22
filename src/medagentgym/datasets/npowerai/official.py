"""Reading the original npowerai rows: the numbers each question states, as method arguments.

The original task files hold one question template per (test type, asked quantity). Each parser
below finds the numbers the text states; where the text is silent the original benchmark's own
convention fills in (documented per family in ``ASSUMPTIONS`` and appended to the imported prompt,
so an agent can know it). With these conventions our methods reproduce 67% of the official
answers of the release's train file exactly; the rest come from four families whose official
answers ignore a number of their own question. ``SLIPS`` emulates those four slips, which
reproduces every row: that is the conformance test of our methods.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medagentgym.datasets.npowerai.methods import ONE_SIDED, TWO_SIDED

NUMBER = r"(\d+(?:\.\d+)?)"
# Numbers agree "exactly" when equal (sizes) or within this relative difference (powers): the
# official floats were computed with another scipy, whose noncentral F differs in the 8th digit.
EXACT_REL = 1e-6
# Official questions are under 1,400 characters; longer text is refused before any pattern runs.
MAX_QUESTION_CHARS = 4000
LIST_WINDOW = 400


class OfficialRowError(ValueError):
    """The row's text does not match its family's wording (a number could not be found)."""


@dataclass(frozen=True)
class OfficialQuestion:
    """An official row read as a call of one of our methods."""

    family: tuple[str, str]  # (task_type, estimate_target)
    method: str
    args: dict[str, Any]  # what the text says (with the family's conventions)
    emulated_args: dict[str, Any]  # the official generator's arguments, slips included


def _find(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise OfficialRowError(f"{what} not found in the question")
    return match.group(1)


def _number(pattern: str, text: str, what: str) -> float:
    return float(_find(pattern, text, what))


def _integer(pattern: str, text: str, what: str) -> int:
    return int(_find(pattern, text, what))


def _percent(pattern: str, text: str, what: str) -> float:
    return _number(pattern, text, what) / 100.0


def _alpha(text: str) -> float:
    """The stated significance level; 0.05 where a question does not state one."""
    match = re.search(r"significance level of " + NUMBER, text)
    return float(match.group(1)) if match else 0.05


def _sided(text: str, default: str) -> str:
    match = re.search(r"perform an? ([\w -]+?) test", text)
    if match is None:
        return default
    words = match.group(1).lower()
    if "two-sided" in words or "two sided" in words or "not equal" in words:
        return TWO_SIDED
    if "one-sided" in words or "one sided" in words or "lower" in words or "upper" in words:
        return ONE_SIDED
    raise OfficialRowError(f"unknown sidedness {words!r}")


def _numbers_before(marker: str, text: str, what: str) -> list[float]:
    """The comma/and-separated numbers of a list that ends just before ``marker``.

    The marker is found first and only a bounded window before it is matched, so no input can
    make the list pattern backtrack over the whole question.
    """
    end = text.find(marker)
    if end < 0:
        raise OfficialRowError(f"{what} not found in the question")
    window = text[max(0, end - LIST_WINDOW) : end]
    match = re.search(r"((?:\d+(?:\.\d+)?(?:,\s*|,?\s+and\s+))+\d+(?:\.\d+)?),?\s*$", window)
    if match is None:
        raise OfficialRowError(f"{what} not found in the question")
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", match.group(1))]


def _one_sample(text: str, asks: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "mu0": _number(r"in general is " + NUMBER, text, "the reference mean"),
        "mean": _number(r"to be " + NUMBER + r" with a standard deviation", text, "the expected mean"),
        "sd": _number(r"with a standard deviation of " + NUMBER, text, "the standard deviation"),
        "alpha": _alpha(text),
        "sided": _sided(text, TWO_SIDED),
    }
    if asks == "size":
        args["power"] = _percent(r"power of " + NUMBER + "%", text, "the target power")
    else:
        args["n"] = _integer(r"recruited (\d+) participants", text, "the number of participants")
    return args


def _paired(text: str, asks: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "mean_difference": _number(r"levels " + NUMBER + r" units", text, "the mean reduction"),
        "alpha": _alpha(text),
        "sided": _sided(text, ONE_SIDED),  # "detecting a reduction": the official answers are one-sided
    }
    sd = _number(r"standard deviation of " + NUMBER, text, "the standard deviation")
    correlation = re.search(r"correlation coefficient of " + NUMBER, text)
    if correlation:
        args.update(sd=sd, correlation=float(correlation.group(1)))
    else:
        args["sd_difference"] = sd
    if asks == "size":
        args["power"] = _percent(NUMBER + "% of power", text, "the target power")
    else:
        args["n"] = _integer(r"random sample of (\d+) adults", text, "the number of adults")
    return args


def _two_sample(text: str, asks: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "difference": _number(r"two groups? will be " + NUMBER, text, "the mean difference"),
        "sd1": _number(r"diet A to be " + NUMBER, text, "the SD with diet A"),
        "sd2": _number(r"diet B to be " + NUMBER, text, "the SD with diet B"),
        "alpha": _alpha(text),
        "sided": _sided(text, TWO_SIDED),
    }
    if asks == "size":
        args["power"] = _percent(NUMBER + "% power", text, "the target power")
    else:
        args["n1"] = _integer(r"has (\d+) patients", text, "the number of patients per diet")
    return args


def _anova(text: str, asks: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "means": _numbers_before("respectively", text, "the group means"),
        "sd": _number(r"national value of " + NUMBER, text, "the common SD"),
        "alpha": _alpha(text),
        "ddof": 1,  # the official answers take the sample SD of the means for Cohen's f
    }
    if asks == "size":
        args["power"] = _percent(NUMBER + "% of power", text, "the target power")
    else:
        args["n_per_group"] = _integer(r"group of (\d+) students", text, "the group size")
    return args


def _chi2(text: str, asks: str) -> dict[str, Any]:
    females = _numbers_before("in females", text, "the proportions in females")
    males = _numbers_before("in males", text, "the proportions in males")
    if len(females) != len(males):
        raise OfficialRowError("the two groups list different numbers of categories")
    args: dict[str, Any] = {"group_shares": [1, 1], "proportions": [females, males], "alpha": _alpha(text)}
    if asks == "size":
        args["power"] = _percent(NUMBER + "% of power", text, "the target power")
    else:
        args["n_total"] = _integer(r"random sample of (\d+) college", text, "the number of students")
    return args


def _cox(text: str, asks: str) -> dict[str, Any]:
    match = re.search(r"groups E and C are " + NUMBER + r" and " + NUMBER, text)
    if match is None:
        raise OfficialRowError("the event probabilities not found in the question")
    args: dict[str, Any] = {
        "p_exp": float(match.group(1)),
        "p_con": float(match.group(2)),
        "hazard_ratio": _number(r"hazard ratio[^.]*? assumed to be " + NUMBER, text, "the hazard ratio"),
        "alpha": _alpha(text),
    }
    if asks == "size":
        args["power"] = _percent(NUMBER + "% power", text, "the target power")
    else:
        n = _integer(r"having (\d+) person", text, "the group size")
        args.update(n_exp=n, n_con=n)
    return args


FAMILIES: dict[tuple[str, str], tuple[str, Callable[[str, str], dict[str, Any]]]] = {
    ("One-sample t-test", "size"): ("one_sample_t", _one_sample),
    ("One-sample t-test", "power"): ("one_sample_t", _one_sample),
    ("Paired t-test", "size"): ("paired_t", _paired),
    ("Paired t-test", "power"): ("paired_t", _paired),
    ("Two independent samples t-test", "size"): ("two_sample_t", _two_sample),
    ("Two independent samples t-test", "power"): ("two_sample_t", _two_sample),
    ("One-way ANOVA", "size"): ("one_way_anova", _anova),
    ("One-way ANOVA", "power"): ("one_way_anova", _anova),
    ("Chi-square test of independence", "size"): ("chi2_independence", _chi2),
    ("Chi-square test of independence", "power"): ("chi2_independence", _chi2),
    ("Cox proportional-hazards model", "size"): ("cox_freedman", _cox),
    ("Cox proportional-hazards model", "power"): ("cox_freedman", _cox),
}

# The four official slips: the number the official answers were computed with, whatever the text says.
SLIPS: dict[tuple[str, str], dict[str, Any]] = {
    ("Two independent samples t-test", "size"): {"difference": 10.0},
    ("Paired t-test", "power"): {"n": 42},
    ("One-way ANOVA", "power"): {"n_per_group": 31},
    ("Cox proportional-hazards model", "power"): {"hazard_ratio": 0.7},
}

# Conventions the official answers follow where the question is silent (appended to the prompt).
ASSUMPTIONS: dict[str, str] = {
    "one_sample_t": "Cohen's d is the difference between the expected mean and the reference mean divided by the SD.",
    "paired_t": (
        "Cohen's d is the mean reduction divided by the SD of the paired differences (from the SD and the correlation "
        "when both are given); where the sidedness is not stated, the test is one-sided in the direction of the reduction."
    ),
    "two_sample_t": (
        "Cohen's d uses the pooled SD sqrt((SD_A^2 + SD_B^2) / 2) with equal group sizes (a stated number of patients "
        "is the size of each group); where not stated, the test is two-sided at the 0.05 level."
    ),
    "one_way_anova": (
        "Cohen's f is the sample standard deviation of the group means (dividing by k - 1) divided by the common SD; "
        "a stated group size is the size of each group."
    ),
    "chi2_independence": (
        "The two groups are of equal size; Cohen's w is computed from the joint distribution against independence, "
        "with the power from the noncentral chi-square distribution; the size asked is the total."
    ),
    "cox_freedman": "Plan with Freedman's formula as lifelines implements it (two-sided; equal groups).",
}


def check_plausible(args: dict[str, Any]) -> None:
    """Refuse numbers no study design has (they come from an untrusted file): non-finite values,
    alpha or power outside (0, 1), sizes outside [2, 10**7], non-positive SDs, probabilities
    outside (0, 1), a hazard ratio of 1 or below 0, correlations outside (-1, 1)."""

    def bad(name: str, value: Any) -> OfficialRowError:
        return OfficialRowError(f"implausible {name} = {value!r}")

    for name, value in args.items():
        values = [v for row in value for v in (row if isinstance(row, list) else [row])] if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, float) and not math.isfinite(item):
                raise bad(name, item)
        if name in ("alpha", "power") and not 0.0 < float(value) < 1.0:
            raise bad(name, value)
        if name in ("n", "n1", "n_per_group", "n_total", "n_exp", "n_con", "events") and not 2 <= int(value) <= 10**7:
            raise bad(name, value)
        if name in ("sd", "sd1", "sd2", "sd_difference") and not float(value) > 0.0:
            raise bad(name, value)
        if name in ("p_exp", "p_con", "proportions") and not all(0.0 < v < 1.0 for v in values):
            raise bad(name, value)
        if name == "hazard_ratio" and not (float(value) > 0.0 and float(value) != 1.0):
            raise bad(name, value)
        if name == "correlation" and not -1.0 < float(value) < 1.0:
            raise bad(name, value)
    if "means" in args and (len(args["means"]) < 2 or len(set(args["means"])) < 2):
        raise OfficialRowError("the group means must be at least two and not all equal")


def read_official(task_type: str, asks: str, question: str) -> OfficialQuestion:
    """The method call an official question states, and the one its official answer used."""
    family = (task_type, asks)
    if family not in FAMILIES:
        raise OfficialRowError(f"unknown family {task_type!r} / {asks!r}")
    if len(question) > MAX_QUESTION_CHARS:
        raise OfficialRowError(f"question longer than {MAX_QUESTION_CHARS} characters")
    method, parser = FAMILIES[family]
    text = " ".join(question.split())
    args = parser(text, asks)
    check_plausible(args)
    emulated = {**args, **SLIPS.get(family, {})}
    return OfficialQuestion(family, method, args, emulated)


def same_answer(ours: float | None, official: Any) -> bool:
    """Equal sizes, or powers within ``EXACT_REL`` relative."""
    if ours is None or isinstance(official, bool) or not isinstance(official, (int, float)):
        return False
    if not math.isfinite(float(official)):
        return False
    if isinstance(ours, int):
        return float(official) == float(ours)
    return math.isclose(float(ours), float(official), rel_tol=EXACT_REL, abs_tol=0.0)
