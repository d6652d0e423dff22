import random

from medagentgym.catalog.splits import draw_in_split, rng_for, split_of, stable_hash


def test_stable_hash_is_stable_across_runs() -> None:
    assert stable_hash("a", 1) == stable_hash("a", 1) != stable_hash("a", 2)
    assert stable_hash("medcalcbench", "bmi") == 2216323585219284174


def test_rng_streams_differ_by_every_coordinate() -> None:
    base = rng_for("d", "c", "train", 0, 0).random()
    assert base == rng_for("d", "c", "train", 0, 0).random()
    others = [
        rng_for("e", "c", "train", 0, 0),
        rng_for("d", "x", "train", 0, 0),
        rng_for("d", "c", "test", 0, 0),
        rng_for("d", "c", "train", 1, 0),
        rng_for("d", "c", "train", 0, 1),
    ]
    assert all(r.random() != base for r in others)


def test_draw_in_split_keeps_splits_disjoint() -> None:
    def propose(rng: random.Random) -> int:
        return rng.randrange(300)

    train = {draw_in_split(rng_for("d", "c", "train", i, 0), "train", propose, str) for i in range(400)}
    test = {draw_in_split(rng_for("d", "c", "test", i, 0), "test", propose, str) for i in range(400)}
    assert train and test and not train & test
    assert all(split_of(str(x)) == "test" for x in test)
