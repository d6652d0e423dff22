"""Time-to-event designs: the Cox proportional-hazards comparison of two groups (Freedman's
formula, as lifelines computes it) and the number of events a log-rank test needs (Schoenfeld).

Event probabilities are consistent with the stated hazard ratio under proportional hazards and a
common follow-up: p_exp = 1 - (1 - p_con) ** HR (then rounded to three decimals, and the rounded
number is the one stated and used).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from medagentgym.datasets.npowerai.common import (
    Asks,
    Draw,
    alpha_phrase,
    num,
    pick_alpha,
    power_question,
    size_question,
)
from medagentgym.datasets.npowerai.design import TestType

# Freedman's and Schoenfeld's formulas are large-sample approximations whose error grows as the
# hazard ratio moves away from 1 (measured against simulated log-rank tests: Schoenfeld overstates
# the power by ~2 points at HR 0.55 with 1:1 allocation, by under a point from HR 0.7; Freedman is
# within about a point from HR 0.65 with 1:1 or 1.5:1 allocation, but understates it by 1-1.5
# points with 2:1). Designs stay in those ranges.
COX_HR_RANGE = (0.65, 0.85)
COX_RATIOS = (1.0, 1.0, 1.0, 1.5)
LOGRANK_HR_RANGE = (0.7, 0.85)


@dataclass(frozen=True)
class SurvivalScenario:
    name: str
    subjects: str
    treatment: str
    control: str
    intro: str
    event: str
    p_con: tuple[float, float]


COX_SCENARIOS = (
    SurvivalScenario(
        "statin-prevention", "participants", "the statin", "placebo",
        "A cardiovascular prevention trial will randomise adults at moderate risk to a statin or "
        "placebo and follow them for five years.", "a major cardiovascular event", (0.1, 0.3),
    ),
    SurvivalScenario(
        "adjuvant-chemotherapy", "patients", "adjuvant chemotherapy", "observation",
        "An oncology group will randomise patients after resection of stage II colon cancer to "
        "adjuvant chemotherapy or observation, with three years of follow-up for everyone.",
        "cancer recurrence", (0.2, 0.45),
    ),
    SurvivalScenario(
        "anticoagulant-stroke", "patients", "the new anticoagulant", "warfarin",
        "A trial in atrial fibrillation will compare a new oral anticoagulant with warfarin; patients "
        "are enrolled over two years and followed for up to four.", "stroke or systemic embolism", (0.08, 0.2),
    ),
    SurvivalScenario(
        "heart-failure-device", "patients", "the device", "medical therapy alone",
        "A heart-failure trial will compare an implanted monitoring device plus medical therapy with "
        "medical therapy alone over two years.", "hospitalisation for heart failure or death", (0.3, 0.6),
    ),
)


@dataclass(frozen=True)
class CoxFreedman(TestType):
    key: str = "cox_freedman"
    method: str = "cox_freedman"
    size_arg: str = "n_con"
    min_size: int = 10
    max_size: int = 8000

    def design(self, rng: random.Random) -> Draw:
        s = rng.choice(COX_SCENARIOS)
        p_con = round(rng.uniform(*s.p_con), 2)
        hazard_ratio = round(rng.uniform(*COX_HR_RANGE), 2)
        p_exp = round(1.0 - (1.0 - p_con) ** hazard_ratio, 3)
        ratio = rng.choice(COX_RATIOS)
        args: dict[str, Any] = {
            "p_exp": p_exp, "p_con": p_con, "hazard_ratio": hazard_ratio, "alpha": pick_alpha(rng), "ratio": ratio,
            "report": "per_group" if ratio == 1.0 else "total",
        }
        return Draw(self.method, args, s.name)

    def with_size(self, args: dict[str, Any], size: int) -> dict[str, Any]:
        """``size`` counts one group (equal allocation) or both groups (unequal); in the power
        question the control group gets size / (1 + ratio), the other group ratio times that."""
        out = {k: v for k, v in args.items() if k not in ("power", "report", "ratio")}
        ratio = float(args["ratio"])
        if ratio == 1.0:
            n_con = size
        else:
            n_con = max(2, round(size / (1.0 + ratio)))
            n_con += n_con % 2 if ratio == 1.5 else 0  # an even control group: ratio * n_con is whole
        out["n_exp"] = round(ratio * n_con)
        out["n_con"] = n_con
        return out

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in COX_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        parts = [
            s.intro,
            (f"The probability of {s.event} during the study is expected to be {num(a['p_con'])} with {s.control} "
            f"and {num(a['p_exp'])} with {s.treatment}, and the hazard ratio ({s.treatment} versus {s.control}) "
            f"is assumed to be {num(a['hazard_ratio'])}."),
            (f"The groups will be compared with a Cox proportional-hazards model (a two-sided test {alpha_phrase(a['alpha'], rng)}), "
            "planning with Freedman's formula for the number of events and the expected event "
            "probabilities for the number of participants (as lifelines implements it)."),
        ]
        if asks == "size":
            ratio = float(a["ratio"])
            if ratio == 1.0:
                parts.append("Both groups will have the same size.")
                parts.append(size_question(a["power"], f"{s.subjects} per group", rng))
            else:
                parts.append(
                    f"Allocation is {num(ratio)}:1, {num(ratio)} times as many with {s.treatment} as with {s.control}; "
                    "each group's size is rounded up on its own."
                )
                parts.append(size_question(a["power"], f"{s.subjects} in total (both groups, each rounded up)", rng))
        else:
            parts.append(
                f"{a['n_exp']} {s.subjects} will receive {s.treatment} and {a['n_con']} {s.control}. "
                "Give the power as Freedman's formula gives it (the far tail of the two-sided test is ignored). "
                + power_question(rng)
            )
        return " ".join(parts)


LOGRANK_SCENARIOS = (
    SurvivalScenario(
        "lung-cancer-survival", "patients", "the new regimen", "standard chemotherapy",
        "A phase III trial in advanced non-small-cell lung cancer will compare overall survival with "
        "a new regimen against standard chemotherapy.", "death", (0.0, 0.0),
    ),
    SurvivalScenario(
        "ms-relapse", "patients", "the new disease-modifying drug", "the active comparator",
        "A multiple sclerosis trial will compare the time to first relapse on a new disease-modifying "
        "drug and on an active comparator.", "a first relapse", (0.0, 0.0),
    ),
    SurvivalScenario(
        "copd-exacerbation", "patients", "triple inhaled therapy", "dual therapy",
        "A respiratory trial will compare the time to first moderate or severe exacerbation of COPD "
        "with triple versus dual inhaled therapy.", "a first exacerbation", (0.0, 0.0),
    ),
)


@dataclass(frozen=True)
class LogRankEvents(TestType):
    """Schoenfeld's number of events; asked as a size (the total number of events)."""

    key: str = "logrank_events"
    method: str = "logrank_events"
    size_arg: str = "events"
    min_size: int = 10
    max_size: int = 5000

    def design(self, rng: random.Random) -> Draw:
        s = rng.choice(LOGRANK_SCENARIOS)
        hazard_ratio = round(rng.uniform(*LOGRANK_HR_RANGE), 2)
        ratio = float(rng.choice((1, 1, 2, 1.5)))
        return Draw(self.method, {"hazard_ratio": hazard_ratio, "ratio": ratio, "alpha": pick_alpha(rng)}, s.name)

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        s = next(x for x in LOGRANK_SCENARIOS if x.name == draw.scenario)
        a = draw.args
        ratio = float(a["ratio"])
        allocation = "1:1" if ratio == 1.0 else f"{num(ratio)}:1 ({s.treatment} : {s.control})"
        parts = [
            s.intro,
            (f"The hazard ratio of {s.event} ({s.treatment} versus {s.control}) is assumed to be {num(a['hazard_ratio'])}, "
            f"and patients will be randomised {allocation}."),
            (f"The analysis is a two-sided log-rank test {alpha_phrase(a['alpha'], rng)}; plan with "
            "Schoenfeld's approximation, under which the log-rank statistic after D events is normal "
            "with mean |ln HR| * sqrt(q1 * q2 * D) and unit variance (q1, q2: the allocation shares)."),
        ]
        if asks == "size":
            parts.append(size_question(a["power"], f"events ({s.event}, both groups together)", rng))
        else:
            parts.append(f"The analysis will take place after {a['events']} events. " + power_question(rng))
        return " ".join(parts)
