"""Where built data lives.

Databases and converted models are built into a user cache directory, never into the package or
the repository. ``MEDAGENTGYM_CACHE`` overrides the location (tests point it at a temporary dir).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The root of everything MedAgentGym builds: ``$MEDAGENTGYM_CACHE`` or ``~/.cache/medagentgym``."""
    override = os.environ.get("MEDAGENTGYM_CACHE")
    if override:
        root = Path(override)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "medagentgym"
    root.mkdir(parents=True, exist_ok=True)
    return root


def dataset_cache_dir(dataset: str) -> Path:
    """The build folder of one dataset inside the cache."""
    path = cache_dir() / "datasets" / dataset
    path.mkdir(parents=True, exist_ok=True)
    return path
