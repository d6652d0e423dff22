"""Importer for the original npowerai task files (JSONL rows: task_type, estimate_target,
question, answer).

Each row becomes a sample whose target is **what the question text says**: our method applied
to the numbers the text states (``official.read_official``). The official answer is kept in the
metadata, and a row whose official answer differs from its own text's answer is flagged as
contradictory and counted per family. The report also measures the conformance of our methods:
rows reproduced exactly from the text, and rows reproduced once the official generator's four
known slips are emulated (``official.SLIPS``).

Task files are untrusted input: each line is decoded on its own (``untrusted.iter_jsonl``), a bad
line or a row whose text or numbers are unusable is skipped with its line number, and the output
is written atomically (a failed import leaves an earlier output intact).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import ImportReport
from medagentgym.catalog.sample import Sample, Solution, Split
from medagentgym.datasets.npowerai.categories import (
    DATASET_NAME,
    CategorySpec,
    spec_for_official,
)
from medagentgym.datasets.npowerai.generate import make_target
from medagentgym.datasets.npowerai.methods import compute
from medagentgym.datasets.npowerai.official import (
    ASSUMPTIONS,
    OfficialRowError,
    read_official,
    same_answer,
)
from medagentgym.datasets.npowerai.solution import render_solution
from medagentgym.untrusted import iter_jsonl, model_json, write_lines_atomic

REQUIRED_FIELDS = ("task_type", "estimate_target", "question", "answer")
_MESSAGES_SHOWN = 200

ANSWER_FORMAT = {
    "size": "Answer with a whole number: the smallest sample size that reaches the stated power (round up).",
    "power": "Answer with the power as a proportion between 0 and 1 (for example 0.734), to at least three significant digits.",
}


class RowError(ValueError):
    """A row that cannot become a sample (the message says why)."""


def _check_row(row: Any) -> tuple[str, str, str, float | int]:
    if not isinstance(row, dict):
        raise RowError("not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in row]
    if missing:
        raise RowError(f"missing fields {missing}")
    task_type, asks, question, answer = (row[name] for name in REQUIRED_FIELDS)
    if not isinstance(task_type, str) or not isinstance(question, str) or asks not in ("size", "power"):
        raise RowError("task_type and question must be strings and estimate_target 'size' or 'power'")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(float(answer)):
        raise RowError(f"the official answer is not a finite number ({str(answer)[:40]!r})")
    return task_type, asks, question, answer


def _value(method: str, args: dict[str, Any]) -> float | int:
    """Our method's answer; any numerical failure is the row's problem, never the import's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = compute(method, args)
        except (ArithmeticError, ValueError, TypeError) as error:
            raise RowError(f"the stated numbers cannot be computed ({type(error).__name__}: {str(error)[:120]})") from None
    if not math.isfinite(float(value)):
        raise RowError("the stated numbers give no finite answer")
    return value


def _sample(spec: CategorySpec, split: Split, line: int, question: str, method: str, args: dict[str, Any], ours: float, meta: dict[str, Any]) -> Sample:
    prompt = (
        f"{question.strip()}\n\n"
        f"Conventions (those of the original benchmark where the question is silent): {ASSUMPTIONS[method]}\n\n"
        f"{ANSWER_FORMAT[spec.asks]}"
    )
    return Sample(
        id=f"{DATASET_NAME}/{spec.name}/{split}/official-{line}",
        dataset=DATASET_NAME,
        category=spec.name,
        split=split,
        index=line,
        seed=0,
        prompt=prompt,
        target=make_target(ours, spec),
        solution=Solution(language="python", code=render_solution(method, args)),
        metadata={"source": "official", "official_line": line, "method": method, "args": args, **meta},
    )


def _family_name(family: tuple[str, str]) -> str:
    return f"{family[0]} / {family[1]}"


def import_file(source: Path, output: Path, *, split: Split = "test") -> ImportReport:
    """Read official JSONL rows from ``source``; write samples as JSONL to ``output``."""
    rows_read = skipped = 0
    messages: list[str] = []
    lines: list[str] = []
    families: dict[str, dict[str, Any]] = {}
    contradictory: list[dict[str, Any]] = []
    unsupported: Counter[str] = Counter()
    reasons: Counter[str] = Counter()  # ImportReport.skipped_by_reason
    for line in iter_jsonl(source):
        rows_read += 1
        reason = "unreadable line"
        try:
            if line.error is not None:
                raise RowError(line.error)
            reason = "not a row of this dataset"
            task_type, asks, question, official_answer = _check_row(line.value)
            spec = spec_for_official(task_type, asks)
            if spec is None:
                unsupported[f"{task_type[:80]} / {asks}"] += 1
                reason = "no category for its task type"
                raise RowError(f"no category answers {task_type[:80]!r} / {asks}")
            reason = "question not understood"
            read = read_official(task_type, asks, question)
            ours = _value(read.method, read.args)
            emulated = _value(read.method, read.emulated_args)
        except (RowError, OfficialRowError) as error:
            skipped += 1
            reasons[reason] += 1
            if len(messages) < _MESSAGES_SHOWN:
                messages.append(f"line {line.number}: skipped, {str(error).splitlines()[0][:200]}")
            continue
        reproduced = same_answer(ours, official_answer)
        emulation_agrees = same_answer(emulated, official_answer)
        meta = {
            "official_task_type": task_type,
            "official_answer": official_answer,
            "our_value": ours,
            "reproduced": reproduced,
            "contradictory": not reproduced,
            "emulated_value": emulated,
            "emulation_agrees": emulation_agrees,
        }
        lines.append(model_json(_sample(spec, split, line.number, question, read.method, read.args, ours, meta)))
        stats = families.setdefault(
            _family_name(read.family),
            {"category": spec.name, "rows": 0, "reproduced": 0, "contradictory": 0, "emulation_agrees": 0},
        )
        stats["rows"] += 1
        stats["reproduced"] += reproduced
        stats["contradictory"] += not reproduced
        stats["emulation_agrees"] += emulation_agrees
        if not reproduced:
            contradictory.append(
                {"line": line.number, "family": _family_name(read.family), "official": official_answer, "text_says": ours, "emulated": emulated}
            )
    write_lines_atomic(output, lines)
    written = len(lines)
    if skipped > _MESSAGES_SHOWN:
        messages.append(f"... and {skipped - _MESSAGES_SHOWN} more skipped lines")

    def rate(count: int) -> float:
        return count / written if written else 0.0

    reproduced_total = sum(s["reproduced"] for s in families.values())
    emulated_total = sum(s["emulation_agrees"] for s in families.values())
    return ImportReport(
        dataset=DATASET_NAME,
        source=str(source),
        rows_read=rows_read,
        samples_written=written,
        rows_skipped=skipped,
        skipped_by_reason=dict(reasons),
        details={
            "split": split,
            "rows": written,
            "reproduced_exactly": {"rows": reproduced_total, "rate": rate(reproduced_total)},
            "contradictory_rows": {
                "rows": written - reproduced_total,
                "rate": rate(written - reproduced_total),
                "by_family": {name: s["contradictory"] for name, s in sorted(families.items()) if s["contradictory"]},
            },
            "emulation_agreement": {"rows": emulated_total, "rate": rate(emulated_total)},
            "families": dict(sorted(families.items())),
            "unsupported": dict(sorted(unsupported.items())),
            "contradictions": contradictory,
        },
        messages=messages,
    )
