"""The gymnasium environment: one episode over one Sample.

Only the Env joins a Sample, a sandbox Session and a Scorer. Observations are text; actions are
JSON text, dicts or OpenAI-style tool calls (see ``actions.py``). Only ``submit`` is graded and
the reward is the score; unparseable output costs a turn and is answered with an error message.

``step`` never raises because of what the agent sent: output over the parsing caps
(``actions.MAX_OUTPUT_CHARS``, ``MAX_JSON_DEPTH``), bad identifiers and inspection queries that
fail or run past their time limit all come back as an error observation that costs a turn, and
every observation is valid Unicode (lone surrogates become U+FFFD).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import gymnasium as gym
from gymnasium import spaces
from pydantic import BaseModel, Field

from medagentgym.catalog.sample import Sample
from medagentgym.env.actions import (
    Action,
    ActionParseError,
    DebugHint,
    DescribeTable,
    DistinctValues,
    ExecutePython,
    ExecuteSQL,
    ListFiles,
    ListTables,
    SampleRows,
    SearchTerm,
    Submit,
    parse_action,
    tool_schemas,
)
from medagentgym.env.inspect import DatabaseInspector, InspectionError, ResourceInspector
from medagentgym.env.prompts import render_followup, render_task
from medagentgym.runs.schema import EpisodeStatus, StepRecord
from medagentgym.sandbox import SandboxServer, Session
from medagentgym.sandbox.results import ExecResult
from medagentgym.scoring import Score, combine_scores, score_answer
from medagentgym.untrusted import clean_text

MAX_TEXT = 200_000


class EnvConfig(BaseModel):
    """Episode rules. ``reveal_verdict`` decides whether the agent learns if its answer was right
    (useful for RL curricula and self-correction studies; off by default so benchmark episodes
    match the original protocol of a single blind submission)."""

    max_turns: int = Field(default=15, ge=1)
    reveal_verdict: bool = False
    enable_debug_hint: bool = False
    action_format: Literal["json", "tools"] = "json"
    step_timeout_s: float = Field(default=30.0, gt=0)
    max_observation_chars: int = Field(default=8_000, ge=200)


class _AnyText(spaces.Text):
    """A text space that accepts any Unicode string up to ``max_length``.

    ``spaces.Text`` only contains strings over its sampling charset; model output and database
    values are arbitrary Unicode, so membership here only checks type and length.
    """

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length


class MedAgentEnv(gym.Env[str, Any]):
    """One biomedical coding task per episode, run in an isolated, stateful sandbox session."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        samples: Sequence[Sample] = (),
        *,
        config: EnvConfig | None = None,
        sandbox: SandboxServer | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.config = config or EnvConfig()
        self.samples = list(samples)
        self.render_mode = render_mode
        self.observation_space = _AnyText(max_length=MAX_TEXT)
        self.action_space = _AnyText(max_length=MAX_TEXT)
        self._sandbox = sandbox
        self._owns_sandbox = sandbox is None
        self._inspectors: dict[str, DatabaseInspector] = {}
        self._session: Session | None = None
        self.sample: Sample | None = None
        self.steps: list[StepRecord] = []
        self.turn = 0
        self.done = False
        self.status: EpisodeStatus | None = None
        self.score: Score | None = None
        self.submitted_answer: Any = None
        self.submitted = False
        self.question = 0  # index of the question being answered (sequential samples)
        self.sub_scores: list[Score] = []
        self._last_error: tuple[Action, ExecResult | str] | None = None
        self._handlers: dict[type, Callable[[Any], tuple[str, ExecResult | None]]] = {
            ListTables: self._list_tables,
            DescribeTable: self._describe_table,
            DistinctValues: self._distinct_values,
            SampleRows: self._sample_rows,
            SearchTerm: self._search,
            ListFiles: self._list_files,
            ExecutePython: self._execute_python,
            ExecuteSQL: self._execute_sql,
            DebugHint: self._debug_hint,
        }

    # -- gymnasium API -------------------------------------------------------------------------

    @property
    def sandbox(self) -> SandboxServer:
        if self._sandbox is None:
            self._sandbox = SandboxServer()
        return self._sandbox

    @property
    def sandbox_level(self) -> str:
        return self.sandbox.level if self._sandbox is not None else ""

    def tools(self) -> list[dict[str, Any]]:
        """OpenAI tool definitions for ``action_format="tools"``."""
        return tool_schemas(include_debug_hint=self.config.enable_debug_hint)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        sample = options.get("sample")
        if sample is None:
            if not self.samples:
                raise ValueError("reset needs options={'sample': Sample} or samples given to the env")
            sample = self.samples[int(self.np_random.integers(len(self.samples)))]
        if not isinstance(sample, Sample):
            raise TypeError("options['sample'] must be a Sample")
        self._close_session()
        self.sample = sample
        self.steps = []
        self.turn = 0
        self.done = False
        self.status = None
        self.score = None
        self.submitted_answer = None
        self.submitted = False
        self.question = 0
        self.sub_scores = []
        self._last_error = None
        self._inspector = ResourceInspector(sample.resources, self._inspectors)
        observation = render_task(
            sample,
            action_format=self.config.action_format,
            debug_hint=self.config.enable_debug_hint,
        )
        return clean_text(observation), self._info(None)

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.sample is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("episode is over; call reset()")
        started = time.perf_counter()
        self.turn += 1
        reward = 0.0
        terminated = False
        parsed: Action | None = None
        parse_error: str | None = None
        execution: ExecResult | None = None
        try:
            parsed = parse_action(action)
        except ActionParseError as exc:
            parse_error = str(exc)
            observation = f"Error: {parse_error}"
        if parsed is not None:
            if isinstance(parsed, Submit):
                observation, reward, terminated = self._submit(parsed)
            else:
                observation, execution = self._dispatch(parsed)
                if execution is not None and execution.status == "infra_error":
                    terminated = True
                    self.status = "infra_error"
        truncated = not terminated and self.turn >= self.turn_limit
        if truncated:
            observation += f"\n\nTurn limit of {self.turn_limit} reached without a submission."
            if self.sub_scores:  # a sequence cut short: unanswered questions count 0
                self.score = combine_scores(self.sub_scores, len(self.sample.questions))
            no_action_parsed = all(s.action is None for s in self.steps) and parsed is None
            self.status = "parse_error" if no_action_parsed else "max_turns"
        if terminated and self.status is None:
            self.status = "ok"
        observation = clean_text(self._clip(observation))
        self.steps.append(
            StepRecord(
                index=self.turn,
                action=parsed.record() if parsed is not None else None,
                parse_error=parse_error,
                observation=observation,
                execution=execution,
                duration_s=time.perf_counter() - started,
            )
        )
        if terminated or truncated:
            self.done = True
            self._close_session()
        return observation, reward, terminated, truncated, self._info(self.steps[-1])

    @property
    def turn_limit(self) -> int:
        """Turns allowed in this episode: ``max_turns`` per question of the sample."""
        n_questions = 1 + len(self.sample.followups) if self.sample is not None else 1
        return self.config.max_turns * n_questions

    def end_episode(self) -> None:
        """End the episode early (the runner gave up: policy failure, episode timeout)."""
        self.done = True
        self._close_session()

    def render(self) -> str | None:
        if self.render_mode != "ansi" or not self.steps:
            return None
        last = self.steps[-1]
        return f"turn {last.index}: {last.action}\n{last.observation}"

    def close(self) -> None:
        self._close_session()
        if self._owns_sandbox and self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        super().close()

    # -- internals -----------------------------------------------------------------------------

    def _info(self, step: StepRecord | None) -> dict[str, Any]:
        assert self.sample is not None
        info: dict[str, Any] = {
            "sample_id": self.sample.id,
            "turn": self.turn,
            "max_turns": self.turn_limit,
        }
        if self.sample.followups:
            info["question"] = self.question
            info["questions"] = 1 + len(self.sample.followups)
        if step is not None:
            info["action"] = step.action
            info["parse_error"] = step.parse_error
            info["execution"] = step.execution.model_dump() if step.execution else None
        if self.done:
            info["status"] = self.status
            info["score"] = self.score.model_dump(mode="json") if self.score else None
            info["submitted_answer"] = self.submitted_answer
        return info

    def _clip(self, text: str) -> str:
        limit = self.config.max_observation_chars
        if len(text) <= limit:
            return text
        return text[:limit] + f"\n...[observation truncated: {len(text) - limit} more characters]"

    def _session_for_episode(self) -> Session:
        if self._session is None or not self._session.alive:
            assert self.sample is not None
            self._session = self.sandbox.open_session(self.sample.resources)
        return self._session

    def _close_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _dispatch(self, action: Action) -> tuple[str, ExecResult | None]:
        try:
            observation, execution = self._handlers[type(action)](action)
        except InspectionError as exc:
            self._last_error = (action, str(exc))
            return f"Error: {exc}", None
        except sqlite3.Error as exc:  # inspection of a database the harness reads
            message = f"{type(exc).__name__}: {exc}"
            self._last_error = (action, message)
            return f"Error: {message}", None
        if execution is not None and execution.status != "ok":
            self._last_error = (action, execution)
        return observation, execution

    def _submit(self, action: Submit) -> tuple[str, float, bool]:
        """Grade a submission: (observation, reward, episode over).

        A sequential sample's answer is graded against the current question's target; the next
        question follows in the observation, and the last submission ends the episode with the
        mean of the sub-scores as reward (intermediate submissions earn 0, so a return sums to
        the episode's score).
        """
        assert self.sample is not None
        questions = self.sample.questions
        current = questions[self.question]
        score = score_answer(action.answer, current.target)
        verdict = ""
        if self.config.reveal_verdict:
            verdict = f": {'correct' if score.correct else 'incorrect'}. {score.explanation}"
        if len(questions) == 1:
            self.submitted = True
            self.submitted_answer = action.answer
            self.score = score
            return f"Answer submitted{verdict or '.'}", score.value, True
        self.sub_scores.append(score)
        self.submitted_answer = [*(self.submitted_answer or []), action.answer]
        self.question += 1
        if self.question < len(questions):
            head = f"Answer {self.question} of {len(questions)} submitted{verdict or '.'}"
            return f"{head}\n\n{render_followup(self.sample, self.question)}", 0.0, False
        self.submitted = True
        self.score = combine_scores(self.sub_scores, len(questions))
        head = f"Answer {len(questions)} of {len(questions)} submitted{verdict or '.'}"
        if self.config.reveal_verdict:
            head += f" Episode: {self.score.explanation}"
        return head, self.score.value, True

    def _list_tables(self, action: ListTables) -> tuple[str, None]:
        return self._inspector.database(action.database).list_tables(), None

    def _describe_table(self, action: DescribeTable) -> tuple[str, None]:
        return self._inspector.database(action.database).describe_table(action.table), None

    def _distinct_values(self, action: DistinctValues) -> tuple[str, None]:
        db = self._inspector.database(action.database)
        return db.distinct_values(action.table, action.column, action.limit), None

    def _sample_rows(self, action: SampleRows) -> tuple[str, None]:
        return self._inspector.database(action.database).sample_rows(action.table, action.n), None

    def _search(self, action: SearchTerm) -> tuple[str, None]:
        return self._inspector.database(action.database).search(action.term, action.limit), None

    def _list_files(self, action: ListFiles) -> tuple[str, None]:
        return self._inspector.list_files(), None

    def _execute_python(self, action: ExecutePython) -> tuple[str, ExecResult]:
        try:
            result = self._session_for_episode().run_python(
                action.code, timeout_s=self.config.step_timeout_s
            )
        except Exception as exc:  # the sandbox failed, not the agent
            result = ExecResult(status="infra_error", error=f"{type(exc).__name__}: {exc}")
        return render_execution(result), result

    def _execute_sql(self, action: ExecuteSQL) -> tuple[str, ExecResult]:
        if action.database is not None:
            self._inspector.database(action.database)  # unknown names get a clear error
        elif not self._inspector.databases:
            raise InspectionError("This task has no database; use execute_python.")
        try:
            result = self._session_for_episode().run_sql(
                action.query, database=action.database, timeout_s=self.config.step_timeout_s
            )
        except Exception as exc:
            result = ExecResult(status="infra_error", error=f"{type(exc).__name__}: {exc}")
        return render_execution(result), result

    def _debug_hint(self, action: DebugHint) -> tuple[str, None]:
        if not self.config.enable_debug_hint:
            raise InspectionError("debug_hint is disabled in this environment.")
        return debug_hint(self._last_error, self._inspector), None


def render_execution(result: ExecResult) -> str:
    """How an execution result reads to the agent: status first, then streams kept apart."""
    head = f"[{result.status}; {result.duration_s * 1000:.1f} ms]"
    if result.timed_out:
        head += " time limit reached"
    if result.session_restarted:
        head += " (the session was restarted: earlier variables are gone)"
    parts = [head]
    if result.stdout:
        parts.append("stdout:\n" + result.stdout.rstrip("\n"))
    if result.stderr:
        parts.append("stderr:\n" + result.stderr.rstrip("\n"))
    if result.error and result.error not in result.stderr:
        parts.append("error:\n" + result.error.rstrip("\n"))
    if result.value_repr is not None:
        parts.append("Out: " + result.value_repr)
    if len(parts) == 1:
        parts.append("(no output)")
    return "\n".join(parts)


_SQL_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"no such column: (\S+)", re.I), "column"),
    (re.compile(r"no such table: (\S+)", re.I), "table"),
)


def debug_hint(last_error: tuple[Action, ExecResult | str] | None, inspector: ResourceInspector) -> str:
    """A deterministic hint about the last error: schema facts for SQL errors, advice otherwise.

    The original system asked a second LLM; a rule-based hint keeps episodes reproducible and free.
    """
    if last_error is None:
        return "No error so far."
    _, outcome = last_error
    text = outcome if isinstance(outcome, str) else (outcome.error or outcome.stderr or outcome.status)
    if inspector.databases:
        for pattern, kind in _SQL_HINTS:
            if pattern.search(text):
                db = inspector.database(None)
                if kind == "table":
                    return "The table does not exist. Tables:\n" + db.list_tables()
                listing = "\n".join(f"{t}: {', '.join(c for c, _ in cols)}" for t, cols in db.schema.items())
                return "The column does not exist. Columns per table:\n" + listing
    if isinstance(outcome, ExecResult) and outcome.timed_out:
        return "The code hit the time limit: work on smaller data, avoid loops over rows, use SQL aggregation."
    if "NameError" in text:
        return "A name is undefined: variables persist only from successful earlier steps; define it first."
    last_line = text.strip().splitlines()[-1] if text.strip() else text
    return f"The last step failed with: {last_line}. Check names, types and units, then retry."
