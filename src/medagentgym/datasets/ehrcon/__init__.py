"""ehrcon: does a clinical note agree with the admission's record? (note-versus-record consistency)

``DATASET`` implements the catalog's Dataset protocol. See docs/ehrcon.md.
"""

from medagentgym.datasets.ehrcon.dataset import DATASET, EhrCon

__all__ = ["DATASET", "EhrCon"]
