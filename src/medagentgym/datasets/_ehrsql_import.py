"""One import loop for the EHRSQL-style datasets (mimic_iii, eicu, treqs).

Every such dataset imports its official task file the same way: read the rows (untrusted, one
line at a time), prepare and run each gold query read-only under a time limit, re-anchor the row
onto present values when its literals are absent or its result is empty (``_reanchor``), infer
the answer type, build a Sample whose reference solution reproduces the target, and write the
samples atomically. Only small things differ per dataset; they are the fields of
:class:`ImportConfig`, so a dataset's ``import_file`` is a few lines.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from medagentgym.catalog.dataset import ImportReport, RowShape
from medagentgym.catalog.sample import (
    AnswerType,
    Resource,
    Sample,
    Solution,
    Split,
    Target,
)
from medagentgym.datasets._ehrsql import (
    GOLD_QUERY_TIME_LIMIT_S,
    MIMIC_III_NOW,
    GoldQueryError,
    answer_from_rows,
    infer_answer_type,
    is_nonempty,
    prepare_query,
    read_task_rows,
    run_gold_query,
    several_columns,
    solution_code,
)
from medagentgym.datasets._reanchor import (
    Reanchored,
    Reanchorer,
    SlotSpace,
    find_slots,
    in_question,
    informative_result,
    repair_quotes,
)
from medagentgym.readonly_sql import connect_readonly
from medagentgym.untrusted import model_json, write_lines_atomic

#: When a row is re-anchored: ``absent`` when an entity it names is absent from the database or
#: its result is empty (the embedded synthetic databases), ``empty`` only when its result is
#: empty (a user's real database, where the official literals exist), ``off`` never.
ReanchorMode = Literal["absent", "empty", "off"]


def ehrsql_row_shape(db_id: str) -> RowShape:
    """The rows of an EHRSQL-style task file: each needs a gold ``query`` (``read_task_rows`` skips
    the others); the official files name their database in ``db_id``, file each row under its
    ``split`` field, and may be one JSON list instead of JSONL."""
    return RowShape(fields=("query",), tags={"db_id": db_id}, split_field=True, documents=True)


@dataclass(frozen=True)
class ImportConfig:
    """What differs between the EHRSQL-style importers.

    ``dataset`` names the samples (``<dataset>/<category>/<split>/official-<row id>``);
    ``db_name`` is the resource name the sandbox's ``DATABASES`` dict uses; ``prompt_note`` is
    appended to every question; ``now`` replaces ``current_time``; ``category`` maps the gold SQL
    to a category slug; ``space`` is the re-anchoring knowledge (None: never re-anchor);
    ``repair_quotes`` applies ``_reanchor.repair_quotes`` to gold SQL first (TREQS);
    ``number_rel_tol`` is the tolerance of number targets.
    """

    dataset: str
    db_name: str
    resource_description: str
    prompt_note: str
    category: Callable[[str], str]
    space: SlotSpace | None
    now: str = MIMIC_III_NOW
    repair_quotes: bool = False
    number_rel_tol: float = 1e-4

    def resource(self, db_path: Path, description: str = "") -> Resource:
        """The sample's database resource (absolute path, read-only)."""
        return Resource(
            kind="sqlite",
            name=self.db_name,
            path=str(Path(db_path).resolve()),
            description=description or self.resource_description,
        )

    def target(self, answer_type: AnswerType, answer: Any) -> Target:
        """The sample's target; numbers get the dataset's relative tolerance."""
        if answer_type is AnswerType.NUMBER:
            return Target(answer_type=answer_type, value=answer, rel_tol=self.number_rel_tol)
        return Target(answer_type=answer_type, value=answer)


def import_ehrsql_file(
    config: ImportConfig,
    source: Path,
    output: Path,
    *,
    db_path: Path,
    db_kind: str = "embedded",
    query_timeout_s: float = GOLD_QUERY_TIME_LIMIT_S,
    reanchor: ReanchorMode | None = None,
    messages: list[str] | None = None,
    resource_description: str | None = None,
    split: Split | None = None,
) -> ImportReport:
    """Import an official task file into Samples written as JSONL at ``output`` (atomically).

    ``db_path`` is the SQLite database the answers are computed on; ``db_kind`` is recorded
    (``embedded`` or e.g. ``user_csv``); ``reanchor`` defaults to ``absent`` for the embedded
    database and ``empty`` otherwise; ``messages`` are earlier messages (e.g. from loading the
    user's CSVs) to put first in the report; ``resource_description`` overrides the config's;
    ``split`` files every row under that split (None: each row's own ``split`` field, train when
    absent).

    Each gold query runs once as written (counted in ``gold_executed``/``gold_nonempty_before``
    or, when it fails, in ``errors`` by kind and skipped with its line number). A row is then
    re-anchored when its result is empty or (mode ``absent``) it names a value absent from the
    database; in mode ``absent`` a count that is 0 as written has the thresholds its question
    shows moved into the data's range when that gives more than 0 (``reanchored_zero``). Only
    values the question shows are swapped (``_reanchor.in_question``), so every written sample's
    question and SQL agree. A row that stays empty is skipped (``skipped_empty``), and so is a row
    whose answer is empty or 0 because it names an absent value its question does not show
    (``skipped_unmatched``). A result of several columns is answered with every column's values
    (``_ehrsql.several_columns``; counted in ``multi_column``). Sample metadata keeps the
    official question, SQL and answer beside the swaps and the re-anchored question and SQL.
    """
    source, output = Path(source), Path(output)
    mode: ReanchorMode = reanchor or ("absent" if db_kind == "embedded" else "empty")
    if mode not in ("absent", "empty", "off"):
        raise ValueError(f"unknown re-anchoring mode {mode!r} (absent, empty or off)")
    if split is not None and split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {str(split)[:40]!r}")
    state = _ImportState(messages=list(messages or []), split=split)
    read = read_task_rows(source)
    state.messages += read.messages
    state.skipped = read.skipped
    resource = config.resource(db_path, resource_description or "")
    con = connect_readonly(db_path)
    try:
        anchor = (
            Reanchorer(con, config.space, now=config.now, time_limit_s=query_timeout_s)
            if config.space is not None and mode != "off"
            else None
        )
        for line_number, row in zip(read.lines, read.rows, strict=True):
            _import_row(config, state, con, anchor, mode, row, line_number, resource, db_kind, query_timeout_s)
    finally:
        con.close()
    write_lines_atomic(output, state.lines)
    counters = state.counters
    return ImportReport(
        dataset=config.dataset,
        source=str(source),
        rows_read=len(read.rows) + read.skipped,
        samples_written=len(state.lines),
        rows_skipped=state.skipped,
        skipped_by_reason=_skipped_by_reason(read.messages, counters),
        details={
            "db": str(db_path),
            "db_kind": db_kind,
            "reanchor_mode": mode,
            "gold_executed": counters["gold_executed"],
            "gold_nonempty_before": counters["gold_nonempty_before"],
            "reanchored": counters["reanchored"],
            "reanchored_zero": counters["reanchored_zero"],
            "reanchor_failed": counters["reanchor_failed"],
            "answerable": len(state.lines),
            "skipped_empty": counters["skipped_empty"],
            "skipped_unmatched": counters["skipped_unmatched"],
            "bad_rows": counters["bad_rows"],
            "multi_column": counters["multi_column"],
            "zero_answers": counters["zero_answers"],
            "errors": {kind: counters[f"error_{kind}"] for kind in _ERROR_KINDS},
            # The same counts under the flat names earlier reports used.
            "gold_errors": counters["error_error"],
            "gold_refused": counters["error_refused"],
            "gold_timeouts": counters["error_timeout"],
            "gold_too_many_rows": counters["error_too_many_rows"],
            "matches_official_answer": counters["matches_official_answer"],
            "answer_types": dict(sorted(state.types.items())),
            "categories": dict(sorted(Counter(c for c, _ in state.indices.elements()).items())),
        },
        messages=state.messages,
    )


#: The kinds of GoldQueryError, counted per kind in ``details["errors"]``.
_ERROR_KINDS = ("error", "refused", "timeout", "too_many_rows")
#: The reason (``ImportReport.skipped_by_reason``) of each counter that counts skipped rows.
_SKIP_REASONS = {
    "error_error": "gold SQL failed",
    "error_refused": "gold SQL refused (not a read)",
    "error_timeout": "gold SQL timed out",
    "error_too_many_rows": "gold SQL returned too many rows",
    "skipped_empty": "empty result",
    "skipped_unmatched": "names a value absent from the database",
    "bad_rows": "no sample can be built",
}


def _skipped_by_reason(read_messages: list[str], counters: Counter[str]) -> dict[str, int]:
    """Rows skipped per reason: the reader's (one message per skipped line) and the loop's."""
    reasons: Counter[str] = Counter()
    for message in read_messages:
        if message.endswith("no gold 'query'"):
            reasons["no gold 'query'"] += 1
        elif message.endswith("not a JSON object"):
            reasons["not a JSON object"] += 1
        elif ": skipped," in message:
            reasons["unreadable line"] += 1
    for counter, reason in _SKIP_REASONS.items():
        if counters[counter]:
            reasons[reason] += counters[counter]
    return dict(reasons)


@dataclass
class _ImportState:
    """What the loop accumulates: output lines, counts, messages and per-category indices."""

    lines: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    indices: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped: int = 0
    split: Split | None = None  # every row's split, when one was asked for


def _import_row(
    config: ImportConfig,
    state: _ImportState,
    con: sqlite3.Connection,
    anchor: Reanchorer | None,
    mode: ReanchorMode,
    row: dict[str, Any],
    line_number: int,
    resource: Resource,
    db_kind: str,
    query_timeout_s: float,
) -> None:
    """Run, re-anchor if needed, and turn one row into a sample line (or count why not)."""
    row_id = str(row.get("id", "?"))
    where = f"line {line_number} (row {row_id[:60]})"
    original = row["query"]
    official_sql = repair_quotes(original) if config.repair_quotes else original
    value = row.get("value") if isinstance(row.get("value"), dict) else None
    question = row.get("question")
    question = question.strip() if isinstance(question, str) else ""
    try:
        rows = run_gold_query(con, prepare_query(official_sql, now=config.now), time_limit_s=query_timeout_s)
    except GoldQueryError as exc:
        state.counters[f"error_{exc.kind}"] += 1
        state.skipped += 1
        state.messages.append(f"{where}: skipped, gold SQL {exc}")
        return
    state.counters["gold_executed"] += 1
    nonempty = is_nonempty(rows)
    state.counters["gold_nonempty_before"] += int(nonempty)
    result: Reanchored | None = None
    hidden: list[str] = []
    if anchor is not None:
        absent = anchor.absent(official_sql, find_slots(official_sql, value)) if mode == "absent" else []
        # Absent values the question does not show cannot be swapped: a row naming only such
        # values whose own result says something (not a lone 0) stays as it is.
        swap_absent = bool(absent) and (
            any(in_question(question, slot.literal) for slot in absent) or not informative_result(official_sql, rows)
        )
        if not nonempty or swap_absent:
            attempt = anchor.reanchor(row_id, question, official_sql, value)
            hidden = attempt.unswappable
            # A 0 that an absent, unswappable value forces is no answer to keep.
            if attempt.ok and (attempt.informative or not hidden):
                result = attempt
                state.counters["reanchored"] += 1
            else:
                state.counters["reanchor_failed"] += 1
        elif mode == "absent" and not informative_result(official_sql, rows):
            # A count of 0 as written: try its thresholds inside the data's range.
            attempt = anchor.reanchor(row_id, question, official_sql, value, only_thresholds=True)
            if attempt.ok and attempt.informative:
                result = attempt
                state.counters["reanchored"] += 1
                state.counters["reanchored_zero"] += 1
    if result is None and hidden and not informative_result(official_sql, rows):
        # Its answer would rest on a value the question does not show: swapping it would make
        # the question and the SQL disagree, keeping it leaves nothing (or 0) to ask about.
        state.counters["skipped_unmatched"] += 1
        state.skipped += 1
        state.messages.append(
            f"{where}: skipped, the database lacks {hidden[0][:80]!r}, which the question does not show"
        )
        return
    if result is None and not nonempty:
        # An empty result has no answer to grade (the scorers refuse empty gold sets).
        state.counters["skipped_empty"] += 1
        state.skipped += 1
        return
    try:
        line, answer_type, answer = _sample_line(
            config, state, row, official_sql, question, rows, result, resource, db_kind
        )
    except (ValueError, TypeError, OverflowError) as exc:
        state.counters["bad_rows"] += 1
        state.skipped += 1
        state.messages.append(f"{where}: skipped, no sample can be built ({str(exc).splitlines()[0][:200]})")
        return
    state.types[answer_type.value] += 1
    state.counters["zero_answers"] += int(answer_type in (AnswerType.INTEGER, AnswerType.NUMBER) and answer == 0)
    official = row.get("answer")
    if result is None and isinstance(official, list) and _as_strings(answer) == sorted(
        str(a).lower() for a in official
    ):
        state.counters["matches_official_answer"] += 1
    state.lines.append(line)


def _sample_line(
    config: ImportConfig,
    state: _ImportState,
    row: dict[str, Any],
    official_sql: str,
    question: str,
    rows: list[tuple[Any, ...]],
    result: Reanchored | None,
    resource: Resource,
    db_kind: str,
) -> tuple[str, AnswerType, Any]:
    """The JSON line of one sample, its answer type and answer (ValueError when none can be
    built: a scalar type whose first value is NULL, a field of the wrong type)."""
    sql = result.sql if result is not None else official_sql
    rows = result.rows if result is not None else rows
    asked = result.question if result is not None else question
    gold = prepare_query(sql, now=config.now)
    all_columns = several_columns(rows)
    answer_type = infer_answer_type(sql, rows)
    answer = answer_from_rows(rows, answer_type, all_columns=all_columns)
    split: Split = state.split or ("train" if str(row.get("split", "train")) == "train" else "test")
    category = config.category(sql)
    index = state.indices[(category, split)]
    official_id = row.get("id")
    sample = Sample(
        id=f"{config.dataset}/{category}/{split}/official-{official_id or index}",
        dataset=config.dataset,
        category=category,
        split=split,
        index=index,
        seed=0,
        prompt=f"{asked}\n\n{config.prompt_note}",
        resources=(resource,),
        target=config.target(answer_type, answer),
        solution=Solution(
            language="python", code=solution_code(gold, config.db_name, answer_type, all_columns=all_columns)
        ),
        metadata={
            "question": asked,
            "imported": True,
            "official_id": official_id,
            "official_question": question,
            "official_sql": row["query"],
            "official_answer": row.get("answer"),
            "official_template": row.get("q_tag") or row.get("template"),
            "value": row.get("value"),
            "reanchored": result is not None,
            "swaps": [asdict(s) for s in result.swaps] if result is not None else [],
            "question_unmatched": list(result.question_unmatched) if result is not None else [],
            "reanchored_question": asked if result is not None else None,
            "reanchored_sql": sql if result is not None else None,
            "gold_sql": gold,
            "gold_sql_ehrsql": sql,
            "db": db_kind,
            "now": config.now,
        },
    )
    line = model_json(sample)
    state.indices[(category, split)] += 1
    state.counters["multi_column"] += int(all_columns)
    return line, answer_type, answer


def _as_strings(answer: Any) -> list[str]:
    """An answer as sorted strings, to compare with an official answer list."""
    if isinstance(answer, list):
        return sorted(str(a) for a in answer)
    if isinstance(answer, bool):
        return [str(int(answer))]
    return [str(answer)]
