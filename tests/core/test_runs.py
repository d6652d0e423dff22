"""Run folders: append-only, resumable, no episode lost or duplicated, even after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medagentgym.policies import OraclePolicy, ScriptedPolicy
from medagentgym.rollout import RolloutConfig, run_rollouts
from medagentgym.runs.schema import SCHEMA_VERSION, PolicyInfo, Timing, Trajectory
from medagentgym.runs.store import (
    PARTIAL,
    TRAJECTORIES,
    RunLockedError,
    RunManifest,
    RunStore,
    load_run,
    read_trajectories,
)


def manifest(run_id: str = "r1") -> RunManifest:
    return RunManifest(run_id=run_id, created_at="2026-01-01T00:00:00+00:00")


def trajectory(sample_id: str, epoch: int = 0, status: str = "ok") -> Trajectory:
    return Trajectory(
        run_id="r1",
        sample_id=sample_id,
        dataset="toy",
        category="c",
        split="test",
        epoch=epoch,
        policy=PolicyInfo(name="x"),
        status=status,  # type: ignore[arg-type]
        timing=Timing(started_at="a", ended_at="b", duration_s=0.0),
    )


def test_append_is_durable_and_refuses_duplicates(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest()) as store:
        assert store.append(trajectory("s1"))
        assert not store.append(trajectory("s1"))
        assert store.append(trajectory("s1", epoch=1))
    lines = (tmp_path / TRAJECTORIES).read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["schema_version"] == SCHEMA_VERSION
    with RunStore(tmp_path, manifest("other")) as store:
        assert store.manifest.run_id == "r1"  # the existing manifest wins on resume
        assert store.is_done("s1", 0) and store.is_done("s1", 1) and not store.is_done("s2", 0)


def test_a_cut_off_last_line_is_set_aside_not_lost(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest()) as store:
        store.append(trajectory("s1"))
    with (tmp_path / TRAJECTORIES).open("ab") as handle:
        handle.write(trajectory("s2").model_dump_json()[:40].encode())
    with RunStore(tmp_path, manifest()) as store:
        assert store.is_done("s1", 0) and not store.is_done("s2", 0)
        store.append(trajectory("s2"))
    assert [t.sample_id for t in read_trajectories(tmp_path)] == ["s1", "s2"]
    assert (tmp_path / PARTIAL).read_text().startswith('{"schema_version"')


def test_infra_errors_are_retried_and_superseded(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest()) as store:
        store.append(trajectory("s1", status="infra_error"))
        assert not store.is_done("s1", 0)
    with RunStore(tmp_path, manifest()) as store:
        assert store.append(trajectory("s1"))
    assert [t.status for t in load_run(tmp_path)] == ["ok"]


def test_second_writer_is_locked_out(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest()):
        with pytest.raises(RunLockedError):
            RunStore(tmp_path, manifest())


def test_run_rollouts_resumes_without_duplicates(tmp_path: Path, toy_samples, sandbox_server) -> None:
    with RunStore(tmp_path, manifest()) as store:
        first = run_rollouts(toy_samples[:2], OraclePolicy(), store, RolloutConfig(epochs=2), sandbox=sandbox_server)
    assert first.written == 4 and first.successes == 4
    with RunStore(tmp_path, manifest()) as store:
        second = run_rollouts(
            toy_samples, OraclePolicy(), store, RolloutConfig(epochs=2, max_sessions=2), sandbox=sandbox_server
        )
    assert second.skipped == 4 and second.written == 2
    keys = [t.key for t in read_trajectories(tmp_path)]
    assert len(keys) == len(set(keys)) == 6


def test_policy_failure_is_an_infra_error_not_a_wrong_answer(tmp_path: Path, toy_samples, sandbox_server) -> None:
    class Broken(ScriptedPolicy):
        def act(self, messages, tools):
            from medagentgym.policies import PolicyError

            raise PolicyError("HTTP 503 from the model server")

    with RunStore(tmp_path, manifest()) as store:
        summary = run_rollouts(toy_samples[:1], Broken(["x"]), store, sandbox=sandbox_server)
    [only] = load_run(tmp_path)
    assert summary.by_status == {"infra_error": 1}
    assert only.score is None and "503" in (only.error or "") and only.failure == "policy_error"


def _write_samples(path: Path, samples, copies: int) -> None:
    lines = []
    for n in range(copies):
        for sample in samples:
            data = sample.model_dump(mode="json")
            data["id"] = f"{sample.id}#{n}"
            lines.append(json.dumps(data))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_resume_after_a_killed_run(tmp_path: Path, toy_samples) -> None:
    samples_file = tmp_path / "samples.jsonl"
    _write_samples(samples_file, toy_samples, copies=100)  # 300 episodes
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "medagentgym.cli", "run", "--samples", str(samples_file),
        "--out", str(run_dir), "--concurrency", "2", "--no-progress",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ)
    traj = run_dir / TRAJECTORIES
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if traj.exists() and traj.read_bytes().count(b"\n") >= 20:
            break
        time.sleep(0.01)
    killed = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = list(read_trajectories(run_dir))
    assert before, process.stderr.read().decode() if process.stderr else ""
    if killed:
        assert len(before) < 300
    finished = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=300)
    assert finished.returncode == 0, finished.stderr
    after = list(read_trajectories(run_dir))
    keys = [t.key for t in after]
    assert len(keys) == len(set(keys)) == 300
    assert [t.key for t in after[: len(before)]] == [t.key for t in before]
    assert all(t.success for t in after)


def test_episode_timeout_and_distinct_seeds(tmp_path: Path, toy_samples, sandbox_server) -> None:
    import asyncio

    class Slow(ScriptedPolicy):
        async def aact(self, messages, tools):
            await asyncio.sleep(5)
            return self.act(messages, tools)

    sink_dir = tmp_path / "slow"
    with RunStore(sink_dir, manifest()) as store:
        summary = run_rollouts(
            toy_samples[:1], Slow(['{"action": "submit", "answer": 1}']), store,
            RolloutConfig(max_episode_s=0.2), sandbox=sandbox_server,
        )
    [only] = load_run(sink_dir)
    assert summary.by_status == {"timeout": 1} and only.failure == "episode_timeout" and only.score is None

    seen: list[int] = []

    class Recorder(ScriptedPolicy):
        def start_episode(self, sample, *, seed: int = 0):
            seen.append(seed)
            return self

    with RunStore(tmp_path / "seeds", manifest()) as store:
        run_rollouts(toy_samples[:1], Recorder(['{"action": "submit", "answer": 1}']), store, RolloutConfig(epochs=4), sandbox=sandbox_server)
    assert len(set(seen)) == 4  # K samples of one task get different seeds


def test_concurrent_rollout_keeps_episodes_apart(tmp_path: Path, toy_samples, sandbox_server) -> None:
    """Many episodes at once, each in its own session: every one must still score 1."""
    with RunStore(tmp_path, manifest()) as store:
        summary = run_rollouts(
            toy_samples, OraclePolicy(), store, RolloutConfig(epochs=8, max_sessions=12, max_model_calls=3),
            sandbox=sandbox_server,
        )
    assert summary.written == 24 and summary.successes == 24
