"""Importer for the official MedCalc-Bench task files (JSONL rows of the MedAgentGym release).

One sample per row whose calculator is implemented here: the prompt shows the patient note and
the question, and the reference solution recomputes the answer from the row's "Relevant
Entities" with our calculator (its published formula). The target depends on the ``target``
option:

- ``"official"`` (default): the official answer with its official range (a date answer,
  "09/23/2014", must be that exact calendar date; a gestational age, "('4 weeks', '3 days')",
  becomes ``[4, 3]`` and must match exactly). This measures a model against the benchmark as
  published, label slips included.
- ``"recomputed"``: our published-formula value, with the calculator's usual tolerance (numbers)
  or exactly (scores, dates, weeks and days), so a researcher can train on correct targets. The
  official answer stays in the metadata. A row whose entities cannot feed our calculator has no
  such target and is skipped (with its line number).

Either way the reference solution scores 1 against the target wherever our value is computable.

Every row is also checked against the known label slips (``label_rules.py``): besides
``agrees`` (our value inside the official range), the metadata records the label rule of the
calculator, the value it gives and whether it reproduces the official answer.
``ImportReport.details`` sums this per calculator and overall: rows, agree, reproduced by a
label rule, explained (agree or reproduced), the unexplained rows, and the rate of each.

Task files are third-party input: each line is read on its own (``untrusted.iter_jsonl``), so an
invalid byte, invalid JSON, nesting too deep, missing fields or fields of the wrong type skip that
row with its line number, and the output is written atomically (a failed import leaves an
earlier output intact). Entities are read with ``ast.literal_eval`` and label rules never raise
on them (``label_rules.label_value``).
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from medagentgym.catalog.dataset import ImportReport
from medagentgym.catalog.sample import AnswerType, Sample, Solution, Split, Target
from medagentgym.datasets.medcalcbench.categories import (
    DATASET_NAME,
    CalculatorSpec,
    spec_by_official_id,
)
from medagentgym.datasets.medcalcbench.entities import (
    EntityError,
    givens_from_entities,
    parse_entities,
)
from medagentgym.datasets.medcalcbench.generate import build_prompt, make_target
from medagentgym.datasets.medcalcbench.label_rules import label_value, rule_for
from medagentgym.datasets.medcalcbench.solution import compute, render_solution
from medagentgym.scoring.parsing import AnswerParseError, parse_date, parse_weeks_days
from medagentgym.untrusted import iter_jsonl, model_json, write_lines_atomic

REQUIRED_FIELDS = ("Row Number", "Calculator ID", "Patient Note", "Question", "Relevant Entities", "Ground Truth Answer")
TargetMode = Literal["official", "recomputed"]
TARGET_MODES: tuple[str, ...] = ("official", "recomputed")


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
    """Whether a value is the official answer (dates: the same calendar date)."""
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


@dataclass(frozen=True)
class ConvertedRow:
    """One official row, checked: its sample (None when a recomputed target was asked for and
    our value is not computable), our value and why it is missing, and the label checks."""

    sample: Sample | None
    ours: Any
    problem: str | None
    agrees: bool
    label_rule: str | None
    label_rule_value: Any
    label_rule_reproduces: bool

    @property
    def explained(self) -> bool:
        """Our value is the label, or a known label slip reproduces it."""
        return self.agrees or self.label_rule_reproduces


def convert_row(row: dict[str, Any], spec: CalculatorSpec, split: Split, target: TargetMode = "official") -> ConvertedRow:
    """The sample of one official row (its target chosen by ``target``) and its label checks."""
    official = official_target(row, spec)
    row_number = int(row["Row Number"])
    ours: Any = None
    problem: str | None = None
    entities: dict[str, Any] | None = None
    try:
        entities = parse_entities(str(row["Relevant Entities"]))
        givens, _unused = givens_from_entities(spec, entities)
        ours = compute(spec.function, givens, spec.answer_type)
        code = render_solution(spec.function, givens, spec.answer_type)
    except (EntityError, ZeroDivisionError, ValueError, KeyError, OverflowError, TypeError) as error:
        problem = " ".join(f"{type(error).__name__}: {error}".split())  # one line: it becomes a comment
        code = f"# The official entities cannot feed the calculator: {problem}\nanswer = None\n"
    rule = rule_for(spec.name)
    rule_value = label_value(rule, entities, spec.answer_type) if rule is not None and entities is not None else None
    agrees, reproduces = within(official, ours), within(official, rule_value)
    checks = {
        "agrees": agrees,
        "label_rule": rule.name if rule is not None else None,
        "label_rule_value": rule_value,
        "label_rule_reproduces": reproduces,
    }
    if target == "recomputed" and ours is None:
        return ConvertedRow(None, ours, problem, **checks)
    chosen = official if target == "official" else make_target(ours, spec.answer_type, spec.tolerance)
    suffix = "" if target == "official" else "-recomputed"  # a run never mixes the two targets under one id
    sample = Sample(
        id=f"{DATASET_NAME}/{spec.name}/{split}/official-{row_number}{suffix}",
        dataset=DATASET_NAME,
        category=spec.name,
        split=split,
        index=row_number,
        seed=0,
        prompt=build_prompt(str(row["Patient Note"]).strip(), str(row["Question"]).strip(), chosen.answer_type),
        target=chosen,
        solution=Solution(language="python", code=code),
        metadata={
            "source": "official",
            "target_source": target,
            "official_row_number": row_number,
            "official_calculator_id": spec.official_id,
            "official_answer": row["Ground Truth Answer"],
            "official_lower": row.get("Lower Limit"),
            "official_upper": row.get("Upper Limit"),
            "our_value": ours,
            **checks,
        },
    )
    return ConvertedRow(sample, ours, problem, **checks)


def _rates(stats: dict[str, Any]) -> dict[str, Any]:
    """Counts of one calculator (or all) with the rate of each; ``rate`` is the agreement rate."""
    rows = stats["rows"]
    for key in ("reproduced", "explained"):
        stats[f"{key}_rate"] = stats[key] / rows if rows else 0.0
    stats["unexplained_rate"] = len(stats["unexplained"]) / rows if rows else 0.0
    stats["rate"] = stats["agree"] / rows if rows else 0.0
    return stats


def import_file(source: Path, output: Path, *, split: Split = "test", target: TargetMode = "official") -> ImportReport:
    """Read official JSONL rows from ``source``; write samples as JSONL to ``output``.

    ``target``: ``"official"`` (the official answer and range) or ``"recomputed"`` (our
    published-formula value; rows where it is not computable are skipped)."""
    if target not in TARGET_MODES:
        raise ValueError(f"target must be one of {', '.join(TARGET_MODES)}, not {str(target)[:40]!r}")
    rows_read = written = skipped = 0
    messages: list[str] = []
    unsupported: Counter[str] = Counter()
    agreement: dict[str, dict[str, Any]] = {}
    disagreements: list[dict[str, Any]] = []
    unexplained: list[int] = []
    lines: list[str] = []
    reasons: Counter[str] = Counter()  # ImportReport.skipped_by_reason
    for line in iter_jsonl(source):
        rows_read += 1
        line_number, row = line.number, line.value
        reason = "unreadable line"
        try:
            if line.error is not None:
                raise ValueError(line.error)
            reason = "not a JSON object"
            if not isinstance(row, dict):
                raise TypeError("not a JSON object")
            reason = "missing fields"
            missing = [name for name in REQUIRED_FIELDS if name not in row]
            if missing:
                raise ValueError(f"missing fields {missing}")
            reason = "Calculator ID is not a number"
            calculator_id = int(row["Calculator ID"])
        except (ValueError, TypeError, OverflowError) as error:
            skipped += 1
            reasons[reason] += 1
            messages.append(f"line {line_number}: skipped, unreadable row ({error})")
            continue
        spec = spec_by_official_id(calculator_id)
        if spec is None:
            skipped += 1
            reasons["calculator not implemented here"] += 1
            unsupported[f"{calculator_id}: {str(row.get('Calculator Name', '?'))[:80]}"] += 1
            continue
        try:
            converted = convert_row(row, spec, split, target)
            text = model_json(converted.sample) if converted.sample is not None else None
        except (EntityError, ValueError, TypeError, OverflowError) as error:
            skipped += 1
            reasons["official answer or entities unreadable"] += 1
            messages.append(f"line {line_number}: skipped, {str(error).splitlines()[0][:200]}")
            continue
        if text is None:
            skipped += 1
            reasons["no recomputed target"] += 1
            messages.append(f"line {line_number}: skipped, no recomputed target ({str(converted.problem)[:200]})")
        else:
            lines.append(text)
            written += 1
        row_number = int(row["Row Number"])
        rule = rule_for(spec.name)
        stats = agreement.setdefault(
            spec.name,
            {
                "official_id": spec.official_id,
                "label_rule": rule.name if rule is not None else None,
                "rows": 0, "agree": 0, "reproduced": 0, "explained": 0, "unexplained": [], "not_computable": 0,
            },
        )
        stats["rows"] += 1
        stats["agree"] += converted.agrees
        stats["reproduced"] += converted.label_rule_reproduces
        stats["explained"] += converted.explained
        if converted.problem is not None:
            stats["not_computable"] += 1
        if not converted.explained:
            stats["unexplained"].append(row_number)
            unexplained.append(row_number)
        if not converted.agrees:
            disagreements.append(
                {
                    "row": row_number,
                    "category": spec.name,
                    "ours": converted.ours,
                    "official": row["Ground Truth Answer"],
                    "lower": row.get("Lower Limit"),
                    "upper": row.get("Upper Limit"),
                    "problem": converted.problem,
                    "label_rule": converted.label_rule,
                    "label_rule_value": converted.label_rule_value,
                    "label_rule_reproduces": converted.label_rule_reproduces,
                }
            )
    write_lines_atomic(output, lines)
    for stats in agreement.values():
        _rates(stats)
    overall = _rates(
        {
            "rows": sum(s["rows"] for s in agreement.values()),
            "agree": sum(s["agree"] for s in agreement.values()),
            "reproduced": sum(s["reproduced"] for s in agreement.values()),
            "explained": sum(s["explained"] for s in agreement.values()),
            "unexplained": unexplained,
            "not_computable": sum(s["not_computable"] for s in agreement.values()),
        }
    )
    if unsupported:
        messages.append(f"{sum(unsupported.values())} rows of calculators not implemented here were skipped")
    used_rules = {name: rule_for(name) for name in agreement}
    return ImportReport(
        dataset=DATASET_NAME,
        source=str(source),
        rows_read=rows_read,
        samples_written=written,
        rows_skipped=skipped,
        skipped_by_reason=dict(reasons),
        details={
            "split": split,
            "target": target,
            "agreement": dict(sorted(agreement.items())),
            "overall": overall,
            "label_rules": {name: {"name": r.name, "slip": r.slip} for name, r in sorted(used_rules.items()) if r is not None},
            "unsupported_calculators": dict(sorted(unsupported.items())),
            "disagreements": disagreements,
        },
        messages=messages,
    )
