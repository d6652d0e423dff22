"""gymnasium ids for MedAgentGym: ``gymnasium.make("MedAgentGym-v0", dataset=..., ...)``.

gymnasium 1.x dropped plugin discovery through package entry points, so the ids are registered on
import: by ``medagentgym.env`` always (it imports gymnasium anyway), and by ``import medagentgym``
when gymnasium is already loaded (as it is when ``gymnasium.make("medagentgym:MedAgentGym-v0")``
imports the package for you). The top-level package does not import gymnasium itself, because
the sandbox server imports it too and should stay lean. The entry points are strings, so
registering costs nothing until ``make`` is called. ``MedAgentGym-v0`` takes the dataset as an
argument; each dataset also has its own id, ``MedAgentGym/<dataset>-v0``.

This lives with the env rather than under ``integrations/`` so that the env package can register
its own ids without importing an adapter layer above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

#: The id that takes the dataset as an argument.
ENV_ID = "MedAgentGym-v0"
NAMESPACE = "MedAgentGym"
ENTRY_POINT = "medagentgym.env.registration:make_env"
#: The built-in datasets (a test keeps this equal to the registry's names); importing the
#: registry here would import every dataset package on ``import medagentgym``.
BUILTIN_DATASETS = (
    "biocoder",
    "biodsbench",
    "ehr_seqsql",
    "ehrcon",
    "ehrshot",
    "eicu",
    "medagentbench",
    "medcalcbench",
    "mimic_extract",
    "mimic_iii",
    "npowerai",
    "treqs",
)


def dataset_env_id(dataset: str) -> str:
    return f"{NAMESPACE}/{dataset}-v0"


def make_env(
    dataset: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    split: Literal["train", "test"] = "test",
    action_format: Literal["json", "tools"] = "json",
    *,
    sample_ids: Sequence[str] | None = None,
    samples_file: str | None = None,
    limit_per_category: int | None = None,
    seed: int = 0,
    max_turns: int = 15,
    reveal_verdict: bool = False,
    enable_debug_hint: bool = False,
    step_timeout_s: float = 30.0,
    max_observation_chars: int = 8_000,
    sandbox: Any = None,
    render_mode: str | None = None,
) -> Any:
    """A ``MedAgentEnv`` over a selection of samples (generated at the first ``reset``).

    ``sample_ids`` pins the env to those samples (each regenerated from its id); otherwise each
    ``reset`` draws one of the selection's samples with the reset seed, or takes
    ``options={"sample_id": ...}`` / ``{"sample": Sample}``.
    """
    from medagentgym.catalog.selection import SelectedSamples, checked_selection, find_sample
    from medagentgym.env.env import EnvConfig, MedAgentEnv

    config = EnvConfig(
        max_turns=max_turns,
        reveal_verdict=reveal_verdict,
        enable_debug_hint=enable_debug_hint,
        action_format=action_format,
        step_timeout_s=step_timeout_s,
        max_observation_chars=max_observation_chars,
    )
    if sample_ids is not None:
        samples: Sequence[Any] = [find_sample(sid) for sid in sample_ids]
    else:
        selection = checked_selection(dataset, category, split, limit_per_category, seed, samples_file)
        samples = SelectedSamples(selection)
    return MedAgentEnv(samples, config=config, sandbox=sandbox, render_mode=render_mode)


def register_envs() -> None:
    """Register ``MedAgentGym-v0`` and one id per built-in dataset (idempotent)."""
    import gymnasium

    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point=ENTRY_POINT, disable_env_checker=False)
    for dataset in BUILTIN_DATASETS:
        env_id = dataset_env_id(dataset)
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=ENTRY_POINT, kwargs={"dataset": dataset})
