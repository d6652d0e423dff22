"""Terminal report of one run, or a leaderboard of several.

One run: an overall line, then success by dataset and by category (Wilson 95% interval, pass@1 and
pass@K, mean turns, what went wrong), then pass@k beside best@k of every selector (majority vote,
and a trained verifier when one is given) over k with bootstrap 95% intervals over tasks: the
inference-time scaling table. Several runs: a leaderboard, one row per run, the same pass@K /
best@K comparison at each run's K, then success per dataset side by side. Tables are laid out for 120 columns: numbers never wrap, names fold.

Two rules keep a report from misleading. A run whose episodes all ended ``infra_error`` measured
nothing: it is shown as FAILED with its failure kinds and first error, never as 0%. Runs over
different samples are ranked on the samples common to all of them (``LoadedRun.common``), and the
overlap (n common / n in each run) is printed above the leaderboard.

Names, labels and paths come from run folders (policies name themselves, samples files name
their datasets), so they are printed with rich markup escaped: "[/]" in a label is text, never a
markup error. Lines of a run that could not be read are listed as warnings, not skipped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medagentgym.runs.schema import Trajectory
from medagentgym.runs.store import RunManifest, load_manifest, load_run
from medagentgym.scoring.metrics import (
    GroupMetrics,
    RunMetrics,
    SampleOverlap,
    Selector,
    compute_metrics,
    sample_overlap,
)
from medagentgym.untrusted import clean_text

__all__ = [
    "LoadedRun",
    "best_values",
    "failure_line",
    "load_runs",
    "print_report",
    "ranked",
    "run_label",
    "scaling_rows",
    "selector_names",
    "with_ci",
]


@dataclass
class LoadedRun:
    """A run folder read back: its manifest, its episodes (one per key) and their metrics."""

    run_dir: Path
    manifest: RunManifest
    trajectories: list[Trajectory]
    metrics: RunMetrics
    # Lines of trajectories.jsonl that could not be read (file, line number, why).
    problems: list[str] = field(default_factory=list)
    # With several runs over different samples: the samples all of them share, and this run's
    # metrics over only those (None when every run holds the same samples, or for one run).
    overlap: SampleOverlap | None = None
    common: RunMetrics | None = None

    @property
    def ranked_metrics(self) -> RunMetrics:
        """The numbers a leaderboard compares: over the common samples when there are such."""
        return self.common or self.metrics


def run_label(manifest: RunManifest) -> str:
    """policy, or policy:model when the policy names a model."""
    name = str(manifest.policy.get("name") or "?")
    model = manifest.policy.get("model")
    return f"{name}:{model}" if model else name


def load_runs(run_dirs: Sequence[Path] | Path, *, selectors: Sequence[Selector] | None = None) -> list[LoadedRun]:
    """Read run folders and compute their metrics; FileNotFoundError if one is not a run,
    ManifestError if its manifest is corrupt. ``selectors`` give best@k (default: majority vote).

    Several runs over different samples also get ``overlap`` and ``common``: each run's metrics
    over the samples every compared run holds."""
    dirs = [Path(run_dirs)] if isinstance(run_dirs, (str, Path)) else [Path(d) for d in run_dirs]
    loaded = []
    for run_dir in dirs:
        manifest = load_manifest(run_dir)
        problems: list[str] = []
        trajectories = load_run(run_dir, problems)
        metrics = compute_metrics(
            trajectories,
            run_id=manifest.run_id,
            label=run_label(manifest),
            episodes_planned=manifest.episodes_planned,
            selectors=selectors,
        )
        loaded.append(LoadedRun(run_dir, manifest, trajectories, metrics, problems))
    if len(loaded) > 1:
        overlap = sample_overlap([run.trajectories for run in loaded])
        for run, compared in zip(loaded, overlap.compared):
            run.overlap = overlap
            if compared and not overlap.identical and overlap.common:
                shared = set(overlap.common)
                run.common = compute_metrics(
                    [t for t in run.trajectories if t.sample_id in shared],
                    run_id=run.manifest.run_id,
                    label=run.metrics.label,
                    episodes_planned=None,
                    selectors=selectors,
                )
    return loaded


def ranked(runs: Sequence[LoadedRun]) -> list[int]:
    """Indexes of ``runs``, best success first (on the common samples), failed runs last."""
    def key(i: int) -> tuple[int, float, int]:
        m = runs[i].ranked_metrics
        return (1 if runs[i].metrics.failed or not m.overall.scored else 0, -m.overall.success_rate, i)

    return sorted(range(len(runs)), key=key)


def failure_line(metrics: RunMetrics, trajectories: Sequence[Trajectory]) -> str:
    """Why a failed run failed, in one line: the failure kinds and the first error recorded."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in metrics.failures.infra_by_kind.items()) or "unknown"
    first = next((t.error for t in trajectories if t.status == "infra_error" and t.error), None)
    line = f"all {metrics.episodes} episodes ended infra_error ({kinds}); nothing was scored"
    if first:
        text = " ".join(clean_text(first).split())
        line += f"; first error: {text[:200]}" + ("…" if len(text) > 200 else "")
    return line


def overlap_line(runs: Sequence[LoadedRun]) -> str | None:
    """A warning when the compared runs hold different samples (None when they agree)."""
    overlap = runs[0].overlap if runs else None
    if overlap is None or overlap.identical:
        return None
    counts = ", ".join(
        f"#{i} {n}" + ("" if compared else " (not compared)")
        for i, (n, compared) in enumerate(zip(overlap.per_run, overlap.compared), 1)
    )
    if not overlap.common:
        return f"the runs share no sample (samples per run: {counts}); their numbers are not comparable"
    return (
        f"the runs cover different samples: ranked on the {len(overlap.common)} samples common to all "
        f"(samples per run: {counts})"
    )


# ------------------------------------------------------------------------------------------------
# Cell formatting


def pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def ci(group: GroupMetrics) -> str:
    if not group.scored:
        return "-"
    return f"{100 * group.ci_low:.0f}-{100 * group.ci_high:.0f}%"


def _at(values: dict[int, float], k: int) -> str:
    return pct(values[k]) if k in values else "-"


def with_ci(values: dict[int, float], intervals: dict[int, list[float]], k: int) -> str:
    """"41.7% (38-45)": a value at k and its 95% interval in whole percent, when there is one."""
    if k not in values:
        return "-"
    bounds = intervals.get(k)
    if not bounds:
        return pct(values[k])
    return f"{pct(values[k])} ({100 * bounds[0]:.0f}-{100 * bounds[1]:.0f})"


def selector_names(metrics: RunMetrics) -> list[str]:
    """The selectors of a run's best@k, first one first (older metrics name only ``selector``)."""
    return metrics.selectors or [metrics.selector]


def best_values(group: GroupMetrics, name: str, first: bool) -> dict[int, float]:
    """best@k by k of one selector; ``first``: the run's first selector, whose values older
    metrics files hold only in ``best_at_k``."""
    return group.best_at_k_by.get(name) or (group.best_at_k if first else {})


def scaling_rows(metrics: RunMetrics, ks: Sequence[int] | None = None) -> list[list[str]]:
    """Rows of the scaling table: k, pass@k (CI), then best@k (CI) of each selector in order."""
    o = metrics.overall
    names = selector_names(metrics)
    rows = []
    for k in ks if ks is not None else sorted(o.pass_at_k):
        row = [str(k), with_ci(o.pass_at_k, o.pass_at_k_ci, k)]
        for index, name in enumerate(names):
            row.append(with_ci(best_values(o, name, index == 0), o.best_at_k_ci_by.get(name, {}), k))
        rows.append(row)
    return rows


def _problems(group: GroupMetrics) -> str:
    """Non-ok statuses with counts; infrastructure failures by kind."""
    parts = [f"{status} {n}" for status, n in group.by_status.items() if status not in ("ok", "infra_error") and n]
    parts += [f"infra:{kind} {n}" for kind, n in group.infra_by_kind.items()]
    return ", ".join(parts) or "-"


def tokens_cell(metrics: RunMetrics) -> str:
    mean = metrics.tokens.mean_total_tokens
    if not mean:
        return "-"
    return f"{mean / 1000:.1f}k" if mean >= 10_000 else f"{mean:.0f}"


def cost_cell(metrics: RunMetrics) -> str:
    cost = metrics.tokens.cost_usd
    if cost is None:
        return "-"
    return f"${cost:.2f}" if cost >= 1 else f"${cost:.4f}"


def _failure_rates(metrics: RunMetrics) -> str:
    f = metrics.failures
    parts = [
        (f"parse {pct(f.parse_error_step_rate, 0)} of steps" if f.parse_error_steps else ""),
        (f"parse-end {pct(f.parse_error_rate, 0)}" if f.parse_error_episodes else ""),
        (f"timeout {pct(f.timeout_rate, 0)}" if f.timeout_episodes else ""),
        (f"max-turns {pct(f.max_turns_rate, 0)}" if f.max_turns_episodes else ""),
        (f"infra {pct(f.infra_rate, 0)}" if f.infra_episodes else ""),
        (f"retries {f.api_retries}" if f.api_retries else ""),
    ]
    return ", ".join(p for p in parts if p) or "-"


def _numeric(table: Table, *names: str) -> None:
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)


# ------------------------------------------------------------------------------------------------
# One run


def _name_width(names: Sequence[str], cap: int) -> int:
    """A name column wide enough for the longest name (up to ``cap``), so names rarely fold."""
    return min(max((len(n) for n in names), default=8), cap)


def _group_table(title: str, groups: Sequence[GroupMetrics], k_max: int) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("group", overflow="fold", min_width=_name_width([g.name for g in groups], 48))
    _numeric(table, "episodes", "success", "95% CI")
    balanced = any(g.balanced_accuracy is not None for g in groups)
    if balanced:  # yes/no questions: a constant answer's balanced accuracy is 50%
        _numeric(table, "bal. acc.")
    _numeric(table, "pass@1")
    if k_max > 1:
        _numeric(table, f"pass@{k_max}")
    _numeric(table, "turns")
    table.add_column("problems", overflow="fold", min_width=12)
    for group in groups:
        row = [escape(group.name), str(group.episodes), pct(group.success_rate), ci(group)]
        if balanced:
            row.append("-" if group.balanced_accuracy is None else pct(group.balanced_accuracy))
        row.append(_at(group.pass_at_k, 1))
        if k_max > 1:
            row.append(_at(group.pass_at_k, k_max))
        row += [f"{group.mean_turns:.1f}", escape(_problems(group))]
        table.add_row(*row)
    return table


def _print_one(run: LoadedRun, console: Console) -> None:
    m = run.metrics
    planned = f" of {m.episodes_planned} planned" if m.episodes_planned else ""
    console.print(
        f"run [bold]{escape(m.run_id)}[/] ({escape(clean_text(str(run.run_dir)))}): policy [bold]{escape(m.label)}[/], "
        f"{m.episodes}{planned} episodes over {m.tasks} tasks (K={m.samples_per_task} per task)"
    )
    if m.failed:
        console.print(f"[bold red]FAILED[/]: {escape(failure_line(m, run.trajectories))}")
        return
    if not m.episodes:
        console.print("no episode has finished yet")
        return
    o = m.overall
    k = m.samples_per_task
    bests = ", ".join(
        f"best@{k} ({name}) {with_ci(best_values(o, name, i == 0), o.best_at_k_ci_by.get(name, {}), k)}"
        for i, name in enumerate(selector_names(m))
    )
    summary = (
        f"success {pct(o.success_rate)} (95% CI {ci(o)}, {o.successes}/{o.scored} scored)"
        + (f", pass@{k} {with_ci(o.pass_at_k, o.pass_at_k_ci, k)}, {bests}" if k > 1 else "")
        + f", mean turns {o.mean_turns:.1f}"
    )
    console.print(summary)
    if m.max_samples_per_task > k:
        console.print(
            f"[yellow]note[/]: some tasks have fewer scored samples ({k}) than others ({m.max_samples_per_task}), "
            f"so pass@k and best@k stop at k={k}; resuming the run retries infrastructure failures"
        )
    t = m.tokens
    console.print(
        f"tokens per episode {t.mean_prompt_tokens:.0f} prompt + {t.mean_completion_tokens:.0f} completion "
        f"({t.prompt_tokens + t.completion_tokens} in all), cost {cost_cell(m)}; problems: {_failure_rates(m)}"
    )
    f = m.failures
    if f.infra_by_kind or f.api_retries_by_kind:
        kinds = ", ".join(f"{kind} {n}" for kind, n in f.infra_by_kind.items()) or "-"
        retries = ", ".join(f"{kind} {n}" for kind, n in f.api_retries_by_kind.items()) or "-"
        console.print(
            f"infrastructure failures (not scored): {escape(kinds)}; absorbed API retries: {escape(retries)} "
            f"in {f.episodes_with_retries} episodes"
        )
    console.print(_group_table("Success by dataset", m.datasets, k))
    console.print(_group_table("Success by category", m.categories, k))
    if k > 1:
        console.print(_scaling_table(m))


def _scaling_table(m: RunMetrics) -> Table:
    table = Table(
        title="pass@k and best@k over k (95% bootstrap interval over tasks)", box=box.SIMPLE_HEAD, title_justify="left"
    )
    _numeric(table, "k", "pass@k")
    for name in selector_names(m):
        table.add_column(f"best@k ({escape(name)})", justify="right", no_wrap=True)
    for row in scaling_rows(m):
        table.add_row(*row)
    return table


# ------------------------------------------------------------------------------------------------
# Several runs


def _not_ok_rate(metrics: RunMetrics) -> str:
    """Share of episodes that did not end with a submission the env accepted (status other than ok)."""
    o = metrics.overall
    not_ok = sum(n for status, n in o.by_status.items() if status != "ok")
    return pct(not_ok / o.episodes if o.episodes else None, 0)


def _leaderboard(runs: Sequence[LoadedRun]) -> Table:
    overlap = runs[0].overlap if runs else None
    differ = overlap is not None and not overlap.identical and bool(overlap.common)
    title = "Leaderboard (best success first" + (", on the common samples)" if differ else ")")
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    _numeric(table, "#")
    table.add_column("run", overflow="fold", min_width=_name_width([r.metrics.label for r in runs], 14 if differ else 24))
    _numeric(table, "eps", "K", "success", "95% CI")
    if differ:
        _numeric(table, "common", "all")
    _numeric(table, "pass@K", "best@K", "turns")
    # Token and cost columns only where some run recorded them: room for the ones that matter.
    tokens = any(r.metrics.tokens.mean_total_tokens for r in runs)
    costs = any(r.metrics.tokens.cost_usd is not None for r in runs)
    _numeric(table, *(["tok/ep"] if tokens else []), *(["cost"] if costs else []), "not ok")
    for i in ranked(runs):
        run = runs[i]
        m = run.ranked_metrics
        o, k = m.overall, m.samples_per_task
        if run.metrics.failed:
            cells = ["FAILED", "-"] + (["-", "-"] if differ else []) + ["-", "-", "-"]
        else:
            cells = [pct(o.success_rate), ci(o)]
            if differ:
                n_common = len(overlap.common) if overlap and overlap.compared[i] else 0
                cells += [f"{n_common}/{overlap.per_run[i]}" if overlap else "-", pct(run.metrics.overall.success_rate)]
            cells += [_at(o.pass_at_k, k), _at(o.best_at_k, k), f"{o.mean_turns:.1f}"]
        table.add_row(
            str(i + 1),
            escape(run.metrics.label),
            str(run.metrics.episodes),
            str(k) if not run.metrics.failed else "-",
            *cells,
            *([tokens_cell(run.metrics)] if tokens else []),
            *([cost_cell(run.metrics)] if costs else []),
            _not_ok_rate(run.metrics),
        )
    return table


def _scaling_comparison(runs: Sequence[LoadedRun]) -> Table:
    """pass@K beside best@K of every selector, at each run's K, with bootstrap intervals."""
    names: list[str] = []
    for run in runs:
        names += [n for n in selector_names(run.metrics) if n not in names]
    table = Table(title="pass@K and best@K (95% bootstrap interval over tasks)", box=box.SIMPLE_HEAD, title_justify="left")
    _numeric(table, "#", "K", "pass@K")
    for name in names:
        table.add_column(f"best@K ({escape(name)})", justify="right", no_wrap=True)
    for index, run in enumerate(runs, 1):
        m, o, k = run.metrics, run.metrics.overall, run.metrics.samples_per_task
        own = selector_names(m)
        cells = [
            with_ci(best_values(o, name, own.index(name) == 0), o.best_at_k_ci_by.get(name, {}), k) if name in own else "-"
            for name in names
        ]
        table.add_row(str(index), str(k), with_ci(o.pass_at_k, o.pass_at_k_ci, k), *cells)
    return table


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items()) or "-"


def _failure_table(runs: Sequence[LoadedRun]) -> Table:
    table = Table(title="What went wrong (rates of episodes unless said)", box=box.SIMPLE_HEAD, title_justify="left")
    _numeric(table, "#", "parse err (steps)", "parse err", "timeout", "max turns", "exec timeouts")
    table.add_column("infra failures (not scored)", overflow="fold", min_width=14)
    table.add_column("API retries absorbed", overflow="fold", min_width=14)
    for index, run in enumerate(runs, 1):
        f = run.metrics.failures
        table.add_row(
            str(index),
            pct(f.parse_error_step_rate),
            pct(f.parse_error_rate),
            pct(f.timeout_rate),
            pct(f.max_turns_rate),
            str(f.exec_timeout_steps),
            escape(f"{pct(f.infra_rate)}: {_kinds(f.infra_by_kind)}") if f.infra_episodes else "-",
            escape(_kinds(f.api_retries_by_kind)),
        )
    return table


def _dataset_comparison(runs: Sequence[LoadedRun]) -> Table:
    names = sorted({g.name for r in runs for g in r.metrics.datasets})
    table = Table(title="Success by dataset (95% CI)", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("dataset", overflow="fold", min_width=10)
    for index, _ in enumerate(runs, 1):
        table.add_column(f"#{index}", justify="right", no_wrap=True)
    for name in names:
        cells = []
        for run in runs:
            group = run.metrics.dataset(name)
            cells.append("-" if group is None or not group.scored else f"{pct(group.success_rate)} {ci(group)}")
        table.add_row(escape(name), *cells)
    return table


def print_report(
    run_dirs: Sequence[Path] | Path,
    console: Console | None = None,
    *,
    selectors: Sequence[Selector] | None = None,
) -> list[RunMetrics]:
    """Print the report of one run (tables) or several (leaderboard); returns their metrics.

    ``selectors`` give best@k side by side (default: majority vote only)."""
    console = console or Console()
    runs = load_runs(run_dirs, selectors=selectors)
    for run in runs:
        for problem in run.problems:
            console.print(f"[yellow]warning[/]: {escape(problem)}")
    if len(runs) == 1:
        _print_one(runs[0], console)
    else:
        for index, run in enumerate(runs, 1):
            console.print(
                f"#{index} {escape(run.metrics.label)}: run {escape(run.metrics.run_id)} ({escape(clean_text(str(run.run_dir)))})"
            )
        warning = overlap_line(runs)
        if warning:
            console.print(f"[bold yellow]warning[/]: {escape(warning)}")
        console.print(_leaderboard(runs))
        for index, run in enumerate(runs, 1):
            if run.metrics.failed:
                console.print(
                    f"#{index} {escape(run.metrics.label)} [bold red]FAILED[/]: {escape(failure_line(run.metrics, run.trajectories))}"
                )
        console.print(_scaling_comparison(runs))
        console.print(_failure_table(runs))
        console.print(_dataset_comparison(runs))
    return [run.metrics for run in runs]
