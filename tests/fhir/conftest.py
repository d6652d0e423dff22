"""Fixtures of the FHIR store tests: a sealed template and a writable copy per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir_testdata import build_small_store

from medagentgym.fhir import FhirStore


@pytest.fixture(scope="session")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sealed template store (never written to: tests copy it)."""
    return build_small_store(tmp_path_factory.mktemp("fhir") / "template.sqlite")


@pytest.fixture
def store(small_template: Path, tmp_path: Path) -> Iterator[FhirStore]:
    """A writable copy of the small template for one test."""
    from medagentgym.fhir import copy_store

    with FhirStore(copy_store(small_template, tmp_path / "store.sqlite")) as opened:
        yield opened
