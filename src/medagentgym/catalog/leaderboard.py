"""The leaderboard selection: a named, fixed subset of the full split of the paper's size.

The paper evaluates on 7,243 train / 4,754 test instances drawn from its full split. The public
release's per-dataset subset counts (``RELEASE_SUBSET_COUNTS``, from its ``metadata.json``) sum to
7,148 / 4,860, so they give the *proportions* and the paper gives the *totals*: each split's total
is spread over the datasets by largest remainder, no dataset above its full split (what it cannot
hold goes to the others). ``LEADERBOARD_COUNTS`` is that table, kept as data so a leaderboard
never changes under a user when a generator grows; a test recomputes it from the two inputs.

Inside a dataset the count is spread over its categories in proportion to their full counts (the
same rule), and a category's leaderboard samples are the *first* indices of its full split: the
leaderboard is a prefix of the full corpus category by category, so its sample ids are ids of the
full split and a run on it can be compared sample by sample with a run on the full corpus.

Pure functions over names and numbers: nothing here imports a dataset.
"""

from __future__ import annotations

from collections.abc import Mapping

#: The paper's leaderboard sizes per split.
PAPER_LEADERBOARD_TOTALS: dict[str, int] = {"train": 7_243, "test": 4_754}

#: The public release's per-dataset subset counts (its metadata.json): the proportions.
RELEASE_SUBSET_COUNTS: dict[str, dict[str, int]] = {
    "mimic_iii": {"train": 552, "test": 581},
    "eicu": {"train": 559, "test": 610},
    "treqs": {"train": 897, "test": 995},
    "medcalcbench": {"train": 1005, "test": 1046},
    "medagentbench": {"train": 239, "test": 59},
    "biocoder": {"train": 981, "test": 156},
    "ehrshot": {"train": 0, "test": 15},
    "ehr_seqsql": {"train": 1000, "test": 500},
    "ehrcon": {"train": 1000, "test": 500},
    "biodsbench": {"train": 50, "test": 49},
    "npowerai": {"train": 865, "test": 343},
    "mimic_extract": {"train": 0, "test": 6},
}

#: The leaderboard's samples per dataset and split: ``allocate`` of the release's proportions to
#: the paper's totals under each dataset's full-split count (biocoder's train and
#: mimic_extract's test are capped at their full splits).
LEADERBOARD_COUNTS: dict[str, dict[str, int]] = {
    "biocoder": {"train": 981, "test": 153},
    "biodsbench": {"train": 51, "test": 48},
    "ehr_seqsql": {"train": 1015, "test": 489},
    "ehrcon": {"train": 1015, "test": 489},
    "ehrshot": {"train": 0, "test": 15},
    "eicu": {"train": 568, "test": 597},
    "medagentbench": {"train": 243, "test": 58},
    "medcalcbench": {"train": 1020, "test": 1024},
    "mimic_extract": {"train": 0, "test": 3},
    "mimic_iii": {"train": 561, "test": 568},
    "npowerai": {"train": 878, "test": 336},
    "treqs": {"train": 911, "test": 974},
}


def allocate(weights: Mapping[str, float], total: int, caps: Mapping[str, int]) -> dict[str, int]:
    """``total`` spread over the keys in proportion to ``weights`` by largest remainder, no key
    above its cap.

    Keys whose share would pass their cap get the cap and drop out; the rest is shared again until
    every share fits. Ties in the remainder go to the name first in sorted order, so the result
    depends on nothing but the arguments. ValueError when the caps cannot hold ``total``.
    """
    if total < 0:
        raise ValueError(f"cannot allocate a negative total ({total})")
    if total > sum(max(0, caps.get(k, 0)) for k in weights):
        raise ValueError(f"the caps hold {sum(caps.get(k, 0) for k in weights)}, fewer than {total}")
    fixed: dict[str, int] = {}
    while True:
        free = {k: float(w) for k, w in weights.items() if k not in fixed and w > 0 and caps.get(k, 0) > 0}
        rest = total - sum(fixed.values())
        mass = sum(free.values())
        quota = {k: rest * w / mass for k, w in free.items()} if mass > 0 else {}
        over = [k for k, q in quota.items() if q >= caps[k]]
        if not over:
            break
        fixed.update({k: caps[k] for k in over})
    shares = {k: int(q) for k, q in quota.items()}
    left = rest - sum(shares.values())
    ranked = sorted(quota, key=lambda k: (-(quota[k] - shares[k]), k))
    for key in ranked:
        if left <= 0:
            break
        if shares[key] < caps[key]:
            shares[key] += 1
            left -= 1
    result = {k: 0 for k in weights}
    result.update(fixed)
    result.update(shares)
    return result


def leaderboard_table(full: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """The per-dataset table recomputed from the release's proportions, the paper's totals and the
    datasets' full-split counts (``full``: dataset -> split -> count). ``LEADERBOARD_COUNTS`` holds
    its value for today's catalog."""
    table: dict[str, dict[str, int]] = {name: {} for name in sorted(RELEASE_SUBSET_COUNTS)}
    for split, total in PAPER_LEADERBOARD_TOTALS.items():
        weights = {name: counts[split] for name, counts in RELEASE_SUBSET_COUNTS.items()}
        caps = {name: int(full.get(name, {}).get(split, 0)) for name in RELEASE_SUBSET_COUNTS}
        for name, n in allocate(weights, total, caps).items():
            table[name][split] = n
    return table


def category_shares(dataset: str, split: str, full_counts: Mapping[str, int]) -> dict[str, int]:
    """The leaderboard's samples of each category of ``dataset`` in ``split``: the dataset's count
    spread over its categories in proportion to their full counts (``full_counts``: category ->
    full-split count). A dataset outside the table (a third-party one) has no leaderboard samples."""
    wanted = LEADERBOARD_COUNTS.get(dataset, {}).get(split, 0)
    available = sum(full_counts.values())
    return allocate(dict(full_counts), min(wanted, available), dict(full_counts))
