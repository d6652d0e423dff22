"""The env over samples with a FHIR record store: actions, isolation, grading from the store.

Each episode works on its own copy of the split's template store in the harness; the sandbox
never sees it. Write tasks are graded from what the episode's copy holds at the end.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog import get_dataset
from medagentgym.catalog.sample import Resource, Sample
from medagentgym.env import EnvConfig, MedAgentEnv
from medagentgym.env.env import FhirStoreUnavailableError
from medagentgym.fhir import FhirStore
from medagentgym.policies import OraclePolicy, ScriptedPolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode


@pytest.fixture(scope="module")
def mab():
    dataset = get_dataset("medagentbench")
    dataset.build()
    return dataset


@pytest.fixture
def make_env(sandbox_server):
    envs: list[MedAgentEnv] = []

    def make(**config: Any) -> MedAgentEnv:
        env = MedAgentEnv(config=EnvConfig(**config), sandbox=sandbox_server)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()


def sample_of(mab, category: str, branch: str | None = None, split: str = "test") -> Sample:
    for index in range(40):
        sample = mab.generate(category, split, index)
        if branch is None or sample.metadata["branch"] == branch:
            return sample
    raise AssertionError(f"no {category} sample of branch {branch}")


def actions_of(sample: Sample) -> list[dict[str, Any]]:
    return json.loads(sample.solution.code)


def act(env: MedAgentEnv, **action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
    return env.step(json.dumps(action))


def template_count(sample: Sample) -> int:
    with FhirStore(sample.resources[0].path, readonly=True) as store:
        return store.count()


def scripted(actions: list[dict[str, Any]]) -> ScriptedPolicy:
    return ScriptedPolicy([json.dumps(a) for a in actions])


# -- prompt, tools, actions -----------------------------------------------------------------------


def test_prompt_and_tools_offer_fhir_only_with_a_store(mab, make_env, toy_samples) -> None:
    env = make_env()
    observation, _ = env.reset(options={"sample": sample_of(mab, "latest_magnesium")})
    assert '"action": "fhir_get"' in observation and "FHIR server base URL: http://localhost:8080/fhir/" in observation
    assert "list_tables" not in observation
    assert {"fhir_get", "fhir_post"} <= {t["function"]["name"] for t in env.tools()}
    observation, _ = env.reset(options={"sample": toy_samples[0]})
    assert "fhir_get" not in observation
    assert not {"fhir_get", "fhir_post"} & {t["function"]["name"] for t in env.tools()}
    text, reward, terminated, truncated, _ = act(env, action="fhir_get", url="Patient")
    assert text.startswith("Error: This task has no FHIR server") and (reward, terminated, truncated) == (0.0, False, False)
    assert env.turn == 1


def test_a_get_is_shown_and_saved_for_agent_code(mab, make_env) -> None:
    sample = sample_of(mab, "average_glucose", "recent")
    env = make_env()
    env.reset(options={"sample": sample})
    url = actions_of(sample)[0]["url"]
    text, *_ = act(env, action="fhir_get", url=url)
    assert text.startswith(f"GET {url} -> 200 OK")
    assert "saved as fhir_get_1.json in the working directory of execute_python" in text
    text, *_ = act(env, action="execute_python", code=(
        "import json\nbundle = json.load(open('fhir_get_1.json'))\n"
        "values = [e['resource']['valueQuantity']['value'] for e in bundle['entry']]\n"
        "print(round(sum(values) / len(values), 4))"
    ))
    assert f"{round(sample.target.value, 4)}" in text


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_oracle_one_and_wrong_answer_zero_in_both_formats(mab, make_env, action_format: str) -> None:
    env = make_env(action_format=action_format)
    for category, branch in (("potassium_replacement", "low"), ("record_bp", None), ("patient_mrn", "not_found")):
        sample = sample_of(mab, category, branch)
        good = run_episode(env, OraclePolicy(action_format=action_format), sample, run_id="t")
        assert good.success, good.score
        bad = run_episode(env, WrongAnswerPolicy(action_format=action_format), sample, run_id="t")
        assert bad.status == "ok" and not bad.success


# -- hostile requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/fhir/Patient",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "../../../etc/passwd",
        "Patient?family=x' OR '1'='1",
        "Observation?code);drop table resources;--=1",
        "Patient?" + "&".join(f"a{i}=1" for i in range(40)),
        "Patient/" + "%2e%2e/" * 10,
    ],
)
def test_hostile_urls_are_error_observations_and_change_nothing(mab, make_env, url: str) -> None:
    sample = sample_of(mab, "record_bp")
    before = template_count(sample)
    env = make_env()
    env.reset(options={"sample": sample})
    text, reward, terminated, truncated, _ = act(env, action="fhir_get", url=url)
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert "-> 4" in text or "total 0" in text
    text, *_ = act(env, action="fhir_post", url=url, payload={"resourceType": "Patient"})
    assert "-> 4" in text
    assert env._fhir is not None and env._fhir.created() == []
    assert template_count(sample) == before
    assert run_episode(env, OraclePolicy(), sample, run_id="t").success  # the next episode is unaffected


def test_oversized_actions_are_parse_errors(mab, make_env) -> None:
    env = make_env()
    env.reset(options={"sample": sample_of(mab, "record_bp")})
    text, *_ = act(env, action="fhir_get", url="Patient?x=" + "a" * 5000)
    assert text.startswith("Error: Invalid parameters for 'fhir_get'")
    text, *_ = env.step('{"action": "fhir_post", "url": "Observation", "payload": ' + "[" * 40 + "]" * 40 + "}")
    assert text.startswith("Error:")


def test_the_sandbox_never_sees_the_store(mab, make_env) -> None:
    sample = sample_of(mab, "record_bp")
    env = make_env()
    env.reset(options={"sample": sample})
    assert env._fhir is not None
    copy_path = str(env._fhir.path)  # type: ignore[attr-defined]
    template = sample.resources[0].path
    text, *_ = act(env, action="list_files")
    assert template not in text and copy_path not in text
    text, *_ = act(env, action="execute_python", code=(
        "import os, sqlite3\n"
        "print('DB', sorted(DATABASES))\n"
        f"for p in ({template!r}, {copy_path!r}):\n"
        "    try:\n"
        "        open(p, 'rb').read(16); print('READ', p)\n"
        "    except Exception as e:\n"
        "        print('DENIED', type(e).__name__)\n"
        f"print('LIST', os.path.exists({str(Path(copy_path).parent)!r}) and os.listdir({str(Path(copy_path).parent)!r}))\n"
        "print('ENV', [k for k in os.environ if 'FHIR' in k.upper()])"
    ))
    assert "DB []" in text and "READ" not in text and text.count("DENIED") == 2
    assert "store.sqlite" not in text and "ENV []" in text


# -- isolation ------------------------------------------------------------------------------------------


def vitals_values(env: MedAgentEnv, mrn: str) -> list[str]:
    text, *_ = act(env, action="fhir_get", url=f"Observation?patient={mrn}&category=vital-signs&_count=100")
    bundle = json.loads(text.split("\n", 2)[2])
    return [e["resource"]["valueString"] for e in bundle.get("entry", [])]


def test_two_episodes_of_one_write_task_at_once_see_only_their_own_post(mab, make_env) -> None:
    sample = sample_of(mab, "record_bp")
    mrn = sample.metadata["mrn"]
    post = next(a for a in actions_of(sample) if a["action"] == "fhir_post")
    before = template_count(sample)
    a, b = make_env(), make_env()
    a.reset(options={"sample": sample})
    b.reset(options={"sample": sample})  # both episodes alive at once
    history = vitals_values(a, mrn)
    assert vitals_values(b, mrn) == history
    text, *_ = act(a, action="fhir_post", url="Observation", payload=post["payload"])
    assert "-> 201 Created" in text
    wrong = {**post["payload"], "valueString": "90/50 mmHg"}
    act(b, action="fhir_post", url="Observation", payload=wrong)
    assert vitals_values(a, mrn) == [*history, post["payload"]["valueString"]]
    assert vitals_values(b, mrn) == [*history, "90/50 mmHg"]
    _, reward_a, *_ = act(a, action="submit", answer="done")
    _, reward_b, *_ = act(b, action="submit", answer="done")
    assert (reward_a, reward_b) == (1.0, 0.0)
    assert len(a.writes or []) == 1 and len(b.writes or []) == 1
    assert "90/50 mmHg" in b.score.explanation and "90/50" not in a.score.explanation  # type: ignore[union-attr]
    assert template_count(sample) == before


def test_parallel_threads_keep_their_stores_apart(mab, make_env) -> None:
    sample = sample_of(mab, "record_bp")
    mrn = sample.metadata["mrn"]
    payload = next(a for a in actions_of(sample) if a["action"] == "fhir_post")["payload"]
    envs = [make_env() for _ in range(4)]
    barrier = threading.Barrier(len(envs))
    posted = [f"{201 + i}/{131 + i} mmHg" for i in range(len(envs))]  # above any generated reading
    seen: dict[int, list[str]] = {}

    def episode(i: int) -> None:
        env = envs[i]
        env.reset(options={"sample": sample})
        act(env, action="fhir_post", url="Observation", payload={**payload, "valueString": posted[i]})
        barrier.wait(timeout=30)  # every episode has posted before any looks
        seen[i] = [v for v in vitals_values(env, mrn) if v in posted]
        act(env, action="submit", answer="done")

    threads = [threading.Thread(target=episode, args=(i,)) for i in range(len(envs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert seen == {i: [posted[i]] for i in range(len(envs))}


def test_the_copy_is_deleted_at_episode_end_and_on_close(mab, make_env) -> None:
    sample = sample_of(mab, "record_bp")
    env = make_env()
    env.reset(options={"sample": sample})
    first = Path(env._fhir.path)  # type: ignore[union-attr]
    assert first.exists()
    act(env, action="submit", answer="done")
    assert not first.exists() and not first.parent.exists()
    env.reset(options={"sample": sample})
    second = Path(env._fhir.path)  # type: ignore[union-attr]
    env.reset(options={"sample": sample})  # a reset mid-episode drops the old copy too
    assert not second.exists()
    third = Path(env._fhir.path)  # type: ignore[union-attr]
    env.close()
    assert not third.exists()


def test_a_missing_template_names_the_build_command(mab, make_env, tmp_path: Path) -> None:
    sample = sample_of(mab, "record_bp")
    gone = Resource(kind="fhir_store", name="fhir", path=str(tmp_path / "missing.sqlite"))
    broken = sample.model_copy(update={"resources": (gone,)})
    env = make_env()
    with pytest.raises(FhirStoreUnavailableError, match="medagentgym data build medagentbench"):
        env.reset(options={"sample": broken})


# -- grading from the store -------------------------------------------------------------------------------


def without_posts(sample: Sample) -> list[dict[str, Any]]:
    return [a for a in actions_of(sample) if a["action"] != "fhir_post"]


def test_writing_nothing_when_an_order_is_indicated_scores_zero(mab, make_env) -> None:
    env = make_env()
    for category, branch in (("magnesium_replacement", "moderate"), ("potassium_replacement", "low"),
                             ("hba1c_check", "old"), ("ortho_referral", None)):
        sample = sample_of(mab, category, branch)
        assert sample.target.state is not None and sample.target.state.creates
        trajectory = run_episode(env, scripted(without_posts(sample)), sample, run_id="t")
        assert trajectory.status == "ok" and trajectory.reward == 0.0, category
        assert "missing" in trajectory.score.explanation  # type: ignore[union-attr]


def test_ordering_when_no_order_is_indicated_scores_zero(mab, make_env) -> None:
    env = make_env()
    indicated = sample_of(mab, "magnesium_replacement", "severe")
    order = next(a for a in actions_of(indicated) if a["action"] == "fhir_post")
    for category, branch in (("magnesium_replacement", "normal"), ("magnesium_replacement", "none_recent"),
                             ("potassium_replacement", "normal"), ("hba1c_check", "recent"),
                             ("latest_magnesium", None)):
        sample = sample_of(mab, category, branch)
        assert sample.target.state is not None and not sample.target.state.creates
        payload = {**order["payload"], "subject": {"reference": f"Patient/{sample.metadata['mrn']}"}}
        steps = actions_of(sample)
        script = [*steps[:-1], {"action": "fhir_post", "url": "MedicationRequest", "payload": payload}, steps[-1]]
        trajectory = run_episode(env, scripted(script), sample, run_id="t")
        assert trajectory.reward == 0.0, category
        assert "extra write not asked for" in trajectory.score.explanation  # type: ignore[union-attr]
        assert run_episode(env, OraclePolicy(), sample, run_id="t").success


def test_printing_the_payload_instead_of_posting_scores_zero(mab, make_env) -> None:
    sample = sample_of(mab, "potassium_replacement", "low")
    steps = actions_of(sample)
    printed = [{"action": "execute_python", "code": f"print({json.dumps(a['payload'])!r})"}
               for a in steps if a["action"] == "fhir_post"]
    script = [*without_posts(sample)[:-1], *printed, steps[-1]]
    trajectory = run_episode(make_env(), scripted(script), sample, run_id="t")
    assert trajectory.reward == 0.0 and "no MedicationRequest was created" in trajectory.score.explanation  # type: ignore[union-attr]


def test_posting_for_another_patient_scores_zero(mab, make_env) -> None:
    sample = sample_of(mab, "ortho_referral")
    other = sample_of(mab, "patient_age")
    assert other.metadata["mrn"] != sample.metadata["mrn"]
    script = []
    for a in actions_of(sample):
        if a["action"] == "fhir_post":
            a = {**a, "payload": {**a["payload"], "subject": {"reference": f"Patient/{other.metadata['mrn']}"}}}
        script.append(a)
    trajectory = run_episode(make_env(), scripted(script), sample, run_id="t")
    assert trajectory.reward == 0.0 and "subject expected" in trajectory.score.explanation  # type: ignore[union-attr]


def test_posting_twice_scores_zero(mab, make_env) -> None:
    sample = sample_of(mab, "hba1c_check", "none")
    steps = actions_of(sample)
    post = next(a for a in steps if a["action"] == "fhir_post")
    trajectory = run_episode(make_env(), scripted([*steps[:-1], post, steps[-1]]), sample, run_id="t")
    assert trajectory.reward == 0.0 and "extra write" in trajectory.score.explanation  # type: ignore[union-attr]


def test_a_malformed_post_is_refused_and_leaves_the_store_unchanged(mab, make_env) -> None:
    sample = sample_of(mab, "record_bp")
    post = next(a for a in actions_of(sample) if a["action"] == "fhir_post")
    env = make_env(enable_debug_hint=True)
    env.reset(options={"sample": sample})
    broken = {k: v for k, v in post["payload"].items() if k != "status"} | {"effectiveDateTime": "now"}
    text, *_ = act(env, action="fhir_post", url="Observation", payload=broken)
    assert "-> 400 Bad Request" in text and "nothing was changed" in text and "OperationOutcome" in text
    assert "status is required" in text and "not a FHIR date" in text
    assert env._fhir is not None and env._fhir.created() == []
    hint, *_ = act(env, action="debug_hint")
    assert "status is required" in hint
    text, *_ = act(env, action="fhir_post", url="Observation", payload=json.dumps(post["payload"]))  # JSON text
    assert "-> 201 Created" in text
    _, reward, *_ = act(env, action="submit", answer="done")
    assert reward == 1.0


def test_an_episode_cannot_flood_its_store(mab, make_env) -> None:
    from medagentgym.fhir import MAX_EPISODE_CREATES

    sample = sample_of(mab, "record_bp")
    post = next(a for a in actions_of(sample) if a["action"] == "fhir_post")
    env = make_env(max_turns=MAX_EPISODE_CREATES + 5)
    env.reset(options={"sample": sample})
    for _ in range(MAX_EPISODE_CREATES):
        act(env, action="fhir_post", url="Observation", payload=post["payload"])
    text, *_ = act(env, action="fhir_post", url="Observation", payload=post["payload"])
    assert "-> 429" in text
    _, reward, terminated, _, info = act(env, action="submit", answer="done")
    assert terminated and reward == 0.0 and len(info["writes"]) == MAX_EPISODE_CREATES


def test_a_truncated_episode_keeps_its_writes_and_drops_its_copy(mab, make_env) -> None:
    sample = sample_of(mab, "record_bp")
    post = next(a for a in actions_of(sample) if a["action"] == "fhir_post")
    env = make_env(max_turns=2)
    env.reset(options={"sample": sample})
    path = Path(env._fhir.path)  # type: ignore[union-attr]
    act(env, action="fhir_post", url="Observation", payload=post["payload"])
    _, _, terminated, truncated, info = act(env, action="fhir_get", url="metadata")
    assert truncated and not terminated and env.status == "max_turns"
    assert len(info["writes"]) == 1 and not path.exists()
