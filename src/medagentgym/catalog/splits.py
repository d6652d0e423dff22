"""Deterministic randomness and split assignment.

Train and test never share an instance: every candidate instance has a content key (the
parameters that define it), the key's hash decides its split once and for all, and a generator
asked for a split draws candidates until one belongs to it. Two splits can therefore never hold
the same instance, whatever indices or seeds are asked for.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

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
    exclude: Collection[str] = (),
) -> T:
    """Draw candidates from ``propose`` until one whose key belongs to ``split`` and is not in
    ``exclude`` (the keys already taken)."""
    for _ in range(max_tries):
        candidate = propose(rng)
        candidate_key = key(candidate)
        if candidate_key not in exclude and split_of(candidate_key, test_fraction) == split:
            return candidate
    taken = f" ({len(exclude)} instances already taken: the parameter space may be exhausted)" if exclude else ""
    raise RuntimeError(f"no new candidate in split {split!r} after {max_tries} draws{taken}")


class DistinctSequence(Generic[T]):
    """The instances of one (category, split, seed) slot sequence, none repeated.

    Index ``i`` is drawn from its own random stream (``rng_at(i)``) but must differ from every
    instance at indices ``0..i-1``; so index ``i`` is defined by the ones before it and they are
    drawn first (once: the sequence is kept). That is what makes a catalog of N samples hold N
    distinct questions, and the same N on every machine.
    """

    def __init__(
        self,
        split: Split,
        rng_at: Callable[[int], random.Random],
        key: Callable[[T], str],
        *,
        test_fraction: float = TEST_FRACTION,
        max_tries: int = 10_000,
        stratum: Callable[[T], str] | None = None,
    ) -> None:
        self.split = split
        self.stratum = stratum
        self.rng_at = rng_at
        self.key = key
        self.test_fraction = test_fraction
        self.max_tries = max_tries
        self.items: list[T] = []
        self.keys: set[str] = set()
        self.duplicates = 0  # in-split candidates rejected because their key was taken
        # per stratum (e.g. question template): instances taken and repeats rejected
        self.taken_by: dict[str, int] = {}
        self.duplicates_by: dict[str, int] = {}

    def get(self, index: int, propose: Callable[[random.Random], T]) -> T:
        """The instance at ``index``, drawing the missing ones before it with ``propose``."""
        if index < 0:
            raise IndexError(f"sample index must be >= 0, not {index}")
        while len(self.items) <= index:
            rng = self.rng_at(len(self.items))
            for _ in range(self.max_tries):
                candidate = propose(rng)
                candidate_key = self.key(candidate)
                if split_of(candidate_key, self.test_fraction) != self.split:
                    continue
                if candidate_key in self.keys:
                    self.duplicates += 1
                    name = self.stratum(candidate) if self.stratum else ""
                    self.duplicates_by[name] = self.duplicates_by.get(name, 0) + 1
                    continue
                break
            else:
                raise RuntimeError(
                    f"no new candidate in split {self.split!r} after {self.max_tries} draws "
                    f"({len(self.items)} instances taken: the parameter space may be exhausted)"
                )
            self.items.append(candidate)
            self.keys.add(candidate_key)
            name = self.stratum(candidate) if self.stratum else ""
            self.taken_by[name] = self.taken_by.get(name, 0) + 1
        return self.items[index]

    def estimated_space(self) -> float:
        """An estimate of how many distinct instances this split can hold.

        Each in-split draw after ``j`` instances are taken repeats one with chance about
        ``j / size``, so after ``m`` instances the expected number of repeats is ``m**2 / (2 *
        size)``. The estimate is summed over strata (question templates, whose spaces differ
        widely; a small one saturating says little about the others). Uneven draw
        probabilities inside a stratum only add repeats, so the estimate errs low. A stratum
        without a repeat yet (whose estimate is unbounded) counts as if one had occurred.
        """
        return sum(m * m / (2 * max(self.duplicates_by.get(name, 0), 1)) for name, m in self.taken_by.items())