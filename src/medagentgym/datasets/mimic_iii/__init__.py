"""mimic_iii: EHRSQL-style questions over an embedded, license-clean MIMIC-III database.

``DATASET`` implements the catalog's Dataset protocol. See docs/mimic_iii.md.
"""

from medagentgym.datasets.mimic_iii.dataset import DATASET, MimicIII, import_category

__all__ = ["DATASET", "MimicIII", "import_category"]
