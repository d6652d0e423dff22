"""Corrupt run folders (issue 7, item 14): `report` and `run` never end in a traceback.

A corrupt ``manifest.json`` ends the command with one ``error:`` line naming the file (exit 2);
a corrupt line of ``trajectories.jsonl`` is skipped with a warning naming the file and line, the
report still counts every readable episode, and a resumed run runs the lost episodes again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medagentgym.cli import app
from medagentgym.runs.store import MANIFEST, TRAJECTORIES, ManifestError, load_manifest, load_run

runner = CliRunner()


@pytest.fixture(scope="module")
def samples_file(tmp_path_factory: pytest.TempPathFactory, toy_samples: list[Any]) -> Path:
    path = tmp_path_factory.mktemp("samples") / "toy.samples.jsonl"
    path.write_text("".join(s.model_dump_json() + "\n" for s in toy_samples))
    return path


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory, samples_file: Path) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "good"
    result = runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(run_dir), "--no-progress"])
    assert result.exit_code == 0, result.output
    return run_dir


def _copy_run(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in (MANIFEST, TRAJECTORIES):
        (target / name).write_bytes((source / name).read_bytes())
    return target


def _one_line_error(result: Any, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


CORRUPT_MANIFESTS = {
    "not json": b"{ this is not json",
    "invalid utf-8": b'{"run_id": "\xff\xfe", "created_at": "x"}',
    "nested too deep": b'{"run_id": "r", "created_at": "x", "policy": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "a list": b"[1, 2, 3]",
    "missing run id": b'{"created_at": "x"}',
    "huge integer": b'{"run_id": "r", "created_at": "x", "episodes_planned": ' + b"9" * 5000 + b"}",
    "empty": b"",
    "other schema": b'{"run_id": "r", "created_at": "x", "schema_version": 99}',
}


@pytest.mark.parametrize("kind", list(CORRUPT_MANIFESTS))
def test_a_corrupt_manifest_is_a_one_line_error(
    kind: str, good_run: Path, samples_file: Path, tmp_path: Path
) -> None:
    run_dir = _copy_run(good_run, tmp_path / "broken")
    (run_dir / MANIFEST).write_bytes(CORRUPT_MANIFESTS[kind])
    if kind != "other schema":  # readable, so reports show it; only a resume must refuse it
        with pytest.raises(ManifestError, match="manifest.json"):
            load_manifest(run_dir)
        _one_line_error(runner.invoke(app, ["report", str(run_dir)]), "manifest.json")
        _one_line_error(
            runner.invoke(app, ["report", str(good_run), str(run_dir), "--html", str(tmp_path / "h")]),
            "manifest.json",
        )
    resumed = runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(run_dir), "--no-progress"])
    _one_line_error(resumed, "broken")
    assert (run_dir / MANIFEST).read_bytes() == CORRUPT_MANIFESTS[kind]  # left for the user to inspect
    # The next command is unaffected (and the lock of the refused run was released).
    assert runner.invoke(app, ["report", str(good_run)]).exit_code == 0
    (run_dir / MANIFEST).write_bytes((good_run / MANIFEST).read_bytes())
    again = runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(run_dir), "--no-progress"])
    assert again.exit_code == 0 and "3 episodes already done" in again.output


def test_a_manifest_with_markup_and_lone_surrogates_reports_as_text(good_run: Path, tmp_path: Path) -> None:
    run_dir = _copy_run(good_run, tmp_path / "markup")
    manifest = json.loads((run_dir / MANIFEST).read_text())
    manifest["run_id"] = "[/] [bold]\udcff"
    manifest["policy"] = {"name": "[red]evil[/red] [/]", "model": "m\udcff"}
    (run_dir / MANIFEST).write_text(json.dumps(manifest))  # ensure_ascii: "\udcff" escapes
    result = runner.invoke(app, ["report", str(run_dir), str(good_run), "--html", str(tmp_path / "html")])
    assert result.exit_code == 0, result.output
    assert "[red]evil[/red] [/]" in result.output and "\ufffd" in result.stdout_bytes.decode("utf-8")
    for page in (tmp_path / "html").rglob("*.html"):
        page.read_bytes().decode("utf-8")


def test_corrupt_trajectory_lines_are_named_and_their_episodes_rerun(
    good_run: Path, samples_file: Path, tmp_path: Path
) -> None:
    run_dir = _copy_run(good_run, tmp_path / "lines")
    lines = (run_dir / TRAJECTORIES).read_bytes().splitlines(keepends=True)
    assert len(lines) == 3
    escaped = json.loads(lines[2])
    escaped["error"] = "lone \udcff"
    corrupt = [
        lines[0],
        b"garbage that is not json\n",  # line 2
        b'{"run_id": "\xff\xfe"}\n',  # line 3: invalid UTF-8
        b"[" * 5000 + b"]" * 5000 + b"\n",  # line 4: nested too deep
        b'{"valid": "json, not a trajectory"}\n',  # line 5
        (json.dumps(escaped) + "\n").encode(),  # line 6: a "\udcff" escape, read leniently
    ]
    (run_dir / TRAJECTORIES).write_bytes(b"".join(corrupt))
    problems: list[str] = []
    readable = load_run(run_dir, problems)
    assert len(readable) == 2 and readable[1].error == "lone \ufffd"
    assert [p.split(": skipped")[0] for p in problems] == [f"{run_dir / TRAJECTORIES} line {n}" for n in (2, 3, 4, 5)]
    report = runner.invoke(app, ["report", str(run_dir), "--html", str(tmp_path / "html")])
    assert report.exit_code == 0, report.output
    for n in (2, 3, 4, 5):
        assert f"{TRAJECTORIES} line {n}: skipped" in report.output
    assert "could not be read" in (tmp_path / "html" / "runs" / "r1" / "index.html").read_text(encoding="utf-8")
    resumed = runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(run_dir), "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    assert "2 episodes already done" in resumed.output and "ran 1 episodes" in resumed.output
    assert len(load_run(run_dir)) == 3
