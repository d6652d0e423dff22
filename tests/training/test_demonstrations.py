"""The demonstration policy: short, correct episodes, real error recovery, both action formats."""

from __future__ import annotations

import json
from typing import Any

import pytest

from medagentgym.catalog.selection import Selection, select_samples
from medagentgym.env.env import EnvConfig
from medagentgym.policies import POLICY_CLASSES, PolicySpec, make_policy
from medagentgym.policies.oracle import OraclePolicy
from medagentgym.rollout.runner import MemorySink, RolloutConfig, run_rollouts
from medagentgym.runs.schema import Trajectory
from medagentgym.training.demonstrations import (
    DemonstrationPolicy,
    compact_code,
    single_query,
)

FORMATS = ("json", "tools")


def _samples(dataset: str, category: str, n: int = 1) -> list[Any]:
    selection = Selection(datasets=[dataset], categories=[category], splits=["train"], limit_per_category=n)
    return list(select_samples(selection))


@pytest.fixture(scope="module")
def mixed_samples(world_cache: object) -> dict[str, Any]:
    """One training sample per route: formulas, one-query EHR tasks, and a fallback (code answer)."""
    return {
        "bmi": _samples("medcalcbench", "bmi")[0],
        "anion-gap": _samples("medcalcbench", "anion-gap")[0],
        "mimic": _samples("mimic_iii", "demographics")[0],
        "treqs": _samples("treqs", "count")[0],
        "biocoder": _samples("biocoder", "sequences")[0],
    }


def _play(samples: list[Any], policy: Any, action_format: str, sandbox: Any) -> list[Trajectory]:
    sink = MemorySink()
    config = RolloutConfig(max_sessions=2, env=EnvConfig(action_format=action_format))  # type: ignore[arg-type]
    run_rollouts(samples, policy, sink, config, sandbox=sandbox)
    order = {s.id: i for i, s in enumerate(samples)}
    return sorted(sink.trajectories, key=lambda t: order[t.sample_id])


def _actions(trajectory: Trajectory) -> list[dict[str, Any]]:
    """The parsed actions of an episode, in order (name + params)."""
    return [s.action for s in trajectory.steps if s.action is not None]


def _code_lines(trajectory: Trajectory) -> int:
    return sum(len(a["params"]["code"].splitlines()) for a in _actions(trajectory) if a["name"] == "execute_python")


def _printed_before_submit(trajectory: Trajectory) -> bool:
    """Whether the submitted answer was shown by an observation before the submission."""
    shown = "\n".join(s.observation for s in trajectory.steps[:-1])
    answer = trajectory.submitted_answer
    items = answer if isinstance(answer, list) else [answer]
    return all(str(item) in shown or json.dumps(item) in shown for item in items)


def test_registered_and_options() -> None:
    assert POLICY_CLASSES["demonstration"].endswith("demonstrations:DemonstrationPolicy")
    policy = make_policy(PolicySpec(name="demonstration", options={"action_format": "tools", "recovery": "0.25"}))
    assert isinstance(policy, DemonstrationPolicy)
    assert policy.info.name == "demonstration" and policy.info.action_format == "tools"
    assert policy.info.sampling == {"recovery": 0.25}
    for bad in ("1.5", "-0.1", "often"):
        with pytest.raises(ValueError, match="recovery"):
            DemonstrationPolicy.from_options(recovery=bad)
    with pytest.raises(ValueError, match="action_format"):
        DemonstrationPolicy.from_options(action_format="xml")


def test_compact_code_keeps_the_answer_and_drops_the_rest(world_cache: object, sandbox_server: Any) -> None:
    sample = _samples("medcalcbench", "anion-gap")[0]
    reference = sample.solution.code
    short = compact_code(reference)
    assert '"""' not in short and "#" not in short and "import math" not in short
    assert len(short.splitlines()) < len(reference.splitlines())
    assert "def anion_gap" not in short  # a one-expression calculator is inlined
    printed = []
    for code in (reference, short):
        session = sandbox_server.open_session()
        try:
            result = session.run_python(code + "\nprint(repr(answer))\n")
        finally:
            session.close()
        assert result.status == "ok", result.error
        printed.append(result.stdout.strip())
    assert printed[0] == printed[1] == repr(sample.target.value)
    assert single_query(reference) is None
    query = _samples("treqs", "count")[0].solution.code
    found = single_query(query)
    assert found is not None and found[0].lower().startswith("select") and found[1] == "treqs"


@pytest.mark.parametrize("action_format", FORMATS)
def test_every_demonstration_succeeds_with_short_code(
    mixed_samples: dict[str, Any], sandbox_server: Any, action_format: str
) -> None:
    samples = list(mixed_samples.values())
    shown = _play(samples, DemonstrationPolicy(action_format=action_format), action_format, sandbox_server)
    assert [t.sample_id for t in shown] == [s.id for s in samples]
    for trajectory in shown:
        assert trajectory.success, (trajectory.sample_id, trajectory.error, trajectory.submitted_answer)
        assert trajectory.policy.name == "demonstration"
        assert _printed_before_submit(trajectory), trajectory.sample_id
        first = _actions(trajectory)[0]["name"]
        assert first == ("list_tables" if trajectory.dataset in ("mimic_iii", "treqs") else "list_files")
        if action_format == "tools":
            assistant = [m for m in trajectory.messages if m["role"] == "assistant"]
            assert all(m.get("tool_calls") for m in assistant)
    by_id = {t.sample_id: t for t in shown}
    for key in ("mimic", "treqs"):  # one query, read from the rows it printed
        names = [a["name"] for a in _actions(by_id[mixed_samples[key].id])]
        assert names[:2] == ["list_tables", "execute_sql"] and names[-1] == "submit"
    medcalc = [mixed_samples["bmi"], mixed_samples["anion-gap"]]
    oracle = _play(medcalc, OraclePolicy(action_format=action_format), action_format, sandbox_server)
    for mine, theirs in zip(shown[:2], oracle, strict=True):
        assert theirs.success
        assert 0 < _code_lines(mine) < _code_lines(theirs) / 2, (mine.sample_id, _code_lines(mine), _code_lines(theirs))
    fallback = by_id[mixed_samples["biocoder"].id]  # a code answer: played as the oracle plays it
    assert [a["name"] for a in _actions(fallback)] == ["list_files", "execute_python", "submit"]


@pytest.mark.parametrize("action_format", FORMATS)
def test_recovery_shows_the_real_error_then_the_fix(
    mixed_samples: dict[str, Any], sandbox_server: Any, action_format: str
) -> None:
    samples = [mixed_samples["bmi"], mixed_samples["mimic"], mixed_samples["treqs"]]
    policy = DemonstrationPolicy(action_format=action_format, recovery=1.0)
    for trajectory in _play(samples, policy, action_format, sandbox_server):
        assert trajectory.success, (trajectory.sample_id, trajectory.error)
        runs = [s for s in trajectory.steps if s.execution is not None]
        assert len(runs) >= 2, trajectory.sample_id
        failed, fixed = runs[0], runs[1]
        assert failed.execution is not None and failed.execution.status == "error"
        if trajectory.dataset == "medcalcbench":
            assert "NameError" in failed.observation
        else:
            assert "no such column" in failed.observation or "no such table" in failed.observation
        assert fixed.execution is not None and fixed.execution.status == "ok"
        assert fixed.action is not None and fixed.action["name"] == failed.action["name"]  # type: ignore[index]
        assert trajectory.steps[-1].action["name"] == "submit"  # type: ignore[index]
        assert _printed_before_submit(trajectory)
        if action_format == "tools":  # the fix carries its one-line reason
            notes = [m["content"] for m in trajectory.messages if m["role"] == "assistant" and m.get("content")]
            assert len(notes) == 1 and notes[0].count("\n") == 0 and " not " in notes[0]


def test_same_seed_same_messages(mixed_samples: dict[str, Any], sandbox_server: Any) -> None:
    sample = mixed_samples["bmi"]
    policy = DemonstrationPolicy(action_format="tools", recovery=0.5)

    def outputs(seed: int) -> list[Any]:
        from medagentgym.env.env import MedAgentEnv
        from medagentgym.rollout.runner import run_episode

        env = MedAgentEnv(config=EnvConfig(action_format="tools"), sandbox=sandbox_server)
        try:
            trajectory = run_episode(env, policy, sample, run_id="det", seed=seed)
        finally:
            env.close()
        assert trajectory.success
        return [m for m in trajectory.messages if m["role"] == "assistant"]

    assert outputs(11) == outputs(11)
    lengths = {len(outputs(seed)) for seed in range(8)}
    assert lengths == {4, 3}, lengths  # some seeds recover from a mistake (4 turns), others do not


def test_never_submits_what_it_did_not_see(world_cache: object) -> None:
    """Observations that contradict the target (a hostile or broken env) never make the policy
    reveal the target: it asks again, then falls back to the reference's probe, then submits
    whatever the last observation showed."""
    sample = _samples("medcalcbench", "bmi")[0]
    agent = DemonstrationPolicy().start_episode(sample, seed=0)
    messages: list[dict[str, Any]] = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}]
    replies = [
        "This task provides no files.",
        "[ok; 1.0 ms]\nstdout:\n12.5",  # a wrong printed value
        "[ok; 1.0 ms]\nstdout:\n{not json" + "x" * 10_000,
        "[ok; 1.0 ms]\nstdout:\n__MEDAGENTGYM_ANSWER__ 7",
    ]
    actions = []
    for observation in replies:
        reply = agent.act(messages, None)
        action = json.loads(reply.content or "")
        actions.append(action)
        messages += [{"role": "assistant", "content": reply.content}, {"role": "user", "content": observation}]
    final = json.loads(agent.act(messages, None).content or "")
    assert [a["action"] for a in actions] == ["list_files", "execute_python", "execute_python", "execute_python"]
    assert final == {"action": "submit", "answer": 7}
    assert all(a.get("answer") != sample.target.value for a in actions)
