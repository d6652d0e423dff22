"""The gymnasium environment: one episode over one Sample.

Only the Env joins a Sample, a sandbox Session and a Scorer. Observations are text; actions are
JSON text, dicts or OpenAI-style tool calls (see ``actions.py``). Only ``submit`` is graded and
the reward is the score; unparseable output costs a turn and is answered with an error message.

``step`` never raises because of what the agent sent: output over the parsing caps
(``actions.MAX_OUTPUT_CHARS``, ``MAX_JSON_DEPTH``), bad identifiers and inspection queries that
fail or run past their time limit all come back as an error observation that costs a turn, and
every observation is valid Unicode (lone surrogates become U+FFFD).

A sample with a ``fhir_store`` resource gets a FHIR server for the episode: on ``reset`` the env
opens a private copy of the split's template store (or the user's remote server) in the harness
process, answers ``fhir_get`` / ``fhir_post`` from it, grades a submission together with the
resources the episode created (``score_answer(..., writes=...)``) and deletes the copy when the
episode ends. The sandbox session never sees the store; successful GET replies are also saved as
``fhir_get_<n>.json`` in the session's working directory (written by the session itself, before
the next ``execute_python``), so agent code can parse them.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import gymnasium as gym
from gymnasium import spaces
from pydantic import BaseModel, Field

from medagentgym.catalog.sample import Resource, Sample, Target
from medagentgym.catalog.selection import SelectedSamples
from medagentgym.codetests import read_session_file, run_function_tests, run_namespace_tests
from medagentgym.env.actions import (
    Action,
    ActionParseError,
    DebugHint,
    DescribeTable,
    DistinctValues,
    ExecutePython,
    ExecuteSQL,
    FhirGet,
    FhirPost,
    ListFiles,
    ListTables,
    SampleRows,
    SearchTerm,
    Submit,
    parse_action,
    tool_schemas,
)
from medagentgym.env.inspect import DatabaseInspector, InspectionError, ResourceInspector
from medagentgym.env.prompts import render_followup, render_task, system_prompt
from medagentgym.env.warm import ask_warm_sessions
from medagentgym.fhir import FhirEndpoint, FhirResponse, FhirStoreError, open_endpoint
from medagentgym.fhir.service import reason
from medagentgym.runs.schema import EpisodeStatus, StepRecord
from medagentgym.sandbox import SandboxServer, Session, shared_server
from medagentgym.sandbox.results import ExecResult
from medagentgym.scoring import AnswerParseError, Score, combine_scores, score_answer
from medagentgym.scoring.code_tests import CaseResult, splice_submission
from medagentgym.scoring.predictions import MAX_PREDICTIONS_BYTES
from medagentgym.untrusted import clean_text

MAX_TEXT = 200_000
#: Largest FHIR reply saved for agent code as a JSON file (characters); larger ones are only shown.
MAX_SAVED_REPLY_CHARS = 1_000_000


class FhirStoreUnavailableError(RuntimeError):
    """The sample's FHIR store cannot be opened (its template was not built)."""


def store_resource(sample: Sample) -> Resource | None:
    """The sample's FHIR record store, if it has one."""
    return next((r for r in sample.resources if r.kind == "fhir_store"), None)


def agent_resources(sample: Sample) -> tuple[Resource, ...]:
    """What the sandbox session and the inspection actions may see: never the record store."""
    return tuple(r for r in sample.resources if r.kind != "fhir_store")


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
    # How the harness runs, not what an episode means: left out of dumps (a run's identity).
    #: Warm sessions the env asks its server to keep ready for each sample's resources (servers
    #: that offer ``prewarm``); 0 leaves the server's own setting alone.
    warm_sessions: int = Field(default=0, ge=0, le=256, exclude=True)
    #: Share database inspectors (schema, row counts, the search index) with every env of the
    #: process (``inspect.shared_inspector``); False keeps them per env, as before.
    shared_indexes: bool = Field(default=True, exclude=True)


class _AnyText(spaces.Text):
    """A text space that accepts any Unicode string up to ``max_length``.

    ``spaces.Text`` only contains strings over its sampling charset; model output and database
    values are arbitrary Unicode, so membership here only checks type and length.
    """

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length


class MedAgentEnv(gym.Env[str, Any]):
    """One biomedical coding task per episode, run in an isolated, stateful sandbox session.

    ``reset`` picks the sample (``options={"sample": Sample}`` or ``{"sample_id": "..."}``, else
    one of ``samples`` drawn with the seed) and returns the task text; ``info["messages"]`` holds
    the system and task messages a chat model starts from, and ``info["tools"]`` the tool
    definitions when ``action_format="tools"``, so a library user never rebuilds the prompt.

    Without a ``sandbox`` the env uses the process's shared server (``sandbox.shared_server``):
    many envs in one process share one fork-server, and ``close`` leaves it running for the others.
    ``areset`` / ``astep`` run the blocking calls in a worker thread for asyncio callers.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        samples: Sequence[Sample] = (),
        *,
        config: EnvConfig | None = None,
        sandbox: SandboxServer | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.config = config or EnvConfig()
        # a lazy selection stays lazy (generated at the first reset that draws from it)
        self.samples: Sequence[Sample] = samples if isinstance(samples, SelectedSamples) else list(samples)
        self.render_mode = render_mode
        self.observation_space = _AnyText(max_length=MAX_TEXT)
        self.action_space = _AnyText(max_length=MAX_TEXT)
        self._sandbox = sandbox
        # None: the process-wide inspectors (EnvConfig.shared_indexes); else this env's own.
        self._inspectors: dict[str, DatabaseInspector] | None = None if self.config.shared_indexes else {}
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
        # The episode's FHIR server (samples with a store), the resources it created (read at
        # the end of the episode) and GET replies waiting to be saved into the session.
        self._fhir: FhirEndpoint | None = None
        self.writes: list[dict[str, Any]] | None = None
        self._pending_files: list[tuple[str, str]] = []
        self._fhir_gets = 0
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
            FhirGet: self._fhir_get,
            FhirPost: self._fhir_post,
        }

    # -- gymnasium API -------------------------------------------------------------------------

    @property
    def sandbox(self) -> SandboxServer:
        if self._sandbox is None:
            self._sandbox = shared_server()
        return self._sandbox

    @property
    def sandbox_level(self) -> str:
        return self.sandbox.level if self._sandbox is not None else ""

    def tools(self) -> list[dict[str, Any]]:
        """OpenAI tool definitions for ``action_format="tools"`` (with the FHIR actions when the
        current sample has a record store: call it after ``reset``)."""
        include_fhir = self.sample is not None and store_resource(self.sample) is not None
        return tool_schemas(include_debug_hint=self.config.enable_debug_hint, include_fhir=include_fhir)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        sample = options.get("sample")
        if sample is None and options.get("sample_id") is not None:
            sample = self._find_sample(options["sample_id"])
        if sample is None:
            if not self.samples:
                raise ValueError("reset needs options={'sample': Sample} or samples given to the env")
            sample = self.samples[int(self.np_random.integers(len(self.samples)))]
        if not isinstance(sample, Sample):
            raise TypeError("options['sample'] must be a Sample")
        self._close_session()
        self._close_fhir()
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
        self.writes = None
        self._pending_files = []
        self._fhir_gets = 0
        store = store_resource(sample)
        if store is not None:
            self._fhir = self._open_fhir(sample, store)
        resources = agent_resources(sample)
        self._inspector = ResourceInspector(resources, self._inspectors)
        if self.config.warm_sessions:
            ask_warm_sessions(self.sandbox, resources, self.config.warm_sessions)
        observation = render_task(
            sample,
            action_format=self.config.action_format,
            debug_hint=self.config.enable_debug_hint,
            fhir_base_url=self._fhir.base_url if self._fhir is not None else None,
        )
        observation = clean_text(observation)
        info = self._info(None)
        info["messages"] = [
            {"role": "system", "content": clean_text(system_prompt(sample))},
            {"role": "user", "content": observation},
        ]
        if self.config.action_format == "tools":
            info["tools"] = self.tools()
        return observation, info

    async def areset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """``reset`` in a worker thread (it may build a session's store copy: keep the loop free)."""
        return await asyncio.to_thread(lambda: self.reset(seed=seed, options=options))

    async def astep(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """``step`` in a worker thread: agent code runs for up to ``step_timeout_s`` in the sandbox."""
        return await asyncio.to_thread(self.step, action)

    def _find_sample(self, sample_id: Any) -> Sample:
        """A sample by id: among the env's samples first, else regenerated from the id.

        A generated selection that is still lazy is not generated just to look one id up: its
        samples are exactly what ``find_sample`` regenerates. Imported samples (a samples file)
        cannot be regenerated, so they are searched.
        """
        if not isinstance(sample_id, str):
            raise TypeError("options['sample_id'] must be a string")
        lazy = isinstance(self.samples, SelectedSamples) and not self.samples.selection.samples_file
        for known in () if lazy else self.samples:
            if known.id == sample_id:
                return known
        from medagentgym.catalog.selection import find_sample

        try:
            return find_sample(sample_id)
        except KeyError as exc:
            raise ValueError(f"unknown sample {sample_id!r}: {exc.args[0] if exc.args else exc}") from None

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
            self._close_fhir()
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
        self._close_fhir()

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if not self.steps:
            return f"sample {self.sample.id}: no step yet" if self.sample is not None else "not reset"
        last = self.steps[-1]
        return f"turn {last.index}: {last.action}\n{last.observation}"

    def close(self) -> None:
        self._close_session()
        self._close_fhir()
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
            if self.writes is not None:
                info["writes"] = [f"{w.get('resourceType')}/{w.get('id')}" for w in self.writes]
        return info

    def _clip(self, text: str) -> str:
        limit = self.config.max_observation_chars
        if len(text) <= limit:
            return text
        return text[:limit] + f"\n...[observation truncated: {len(text) - limit} more characters]"

    def _session_for_episode(self) -> Session:
        if self._session is None or not self._session.alive:
            assert self.sample is not None
            self._session = self.sandbox.open_session(agent_resources(self.sample))
        return self._session

    def _close_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- the FHIR record store -----------------------------------------------------------------

    def _open_fhir(self, sample: Sample, store: Resource) -> FhirEndpoint:
        try:
            return open_endpoint(store.path)
        except FhirStoreError as exc:
            raise FhirStoreUnavailableError(
                f"the FHIR store of {sample.id} is not available ({exc}); "
                f"build it with `medagentgym data build {sample.dataset}`"
            ) from None

    def _episode_writes(self) -> list[dict[str, Any]]:
        """The resources this episode created (read once, kept for ``info`` and grading)."""
        if self.writes is None and self._fhir is not None:
            self.writes = self._fhir.created()
        return self.writes or []

    def _close_fhir(self) -> None:
        """Record what the episode created, then delete its copy of the store."""
        if self._fhir is None:
            return
        endpoint, self._fhir = self._fhir, None
        try:
            if self.writes is None:
                self.writes = endpoint.created()
        except Exception:  # the episode is over either way; its copy must still go
            self.writes = None
        finally:
            endpoint.close()

    def _require_fhir(self) -> FhirEndpoint:
        if self._fhir is None:
            raise InspectionError("This task has no FHIR server; fhir_get and fhir_post are not available.")
        return self._fhir

    def _fhir_get(self, action: FhirGet) -> tuple[str, None]:
        try:
            response = self._require_fhir().get(action.url)
        except InspectionError:
            raise
        except Exception as exc:  # a fault of the store or of the user's server, not the agent's
            raise InspectionError(f"the FHIR server failed ({type(exc).__name__}: {exc})") from None
        saved = None
        if response.ok:
            text = response.text()
            if len(text) <= MAX_SAVED_REPLY_CHARS:
                self._fhir_gets += 1
                saved = f"fhir_get_{self._fhir_gets}.json"
                self._pending_files.append((saved, text))
        else:
            self._last_error = (action, f"GET {action.url[:200]} -> {response.status}: {_outcome_text(response)}")
        return render_fhir("GET", action.url, response, saved), None

    def _fhir_post(self, action: FhirPost) -> tuple[str, None]:
        try:
            response = self._require_fhir().post(action.url, action.payload)
        except InspectionError:
            raise
        except Exception as exc:
            raise InspectionError(f"the FHIR server failed ({type(exc).__name__}: {exc})") from None
        if not response.ok:
            self._last_error = (action, f"POST {action.url[:200]} -> {response.status}: {_outcome_text(response)}")
        return render_fhir("POST", action.url, response), None

    def _save_pending_files(self, session: Session) -> str:
        """Write the GET replies saved so far into the session's working directory.

        The session writes them itself (one harness-made snippet), so they land where agent
        code runs at every isolation level; agent-defined names cannot break it beyond the
        episode. Returns a note for the observation when writing failed.
        """
        if not self._pending_files:
            return ""
        pending, self._pending_files = self._pending_files, []
        lines = ["import io as _medagentgym_io"]
        for name, text in pending:
            lines.append(
                f"with _medagentgym_io.open({name!r}, 'w', encoding='utf-8') as _medagentgym_f:\n"
                f"    _medagentgym_f.write({text!r})"
            )
        lines.append("del _medagentgym_io, _medagentgym_f")
        try:
            result = session.run_python("\n".join(lines), timeout_s=self.config.step_timeout_s)
        except Exception as exc:
            return f"(the saved FHIR replies could not be written: {type(exc).__name__})\n"
        if result.status != "ok":
            why = (result.error or result.stderr or result.status).strip().splitlines()
            return f"(the saved FHIR replies could not be written: {why[-1] if why else result.status})\n"
        return ""

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
        writes = self._episode_writes() if self._fhir is not None else None
        observations = predictions_file = None
        try:  # what grading reads from the sandbox: hidden tests' observations, a predictions file
            if current.target.tests is not None:
                observations = self._run_code_tests(current.target, action.answer)
            if current.target.predictions is not None:
                predictions_file = read_session_file(self._session, action.answer, MAX_PREDICTIONS_BYTES)
        except Exception as exc:  # the sandbox failed, not the agent: not a wrong answer
            self.status = "infra_error"
            self.submitted = True
            self.submitted_answer = action.answer
            return f"The submission could not be graded ({type(exc).__name__}: {exc}).", 0.0, True
        score = score_answer(
            action.answer, current.target, writes=writes, observations=observations, predictions_file=predictions_file
        )
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

    def _run_code_tests(self, target: Target, answer: Any) -> list[CaseResult] | None:
        """Run a code answer's hidden tests in the sandbox (None when the submission is not code
        the tests could load: the scorer says why).

        Function mode: a fresh session with the sample's resources loads the spliced submission;
        the episode's session is left alone. Namespace mode: the episode's own session, after its
        last step. Either way the expected values stay in this process.
        """
        assert self.sample is not None and target.tests is not None
        tests = target.tests
        if tests.mode == "function":
            try:
                module = splice_submission(answer, tests)
            except AnswerParseError:
                return None
            return run_function_tests(self.sandbox, agent_resources(self.sample), tests, module)
        return run_namespace_tests(self._session, tests)

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
        note = ""
        try:
            session = self._session_for_episode()
            note = self._save_pending_files(session)
            result = session.run_python(action.code, timeout_s=self.config.step_timeout_s)
        except Exception as exc:  # the sandbox failed, not the agent
            result = ExecResult(status="infra_error", error=f"{type(exc).__name__}: {exc}")
        return note + render_execution(result), result

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


def _outcome_text(response: FhirResponse) -> str:
    """The diagnostics of an OperationOutcome, on one line (for debug hints)."""
    issues = response.body.get("issue") if isinstance(response.body, dict) else None
    if not isinstance(issues, list):
        return reason(response.status) or "error"
    texts = [str(i.get("diagnostics", "")) for i in issues if isinstance(i, dict)]
    return "; ".join(t for t in texts if t)[:500] or reason(response.status)


def render_fhir(method: str, url: str, response: FhirResponse, saved: str | None = None) -> str:
    """How a FHIR reply reads to the agent: the status line, a summary, then the JSON body."""
    head = f"{method} {url[:300]} -> {response.status} {reason(response.status)}".rstrip()
    if response.location:
        head += f"\nLocation: {response.location}"
    notes = []
    body = response.body
    if body.get("resourceType") == "Bundle":
        entries = body.get("entry")
        shown = len(entries) if isinstance(entries, list) else 0
        notes.append(f"Bundle with total {body.get('total')}, {shown} {'entry' if shown == 1 else 'entries'} on this page")
    if saved:
        notes.append(f"saved as {saved} in the working directory of execute_python")
    if not response.ok:
        notes.append("nothing was changed" if method == "POST" else "the request failed")
    if notes:
        head += "\n(" + "; ".join(notes) + ")"
    return f"{head}\n{response.text()}"


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
