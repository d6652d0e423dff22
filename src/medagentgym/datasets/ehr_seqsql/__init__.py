"""ehr_seqsql: sequential EHRSQL questions (2-4 dependent questions per episode) over MIMIC-III.

``DATASET`` implements the catalog's Dataset protocol. See docs/ehr_seqsql.md.
"""

from medagentgym.datasets.ehr_seqsql.dataset import DATASET, EhrSeqSql

__all__ = ["DATASET", "EhrSeqSql"]
