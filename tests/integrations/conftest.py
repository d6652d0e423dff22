"""Fixtures shared by the token-level adapters' tests (verl, OpenRLHF)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medagentgym.catalog.selection import find_sample
from medagentgym.integrations import tokens as tokens_module

TOKEN_SAMPLE_ID = "medcalcbench/bmi/train/0/0"


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def sample() -> Any:
    return find_sample(TOKEN_SAMPLE_ID)


@pytest.fixture
def episodes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every Episode a token-level adapter starts, to check that each one was closed."""
    started: list[Any] = []
    original = tokens_module.Episode

    def track(*args: Any, **kwargs: Any) -> Any:
        episode = original(*args, **kwargs)
        started.append(episode)
        return episode

    monkeypatch.setattr(tokens_module, "Episode", track)
    return started
