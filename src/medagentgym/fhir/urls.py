"""Reading a request URL that an agent wrote, as hostile input.

The store answers requests addressed to its own base URL (``http://localhost:8080/fhir/`` by
default) or written relative to it (``Patient?family=Smith``, ``/fhir/Patient/S1234567``).
Anything else is refused before it reaches the store: another scheme, host or port, user info,
a network-path (``//host``) or a fragment, ``.`` / ``..`` segments, control characters, a path
segment outside FHIR's type and id alphabet, more than ``MAX_QUERY_PARAMS`` parameters, a name
or value over its cap. What comes out (:class:`RequestTarget`) is typed and small; parameter
*values* are only ever bound as SQL parameters by the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

#: Longest request URL accepted (characters).
MAX_URL_CHARS = 2_048
#: Most query parameters in one request.
MAX_QUERY_PARAMS = 30
#: Longest parameter name and value.
MAX_PARAM_NAME_CHARS = 64
MAX_PARAM_VALUE_CHARS = 500

_SEGMENT = re.compile(r"[A-Za-z0-9\-._$]{1,64}")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_\-:.]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FhirUrlError(ValueError):
    """A URL the store will not serve; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestTarget:
    """What a URL asks for: the capability statement, a search, or a read by id."""

    interaction: Literal["capabilities", "search", "read"]
    resource_type: str | None = None
    resource_id: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def relative(self) -> str:
        """The request written relative to the base (re-encoded: safe to forward)."""
        from urllib.parse import urlencode

        if self.interaction == "capabilities":
            path = "metadata"
        elif self.interaction == "read":
            path = f"{self.resource_type}/{self.resource_id}"
        else:
            path = str(self.resource_type)
        return f"{path}?{urlencode(self.params)}" if self.params else path


def normalize_base(base_url: str) -> str:
    """The base URL with exactly one trailing slash."""
    return base_url.rstrip("/") + "/"


def _relative_part(url: str, base_url: str) -> str:
    """The part of ``url`` after the base (absolute URLs must name the base's scheme, host, path)."""
    base = urlsplit(normalize_base(base_url))
    base_path = base.path.lstrip("/")  # "fhir/"
    if url.startswith("//"):
        raise FhirUrlError(f"only this task's FHIR server ({normalize_base(base_url)}) can be reached")
    if "://" in url.split("?", 1)[0]:
        parts = urlsplit(url)
        if (
            parts.scheme.lower() != base.scheme.lower()
            or parts.netloc.lower() != base.netloc.lower()
            or parts.username is not None
            or not (parts.path.lstrip("/") + "/").startswith(base_path)
        ):
            raise FhirUrlError(f"only this task's FHIR server ({normalize_base(base_url)}) can be reached")
        rest = parts.path.lstrip("/")[len(base_path):]
        return rest + (f"?{parts.query}" if parts.query else "")
    if ":" in url.split("?", 1)[0].split("/", 1)[0]:
        raise FhirUrlError(f"only this task's FHIR server ({normalize_base(base_url)}) can be reached")
    rest = url.lstrip("/")
    if base_path and (rest + "/").startswith(base_path):
        rest = rest[len(base_path):]
    return rest


def parse_request_url(url: object, base_url: str, *, method: str = "GET") -> RequestTarget:
    """The :class:`RequestTarget` of ``url`` against the store at ``base_url``.

    Raises :class:`FhirUrlError` (with the HTTP status) for anything the store will not serve.
    """
    if not isinstance(url, str):
        raise FhirUrlError("the url must be a string")
    url = url.strip()
    if not url:
        raise FhirUrlError("the url is empty; write e.g. Patient?family=Smith")
    if len(url) > MAX_URL_CHARS:
        raise FhirUrlError(f"the url is longer than {MAX_URL_CHARS} characters", 414)
    if _CONTROL.search(url):
        raise FhirUrlError("the url holds control characters")
    if "#" in url:
        raise FhirUrlError("the url must not hold a fragment (#...)")
    rest = _relative_part(url, base_url)
    path, _, query = rest.partition("?")
    if any(c.isspace() for c in path):
        raise FhirUrlError("the url path must not hold spaces")
    segments = [unquote(s) for s in path.split("/")]
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash
    if not segments:
        raise FhirUrlError("name a resource type, e.g. Patient?family=Smith", 404)
    for segment in segments:
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise FhirUrlError(f"{segment[:40]!r} is not a valid path segment", 404 if segment else 400)
    params = _parse_query(query)
    if segments == ["metadata"]:
        if method != "GET":
            raise FhirUrlError("metadata can only be read", 405)
        return RequestTarget("capabilities", params=params)
    if len(segments) == 1:
        return RequestTarget("search", segments[0], params=params)
    if len(segments) == 2:
        if method != "GET":
            raise FhirUrlError("create with POST to the type's URL (e.g. Observation), without an id", 405)
        return RequestTarget("read", segments[0], segments[1], params=params)
    raise FhirUrlError(f"unsupported path {path[:80]!r}: use Type, Type/id or metadata", 404)


def _parse_query(query: str) -> tuple[tuple[str, str], ...]:
    if not query:
        return ()
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_PARAMS, errors="strict")
    except ValueError as exc:
        if "Max number of fields" in str(exc):
            raise FhirUrlError(f"more than {MAX_QUERY_PARAMS} query parameters") from None
        raise FhirUrlError("the query string is not valid (percent-escapes must encode UTF-8)") from None
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        if not _PARAM_NAME.fullmatch(name):
            raise FhirUrlError(f"{name[:40]!r} is not a valid parameter name")
        if len(value) > MAX_PARAM_VALUE_CHARS:
            raise FhirUrlError(f"the value of {name!r} is longer than {MAX_PARAM_VALUE_CHARS} characters")
        if _CONTROL.search(value):
            raise FhirUrlError(f"the value of {name!r} holds control characters")
        out.append((name, value))
    return tuple(out)
