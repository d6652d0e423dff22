"""`medagentgym sandbox check` and `sandbox exec` from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medagentgym.cli import app
from medagentgym.sandbox.landlock import abi_version

runner = CliRunner()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the strong levels need Linux")
def test_sandbox_check_reports_the_strongest_level_here() -> None:
    result = runner.invoke(app, ["sandbox", "check", "--json"])
    report = json.loads(result.output)
    if abi_version() >= 4:
        assert report["level"] == "landlock+seccomp" and report["ok"] and result.exit_code == 0
    assert all(test["passed"] for test in report["self_tests"]) == report["ok"]
    protections = {item["name"]: item for item in report["protections"]}
    for name in ("memory cgroup (memfd, shm, tmpfs)", "pids cgroup (thread cap)", "IPC isolation", "metadata denial",
                 "/proc confinement", "inotify confinement", "dies with the server", "catalog unreachable"):
        item = protections[name]
        assert item["applied"] or item["reason"], item  # applied, or skipped with the reason
    tests = {test["name"] for test in report["self_tests"]}
    assert {"no SysV IPC", "no inotify", "no host /proc", "catalog unreachable", "no surviving the server"} <= tests
    layers = {layer["name"]: layer for layer in report["layers"]}
    for name in ("cgroups", "fs_jail"):  # listed with applied/available and the reason when not
        assert name in layers and (layers[name]["applied"] or layers[name]["reason"])
    human = runner.invoke(app, ["sandbox", "check"])
    assert "protections:" in human.output and "catalog unreachable" in human.output


def test_sandbox_exec_runs_a_file_and_reports_json(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text("import sys\nprint('out')\nprint('err', file=sys.stderr)\n21 * 2\n")
    result = runner.invoke(app, ["sandbox", "exec", str(snippet)])
    data = json.loads(result.output)
    assert result.exit_code == 0
    assert (data["status"], data["stdout"], data["stderr"], data["value_repr"]) == ("ok", "out\n", "err\n", "42")
    assert set(data) >= {"duration_s", "truncated", "timed_out"}


def test_sandbox_exec_reads_stdin_and_reports_errors() -> None:
    result = runner.invoke(app, ["sandbox", "exec", "-"], input="open('/etc/passwd-not-here', 'w')\n")
    data = json.loads(result.output)
    assert data["status"] == "error" and "Error" in (data["error"] or "")
    missing = runner.invoke(app, ["sandbox", "exec", "/nonexistent/file.py"])
    assert missing.exit_code == 2 and "no such file" in missing.output
