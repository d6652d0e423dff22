"""The template FHIR stores, one per split, in the user cache.

``<cache>/datasets/medagentbench/fhir-<split>.sqlite`` holds the split's patients
(``patients.generate_patients``), sealed as a template: episodes never write to it, each gets a
copy (``medagentgym.fhir.EpisodeStore``). A store carries a stamp of everything it is built from
(this package's generator and vocabulary, the store's schema and resource tables, the versions),
so a changed generator rebuilds it and an unchanged one is reused. A build writes a temporary
file beside the target and moves it into place, so a killed or concurrent build never leaves half
a store. Building both splits takes about a second.
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from functools import cache
from pathlib import Path

from medagentgym.catalog.sample import SPLITS, Split
from medagentgym.catalog.splits import stable_hash
from medagentgym.fhir import FhirStore, FhirStoreError
from medagentgym.paths import dataset_cache_dir

NAME = "medagentbench"
STORE_VERSION = 1  # bump when the layout of the template changes in a way the stamp cannot see


@cache
def store_stamp() -> str:
    """A fingerprint of the generator, its vocabulary and the store code (read once per process)."""
    from medagentgym.datasets.medagentbench import patients, vocab
    from medagentgym.fhir import resources, store

    sources = [inspect.getsource(m) for m in (patients, vocab, resources, store, sys.modules[__name__])]
    return f"{stable_hash(NAME, STORE_VERSION, patients.GENERATOR_VERSION, *sources):016x}"


def template_path(split: Split) -> Path:
    """Where the split's template store lives (``build_store`` makes it)."""
    return dataset_cache_dir(NAME) / f"fhir-{split}.sqlite"


def stamp_of(path: Path) -> str | None:
    """The stamp of a built store, or None when it is missing or not a store."""
    if not path.is_file():
        return None
    try:
        with FhirStore(path, readonly=True) as store:
            return store.meta("stamp")
    except FhirStoreError:
        return None


def build_store(split: Split, *, force: bool = False, path: Path | None = None) -> Path:
    """Build (or reuse) the template store of ``split``; returns its path."""
    from medagentgym.datasets.medagentbench.patients import NOW_ISO, generate_patients

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    target = path or template_path(split)
    stamp = store_stamp()
    if not force and stamp_of(target) == stamp:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".sqlite.tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()
        with FhirStore.build(tmp, now=NOW_ISO) as store:
            records = generate_patients(split)
            store.add_many([resource for record in records for resource in record.resources])
            store.set_meta("split", split)
            store.set_meta("patients", str(len(records)))
            store.set_meta("stamp", stamp)
            store.seal()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def build_all(*, force: bool = False) -> dict[Split, Path]:
    return {split: build_store(split, force=force) for split in SPLITS}
