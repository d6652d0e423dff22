"""Importing official MedAgentBench rows: refused without a FHIR server, run against one with it.

The user's server is played by ``medagentgym.fhir.server`` (what ``medagentgym fhir serve`` runs)
on a real port, holding a copy of the embedded test store; the rows are written here in the
official format, naming patients of that store.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medagentgym.catalog import get_dataset
from medagentgym.catalog.selection import read_samples_file
from medagentgym.cli import app
from medagentgym.datasets.medagentbench.importer import parse_row
from medagentgym.datasets.medagentbench.patients import generate_patients
from medagentgym.env import MedAgentEnv
from medagentgym.fhir import FhirStore, copy_store
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode

uvicorn = pytest.importorskip("uvicorn")
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared/reference/medagentgym-release/medagentbench"
CONTEXT = "It's 2023-11-13T10:15:00+00:00 now."


@pytest.fixture(scope="module")
def mab():
    dataset = get_dataset("medagentbench")
    dataset.build()
    return dataset


@pytest.fixture
def user_server(mab, tmp_path: Path) -> Iterator[tuple[str, FhirStore]]:
    """A FHIR server on a free local port serving a copy of the test split's store."""
    from medagentgym.fhir.server import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/fhir/"
    store = FhirStore(copy_store(mab.template("test"), tmp_path / "user-server.sqlite"), base_url=base)
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the stand-in FHIR server did not start"
    yield base, store
    server.should_exit = True
    thread.join(timeout=20)
    store.close()


def patient_with(state: str, value: str) -> Any:
    return next(p for p in generate_patients("test") if p.states.get(state) == value)


def official_rows() -> list[Any]:
    """Rows in the official format (our own text) naming patients of the test store."""
    first = generate_patients("test")[0]
    low_mg = patient_with("MG", "moderate")
    low_k = patient_with("K", "low")
    old_a1c = patient_with("A1C", "old")
    return [
        {"id": "task1_1", "instruction": f"Look up: name {first.given} {first.family} and DOB of "
                                         f"{first.birth_date.isoformat()}. Give the MRN.",
         "context": "", "sol": [first.mrn], "eval_MRN": first.mrn},
        {"id": "task2_1", "instruction": f"Age of patient {first.mrn}?", "context": CONTEXT, "sol": None,
         "eval_MRN": first.mrn},
        {"id": "task3_1", "instruction": f'Patient {first.mrn} has a blood pressure of "131/84 mmHg". File it.',
         "context": CONTEXT + " The flowsheet ID for blood pressure is BP.", "sol": None, "eval_MRN": first.mrn},
        {"id": "task5_1", "instruction": f"Magnesium check for {low_mg.mrn}.", "context": CONTEXT, "sol": None,
         "eval_MRN": low_mg.mrn},
        {"id": "task8_1", "instruction": f'Refer {first.mrn}. Put in the free text of the referral, "Situation: '
                                         'test referral note."', "context": CONTEXT, "sol": None,
         "eval_MRN": first.mrn},
        {"id": "task9_1", "instruction": f"Potassium check for {low_k.mrn}.", "context": CONTEXT, "sol": None,
         "eval_MRN": low_k.mrn},
        {"id": "task10_1", "instruction": f"HbA1c for {old_a1c.mrn}.", "context": CONTEXT, "sol": None,
         "eval_MRN": old_a1c.mrn},
        # rows that must be skipped, each with its line number
        {"id": "task11_1", "instruction": "x", "context": CONTEXT, "eval_MRN": first.mrn},
        {"id": "task4_1", "instruction": "x", "context": CONTEXT, "eval_MRN": "S0000000"},
        {"id": "task4_2", "instruction": "x", "context": CONTEXT, "eval_MRN": "../Patient"},
        {"id": "task3_2", "instruction": "no reading here", "context": CONTEXT, "eval_MRN": first.mrn},
        ["not", "an", "object"],
        "{broken json",
    ]


def write_rows(path: Path, rows: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_without_a_server_nothing_is_written_and_the_reason_is_clear(mab, tmp_path: Path) -> None:
    source = write_rows(tmp_path / "rows.jsonl", official_rows())
    output = tmp_path / "out.jsonl"
    with pytest.raises(ValueError, match="not in the embedded store.*--fhir-url"):
        mab.import_file(source, output)
    assert not output.exists()
    result = CliRunner().invoke(app, ["import", "medagentbench", str(source), "--output", str(output)])
    assert result.exit_code == 2 and not output.exists()
    assert "no samples were" in result.output.replace("\n", " ") or "no samples were" in str(result.stderr)


def test_the_official_file_is_refused_without_a_server(mab, tmp_path: Path) -> None:
    source = REFERENCE / "train_tasks.jsonl"
    if not source.is_file():
        pytest.skip("the official task file is not available")
    with pytest.raises(ValueError, match="not in the embedded store"):
        mab.import_file(source, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_rows_become_samples_over_the_users_server(mab, user_server, tmp_path: Path, sandbox_server) -> None:
    base, store = user_server
    source = write_rows(tmp_path / "rows.jsonl", official_rows())
    output = tmp_path / "samples.jsonl"
    result = CliRunner().invoke(
        app, ["import", "medagentbench", str(source), "--output", str(output), "--fhir-url", base, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["samples_written"] == 7 and report["rows_skipped"] == 6
    skipped = "\n".join(report["messages"])
    for line in (8, 9, 10, 11, 12, 13):
        assert f"line {line}: skipped" in skipped
    assert "S0000000 is not on the server" in skipped
    assert "agrees with the file's for 1 of 1" in skipped
    samples = list(read_samples_file(output))
    assert {s.category for s in samples} == {"patient_mrn", "patient_age", "record_bp", "magnesium_replacement",
                                             "ortho_referral", "potassium_replacement", "hba1c_check"}
    assert all(s.resources[0].kind == "fhir_store" and s.resources[0].path == base for s in samples)
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        for sample in samples:
            before = len(store.created())
            good = run_episode(env, OraclePolicy(), sample, run_id="import")
            assert good.success, (sample.id, good.score)
            made = store.created()[before:]  # what the episode wrote, on the user's server
            assert len(made) == len(sample.target.state.creates)  # type: ignore[union-attr]
            bad = run_episode(env, WrongAnswerPolicy(), sample, run_id="import")
            assert bad.status == "ok" and not bad.success, sample.id
    finally:
        env.close()
    referral = next(r for r in store.created() if r["resourceType"] == "ServiceRequest"
                    and r.get("note", [{}])[0].get("text") == "Situation: test referral note.")
    assert referral["code"]["coding"][0]["code"] == "306181000000106"


def test_an_unreachable_server_is_one_clear_error(mab, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = write_rows(tmp_path / "rows.jsonl", official_rows())
    with pytest.raises(ValueError, match="does not answer"):
        mab.import_file(source, tmp_path / "out.jsonl", fhir_url=f"http://127.0.0.1:{port}/fhir/")
    for bad in ("ftp://x/fhir", "http://user:pw@host/fhir", "localhost:8080"):
        with pytest.raises(ValueError, match="must be an http"):
            mab.import_file(source, tmp_path / "out.jsonl", fhir_url=bad)
    assert not (tmp_path / "out.jsonl").exists()


def test_the_official_rows_parse(tmp_path: Path) -> None:
    source = REFERENCE / "train_tasks.jsonl"
    if not source.is_file():
        pytest.skip("the official task file is not available")
    families = set()
    for line in source.read_text(encoding="utf-8").splitlines():
        instance, now, _ = parse_row(json.loads(line))
        families.add(instance.family)
        assert now.startswith("2023-11-13T10:15")
        if instance.family == "record_bp":
            assert instance.params["bp"].endswith("mmHg")
        if instance.family == "ortho_referral":
            assert instance.params["note_text"]
    assert len(families) == 10
