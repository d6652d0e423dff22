"""treqs: TREQS (MIMICSQL) questions over the five MIMICSQL tables, a view of the synthetic world.

``DATASET`` implements the catalog's Dataset protocol. See docs/treqs.md.
"""

from medagentgym.datasets.treqs.dataset import DATASET, Treqs

__all__ = ["DATASET", "Treqs"]
