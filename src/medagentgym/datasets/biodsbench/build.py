"""The built studies: eight synthetic cBioPortal studies in the user cache.

``<cache>/datasets/biodsbench/studies/<study_id>/`` holds one study's CSV files (the folder a
sample's ``study`` resource points at, mounted read-only in the sandbox). Beside it,
``<study_id>.stamp`` records a fingerprint of everything the files come from (this package's
generator sources and the study's parameters): an unchanged generator reuses the folder, a changed
one rebuilds it. The stamp lives outside the folder, so the agent sees only the study's files. A
build writes a temporary folder beside the target and renames it into place, so a killed or
concurrent build never leaves half a study. Building all eight takes about two seconds.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from medagentgym.catalog.splits import stable_hash
from medagentgym.paths import dataset_cache_dir

NAME = "biodsbench"
BUILD_VERSION = 1  # bump when the layout changes in a way the stamp cannot see


@dataclass(frozen=True)
class StudySpec:
    """One built study: its id, cancer profile, seed and size."""

    study_id: str
    profile: str
    seed: int
    n_patients: int
    title: str


STUDIES: tuple[StudySpec, ...] = (
    StudySpec("nsclc_synth_2019", "nsclc", 2019, 240, "Non-small cell lung cancer, targeted panel"),
    StudySpec("coadread_synth_2021", "colorectal", 2021, 300, "Colorectal adenocarcinoma, targeted panel"),
    StudySpec("brca_synth_2020", "breast", 2020, 260, "Invasive breast carcinoma, targeted panel"),
    StudySpec("glioma_synth_2018", "glioma", 2018, 170, "Diffuse glioma, targeted panel"),
    StudySpec("skcm_synth_2017", "melanoma", 2017, 150, "Melanoma, exome sequencing"),
    StudySpec("prad_synth_2022", "prostate", 2022, 200, "Prostate cancer, targeted panel"),
    StudySpec("chol_synth_2023", "hepatobiliary", 2023, 190, "Biliary tract cancer, targeted panel"),
    StudySpec("egc_synth_2016", "esophagogastric", 2016, 230, "Esophagogastric adenocarcinoma, targeted panel"),
)


def study_spec(study_id: str) -> StudySpec:
    for spec in STUDIES:
        if spec.study_id == study_id:
            return spec
    raise KeyError(f"unknown biodsbench study {study_id!r} (known: {', '.join(s.study_id for s in STUDIES)})")


def studies_root() -> Path:
    path = dataset_cache_dir(NAME) / "studies"
    path.mkdir(parents=True, exist_ok=True)
    return path


def study_dir(study_id: str) -> Path:
    """Where a study's files live (``ensure_study`` builds them)."""
    return studies_root() / study_spec(study_id).study_id


@cache
def _generator_fingerprint() -> str:
    from medagentgym.datasets.biodsbench import genes, profiles, study

    sources = [inspect.getsource(m) for m in (genes, profiles, study, sys.modules[__name__])]
    return f"{stable_hash(NAME, BUILD_VERSION, *sources):016x}"


def study_stamp(spec: StudySpec) -> str:
    return f"{stable_hash(_generator_fingerprint(), spec.study_id, spec.profile, spec.seed, spec.n_patients):016x}"


def _stamp_path(spec: StudySpec) -> Path:
    return studies_root() / f"{spec.study_id}.stamp"


def is_built(spec: StudySpec) -> bool:
    stamp = _stamp_path(spec)
    return (
        (studies_root() / spec.study_id).is_dir()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8") == study_stamp(spec)
    )


def ensure_study(study_id: str, *, force: bool = False) -> Path:
    """Build (or reuse) one study; returns its folder."""
    from medagentgym.datasets.biodsbench.study import write_study

    spec = study_spec(study_id)
    root = studies_root()
    target = root / spec.study_id
    if not force and is_built(spec):
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.study_id}-", dir=root))
    old: Path | None = None
    try:
        write_study(tmp, spec.seed, profile=spec.profile, n_patients=spec.n_patients, study_id=spec.study_id)
        os.chmod(tmp, 0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{spec.study_id}-old-", dir=root))
            try:
                os.replace(target, old / "study")
            except FileNotFoundError:
                pass  # another build moved it away first
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():  # a concurrent build put its (identical) folder there: keep it
                raise
        fd, name = tempfile.mkstemp(prefix=f".{spec.study_id}-", suffix=".stamp", dir=root)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(study_stamp(spec))
        os.replace(name, _stamp_path(spec))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target


def build_all(*, force: bool = False) -> dict[str, Path]:
    """Every study of ``STUDIES`` built (or reused); their folders by id."""
    return {spec.study_id: ensure_study(spec.study_id, force=force) for spec in STUDIES}
