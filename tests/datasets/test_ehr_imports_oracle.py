"""Every imported official EHR row, through the real env and sandbox: the oracle scores 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from medagentgym.catalog import get_dataset
from medagentgym.catalog.selection import Selection
from medagentgym.validation import validate

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release"


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mimic_iii", "eicu", "treqs"])
def test_oracle_scores_one_on_every_imported_sample(world_cache: Path, monkeypatch, tmp_path: Path, dataset: str) -> None:
    source = REFERENCE / dataset / "train_tasks.jsonl"
    if not source.exists():
        pytest.skip(f"official {dataset} task file not found at {source} (../shared/reference absent)")
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(world_cache))
    out = tmp_path / f"{dataset}.samples.jsonl"
    report = get_dataset(dataset).import_file(source, out)
    rows = report.rows_read
    assert report.details["gold_executed"] >= 0.99 * rows
    assert report.samples_written >= 0.90 * rows, report.details
    result = validate(Selection(samples_file=str(out)), concurrency=4)
    assert result.total == report.samples_written
    assert not result.failures, result.failures[:5]
