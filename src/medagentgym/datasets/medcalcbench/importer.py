"""Importer for the official MedCalc-Bench task files (JSONL rows of the MedAgentGym release).

One sample per row whose calculator is implemented here: the prompt shows the patient note and
the question, the target is the official answer with its official range (a date answer,
"09/23/2014", must be that exact calendar date; a gestational age, "('4 weeks', '3 days')",
becomes ``[4, 3]`` and must match exactly), and the reference
solution recomputes the answer from the row's "Relevant Entities" with our calculator. Running
that solution (the oracle) therefore measures how often our calculators agree with the labels;
``ImportReport.details`` records that agreement per calculator.

Task files are third-party input: each line is read on its own (``untrusted.iter_jsonl``), so an
invalid byte, invalid JSON, nesting too deep, missing fields or fields of the wrong type skip that
row with its line number, and the output is written atomically (a failed import leaves an
earlier output intact).
"""

from __future__ import annotations

import datetime
from collections import Counter
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import ImportReport
from medagentgym.catalog.sample import AnswerType, Sample, Solution, Split, Target
from medagentgym.datasets.medcalcbench.categories import DATASET_NAME, CalculatorSpec, spec_by_official_id
from medagentgym.datasets.medcalcbench.entities import EntityError, givens_from_entities, parse_entities
from medagentgym.datasets.medcalcbench.generate import build_prompt
from medagentgym.datasets.medcalcbench.solution import compute, render_solution
from medagentgym.scoring.parsing import AnswerParseError, parse_date, parse_weeks_days
from medagentgym.untrusted import iter_jsonl, model_json, write_lines_atomic

REQUIRED_FIELDS = ("Row Number", "Calculator ID", "Patient Note", "Question", "Relevant Entities", "Ground Truth Answer")


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _official_date(answer: Any) -> Target:
    """A date answer: one calendar date (no time of day), kept as the official spelling."""
    try:
        parsed = parse_date(answer)
    except AnswerParseError as error:
        raise EntityError(f"Ground Truth Answer is not a date: {error}") from None
    if isinstance(parsed.value, datetime.datetime):
        raise EntityError("Ground Truth Answer holds a time of day; a date answer is a calendar date")
    return Target(answer_type=AnswerType.DATE, value=str(answer).strip())


def _official_weeks_days(answer: Any) -> Target:
    """A gestational age, "('4 weeks', '3 days')" in the official files, as ``[4, 3]``."""
    try:
        weeks, days = parse_weeks_days(answer).value
    except AnswerParseError as error:
        raise EntityError(f"Ground Truth Answer is not weeks and days: {error}") from None
    return Target(answer_type=AnswerType.WEEKS_DAYS, value=[weeks, days])


def official_target(row: dict[str, Any], spec: CalculatorSpec) -> Target:
    """The official answer: a date or weeks and days for the pregnancy calculators, an exact
    integer for scores with a point range, else a number range."""
    if spec.answer_type is AnswerType.DATE:
        return _official_date(row["Ground Truth Answer"])
    if spec.answer_type is AnswerType.WEEKS_DAYS:
        return _official_weeks_days(row["Ground Truth Answer"])
    answer = _float(row["Ground Truth Answer"])
    if answer is None:
        raise EntityError(f"Ground Truth Answer is not a number: {row['Ground Truth Answer']!r}")
    lower, upper = _float(row.get("Lower Limit")), _float(row.get("Upper Limit"))
    if spec.answer_type is AnswerType.INTEGER and answer.is_integer() and (lower is None or lower == upper):
        return Target(answer_type=AnswerType.INTEGER, value=int(answer))
    if lower is None or upper is None:
        lower, upper = sorted((answer * (1 - spec.tolerance), answer * (1 + spec.tolerance)))
    return Target(answer_type=AnswerType.NUMBER, value=answer, lower=lower, upper=upper)


def within(target: Target, value: Any) -> bool:
    """Whether our value is the official answer (dates: the same calendar date)."""
    if value is None:
        return False
    if target.answer_type is AnswerType.DATE:
        try:
            return parse_date(value).value == parse_date(target.value).value
        except AnswerParseError:
            return False
    if target.answer_type is AnswerType.WEEKS_DAYS:
        return list(value) == list(target.value)
    if target.answer_type is AnswerType.INTEGER:
        return int(value) == int(target.value) and float(value) == float(int(value))
    assert target.lower is not None and target.upper is not None
    return target.lower <= float(value) <= target.upper


def convert_row(row: dict[str, Any], spec: CalculatorSpec, split: Split) -> tuple[Sample, Any, str | None]:
    """The sample of one official row, our value for it (None if not computable) and why not."""
    target = official_target(row, spec)
    row_number = int(row["Row Number"])
    ours: Any = None
    problem: str | None = None
    try:
        givens, _unused = givens_from_entities(spec, parse_entities(str(row["Relevant Entities"])))
        ours = compute(spec.function, givens, spec.answer_type)
        code = render_solution(spec.function, givens, spec.answer_type)
    except (EntityError, ZeroDivisionError, ValueError, KeyError, OverflowError, TypeError) as error:
        problem = " ".join(f"{type(error).__name__}: {error}".split())  # one line: it becomes a comment
        code = f"# The official entities cannot feed the calculator: {problem}\nanswer = None\n"
    note = str(row["Patient Note"]).strip()
    sample = Sample(
        id=f"{DATASET_NAME}/{spec.name}/{split}/official-{row_number}",
        dataset=DATASET_NAME,
        category=spec.name,
        split=split,
        index=row_number,
        seed=0,
        prompt=build_prompt(note, str(row["Question"]).strip(), target.answer_type),
        target=target,
        solution=Solution(language="python", code=code),
        metadata={
            "source": "official",
            "official_row_number": row_number,
            "official_calculator_id": spec.official_id,
            "official_answer": row["Ground Truth Answer"],
            "official_lower": row.get("Lower Limit"),
            "official_upper": row.get("Upper Limit"),
            "our_value": ours,
            "agrees": within(target, ours),
        },
    )
    return sample, ours, problem


def import_file(source: Path, output: Path, *, split: Split = "test") -> ImportReport:
    """Read official JSONL rows from ``source``; write samples as JSONL to ``output``."""
    rows_read = written = skipped = 0
    messages: list[str] = []
    unsupported: Counter[str] = Counter()
    agreement: dict[str, dict[str, Any]] = {}
    disagreements: list[dict[str, Any]] = []
    lines: list[str] = []
    for line in iter_jsonl(source):
        rows_read += 1
        line_number, row = line.number, line.value
        try:
            if line.error is not None:
                raise ValueError(line.error)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            missing = [name for name in REQUIRED_FIELDS if name not in row]
            if missing:
                raise ValueError(f"missing fields {missing}")
            calculator_id = int(row["Calculator ID"])
        except (ValueError, TypeError, OverflowError) as error:
            skipped += 1
            messages.append(f"line {line_number}: skipped, unreadable row ({error})")
            continue
        spec = spec_by_official_id(calculator_id)
        if spec is None:
            skipped += 1
            unsupported[f"{calculator_id}: {str(row.get('Calculator Name', '?'))[:80]}"] += 1
            continue
        try:
            sample, ours, problem = convert_row(row, spec, split)
            text = model_json(sample)
        except (EntityError, ValueError, TypeError, OverflowError) as error:
            skipped += 1
            messages.append(f"line {line_number}: skipped, {str(error).splitlines()[0][:200]}")
            continue
        lines.append(text)
        written += 1
        stats = agreement.setdefault(spec.name, {"official_id": spec.official_id, "rows": 0, "agree": 0, "not_computable": 0})
        stats["rows"] += 1
        if sample.metadata["agrees"]:
            stats["agree"] += 1
        else:
            if problem is not None:
                stats["not_computable"] += 1
            disagreements.append(
                {
                    "row": sample.metadata["official_row_number"],
                    "category": spec.name,
                    "ours": ours,
                    "official": row["Ground Truth Answer"],
                    "lower": row.get("Lower Limit"),
                    "upper": row.get("Upper Limit"),
                    "problem": problem,
                }
            )
    write_lines_atomic(output, lines)
    for stats in agreement.values():
        stats["rate"] = stats["agree"] / stats["rows"] if stats["rows"] else 0.0
    total_rows = sum(s["rows"] for s in agreement.values())
    total_agree = sum(s["agree"] for s in agreement.values())
    if unsupported:
        messages.append(f"{sum(unsupported.values())} rows of calculators not implemented here were skipped")
    return ImportReport(
        dataset=DATASET_NAME,
        source=str(source),
        rows_read=rows_read,
        samples_written=written,
        rows_skipped=skipped,
        details={
            "split": split,
            "agreement": dict(sorted(agreement.items())),
            "overall": {"rows": total_rows, "agree": total_agree, "rate": total_agree / total_rows if total_rows else 0.0},
            "unsupported_calculators": dict(sorted(unsupported.items())),
            "disagreements": disagreements,
        },
        messages=messages,
    )
