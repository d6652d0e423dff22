"""``build``: every available task's pool and calibrated bar, in the cache, reused when unchanged;
and the calibration table of docs/ehrshot.md, regenerated from it (``calibration_table``).

Builds live in a folder named by their stamp (world and code), so a changed world or code builds
afresh beside the old one; old folders are left alone (a process may still serve their files) and
can be deleted by hand."""

from __future__ import annotations

import threading

from medagentgym.datasets._prediction import Calibration
from medagentgym.datasets.ehrshot.cohorts import calibrate, load_calibrations, save_calibrations
from medagentgym.datasets.ehrshot.examples import TaskSpec
from medagentgym.datasets.ehrshot.pool import build_pools, pool_path
from medagentgym.datasets.ehrshot.tasks import family_available, load_tasks

_LOCK = threading.Lock()


def available_tasks() -> list[TaskSpec]:
    """Tasks whose family module is installed."""
    return [spec for spec, _ in load_tasks() if family_available(spec.family)]


def ensure_built(tasks: list[TaskSpec] | None = None, *, force: bool = False) -> dict[str, Calibration]:
    """Pools and calibrations of ``tasks`` (default: all available), building what is missing."""
    tasks = available_tasks() if tasks is None else tasks
    with _LOCK:
        build_pools(tasks, force=force)
        rows = {} if force else load_calibrations()
        missing = [t for t in tasks if t.name not in rows or not pool_path(t.name).exists()]
        for task in missing:
            rows[task.name] = calibrate(task)
        if missing:
            save_calibrations({**load_calibrations(), **rows})
        return rows


def calibration_table(tasks: list[TaskSpec] | None = None) -> str:
    """The per-task table of docs/ehrshot.md (markdown), from the built calibration."""
    rows = ensure_built(tasks)
    lines = [
        "| task | kind | prevalence | train | test | baseline AUROC (median) | bar | oracle AUROC (median) "
        "| chance limit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for spec, _ in load_tasks():
        c = rows.get(spec.name)
        if c is None:
            lines.append(f"| {spec.name} | {spec.kind} | (family not installed) | | | | | | |")
            continue
        lines.append(
            f"| {c.task} | {c.kind} | {c.prevalence:.3f} | {c.n_train} | {c.n_test} | {c.baseline_median:.3f} | "
            f"{c.bar:.2f} | {c.oracle_median:.3f} | {c.chance_limit:.2f} |"
        )
    return "\n".join(lines) + "\n"
