"""Adversarial tests of the harness itself (issue 7, items 11-13), through its public interfaces.

Model output and agent code come from policies rewarded for reaching a target: each test sends
an attack through ``MedAgentEnv.step``, the rollout runner and run store, or the CLI, and checks
three things: the attack happened, the outcome is safe (an error observation, a score of 0, a
valid UTF-8 file), and the next episode or command is unaffected.

Boundedness is asserted through caps and truncation notes, not wall-clock thresholds; the only
timings are generous safety limits where the old code took minutes or gigabytes.
"""

from __future__ import annotations

import json
import sqlite3
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from typer.testing import CliRunner

from medagentgym.catalog import AnswerType, Resource, Sample, Solution, Target
from medagentgym.cli import app
from medagentgym.env import EnvConfig, MedAgentEnv
from medagentgym.env import inspect as inspection
from medagentgym.env.actions import (
    MAX_JSON_DEPTH,
    MAX_OUTPUT_CHARS,
    MAX_PARSE_CANDIDATES,
    MAX_SEARCH_TERM_CHARS,
)
from medagentgym.mock_llm import serve_mock
from medagentgym.policies import OraclePolicy, ScriptedPolicy
from medagentgym.policies.openai_chat import OpenAIChatPolicy
from medagentgym.rollout import RolloutConfig, run_rollouts
from medagentgym.runs.store import TRAJECTORIES, RunManifest, RunStore, load_run
from medagentgym.sandbox.results import ExecResult
from medagentgym.scoring import MAX_ANSWER_CHARS, MAX_ANSWER_DEPTH, score_answer

runner = CliRunner()
LONE = "\udcff"


def _manifest(run_id: str = "containment") -> RunManifest:
    return RunManifest(run_id=run_id, created_at="2026-01-01T00:00:00+00:00", policy={"name": "adversary"})


def _assert_valid_utf8_run(run_dir: Path, episodes: int) -> list[Any]:
    """The run's trajectory file is strict UTF-8 and every line loads back."""
    raw = (run_dir / TRAJECTORIES).read_bytes()
    text = raw.decode("utf-8")  # strict: raises on any invalid byte
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == episodes
    for line in lines:
        json.loads(line)
    loaded = load_run(run_dir)
    assert len(loaded) == episodes
    return loaded


def _report_ok(run_dir: Path, html_dir: Path) -> str:
    """`medagentgym report` (terminal and HTML) succeeds and writes strict UTF-8."""
    result = runner.invoke(app, ["report", str(run_dir), "--html", str(html_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode("utf-8")
    for page in html_dir.rglob("*"):
        if page.is_file():
            page.read_bytes().decode("utf-8")
    return result.output


def _deep_list(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


# ------------------------------------------------------------------------------------------------
# Item 11: lone surrogates never abort a run, its resume, a report or `sandbox exec`


def _surrogate_llm(contents: list[str], received: list[bytes]) -> FastAPI:
    """An OpenAI-compatible endpoint whose replies carry lone surrogates as JSON "\\udcff"
    escapes (valid JSON that decodes to a str no UTF-8 encoder accepts). Requests are recorded
    as bytes: each one must be valid UTF-8 JSON, so a surrogate echoed back would show."""
    server = FastAPI()

    @server.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.body()
        received.append(body)
        messages = json.loads(body.decode("utf-8"))["messages"]
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        reply = {
            "id": f"chatcmpl-{turn}",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": contents[min(turn, len(contents) - 1)]}}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5},
        }
        return Response(json.dumps(reply).encode("ascii"), media_type="application/json")  # ensure_ascii escapes

    return server


def test_lone_surrogates_from_an_http_model_and_agent_code_never_abort_a_run(
    tmp_path: Path, toy_samples: list[Sample], sandbox_server: Any
) -> None:
    contents = [
        # prose with a raw lone surrogate, and code whose exception message is one (real sandbox)
        f"thinking {LONE} " + json.dumps({"action": "execute_python", "code": "raise ValueError('\\udcff')"}),
        # a raw lone surrogate inside the action's code string
        '{"action": "execute_python", "code": "print(\'' + LONE + '\')"}',
        # an answer that is a lone surrogate (a JSON escape inside the action)
        '{"action": "submit", "answer": "\\udcff"}',
    ]
    received: list[bytes] = []
    run_dir = tmp_path / "run"
    samples = toy_samples[:2]
    with serve_mock(_surrogate_llm(contents, received)) as base_url:
        policy = OpenAIChatPolicy("surrogate-model", base_url=base_url, timeout_s=10.0, max_retries=0)
        with RunStore(run_dir, _manifest()) as store:
            summary = run_rollouts(samples, policy, store, RolloutConfig(max_sessions=2), sandbox=sandbox_server)
        # The attack went through: the agent's exception and answer held lone surrogates.
        assert summary.written == 2 and summary.by_status == {"ok": 2}, summary
        assert len(received) == 6
        for body in received:  # every request after a surrogate reply is still valid UTF-8 JSON
            json.loads(body.decode("utf-8"))
        # Resume: nothing replays, nothing aborts.
        policy = OpenAIChatPolicy("surrogate-model", base_url=base_url, timeout_s=10.0, max_retries=0)
        with RunStore(run_dir, _manifest()) as store:
            again = run_rollouts(samples, policy, store, RolloutConfig(), sandbox=sandbox_server)
        assert again.skipped == 2 and again.written == 0 and len(received) == 6
    trajectories = _assert_valid_utf8_run(run_dir, 2)
    for t in trajectories:
        assert t.status == "ok" and t.submitted and t.score is not None and t.score.value == 0.0
        assert t.submitted_answer == "\ufffd"
        assert "\ufffd" in t.messages[2]["content"]
        assert "ValueError" in t.steps[0].observation
        assert t.steps[1].action is not None and "\ufffd" in t.steps[1].action["params"]["code"]
    assert "containment" in _report_ok(run_dir, tmp_path / "html")
    # The next episode is unaffected: the oracle completes in the same run folder.
    with RunStore(run_dir, _manifest()) as store:
        nxt = run_rollouts(toy_samples[2:], OraclePolicy(), store, RolloutConfig(), sandbox=sandbox_server)
    assert nxt.successes == 1 and len(_assert_valid_utf8_run(run_dir, 3)) == 3


def test_lone_surrogates_in_text_and_tool_calls_of_a_scripted_policy(
    tmp_path: Path, toy_samples: list[Sample], sandbox_server: Any
) -> None:
    text_policy = ScriptedPolicy(
        [f"{LONE}{{\"action\": \"list_tables\"}}", f'{{"action": "submit", "answer": ["{LONE}", "metoprolol"]}}'],
        name=f"scripted{LONE}",
    )
    tool_policy = ScriptedPolicy(
        [[{"id": f"call{LONE}", "type": "function",
           "function": {"name": "submit", "arguments": json.dumps({"answer": LONE + "3"}, ensure_ascii=False)}}]]
    )
    for policy, run_name in ((text_policy, "text"), (tool_policy, "tools")):
        run_dir = tmp_path / run_name
        fmt = "tools" if run_name == "tools" else "json"
        config = RolloutConfig(env=EnvConfig(action_format=fmt))  # type: ignore[arg-type]
        with RunStore(run_dir, _manifest(f"run-{LONE}")) as store:
            summary = run_rollouts(toy_samples[:1], policy, store, config, sandbox=sandbox_server)
        assert summary.by_status == {"ok": 1}
        [t] = _assert_valid_utf8_run(run_dir, 1)
        assert "\ufffd" in json.dumps(t.submitted_answer, ensure_ascii=False)
        assert t.score is not None and t.score.value == 0.0
        _report_ok(run_dir, tmp_path / f"html-{run_name}")


class _SurrogateSession:
    """A session whose results carry lone surrogates in every text field, as a sandbox client
    that did not clean its output would return them."""

    alive = True

    def run_python(self, code: str, timeout_s: float = 30.0) -> ExecResult:
        return ExecResult(status="error", stdout=f"out{LONE}\n", stderr=f"err{LONE}\n",
                          error=f"ValueError: {LONE}", value_repr=f"'{LONE}'")

    def run_sql(self, query: str, database: str | None = None, timeout_s: float = 30.0) -> ExecResult:
        return self.run_python(query)

    def close(self) -> None:
        pass


class _SurrogateSandbox:
    level = f"stub{LONE}"

    def open_session(self, resources: Any) -> _SurrogateSession:
        return _SurrogateSession()


def test_env_store_and_reports_do_not_rely_on_the_sandbox_cleaning_its_output(
    tmp_path: Path, toy_samples: list[Sample]
) -> None:
    sandbox = _SurrogateSandbox()
    env = MedAgentEnv(config=EnvConfig(), sandbox=sandbox)  # type: ignore[arg-type]
    env.reset(options={"sample": toy_samples[1]})
    observation, *_ = env.step('{"action": "execute_python", "code": "x"}')
    assert "\ufffd" in observation and LONE not in observation
    observation.encode("utf-8")
    env.close()
    policy = ScriptedPolicy(['{"action": "execute_python", "code": "x"}', '{"action": "submit", "answer": 22.857}'])
    run_dir = tmp_path / "run"
    with RunStore(run_dir, _manifest()) as store:
        summary = run_rollouts(toy_samples[1:2], policy, store, RolloutConfig(), sandbox=sandbox)  # type: ignore[arg-type]
    assert summary.successes == 1
    [t] = _assert_valid_utf8_run(run_dir, 1)
    assert t.steps[0].execution is not None and t.steps[0].execution.stdout == "out\ufffd\n"
    with RunStore(run_dir, _manifest()) as store:
        assert store.is_done(t.sample_id, 0) and store.problems == []
    _report_ok(run_dir, tmp_path / "html")


def test_sandbox_exec_prints_valid_utf8_for_a_surrogate_exception(tmp_path: Path) -> None:
    snippet = tmp_path / "surrogate.py"
    snippet.write_text("raise ValueError('\\udcff')\n")
    result = runner.invoke(app, ["sandbox", "exec", str(snippet)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout_bytes.decode("utf-8"))
    assert data["status"] == "error" and "ValueError" in data["error"]
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"print(1)\n\xff\xfe\n")
    refused = runner.invoke(app, ["sandbox", "exec", str(bad)])
    assert refused.exit_code == 2 and "not valid UTF-8" in refused.output and "Traceback" not in refused.output
    nxt = runner.invoke(app, ["sandbox", "exec", "-"], input="print(6 * 7)\n")
    assert nxt.exit_code == 0 and json.loads(nxt.output)["stdout"] == "42\n"


# ------------------------------------------------------------------------------------------------
# Item 12: parsing is linear and bounded; caps are parse errors that cost a turn


@pytest.fixture
def bare_env(toy_samples: list[Sample]) -> Iterator[MedAgentEnv]:
    """An env on the BMI sample (no database, no sandbox call unless code runs)."""
    env = MedAgentEnv(config=EnvConfig(max_turns=50, reveal_verdict=True))
    env.reset(options={"sample": toy_samples[1]})
    yield env
    env.close()


ADVERSARIAL_OUTPUTS = {
    "100k open braces": "{" * MAX_OUTPUT_CHARS,
    "100k brace-quote": '{"' * (MAX_OUTPUT_CHARS // 2),
    "nested objects never closed": '{"a":' * (MAX_OUTPUT_CHARS // 5),
    "unclosed object with many members": '{"a":1, ' * (MAX_OUTPUT_CHARS // 8),
    "fences never closed": "```{" * (MAX_OUTPUT_CHARS // 4),
    "answer nested 5000 deep": '{"action": "submit", "answer": ' + "[" * 5000 + "]" * 5000 + "}",
    "params nested 5000 deep": '{"action": "submit", "params": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
    "5000-digit integer": '{"action": "submit", "answer": ' + "7" * 5000 + "}",
    "one character over the cap": '{"action": "list_files"}' + " " * MAX_OUTPUT_CHARS,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL_OUTPUTS))
def test_adversarial_output_is_a_parse_error_that_costs_a_turn(bare_env: MedAgentEnv, name: str) -> None:
    tracemalloc.start()
    try:
        observation, reward, terminated, truncated, info = bare_env.step(ADVERSARIAL_OUTPUTS[name])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert observation.startswith("Error:") and info["parse_error"] and info["action"] is None
    assert (reward, terminated, truncated, bare_env.turn) == (0.0, False, False, 1)
    assert peak < 64 * 2**20  # 100 KB of "{" used to allocate gigabytes (a copy per brace)
    observation, reward, terminated, *_ = bare_env.step('{"action": "submit", "answer": 22.857}')
    assert terminated and reward == 1.0  # the next action of the same episode is unaffected


def test_caps_are_stated_in_the_error_observations(bare_env: MedAgentEnv) -> None:
    too_long, *_ = bare_env.step('{"action": "list_files"}' + " " * MAX_OUTPUT_CHARS)
    assert f"the limit is {MAX_OUTPUT_CHARS}" in too_long
    deep, *_ = bare_env.step('{"action": "submit", "answer": ' + "[" * 5000 + "]" * 5000 + "}")
    assert f"at most {MAX_JSON_DEPTH} levels" in deep
    for raw in (  # the same caps hold for dicts and tool calls handed to step()
        {"action": "submit", "answer": _deep_list(5000)},
        [{"function": {"name": "submit", "arguments": '{"answer": ' + "[" * 5000 + "]" * 5000 + "}"}}],
        [{"function": {"name": "submit", "arguments": {"answer": _deep_list(5000)}}}],
        [{"function": {"name": _deep_list(5000), "arguments": "{}"}}],
        {"action": _deep_list(5000)},
        ["not a tool call"],
        {"action": "submit", "answer": "x" * (MAX_OUTPUT_CHARS + 1)},
    ):
        observation, _, terminated, _, info = bare_env.step(raw)
        assert observation.startswith("Error:") and not terminated and info["parse_error"], raw
    assert bare_env.turn == 9 and all(s.parse_error for s in bare_env.steps)


def test_linear_parsing_finds_the_action_after_adversarial_prose(bare_env: MedAgentEnv) -> None:
    # 600 candidate objects that never close, 2,000 braces that cannot open one, open fences.
    prose = "{ not json " * 2_000 + '{"a": {"b": ' * 300 + "```{ " * 2_000
    action = json.dumps({"action": "submit", "answer": 22.857})
    started = time.perf_counter()
    observation, *_ = bare_env.step(prose + '{"a": ' * (MAX_PARSE_CANDIDATES + 1) + action)
    assert f"gave up after {MAX_PARSE_CANDIDATES} candidate objects" in observation
    _, reward, terminated, *_ = bare_env.step(prose + action)
    assert terminated and reward == 1.0
    assert time.perf_counter() - started < 20  # a safety bound; the quadratic parser took minutes on such input


def test_deep_or_huge_answers_score_zero_with_an_explanation(bare_env: MedAgentEnv) -> None:
    target = Target(answer_type=AnswerType.STRING_SET, value=["a"])
    for answer, reason in (
        (_deep_list(5000), "nested deeper"),
        ({"a": _deep_list(5000)}, "nested deeper"),
        ("x" * (MAX_ANSWER_CHARS + 1), "larger than"),
        (["a"] * (MAX_ANSWER_CHARS + 1), "larger than"),
        (10**5000, "too large"),
        ("[" * 5000 + "]" * 5000, ""),
        ("[" * 200 + "1" + "]" * 200, ""),
    ):
        score = score_answer(answer, target)
        assert score.value == 0.0 and not score.correct and reason in score.explanation
    # Through the env: an answer inside the parser's caps but over the scorer's is a 0, explained.
    nested = {"action": "submit", "answer": _deep_list(MAX_ANSWER_DEPTH + 2)}
    observation, reward, terminated, *_ = bare_env.step(nested)
    assert terminated and reward == 0.0 and "nested deeper" in observation
    bare_env.reset(options={"sample": bare_env.sample})
    huge = json.dumps({"action": "submit", "answer": "9" * (MAX_ANSWER_CHARS + 10)})
    observation, reward, terminated, *_ = bare_env.step(huge)
    assert terminated and reward == 0.0 and "larger than" in observation
    bare_env.reset(options={"sample": bare_env.sample})
    assert bare_env.step('{"action": "submit", "answer": "22.857"}')[1] == 1.0


# ------------------------------------------------------------------------------------------------
# Item 13: every inspection action is bounded in input and time


@pytest.fixture(scope="module")
def wide_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A table large enough that its scans outlast a zero time budget; names need quoting."""
    path = tmp_path_factory.mktemp("wide") / "wide.sqlite"
    con = sqlite3.connect(path)
    con.execute('create table "events" (id integer, label text, "odd ""name" text)')
    con.executemany(
        "insert into events values (?, ?, ?)",
        ((i, f"label {i % 5000}", "x") for i in range(200_000)),
    )
    con.execute("create table small (v text)")
    con.execute("insert into small values ('furosemide'), ('insulin glargine')")
    con.commit()
    con.close()
    return path


@pytest.fixture
def db_env(wide_db: Path) -> Iterator[MedAgentEnv]:
    sample = Sample(
        id="toy/wide/test/0/0", dataset="toy", category="wide", split="test", index=0, seed=0,
        prompt="How many events?",
        resources=(Resource(kind="sqlite", name="wide", path=str(wide_db)),),
        target=Target(answer_type=AnswerType.INTEGER, value=200_000),
        solution=Solution(language="python", code="answer = 200000\n"),
    )
    env = MedAgentEnv(config=EnvConfig(max_turns=50))
    env.reset(options={"sample": sample})
    yield env
    env.close()


def _act(env: MedAgentEnv, **action: Any) -> str:
    observation, _, terminated, truncated, _ = env.step(json.dumps(action))
    assert not terminated and not truncated
    return observation


def test_search_terms_and_names_have_length_caps(db_env: MedAgentEnv) -> None:
    # 10,000 characters took 43 s and 100,000 more than 300 s of fuzzy matching in the harness.
    assert "Output too long" in _act(db_env, action="search", term="x" * 100_000)
    for term in ("x" * 10_000, "x" * (MAX_SEARCH_TERM_CHARS + 1)):
        observation = _act(db_env, action="search", term=term)
        assert observation.startswith("Error:") and f"at most {MAX_SEARCH_TERM_CHARS} characters" in observation
    with pytest.raises(inspection.InspectionError, match="longer than"):
        inspection.DatabaseInspector(db_env.sample.resources[0].path).search("x" * 10_000, 5)
    ok = _act(db_env, action="search", term="furosemid" + "e" * (MAX_SEARCH_TERM_CHARS - 9))
    assert "furosemide" in ok and not ok.startswith("Error")
    for field in ("table", "database"):
        observation = _act(db_env, action="describe_table", **{"table": "events", field: "t" * 10_000})
        assert observation.startswith("Error:") and len(observation) < 500


def test_identifiers_are_checked_against_the_schema(db_env: MedAgentEnv) -> None:
    for table in ('events"; drop table events; --', "sqlite_master", "events) union select 1 --"):
        observation = _act(db_env, action="describe_table", table=table)
        assert observation.startswith("Error: No table")
    observation = _act(db_env, action="distinct_values", table="events", column='label" from events; --')
    assert observation.startswith("Error: No column")
    assert "odd" in _act(db_env, action="sample_rows", table="events", n=2)  # a column name with a quote
    assert "200000 rows" in _act(db_env, action="describe_table", table="events")


def test_inspection_stops_at_its_time_limit_and_the_episode_goes_on(
    db_env: MedAgentEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inspection, "INSPECTION_TIME_LIMIT_S", 0.0)  # every long scan is cut
    listing = _act(db_env, action="list_tables")
    assert "?" in listing and "stopped at the 0 s limit" in listing
    assert "(? rows; counting was stopped" in _act(db_env, action="describe_table", table="events")
    distinct = _act(db_env, action="distinct_values", table="events", column="label")
    assert distinct.startswith("Error:") and "took longer than 0 s" in distinct
    search = _act(db_env, action="search", term="label 42")
    assert "matching stopped at the 0 s limit" in search or "vocabulary was stopped" in search
    assert db_env.turn == 4 and not db_env.done
    monkeypatch.setattr(inspection, "INSPECTION_TIME_LIMIT_S", 5.0)
    nxt = MedAgentEnv(config=EnvConfig())  # the next episode gets the normal budget
    try:
        nxt.reset(options={"sample": db_env.sample})
        assert "label 42" in _act(nxt, action="search", term="label 42")
        assert "200000" in _act(nxt, action="list_tables")
    finally:
        nxt.close()


def test_list_files_looks_at_a_bounded_number_of_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "files"
    (folder / "sub").mkdir(parents=True)
    for i in range(30):
        (folder / f"f{i:02d}.txt").write_text("x")
        (folder / "sub" / f"g{i:02d}.txt").write_text("y")
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # never followed
    sample = Sample(
        id="toy/files/test/0/0", dataset="toy", category="files", split="test", index=0, seed=0,
        prompt="files", resources=(Resource(kind="directory", name="docs", path=str(folder)),),
        target=Target(answer_type=AnswerType.INTEGER, value=1),
        solution=Solution(language="python", code="answer = 1\n"),
    )
    env = MedAgentEnv(config=EnvConfig())
    env.reset(options={"sample": sample})
    monkeypatch.setattr(inspection, "MAX_FILES_SCANNED", 20)
    listing = _act(env, action="list_files")
    assert "stopped after looking at 20 entries" in listing and "f00.txt" in listing
    monkeypatch.setattr(inspection, "MAX_FILES_SCANNED", 10_000)
    full = _act(env, action="list_files")
    assert "g29.txt" in full and "stopped" not in full and full.count("loop") <= 1
    env.close()
