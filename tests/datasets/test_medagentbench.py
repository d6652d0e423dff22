"""medagentbench: categories, patients, instances, branches, targets and the template stores."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from medagentgym.catalog import SPLITS, get_dataset
from medagentgym.datasets.medagentbench import build as build_module
from medagentgym.datasets.medagentbench.families import (
    FAMILIES,
    magnesium_dose,
    potassium_dose,
)
from medagentgym.datasets.medagentbench.patients import (
    NOW,
    PATIENTS_PER_SPLIT,
    age_on,
    generate_patients,
)
from medagentgym.fhir import FhirStore


@pytest.fixture(scope="module")
def mab():
    dataset = get_dataset("medagentbench")
    dataset.build()
    return dataset


def test_ten_categories_with_paper_scale_counts(mab) -> None:
    categories = mab.categories()
    assert [c.name for c in categories] == list(FAMILIES)
    assert mab.family == "fhir_workflow"
    assert sum(c.count("train") for c in categories) >= 433 and sum(c.count("test") for c in categories) >= 109
    assert sum(c.count("train", full=True) for c in categories) == 433
    assert sum(c.count("test", full=True) for c in categories) == 109
    assert all(c.answer_type is FAMILIES[c.name].answer_type for c in categories)


def test_patients_are_deterministic_and_disjoint_between_splits() -> None:
    train, test = generate_patients("train"), generate_patients("test")
    assert len(train) == len(test) == PATIENTS_PER_SPLIT
    assert [p.mrn for p in train] == [p.mrn for p in generate_patients("train")]
    assert not {p.mrn for p in train} & {p.mrn for p in test}
    for records in (train, test):
        assert all(p.mrn[0] == "S" and len(p.mrn) == 8 and p.mrn[1:].isdigit() for p in records)
        assert len({(p.given, p.family) for p in records}) == len(records)
        ids = [r["id"] for p in records for r in p.resources]
        assert len(ids) == len(set(ids))


def test_every_branch_of_every_family_is_in_the_default_counts_of_both_splits(mab) -> None:
    expected = {
        "patient_mrn": {"found", "not_found"},
        "patient_age": {"birthday_passed", "birthday_upcoming"},
        "latest_magnesium": {"recent", "none_recent"},
        "magnesium_replacement": {"none_recent", "normal", "mild", "moderate", "severe"},
        "average_glucose": {"recent", "none_recent"},
        "latest_glucose": {"present", "none"},
        "potassium_replacement": {"low", "normal", "none"},
        "hba1c_check": {"old", "recent", "none"},
    }
    for category in mab.categories():
        for split in SPLITS:
            branches = {mab.generate(category.name, split, i).metadata["branch"] for i in range(category.count(split))}
            assert branches >= expected.get(category.name, {"write"}), (category.name, split, branches)


def test_samples_are_deterministic_distinct_and_splits_disjoint(mab) -> None:
    for category in mab.categories():
        keys: dict[str, set[str]] = {}
        for split in SPLITS:
            n = category.count(split, full=True)
            samples = [mab.generate(category.name, split, i) for i in range(n)]
            keys[split] = {s.metadata["content_key"] for s in samples}
            assert len(keys[split]) == n, (category.name, split)
            assert mab.generate(category.name, split, 0) == samples[0]
        assert not keys["train"] & keys["test"]
        with pytest.raises(IndexError):
            mab.generate(category.name, "test", 10_000)
    assert mab.generate("patient_age", "test", 0, seed=1) != mab.generate("patient_age", "test", 0, seed=0)


def test_targets_follow_the_branches(mab) -> None:
    births = {p.mrn: p.birth_date for split in SPLITS for p in generate_patients(split)}
    for split in SPLITS:
        for category in mab.categories():
            for index in range(category.count(split)):
                sample = mab.generate(category.name, split, index)
                branch, target = sample.metadata["branch"], sample.target
                creates = target.state.creates if target.state else None
                assert creates is not None and target.state.forbid_other_writes  # type: ignore[union-attr]
                if branch in ("none_recent", "none") and category.name != "hba1c_check":
                    assert target.value == -1 and not creates
                if branch in ("mild", "moderate", "severe"):
                    assert 0 < target.value < 2.0 and len(creates) == 1
                if branch == "normal":
                    assert target.value >= (2.0 if "magnesium" in category.name else 3.5) and not creates
                if category.name == "potassium_replacement" and branch == "low":
                    assert target.value < 3.5 and [c.resource_type for c in creates] == ["MedicationRequest",
                                                                                         "ServiceRequest"]
                if category.name == "hba1c_check":
                    assert len(creates) == (0 if branch == "recent" else 1)
                    assert (target.value == [-1]) == (branch == "none")
                    if branch != "none":  # [value, recorded]
                        assert isinstance(target.value[0], float) and "T" in target.value[1]
                if category.name in ("record_bp", "ortho_referral"):
                    assert target.value is None and len(creates) == 1
                if branch == "not_found":
                    assert target.value == "Patient not found"
                if branch == "found":
                    assert target.value == sample.metadata["mrn"]
                if category.name == "patient_age":
                    assert target.value == age_on(births[sample.metadata["mrn"]], NOW)


def test_reference_solutions_are_action_lists_ending_in_submit(mab) -> None:
    for category in mab.categories():
        sample = mab.generate(category.name, "train", 0)
        actions = json.loads(sample.solution.code)
        assert sample.solution.language == "actions"
        assert {a["action"] for a in actions[:-1]} <= {"fhir_get", "fhir_post"} and actions[-1]["action"] == "submit"
        posts = [a for a in actions if a["action"] == "fhir_post"]
        assert len(posts) == len(sample.target.state.creates)  # type: ignore[union-attr]
        if sample.target.answer_graded:
            assert actions[-1]["answer"] == sample.target.value


def test_prompts_hide_the_target(mab) -> None:
    for category in mab.categories():
        for index in range(5):
            sample = mab.generate(category.name, "test", index)
            view = sample.public_view()
            assert "target" not in view and "solution" not in view and "metadata" not in view
            if category.name in ("latest_magnesium", "average_glucose", "latest_glucose", "patient_age"):
                assert sample.target.value == -1 or str(sample.target.value) not in sample.prompt
            if sample.metadata["branch"] == "found":
                assert sample.target.value not in sample.prompt


def test_dose_tables() -> None:
    assert [magnesium_dose(x) for x in (2.0, 1.9, 1.5, 1.4, 1.0, 0.9, 0.5)] == [
        None, (1, 1), (1, 1), (2, 2), (2, 2), (4, 4), (4, 4)]
    assert [potassium_dose(x) for x in (3.5, 3.4, 3.1, 2.5, 4.2)] == [None, 10, 40, 100, None]


def test_templates_live_in_the_cache_are_stamped_and_reused(mab) -> None:
    cache = Path(os.environ["MEDAGENTGYM_CACHE"])
    for split in SPLITS:
        path = mab.template(split)
        assert cache in path.parents and path.name == f"fhir-{split}.sqlite"
        with FhirStore(path, readonly=True) as store:
            assert store.meta("stamp") == build_module.store_stamp() and store.meta("split") == split
            assert store.count("Patient") == PATIENTS_PER_SPLIT and store.created() == []
        mtime = path.stat().st_mtime_ns
        assert build_module.build_store(split) == path and path.stat().st_mtime_ns == mtime


def test_a_changed_generator_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "fhir-test.sqlite"
    build_module.build_store("test", path=target)
    first = target.stat().st_mtime_ns
    monkeypatch.setattr(build_module, "store_stamp", lambda: "a-different-generator")
    build_module.build_store("test", path=target)
    assert target.stat().st_mtime_ns != first
    with FhirStore(target, readonly=True) as store:
        assert store.meta("stamp") == "a-different-generator"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_store_reads_match_the_generator(mab) -> None:
    records = {p.mrn: p for p in generate_patients("train")}
    with FhirStore(mab.template("train"), readonly=True) as store:
        counts = Counter(r["resourceType"] for p in records.values() for r in p.resources)
        for kind, n in counts.items():
            assert store.count(kind) == n
