"""Aggregate metrics over trajectories: success with Wilson intervals, pass@k, best@k, cost, failures.

A run holds one trajectory per (sample id, epoch); the K epochs of a sample are K independent
samples of the same task. Everything here is a pure function of a list of trajectories, so the
terminal report, the HTML report and any notebook compute the same numbers.

Counting rules (docs/reports.md explains them for readers of a report):

- An ``infra_error`` episode (API outage, sandbox failure, crashed policy) measured nothing about
  the model: it is left out of success, pass@k and best@k (it is "not scored as the model's
  failure"), and counted separately by its ``failure`` kind so an outage stays visible.
  ``count_infra_as_failure=True`` counts them as failures instead (a pessimistic bound).
- Every other episode is scored: success means a correct submitted answer; ``timeout``,
  ``max_turns`` and ``parse_error`` episodes are failures.
- pass@k is the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k) per task, averaged
  over tasks; k runs up to the smallest number of scored samples of any task (tasks with no scored
  sample are left out).
- best@k asks a ``Selector`` to pick one of the first k samples (by epoch) of each task and counts
  the success of the pick, averaged over tasks. The default selector is a majority vote over the
  submitted answers; a trained verifier can be plugged in with the same protocol.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from pydantic import BaseModel, Field

from medagentgym.runs.schema import Trajectory
from medagentgym.scoring.parsing import AnswerParseError, parse_answer

__all__ = [
    "FailureStats",
    "GroupMetrics",
    "MajorityVote",
    "RunMetrics",
    "Selector",
    "TokenStats",
    "best_at_k",
    "compute_metrics",
    "episode_cost",
    "pass_at_k",
    "pass_at_k_over_tasks",
    "wilson_interval",
]


# --------------------------------------------------------------------------------------------
# Estimators


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (sound at 0% and 100%, unlike Wald)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_at_k(n: int, c: int, k: int) -> Fraction:
    """Unbiased pass@k of one task with n samples of which c are correct (Chen et al., 2021).

    The probability that at least one of k samples drawn without replacement from the n is
    correct: 1 - C(n-c, k) / C(n, k). Exact (a Fraction), so tests can compare it with hand
    arithmetic; k > n is an error because the estimator is undefined there.
    """
    if n < 1 or k < 1:
        raise ValueError(f"pass@k needs n >= 1 and k >= 1 (got n={n}, k={k})")
    if not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n (got n={n}, c={c})")
    if k > n:
        raise ValueError(f"pass@{k} is undefined with only {n} samples of a task")
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def pass_at_k_over_tasks(counts: Iterable[tuple[int, int]], k: int) -> float:
    """Mean pass@k over tasks given (n, c) per task; 0.0 when there is no task."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    return float(sum(values, Fraction(0)) / len(values)) if values else 0.0


# --------------------------------------------------------------------------------------------
# best@k selection


class Selector(Protocol):
    """Picks one trajectory among the samples of one task (best@k).

    ``candidates`` are the first k samples of a task in epoch order; the result is an index into
    them. A verifier-based selector scores each candidate and returns the arg-max.
    """

    name: str

    def select(self, candidates: Sequence[Trajectory]) -> int: ...


def _vote_key(trajectory: Trajectory) -> str | None:
    """The normalised answer a trajectory votes for, or None if it submitted nothing.

    Answers are read with the scorer's own parser (so "143", 143 and "143.0" vote together)
    when the answer type is known from the score; otherwise, or when the answer does not parse,
    the answer's JSON text is the key, so identical garbage still votes together.
    """
    if not trajectory.submitted:
        return None
    answer = trajectory.submitted_answer
    if trajectory.score is not None and trajectory.score.parts:  # a sequence votes with all parts
        return "parts:" + json.dumps([p.parsed for p in trajectory.score.parts], sort_keys=True, default=str)
    if trajectory.score is not None:
        try:
            parsed = parse_answer(answer, trajectory.score.answer_type)
            return "parsed:" + json.dumps(parsed.json, sort_keys=True, default=str)
        except AnswerParseError:
            pass
    return "raw:" + json.dumps(answer, sort_keys=True, default=str)


@dataclass(frozen=True)
class MajorityVote:
    """Self-consistency: the answer submitted most often wins; ties go to the earliest sample.

    Samples that submitted nothing do not vote; if none submitted, the first sample is picked
    (it fails either way). The pick is the earliest sample holding the winning answer.
    """

    name: str = "majority-vote"

    def select(self, candidates: Sequence[Trajectory]) -> int:
        if not candidates:
            raise ValueError("no candidates to select from")
        keys = [_vote_key(t) for t in candidates]
        votes = Counter(k for k in keys if k is not None)
        if not votes:
            return 0
        top = max(votes.values())
        for index, key in enumerate(keys):
            if key is not None and votes[key] == top:
                return index
        raise AssertionError("unreachable: a key with the top count exists")


def best_at_k(tasks: Iterable[Sequence[Trajectory]], k: int, selector: Selector) -> float:
    """Mean over tasks of the success of the selector's pick among each task's first k samples."""
    picks: list[bool] = []
    for samples in tasks:
        if len(samples) < k:
            raise ValueError(f"best@{k} needs at least {k} samples per task (a task has {len(samples)})")
        candidates = list(samples)[:k]
        picks.append(candidates[selector.select(candidates)].success)
    return sum(picks) / len(picks) if picks else 0.0


# --------------------------------------------------------------------------------------------
# The serialised result


class GroupMetrics(BaseModel):
    """Success numbers of one group of episodes (all, a dataset, or dataset/category)."""

    name: str
    episodes: int  # every episode, infrastructure failures included
    scored: int  # episodes that count toward success (see module docstring)
    successes: int
    success_rate: float
    ci_low: float
    ci_high: float
    tasks: int  # distinct sample ids with at least one scored episode
    # k -> value; k = 1..K where K is the run's smallest number of scored samples per task
    pass_at_k: dict[int, float] = Field(default_factory=dict)
    best_at_k: dict[int, float] = Field(default_factory=dict)
    mean_turns: float = 0.0
    by_status: dict[str, int] = Field(default_factory=dict)
    infra_by_kind: dict[str, int] = Field(default_factory=dict)
    # Over the group's yes/no answers (sub-answers of sequential samples included): the mean of
    # the per-class recalls, so always answering one class scores 0.5 however skewed the classes.
    # None when the group has no yes/no answer.
    balanced_accuracy: float | None = None
    yes_no_answers: int = 0


class TokenStats(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    mean_prompt_tokens: float = 0.0
    mean_completion_tokens: float = 0.0
    mean_total_tokens: float = 0.0
    # None when the policy gave no prices (PolicyInfo.prices, USD per 1M tokens)
    cost_usd: float | None = None
    mean_cost_usd: float | None = None


class FailureStats(BaseModel):
    """Everything that went wrong, as counts and rates (a rate's denominator is named beside it)."""

    episodes: int = 0
    steps: int = 0
    parse_error_steps: int = 0
    parse_error_step_rate: float = 0.0  # of steps
    parse_error_episodes: int = 0
    parse_error_rate: float = 0.0  # of episodes
    timeout_episodes: int = 0
    timeout_rate: float = 0.0
    max_turns_episodes: int = 0
    max_turns_rate: float = 0.0
    infra_episodes: int = 0
    infra_rate: float = 0.0
    infra_by_kind: dict[str, int] = Field(default_factory=dict)
    exec_timeout_steps: int = 0  # code executions that hit the sandbox's time limit
    not_submitted: int = 0
    api_retries_by_kind: dict[str, int] = Field(default_factory=dict)
    api_retries: int = 0
    episodes_with_retries: int = 0


class RunMetrics(BaseModel):
    """All numbers of one run; written as ``metrics.json`` beside the HTML report."""

    run_id: str | None = None
    label: str = ""
    policy: str = ""
    model: str | None = None
    selector: str = MajorityVote.name
    count_infra_as_failure: bool = False
    episodes: int = 0
    episodes_planned: int | None = None
    tasks: int = 0
    samples_per_task: int = 0  # K: the smallest number of scored samples of any scored task
    max_samples_per_task: int = 0
    overall: GroupMetrics
    datasets: list[GroupMetrics] = Field(default_factory=list)
    categories: list[GroupMetrics] = Field(default_factory=list)  # named "dataset/category"
    tokens: TokenStats = Field(default_factory=TokenStats)
    failures: FailureStats = Field(default_factory=FailureStats)

    @property
    def k_max(self) -> int:
        return self.samples_per_task

    def dataset(self, name: str) -> GroupMetrics | None:
        return next((g for g in self.datasets if g.name == name), None)


# --------------------------------------------------------------------------------------------
# Computation


def episode_cost(trajectory: Trajectory) -> float | None:
    """USD cost of one episode from the policy's prices per 1M tokens; None when unpriced."""
    prices = trajectory.policy.prices
    if not prices:
        return None
    usage = trajectory.usage
    return (
        usage.prompt_tokens * prices.get("prompt", 0.0) + usage.completion_tokens * prices.get("completion", 0.0)
    ) / 1_000_000


def _is_scored(trajectory: Trajectory, count_infra_as_failure: bool) -> bool:
    return count_infra_as_failure or trajectory.status != "infra_error"


def _by_task(trajectories: Iterable[Trajectory]) -> dict[str, list[Trajectory]]:
    tasks: dict[str, list[Trajectory]] = defaultdict(list)
    for trajectory in trajectories:
        tasks[trajectory.sample_id].append(trajectory)
    for samples in tasks.values():
        samples.sort(key=lambda t: t.epoch)
    return dict(tasks)


def _group(
    name: str,
    trajectories: Sequence[Trajectory],
    ks: Sequence[int],
    selector: Selector,
    count_infra_as_failure: bool,
) -> GroupMetrics:
    scored = [t for t in trajectories if _is_scored(t, count_infra_as_failure)]
    successes = sum(t.success for t in scored)
    tasks = _by_task(scored)
    counts = [(len(s), sum(t.success for t in s)) for s in tasks.values()]
    low, high = wilson_interval(successes, len(scored))
    infra = Counter(t.failure or "unknown" for t in trajectories if t.status == "infra_error")
    balanced, yes_no = _balanced_accuracy(scored)
    return GroupMetrics(
        name=name,
        episodes=len(trajectories),
        scored=len(scored),
        successes=successes,
        success_rate=successes / len(scored) if scored else 0.0,
        ci_low=low,
        ci_high=high,
        tasks=len(tasks),
        pass_at_k={k: pass_at_k_over_tasks(counts, k) for k in ks},
        best_at_k={k: best_at_k(tasks.values(), k, selector) for k in ks},
        mean_turns=sum(len(t.steps) for t in trajectories) / len(trajectories) if trajectories else 0.0,
        by_status=dict(sorted(Counter(t.status for t in trajectories).items())),
        infra_by_kind=dict(sorted(infra.items())),
        balanced_accuracy=balanced,
        yes_no_answers=yes_no,
    )


def _balanced_accuracy(trajectories: Sequence[Trajectory]) -> tuple[float | None, int]:
    """(balanced accuracy, number of yes/no answers) over the graded yes/no answers."""
    per_class: dict[str, list[bool]] = defaultdict(list)
    for trajectory in trajectories:
        score = trajectory.score
        if score is None:
            continue
        for part in score.parts or (score,):
            if part.gold_class is not None:
                per_class[part.gold_class].append(part.correct)
    n = sum(len(v) for v in per_class.values())
    if not n:
        return None, 0
    return sum(sum(v) / len(v) for v in per_class.values()) / len(per_class), n


def _rate(count: int, total: int) -> float:
    return count / total if total else 0.0


def _tokens(trajectories: Sequence[Trajectory]) -> TokenStats:
    n = len(trajectories)
    prompt = sum(t.usage.prompt_tokens for t in trajectories)
    completion = sum(t.usage.completion_tokens for t in trajectories)
    costs = [episode_cost(t) for t in trajectories]
    priced = [c for c in costs if c is not None]
    cost = sum(priced) if priced else None
    return TokenStats(
        prompt_tokens=prompt,
        completion_tokens=completion,
        mean_prompt_tokens=_rate(prompt, n),
        mean_completion_tokens=_rate(completion, n),
        mean_total_tokens=_rate(prompt + completion, n),
        cost_usd=cost,
        mean_cost_usd=cost / n if cost is not None and n else None,
    )


def _failures(trajectories: Sequence[Trajectory]) -> FailureStats:
    n = len(trajectories)
    status = Counter(t.status for t in trajectories)
    steps = [s for t in trajectories for s in t.steps]
    parse_steps = sum(s.parse_error is not None for s in steps)
    retries: Counter[str] = Counter()
    for t in trajectories:
        retries.update(t.api_retries)
    infra = Counter(t.failure or "unknown" for t in trajectories if t.status == "infra_error")
    return FailureStats(
        episodes=n,
        steps=len(steps),
        parse_error_steps=parse_steps,
        parse_error_step_rate=_rate(parse_steps, len(steps)),
        parse_error_episodes=status["parse_error"],
        parse_error_rate=_rate(status["parse_error"], n),
        timeout_episodes=status["timeout"],
        timeout_rate=_rate(status["timeout"], n),
        max_turns_episodes=status["max_turns"],
        max_turns_rate=_rate(status["max_turns"], n),
        infra_episodes=status["infra_error"],
        infra_rate=_rate(status["infra_error"], n),
        infra_by_kind=dict(sorted(infra.items())),
        exec_timeout_steps=sum(s.execution is not None and s.execution.timed_out for s in steps),
        not_submitted=sum(not t.submitted for t in trajectories),
        api_retries_by_kind=dict(sorted(retries.items())),
        api_retries=sum(retries.values()),
        episodes_with_retries=sum(any(v > 0 for v in t.api_retries.values()) for t in trajectories),
    )


def compute_metrics(
    trajectories: Sequence[Trajectory],
    *,
    run_id: str | None = None,
    label: str | None = None,
    episodes_planned: int | None = None,
    selector: Selector | None = None,
    count_infra_as_failure: bool = False,
) -> RunMetrics:
    """Every metric of one run from its trajectories (one per (sample id, epoch))."""
    selector = selector or MajorityVote()
    trajectories = list(trajectories)
    scored_tasks = _by_task(t for t in trajectories if _is_scored(t, count_infra_as_failure))
    sizes = [len(s) for s in scored_tasks.values()]
    k_max = min(sizes) if sizes else 0
    ks = list(range(1, k_max + 1))
    first = trajectories[0].policy if trajectories else None
    policy = first.name if first else ""
    model = first.model if first else None

    def groups(key: Callable[[Trajectory], str]) -> list[GroupMetrics]:
        grouped: dict[str, list[Trajectory]] = defaultdict(list)
        for trajectory in trajectories:
            grouped[key(trajectory)].append(trajectory)
        return [
            _group(name, members, ks, selector, count_infra_as_failure) for name, members in sorted(grouped.items())
        ]

    return RunMetrics(
        run_id=run_id if run_id is not None else (trajectories[0].run_id if trajectories else None),
        label=label or (f"{policy}:{model}" if model else policy),
        policy=policy,
        model=model,
        selector=selector.name,
        count_infra_as_failure=count_infra_as_failure,
        episodes=len(trajectories),
        episodes_planned=episodes_planned,
        tasks=len({t.sample_id for t in trajectories}),
        samples_per_task=k_max,
        max_samples_per_task=max(sizes) if sizes else 0,
        overall=_group("all", trajectories, ks, selector, count_infra_as_failure),
        datasets=groups(lambda t: t.dataset),
        categories=groups(lambda t: f"{t.dataset}/{t.category}"),
        tokens=_tokens(trajectories),
        failures=_failures(trajectories),
    )
