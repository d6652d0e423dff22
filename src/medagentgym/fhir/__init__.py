"""A FHIR R4 record store the project owns: SQLite, search indexes, validated creates, copies.

Generic, not dataset code: a dataset builds template stores with it (``FhirStore.build``,
``add_many``, ``seal``), the env gives each episode a private copy (``endpoint.EpisodeStore``) or
talks to a user's server (``endpoint.RemoteEndpoint``), and ``medagentgym fhir serve`` puts a
store behind HTTP (``server.py``, FastAPI imported lazily). See docs/medagentbench.md.
"""

from medagentgym.fhir.api import render_api
from medagentgym.fhir.endpoint import (
    MAX_EPISODE_CREATES,
    EpisodeStore,
    FhirEndpoint,
    RemoteEndpoint,
    is_remote,
    open_endpoint,
)
from medagentgym.fhir.resources import RESOURCE_DEFS, RESOURCE_TYPES
from medagentgym.fhir.service import FhirResponse, handle
from medagentgym.fhir.store import (
    DEFAULT_BASE_URL,
    CreateError,
    FhirStore,
    FhirStoreError,
    SearchError,
    copy_store,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_EPISODE_CREATES",
    "RESOURCE_DEFS",
    "RESOURCE_TYPES",
    "CreateError",
    "EpisodeStore",
    "FhirEndpoint",
    "FhirResponse",
    "FhirStore",
    "FhirStoreError",
    "RemoteEndpoint",
    "SearchError",
    "copy_store",
    "handle",
    "is_remote",
    "open_endpoint",
    "render_api",
]
