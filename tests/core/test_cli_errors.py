"""Errors that explain (issue 14, item 5): bad input at the edge is one ``error:`` line saying what
was given, where, and what is accepted, with a non-zero exit, no traceback and nothing written;
the next command is unaffected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from medagentgym import __version__
from medagentgym.cli import app
from medagentgym.runs.store import TRAJECTORIES, load_run

runner = CliRunner()


def one_line_error(result: Any, *needles: str, code: int = 2) -> str:
    """The single line a refused command printed (asserting it is the only one)."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def samples_file(tmp_path: Path, toy_samples: list[Any]) -> Path:
    path = tmp_path / "toy.samples.jsonl"
    path.write_text("".join(s.model_dump_json() + "\n" for s in toy_samples))
    return path


SAMPLE_IDS = {
    "index not a number": ("medcalcbench/bmi/test/0/abc", ["index 'abc'", "non-negative integer"]),
    "seed not a number": ("medcalcbench/bmi/test/x/0", ["seed 'x'"]),
    "too few parts": ("medcalcbench/bmi/test/0", ["not a generated sample id", "dataset/category/split/seed/index"]),
    "too many parts": ("medcalcbench/bmi/test/0/0/0", ["not a generated sample id"]),
    "empty part": ("medcalcbench//test/0/0", ["not a generated sample id"]),
    "traversal": ("../../etc/passwd/0", ["unknown split 'etc'", "train, test"]),
    "traversal as dataset": ("../bmi/test/0/0", ["unknown dataset '..'"]),
    "unicode digit": ("medcalcbench/bmi/test/0/\u00b2", ["index"]),
    "leading zeros": ("medcalcbench/bmi/test/0/007", ["index '007'"]),
    "huge index": ("medcalcbench/bmi/test/0/" + "9" * 5000, ["index"]),
    "negative index": ("medcalcbench/bmi/test/0/-1", ["index '-1'"]),
    "split dev": ("medcalcbench/bmi/dev/0/0", ["unknown split 'dev'", "train, test"]),
    "beyond the catalog": ("medcalcbench/bmi/test/0/999999", ["index 999999 is out of range for medcalcbench/bmi/test (0.."]),
    "category typo": ("medcalcbench/bmii/test/0/0", ["unknown category 'bmii' in medcalcbench; did you mean 'bmi'?"]),
    "dataset typo": ("mimic3/x/test/0/0", ["unknown dataset 'mimic3'", "did you mean 'mimic_iii'?"]),
}


@pytest.mark.parametrize("case", list(SAMPLE_IDS))
def test_a_bad_sample_id_is_one_line(case: str) -> None:
    sample_id, needles = SAMPLE_IDS[case]
    one_line_error(runner.invoke(app, ["tasks", "show", sample_id]), *needles)


def test_the_last_index_of_a_category_is_accepted() -> None:
    from medagentgym.catalog import get_dataset

    [bmi] = [c for c in get_dataset("medcalcbench").categories() if c.name == "bmi"]
    last = bmi.count("test") - 1
    shown = runner.invoke(app, ["tasks", "show", f"medcalcbench/bmi/test/0/{last}"])
    assert shown.exit_code == 0 and json.loads(shown.output)["index"] == last
    one_line_error(runner.invoke(app, ["tasks", "show", f"medcalcbench/bmi/test/0/{last + 1}"]), f"(0..{last})")


def test_library_callers_get_a_key_error_naming_the_part() -> None:
    from medagentgym.catalog.selection import SampleIdError, find_sample

    with pytest.raises(KeyError, match="out of range") as refused:
        find_sample("medcalcbench/bmi/test/0/999999")
    assert isinstance(refused.value, SampleIdError) and not str(refused.value).startswith("'")


RUN_FLAGS = {
    "split": (["--split", "dev"], ["--split 'dev'", "train, test"]),
    "action format": (["--action-format", "xml"], ["--action-format 'xml'", "json, tools"]),
    "backend": (["--backend", "foo"], ["--backend 'foo'", "local, ray"]),
    "epochs": (["--epochs", "0"], ["--epochs 0", ">= 1"]),
    "concurrency": (["--concurrency", "0"], ["--concurrency 0", ">= 1"]),
    "model calls": (["--max-model-calls", "0"], ["--max-model-calls 0"]),
    "max turns": (["--max-turns", "0"], ["--max-turns 0"]),
    "limit": (["--limit-per-category", "-1"], ["--limit-per-category -1"]),
    "negative seed": (["--seed", "-1"], ["--seed -1", ">= 0"]),
    "episode timeout": (["--episode-timeout", "-1"], ["--episode-timeout -1", "> 0"]),
    "zero episode timeout": (["--episode-timeout", "0"], ["--episode-timeout 0"]),
    "request timeout nan": (["--policy", "openai", "--request-timeout", "nan"], ["--request-timeout nan"]),
    "category typo": (["--category", "bmii"], ["unknown category 'bmii'", "did you mean 'bmi' (medcalcbench)?"]),
    "category typo in a dataset": (["-d", "medcalcbench", "-c", "bmii"], ["unknown category 'bmii' in medcalcbench; did you mean 'bmi'?"]),
    "dataset typo": (["-d", "medcalc"], ["unknown dataset 'medcalc'", "did you mean 'medcalcbench'?"]),
    "openai flag on the oracle": (["--price-input", "1", "--price-output", "2"], ["--price-input, --price-output", "only the openai policy"]),
    "seeded on the oracle": (["--seeded"], ["--seeded: only the openai policy"]),
    "context window on transformers": (["--policy", "transformers", "--context-window", "9"], ["--context-window", "(policy: transformers)"]),
    "model flag on the oracle": (["--temperature", "0.5"], ["--temperature: the oracle policy does not take this", "action_format"]),
    "unknown policy option": (["--policy-option", "x=1"], ["--policy-option x"]),
    "one price": (["--policy", "openai", "--model", "m", "--price-input", "1"], ["--price-input and --price-output go together"]),
    "negative price": (["--policy", "openai", "--model", "m", "--price-input", "-1", "--price-output", "1"], ["--price-input -1"]),
    "extra body not json": (["--policy", "openai", "--model", "m", "--extra-body", "{"], ["--extra-body", "not valid JSON"]),
    "extra body a list": (["--policy", "openai", "--model", "m", "--extra-body", "[1]"], ["--extra-body", "not an object"]),
    "extra body too deep": (["--policy", "openai", "--model", "m", "--extra-body", "[" * 50_000], ["--extra-body", "nested deeper"]),
    "context window zero": (["--policy", "openai", "--model", "m", "--context-window", "0"], ["--context-window 0"]),
}


@pytest.mark.parametrize("case", list(RUN_FLAGS))
def test_a_bad_run_flag_is_one_line_and_writes_nothing(case: str, tmp_path: Path) -> None:
    flags, needles = RUN_FLAGS[case]
    out = tmp_path / "run"
    one_line_error(runner.invoke(app, ["run", "--out", str(out), "--no-progress", *flags]), *needles)
    assert not out.exists()


def test_bad_samples_files_are_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.jsonl"
    blank.write_bytes(b"\n  \n")
    cases = {
        tmp_path / "missing.jsonl": "no such samples file",
        tmp_path: "is a directory, not a samples file",
        empty: "holds no samples",
        blank: "holds no samples",
    }
    for path, needle in cases.items():
        out = tmp_path / "out"
        one_line_error(runner.invoke(app, ["run", "--samples", str(path), "--out", str(out)]), str(path), needle)
        assert not out.exists()
        one_line_error(runner.invoke(app, ["validate", "--samples", str(path)]), needle)
        one_line_error(runner.invoke(app, ["tasks", "show", "x", "--samples", str(path)]), needle)


def test_validate_and_tasks_list_check_names() -> None:
    one_line_error(runner.invoke(app, ["validate", "--split", "dev"]), "--split 'dev'")
    one_line_error(runner.invoke(app, ["validate", "--concurrency", "0"]), "--concurrency 0")
    one_line_error(runner.invoke(app, ["validate", "-d", "medcalcbench", "-c", "bmii"]), "did you mean 'bmi'?")
    one_line_error(runner.invoke(app, ["tasks", "list", "-d", "eicuu"]), "did you mean 'eicu'?")
    one_line_error(runner.invoke(app, ["data", "build", "treq"]), "did you mean 'treqs'?")


def test_a_corrupt_middle_line_is_named_by_run_and_report(tmp_path: Path, samples_file: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(out), "--no-progress"]).exit_code == 0
    lines = (out / TRAJECTORIES).read_bytes().splitlines(keepends=True)
    (out / TRAJECTORIES).write_bytes(lines[0] + b"{not json\n" + lines[2])  # line 2 lost its episode
    where = f"{out / TRAJECTORIES} line 2"
    for args in (["report", str(out), "--no-terminal"], ["report", str(out)]):
        reported = runner.invoke(app, args)
        assert reported.exit_code == 0 and f"{where}: skipped" in reported.output, reported.output
    resumed = runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(out), "--no-progress"])
    assert resumed.exit_code == 0
    assert f"warning: {where}: skipped" in resumed.output and "its episode runs again" in resumed.output
    assert "ran 1 episodes" in resumed.output and len(load_run(out)) == 3


def test_report_watch_needs_html_and_ends_cleanly(tmp_path: Path, samples_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import medagentgym.runs.html_report as html_report

    out = tmp_path / "run"
    assert runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(out), "--no-progress"]).exit_code == 0
    one_line_error(runner.invoke(app, ["report", str(out), "--watch"]), "--watch", "--html")
    calls: list[tuple[Any, ...]] = []

    def interrupted(runs: Any, target: Any, *, selectors: Any, on_write: Any) -> None:
        calls.append((runs, target, selectors))
        on_write(target / "index.html")
        raise KeyboardInterrupt  # Ctrl-C arriving while the watch writes

    monkeypatch.setattr(html_report, "watch_html_report", interrupted)
    watched = runner.invoke(app, ["report", str(out), "--html", str(tmp_path / "html"), "--watch", "--no-terminal"])
    assert watched.exit_code == 0, watched.output
    assert calls == [([out], tmp_path / "html", None)]
    assert f"HTML report: {tmp_path / 'html' / 'index.html'}" in watched.output
    assert "Traceback" not in watched.output and "stopped watching" in watched.output


def test_report_watch_with_the_real_watcher_stops_on_ctrl_c(
    tmp_path: Path, samples_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real watch loop, its sleep replaced by Ctrl-C: the report is written, exit 0."""
    import medagentgym.runs.html_report as html_report

    out = tmp_path / "run"
    assert runner.invoke(app, ["run", "--samples", str(samples_file), "--out", str(out), "--no-progress"]).exit_code == 0

    def ctrl_c(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(html_report.watch_html_report.__kwdefaults__, "sleep", ctrl_c)
    watched = runner.invoke(app, ["report", str(out), "--html", str(tmp_path / "html"), "--watch"])
    assert watched.exit_code == 0, watched.output
    assert (tmp_path / "html" / "index.html").exists() and "stopped watching" in watched.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"medagentgym {__version__}"


def _command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under a group (typer's groups have ``commands``; typer may vendor click)."""
    paths = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        paths.append((*prefix, name))
        paths.extend(_command_paths(command, (*prefix, name)))
    return paths


def test_every_help_page_works() -> None:
    paths = _command_paths(typer.main.get_command(app))
    assert {("run",), ("report",), ("import",), ("models",), ("tasks", "show")} <= set(paths)
    for path in [(), *paths]:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, (path, result.output)
