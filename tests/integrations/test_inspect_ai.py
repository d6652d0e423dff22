"""The inspect_ai adapter against the real inspect_ai package, offline.

Every episode is played by ``inspect_ai.eval`` with inspect's ``mockllm/model`` replaying
scripted outputs (tool calls or text). Each output carries its token usage, because mockllm
otherwise counts tokens with tiktoken, which downloads its encoding file. Logs are written as
JSON so a test can search their text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

inspect_ai = pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog
from inspect_ai.model import ModelOutput, ModelUsage, get_model

import medagentgym.integrations.inspect_ai as adapter
from medagentgym.catalog import AnswerType, FollowUp, Sample, Solution, Target
from medagentgym.catalog.selection import find_sample
from medagentgym.env.env import MedAgentEnv
from medagentgym.integrations.common import Episode, IntegrationError
from medagentgym.integrations.inspect_ai import medagentgym_eval_task, medagentgym_task
from medagentgym.sandbox import ExecResult, shared_server
from medagentgym.scoring.parsing import format_number

BMI_ID = "medcalcbench/bmi/train/0/0"
MODEL = "mockllm/model"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _usage(output: ModelOutput) -> ModelOutput:
    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return output


def call(tool: str, **arguments: Any) -> ModelOutput:
    return _usage(ModelOutput.for_tool_call(MODEL, tool, arguments))


def text(content: str) -> ModelOutput:
    return _usage(ModelOutput.from_content(MODEL, content))


Outputs = Iterable[ModelOutput] | Callable[..., Any]


def run(task: Any, outputs: Outputs, log_dir: Path, **kwargs: Any) -> EvalLog:
    model = get_model(MODEL, custom_outputs=outputs, memoize=False)
    (log,) = inspect_eval(task, model=model, log_dir=str(log_dir), log_format="json", display="none", **kwargs)
    return log


def live_sessions() -> int:
    return sum(1 for session in list(shared_server()._sessions) if session.alive)


def log_text(log: EvalLog) -> str:
    return Path(log.location).read_text(encoding="utf-8")


def only_score(log: EvalLog) -> Any:
    assert log.status == "success", log.error
    (sample,) = log.samples
    (score,) = sample.scores.values()
    return score


class Opened(list[Episode]):
    """The episodes a test opened, and the live sessions there were before it (other tests')."""

    sessions_before = 0


@pytest.fixture
def episodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Opened]:
    """Every Episode the adapter opens, to check afterwards that each one was closed."""
    made = Opened()
    made.sessions_before = live_sessions()

    class Recorded(Episode):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(adapter, "Episode", Recorded)
    yield made


def assert_all_closed(made: Opened) -> None:
    assert made, "no episode was opened"
    for episode in made:
        assert episode.env._session is None
        assert not episode._finalizer.alive  # close() ran (not left to the garbage collector)
    assert live_sessions() <= made.sessions_before


# -- the dataset: our samples, without targets --------------------------------------------------


def test_samples_are_ours_with_no_target_in_them() -> None:
    task = medagentgym_task(dataset="medcalcbench", category="bmi", split="train", limit_per_category=3)
    samples = list(task.dataset)
    assert len(samples) == 3
    for sample in samples:
        ours = find_sample(str(sample.id))
        assert ours.split == "train" and ours.category == "bmi"
        assert sample.target == ""
        assert sample.metadata == {"dataset": "medcalcbench", "category": "bmi", "split": "train"}
        assert [m.role for m in sample.input] == ["system", "user"]
        assert ours.prompt.strip() in sample.input[1].text
        dumped = sample.model_dump_json()
        assert ours.solution is None or ours.solution.code not in dumped
        assert format_number(ours.target.value) not in dumped and str(ours.target.value) not in dumped


def test_selection_errors_are_one_line() -> None:
    with pytest.raises(IntegrationError, match="unknown category"):
        medagentgym_task(dataset="medcalcbench", category="no_such_calculator")
    with pytest.raises(IntegrationError, match="unknown sample"):
        medagentgym_task(sample_ids=["medcalcbench/bmi/train/0/not-a-number"])
    with pytest.raises(IntegrationError, match="split"):
        medagentgym_task(dataset="medcalcbench", split="dev")  # type: ignore[arg-type]


# -- whole episodes ------------------------------------------------------------------------------


def test_right_answer_scores_one_and_every_episode_is_closed(tmp_path: Path, episodes: Opened) -> None:
    target = find_sample(BMI_ID).target.value
    outputs = [call("execute_python", code="w = 2 + 2\nprint(w)"), call("submit", answer=target)]
    log = run(medagentgym_task(sample_ids=[BMI_ID]), outputs, tmp_path)
    score = only_score(log)
    assert score.value == 1.0 and score.answer == str(target)
    assert score.metadata["status"] == "ok" and score.metadata["turns"] == 2
    assert log.results.scores[0].metrics["accuracy"].value == 1.0
    (sample,) = log.samples
    tool_results = [m.text for m in sample.messages if m.role == "tool"]
    assert "4" in tool_results[0] and tool_results[1].startswith("Answer submitted")
    assert_all_closed(episodes)


def test_wrong_answer_scores_zero_and_the_log_never_holds_the_target(tmp_path: Path) -> None:
    sample = find_sample(BMI_ID)
    target = sample.target.value
    gold = [v for v in (target, sample.target.lower, sample.target.upper) if v is not None]
    shown = {str(v) for v in gold} | {format_number(v) for v in gold}
    assert not any(s in sample.prompt for s in shown)  # else the search below proves nothing
    wrong = target + 7.5
    log = run(medagentgym_task(sample_ids=[BMI_ID]), [call("submit", answer=wrong)], tmp_path / "blind")
    score = only_score(log)
    assert score.value == 0.0 and score.explanation == "wrong (score 0)"
    written = log_text(log)
    assert not any(s in written for s in shown)
    assert sample.solution is None or sample.solution.code not in written
    # the control: with the full explanation asked for, the expected value does reach the log
    task = medagentgym_task(sample_ids=[BMI_ID], log_explanation=True)
    log = run(task, [call("submit", answer=wrong)], tmp_path / "open")
    assert "wrong" in only_score(log).explanation
    assert any(s in log_text(log) for s in shown)


def test_mimic_iii_episode_runs_sql_in_the_sandbox(world_cache: Path, tmp_path: Path, episodes: Opened) -> None:
    sample_id = "mimic_iii/demographics/train/0/0"
    target = find_sample(sample_id).target.value
    outputs = [
        call("list_tables"),
        call("execute_sql", query="select count(*) as n from patients"),
        call("submit", answer=target),
    ]
    log = run(medagentgym_task(sample_ids=[sample_id]), outputs, tmp_path)
    assert only_score(log).value == 1.0
    (sample,) = log.samples
    tables, counted = [m.text for m in sample.messages if m.role == "tool"][:2]
    assert "patients" in tables.lower()
    assert "n" in counted and "error" not in counted.lower()
    assert_all_closed(episodes)


@pytest.fixture(scope="module")
def fhir_store_built() -> None:
    from medagentgym.catalog import get_dataset

    get_dataset("medagentbench").build()


def test_a_fhir_task_gets_the_fhir_tools_and_its_own_store(
    fhir_store_built: None, tmp_path: Path, episodes: Opened
) -> None:
    sample_id = "medagentbench/patient_mrn/train/0/0"
    target = find_sample(sample_id).target.value
    outputs = [call("fhir_get", url="Patient?_count=2"), call("submit", answer=target)]
    log = run(medagentgym_task(sample_ids=[sample_id]), outputs, tmp_path)
    assert only_score(log).value == 1.0
    (sample,) = log.samples
    assert "200 OK" in next(m.text for m in sample.messages if m.role == "tool")
    (episode,) = episodes
    assert {"fhir_get", "fhir_post"} <= {tool["function"]["name"] for tool in episode.tools or []}
    assert episode.env._fhir is None  # the episode's copy of the store is gone
    assert_all_closed(episodes)


def test_a_sequential_sample_goes_on_after_the_first_submission(tmp_path: Path) -> None:
    sample = Sample(
        id="toy/arithmetic_sequence/test/0/0",
        dataset="toy",
        category="arithmetic_sequence",
        split="test",
        index=0,
        seed=0,
        prompt="What is 2 + 2?",
        target=Target(answer_type=AnswerType.INTEGER, value=4),
        solution=Solution(code="answer = 2 + 2\n"),
        followups=(
            FollowUp(
                prompt="And 3 + 3?",
                target=Target(answer_type=AnswerType.INTEGER, value=6),
                solution=Solution(code="answer = 3 + 3\n"),
            ),
        ),
    )
    task = medagentgym_eval_task(samples=[sample])
    log = run(task, [call("submit", answer=4), call("submit", answer=6)], tmp_path)
    score = only_score(log)
    assert score.value == 1.0 and score.metadata["turns"] == 2
    (logged,) = log.samples
    assert "And 3 + 3?" in next(m.text for m in logged.messages if m.role == "tool")


def test_a_json_action_written_as_text_is_played(tmp_path: Path) -> None:
    target = find_sample(BMI_ID).target.value
    outputs = [text("Let me think about units first."), text(json.dumps({"action": "submit", "answer": target}))]
    log = run(medagentgym_task(sample_ids=[BMI_ID]), outputs, tmp_path)
    score = only_score(log)
    assert score.value == 1.0 and score.metadata["turns"] == 2  # the plain text cost a turn
    (sample,) = log.samples
    assert sample.messages[3].role == "user" and sample.messages[3].text.startswith("Error")


def test_concurrent_samples_and_epochs_get_one_episode_each(tmp_path: Path, episodes: Opened) -> None:
    task = medagentgym_task(dataset="medcalcbench", category="bmi", split="train", limit_per_category=3)
    answers = {find_sample(str(s.id)).prompt.strip(): find_sample(str(s.id)).target.value for s in task.dataset}

    def answer_the_task(messages: list[Any], *_: Any) -> ModelOutput:
        task_text = messages[1].text
        (answer,) = [value for prompt, value in answers.items() if prompt in task_text]
        return call("submit", answer=answer)

    log = run(task, answer_the_task, tmp_path, epochs=2, max_samples=6)
    assert log.status == "success"
    assert len(log.samples) == 6 and all(s.scores["medagentgym_scorer"].value == 1.0 for s in log.samples)
    assert len(episodes) == 6 and len({id(e) for e in episodes}) == 6
    assert_all_closed(episodes)


def test_every_builtin_dataset_has_a_named_task() -> None:
    from inspect_ai import list_tasks

    from medagentgym.env.registration import BUILTIN_DATASETS

    module = Path(adapter.__file__)
    listed = list_tasks(module.name, root_dir=module.parent)
    assert {info.name for info in listed} == {"medagentgym_task", *BUILTIN_DATASETS}


# -- adversarial ---------------------------------------------------------------------------------


def test_bad_tool_arguments_are_refused_and_the_episode_goes_on(tmp_path: Path, episodes: Opened) -> None:
    target = find_sample(BMI_ID).target.value
    outputs = [
        call("execute_sql", sql="select 1"),  # wrong argument name
        call("execute_python", code=["print(1)"]),  # wrong type
        call("rm_rf", path="/"),  # no such tool
        call("execute_python", code="import os; os.kill(os.getpid(), 9)"),  # kills its own session
        call("execute_python", code="print('still here')"),
        call("submit", answer=target),
    ]
    log = run(medagentgym_task(sample_ids=[BMI_ID]), outputs, tmp_path)
    score = only_score(log)
    assert score.value == 1.0
    assert score.metadata["turns"] == 3  # only the calls that passed the schemas reached the env
    (sample,) = log.samples
    tools = [m for m in sample.messages if m.role == "tool"]
    assert [m.error.type if m.error else None for m in tools[:3]] == ["parsing", "parsing", "parsing"]
    assert "still here" in tools[4].text
    assert_all_closed(episodes)


def test_a_model_that_never_submits_stops_at_the_turn_limit(tmp_path: Path, episodes: Opened) -> None:
    def forever(*_: Any) -> ModelOutput:
        return call("execute_python", code="x = 1")

    log = run(medagentgym_task(sample_ids=[BMI_ID], max_turns=3), forever, tmp_path)
    score = only_score(log)
    assert score.value == 0.0 and score.answer is None
    assert score.metadata == {"status": "max_turns", "turns": 3, "sample_id": BMI_ID}
    assert_all_closed(episodes)


def test_a_model_that_only_sends_bad_arguments_stops_too(tmp_path: Path, episodes: Opened) -> None:
    def forever(*_: Any) -> ModelOutput:
        return call("execute_python", script="x = 1")

    log = run(medagentgym_task(sample_ids=[BMI_ID], max_turns=3), forever, tmp_path)
    score = only_score(log)
    assert score.value == 0.0 and score.metadata["status"] == "max_turns"
    assert len([m for m in log.samples[0].messages if m.role == "assistant"]) == 3
    assert_all_closed(episodes)


def test_reset_failure_is_a_clean_sample_error(
    tmp_path: Path, episodes: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_reset = MedAgentEnv.reset

    def failing_reset(self: MedAgentEnv, **kwargs: Any) -> Any:
        self.sample = kwargs["options"]["sample"]
        self._session_for_episode()  # a session is open when reset fails
        raise RuntimeError("the sample's store cannot be opened")

    monkeypatch.setattr(MedAgentEnv, "reset", failing_reset)
    log = run(medagentgym_task(sample_ids=[BMI_ID]), [call("submit", answer=1)], tmp_path / "broken")
    assert log.status == "error"
    (sample,) = log.samples
    assert "the sample's store cannot be opened" in sample.error.message
    assert_all_closed(episodes)
    # the next eval in the same process is unaffected
    monkeypatch.setattr(MedAgentEnv, "reset", real_reset)
    target = find_sample(BMI_ID).target.value
    log = run(medagentgym_task(sample_ids=[BMI_ID]), [call("submit", answer=target)], tmp_path / "next")
    assert only_score(log).value == 1.0


def test_a_model_that_fails_mid_episode_leaves_no_session(tmp_path: Path, episodes: Opened) -> None:
    def outputs() -> Iterator[ModelOutput]:
        yield call("execute_python", code="big = list(range(10))")
        raise RuntimeError("the model server went away")

    log = run(medagentgym_task(sample_ids=[BMI_ID]), outputs(), tmp_path)
    assert log.status == "error"
    assert "went away" in log.samples[0].error.message
    assert episodes[0].env.turn == 1  # the session was open when the model failed
    assert_all_closed(episodes)


def test_a_sample_cancelled_by_its_time_limit_leaves_no_session(tmp_path: Path, episodes: Opened) -> None:
    import anyio

    async def stalls(messages: list[Any], *_: Any) -> ModelOutput:
        if not any(m.role == "tool" for m in messages):
            return call("execute_python", code="opened = True")
        await anyio.sleep_forever()  # cancelled by inspect at the sample's time limit
        raise AssertionError("unreachable")

    log = run(medagentgym_task(sample_ids=[BMI_ID]), stalls, tmp_path, time_limit=2)
    (sample,) = log.samples
    assert sample.limit is not None and sample.limit.type == "time"
    score = sample.scores["medagentgym_scorer"]
    assert score.value == 0.0 and score.metadata["status"] == "no_submission"
    assert episodes[0].env.turn == 1
    assert_all_closed(episodes)


def test_an_infrastructure_failure_is_unscored_not_zero(
    tmp_path: Path, episodes: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_sandbox(self: MedAgentEnv, action: Any) -> tuple[str, ExecResult]:
        return "the sandbox failed", ExecResult(status="infra_error", error="fork-server gone")

    monkeypatch.setattr(MedAgentEnv, "_dispatch", broken_sandbox)
    log = run(medagentgym_task(sample_ids=[BMI_ID]), [call("execute_python", code="1")], tmp_path)
    score = only_score(log)
    assert score.value != score.value  # NaN: left out of the metrics
    assert score.reason == "scoring_failed" and score.metadata["status"] == "infra_error"
    assert_all_closed(episodes)


# -- discovery -----------------------------------------------------------------------------------


_DISCOVERY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    def submit(answer):
        out = ModelOutput.for_tool_call("mockllm/model", "submit", {"answer": answer})
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return out

    sample_id, answer, log_dir, file_spec = sys.argv[1:5]
    assert "medagentgym.integrations.inspect_ai" not in sys.modules
    results = {}
    for spec in ("medagentgym/medcalcbench", file_spec):
        model = get_model("mockllm/model", custom_outputs=[submit(float(answer))], memoize=False)
        (log,) = inspect_eval(
            spec, model=model, task_args={"sample_ids": [sample_id]}, log_dir=log_dir, display="none"
        )
        results[spec] = [log.status, log.eval.task, log.samples[0].scores["medagentgym_scorer"].value]
    print(json.dumps(results))
    """
)


@pytest.mark.slow
def test_inspect_finds_the_tasks_by_entry_point_and_by_file(tmp_path: Path) -> None:
    """``medagentgym/<dataset>`` through the ``inspect_ai`` entry point group (declared here by a
    stand-in distribution, as pyproject.toml declares it for the installed package), and the
    ``file.py@task`` form; both in a fresh interpreter that has not imported the adapter."""
    dist = tmp_path / "site" / "medagentgym_inspect_probe-0.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: medagentgym-inspect-probe\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text("[inspect_ai]\nmedagentgym = medagentgym.integrations.inspect_ai\n")
    path = [str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in path if p))
    file_spec = str(REPO_ROOT / "src" / "medagentgym" / "integrations" / "inspect_ai.py") + "@medagentgym_task"
    target = find_sample(BMI_ID).target.value
    completed = subprocess.run(
        [sys.executable, "-c", _DISCOVERY_SCRIPT, BMI_ID, str(target), str(tmp_path / "logs"), file_spec],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert results["medagentgym/medcalcbench"] == ["success", "medagentgym/medcalcbench", 1.0]
    assert results[file_spec][0] == "success" and results[file_spec][2] == 1.0
