"""The shape every test type shares: draw a design, attach the asked quantity, check the answer.

A test type draws the numbers of one design (``design``) and writes its narrative (``render``);
this base class turns a design into a size question (adds a target power) or a power question
(adds a sample size chosen so that the power lands inside ``POWER_BAND``), and rejects answers
outside the test type's plausible range or too close to a rounding edge.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from medagentgym.datasets.npowerai import methods
from medagentgym.datasets.npowerai.common import (
    POWERS,
    SIZE_MARGIN,
    Asks,
    Draw,
    in_band,
)


class RejectDraw(ValueError):
    """This candidate design is not usable (answer out of range or on a rounding edge)."""


@dataclass(frozen=True)
class TestType:
    """Base of the test types: subclasses set ``key``/``method``/``size_arg`` and implement
    ``design`` and ``render``."""

    key: str = ""
    method: str = ""
    size_arg: str = "n"  # the method argument that holds the sample size in a power question
    min_size: int = 4
    max_size: int = 3000

    # -- to implement -------------------------------------------------------------------------
    def design(self, rng: random.Random) -> Draw:
        """The design's numbers (method arguments without power or size) and its scenario."""
        raise NotImplementedError

    def render(self, draw: Draw, asks: Asks, rng: random.Random) -> str:
        """The question text; it states every number in ``draw.args``."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------
    def with_size(self, args: dict[str, Any], size: int) -> dict[str, Any]:
        """The arguments of a power question whose sample size is ``size`` (as a size question of
        the same design would answer it)."""
        out = {k: v for k, v in args.items() if k != "power"}
        out[self.size_arg] = size
        return out

    def plausible(self, args: dict[str, Any], size: int) -> bool:
        """Whether the design at this sample size is one the method's approximation serves (a
        test type overrides it, e.g. chi-square tests need expected counts of at least 5)."""
        return True

    def propose(self, rng: random.Random, asks: Asks) -> tuple[Draw, float | int]:
        """A usable question of this type and its answer; raises RejectDraw for a bad candidate."""
        base = self.design(rng)
        if asks == "size":
            draw = replace(base, args={**base.args, "power": rng.choice(POWERS)})
            answer = methods.compute(self.method, draw.args)
            self.check_size(draw, int(answer))
            return draw, int(answer)
        reference = rng.uniform(0.3, 0.9)
        size = int(methods.compute(self.method, {**base.args, "power": reference}))
        size = max(self.min_size, round(size * rng.uniform(0.8, 1.2)))
        if size > self.max_size or not self.plausible(base.args, size):
            raise RejectDraw(f"sample size {size} out of range or implausible")
        draw = replace(base, args=self.with_size(base.args, size))
        answer = float(methods.compute(self.method, draw.args))
        if not in_band(answer):
            raise RejectDraw(f"power {answer:.4f} outside the band")
        return draw, answer

    def check_size(self, draw: Draw, answer: int) -> None:
        if not self.min_size <= answer <= self.max_size or not self.plausible(draw.args, answer):
            raise RejectDraw(f"size {answer} outside [{self.min_size}, {self.max_size}] or implausible")
        target = float(draw.args["power"])
        for size in (answer, answer - 1):
            if size < 2:
                continue
            power = float(methods.compute(self.method, self.with_size(draw.args, size)))
            if abs(power - target) < SIZE_MARGIN:
                raise RejectDraw(f"power at n={size} is within {SIZE_MARGIN} of the target")
