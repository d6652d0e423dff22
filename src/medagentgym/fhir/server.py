"""``medagentgym fhir serve``: a store behind HTTP, for users and tools outside the gym.

``create_app(store)`` is a FastAPI app with the FHIR REST interactions the store supports
(``GET [base]/metadata``, ``GET [base]/Type?params``, ``GET [base]/Type/id``, ``POST [base]/Type``),
answering exactly what the env's ``fhir_get`` / ``fhir_post`` answer (``service.handle``), as
``application/fhir+json`` with a ``Location`` header on a create. ``serve`` runs it with uvicorn on
a private copy of a template store (writes are lost when it stops; the template never changes).
FastAPI and uvicorn are imported only here, so the base install does not need them.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route functions' annotations,
# and ``Request`` is imported inside ``create_app`` (lazily), where only evaluated ones resolve.
import shutil
import tempfile
from pathlib import Path
from typing import Any

from medagentgym.fhir.service import FhirResponse, error, handle_get, handle_post
from medagentgym.fhir.store import MAX_BODY_CHARS, FhirStore, copy_store

MEDIA_TYPE = "application/fhir+json"
#: Largest request body read (bytes): a FHIR resource of these types is a few kilobytes.
MAX_BODY_BYTES = 4 * MAX_BODY_CHARS
PREFIX = "/fhir"


def _require_fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:  # pragma: no cover - the mock extra is installed in tests
        raise RuntimeError(
            "medagentgym fhir serve needs FastAPI and uvicorn: pip install 'medagentgym[mock]'"
        ) from exc
    return fastapi


def create_app(store: FhirStore) -> Any:
    """A FastAPI app serving ``store`` under ``/fhir``."""
    fastapi = _require_fastapi()
    from fastapi import Request
    from fastapi.responses import JSONResponse

    app = fastapi.FastAPI(title="MedAgentGym FHIR store", docs_url=None, redoc_url=None, openapi_url=None)

    def reply(response: FhirResponse) -> Any:
        headers = {"Location": response.location} if response.location else None
        return JSONResponse(response.body, status_code=response.status, media_type=MEDIA_TYPE, headers=headers)

    def relative(path: str, query: str) -> str:
        return path + (f"?{query}" if query else "")

    @app.get(PREFIX + "/{path:path}")
    def get(path: str, request: Request) -> Any:
        return reply(handle_get(store, relative(path, request.url.query)))

    @app.post(PREFIX + "/{path:path}")
    async def post(path: str, request: Request) -> Any:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return reply(error(413, f"the body is larger than {MAX_BODY_BYTES} bytes", code="too-costly"))
        text = bytes(body).decode("utf-8", "replace")
        return reply(handle_post(store, relative(path, request.url.query), text))

    return app


def serve(template: str | Path, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve a private copy of ``template`` at ``http://host:port/fhir/`` until interrupted."""
    _require_fastapi()
    import uvicorn

    folder = Path(tempfile.mkdtemp(prefix="medagentgym-fhir-serve-"))
    try:
        path = copy_store(template, folder / "store.sqlite")
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
        with FhirStore(path, base_url=f"http://{shown}:{port}{PREFIX}/") as store:
            uvicorn.run(create_app(store), host=host, port=port, log_level="warning")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
