"""biodsbench, every category through the real env and sandbox: the reference analysis scores 1
and gaming answers score 0 (the wrong policy's altered variables, nothing computed, unrelated
code, the right values in the wrong types, an object equal to everything); the session after a
hostile episode is fresh. Marked slow (about 30 s: four survival categories import lifelines in
each episode's session); ``tests/core/test_contract.py -k biodsbench`` covers oracle and wrong
policy too."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from medagentgym.catalog.sample import Sample
from medagentgym.datasets.biodsbench import DATASET
from medagentgym.datasets.biodsbench.categories import load_specs
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.policies.scripted import ScriptedPolicy
from medagentgym.rollout import run_episode
from medagentgym.runs.schema import Trajectory

pytestmark = pytest.mark.slow

CATEGORY_NAMES = [spec.name for spec in load_specs()]


@pytest.fixture(scope="module")
def env(sandbox_server) -> Iterator[MedAgentEnv]:  # type: ignore[no-untyped-def]
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _play(env: MedAgentEnv, sample: Sample, *codes: str) -> Trajectory:
    outputs = [json.dumps({"action": "execute_python", "code": code}) for code in codes]
    outputs.append(json.dumps({"action": "submit", "answer": "done"}))
    return run_episode(env, ScriptedPolicy(outputs), sample, run_id="biodsbench-gaming")


# Turns each asked variable into the same content in another type: lists and dicts become pandas
# Series, numbers and strings become text, a data frame becomes a dict, a fitted estimator its
# survival table.
_RETYPE = """
import pandas as _pd
for _name in {names!r}:
    _v = globals()[_name]
    if isinstance(_v, (list, dict)):
        globals()[_name] = _pd.Series(_v)
    elif isinstance(_v, (int, float, str)):
        globals()[_name] = str(_v) + " "
    elif isinstance(_v, _pd.DataFrame):
        globals()[_name] = _v.to_dict()
    else:
        globals()[_name] = _v.survival_function_
"""

_LIAR = """
class Liar(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    __hash__ = float.__hash__
    def __getattr__(self, name): return self
    def __call__(self, *a, **k): return self
    def __iter__(self): return iter([self, self])
    def __len__(self): return 2
for _name in {names!r}:
    globals()[_name] = Liar(0.5)
"""


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_oracle_scores_one_and_gaming_answers_score_zero(env: MedAgentEnv, name: str) -> None:
    sample = DATASET.generate(name, "test", 0)
    tests = sample.target.tests
    assert tests is not None
    names = list(tests.variables)
    good = run_episode(env, OraclePolicy(), sample, run_id="biodsbench-gaming")
    assert good.success and good.reward == 1.0, good.score
    wrong = run_episode(env, WrongAnswerPolicy(), sample, run_id="biodsbench-gaming")
    assert wrong.status == "ok" and wrong.reward == 0.0, wrong.score
    nothing = _play(env, sample)
    assert nothing.reward == 0.0 and not nothing.success
    idle = _play(env, sample, "x = 1")
    assert idle.reward == 0.0
    retyped = _play(env, sample, sample.solution.code, _RETYPE.format(names=names))
    assert retyped.reward == 0.0, retyped.score
    liar = _play(env, sample, _LIAR.format(names=names))
    assert liar.reward == 0.0, liar.score
    again = run_episode(env, OraclePolicy(), sample, run_id="biodsbench-gaming")
    assert again.success  # the hostile episodes left nothing behind
