"""mimic_iii question families: determinism, disjoint splits, solutions that reproduce targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from medagentgym.catalog import AnswerType, Dataset, get_dataset
from medagentgym.catalog.splits import split_of
from medagentgym.datasets.mimic_iii import DATASET

FAMILIES = [c.name for c in DATASET.categories()]
PER_SPLIT = 6


def test_protocol_registry_and_categories() -> None:
    assert isinstance(DATASET, Dataset)
    assert get_dataset("mimic_iii") is DATASET
    cats = DATASET.categories()
    assert len(cats) >= 8
    assert len({c.name for c in cats}) == len(cats)
    assert {c.answer_type for c in cats} >= {
        AnswerType.STRING, AnswerType.STRING_SET, AnswerType.INTEGER, AnswerType.NUMBER,
        AnswerType.BOOLEAN, AnswerType.DATE,
    }
    for c in cats:
        assert c.counts == {"train": 100, "test": 20}
        assert c.params["templates"], c.name


def test_generation_is_deterministic(mimic_iii_env: Path) -> None:
    for family in FAMILIES:
        a = DATASET.generate(family, "test", 3, seed=7)
        b = DATASET.generate(family, "test", 3, seed=7)
        assert a.model_dump() == b.model_dump()
    assert DATASET.generate("lab_values", "train", 0).id != DATASET.generate("lab_values", "train", 1).id


@pytest.mark.parametrize("family", FAMILIES)
def test_solutions_reproduce_nonempty_targets(mimic_iii_env: Path, family: str) -> None:
    for split in ("train", "test"):
        for index in range(PER_SPLIT):
            sample = DATASET.generate(family, split, index)
            target = sample.target.value
            assert target is not None and target != [] and target != ""
            (resource,) = sample.resources
            assert resource.kind == "sqlite" and resource.name == "mimic_iii"
            assert Path(resource.path) == mimic_iii_env.resolve()
            gold = sample.metadata["gold_sql"]
            assert "current_time" not in gold.lower()
            namespace: dict = {"DATABASES": {"mimic_iii": resource.path}}
            exec(sample.solution.code, namespace)  # noqa: S102
            assert namespace["answer"] == target, (sample.id, sample.metadata["question"])
            assert type(namespace["answer"]) is type(target)
            assert sample.metadata["question"] in sample.prompt
            assert "2105-12-31 23:59:00" in sample.prompt
            assert sample.answer_type == DATASET.category(family).answer_type


def test_train_and_test_never_share_an_instance(mimic_iii_env: Path) -> None:
    for family in FAMILIES:
        keys = {split: set() for split in ("train", "test")}
        for split, n in (("train", 25), ("test", 8)):
            for index in range(n):
                key = DATASET.generate(family, split, index).metadata["content_key"]
                assert split_of(key) == split
                keys[split].add(key)
        assert not keys["train"] & keys["test"], family
        assert len(keys["train"]) >= 10, family  # not one instance over and over


def test_boolean_family_has_both_answers(mimic_iii_env: Path) -> None:
    values = {DATASET.generate("diagnoses", "train", i).target.value for i in range(30)}
    assert values == {True, False}
