"""Registry-wide contract: every category of every dataset, through the real env and sandbox.

For each category, a few samples of each split must: regenerate identically, keep the target out
of the agent's view, score 1 with the oracle, and score 0 with the wrong-answer policy.
"""

from __future__ import annotations

import pytest

from medagentgym.catalog import SPLITS, all_datasets
from medagentgym.catalog.selection import find_sample
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode

PER_SPLIT = 2
CATEGORIES = [(ds.name, c.name) for ds in all_datasets() for c in ds.categories()]


def test_registry_finds_the_builtin_datasets() -> None:
    names = {ds.name for ds in all_datasets()}
    assert {"medcalcbench", "mimic_iii"} <= names


@pytest.fixture(scope="module")
def env(sandbox_server):
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


@pytest.mark.parametrize(("dataset", "category"), CATEGORIES, ids=[f"{d}/{c}" for d, c in CATEGORIES])
def test_category_contract(env, dataset: str, category: str) -> None:
    ds = next(d for d in all_datasets() if d.name == dataset)
    found = next(c for c in ds.categories() if c.name == category)
    for split in SPLITS:
        # Only indices the catalog holds: find_sample refuses one beyond the category's count.
        for index in range(min(PER_SPLIT, max(found.count(split), found.count(split, full=True)))):
            sample = ds.generate(category, split, index, 0)
            assert (sample.dataset, sample.category, sample.split) == (dataset, category, split)
            assert ds.generate(category, split, index, 0) == sample
            assert find_sample(sample.id) == sample
            view = sample.public_view()
            assert "target" not in view and "solution" not in view and "metadata" not in view
            assert "followups" not in view
            good = run_episode(env, OraclePolicy(), sample, run_id="contract")
            assert good.success, (sample.id, good.status, good.score, good.steps[-2].observation[-500:])
            bad = run_episode(env, WrongAnswerPolicy(), sample, run_id="contract")
            assert bad.status == "ok" and not bad.success, (sample.id, bad.submitted_answer)
