"""The command line, end to end, on toy samples and on the built-in catalog."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from medagentgym.cli import app
from medagentgym.runs.store import load_run

runner = CliRunner()


def _samples_file(tmp_path: Path, toy_samples) -> Path:
    path = tmp_path / "toy.samples.jsonl"
    path.write_text("".join(s.model_dump_json() + "\n" for s in toy_samples))
    return path


def test_run_report_and_validate_on_a_samples_file(tmp_path: Path, toy_samples) -> None:
    samples = _samples_file(tmp_path, toy_samples)
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", "--samples", str(samples), "--out", str(run_dir), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert len(load_run(run_dir)) == 6 and "100.0%" in result.output
    again = runner.invoke(app, ["run", "--samples", str(samples), "--out", str(run_dir), "--epochs", "2"])
    assert again.exit_code == 0 and "6 episodes already done" in again.output
    report = runner.invoke(app, ["report", str(run_dir)])
    assert report.exit_code == 0 and "toy/bmi" in report.output
    wrong_dir = tmp_path / "wrong"
    wrong = runner.invoke(app, ["run", "--policy", "wrong-answer", "--samples", str(samples), "--out", str(wrong_dir)])
    assert wrong.exit_code == 0 and all(not t.success for t in load_run(wrong_dir))
    valid = runner.invoke(app, ["validate", "--samples", str(samples)])
    assert valid.exit_code == 0 and "all 3 samples score 1" in valid.output


def test_validate_fails_on_a_broken_sample(tmp_path: Path, toy_samples) -> None:
    broken = toy_samples[1].model_copy(update={"target": toy_samples[1].target.model_copy(update={"value": 99.0})})
    path = tmp_path / "broken.jsonl"
    path.write_text(broken.model_dump_json() + "\n")
    result = runner.invoke(app, ["validate", "--samples", str(path)])
    assert result.exit_code == 1 and "FAIL" in result.output


def test_corrupt_samples_file_gets_a_clear_error(tmp_path: Path, toy_samples) -> None:
    path = _samples_file(tmp_path, toy_samples)
    with path.open("a") as handle:
        handle.write('{"id": "half a sample"\n')
    result = runner.invoke(app, ["run", "--samples", str(path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "unreadable sample line" in result.output
    assert not (tmp_path / "r").exists()


def test_unknown_names_are_clear_errors(tmp_path: Path) -> None:
    assert "unknown dataset" in runner.invoke(app, ["tasks", "list", "--dataset", "nope"]).output
    assert "unknown policy" in runner.invoke(app, ["run", "--policy", "nope"]).output
    shown = runner.invoke(app, ["tasks", "show", "not-an-id"])
    assert shown.exit_code == 2 and "not a generated sample id" in shown.output
    assert runner.invoke(app, ["report", str(tmp_path)]).exit_code == 2


def test_tasks_list_and_show_on_the_catalog() -> None:
    listed = runner.invoke(app, ["tasks", "list"])
    assert listed.exit_code == 0 and "medcalcbench" in listed.output and "mimic_iii" in listed.output
    from medagentgym.catalog import get_dataset

    ds = get_dataset("medcalcbench")
    category = ds.categories()[0].name
    sample = ds.generate(category, "test", 0, 0)
    hidden = runner.invoke(app, ["tasks", "show", sample.id])
    assert hidden.exit_code == 0
    view = json.loads(hidden.output)
    assert view["id"] == sample.id and "target" not in view and "solution" not in view
    revealed = json.loads(runner.invoke(app, ["tasks", "show", sample.id, "--reveal"]).output)
    assert revealed["target"]["value"] == sample.target.value


def test_a_bad_world_size_is_one_line_and_exit_2(monkeypatch) -> None:
    monkeypatch.setenv("MEDAGENTGYM_WORLD_PATIENTS", "lots")
    result = runner.invoke(app, ["tasks", "list"])
    assert result.exit_code == 2
    assert "MEDAGENTGYM_WORLD_PATIENTS" in result.output and "Traceback" not in result.output


def test_tasks_list_shows_the_ehr_datasets() -> None:
    result = runner.invoke(app, ["tasks", "list"])
    assert result.exit_code == 0
    for name in ("mimic_iii", "eicu", "treqs", "ehr_seqsql"):
        assert name in result.output


def test_openai_flags_reach_the_policy_and_price_the_run(tmp_path: Path, toy_samples, monkeypatch) -> None:
    """--price-input/--price-output, --context-window, --extra-body and --seeded (issue 14, item 6),
    against the mock LLM: the requests carry them and the cost is known."""
    from medagentgym.mock_llm import create_app, serve_mock
    from medagentgym.scoring.metrics import episode_cost

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    samples = _samples_file(tmp_path, toy_samples[:1])
    mock = create_app()
    run_dir = tmp_path / "priced"
    with serve_mock(mock) as base_url:
        result = runner.invoke(app, [
            "run", "--policy", "openai", "--model", "mock", "--base-url", base_url, "--samples", str(samples),
            "--out", str(run_dir), "--no-progress", "--price-input", "2.5", "--price-output", "10",
            "--context-window", "8192", "--extra-body", '{"top_k": 20}', "--seeded",
        ])
    assert result.exit_code == 0, result.output
    [episode] = load_run(run_dir)
    assert episode.policy.prices == {"prompt": 2.5, "completion": 10.0}
    assert episode.policy.sampling["seeded"] is True and episode.policy.sampling["extra_body"] == {"top_k": 20}
    assert episode.usage.total_tokens > 0 and (episode_cost(episode) or 0) > 0
    chats = [r.body for r in mock.state.mock.requests if "messages" in r.body and r.turn >= 0]
    assert chats and all(b.get("top_k") == 20 and "seed" in b for b in chats)
