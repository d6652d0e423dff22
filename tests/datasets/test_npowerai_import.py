"""npowerai importer: targets from the question text, official answers kept and contradictions
flagged, hostile lines skipped with their line numbers, atomic output, and conformance with the
release's train file (100% once the official generator's four slips are emulated)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.cli import app
from medagentgym.datasets.npowerai import DATASET, methods
from medagentgym.datasets.npowerai.official import (
    SLIPS,
    OfficialRowError,
    read_official,
)

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "medagentgym-release" / "npowerai"
SLIP_FAMILIES = {f"{task_type} / {asks}" for task_type, asks in SLIPS}


def run_solution(code: str) -> object:
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - our own reference code
    return namespace["answer"]


# Synthetic questions written for these tests: they carry the phrases the parsers anchor on,
# in wording of our own.
Q_ONE_SAMPLE_SIZE = (
    "The population mean in general is 120. We expect our sample to be 104.5 with a standard deviation of 9.2. "
    "We will perform a two-sided test with a power of 90% and a significance level of 0.05. How many?"
)
Q_ONE_SAMPLE_POWER = (
    "The population mean in general is 120. We expect our sample to be 100.0 with a standard deviation of 7.3. "
    "We recruited 37 participants and will perform a not equal test at a significance level of 0.05. Power?"
)
Q_PAIRED_POWER = (
    "A drug should reduce cholesterol levels 12.0 units with a standard deviation of 38, before and after "
    "measurements have a correlation coefficient of 0.5, and we take a random sample of 53 adults. Power at a "
    "significance level of 0.05?"
)
Q_TWO_SAMPLE_SIZE = (
    "The mean difference between the two group will be 12.5 mg/dl; we assume the SD for diet A to be 15 and for "
    "diet B to be 17. Sample size per group for 80% power to perform a two-sided test at a significance level of 0.05?"
)
Q_ANOVA_SIZE = (
    "Means for the groups will be 550, 560, 545, and 570, respectively, with a common SD equal to the national "
    "value of 80. Students per group for 80% of power at a significance level of 0.05?"
)
Q_CHI2_POWER = (
    "Take a random sample of 900 college students. Severity proportions will be 0.3, 0.4, 0.2, 0.1 in females, "
    "and will be 0.35, 0.35, 0.2, 0.1 in males. Power at a significance level of 0.05?"
)
Q_COX_POWER = (
    "Two arms, each having 294 person. The probabilities of failure in groups E and C are 0.3707 and 0.4890, "
    "respectively. The hazard ratio of E versus C is assumed to be 0.5. Power of a two-sided test at a "
    "significance level of 0.05?"
)


def _row(task_type: str, asks: str, question: str, answer: object) -> str:
    return json.dumps({"task_type": task_type, "task_id": 0, "estimate_target": asks, "question": question, "answer": answer})


def _official(task_type: str, asks: str, question: str) -> float | int:
    """The answer the original generator would have written (its slips included)."""
    read = read_official(task_type, asks, question)
    return methods.compute(read.method, read.emulated_args)


GOOD_ROWS = [
    ("One-sample t-test", "size", Q_ONE_SAMPLE_SIZE),
    ("One-sample t-test", "power", Q_ONE_SAMPLE_POWER),
    ("Paired t-test", "power", Q_PAIRED_POWER),
    ("Two independent samples t-test", "size", Q_TWO_SAMPLE_SIZE),
    ("One-way ANOVA", "size", Q_ANOVA_SIZE),
    ("Chi-square test of independence", "power", Q_CHI2_POWER),
    ("Cox proportional-hazards model", "power", Q_COX_POWER),
]


def _write_file(path: Path) -> None:
    lines = [_row(t, a, q, _official(t, a, q)) for t, a, q in GOOD_ROWS]
    lines += [
        '{"task_type": "One-sample t-test", "estimate_target": "size", "question": "trunc',  # 8: invalid JSON
        "[1, 2, 3]",  # 9: not an object
        json.dumps({"task_type": "One-sample t-test", "question": Q_ONE_SAMPLE_SIZE, "answer": 4}),  # 10: missing field
        _row("One-sample t-test", "size", Q_ONE_SAMPLE_SIZE, True),  # 11: boolean answer
        _row("One-sample t-test", "size", Q_ONE_SAMPLE_SIZE, "four"),  # 12: string answer
        _row("Mann-Whitney U test", "size", "anything", 10),  # 13: no such category
        _row("One-sample t-test", "size", "A question in other words entirely.", 10),  # 14: wording not found
        _row("One-sample t-test", "size", Q_ONE_SAMPLE_SIZE.replace("power of 90%", "power of 100%"), 10),  # 15
        _row("One-sample t-test", "size", Q_ONE_SAMPLE_SIZE.replace("deviation of 9.2", "deviation of 0"), 10),  # 16
        _row("One-sample t-test", "size", Q_ONE_SAMPLE_SIZE + " " + "x" * 5000, 10),  # 17: too long
        "[" * 200 + "]" * 200,  # 18: nested too deep
        _row("Cox proportional-hazards model", "power", Q_COX_POWER.replace("to be 0.5", "to be 1.0"), 0.5),  # 19
    ]
    data = "\n".join(lines).encode("utf-8") + b"\n\xff\xfe not utf-8 at all\n\n"  # 20: invalid UTF-8
    path.write_bytes(data)


def test_import_synthetic_rows(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    _write_file(source)
    output = tmp_path / "out" / "samples.jsonl"
    report = DATASET.import_file(source, output)
    assert (report.rows_read, report.samples_written, report.rows_skipped) == (20, 7, 13)
    skipped_lines = {int(m.split()[1].rstrip(":")) for m in report.messages if m.startswith("line ")}
    assert skipped_lines == set(range(8, 21))
    details = report.details
    assert details["rows"] == 7
    # paired power (n 53 vs 42), two-sample size (difference 12.5 vs 10), Cox power (HR 0.5 vs 0.7)
    assert details["contradictory_rows"]["by_family"] == {
        "Cox proportional-hazards model / power": 1,
        "Paired t-test / power": 1,
        "Two independent samples t-test / size": 1,
    }
    assert details["reproduced_exactly"]["rows"] == 4
    assert details["emulation_agreement"] == {"rows": 7, "rate": 1.0}
    assert details["unsupported"] == {"Mann-Whitney U test / size": 1}

    samples = {s.category: s for s in (Sample.model_validate(json.loads(line)) for line in output.read_text("utf-8").splitlines())}
    assert len(samples) == 7
    for sample in samples.values():
        assert sample.split == "test" and sample.id.startswith(f"npowerai/{sample.category}/test/official-")
        assert run_solution(sample.solution.code) == sample.target.value == sample.metadata["our_value"]
        assert any(sample.prompt.startswith(question) for _, _, question in GOOD_ROWS)
        assert "Conventions" in sample.prompt
    one = samples["one-sample-t-power"]
    assert one.target.answer_type is AnswerType.NUMBER and one.target.value == pytest.approx(1.0, abs=1e-12)  # NaN guard
    assert one.metadata["reproduced"] and not one.metadata["contradictory"]
    paired = samples["paired-t-power"]
    assert paired.metadata["contradictory"] and paired.metadata["emulation_agrees"]
    assert paired.target.value == pytest.approx(methods.paired_t(12.0, 0.05, "one-sided", sd=38.0, correlation=0.5, n=53))
    assert paired.metadata["official_answer"] == pytest.approx(methods.paired_t(12.0, 0.05, "one-sided", sd=38.0, correlation=0.5, n=42))
    two = samples["two-sample-t-size"]
    assert two.target.answer_type is AnswerType.INTEGER and two.metadata["official_answer"] == 42
    assert two.target.value == methods.two_sample_t(12.5, 15.0, 17.0, 0.05, "two-sided", power=0.8) != 42
    anova = samples["anova-size"]
    assert anova.metadata["args"]["ddof"] == 1 and anova.metadata["reproduced"]
    cox = samples["cox-power"]
    assert cox.metadata["args"]["hazard_ratio"] == 0.5 and cox.metadata["contradictory"]

    train = DATASET.import_file(source, tmp_path / "train.jsonl", split="train")
    assert train.details["split"] == "train" and train.samples_written == 7


def test_hostile_text_cannot_make_the_parsers_run_long() -> None:
    """A list of thousands of numbers without its closing word, just under the length cap."""
    bomb = "1, " * 1300 + "x, and 2 respectivelyy"
    started = time.perf_counter()
    with pytest.raises(OfficialRowError):
        read_official("One-way ANOVA", "size", bomb)
    with pytest.raises(OfficialRowError):
        read_official("Chi-square test of independence", "size", "0.1, " * 790 + " in females")
    with pytest.raises(OfficialRowError):
        read_official("Cox proportional-hazards model", "size", "hazard ratio " * 300 + "groups E and C are 0.1 and 0.2")
    assert time.perf_counter() - started < 2.0


def test_effects_too_small_to_reach_the_power_are_skipped_quickly(tmp_path: Path) -> None:
    """A plausible-looking row whose size would exceed 10**7 costs a bounded search, not a hang."""
    tiny = Q_ONE_SAMPLE_SIZE.replace("to be 104.5", "to be 119.9999").replace("power of 90%", "power of 99%")
    source = tmp_path / "tiny.jsonl"
    source.write_text(_row("One-sample t-test", "size", tiny, 10) + "\n" + _row(*GOOD_ROWS[0], 12) + "\n", encoding="utf-8")
    started = time.perf_counter()
    report = DATASET.import_file(source, tmp_path / "out.jsonl")
    assert time.perf_counter() - started < 5.0
    assert (report.samples_written, report.rows_skipped) == (1, 1)
    assert report.messages[0].startswith("line 1: skipped, the stated numbers cannot be computed")


def test_failed_import_leaves_the_earlier_output(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    _write_file(source)
    output = tmp_path / "samples.jsonl"
    DATASET.import_file(source, output)
    before = output.read_bytes()
    with pytest.raises(OSError):
        DATASET.import_file(tmp_path / "missing.jsonl", output)
    assert output.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cli_import(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    _write_file(source)
    output = tmp_path / "cli.jsonl"
    result = CliRunner().invoke(app, ["import", "npowerai", str(source), "--output", str(output), "--split", "train", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["samples_written"] == 7 and report["details"]["emulation_agreement"]["rate"] == 1.0
    assert len(output.read_text("utf-8").splitlines()) == 7


# --------------------------------------------------------------------------- the release's file


def _reference_file() -> Path:
    path = REFERENCE / "train_tasks.jsonl"
    if not path.exists():
        pytest.skip(f"official npowerai reference file not found at {path} (shared/reference absent)")
    return path


def test_conformance_with_the_release_train_file(tmp_path: Path) -> None:
    """Our methods reproduce every official answer once the four slips are emulated; without
    them, exactly the rows of those four families disagree, and they are flagged."""
    output = tmp_path / "official.jsonl"
    report = DATASET.import_file(_reference_file(), output, split="train")
    details = report.details
    assert report.rows_skipped == 0 and report.samples_written == report.rows_read >= 800
    assert details["emulation_agreement"]["rate"] == 1.0
    assert details["reproduced_exactly"]["rate"] >= 0.66  # 582 / 865 measured (67.3%)
    assert set(details["contradictory_rows"]["by_family"]) == SLIP_FAMILIES
    for name, stats in details["families"].items():
        if name in SLIP_FAMILIES:
            assert stats["contradictory"] >= stats["rows"] - 2, (name, stats)  # a row may state the slipped number
        else:
            assert stats["reproduced"] == stats["rows"], (name, stats)
    assert len(details["contradictions"]) == details["contradictory_rows"]["rows"]
    # every imported sample's reference solution gives its target (sampled)
    for line in output.read_text("utf-8").splitlines()[::29]:
        sample = Sample.model_validate(json.loads(line))
        assert run_solution(sample.solution.code) == sample.target.value
