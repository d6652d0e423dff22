"""Generated npowerai samples: a drawn design, its question, the target and the reference solution.

The design's numbers are drawn first and alone decide the split (their content key: the category
and the method's arguments, i.e. exactly what the answer depends on); the narrative wording is
then written from a separate random stream of the same slot, so the wording never changes which
instance a slot holds.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache

from medagentgym.catalog.sample import (
    AnswerType,
    Sample,
    Solution,
    Split,
    Target,
    make_sample_id,
)
from medagentgym.catalog.splits import DistinctSequence, rng_for, stable_hash
from medagentgym.datasets.npowerai.categories import (
    DATASET_NAME,
    POWER_REL_TOL,
    CategorySpec,
    spec_by_name,
)
from medagentgym.datasets.npowerai.common import Draw
from medagentgym.datasets.npowerai.design import RejectDraw
from medagentgym.datasets.npowerai.solution import render_solution

MAX_REDRAWS = 500


@dataclass(frozen=True)
class Candidate:
    draw: Draw
    answer: float | int
    key: str


def content_key(category: str, draw: Draw) -> str:
    """The category and the method's arguments (sorted, JSON): what defines the answer."""
    return f"{category}|{draw.method}|" + json.dumps(draw.args, sort_keys=True, separators=(",", ":"))


def propose(spec: CategorySpec, rng: random.Random) -> Candidate:
    """A usable design for ``spec``: redraws designs the test type rejects."""
    for _ in range(MAX_REDRAWS):
        try:
            draw, answer = spec.test.propose(rng, spec.asks)
        except RejectDraw:
            continue
        return Candidate(draw, answer, content_key(spec.name, draw))
    raise RuntimeError(f"npowerai {spec.name}: no usable design in {MAX_REDRAWS} draws")


@lru_cache(maxsize=128)
def _sequence(category: str, split: Split, seed: int) -> DistinctSequence[Candidate]:
    """The distinct designs of one (category, split, seed), drawn once and kept."""
    return DistinctSequence(split, lambda i: rng_for(DATASET_NAME, category, split, i, seed), lambda c: c.key)


def make_target(answer: float, spec: CategorySpec) -> Target:
    if spec.answer_type is AnswerType.INTEGER:
        return Target(answer_type=AnswerType.INTEGER, value=int(answer))
    return Target(answer_type=AnswerType.NUMBER, value=float(answer), rel_tol=POWER_REL_TOL)


def generate_sample(category: str, split: Split, index: int, seed: int = 0) -> Sample:
    """The sample at (category, split, index, seed); the same arguments give the same sample."""
    spec = spec_by_name(category)
    candidate = _sequence(category, split, seed).get(index, lambda rng: propose(spec, rng))
    wording = random.Random(stable_hash(DATASET_NAME, category, split, index, seed, "wording"))
    question = spec.test.render(candidate.draw, spec.asks, wording)
    return Sample(
        id=make_sample_id(DATASET_NAME, category, split, index, seed),
        dataset=DATASET_NAME,
        category=category,
        split=split,
        index=index,
        seed=seed,
        prompt=question,
        target=make_target(candidate.answer, spec),
        solution=Solution(language="python", code=render_solution(candidate.draw.method, candidate.draw.args)),
        metadata={
            "content_key": candidate.key,
            "test": spec.test.key,
            "asks": spec.asks,
            "method": candidate.draw.method,
            "args": candidate.draw.args,
            "scenario": candidate.draw.scenario,
            "official_task_type": spec.official,
        },
    )
