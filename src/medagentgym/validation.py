"""``validate``: the oracle over the catalog must score 1 on every sample.

This is the contract that keeps generators, reference solutions, the sandbox and the scorers
honest together: a sample whose own reference solution does not score 1 is a broken sample.

At corpus scale (74k samples) two things matter beyond the contract:

- **Both cores.** One harness process is bound by its interpreter lock, so ``workers`` > 1
  shards the samples over spawned worker processes, each with its own sandbox server and
  ``run_rollouts`` over batches of one category it takes from a shared queue (the slowest
  dataset cannot leave a worker idle). Workers generate (or read from the corpus) only the
  samples of their batches; the parent plans by sample id without generating anything.
- **Resumable progress.** With ``out`` the episodes go into a run folder through the run store
  (``runs/store.py``), written by the parent alone as workers hand them over: a killed validation
  rerun with the same ``out`` plans only the ids the folder does not hold, so no episode is run
  twice or lost, and ``medagentgym report OUT`` reads it like any run.
"""

from __future__ import annotations

import os
import queue as queue_module
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from medagentgym.catalog.sample import Sample
from medagentgym.catalog.selection import Selection, select_samples, selected_ids
from medagentgym.runs.schema import Trajectory

#: Samples per batch a worker takes (one category at a time; small enough to balance two
#: workers at the end, large enough that a batch's last episodes rarely leave sessions idle).
BATCH = 200


@dataclass
class ValidationResult:
    total: int = 0
    passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)
    # per dataset: summed episode wall time (s), for the mean shown in the table
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    resumed: int = 0  # episodes found already done in ``out``
    wall_s: float = 0.0

    def add(self, trajectory: Trajectory) -> None:
        group = f"{trajectory.dataset}/{trajectory.category}"
        self.counts[group] += 1
        self.seconds[trajectory.dataset] += trajectory.timing.duration_s
        if trajectory.success:
            self.passed[group] += 1
        else:
            why = trajectory.score.explanation if trajectory.score else trajectory.error
            self.failures.append(f"{trajectory.sample_id}: status {trajectory.status}: {why}")

    def table(self) -> Table:
        table = Table(title="Oracle validation")
        for column in ("dataset/category", "samples", "score 1"):
            table.add_column(column, justify="left" if column.startswith("data") else "right")
        for group in sorted(self.counts):
            table.add_row(escape(group), str(self.counts[group]), str(self.passed[group]))
        return table

    def dataset_table(self) -> Table:
        """Per dataset: samples, passed, mean episode seconds (wall, in its worker)."""
        table = Table(title="Oracle validation by dataset")
        for column in ("dataset", "samples", "score 1", "mean episode s"):
            table.add_column(column, justify="left" if column == "dataset" else "right")
        by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for group, n in self.counts.items():
            name = group.split("/", 1)[0]
            by[name][0] += n
            by[name][1] += self.passed[group]
        for name in sorted(by):
            n, ok = by[name]
            table.add_row(escape(name), str(n), str(ok), f"{self.seconds[name] / max(n, 1):.3f}")
        return table


# --------------------------------------------------------------------------- samples by id


def samples_by_id(selection: Selection, ids: Sequence[str]) -> list[Sample]:
    """The samples of ``selection`` with these ids, made without making the others: generated
    ones by id, corpus ones from their categories' files, file ones by reading the file."""
    wanted = set(ids)
    if selection.samples_file:
        return [s for s in select_samples(selection) if s.id in wanted]
    if selection.corpus:
        from medagentgym.catalog.corpus import load_corpus

        found: list[Sample] = []
        for split in sorted({i.split("/")[2] for i in wanted}):
            found += load_corpus(Path(selection.corpus), split, ids=[i for i in wanted if i.split("/")[2] == split])
        return found
    from medagentgym.catalog.registry import get_dataset

    samples = []
    for sample_id in ids:
        dataset, category, split, seed, index = sample_id.split("/")
        samples.append(get_dataset(dataset).generate(category, split, int(index), int(seed)))  # type: ignore[arg-type]
    return samples


def batches(ids: Iterable[str], size: int = BATCH) -> list[list[str]]:
    """Ids cut into batches of at most ``size``, each inside one dataset/category/split."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for sample_id in ids:
        groups.setdefault(tuple(sample_id.split("/")[:3]), []).append(sample_id)
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]


# --------------------------------------------------------------------------- workers


def _die_with_parent(parent: int) -> None:
    """SIGKILL this worker when the validating process dies (killed, Ctrl-C'd): an orphaned
    worker would go on taking batches nobody records. Linux's prctl; elsewhere a no-op."""
    import ctypes
    import os
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the prctl
        os._exit(1)


def _worker(selection_json: str, concurrency: int, tasks: Any, results: Any, parent: int) -> None:
    """One validation worker (a spawned process): batches of ids in, trajectory lines out."""
    from medagentgym.env.warm import server_options
    from medagentgym.policies.oracle import OraclePolicy
    from medagentgym.rollout.runner import RolloutConfig, run_rollouts
    from medagentgym.sandbox import SandboxServer
    from medagentgym.untrusted import model_json

    class _Forward:
        run_id = "validate"

        def is_done(self, sample_id: str, epoch: int) -> bool:
            return False

        def append(self, trajectory: Trajectory) -> bool:
            results.put(("episode", model_json(trajectory)))
            return True

    _die_with_parent(parent)
    selection = Selection.model_validate_json(selection_json)
    config = RolloutConfig(max_sessions=concurrency, max_model_calls=concurrency)
    server = SandboxServer(**server_options(config.pool_size()))  # as the runner's own server
    try:
        while True:
            batch = tasks.get()
            if batch is None:
                break
            try:
                samples = samples_by_id(selection, batch)
            except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
                results.put(("error", f"{batch[0]}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
                continue
            run_rollouts(samples, OraclePolicy(), _Forward(), config, sandbox=server)
    finally:
        server.close()
        results.put(("done", ""))


class ValidationWorkerError(RuntimeError):
    """A worker process died or could not make samples; the message is one line."""


def _run_in_workers(
    selection: Selection,
    todo: list[str],
    *,
    workers: int,
    concurrency: int,
    take: Callable[[Trajectory], None],
) -> list[str]:
    """Run the oracle over ``todo`` in ``workers`` processes; each trajectory goes to ``take`` in
    this process. Returns the errors workers reported (ids they could not make)."""
    from multiprocessing import get_context

    ctx = get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    for batch in batches(todo):
        tasks.put(batch)
    n = min(workers, max(1, len(todo)))
    for _ in range(n):
        tasks.put(None)
    procs = [
        ctx.Process(
            target=_worker, args=(selection.model_dump_json(), concurrency, tasks, results, os.getpid()), daemon=True
        )
        for _ in range(n)
    ]
    for proc in procs:
        proc.start()
    errors: list[str] = []
    finished = 0
    try:
        while finished < n:
            try:
                kind, payload = results.get(timeout=1.0)
            except queue_module.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise ValidationWorkerError(
                        f"a validation worker died (exit {dead[0].exitcode}); rerun with the same --out to go on"
                    ) from None
                continue
            if kind == "episode":
                take(Trajectory.model_validate_json(payload))
            elif kind == "error":
                errors.append(payload)
            else:
                finished += 1
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return errors


# --------------------------------------------------------------------------- validate


def _identity(selection: Selection) -> dict[str, Any]:
    dump = selection.model_dump()
    if selection.samples_file:
        dump["samples_file"] = str(Path(selection.samples_file).resolve())
    if selection.corpus:
        from medagentgym.catalog.corpus import checked_manifest

        dump["corpus"] = checked_manifest(Path(selection.corpus)).corpus_version
    return dump


def validate(
    selection: Selection,
    *,
    concurrency: int = 4,
    progress: bool = False,
    workers: int = 1,
    out: Path | None = None,
) -> ValidationResult:
    """The oracle over ``selection``: a result per dataset/category, failures named.

    ``workers`` > 1 runs the episodes in that many processes (``concurrency`` sessions each);
    ``out`` keeps them in a resumable run folder (a rerun continues where a killed one stopped).
    """
    from medagentgym.env.env import EnvConfig
    from medagentgym.policies.oracle import OraclePolicy
    from medagentgym.rollout.progress import ProgressDisplay
    from medagentgym.rollout.runner import MemorySink, RolloutConfig, run_rollouts
    from medagentgym.runs.store import RunManifest, RunStore, latest_by_key, read_trajectories, run_identity

    started = time.perf_counter()
    ids = selected_ids(selection)
    if not ids:
        raise ValueError(f"the selection has no samples: {selection.model_dump(exclude_defaults=True)}")
    store: RunStore | None = None
    if out is not None:
        policy = OraclePolicy().info.model_dump()
        env = EnvConfig().model_dump()
        manifest = RunManifest(
            run_id="validate-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
            created_at=datetime.now(UTC).isoformat(),
            policy=policy,
            selection=selection.model_dump(),
            env=env,
            episodes_planned=len(ids),
            identity=run_identity(policy, _identity(selection), env, epochs=1, samples=len(ids)),
        )
        store = RunStore(Path(out), manifest, planned={(i, 0) for i in ids})
    memory = MemorySink(run_id="validate")
    sink = store if store is not None else memory
    todo = [i for i in ids if not sink.is_done(i, 0)]
    result = ValidationResult(total=len(ids), resumed=len(ids) - len(todo))
    display = ProgressDisplay(total=len(todo), enabled=progress)
    try:
        if workers <= 1:
            config = RolloutConfig(max_sessions=concurrency, max_model_calls=concurrency, progress=progress)
            run_rollouts(samples_by_id(selection, todo), OraclePolicy(), sink, config)
            problems: list[str] = []
        else:

            def take(trajectory: Trajectory) -> None:
                if sink.append(trajectory):
                    display.update(trajectory)

            with display:
                problems = _run_in_workers(selection, todo, workers=workers, concurrency=concurrency, take=take)
    finally:
        if store is not None:
            store.close()
    if store is not None:
        latest = latest_by_key(read_trajectories(Path(out)))  # type: ignore[arg-type]
        episodes = [latest[(i, 0)] for i in ids if (i, 0) in latest]
    else:
        wanted = set(ids)
        episodes = [t for t in memory.trajectories if t.sample_id in wanted]
    for trajectory in episodes:
        result.add(trajectory)
    result.failures += problems
    missing = len(ids) - len(episodes)
    if missing and not problems:
        result.failures.append(f"{missing} planned episode(s) were not recorded")
    result.wall_s = time.perf_counter() - started
    return result
