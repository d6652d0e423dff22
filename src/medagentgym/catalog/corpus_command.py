"""``medagentgym corpus build|verify``: write the catalog as a versioned corpus, check one.

Kept apart from ``cli.py`` (which registers ``corpus_app``) so the command line starts without
importing pyarrow or any dataset: everything heavy is imported inside the commands.
"""

# No ``from __future__ import annotations``: typer reads the evaluated annotations.
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from medagentgym.catalog.dataset import SCALES
from medagentgym.untrusted import clean_text

corpus_app = typer.Typer(no_args_is_help=True, help="Build and check versioned corpora (Parquet + manifest).")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {clean_text(message).splitlines()[0] if message else 'failed'}", err=True)
    return typer.Exit(code)


@corpus_app.command("build")
def corpus_build(
    scale: Annotated[str, typer.Option(help="default, full (the paper's full split) or leaderboard.")] = "full",
    out: Annotated[Optional[Path], typer.Option(help="Corpus folder (default: corpora/<scale>); a partial build there resumes.")] = None,
    dataset: Annotated[Optional[list[str]], typer.Option("--dataset", "-d", help="Only these datasets (repeatable).")] = None,
    world_patients: Annotated[
        Optional[int], typer.Option(help="Patients in the synthetic world (sets MEDAGENTGYM_WORLD_PATIENTS; full ehr_seqsql needs 5000).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Generation processes.")] = 2,
    seed: Annotated[int, typer.Option(help="Generation seed.")] = 0,
) -> None:
    """Generate every sample of a scale into a corpus folder: public Parquet under data/, targets
    and solutions under hidden/, manifest.json (version, counts, sha256) and a dataset card that
    datasets.load_dataset reads. Rerunning continues a killed build."""
    from medagentgym.catalog.corpus import CorpusError, build_corpus
    from medagentgym.catalog.registry import UnknownDatasetError, get_dataset
    from medagentgym.world import SIZE_VARIABLE, WorldSizeError, world_size

    if scale not in SCALES:
        raise _fail(f"--scale {scale!r}: not accepted (accepted: {', '.join(SCALES)})")
    if workers < 1:
        raise _fail(f"--workers {workers}: out of range (accepted: >= 1)")
    if seed < 0:
        raise _fail(f"--seed {seed}: out of range (accepted: >= 0)")
    if world_patients is not None:
        before = os.environ.get(SIZE_VARIABLE)
        os.environ[SIZE_VARIABLE] = str(world_patients)  # this process and its workers
        try:
            world_size()
        except WorldSizeError as exc:
            if before is None:
                del os.environ[SIZE_VARIABLE]
            else:
                os.environ[SIZE_VARIABLE] = before
            raise _fail(f"--world-patients: {exc}") from None
    try:
        for name in dataset or []:
            get_dataset(name)
    except UnknownDatasetError as exc:
        raise _fail(str(exc)) from None
    folder = out or Path("corpora") / scale
    try:
        manifest = build_corpus(
            folder,
            scale=scale,  # type: ignore[arg-type]
            datasets=dataset or None,
            seed=seed,
            workers=workers,
            log=lambda line: typer.echo(clean_text(line), err=True),
        )
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{folder}: {exc.strerror or exc}") from None
    typer.echo(f"corpus {manifest.corpus_version}: {folder} ({manifest.totals.get('train', 0)} train, {manifest.totals.get('test', 0)} test)")


@corpus_app.command("verify")
def corpus_verify(folder: Annotated[Path, typer.Argument(help="A corpus folder.")]) -> None:
    """Check every file of a corpus against its manifest; print its version and counts."""
    from medagentgym.catalog.corpus import CorpusError, verify_corpus

    try:
        manifest = verify_corpus(folder)
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"corpus {manifest.corpus_version} ok: scale {manifest.scale}, {len(manifest.files)} files, "
        f"{manifest.totals.get('train', 0)} train, {manifest.totals.get('test', 0)} test"
    )
