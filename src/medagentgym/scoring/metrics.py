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
  submitted answers; a trained verifier can be plugged in with the same protocol, and several
  selectors can be compared in one pass (``best_at_k_by``: selector name -> k -> value).
- Intervals for pass@k and best@k are a percentile bootstrap over tasks (tasks, not episodes, are
  the independent units: the K samples of one task are correlated). One seeded matrix of task
  resamples is shared by every k and selector of a group, so the numbers are reproducible and the
  curves of one chart move together. An interval is widened to include its point estimate where
  floating point or a degenerate resample would leave it just outside.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "best_at_k",
    "bootstrap_mean_intervals",
    "compute_metrics",
    "episode_cost",
    "pass_at_k",
    "pass_at_k_over_tasks",
    "SampleOverlap",
    "sample_overlap",
    "wilson_interval",
]


# --------------------------------------------------------------------------------------------
# Estimators


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (sound at 0% and 100%, unlike Wald).

    Computed by scipy (``binomtest(...).proportion_ci(method="wilson")``) rather than by hand.
    scipy takes a confidence level, not a z; the level whose two-sided normal quantile is ``z``
    is passed, so z = 1.96 (the value reports always used) gives the same bounds as before to
    floating-point rounding (tests hold it to 1e-9), not those of z = 1.95996...
    """
    if n == 0:
        return (0.0, 0.0)
    from scipy.stats import binomtest, norm

    level = 2 * float(norm.cdf(z)) - 1
    interval = binomtest(successes, n).proportion_ci(confidence_level=level, method="wilson")
    return (max(0.0, float(interval.low)), min(1.0, float(interval.high)))


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
    # Vote keys of the episodes handed to ``prepare`` (by object identity; the episode is kept
    # alive beside its key so an id cannot be reused). best@k asks about the same episodes for
    # every k and every group: without this, parsing answers dominated the metrics of large runs.
    _keys: dict[int, tuple[Trajectory, str | None]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def prepare(self, trajectories: Sequence[Trajectory]) -> None:
        """Parse every candidate's answer once; replaces what an earlier call prepared."""
        self._keys.clear()
        self._keys.update((id(t), (t, _vote_key(t))) for t in trajectories)

    def _key(self, trajectory: Trajectory) -> str | None:
        hit = self._keys.get(id(trajectory))
        return hit[1] if hit is not None and hit[0] is trajectory else _vote_key(trajectory)

    def select(self, candidates: Sequence[Trajectory]) -> int:
        if not candidates:
            raise ValueError("no candidates to select from")
        keys = [self._key(t) for t in candidates]
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


def _picks(tasks: Sequence[Sequence[Trajectory]], k: int, selector: Selector) -> list[float]:
    """1.0 / 0.0 per task: was the selector's pick among the first k samples a success."""
    out = []
    for samples in tasks:
        candidates = list(samples)[:k]
        out.append(1.0 if candidates[selector.select(candidates)].success else 0.0)
    return out


# --------------------------------------------------------------------------------------------
# Bootstrap intervals over tasks

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20_240_617
_CHUNK = 256  # resamples drawn at once: bounds memory at 5,000+ tasks


def bootstrap_mean_intervals(
    columns: Sequence[Sequence[float]],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> list[tuple[float, float]]:
    """Percentile-bootstrap intervals of the mean of each column (one value per task in each).

    All columns are resampled with the same task indices (a paired bootstrap), drawn from a
    generator seeded with ``seed``, so the result is a pure function of the inputs. Each resample
    becomes a vector of counts per task and every column's resampled mean is one matrix product,
    which keeps 5,000 tasks x 48 columns x 2,000 resamples well under a second.
    """
    import numpy as np

    if not columns:
        return []
    values = np.asarray(columns, dtype=np.float64).T  # tasks x columns
    n_tasks = values.shape[0]
    points = values.mean(axis=0) if n_tasks else np.zeros(values.shape[1])
    if n_tasks <= 1 or resamples <= 0:
        return [(float(p), float(p)) for p in points]
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, values.shape[1]))
    for start in range(0, resamples, _CHUNK):
        rows = min(_CHUNK, resamples - start)
        drawn = rng.integers(0, n_tasks, size=(rows, n_tasks))
        offsets = (np.arange(rows) * n_tasks)[:, None]
        counts = np.bincount((drawn + offsets).ravel(), minlength=rows * n_tasks).reshape(rows, n_tasks)
        means[start : start + rows] = counts.astype(np.float64) @ values / n_tasks  # BLAS, not the int loop
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail], axis=0)
    return [
        (float(min(lo, p)), float(max(hi, p))) for lo, hi, p in zip(low, high, points)
    ]


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
    best_at_k: dict[int, float] = Field(default_factory=dict)  # by the run's first selector
    # selector name -> k -> best@k, for every selector the metrics were computed with
    best_at_k_by: dict[str, dict[int, float]] = Field(default_factory=dict)
    # 95% bootstrap intervals over tasks: k -> [low, high] (empty in metrics written before them)
    pass_at_k_ci: dict[int, list[float]] = Field(default_factory=dict)
    best_at_k_ci_by: dict[str, dict[int, list[float]]] = Field(default_factory=dict)
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
    selector: str = MajorityVote.name  # the first selector: the one ``best_at_k`` reports
    selectors: list[str] = Field(default_factory=list)  # every selector of ``best_at_k_by``, in order
    bootstrap_resamples: int = 0
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

    @property
    def failed(self) -> bool:
        """True when the run has episodes and every one ended ``infra_error``: it measured nothing
        about the model, so reports show it as failed (with the failure kinds), never as 0%."""
        return self.episodes > 0 and self.overall.scored == 0 and self.failures.infra_episodes == self.episodes

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
    selectors: Sequence[Selector],
    count_infra_as_failure: bool,
    resamples: int,
) -> GroupMetrics:
    scored = [t for t in trajectories if _is_scored(t, count_infra_as_failure)]
    successes = sum(t.success for t in scored)
    tasks = _by_task(scored)
    samples = list(tasks.values())
    counts = [(len(s), sum(t.success for t in s)) for s in samples]
    low, high = wilson_interval(successes, len(scored))
    infra = Counter(t.failure or "unknown" for t in trajectories if t.status == "infra_error")
    balanced, yes_no = _balanced_accuracy(scored)
    # One value per task and (measure, k): pass@k per task, and each selector's 0/1 pick.
    columns: list[list[float]] = []
    pass_values: dict[int, float] = {}
    for k in ks:
        exact = [pass_at_k(n, c, k) for n, c in counts]  # the same sum as pass_at_k_over_tasks
        columns.append([float(v) for v in exact])
        pass_values[k] = float(sum(exact, Fraction(0)) / len(exact)) if exact else 0.0
    best_by: dict[str, dict[int, float]] = {}
    for selector in selectors:
        best_by[selector.name] = {}
        for k in ks:
            picks = _picks(samples, k, selector)
            columns.append(picks)
            best_by[selector.name][k] = sum(picks) / len(picks) if picks else 0.0
    intervals = iter(bootstrap_mean_intervals(columns, resamples=resamples) if samples else [])
    pass_ci = {k: list(next(intervals)) for k in ks} if samples else {}
    best_ci = {s.name: {k: list(next(intervals)) for k in ks} for s in selectors} if samples else {}
    return GroupMetrics(
        name=name,
        episodes=len(trajectories),
        scored=len(scored),
        successes=successes,
        success_rate=successes / len(scored) if scored else 0.0,
        ci_low=low,
        ci_high=high,
        tasks=len(tasks),
        pass_at_k=pass_values,
        best_at_k=dict(best_by[selectors[0].name]),
        best_at_k_by=best_by,
        pass_at_k_ci=pass_ci,
        best_at_k_ci_by=best_ci,
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


def _selectors(selector: Selector | None, selectors: Sequence[Selector] | None) -> list[Selector]:
    if selector is not None and selectors is not None:
        raise ValueError("pass either selector or selectors, not both")
    chosen = list(selectors) if selectors is not None else [selector or MajorityVote()]
    if not chosen:
        raise ValueError("selectors is empty: best@k needs at least one selector")
    names = [s.name for s in chosen]
    if len(set(names)) != len(names):
        raise ValueError(f"selector names must be distinct (got {names})")
    return chosen


def compute_metrics(
    trajectories: Sequence[Trajectory],
    *,
    run_id: str | None = None,
    label: str | None = None,
    episodes_planned: int | None = None,
    selector: Selector | None = None,
    selectors: Sequence[Selector] | None = None,
    count_infra_as_failure: bool = False,
    bootstrap_resamples: int = BOOTSTRAP_RESAMPLES,
) -> RunMetrics:
    """Every metric of one run from its trajectories (one per (sample id, epoch)).

    ``selectors`` (default: a majority vote) each give best@k; the first is the one ``best_at_k``
    and ``RunMetrics.selector`` report. ``selector`` is the older one-selector form of the same.
    A selector with a ``prepare(trajectories)`` method is handed every candidate once first, so a
    model-based one can score them in batches instead of one task at a time.
    """
    chosen = _selectors(selector, selectors)
    trajectories = list(trajectories)
    scored_tasks = _by_task(t for t in trajectories if _is_scored(t, count_infra_as_failure))
    sizes = [len(s) for s in scored_tasks.values()]
    k_max = min(sizes) if sizes else 0
    ks = list(range(1, k_max + 1))
    candidates = [t for samples in scored_tasks.values() for t in samples[:k_max]]
    for each in chosen:
        prepare = getattr(each, "prepare", None)
        if callable(prepare) and candidates:
            prepare(candidates)
    first = trajectories[0].policy if trajectories else None
    policy = first.name if first else ""
    model = first.model if first else None

    def group(name: str, members: Sequence[Trajectory]) -> GroupMetrics:
        return _group(name, members, ks, chosen, count_infra_as_failure, bootstrap_resamples)

    def groups(key: Callable[[Trajectory], str]) -> list[GroupMetrics]:
        grouped: dict[str, list[Trajectory]] = defaultdict(list)
        for trajectory in trajectories:
            grouped[key(trajectory)].append(trajectory)
        return [group(name, members) for name, members in sorted(grouped.items())]

    return RunMetrics(
        run_id=run_id if run_id is not None else (trajectories[0].run_id if trajectories else None),
        label=label or (f"{policy}:{model}" if model else policy),
        policy=policy,
        model=model,
        selector=chosen[0].name,
        selectors=[s.name for s in chosen],
        bootstrap_resamples=bootstrap_resamples,
        count_infra_as_failure=count_infra_as_failure,
        episodes=len(trajectories),
        episodes_planned=episodes_planned,
        tasks=len({t.sample_id for t in trajectories}),
        samples_per_task=k_max,
        max_samples_per_task=max(sizes) if sizes else 0,
        overall=group("all", trajectories),
        datasets=groups(lambda t: t.dataset),
        categories=groups(lambda t: f"{t.dataset}/{t.category}"),
        tokens=_tokens(trajectories),
        failures=_failures(trajectories),
    )


# --------------------------------------------------------------------------------------------
# Comparing runs


class SampleOverlap(BaseModel):
    """Which samples several runs share: a leaderboard ranks runs on ``common`` when their sample
    sets differ, since a run over easier tasks would otherwise look better for no reason."""

    common: list[str] = Field(default_factory=list)  # sorted sample ids in every compared run
    per_run: list[int] = Field(default_factory=list)  # distinct sample ids of each run, in order
    compared: list[bool] = Field(default_factory=list)  # run took part (it has a scored episode)

    @property
    def identical(self) -> bool:
        """Every compared run holds exactly the common samples (nothing to warn about)."""
        return all(n == len(self.common) for n, c in zip(self.per_run, self.compared) if c)


def sample_overlap(runs: Sequence[Sequence[Trajectory]], count_infra_as_failure: bool = False) -> SampleOverlap:
    """The samples common to every run that scored something, and each run's number of samples.

    A run with no scored episode (all infrastructure failures, or none yet) is left out of the
    intersection: it has no number to compare, and counting it would shrink the common set to
    whatever it happened to attempt.
    """
    sets = [{t.sample_id for t in run} for run in runs]
    compared = [any(_is_scored(t, count_infra_as_failure) for t in run) for run in runs]
    chosen = [s for s, c in zip(sets, compared) if c]
    common = set.intersection(*chosen) if chosen else set()
    return SampleOverlap(common=sorted(common), per_run=[len(s) for s in sets], compared=compared)

