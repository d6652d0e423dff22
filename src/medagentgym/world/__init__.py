"""The synthetic hospital world: one seeded population that every EHR dataset is a view of.

Patients carry a latent state (chronic conditions, frailty; per admission a presenting problem
and a severity) that drives what the record shows (diagnoses, labs, vitals, drugs, procedures,
ICU care) and how admissions end (death, length of stay, readmission, ICU transfer, vasopressors,
ventilation), so outcomes are predictable from the record. See docs/world.md.

``build_world()`` writes the world into the user cache; ``build_view(...)`` writes a dataset's
schema filled from it. The world's ``latent`` and ``outcomes`` tables never enter a view.
"""

from medagentgym.world.build import (
    HIDDEN_TABLES,
    SIZE_VARIABLE,
    WorldSizeError,
    build_view,
    build_world,
    stamp_of,
    view_path,
    world_path,
    world_size,
    world_stamp,
)
from medagentgym.world.generate import MIMIC_TABLES, N_PATIENTS, SEED, WORLD_NOW

__all__ = [
    "HIDDEN_TABLES",
    "SIZE_VARIABLE",
    "WorldSizeError",
    "MIMIC_TABLES",
    "N_PATIENTS",
    "SEED",
    "WORLD_NOW",
    "build_view",
    "build_world",
    "stamp_of",
    "view_path",
    "world_path",
    "world_size",
    "world_stamp",
]
