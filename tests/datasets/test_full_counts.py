"""The paper's full-split instance counts: generated index by index, none repeated in a split,
train and test disjoint, for every generated dataset with a published full split (the EHR ones
on the default 1,000-patient world; ehr_seqsql's patient-keyed families need a larger one,
measured in docs/ehr_seqsql.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medagentgym.catalog import SPLITS, get_dataset

PAPER_FULL = {
    "mimic_iii": {"train": 9_318, "test": 1_122},
    "eicu": {"train": 6_213, "test": 611},
    "treqs": {"train": 8_988, "test": 996},
    "medcalcbench": {"train": 10_053, "test": 1_047},
    "npowerai": {"train": 960, "test": 240},
    "medagentbench": {"train": 433, "test": 109},
    "biocoder": {"train": 981, "test": 157},
    "biodsbench": {"train": 50, "test": 49},
    "ehrshot": {"train": 15, "test": 15},
    "mimic_extract": {"train": 3, "test": 3},
    "ehrcon": {"train": 3_229, "test": 976},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER_FULL))
def test_full_counts_are_distinct_and_reach_the_paper(world_cache: Path, monkeypatch, name: str) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(world_cache))
    dataset = get_dataset(name)
    totals = dict.fromkeys(SPLITS, 0)
    for category in dataset.categories():
        keys = {}
        for split in SPLITS:
            n = category.count(split, full=True)
            keys[split] = [dataset.generate(category.name, split, i).metadata["content_key"] for i in range(n)]
            assert len(set(keys[split])) == n, (category.name, split)
            totals[split] += n
        assert not set(keys["train"]) & set(keys["test"]), category.name
    for split in SPLITS:
        assert totals[split] >= PAPER_FULL[name][split], (split, totals)
