"""What the EHR family's data costs: the world, its views, and distinct sample generation.

    python benchmarks/bench_ehr_data.py [--patients N] [--per-category K]

In a fresh temporary cache, prints:

* the world build, and each view's build beside it (ratio view / world: a view is a copy out of
  the world, so it should cost a fraction of generating the world);
* per dataset, drawing the first K instances of every category and split the catalog's way
  (each index the next *distinct* instance, ``EhrDataset.draw``) beside the baseline of independent
  draws (each index drawn on its own, repeats allowed, as before distinct draws existed): samples
  per second for both, the ratio, and how many of the independent draws were repeats, which is
  what the distinct draw buys.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import Any

VIEWS = ("mimic_iii", "eicu", "treqs")
DATASETS = ("mimic_iii", "eicu", "treqs", "ehr_seqsql")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def independent_keys(dataset: Any, category: Any, split: str, k: int) -> list[str]:
    """The baseline: each index drawn from its own stream with no memory of the others."""
    from medagentgym.catalog.splits import draw_in_split, rng_for
    from medagentgym.datasets._ehrsql import connect_readonly

    path = dataset.build_database()
    con = connect_readonly(path)
    keys = []
    try:
        for index in range(k):
            inst, _ = draw_in_split(
                rng_for(dataset.name, category.name, split, index, 0),
                split,  # type: ignore[arg-type]
                lambda rng: dataset.propose(con, rng, category),
                key=lambda candidate: candidate[0].key,
            )
            keys.append(inst.key)
    finally:
        con.close()
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--per-category", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ehr-") as cache:
        os.environ["MEDAGENTGYM_CACHE"] = cache
        os.environ["MEDAGENTGYM_WORLD_PATIENTS"] = str(args.patients)
        from medagentgym.catalog import get_dataset
        from medagentgym.world import build_world

        world_s, world = timed(build_world)
        print(f"world ({args.patients} patients): {world_s:.2f} s, {world.stat().st_size / 2**20:.1f} MiB")
        for name in VIEWS:
            dataset = get_dataset(name)
            view_s, path = timed(dataset.build_database)
            print(f"  view {name:10s} {view_s:6.2f} s  {path.stat().st_size / 2**20:6.1f} MiB  "
                  f"view / world = {view_s / world_s:.2f}")
        print(f"peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        print(f"\ninstance draws, first {args.per_category} of every category and split:")
        print(f"  {'dataset':10s} {'distinct/s':>10s} {'independent/s':>13s} {'ratio':>6s} {'repeats avoided':>16s}")
        for name in DATASETS:
            dataset = get_dataset(name)
            dataset.build_database()
            cats = dataset.categories()
            n = len(cats) * 2 * args.per_category
            distinct_s, _ = timed(lambda: [dataset.draw(c, s, i, 0) for c in cats
                                           for s in ("train", "test") for i in range(args.per_category)])
            repeats = 0

            def baseline() -> None:
                nonlocal repeats
                for c in cats:
                    for s in ("train", "test"):
                        keys = independent_keys(dataset, c, s, args.per_category)
                        repeats += len(keys) - len(set(keys))

            independent_s, _ = timed(baseline)
            print(f"  {name:10s} {n / distinct_s:10.1f} {n / independent_s:13.1f} "
                  f"{distinct_s / independent_s:6.2f} {repeats:9d} of {n}")


if __name__ == "__main__":
    main()
