"""Deterministic randomness and split assignment.

Train and test never share an instance: every candidate instance has a content key (the
parameters that define it), the key's hash decides its split once and for all, and a generator
asked for a split draws candidates until one belongs to it. Two splits can therefore never hold
the same instance, whatever indices or seeds are asked for.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import TypeVar

from medagentgym.catalog.sample import Split

T = TypeVar("T")

TEST_FRACTION = 0.2


def stable_hash(*parts: object) -> int:
    """A 64-bit hash that is the same on every machine and Python run (unlike ``hash``)."""
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def rng_for(dataset: str, category: str, split: Split, index: int, seed: int) -> random.Random:
    """The random stream of one sample slot."""
    return random.Random(stable_hash(dataset, category, split, index, seed))


def split_of(key: str, test_fraction: float = TEST_FRACTION) -> Split:
    """The split an instance with this content key belongs to, forever."""
    bucket = stable_hash("split", key) % 10_000
    return "test" if bucket < int(test_fraction * 10_000) else "train"


def draw_in_split(
    rng: random.Random,
    split: Split,
    propose: Callable[[random.Random], T],
    key: Callable[[T], str],
    *,
    test_fraction: float = TEST_FRACTION,
    max_tries: int = 10_000,
) -> T:
    """Draw candidates from ``propose`` until one whose key belongs to ``split``."""
    for _ in range(max_tries):
        candidate = propose(rng)
        if split_of(key(candidate), test_fraction) == split:
            return candidate
    raise RuntimeError(f"no candidate in split {split!r} after {max_tries} draws")
