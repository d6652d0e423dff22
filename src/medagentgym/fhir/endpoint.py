"""The FHIR server one episode talks to: a private copy of a template store, or a user's server.

The env opens one :class:`FhirEndpoint` per episode from the sample's ``fhir_store`` resource
(:func:`open_endpoint`) and sends the agent's ``fhir_get`` / ``fhir_post`` actions to it; at the
end it asks for ``created()``, the resources this episode created, which write tasks are graded
from. Two kinds:

* :class:`EpisodeStore`: the resource's path is a template store file; the episode gets a copy in
  a temporary folder of its own (deleted by ``close``), so parallel episodes and K samples of one
  task never see each other's writes, and ``created()`` is the copy's state past the template.
* :class:`RemoteEndpoint`: the resource's path is an ``http(s)://`` base URL (imported official
  rows run against the user's own server, e.g. the original HAPI image). Requests are re-encoded
  from the parsed URL (never forwarded verbatim), bodies and replies are size-capped, and
  ``created()`` re-reads from the server every resource this episode's POSTs created. A shared
  server gives no isolation between episodes: grading still only counts this episode's creates.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any, Protocol

from medagentgym.fhir.service import FhirResponse, error, handle, parse_body
from medagentgym.fhir.store import (
    DEFAULT_BASE_URL,
    FhirStore,
    FhirStoreError,
    copy_store,
)
from medagentgym.fhir.urls import FhirUrlError, normalize_base, parse_request_url
from medagentgym.untrusted import UntrustedJSONError, clean_json, loads_bounded

#: Resources one episode may create in its store (a runaway loop of POSTs stops here).
MAX_EPISODE_CREATES = 100
#: Longest reply read from a remote server (bytes).
MAX_REMOTE_REPLY_BYTES = 4 * 1024 * 1024
#: Seconds one request to a remote server may take.
REMOTE_TIMEOUT_S = 15.0


class FhirEndpoint(Protocol):
    base_url: str

    def get(self, url: str) -> FhirResponse: ...

    def post(self, url: str, payload: Any) -> FhirResponse: ...

    def created(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def is_remote(location: str) -> bool:
    return location.startswith(("http://", "https://"))


class EpisodeStore:
    """A private, throwaway copy of a template store."""

    def __init__(self, template: str | Path, *, max_creates: int | None = MAX_EPISODE_CREATES) -> None:
        template = Path(template)
        if not template.is_file():
            raise FhirStoreError(f"no FHIR store at {template}")
        self._dir = Path(tempfile.mkdtemp(prefix="medagentgym-fhir-"))
        try:
            path = copy_store(template, self._dir / "store.sqlite")
            self.store = FhirStore(path, max_creates=max_creates)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self.base_url = self.store.base_url
        self._closed = False
        # an endpoint dropped without close() (a crashed caller) still removes its copy
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)

    @property
    def path(self) -> Path:
        return self.store.path

    def get(self, url: str) -> FhirResponse:
        return handle(self.store, "GET", url)

    def post(self, url: str, payload: Any) -> FhirResponse:
        return handle(self.store, "POST", url, payload)

    def created(self) -> list[dict[str, Any]]:
        return self.store.created()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.store.close()
        finally:
            self._cleanup()


class RemoteEndpoint:
    """A user's FHIR server reached over HTTP from the harness (never from the sandbox)."""

    def __init__(self, base_url: str, *, timeout_s: float = REMOTE_TIMEOUT_S, transport: Any = None) -> None:
        import httpx

        self.base_url = normalize_base(base_url)
        self._client = httpx.Client(
            timeout=timeout_s, transport=transport, follow_redirects=False,
            headers={"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"},
        )
        self._created: list[tuple[str, str]] = []

    def _request(self, method: str, relative: str, body: Any = None) -> FhirResponse:
        import httpx

        url = self.base_url + relative
        try:
            with self._client.stream(method, url, json=body) as reply:
                chunks: list[bytes] = []
                size = 0
                for chunk in reply.iter_bytes():
                    size += len(chunk)
                    if size > MAX_REMOTE_REPLY_BYTES:
                        return error(502, f"the server's reply is larger than {MAX_REMOTE_REPLY_BYTES} bytes")
                    chunks.append(chunk)
                status, location = reply.status_code, reply.headers.get("location")
        except httpx.HTTPError as exc:
            return error(502, f"the FHIR server could not be reached ({type(exc).__name__})", code="transient")
        text = b"".join(chunks).decode("utf-8", "replace")
        try:
            parsed = loads_bounded(text, max_depth=64) if text.strip() else {}
        except UntrustedJSONError:
            return error(502, f"the FHIR server answered {status} without JSON")
        if not isinstance(parsed, dict):
            return error(502, f"the FHIR server answered {status} with JSON that is not a resource")
        return FhirResponse(status, clean_json(parsed), location)

    def get(self, url: str) -> FhirResponse:
        try:
            target = parse_request_url(url, self.base_url, method="GET")
        except FhirUrlError as exc:
            return error(exc.status, str(exc))
        return self._request("GET", target.relative())

    def post(self, url: str, payload: Any) -> FhirResponse:
        try:
            target = parse_request_url(url, self.base_url, method="POST")
        except FhirUrlError as exc:
            return error(exc.status, str(exc))
        if target.interaction != "search" or target.params:
            return error(405, "create with POST to a resource type's URL, e.g. Observation")
        try:
            body = parse_body(payload)
        except ValueError as exc:
            return error(400, str(exc), code="structure")
        response = self._request("POST", str(target.resource_type), body)
        if response.status == 201:
            ident = response.body.get("id") if isinstance(response.body.get("id"), str) else None
            if ident is None and response.location:
                parts = response.location.split("/_history")[0].rstrip("/").split("/")
                ident = parts[-1] if parts else None
            if ident:
                self._created.append((str(target.resource_type), ident))
        return response

    def created(self) -> list[dict[str, Any]]:
        """The resources this episode created, as the server holds them now."""
        found = []
        for type_name, ident in self._created:
            response = self._request("GET", f"{type_name}/{ident}")
            if response.status == 200:
                found.append(response.body)
        return found

    def close(self) -> None:
        self._client.close()


def open_endpoint(location: str, *, transport: Any = None) -> FhirEndpoint:
    """The endpoint of a ``fhir_store`` resource: a private copy of a template, or a remote server.

    Raises :class:`FhirStoreError` when the template file does not exist.
    """
    if is_remote(location):
        return RemoteEndpoint(location, transport=transport)
    return EpisodeStore(location)


__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_EPISODE_CREATES",
    "EpisodeStore",
    "FhirEndpoint",
    "RemoteEndpoint",
    "is_remote",
    "open_endpoint",
]
