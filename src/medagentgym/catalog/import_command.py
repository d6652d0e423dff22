"""``medagentgym import``: official task rows in, samples out, and a word on what happened.

A separate module so the command's checks sit beside the catalog they use, and so cli.py only
registers it (``app.command("import")(import_command)``). A task file is third-party input: before
any importer runs, the file is read once (``dataset.check_task_file``) so that an empty file, a
file that is not JSONL, a folder, or a file of another dataset's rows is one ``error:`` line with
exit status 2, never an empty output that looks like a success. An import in which every row was
skipped is refused the same way. The importer writes to a staging file next to the output, which
replaces the output only when the import succeeded, so a refused or failed import never loses an
earlier good output.

By default the command prints a short summary (rows read, written, skipped and why, the split and
why, the output path); ``--json`` prints the whole ``ImportReport`` and nothing else on stdout.
"""

# No ``from __future__ import annotations``: typer reads the evaluated annotations.
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from medagentgym.catalog.dataset import (
    Dataset,
    ImportFileError,
    ImportReport,
    RowShape,
    RowSurvey,
    check_task_file,
    no_samples_message,
    split_named_by,
)
from medagentgym.catalog.registry import UnknownDatasetError, all_datasets, get_dataset
from medagentgym.catalog.sample import SPLITS, Split
from medagentgym.catalog.selection import check_split
from medagentgym.paths import cache_dir
from medagentgym.untrusted import clean_text, model_json

#: Exit status of every refusal (bad input), as the other commands use.
EXIT_BAD_INPUT = 2
#: Reasons for skipped rows named in the summary.
_REASONS_SHOWN = 3
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class ImportRefused(Exception):
    """Bad input found by the command; the message is the one line it prints."""


def _line(text: object) -> str:
    """``text`` as one printable line: control characters (a newline in a file name) become spaces."""
    return _CONTROL.sub(" ", clean_text(str(text))).rstrip()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {_line(message).strip()}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def find_dataset(name: str) -> Dataset:
    """The dataset called ``name``, or ImportRefused naming the known ones and the closest
    (the registry's message)."""
    try:
        return get_dataset(name)
    except UnknownDatasetError as exc:
        raise ImportRefused(str(exc)) from None


def row_shapes() -> dict[str, RowShape]:
    """Every registered dataset's ``row_shape`` (datasets without one are left out)."""
    return {ds.name: shape for ds in all_datasets() if isinstance(shape := getattr(ds, "row_shape", None), RowShape)}


def check_paths(source: Path, output: Path) -> None:
    """Refuse a source that is not a readable regular file (a FIFO would block the read) and an
    output that is a folder or the source itself (replacing it would lose the task file)."""
    if not source.exists():
        raise ImportRefused(f"{source}: no such file")
    if source.is_dir():
        raise ImportRefused(f"{source}: a folder, not a task file (pass the JSONL file itself)")
    if not source.is_file():
        raise ImportRefused(f"{source}: not a regular file")
    if output.is_dir():
        raise ImportRefused(f"--output {output}: a folder (pass the samples file to write)")
    if output.exists() and output.resolve() == source.resolve():
        raise ImportRefused(f"--output {output}: the task file itself (it would be replaced by the samples)")


def checked_split(explicit: str | None) -> Split | None:
    """``--split`` as given, refused unless it is train or test."""
    if explicit is not None:
        try:
            check_split(explicit, "--split")
        except ValueError as exc:
            raise ImportRefused(str(exc)) from None
    return explicit  # type: ignore[return-value]


def choose_split(
    explicit: Split | None, source: Path, survey: RowSurvey, shape: RowShape | None
) -> tuple[Split | None, str]:
    """The split to import into and why: ``--split``; else the split the file name states; else
    the one every row's ``split`` field states; else, for importers that file each row under its
    own field, per row (None); else test."""
    if explicit is not None:
        return explicit, "--split"
    named = split_named_by(source)
    if named is not None:
        return named, f"the file name {source.name[:80]!r} says {named}"
    stated = {value for value in survey.splits if value in SPLITS}
    if len(stated) == 1 and sum(survey.splits.values()) == survey.objects:
        (only,) = stated
        return only, f"every row's 'split' field says {only}"  # type: ignore[return-value]
    if stated and shape is not None and shape.split_field:
        counts = ", ".join(f"{value} {survey.splits[value]}" for value in SPLITS if survey.splits[value])
        return None, f"each row's own 'split' field ({counts})"
    return "test", "the default: neither the file name nor the rows state a split"


def _options(**given: Any) -> dict[str, Any]:
    return {name: value for name, value in given.items() if value is not None}


def run_import(dataset: Dataset, source: Path, target: Path, options: dict[str, Any]) -> ImportReport:
    """Import through a staging file that replaces ``target`` only when samples were written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.import-{os.getpid()}"
    try:
        try:
            report = dataset.import_file(source, staging, **options)
        except TypeError as exc:
            raise ImportRefused(f"{dataset.name} does not accept these options: {exc}") from None
        except (ValueError, OSError, NotImplementedError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ImportRefused(detail if str(source) in detail else f"{source}: {detail}") from None
        if report.samples_written == 0:
            raise ImportRefused(no_samples_message(report))
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return report


def summary(report: ImportReport) -> list[str]:
    """The few lines a person reads after an import."""
    skipped = report.rows_skipped
    written = report.samples_written
    head = f"imported {written} {report.dataset} sample{'s' if written != 1 else ''} from {report.rows_read} rows"
    lines = [head + (f" ({skipped} skipped)" if skipped else ""), f"  source: {report.source}"]
    lines.append(f"  split:  {report.split or 'per row'} ({report.split_reason})")
    if skipped:
        reasons = report.top_reasons(_REASONS_SHOWN)
        named = ", ".join(f"{reason} ({count})" for reason, count in reasons)
        rest = len(report.skipped_by_reason) - len(reasons)
        if not named:
            first = next((m for m in report.messages if m.strip()), "")
            named = first.splitlines()[0][:160] if first else "no reason recorded"
        more = f" and {rest} other reasons" if rest > 0 else ""
        lines.append(f"  skipped: {skipped} of {report.rows_read} rows: {named}{more} (--json for details)")
    lines.append(f"  output: {report.output}")
    return [_line(line) for line in lines]


def import_command(
    dataset: Annotated[str, typer.Argument(help="Dataset whose official task file this is.")],
    source: Annotated[Path, typer.Argument(help="Official task file (JSONL).")],
    output: Annotated[Path | None, typer.Option(help="Samples JSONL to write (replaced only when the import succeeds).")] = None,
    db: Annotated[
        Path | None,
        typer.Option(help="Folder of the real database's CSV files (EHR datasets; ehrcon: also the notes)."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="Split the rows belong to: train or test (default: the split the file name states, "
            "else the rows' 'split' field, else test)."
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Folder of the study files, one subfolder per study id (biodsbench; not on any registry)."),
    ] = None,
    query_timeout: Annotated[
        float | None, typer.Option(help="Seconds one gold query may run before its row is skipped (EHR datasets).")
    ] = None,
    fhir_url: Annotated[
        str | None,
        typer.Option(
            "--fhir-url",
            help="Base URL of a FHIR server holding the rows' patients (medagentbench), e.g. http://localhost:8080/fhir/.",
        ),
    ] = None,
    target_kind: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="medcalcbench: grade against the 'official' answer and range (default) or our 'recomputed' published-formula value.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole import report as JSON (only JSON on stdout).")] = False,
) -> None:
    """Turn official task rows into samples (answers checked or recomputed with our code).

    Bad rows are skipped and counted by reason; a file none of whose rows can become samples (empty,
    not JSONL, another dataset's rows, every row skipped) is a one-line error (exit 2) and the output
    is left as it was.
    """
    try:
        ds = find_dataset(dataset)
        target = output or cache_dir() / "imports" / ds.name / f"{source.stem}.samples.jsonl"
        asked = checked_split(split)
        check_paths(source, target)
        shapes = row_shapes()
        shape = shapes.get(ds.name)
        try:
            survey = check_task_file(source, ds.name, shape, shapes)
        except ImportFileError as exc:
            raise ImportRefused(str(exc)) from None
        except OSError as exc:
            raise ImportRefused(f"{source}: cannot be read ({exc.strerror or type(exc).__name__})") from None
        chosen, why = choose_split(asked, source, survey, shape)
        options = _options(
            split=chosen, data=data, db=db, query_timeout_s=query_timeout, fhir_url=fhir_url, target=target_kind
        )
        report = run_import(ds, source, target, options)
    except ImportRefused as exc:
        raise _fail(str(exc)) from None
    report = report.model_copy(update={"output": str(target), "split": chosen, "split_reason": why})
    if as_json:
        typer.echo(model_json(report, indent=2))
        return
    for line in summary(report):
        typer.echo(line)
