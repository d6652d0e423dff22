"""MedAgentGym as inspect_ai tasks: ``inspect eval medagentgym/mimic_iii --model ...``.

Tasks: ``medagentgym/medagentgym_task`` (any selection: ``-T dataset=... -T category=...
-T split=test -T limit_per_category=... -T sample_ids=...``) and one per dataset,
``medagentgym/<dataset>``, with the same parameters. The names resolve through the package's
``inspect_ai`` entry point; ``inspect eval <this file>@medagentgym_task`` works without it.

Each task is our samples as inspect ``Sample``s, a tool-use agent whose tools act in our sandbox,
and our scorer. One ``Episode`` (env + sandbox session) belongs to each inspect sample run:

- the task's ``setup`` solver opens it (``setup`` runs even when ``--solver`` replaces the agent),
  replaces the sample's messages with the episode's own opening messages (the env is the one
  source of the first observation; a FHIR task's store may name another server address than the
  default the dataset shows) and puts the episode's tools in ``state.tools``;
- the default solver is inspect's ``react`` agent over those tools, without react's own submit
  tool: our ``submit`` is graded by the env, and a sequential sample asks its next question after
  a submission, so only the env can say when the episode is over;
- the scorer reads the env's score; the task's ``cleanup`` closes the episode. inspect calls
  ``cleanup`` after every sample, also after an error, a limit or a cancellation, and the
  ``Episode`` finaliser is the last resort for anything that still escapes.

Why it is built this way:
- Episodes are not JSON, and inspect deep-copies and logs a sample's store, so they live in a
  table owned by the task object (``EpisodeTable``), keyed by the sample run's ``uuid``; nothing
  is module-global.
- Logs are for sharing. Nothing we hand to inspect holds a target, a reference solution or a
  hidden test: the inspect ``Sample.target`` stays empty, metadata names only dataset, category
  and split, and the score's explanation says right or wrong without the expected value
  (``log_explanation=True`` keeps our full explanation for private debugging).
- Every turn costs what it costs in the benchmark: a tool call is one env step, and a reply with
  no tool call is given to the env as text (a JSON action in text still works; anything else is
  a parse error that costs a turn). A call inspect rejects before it reaches us (arguments that
  fail the tool's JSON schema) is shown to the model as inspect's error; to keep such a model
  from looping, the agent also stops after as many model turns as the env allows.
- An episode that failed for infrastructure reasons (the sandbox, not the model) is scored
  ``Score.unscored`` (NaN, left out of the metrics) rather than a false 0.
- Blocking env calls run in worker threads (``anyio``) under a per-episode lock, so a
  cancellation cannot close a session while a step is still using it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import anyio
from inspect_ai import Task, task
from inspect_ai.agent import AgentState, as_solver, react
from inspect_ai.dataset import MemoryDataset
from inspect_ai.dataset import Sample as InspectSample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
)
from inspect_ai.scorer import Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolDef, ToolParams

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig, store_resource
from medagentgym.env.prompts import render_task, system_prompt
from medagentgym.fhir.endpoint import DEFAULT_BASE_URL
from medagentgym.integrations.common import (
    Episode,
    IntegrationError,
    Turn,
    benchmark_value,
)

#: What inspect's log shows as the status of an episode the agent left without a graded answer.
NO_SUBMISSION = "no_submission"
#: The status of an episode stopped because the model spent its turns on calls inspect rejected.
TURN_LIMIT = "max_turns"
_OVER = "The episode is over; no further actions are accepted."


# -- the episode of each sample run -----------------------------------------------------------


class EpisodeSlot:
    """One sample run's episode, its tools and its bookkeeping.

    The lock serializes the env: inspect may run several tool calls of one message at once, and
    ``close`` must wait for a step that is still running in a worker thread.
    """

    def __init__(self, episode: Episode) -> None:
        self.episode = episode
        self.model_turns = 0
        self.stop_reason: str | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.tools: list[Tool] = [_episode_tool(self, spec["function"]) for spec in episode.tools or []]

    @property
    def done(self) -> bool:
        return self._closed or self.episode.done

    @property
    def turn_limit(self) -> int:
        return self.episode.env.turn_limit

    def act(self, action: Any) -> Turn:
        with self._lock:
            if self._closed:
                return Turn(_OVER, 0.0, True)
            return self.episode.act(action)

    def end(self, reason: str | None = None) -> None:
        with self._lock:
            if not self._closed and not self.episode.done:
                self.stop_reason = reason
                self.episode.end()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.episode.close()

    async def aact(self, action: Any) -> Turn:
        return await anyio.to_thread.run_sync(self.act, action)

    async def aend(self, reason: str | None = None) -> None:
        await anyio.to_thread.run_sync(self.end, reason)


class EpisodeTable:
    """The open episodes of one task's sample runs, by the run's ``TaskState.uuid``.

    ``samples`` are the task's own samples: a run opens the sample it was given, never one
    regenerated from text that passed through inspect.
    """

    def __init__(self, samples: Mapping[str, Sample], config: EnvConfig) -> None:
        self.samples = dict(samples)
        self.config = config
        self._slots: dict[str, EpisodeSlot] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> EpisodeSlot | None:
        with self._lock:
            return self._slots.get(key)

    def require(self, key: str) -> EpisodeSlot:
        slot = self.get(key)
        if slot is None:
            raise IntegrationError("this sample has no open MedAgentGym episode (the task's setup did not run)")
        return slot

    async def open(self, key: str, sample_id: Any) -> EpisodeSlot:
        sample = self.samples.get(str(sample_id))
        if sample is None:
            raise IntegrationError(f"sample {sample_id} is not among this task's samples")
        stale = self._pop(key)  # a retried sample run keeps its uuid
        if stale is not None:
            await anyio.to_thread.run_sync(stale.close)

        def open_and_file() -> EpisodeSlot:
            # filed by the worker thread itself: a run cancelled while the episode opens still
            # finds it in the table at cleanup
            slot = EpisodeSlot(Episode(sample, config=self.config))
            with self._lock:
                self._slots[key] = slot
            return slot

        return await anyio.to_thread.run_sync(open_and_file)

    async def close(self, key: str) -> None:
        slot = self._pop(key)
        if slot is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(slot.close)

    async def cleanup(self, state: TaskState) -> None:
        """The task's ``cleanup`` hook: inspect calls it after every sample run."""
        await self.close(state.uuid)

    def _pop(self, key: str) -> EpisodeSlot | None:
        with self._lock:
            return self._slots.pop(key, None)


def _episode_tool(slot: EpisodeSlot, function: Mapping[str, Any]) -> Tool:
    """An inspect tool for one of the env's actions, with the env's own JSON schema."""
    name = str(function["name"])

    async def execute(**arguments: Any) -> str:
        turn = await slot.aact({"action": name, **{k: v for k, v in arguments.items() if v is not None}})
        return turn.observation

    return ToolDef(
        execute,
        name=name,
        description=str(function.get("description", "")),
        parameters=_tool_params(function.get("parameters", {})),
    ).as_tool()


#: Descriptions for the env's parameters that its schema leaves without one: inspect refuses a
#: tool parameter without a description (the schema's ``title`` is the fallback).
_PARAMETER_NOTES = {
    "database": "Name of the database resource; may be omitted when the task has only one.",
    "table": "Table name.",
    "column": "Column name.",
    "limit": "Most results to return.",
    "n": "Number of rows.",
    "term": "Text to search for.",
    "code": "Python source to run.",
    "query": "One read-only SQL query.",
    "url": "FHIR URL, absolute or relative to the server's base URL.",
}


def _tool_params(schema: Mapping[str, Any]) -> ToolParams:
    params = ToolParams.model_validate(schema)
    for name, param in params.properties.items():
        if not param.description:
            title = schema.get("properties", {}).get(name, {}).get("title")
            param.description = _PARAMETER_NOTES.get(name) or str(title or name)
    return params


# -- solvers and scorer -----------------------------------------------------------------------


def _chat_messages(messages: Sequence[Mapping[str, Any]]) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    for message in messages:
        content = str(message.get("content", ""))
        role = message.get("role")
        if role == "system":
            out.append(ChatMessageSystem(content=content))
        elif role == "assistant":
            out.append(ChatMessageAssistant(content=content))
        else:
            out.append(ChatMessageUser(content=content))
    return out


@solver
def medagentgym_setup(episodes: EpisodeTable) -> Solver:
    """Open the sample run's episode; its messages and tools become the state's."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        slot = await episodes.open(state.uuid, state.sample_id)
        state.messages = _chat_messages(slot.episode.messages)
        state.tools = list(slot.tools)
        return state

    return solve


@solver
def medagentgym_agent(
    episodes: EpisodeTable,
    retry_refusals: int | None = None,
    truncation: Literal["auto", "disabled"] = "disabled",
) -> Solver:
    """inspect's ``react`` agent over the episode's tools, until the env ends the episode."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        slot = episodes.require(state.uuid)
        agent = react(
            prompt=None,  # the sample's system message is the benchmark's
            tools=slot.tools,
            submit=False,  # our submit is a tool the env grades
            on_continue=_continue_while_open(slot),
            retry_refusals=retry_refusals,
            truncation=truncation,
        )
        return await as_solver(agent)(state, generate)

    return solve


def _continue_while_open(slot: EpisodeSlot) -> Callable[[AgentState], Awaitable[bool | str]]:
    async def on_continue(agent_state: AgentState) -> bool | str:
        slot.model_turns += 1
        if slot.done:
            return False
        message = agent_state.output.message
        if not message.tool_calls:
            turn = await slot.aact(message.text)  # a text reply is an action too, as everywhere
            return False if slot.done else turn.observation
        if slot.model_turns >= slot.turn_limit:
            await slot.aend(TURN_LIMIT)
            return False
        return True

    return on_continue


@scorer(metrics=[accuracy(), stderr()])
def medagentgym_scorer(episodes: EpisodeTable, log_explanation: bool = False) -> Scorer:
    """The env's score of the sample run's episode (ended first if the agent left it open)."""

    async def score(state: TaskState, target: Target) -> Score:
        slot = episodes.require(state.uuid)
        await slot.aend(NO_SUBMISSION)
        env = slot.episode.env
        status = env.status or slot.stop_reason or NO_SUBMISSION
        answer = _answer_text(env.submitted_answer) if env.submitted else None
        metadata = {"status": status, "turns": env.turn, "sample_id": slot.episode.sample.id}
        value = benchmark_value(env)
        if value is None:
            return Score.unscored(
                reason="scoring_failed",
                answer=answer,
                explanation="infrastructure failure: the sandbox failed, not the model; left out of the metrics",
                metadata=metadata,
            )
        result = env.score if status == "ok" else None
        if result is None:
            explanation = f"no graded answer ({status})"
        elif log_explanation:
            explanation = result.explanation
        else:
            explanation = ("correct" if result.correct else "wrong") + f" (score {result.value:g})"
        if result is not None:
            metadata["correct"] = result.correct
        return Score(value=value, answer=answer, explanation=explanation, metadata=metadata)

    return score


def _answer_text(answer: Any) -> str:
    return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False, default=str)


# -- datasets and tasks -----------------------------------------------------------------------


def select_samples(
    dataset: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    split: Literal["train", "test"] = "test",
    limit_per_category: int | None = None,
    seed: int = 0,
    sample_ids: Sequence[str] | None = None,
    samples_file: str | None = None,
) -> list[Sample]:
    """Our samples for a task: by id, from an imported samples file, or generated by
    dataset/category/split."""
    from medagentgym.catalog.selection import checked_selection
    from medagentgym.catalog.selection import select_samples as generate
    from medagentgym.integrations.common import resolve_sample

    if sample_ids is not None:
        if isinstance(sample_ids, str):
            sample_ids = [sample_ids]
        return [resolve_sample(sample_id) for sample_id in sample_ids]
    try:
        selection = checked_selection(dataset, category, split, limit_per_category, seed, samples_file)
    except (ValueError, KeyError) as exc:
        raise IntegrationError(str(exc.args[0]) if exc.args else str(exc)) from None
    samples = list(generate(selection))
    if not samples:
        raise IntegrationError(f"the selection has no samples: {selection.model_dump(exclude_defaults=True)}")
    return samples


def inspect_sample(sample: Sample, config: EnvConfig) -> InspectSample:
    """The inspect Sample of one of ours: its opening messages, its id; no target.

    The setup solver replaces the messages with the live episode's, which differ only where a
    FHIR task's store names another server address than the default one shown here.
    """
    store = store_resource(sample)
    task_text = render_task(
        sample,
        action_format="tools",
        debug_hint=config.enable_debug_hint,
        fhir_base_url=DEFAULT_BASE_URL if store is not None else None,
    )
    return InspectSample(
        id=sample.id,
        input=[ChatMessageSystem(content=system_prompt(sample)), ChatMessageUser(content=task_text)],
        metadata={"dataset": sample.dataset, "category": sample.category, "split": sample.split},
    )


def medagentgym_eval_task(
    dataset: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    split: Literal["train", "test"] = "test",
    limit_per_category: int | None = None,
    seed: int = 0,
    sample_ids: Sequence[str] | None = None,
    samples_file: str | None = None,
    max_turns: int = 15,
    enable_debug_hint: bool = False,
    step_timeout_s: float = 30.0,
    max_observation_chars: int = 8_000,
    log_explanation: bool = False,
    retry_refusals: int | None = None,
    *,
    samples: Sequence[Sample] | None = None,
) -> Task:
    """The inspect Task over a selection of samples (what every ``@task`` here returns).

    ``samples`` (Python callers only) takes Sample objects as they are, e.g. one's own tasks.
    """
    config = EnvConfig(
        max_turns=max_turns,
        enable_debug_hint=enable_debug_hint,
        action_format="tools",
        step_timeout_s=step_timeout_s,
        max_observation_chars=max_observation_chars,
    )
    if samples is None:
        samples = select_samples(dataset, category, split, limit_per_category, seed, sample_ids, samples_file)
    by_id = {sample.id: sample for sample in samples}
    if not by_id:
        raise IntegrationError("a task needs at least one sample")
    if len(by_id) != len(samples):
        raise IntegrationError("the selection names a sample twice; inspect needs unique sample ids")
    episodes = EpisodeTable(by_id, config)
    names = sorted({sample.dataset for sample in samples})
    return Task(
        dataset=MemoryDataset([inspect_sample(s, config) for s in samples], name="medagentgym/" + "+".join(names)),
        setup=medagentgym_setup(episodes),
        solver=medagentgym_agent(episodes, retry_refusals=retry_refusals),
        scorer=medagentgym_scorer(episodes, log_explanation=log_explanation),
        cleanup=episodes.cleanup,
        version=1,
    )


@task
def medagentgym_task(
    dataset: str | list[str] | None = None,
    category: str | list[str] | None = None,
    split: Literal["train", "test"] = "test",
    limit_per_category: int | None = None,
    seed: int = 0,
    sample_ids: list[str] | None = None,
    samples_file: str | None = None,
    max_turns: int = 15,
    enable_debug_hint: bool = False,
    step_timeout_s: float = 30.0,
    max_observation_chars: int = 8_000,
    log_explanation: bool = False,
    retry_refusals: int | None = None,
) -> Task:
    """MedAgentGym on any selection: ``-T dataset=mimic_iii -T category=... -T split=test``
(or ``-T sample_ids=...``, or ``-T samples_file=...`` for imported original tasks).

    ``log_explanation=true`` writes our full score explanation (which may quote the expected
    answer) into the log; leave it off for logs anyone may read.
    """
    return medagentgym_eval_task(
        dataset, category, split, limit_per_category, seed, sample_ids, samples_file, max_turns,
        enable_debug_hint, step_timeout_s, max_observation_chars, log_explanation, retry_refusals,
    )


# One named task per built-in dataset (``inspect eval medagentgym/<dataset>``); each takes the
# parameters of ``medagentgym_task`` except ``dataset``. Written out so that inspect's task
# listing, which reads the source, finds every one of them.


@task
def biocoder(**params: Any) -> Task:
    """BioCoder: bioinformatics functions checked by hidden tests."""
    return medagentgym_eval_task("biocoder", **params)


@task
def biodsbench(**params: Any) -> Task:
    """BioDSBench: biomedical data-science analyses."""
    return medagentgym_eval_task("biodsbench", **params)


@task
def ehr_seqsql(**params: Any) -> Task:
    """EHR-SeqSQL: sequences of dependent questions over an EHR database."""
    return medagentgym_eval_task("ehr_seqsql", **params)


@task
def ehrcon(**params: Any) -> Task:
    """EHRCon: consistency between clinical notes and the EHR tables."""
    return medagentgym_eval_task("ehrcon", **params)


@task
def ehrshot(**params: Any) -> Task:
    """EHRSHOT: prediction tasks graded by AUROC on hidden labels."""
    return medagentgym_eval_task("ehrshot", **params)


@task
def eicu(**params: Any) -> Task:
    """eICU: questions over the eICU schema."""
    return medagentgym_eval_task("eicu", **params)


@task
def medagentbench(**params: Any) -> Task:
    """MedAgentBench: FHIR workflows against a record store."""
    return medagentgym_eval_task("medagentbench", **params)


@task
def medcalcbench(**params: Any) -> Task:
    """MedCalc-Bench: clinical calculations from patient notes."""
    return medagentgym_eval_task("medcalcbench", **params)


@task
def mimic_extract(**params: Any) -> Task:
    """MIMIC-Extract: prediction tasks on extracted cohorts."""
    return medagentgym_eval_task("mimic_extract", **params)


@task
def mimic_iii(**params: Any) -> Task:
    """MIMIC-III: EHRSQL-style questions over the MIMIC-III schema."""
    return medagentgym_eval_task("mimic_iii", **params)


@task
def npowerai(**params: Any) -> Task:
    """NPowerAI: statistical power and sample-size questions."""
    return medagentgym_eval_task("npowerai", **params)


@task
def treqs(**params: Any) -> Task:
    """TREQS: questions over the MIMICSQL schema."""
    return medagentgym_eval_task("treqs", **params)
