"""What defines a run (issue 14, item 2): a run folder records its identity, refuses another one,
and grows only when told to (``--extend``), so a report never shows "4 of 2 planned" episodes.

The store-level tests need no sandbox; the CLI tests run the oracle over the toy samples.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medagentgym.cli import app
from medagentgym.policies import OraclePolicy, PolicyError
from medagentgym.runs.schema import PolicyInfo, Timing, Trajectory
from medagentgym.runs.store import (
    MANIFEST,
    PARTIAL,
    TRAJECTORIES,
    RunIdentityError,
    RunManifest,
    RunStore,
    identity_changes,
    load_manifest,
    load_run,
    run_identity,
)

runner = CliRunner()
SELECTION = {"datasets": ["toy"], "categories": [], "splits": ["test"], "limit_per_category": 2, "seed": 0}
ENV = {"max_turns": 15, "action_format": "json"}


def identity(model: str = "m1", epochs: int = 1, samples: int = 2, **sampling: Any) -> dict[str, Any]:
    policy = {"name": "openai", "model": model, "sampling": sampling, "action_format": "json", "prices": {"prompt": 1.0}}
    return run_identity(policy, SELECTION, ENV, epochs=epochs, samples=samples)


def manifest(ident: dict[str, Any] | None = None, planned: int = 2) -> RunManifest:
    ident = identity() if ident is None else ident
    return RunManifest(
        run_id="r1",
        created_at="2026-01-01T00:00:00+00:00",
        policy=dict(ident.get("policy", {})),
        selection=dict(ident.get("selection", {})),
        env=dict(ident.get("env", {})),
        episodes_planned=planned,
        identity=ident,
    )


def trajectory(sample_id: str, epoch: int = 0) -> Trajectory:
    return Trajectory(
        run_id="r1", sample_id=sample_id, dataset="toy", category="c", split="test", epoch=epoch,
        policy=PolicyInfo(name="openai"), status="ok", timing=Timing(started_at="a", ended_at="b", duration_s=0.0),
    )


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.name != ".lock"}


# ------------------------------------------------------------------------------------------------
# The store


def test_identity_leaves_out_speed_and_prices() -> None:
    ident = identity(temperature=0.2)
    assert set(ident) == {"policy", "selection", "env", "epochs", "samples"}
    assert ident["policy"] == {"name": "openai", "model": "m1", "sampling": {"temperature": 0.2}, "action_format": "json"}
    assert identity_changes(ident, identity(temperature=0.2)) == []
    assert identity_changes(ident, identity(temperature=0.7, epochs=3)) == [
        "policy.sampling.temperature: 0.2 → 0.7",
        "epochs: 1 → 3",
    ]
    assert identity_changes(identity(), identity(top_p=0.9)) == ["policy.sampling.top_p: (unset) → 0.9"]


def test_a_new_run_records_its_identity(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest()) as store:
        assert store.changes == []
    assert load_manifest(tmp_path).identity == identity()
    assert load_manifest(tmp_path).extensions == []


def test_another_identity_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest()) as store:
        store.append(trajectory("s1"))
    with (tmp_path / TRAJECTORIES).open("ab") as handle:
        handle.write(b'{"cut off')  # a tail a refused open must not touch either
    before = snapshot(tmp_path)
    with pytest.raises(RunIdentityError) as refused:
        RunStore(tmp_path, manifest(identity(model="m2", temperature=0.5)))
    message = str(refused.value)
    assert "\n" not in message and str(tmp_path) in message and "--extend" in message
    assert "policy.model: 'm1' → 'm2'" in message and "policy.sampling.temperature: (unset) → 0.5" in message
    assert snapshot(tmp_path) == before and not (tmp_path / PARTIAL).exists()
    # The next open is unaffected: the lock was released, the same identity resumes.
    with RunStore(tmp_path, manifest()) as store:
        assert store.is_done("s1", 0) and store.changes == []


def test_extend_records_the_change_and_plans_every_episode(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest(planned=2)) as store:
        store.append(trajectory("s1"))  # s2 never ran
    more = identity(epochs=3)
    planned = {(s, e) for s in ("s1", "s2") for e in range(3)}
    with RunStore(tmp_path, manifest(more, planned=6), extend=True, planned=planned) as store:
        assert store.changes == ["epochs: 1 → 3"]
        for key in sorted(planned - {("s1", 0)}):
            store.append(trajectory(*key))
    recorded = load_manifest(tmp_path)
    assert recorded.identity == identity()  # what the run began as
    [extension] = recorded.extensions
    assert extension["identity"] == more and extension["episodes_planned"] == 6 and extension["at"]
    assert recorded.episodes_planned == 6 == len(load_run(tmp_path))
    # The extended identity is now the run's: it resumes without --extend; the old one is refused.
    with RunStore(tmp_path, manifest(more, planned=6)) as store:
        assert store.changes == [] and len(store.done) == 6
    with pytest.raises(RunIdentityError, match="epochs: 3 → 1"):
        RunStore(tmp_path, manifest())


def test_extending_over_other_samples_never_plans_fewer_than_written(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest(planned=2)) as store:
        store.append(trajectory("a1"))
        store.append(trajectory("a2"))
    other = run_identity(
        identity()["policy"], {**SELECTION, "samples_file": "other.jsonl"}, ENV, epochs=1, samples=2
    )
    with RunStore(tmp_path, manifest(other, planned=2), extend=True, planned={("b1", 0), ("b2", 0)}) as store:
        store.append(trajectory("b1"))
        store.append(trajectory("b2"))
    assert load_manifest(tmp_path).episodes_planned == 4 == len(load_run(tmp_path))


def test_extend_with_the_same_identity_is_a_plain_resume(tmp_path: Path) -> None:
    with RunStore(tmp_path, manifest()):
        pass
    before = snapshot(tmp_path)
    with RunStore(tmp_path, manifest(), extend=True, planned={("s1", 0)}) as store:
        assert store.changes == []
    assert snapshot(tmp_path) == before


def test_an_old_manifest_matches_on_what_it_records(tmp_path: Path) -> None:
    old = manifest().model_dump(exclude={"identity", "extensions"})
    old["policy"] = {**old["policy"], "prices": {}}  # an old PolicyInfo dump
    (tmp_path / MANIFEST).write_text(json.dumps(old))
    (tmp_path / TRAJECTORIES).write_text(trajectory("s1").model_dump_json() + "\n")
    for wrong, field in (
        (manifest(identity(model="m2")), "policy.model: 'm1' → 'm2'"),
        (manifest(identity(epochs=2), planned=4), "episodes_planned: 2 → 4"),
    ):
        before = snapshot(tmp_path)
        with pytest.raises(RunIdentityError) as refused:
            RunStore(tmp_path, wrong)
        assert field in str(refused.value) and snapshot(tmp_path) == before
    with RunStore(tmp_path, manifest()) as store:
        assert store.is_done("s1", 0) and store.changes == []
    assert load_manifest(tmp_path).identity == identity()  # it learns what defines it


def test_a_bare_manifest_asserts_nothing(tmp_path: Path) -> None:
    """Library callers that declare no identity open runs as before identities existed."""
    with RunStore(tmp_path, manifest()):
        pass
    bare = RunManifest(run_id="x", created_at="2026-01-01T00:00:00+00:00")
    with RunStore(tmp_path, bare) as store:
        assert store.manifest.identity == identity()


@pytest.mark.parametrize(
    "recorded",
    [
        {"identity": {"policy": [1, 2], "epochs": "[red]x[/]"}},
        {"identity": {"epochs": 1}, "extensions": [{"identity": "not a mapping"}]},
        {"identity": {"selection": {"categories": ["c" * 10_000]}}},
    ],
)
def test_hostile_identities_give_one_bounded_line(tmp_path: Path, recorded: dict[str, Any]) -> None:
    data = manifest().model_dump()
    data.update(recorded)
    (tmp_path / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(RunIdentityError) as refused:
        RunStore(tmp_path, manifest())
    message = str(refused.value)
    assert "\n" not in message and len(message) < 2_000
    assert load_manifest(tmp_path).model_dump() == RunManifest.model_validate(data).model_dump()


# ------------------------------------------------------------------------------------------------
# The command line


@pytest.fixture
def samples_files(tmp_path: Path, toy_samples: list[Any]) -> tuple[Path, Path]:
    """Two samples files over different samples (the third toy sample under two ids)."""
    first = tmp_path / "first.jsonl"
    first.write_text("".join(s.model_dump_json() + "\n" for s in toy_samples[:2]))
    second = tmp_path / "second.jsonl"
    copies = [toy_samples[2].model_copy(update={"id": f"{toy_samples[2].id}#{n}"}) for n in range(2)]
    second.write_text("".join(s.model_dump_json() + "\n" for s in copies))
    return first, second


def _run(samples: Path, out: Path, *extra: str) -> Any:
    return runner.invoke(app, ["run", "--samples", str(samples), "--out", str(out), "--no-progress", *extra])


def _never_more_than_planned(run_dir: Path, output: str) -> None:
    assert len(load_run(run_dir)) <= load_manifest(run_dir).episodes_planned
    for written, planned in re.findall(r"(\d+) of (\d+) planned", output):
        assert int(written) <= int(planned), output


def test_cli_refuses_another_policy_and_extends_on_request(tmp_path: Path, samples_files: tuple[Path, Path]) -> None:
    first, second = samples_files
    out = tmp_path / "run"
    assert _run(first, out).exit_code == 0
    before = snapshot(out)
    for extra, field in (
        (["--policy", "wrong-answer"], "policy.name: 'oracle' → 'wrong-answer'"),
        (["--epochs", "2"], "epochs: 1 → 2"),
        (["--max-turns", "3"], "env.max_turns: 15 → 3"),
    ):
        refused = _run(first, out, *extra)
        lines = [line for line in refused.output.splitlines() if line.strip()]
        assert refused.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), refused.output
        assert field in lines[0] and "--extend" in lines[0]
        assert snapshot(out) == before
    other = _run(second, out)
    assert other.exit_code == 2 and "selection.samples_file" in other.output and snapshot(out) == before
    # Speed settings are not part of the identity: they resume.
    same = _run(first, out, "--concurrency", "1", "--episode-timeout", "60")
    assert same.exit_code == 0 and "2 episodes already done" in same.output
    extended = _run(second, out, "--extend")
    assert extended.exit_code == 0, extended.output
    assert "extended" in extended.output and "4 episodes planned" in extended.output
    _never_more_than_planned(out, extended.output)
    more = _run(second, out, "--epochs", "2", "--extend")
    assert more.exit_code == 0 and "ran 2 episodes" in more.output
    _never_more_than_planned(out, more.output)
    recorded = load_manifest(out)
    assert [e["identity"]["epochs"] for e in recorded.extensions] == [1, 2]
    assert recorded.episodes_planned == 6 == len(load_run(out))
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0
    _never_more_than_planned(out, report.output)


def test_a_samples_file_is_the_same_run_from_another_directory(
    tmp_path: Path, samples_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = samples_files
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path)
    assert _run(Path(first.name), out).exit_code == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    resumed = _run(Path("..") / first.name, out)
    assert resumed.exit_code == 0 and "2 episodes already done" in resumed.output


def test_cli_resumes_an_old_run_folder(tmp_path: Path, samples_files: tuple[Path, Path]) -> None:
    first, _ = samples_files
    out = tmp_path / "old"
    assert _run(first, out).exit_code == 0
    data = json.loads((out / MANIFEST).read_text())
    del data["identity"], data["extensions"]
    (out / MANIFEST).write_text(json.dumps(data))
    refused = _run(first, out, "--epochs", "2")
    assert refused.exit_code == 2 and "episodes_planned: 2 → 4" in refused.output
    resumed = _run(first, out)
    assert resumed.exit_code == 0 and "2 episodes already done" in resumed.output
    assert load_manifest(out).identity["epochs"] == 1


class BrokenPolicy(OraclePolicy):
    """The oracle during an outage: every model call fails, so each episode ends infra_error."""

    def start_episode(self, sample: Any, *, seed: int = 0) -> BrokenPolicy:
        return self

    def act(self, messages: Any, tools: Any) -> Any:
        raise PolicyError("HTTP 503 from the model server", kind="server_error")

    async def aact(self, messages: Any, tools: Any) -> Any:
        return self.act(messages, tools)


def test_a_run_whose_episodes_all_failed_exits_1(
    tmp_path: Path, samples_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from medagentgym.policies import POLICY_CLASSES

    monkeypatch.setitem(POLICY_CLASSES, "oracle", f"{__name__}:BrokenPolicy")
    first, _ = samples_files
    out = tmp_path / "down"
    failed = _run(first, out)
    assert failed.exit_code == 1, failed.output
    last = [line for line in failed.output.splitlines() if line.strip()][-1]
    assert last.startswith("error: all 2 episodes") and "server_error 2" in last
    assert "ran 2 episodes" in failed.output  # the report still ran before the error
    assert [t.status for t in load_run(out)] == ["infra_error", "infra_error"]
    # The folder keeps them and a resume retries them; a healthy resume exits 0.
    monkeypatch.setitem(POLICY_CLASSES, "oracle", "medagentgym.policies.oracle:OraclePolicy")
    healed = _run(first, out)
    assert healed.exit_code == 0 and "ran 2 episodes" in healed.output
    assert all(t.success for t in load_run(out))


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_an_unreachable_endpoint_fails_before_any_folder_exists(
    tmp_path: Path, samples_files: tuple[Path, Path], backend: str
) -> None:
    first, _ = samples_files
    out = tmp_path / "never"
    result = _run(
        first, out, "--policy", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
        "--policy-option", "max_retries=0", "--request-timeout", "5", "--backend", backend,
    )
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "127.0.0.1:9" in lines[0] and not out.exists()
