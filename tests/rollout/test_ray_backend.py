"""The Ray backend on a local Ray instance writes the same run folder as a local run."""

from __future__ import annotations

from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")

from medagentgym.policies import PolicySpec  # noqa: E402
from medagentgym.rollout import RolloutConfig  # noqa: E402
from medagentgym.rollout.ray_backend import run_rollouts_ray  # noqa: E402
from medagentgym.runs.store import RunManifest, RunStore, read_trajectories  # noqa: E402


@pytest.mark.slow
def test_ray_backend_runs_and_resumes(tmp_path: Path, toy_samples) -> None:
    manifest = RunManifest(run_id="ray-test", created_at="2026-01-01T00:00:00+00:00")
    spec = PolicySpec(name="oracle")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with RunStore(tmp_path, manifest) as store:
            first = run_rollouts_ray(toy_samples[:2], spec, store, RolloutConfig(epochs=2, max_sessions=4))
        assert first.written == 4 and first.successes == 4
        with RunStore(tmp_path, manifest) as store:
            second = run_rollouts_ray(toy_samples, spec, store, RolloutConfig(epochs=2, max_sessions=4))
        assert second.skipped == 4 and second.written == 2 and second.successes == 2
    finally:
        ray.shutdown()
    trajectories = list(read_trajectories(tmp_path))
    assert len({t.key for t in trajectories}) == len(trajectories) == 6
    assert all(t.run_id == "ray-test" and t.sandbox_level for t in trajectories)
