"""MedAgentGym as a live environment for TRL's ``GRPOTrainer`` (online RL).

Two ways in, both playing whole multi-turn episodes against the real environment and sandbox:

- ``make_rollout_func`` (JSON-text actions; any chat model): TRL hands the rollout function the
  batch's prompts; each row becomes one episode played with the trainer's current model. The
  completion is every token after the prompt: the model's turns *and* the observations, rendered
  as user turns by the chat template. ``env_mask`` marks which tokens the model wrote (1) and which
  the environment or the template wrote (0), so observations never enter the loss.
- ``MedAgentGymToolEnv`` (tool calls): an ``environment_factory`` class whose public methods are
  the env's actions; TRL parses the model's tool calls, calls the methods and masks their results.

Why it is built this way:
- TRL passes the rollout function the prompts only, not the other dataset columns, so a prompt is
  mapped back to its sample through its task text (``prompt_index``). The environment_factory
  path gets the whole row in ``reset(**row)`` and reads ``sample_id`` from it.
- TRL 1.16's sampler has already repeated every prompt ``num_generations`` times when the rollout
  function is called, so each row is one episode; a batch of distinct prompts (older TRL, or a
  caller that de-duplicated) is expanded to ``num_generations`` episodes per prompt instead.
- Every sandbox session is closed whatever happens (``finally``): a rollout that raises must not
  leave sandbox processes behind for the rest of a long training run.
- The benchmark reward is the env's score, unchanged. The optional shaped reward (a valid action,
  code that ran, an answer submitted) is a separate reward function, so TRL logs it in its own
  column; an episode that failed for infrastructure reasons gets ``None`` from both (TRL leaves it
  out of the group baseline) rather than a score of 0.
- Only train-split samples are accepted: a test sample must never shape a model.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.env.prompts import render_task, system_prompt
from medagentgym.integrations.common import (
    ChatTurns,
    IntegrationError,
    benchmark_value,
    require_split,
    resolve_sample,
    shaping_score,
)
from medagentgym.integrations.tokens import MIN_TURN_TOKENS, TokenTrace
from medagentgym.sandbox import SandboxServer, shared_server

#: Tokens the chat template spends around one observation turn (role headers, end markers).
TEMPLATE_ROOM = 32


class RolloutError(IntegrationError):
    """A prompt or dataset row the rollout cannot play (unknown task text, a non-train sample)."""


# -- rewards ----------------------------------------------------------------------------------


def benchmark_reward(
    completions: Sequence[Any],
    episode_reward: Sequence[float | None] | None = None,
    environments: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    """TRL reward function: the environment's benchmark reward of each completion's episode.

    Reads the ``episode_reward`` column of a rollout_func rollout, or asks each tool environment.
    """
    if episode_reward is not None:
        return [None if value is None else float(value) for value in episode_reward]
    if environments is not None:
        return [env._benchmark() for env in environments]
    raise RolloutError("benchmark_reward needs the episode_reward column (rollout_func) or tool environments")


def shaped_reward(
    completions: Sequence[Any],
    shaped_reward: Sequence[float | None] | None = None,
    environments: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    """TRL reward function: the shaped reward (``shaping_score``) of each completion's episode."""
    if shaped_reward is not None:
        return [None if value is None else float(value) for value in shaped_reward]
    if environments is not None:
        return [env._shaped() for env in environments]
    raise RolloutError("shaped_reward needs the shaped_reward column (rollout_func) or tool environments")


# -- bookkeeping shared by both paths ---------------------------------------------------------


@dataclass
class EpisodeLog:
    """What each finished episode scored, in TRL's batch order (groups are consecutive)."""

    num_generations: int
    episodes: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **entry: Any) -> None:
        with self._lock:
            self.episodes.append(entry)

    def summary(self) -> dict[str, Any]:
        """Counts for the run record: episodes, statuses, mean rewards and groups of mixed reward
        (only those give GRPO a non-zero advantage)."""
        statuses: dict[str, int] = {}
        for entry in self.episodes:
            statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
        totals = [
            None if e["benchmark"] is None else e["benchmark"] + (e.get("shaped") or 0.0) for e in self.episodes
        ]
        size = self.num_generations
        groups = [totals[i : i + size] for i in range(0, len(totals) - size + 1, size)]
        mixed = sum(len({t for t in group if t is not None}) > 1 for group in groups)
        mixed_benchmark = sum(
            len({e["benchmark"] for e in self.episodes[i : i + size] if e["benchmark"] is not None}) > 1
            for i in range(0, len(self.episodes) - size + 1, size)
        )
        scored = [e["benchmark"] for e in self.episodes if e["benchmark"] is not None]
        shaped = [e["shaped"] for e in self.episodes if e.get("shaped") is not None]
        return {
            "generations": len(self.episodes),
            "groups": len(groups),
            "groups_mixed": mixed,
            "groups_mixed_benchmark": mixed_benchmark,
            "mean_benchmark_reward": round(sum(scored) / len(scored), 4) if scored else None,
            "mean_shaped_reward": round(sum(shaped) / len(shaped), 4) if shaped else None,
            "successes": sum(v > 0 for v in scored),
            "statuses": statuses,
        }


def require_train_split(samples: Iterable[Sample]) -> None:
    """Refuse any sample that is not from the train split (test data must never train a model)."""
    try:
        require_split(samples, "train")
    except IntegrationError as exc:
        raise RolloutError(str(exc)) from None


def task_text(prompt: Sequence[Mapping[str, Any]] | str) -> str:
    """The task of a prompt: its last user message (or the whole text of a plain prompt)."""
    if isinstance(prompt, str):
        return prompt
    for message in reversed(list(prompt)):
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    raise RolloutError("a prompt without a user message (the task) cannot be mapped to a sample")


def build_prompt_index(rows: Iterable[tuple[Sequence[Mapping[str, Any]] | str, str]]) -> dict[str, str]:
    """Task text -> sample id, from (prompt, sample_id) dataset rows. Two samples with the same
    task text cannot be told apart from the prompt alone, so that is refused."""
    index: dict[str, str] = {}
    for prompt, sample_id in rows:
        key = task_text(prompt)
        known = index.setdefault(key, sample_id)
        if known != sample_id:
            raise RolloutError(f"samples {known} and {sample_id} have the same task text; keep one of them")
    return index


# -- the rollout_func path (JSON-text actions) ------------------------------------------------


@dataclass
class _Episode:
    sample: Sample
    env: MedAgentEnv
    trace: TokenTrace = field(default_factory=TokenTrace)
    status: str | None = None
    done: bool = False
    turns: int = 0

    def finish(self, status: str | None) -> None:
        self.done = True
        self.status = status or self.env.status or "max_turns"
        self.env.end_episode()


class EnvRollout:
    """A TRL ``rollout_func``: ``rollout(prompts, trainer) -> dict`` (see ``make_rollout_func``)."""

    def __init__(
        self,
        samples_by_id: Mapping[str, Sample],
        env_config: EnvConfig | None = None,
        *,
        num_generations: int,
        max_turns: int,
        max_new_tokens: int,
        temperature: float,
        sandbox: SandboxServer | None = None,
        shaped: bool = False,
        shaped_weight: float = 0.2,
        prompt_index: Mapping[str, str] | None = None,
        max_observation_tokens: int | None = None,
        max_completion_length: int | None = None,
    ) -> None:
        if num_generations < 1 or max_turns < 1 or max_new_tokens < MIN_TURN_TOKENS or temperature <= 0:
            raise RolloutError("num_generations, max_turns >= 1, max_new_tokens >= 8 and temperature > 0 are needed")
        require_train_split(samples_by_id.values())
        base = env_config or EnvConfig()
        self.env_config = base.model_copy(update={"max_turns": max_turns, "action_format": "json"})
        self.samples_by_id = dict(samples_by_id)
        self.num_generations = num_generations
        self.max_turns = max_turns
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.shaped = shaped
        self.shaped_weight = shaped_weight
        self.max_observation_tokens = max_observation_tokens or 2 * max_new_tokens
        self.max_completion_length = max_completion_length or completion_budget(
            max_turns, max_new_tokens, self.max_observation_tokens
        )
        self._sandbox = sandbox
        self._prompt_index = dict(prompt_index) if prompt_index is not None else None
        self._turns_cache: dict[int, ChatTurns] = {}
        self.log = EpisodeLog(num_generations)
        self.open_envs = 0  # environments created and not yet closed (0 between calls)

    @property
    def sandbox(self) -> SandboxServer:
        if self._sandbox is None:
            self._sandbox = shared_server()
        return self._sandbox

    # -- TRL's entry point --

    def __call__(self, prompts: Sequence[Any], trainer: Any) -> dict[str, list[Any]]:
        tokenizer = _tokenizer_of(trainer)
        rows = self._episode_rows(list(prompts))
        episodes: list[_Episode] = []
        try:
            for prompt in rows:
                sample = self._sample_for(prompt)
                env = MedAgentEnv(config=self.env_config, sandbox=self.sandbox)
                self.open_envs += 1
                episodes.append(_Episode(sample=sample, env=env))
                task, _ = env.reset(options={"sample": sample})
                messages = [{"role": "system", "content": _system_text(prompt, sample)}, {"role": "user", "content": task}]
                episodes[-1].trace.prompt_ids = self._chat_turns(tokenizer).prompt_ids(messages)
            with _generation_model(trainer) as model:
                while True:
                    active = [e for e in episodes if not e.done]
                    if not active:
                        break
                    self._play_turn(model, tokenizer, active)
        finally:
            self._close_all(episodes)
        return self._output(episodes)

    def close(self) -> None:
        """Nothing to close between calls (sessions close per episode); kept for symmetry."""

    # -- internals --

    def _episode_rows(self, prompts: list[Any]) -> list[Any]:
        """One row per episode: as given when TRL has already repeated each prompt
        ``num_generations`` times in a row, else each prompt ``num_generations`` times."""
        size = self.num_generations
        if not prompts:
            return []
        if len(prompts) % size == 0 and all(
            task_text(prompts[i + j]) == task_text(prompts[i]) for i in range(0, len(prompts), size) for j in range(size)
        ):
            return prompts
        return [prompt for prompt in prompts for _ in range(size)]

    def _sample_for(self, prompt: Any) -> Sample:
        if self._prompt_index is None:
            self._prompt_index = build_prompt_index(
                ([{"role": "user", "content": render_task(s, action_format="json")}], sid)
                for sid, s in self.samples_by_id.items()
            )
        key = task_text(prompt)
        sample_id = self._prompt_index.get(key)
        if sample_id is None or sample_id not in self.samples_by_id:
            raise RolloutError(f"a prompt whose task is not in the training set: {key[:80]!r}...")
        return self.samples_by_id[sample_id]

    def _play_turn(self, model: Any, tokenizer: Any, active: list[_Episode]) -> None:
        budgets = [min(self.max_new_tokens, self.max_completion_length - len(e.trace.response_ids)) for e in active]
        outputs = generate_turns(
            model,
            tokenizer,
            [e.trace.ids for e in active],
            budgets,
            temperature=self.temperature,
        )
        for episode, (ids, logprobs, ended) in zip(active, outputs, strict=True):
            episode.trace.add_model(ids, logprobs)
            episode.turns += 1
            text = tokenizer.decode(ids, skip_special_tokens=True)
            try:
                observation, _, terminated, truncated, _ = episode.env.step(text)
            except Exception:  # the env failed, not the model: the episode is not scored
                episode.finish("infra_error")
                continue
            if terminated or truncated:
                episode.finish(None)
                continue
            suffix = self._observation_ids(tokenizer, observation, ended)
            room = self.max_completion_length - len(episode.trace.response_ids) - len(suffix)
            if room < MIN_TURN_TOKENS:
                episode.finish("max_length")
                continue
            episode.trace.add_env(suffix)

    def _observation_ids(self, tokenizer: Any, observation: str, ended: bool) -> list[int]:
        """Tokens that close the model's turn (if it did not), carry the observation as a user
        turn, and open the next assistant turn, all as the chat template renders them."""
        return self._chat_turns(tokenizer).observation_ids(observation, ended)

    def _chat_turns(self, tokenizer: Any) -> ChatTurns:
        turns = self._turns_cache.get(id(tokenizer))
        if turns is None:
            turns = ChatTurns(tokenizer, max_observation_tokens=self.max_observation_tokens)
            self._turns_cache[id(tokenizer)] = turns
        return turns

    def _close_all(self, episodes: list[_Episode]) -> None:
        for episode in episodes:
            try:
                episode.env.close()
            except Exception:  # keep closing the others; a dead session is gone anyway
                pass
            finally:
                self.open_envs -= 1

    def _output(self, episodes: list[_Episode]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {
            "prompt_ids": [],
            "completion_ids": [],
            "logprobs": [],
            "env_mask": [],
            "episode_reward": [],
            "shaped_reward": [],
            "sample_id": [],
            "status": [],
        }
        for episode in episodes:
            benchmark = None if episode.status == "infra_error" else benchmark_value(episode.env)
            shaped = None
            if benchmark is not None:
                shaped = shaping_score(episode.env.steps, episode.env.submitted, self.shaped_weight) if self.shaped else 0.0
            out["prompt_ids"].append(episode.trace.prompt_ids)
            out["completion_ids"].append(episode.trace.response_ids)
            out["logprobs"].append(episode.trace.logprobs)
            out["env_mask"].append(episode.trace.response_mask)
            out["episode_reward"].append(benchmark)
            out["shaped_reward"].append(shaped)
            out["sample_id"].append(episode.sample.id)
            out["status"].append(episode.status or "max_turns")
            self.log.add(
                sample_id=episode.sample.id,
                status=episode.status or "max_turns",
                benchmark=benchmark,
                shaped=shaped if self.shaped else None,
                turns=episode.turns,
                completion_tokens=len(episode.trace.response_ids),
                model_tokens=episode.trace.model_tokens,
            )
        return out


def completion_budget(max_turns: int, max_new_tokens: int, max_observation_tokens: int) -> int:
    """The longest completion an episode may produce: every turn's reply plus every observation
    between turns (clipped) plus the template's role markers."""
    return max_turns * max_new_tokens + (max_turns - 1) * (max_observation_tokens + TEMPLATE_ROOM + 16)


def make_rollout_func(
    samples_by_id: Mapping[str, Sample], env_config: EnvConfig | None = None, **options: Any
) -> EnvRollout:
    """A TRL ``rollout_func`` that plays JSON-action episodes of the given train samples.

    Pass it as ``GRPOTrainer(..., rollout_func=make_rollout_func(...))`` with
    ``reward_funcs=[benchmark_reward]`` (plus ``shaped_reward`` when ``shaped``). ``options`` are
    ``EnvRollout``'s (num_generations, max_turns, max_new_tokens, temperature, shaped, ...).
    Prompts are mapped to samples by their task text: give ``prompt_index`` (``build_prompt_index``
    over the dataset's ``prompt``/``sample_id`` columns) or let it be rendered from the samples.
    """
    return EnvRollout(samples_by_id, env_config, **options)


# -- generation with the trainer's model ------------------------------------------------------


def _tokenizer_of(trainer: Any) -> Any:
    processing = trainer.processing_class
    return getattr(processing, "tokenizer", processing)


@contextlib.contextmanager
def _generation_model(trainer: Any) -> Iterator[Any]:
    """The trainer's model ready to generate: unwrapped from accelerate/DeepSpeed as TRL does for
    its own generation (a plain object with ``.model`` is used as is)."""
    accelerator = getattr(trainer, "accelerator", None)
    if accelerator is None:
        yield trainer.model
        return
    from trl.models.utils import unwrap_model_for_generation

    args = trainer.args
    with unwrap_model_for_generation(
        getattr(trainer, "model_wrapped", trainer.model),
        accelerator,
        gather_deepspeed3_params=getattr(args, "ds3_gather_for_generation", True),
        gradient_checkpointing_kwargs=getattr(args, "gradient_checkpointing_kwargs", None),
    ) as model:
        yield model


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = getattr(model.generation_config, "eos_token_id", None)
    ids = [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.insert(0, tokenizer.eos_token_id)
    return ids


def generate_turns(
    model: Any,
    tokenizer: Any,
    sequences: Sequence[Sequence[int]],
    budgets: Sequence[int],
    *,
    temperature: float,
) -> list[tuple[list[int], list[float], bool]]:
    """Sample one reply per sequence in a single batched ``generate`` call.

    Returns (reply tokens up to and including the end-of-turn token, the log-probability of each
    sampled token under the tempered distribution, whether the reply ended by itself). A reply
    stops at its own budget even when others in the batch run longer.
    """
    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, width - len(seq) :] = torch.tensor(list(seq), dtype=torch.long)
        attention[row, width - len(seq) :] = 1
    eos = _eos_ids(model, tokenizer)
    with torch.no_grad():
        out = model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            do_sample=True,
            temperature=temperature,
            top_k=0,
            top_p=1.0,
            max_new_tokens=max(budgets),
            eos_token_id=eos,
            pad_token_id=pad,
            return_dict_in_generate=True,
            output_logits=True,
        )
    new = out.sequences[:, width:]
    steps = [
        torch.log_softmax(logits.float() / temperature, dim=-1).gather(-1, new[:, t : t + 1]).squeeze(-1).cpu()
        for t, logits in enumerate(out.logits)
    ]
    new = new.cpu()
    results = []
    stops = set(eos)
    for row, budget in enumerate(budgets):
        tokens = new[row, :budget].tolist()
        stop, ended = len(tokens), False
        for j, token in enumerate(tokens):
            if token in stops:
                stop, ended = j + 1, True
                break
        results.append((tokens[:stop], [float(steps[j][row]) for j in range(stop)], ended))
    return results


def _system_text(prompt: Any, sample: Sample) -> str:
    if not isinstance(prompt, str):
        for message in prompt:
            if isinstance(message, Mapping) and message.get("role") == "system" and isinstance(message.get("content"), str):
                return message["content"]
    return system_prompt(sample)


# -- the environment_factory path (tool calls) ------------------------------------------------


class MedAgentGymToolEnv:
    """One tool-calling episode per instance, for ``GRPOTrainer(environment_factory=...)``.

    TRL exposes every public method except ``reset`` and ``get_reward`` as a tool, with the
    schema read from the type hints and the Google-style docstring. ``reset(**row)`` starts the
    episode of the row's ``sample_id`` and returns its task text (TRL appends it to the prompt's
    last user message, so the dataset's user message is left empty for this path);
    ``get_reward()`` is the benchmark score and ends the episode, closing its sandbox session.
    Build several with ``functools.partial`` to share samples, a sandbox or settings.
    """

    def __init__(
        self,
        samples_by_id: Mapping[str, Sample] | None = None,
        env_config: EnvConfig | None = None,
        *,
        sandbox: SandboxServer | None = None,
        shaped_weight: float = 0.2,
        log: EpisodeLog | None = None,
    ) -> None:
        base = env_config or EnvConfig()
        self._config = base.model_copy(update={"action_format": "tools"})
        self._samples = samples_by_id
        self._sandbox = sandbox
        self._shaped_weight = shaped_weight
        self._log = log
        self._env: MedAgentEnv | None = None
        self._logged = False

    # -- TRL's hooks --

    def reset(self, **kwargs: Any) -> str:
        sample_id = kwargs.get("sample_id")
        if not isinstance(sample_id, str) or not sample_id:
            raise RolloutError("the dataset row has no sample_id; MedAgentGymToolEnv needs it to pick the task")
        sample = self._find(sample_id)
        require_train_split([sample])
        self._end()
        self._env = MedAgentEnv(config=self._config, sandbox=self._sandbox)
        self._logged = False
        task, _ = self._env.reset(options={"sample": sample})
        return task

    def get_reward(self) -> float:
        """The benchmark reward (0.0 when the episode did not end with a graded answer)."""
        self._end()
        value = self._benchmark()
        if self._log is not None and not self._logged and self._env is not None and self._env.sample is not None:
            self._logged = True
            self._log.add(
                sample_id=self._env.sample.id,
                status=self._env.status or "max_turns",
                benchmark=value,
                shaped=self._shaped(),
                turns=self._env.turn,
            )
        return 0.0 if value is None else value

    # -- read by the reward functions (private: TRL turns every public method into a tool) --

    def _benchmark(self) -> float | None:
        return None if self._env is None else benchmark_value(self._env)

    def _shaped(self) -> float:
        if self._env is None:
            return 0.0
        return shaping_score(self._env.steps, self._env.submitted, self._shaped_weight)

    # -- the actions, as tools --

    def list_tables(self, database: str | None = None) -> str:
        """List the tables of a database resource with their row counts.

        Args:
            database: The database to inspect; leave out when the task has one database.

        Returns:
            The tables and their row counts.
        """
        return self._act("list_tables", database=database)

    def describe_table(self, table: str, database: str | None = None) -> str:
        """Show the columns, their types and the row count of one table.

        Args:
            table: The table name.
            database: The database holding the table; leave out when the task has one database.

        Returns:
            The table's columns and types.
        """
        return self._act("describe_table", table=table, database=database)

    def distinct_values(self, table: str, column: str, limit: int = 30, database: str | None = None) -> str:
        """Show the most frequent distinct values of a column, with their counts.

        Args:
            table: The table name.
            column: The column name.
            limit: How many values to show (1 to 500).
            database: The database holding the table; leave out when the task has one database.

        Returns:
            The values and their counts.
        """
        return self._act("distinct_values", table=table, column=column, limit=limit, database=database)

    def sample_rows(self, table: str, n: int = 5, database: str | None = None) -> str:
        """Show the first rows of a table.

        Args:
            table: The table name.
            n: How many rows to show (1 to 100).
            database: The database holding the table; leave out when the task has one database.

        Returns:
            The rows.
        """
        return self._act("sample_rows", table=table, n=n, database=database)

    def search(self, term: str, limit: int = 10, database: str | None = None) -> str:
        """Fuzzy-search the text values of a database to find exact spellings.

        Args:
            term: The text to look for.
            limit: How many matches to show (1 to 100).
            database: The database to search; leave out when the task has one database.

        Returns:
            The matching values with their tables and columns.
        """
        return self._act("search", term=term, limit=limit, database=database)

    def list_files(self) -> str:
        """List the files the task provides.

        Returns:
            The file names.
        """
        return self._act("list_files")

    def execute_python(self, code: str) -> str:
        """Run Python code in the task's session; variables persist between calls.

        Args:
            code: The Python source to run. pandas (pd), numpy (np), sqlite3 and json are imported.

        Returns:
            The status, printed output, errors and the value of a final expression.
        """
        return self._act("execute_python", code=code)

    def execute_sql(self, query: str, database: str | None = None) -> str:
        """Run one read-only SQL query against a database resource.

        Args:
            query: The SQL query.
            database: The database to query; leave out when the task has one database.

        Returns:
            The query's result rows or its error.
        """
        return self._act("execute_sql", query=query, database=database)

    def fhir_get(self, url: str) -> str:
        """Send a GET request to the task's FHIR server (tasks with a FHIR server only).

        Args:
            url: A search such as Observation?patient=S1234567&code=K or a read such as Patient/S1234567.

        Returns:
            The server's JSON reply.
        """
        return self._act("fhir_get", url=url)

    def fhir_post(self, url: str, payload: dict) -> str:
        """Create a resource on the task's FHIR server (tasks with a FHIR server only).

        Args:
            url: The resource type to create, such as MedicationRequest.
            payload: The FHIR resource as a JSON object with its resourceType.

        Returns:
            The server's reply.
        """
        return self._act("fhir_post", url=url, payload=payload)

    def submit(self, answer: str | int | float | bool | list[str]) -> str:
        """Submit the final answer; this ends the episode and only this answer is graded.

        Args:
            answer: The final answer in the format the task asks for.

        Returns:
            A confirmation that the answer was submitted.
        """
        return self._act("submit", answer=answer)

    # -- internals --

    def _act(self, name: str, **params: Any) -> str:
        env = self._env
        if env is None or env.sample is None:
            return "Error: no task is active (the environment was not reset)."
        if env.done:
            return "The episode is over; no further actions are accepted."
        action = {"action": name, **{k: v for k, v in params.items() if v is not None}}
        observation, *_ = env.step(action)
        return observation

    def _find(self, sample_id: str) -> Sample:
        try:
            return resolve_sample(sample_id, self._samples)
        except IntegrationError as exc:
            raise RolloutError(str(exc)) from None

    def _end(self) -> None:
        if self._env is not None:
            self._env.end_episode()

    @property
    def env(self) -> MedAgentEnv | None:
        """The episode's environment (for tests and reward functions)."""
        return self._env
