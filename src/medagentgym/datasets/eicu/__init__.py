"""eicu: EHRSQL-style questions over an eICU-schema view of the shared synthetic world.

``DATASET`` implements the catalog's Dataset protocol. See docs/eicu.md.
"""

from medagentgym.datasets.eicu.dataset import DATASET, Eicu, import_category

__all__ = ["DATASET", "Eicu", "import_category"]
