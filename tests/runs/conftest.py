"""Synthetic trajectories and run folders for the metrics and report tests (no sandbox needed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog.sample import AnswerType
from medagentgym.runs.schema import PolicyInfo, StepRecord, Timing, TokenUsage, Trajectory
from medagentgym.runs.store import RunManifest, RunStore
from medagentgym.sandbox.results import ExecResult
from medagentgym.scoring import Score

TrajectoryFactory = Callable[..., Trajectory]


def build_trajectory(
    sample_id: str = "toy/bmi/test/0",
    *,
    epoch: int = 0,
    dataset: str = "toy",
    category: str = "bmi",
    status: str = "ok",
    correct: bool | None = None,
    answer: Any = 1.0,
    submitted: bool | None = None,
    answer_type: AnswerType = AnswerType.NUMBER,
    steps: int = 2,
    parse_errors: int = 0,
    failure: str | None = None,
    api_retries: dict[str, int] | None = None,
    usage: tuple[int, int] = (0, 0),
    policy: str = "synthetic",
    model: str | None = None,
    prices: dict[str, float] | None = None,
    run_id: str = "run-test",
    assistant_text: str | None = None,
    exec_timed_out: bool = False,
) -> Trajectory:
    """One episode; ``correct`` None means 'no score' (what a non-ok episode records)."""
    if submitted is None:
        submitted = status == "ok"
    if correct is None and status == "ok":
        correct = True
    score = None
    if status == "ok":
        score = Score(
            value=1.0 if correct else 0.0,
            correct=bool(correct),
            answer_type=answer_type,
            parsed=answer,
            explanation="synthetic; " + ("correct" if correct else "wrong"),
        )
    records: list[StepRecord] = []
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "system prompt"},
        {"role": "user", "content": f"Task of {sample_id}"},
    ]
    for index in range(1, steps + 1):
        bad = index <= parse_errors
        text = assistant_text if assistant_text is not None else ("not json" if bad else '{"action": "execute_python"}')
        messages.append({"role": "assistant", "content": text})
        observation = "Error: no JSON action" if bad else f"[ok] step {index}"
        messages.append({"role": "user", "content": observation})
        records.append(
            StepRecord(
                index=index,
                action=None if bad else {"name": "execute_python", "params": {"code": f"print({index})"}},
                parse_error="no JSON action" if bad else None,
                observation=observation,
                execution=None
                if bad
                else ExecResult(status="timeout" if exec_timed_out else "ok", stdout=f"{index}\n", timed_out=exec_timed_out),
                duration_s=0.01,
            )
        )
    return Trajectory(
        run_id=run_id,
        sample_id=sample_id,
        dataset=dataset,
        category=category,
        split="test",
        epoch=epoch,
        seed=epoch,
        policy=PolicyInfo(name=policy, model=model, prices=prices or {}),
        messages=messages,
        steps=records,
        submitted=submitted,
        submitted_answer=answer if submitted else None,
        score=score,
        reward=1.0 if correct else 0.0,
        status=status,  # type: ignore[arg-type]
        failure=failure,
        api_retries=api_retries or {},
        usage=TokenUsage(prompt_tokens=usage[0], completion_tokens=usage[1]),
        timing=Timing(started_at="2026-01-01T00:00:00+00:00", ended_at="2026-01-01T00:00:01+00:00", duration_s=1.0),
    )


def write_run(run_dir: Path, trajectories: Sequence[Trajectory], *, policy: str, model: str | None = None) -> Path:
    manifest = RunManifest(
        run_id=trajectories[0].run_id if trajectories else run_dir.name,
        created_at="2026-01-01T00:00:00+00:00",
        policy={"name": policy, "model": model},
        episodes_planned=len(trajectories),
    )
    with RunStore(run_dir, manifest) as store:
        for trajectory in trajectories:
            store.append(trajectory)
    return run_dir


@pytest.fixture
def make_trajectory() -> TrajectoryFactory:
    return build_trajectory


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A good model (with costs, retries, an infra failure, an XSS attempt) and a weak one.

    Module-scoped: the run folders are only read by the tests that use them.
    """
    return make_two_runs(tmp_path_factory.mktemp("runs"))


def make_two_runs(tmp_path: Path) -> tuple[Path, Path]:
    good = []
    for task in range(3):
        for epoch in range(3):
            good.append(
                build_trajectory(
                    f"toy/bmi/test/{task}",
                    epoch=epoch,
                    correct=(task, epoch) != (2, 0),
                    answer=22.5 if (task, epoch) != (2, 0) else 99,
                    usage=(1000, 200),
                    policy="api",
                    model="model-a",
                    prices={"prompt": 1.0, "completion": 4.0},
                    api_retries={"rate_limit": 1} if epoch == 1 else None,
                    run_id="run-good",
                )
            )
    good.append(
        build_trajectory(
            "toy/gcs/test/0",
            category="gcs",
            correct=False,
            answer="<script>alert(1)</script>",
            assistant_text="<script>alert(1)</script> thinking </pre></td>",
            policy="api",
            model="model-a",
            prices={"prompt": 1.0, "completion": 4.0},
            run_id="run-good",
        )
    )
    for epoch in (1, 2):
        good.append(
            build_trajectory("toy/gcs/test/0", category="gcs", epoch=epoch, policy="api", model="model-a", run_id="run-good")
        )
    good.append(
        build_trajectory(
            "other/sql/test/0",
            dataset="other",
            category="sql",
            status="infra_error",
            failure="rate_limit",
            steps=0,
            policy="api",
            model="model-a",
            run_id="run-good",
        )
    )
    for epoch in (1, 2, 3):
        good.append(
            build_trajectory(
                "other/sql/test/0", dataset="other", category="sql", epoch=epoch, policy="api", model="model-a",
                run_id="run-good",
            )
        )
    weak = [
        build_trajectory(
            f"toy/bmi/test/{task}",
            epoch=epoch,
            status="max_turns" if epoch == 0 else "ok",
            correct=None if epoch == 0 else task == 0,
            steps=4,
            parse_errors=1,
            policy="small",
            run_id="run-weak",
        )
        for task in range(3)
        for epoch in range(3)
    ]
    a = write_run(tmp_path / "good", good, policy="api", model="model-a")
    b = write_run(tmp_path / "weak", weak, policy="small")
    return a, b
