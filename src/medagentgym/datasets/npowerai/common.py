"""What every study-design question shares: the parameter draw, number formatting and the
sentences that state alpha, sidedness, the target power, and what exactly is asked.

A question must state every number its answer depends on; these helpers are how it says them, so
the wording of the conventions stays the same across test types.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from medagentgym.datasets.npowerai.methods import ONE_SIDED, TWO_SIDED

Asks = Literal["size", "power"]

ALPHAS: tuple[float, ...] = (0.05, 0.05, 0.05, 0.01, 0.025, 0.1)
POWERS: tuple[float, ...] = (0.8, 0.8, 0.85, 0.9, 0.9, 0.95)
# A power question's answer lies in this band, so the 1% relative tolerance of the scorer is
# a real constraint (near 1 every sloppy answer would be within 1%).
POWER_BAND = (0.10, 0.95)
# Size questions whose power at the answer (or one below it) is this close to the target are
# redrawn: any careful method must land on the same integer.
SIZE_MARGIN = 1e-6


@dataclass(frozen=True)
class Draw:
    """One question's parameters: the ground-truth method and its keyword arguments (exactly the
    numbers the text states), and the narrative scenario the text is written in."""

    method: str
    args: dict[str, Any]
    scenario: str


def num(value: float) -> str:
    """A number as the question writes it: no trailing zeros, never scientific notation."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text


def percent(value: float) -> str:
    return f"{num(round(value * 100, 6))}%"


def num_list(values: Sequence[float]) -> str:
    items = [num(v) for v in values]
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]


def pick_alpha(rng: random.Random) -> float:
    return rng.choice(ALPHAS)


def pick_sided(rng: random.Random, one_sided_share: float = 0.3) -> str:
    return ONE_SIDED if rng.random() < one_sided_share else TWO_SIDED


def alpha_phrase(alpha: float, rng: random.Random) -> str:
    return rng.choice(
        [
            f"at a significance level of {num(alpha)}",
            f"with alpha = {num(alpha)}",
            f"at the {percent(alpha)} significance level",
        ]
    )


def sided_phrase(sided: str, direction: str, rng: random.Random) -> str:
    """``direction`` names the hypothesised effect ("a lower mean", "an increase")."""
    if sided == TWO_SIDED:
        return rng.choice(["a two-sided test", "a two-sided (non-directional) test", "a two-tailed test"])
    return rng.choice(
        [f"a one-sided test in the direction of {direction}", f"a one-tailed test for {direction}"]
    )


def size_question(power: float, what: str, rng: random.Random) -> str:
    """The closing of a size question. ``what`` says what is counted ("participants per group")."""
    lead = rng.choice(
        [
            f"What is the smallest number of {what} that gives a power of at least {percent(power)}?",
            f"How many {what} are needed for a power of at least {percent(power)}?",
            f"What sample size ({what}) is required to reach at least {percent(power)} power?",
        ]
    )
    return f"{lead} Answer with a whole number: the smallest size that reaches the power (round up)."


def power_question(rng: random.Random) -> str:
    lead = rng.choice(["What is the power of this test?", "What power does this design have?", "Compute the power of the planned test."])
    return (
        f"{lead} Answer with the power as a proportion between 0 and 1 (for example 0.734, not 73.4), "
        "to at least three significant digits."
    )


def in_band(value: float) -> bool:
    return POWER_BAND[0] <= value <= POWER_BAND[1]
