"""medagentbench: FHIR workflows (10 families) against a per-episode copy of a record store.

``DATASET`` implements the catalog's Dataset protocol. See docs/medagentbench.md.
"""

from medagentgym.datasets.medagentbench.dataset import DATASET, MedAgentBench

__all__ = ["DATASET", "MedAgentBench"]
