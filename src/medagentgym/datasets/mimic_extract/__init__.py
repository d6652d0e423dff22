"""mimic_extract: MIMIC-Extract-style ICU prediction cohorts (mortality, length of stay,
interventions) built from the synthetic world's hourly vitals and labs.

``DATASET`` implements the catalog's Dataset protocol. See docs/mimic_extract.md.
"""

from medagentgym.datasets.mimic_extract.dataset import DATASET, MimicExtract

__all__ = ["DATASET", "MimicExtract"]
