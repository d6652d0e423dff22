"""Terminal report of a run: success by dataset and by category, with failure kinds."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from medagentgym.runs.schema import EPISODE_STATUSES, Trajectory
from medagentgym.runs.store import load_manifest, load_run
from medagentgym.scoring.metrics import GroupStats, group_stats


def _failures(stats: GroupStats) -> str:
    kinds = [f"{s} {stats.by_status[s]}" for s in EPISODE_STATUSES if s != "ok" and stats.by_status.get(s)]
    return ", ".join(kinds) or "-"


def _table(title: str, groups: dict[str, GroupStats]) -> Table:
    table = Table(title=title)
    table.add_column("group", overflow="fold")
    for name in ("episodes", "success", "95% CI", "turns"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("not submitted", overflow="fold")
    for name, stats in groups.items():
        low, high = stats.interval
        table.add_row(
            name,
            str(stats.episodes),
            f"{100 * stats.success_rate:.1f}%",
            f"{100 * low:.0f}-{100 * high:.0f}%",
            f"{stats.mean_turns:.1f}",
            _failures(stats),
        )
    return table


def summarize(trajectories: list[Trajectory]) -> dict[str, dict[str, GroupStats]]:
    return {
        "overall": group_stats(trajectories, lambda t: "all"),
        "dataset": group_stats(trajectories, lambda t: t.dataset),
        "category": group_stats(trajectories, lambda t: f"{t.dataset}/{t.category}"),
    }


def print_report(run_dir: Path, console: Console | None = None) -> dict[str, dict[str, GroupStats]]:
    console = console or Console()
    manifest = load_manifest(run_dir)
    trajectories = load_run(run_dir)
    console.print(
        f"run [bold]{manifest.run_id}[/] ({run_dir}): policy {manifest.policy.get('name')}, "
        f"{len(trajectories)} of {manifest.episodes_planned} planned episodes"
    )
    summary = summarize(trajectories)
    console.print(_table("Overall", summary["overall"]))
    console.print(_table("Success by dataset", summary["dataset"]))
    console.print(_table("Success by category", summary["category"]))
    return summary
