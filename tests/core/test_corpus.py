"""Scales (default, full, leaderboard) and built corpora: counts, the leaderboard table, the
Parquet folder (load_dataset round trip, hidden targets kept out of the public files), tampering
refused, a killed build resumed, and a corpus as the sample source of validate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medagentgym.catalog import AnswerType, FollowUp, Resource, Sample, Solution, Target, all_datasets, get_dataset
from medagentgym.catalog import corpus as corpus_module
from medagentgym.catalog.corpus import (
    CorpusError,
    build_corpus,
    load_corpus,
    portable_resource,
    resolved_resource,
    sample_of,
    sample_rows,
    verify_corpus,
)
from medagentgym.catalog.dataset import category_counts
from medagentgym.catalog.leaderboard import LEADERBOARD_COUNTS, PAPER_LEADERBOARD_TOTALS, leaderboard_table
from medagentgym.catalog.selection import Selection, select_samples, selected_ids
from medagentgym.cli import app

runner = CliRunner()

#: The tiny corpus: two categories of each of these datasets, two samples per category and split.
TINY = ("medcalcbench", "biocoder")


def _tiny_counts(dataset, split, scale="default"):  # type: ignore[no-untyped-def]
    counts = category_counts(dataset, split, scale)
    return {name: min(n, 2) for name, n in list(counts.items())[:2]}


def _full_per_dataset() -> dict[str, dict[str, int]]:
    return {
        ds.name: {s: sum(category_counts(ds, s, "full").values()) for s in ("train", "test")} for ds in all_datasets()
    }


# --------------------------------------------------------------------------- scales


def test_leaderboard_table_is_recomputed_from_the_release_and_hits_the_paper_totals() -> None:
    assert leaderboard_table(_full_per_dataset()) == LEADERBOARD_COUNTS
    for split, total in PAPER_LEADERBOARD_TOTALS.items():
        assert sum(c[split] for c in LEADERBOARD_COUNTS.values()) == total
        per_dataset = {ds.name: sum(category_counts(ds, split, "leaderboard").values()) for ds in all_datasets()}
        assert sum(per_dataset.values()) == total
        assert per_dataset == {name: counts[split] for name, counts in LEADERBOARD_COUNTS.items()}


def test_leaderboard_is_a_prefix_of_the_full_split_in_every_category() -> None:
    for ds in all_datasets():
        for split in ("train", "test"):
            full, board = category_counts(ds, split, "full"), category_counts(ds, split, "leaderboard")
            assert set(board) == set(full)
            assert all(0 <= board[c] <= full[c] for c in full), ds.name
    board_ids = selected_ids(Selection(splits=["train", "test"], scale="leaderboard"))
    full_ids = set(selected_ids(Selection(splits=["train", "test"], scale="full")))
    assert len(board_ids) == 7_243 + 4_754 == len(set(board_ids))
    assert set(board_ids) <= full_ids
    assert len(full_ids) >= 72_413


def test_selected_ids_match_the_generated_samples() -> None:
    selection = Selection(datasets=["medcalcbench"], categories=["bmi", "mean-arterial-pressure"], splits=["train", "test"], scale="leaderboard")
    assert selected_ids(selection) == [s.id for s in select_samples(selection)]


def test_tasks_list_at_full_scale_reaches_the_paper() -> None:
    result = runner.invoke(app, ["tasks", "list", "--scale", "full"])
    assert result.exit_code == 0, result.output
    total = next(line for line in result.output.splitlines() if "total" in line)
    cells = [c.strip() for c in total.strip("│ ").split("│")]
    assert int(cells[1].split()[0]) >= 129
    assert int(cells[-2]) + int(cells[-1]) >= 72_413
    board = runner.invoke(app, ["tasks", "list", "--scale", "leaderboard"])
    assert "7243" in board.output and "4754" in board.output


@pytest.mark.parametrize(
    "argv",
    [
        ["tasks", "list", "--scale", "huge"],
        ["validate", "--scale", "Full"],
        ["run", "--scale", "all"],
        ["corpus", "build", "--scale", "x"],
        ["validate", "--corpus", "/nonexistent/corpus"],
    ],
)
def test_bad_scale_or_corpus_is_one_error_line(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output


# --------------------------------------------------------------------------- rows


def test_resources_are_stored_relative_to_the_cache_and_resolved_at_load(tmp_path: Path) -> None:
    cache, other = tmp_path / "cache", tmp_path / "elsewhere"
    inside = Resource(kind="sqlite", name="db", path=str(cache / "datasets" / "x" / "x.sqlite"))
    row = portable_resource(inside, cache)
    assert row["base"] == "cache" and row["path"] == "datasets/x/x.sqlite"
    assert resolved_resource(row, other).path == str(other / "datasets" / "x" / "x.sqlite")
    url = Resource(kind="fhir_store", name="fhir", path="http://127.0.0.1:8080/fhir")
    assert portable_resource(url, cache)["base"] == "url"
    for hostile in ("../../etc/passwd", "/etc/passwd", "datasets/../../../root"):
        with pytest.raises(CorpusError, match="leaves the cache"):
            resolved_resource({"name": "db", "kind": "sqlite", "path": hostile, "base": "cache"}, other)


def test_rows_round_trip_a_sequential_sample(tmp_path: Path) -> None:
    target = Target(answer_type=AnswerType.INTEGER, value=7)
    sample = Sample(
        id="toy/seq/test/0/0",
        dataset="toy",
        category="seq",
        split="test",
        index=0,
        seed=0,
        prompt="How many?",
        resources=(Resource(kind="file", name="f", path=str(tmp_path / "f.csv")),),
        target=target,
        solution=Solution(code="answer = 7"),
        metadata={"gold": "SELECT 7", "nested": {"k": [1, 2]}},
        followups=(FollowUp(prompt="And then?", target=target, solution=Solution(code="answer = 7")),),
    )
    public, hidden = sample_rows(sample, tmp_path)
    assert public["questions"] == 2 and "target" not in public and "And then?" not in json.dumps(public)
    assert sample_of(public, hidden, tmp_path) == sample


# --------------------------------------------------------------------------- built corpus


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two categories of medcalcbench and biocoder, two samples per category and split, built
    by two spawned workers."""
    out = tmp_path_factory.mktemp("corpus") / "tiny"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(corpus_module, "category_counts", _tiny_counts)
        manifest = build_corpus(out, scale="full", datasets=list(TINY), workers=2)
    assert manifest.totals == {"train": 8, "test": 8}
    return out


def test_the_corpus_folder_has_manifest_card_and_checksums(tiny_corpus: Path) -> None:
    manifest = verify_corpus(tiny_corpus)
    assert manifest.scale == "full" and manifest.world["patients"] == 1000
    assert manifest.generator["package"] == "medagentgym"
    assert len(manifest.corpus_version) == 16
    assert {f.kind for f in manifest.files} == {"data", "hidden"}
    assert sum(n for by in manifest.counts["test"].values() for n in by.values()) == 8
    card = (tiny_corpus / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and manifest.corpus_version in card


def test_load_dataset_reads_the_public_and_hidden_configs(tiny_corpus: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    public = datasets.load_dataset(str(tiny_corpus), cache_dir=str(tmp_path / "hf"))
    assert {split: len(public[split]) for split in public} == {"train": 8, "test": 8}
    assert set(public["test"].column_names) == {
        "id", "dataset", "category", "split", "index", "seed", "prompt", "answer_type", "questions", "resources"
    }
    hidden = datasets.load_dataset(str(tiny_corpus), "hidden", cache_dir=str(tmp_path / "hf"))
    assert sorted(hidden["test"]["id"]) == sorted(public["test"]["id"])
    assert set(hidden["test"].column_names) == {"id", "target", "solution", "followups", "metadata"}


def test_load_corpus_gives_back_the_generated_samples(tiny_corpus: Path) -> None:
    for split in ("train", "test"):
        loaded = load_corpus(tiny_corpus, split)
        assert len(loaded) == 8
        for sample in loaded:
            dataset, category, _, seed, index = sample.id.split("/")
            again = get_dataset(dataset).generate(category, split, int(index), int(seed))  # type: ignore[arg-type]
            assert sample.model_dump(mode="json") == again.model_dump(mode="json")


def test_no_target_or_solution_reaches_the_public_files(tiny_corpus: Path) -> None:
    import pyarrow.parquet as pq

    public_text = "\n".join(
        json.dumps(pq.read_table(path).to_pylist()) for path in sorted((tiny_corpus / "data").glob("*.parquet"))
    )
    raw_public = b"".join(path.read_bytes() for path in (tiny_corpus / "data").glob("*"))
    for split in ("train", "test"):
        for sample in load_corpus(tiny_corpus, split):
            assert sample.solution.code not in public_text
            secret = json.dumps(sample.target.model_dump(mode="json")["value"])
            if len(secret) >= 8:
                assert secret not in public_text, sample.id
            if sample.target.tests is not None:
                for case in sample.target.tests.cases:
                    expected = json.dumps(case.expected)
                    assert len(expected) < 8 or expected not in public_text
    assert b"solution" not in raw_public and b"target" not in raw_public.replace(b"targets-", b"")


def _copy(corpus: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    return copy


@pytest.mark.parametrize("attack", ["flip_byte", "extra_file", "missing_file", "version", "escape_path"])
def test_a_tampered_corpus_is_refused_with_one_line(tiny_corpus: Path, tmp_path: Path, attack: str) -> None:
    copy = _copy(tiny_corpus, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    hidden = next(f["path"] for f in manifest["files"] if f["kind"] == "hidden")
    if attack == "flip_byte":
        data = bytearray((copy / hidden).read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy / hidden).write_bytes(bytes(data))
    elif attack == "extra_file":
        shutil.copy(copy / hidden, copy / "data" / "test-injected.parquet")
    elif attack == "missing_file":
        (copy / hidden).unlink()
    else:
        if attack == "version":
            manifest["corpus_version"] = "0" * 16
        else:
            manifest["files"][0]["path"] = "../../outside.parquet"
        (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="tamper|outside"):
        load_corpus(copy, "test")
    result = runner.invoke(app, ["validate", "--corpus", str(copy), "--no-progress"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert len(load_corpus(tiny_corpus, "test")) == 8  # the intact corpus still loads


def test_a_corpus_is_a_selection_source_with_filters(tiny_corpus: Path) -> None:
    category = verify_corpus(tiny_corpus).files[0].category
    selection = Selection(corpus=str(tiny_corpus), splits=["train", "test"], categories=[category], limit_per_category=1)
    samples = list(select_samples(selection))
    assert [s.category for s in samples] == [category, category]
    assert selected_ids(selection) == [s.id for s in samples]
    with pytest.raises(CorpusError, match="no dataset"):
        list(select_samples(Selection(corpus=str(tiny_corpus), datasets=["mimic_iii"])))


def test_validate_runs_the_oracle_over_a_corpus(tiny_corpus: Path) -> None:
    result = runner.invoke(app, ["validate", "--corpus", str(tiny_corpus), "--split", "test", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "all 8 samples score 1" in result.output


def test_a_killed_build_resumes_without_redoing_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_module, "category_counts", _tiny_counts)
    clean = build_corpus(tmp_path / "clean", scale="full", datasets=["medcalcbench"], workers=1)
    built: list[str] = []
    real = corpus_module.build_chunk

    def dying(out: str, chunk, stamp: str):  # type: ignore[no-untyped-def]
        if len(built) == 2:
            raise KeyboardInterrupt  # the kill, between two chunks
        built.append(chunk.stem)
        return real(out, chunk, stamp)

    monkeypatch.setattr(corpus_module, "build_chunk", dying)
    out = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        build_corpus(out, scale="full", datasets=["medcalcbench"], workers=1)
    assert not (out / "manifest.json").exists()
    first = list(built)
    # a half-written file of the next chunk (a kill during its write) is never taken as built
    (out / "data" / "test-medcalcbench.garbage.parquet.tmp").write_bytes(b"PAR1")
    built.clear()
    monkeypatch.setattr(corpus_module, "build_chunk", real)
    lines: list[str] = []
    resumed = build_corpus(out, scale="full", datasets=["medcalcbench"], workers=1, log=lines.append)
    assert any("2 of 4 chunks" in line for line in lines), lines
    assert not any(stem.split("-", 1)[1] in line for stem in first for line in lines if line.startswith("["))
    assert resumed.corpus_version == clean.corpus_version


def test_building_into_a_folder_that_holds_something_else_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_module, "category_counts", _tiny_counts)
    out = tmp_path / "c"
    build_corpus(out, scale="full", datasets=["medcalcbench"], workers=1)
    again = build_corpus(out, scale="full", datasets=["medcalcbench"], workers=1)  # up to date: nothing to do
    assert again.corpus_version == verify_corpus(out).corpus_version
    with pytest.raises(CorpusError, match="use another --out"):
        build_corpus(out, scale="leaderboard", datasets=["medcalcbench"], workers=1)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    with pytest.raises(CorpusError, match="not empty"):
        build_corpus(junk, scale="full", datasets=["medcalcbench"], workers=1)
    assert (junk / "notes.txt").read_text() == "mine"


def test_a_corpus_inside_the_data_cache_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sandbox sessions may read the data cache (bubblewrap binds it whole): the hidden targets
    of a corpus must never be written there, even through a relative or dotted path."""
    from medagentgym.paths import cache_dir

    monkeypatch.setattr(corpus_module, "category_counts", _tiny_counts)
    cache = cache_dir()
    for out in (cache, cache / "corpora" / "full", cache / "x" / ".." / "corpus"):
        with pytest.raises(CorpusError, match="inside the data cache"):
            build_corpus(out, scale="full", datasets=["medcalcbench"], workers=1)
        assert not (cache / "corpora").exists() and not (cache / "corpus").exists()
    monkeypatch.chdir(cache)
    refused = runner.invoke(app, ["corpus", "build", "-d", "medcalcbench", "--workers", "1", "--out", "c"])
    assert refused.exit_code == 2 and refused.output.strip().startswith("error:") and "data cache" in refused.output
    assert not (cache / "c").exists()


def test_corpus_build_and_verify_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_module, "category_counts", _tiny_counts)
    monkeypatch.delenv("MEDAGENTGYM_WORLD_PATIENTS", raising=False)  # restored whatever --world-patients does
    out = tmp_path / "c"
    built = runner.invoke(app, ["corpus", "build", "-d", "medcalcbench", "--workers", "1", "--out", str(out)])
    assert built.exit_code == 0, built.output
    version = verify_corpus(out).corpus_version
    assert f"corpus {version}" in built.output
    checked = runner.invoke(app, ["corpus", "verify", str(out)])
    assert checked.exit_code == 0 and version in checked.output
    data = next((out / "data").glob("*.parquet"))
    data.write_bytes(data.read_bytes() + b"\0")
    refused = runner.invoke(app, ["corpus", "verify", str(out)])
    assert refused.exit_code == 2 and refused.output.strip().startswith("error:") and "checksum" in refused.output
    for argv in (["corpus", "build", "-d", "nosuch"], ["corpus", "build", "--workers", "0"], ["corpus", "build", "--world-patients", "3"]):
        bad = runner.invoke(app, [*argv, "--out", str(tmp_path / "other")])
        assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1, bad.output


def test_checked_selection_takes_a_scale_and_refuses_an_unknown_one() -> None:
    from medagentgym.catalog.selection import checked_selection

    assert checked_selection("medcalcbench", scale="leaderboard").scale == "leaderboard"
    with pytest.raises(ValueError, match="unknown scale"):
        checked_selection("medcalcbench", scale="everything")
