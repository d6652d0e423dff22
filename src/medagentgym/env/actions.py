"""What an agent may do, and how model output becomes an action.

Two formats reach the same action models:
- JSON text (any chat model): ``{"action": "execute_sql", "query": "..."}``; parameters may also sit
  under ``"params"``. A fenced ```json block is accepted; the first JSON object in the text wins.
- OpenAI-style tool calls: ``{"function": {"name": "execute_sql", "arguments": "{...}"}}``.

Anything else raises ``ActionParseError`` with a message written for the model to read.

``fhir_get`` / ``fhir_post`` reach a task's FHIR record store (``FHIR_ACTION_NAMES``); they are
offered only to samples with one, and their URL and body are checked again by the store
(``medagentgym.fhir.urls``, ``medagentgym.fhir.validate``).

Model output is adversarial input (policies are rewarded for reaching a target), so parsing is
bounded: one output may hold at most ``MAX_OUTPUT_CHARS`` characters (text, or all tool calls
together) and its action JSON may nest at most ``MAX_JSON_DEPTH`` levels; search terms and
table/column/database names have their own caps (``MAX_SEARCH_TERM_CHARS``, ``MAX_NAME_CHARS``).
Finding the action is linear in the output's length: each candidate ``{`` is checked by one
bounded scan (no copy of the rest of the text), and the total work is capped at
``PARSE_WORK_FACTOR`` times the length and ``MAX_PARSE_CANDIDATES`` scans. Everything over a cap
is an ``ActionParseError``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from medagentgym.untrusted import (
    UntrustedJSONError,
    balanced_end,
    clean_json,
    json_depth_exceeds,
    loads_bounded,
    object_starts,
)

#: Longest model output one turn may hold (characters of text, or of all tool calls together).
MAX_OUTPUT_CHARS = 100_000
#: Deepest nesting of the action JSON ({"action": "submit", "answer": [..]} nests 2 levels).
MAX_JSON_DEPTH = 16
#: Longest ``search`` term: fuzzy matching costs grow with the term's length.
MAX_SEARCH_TERM_CHARS = 200
#: Longest table, column or database name an inspection action may name.
MAX_NAME_CHARS = 200
#: Longest URL a ``fhir_get`` / ``fhir_post`` action may send (the store checks it further).
MAX_FHIR_URL_CHARS = 2_048
#: Finding the action looks at no more than this many characters per character of output...
PARSE_WORK_FACTOR = 8
#: ...and scans at most this many candidates (a "{" followed by '"' or "}" may open an object).
MAX_PARSE_CANDIDATES = 1_000


# A table, column or database name: checked against the schema before use, capped here so an
# error message that quotes it stays short.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def params(self) -> dict[str, Any]:
        return self.model_dump(exclude={"action"}, exclude_none=True)

    def record(self) -> dict[str, Any]:
        return {"name": self.action, "params": self.params()}  # type: ignore[attr-defined]


class ListTables(_Action):
    """List the tables of a database resource."""

    action: Literal["list_tables"]
    database: Name | None = None


class DescribeTable(_Action):
    """Columns, types and row count of one table."""

    action: Literal["describe_table"]
    table: Name
    database: Name | None = None


class DistinctValues(_Action):
    """The most frequent distinct values of one column, with counts."""

    action: Literal["distinct_values"]
    table: Name
    column: Name
    limit: int = Field(default=30, ge=1, le=500)
    database: Name | None = None


class SampleRows(_Action):
    """The first rows of a table."""

    action: Literal["sample_rows"]
    table: Name
    n: int = Field(default=5, ge=1, le=100)
    database: Name | None = None


class SearchTerm(_Action):
    """Fuzzy search for a term over the text columns of a database (finds exact spellings)."""

    action: Literal["search"]
    term: str = Field(min_length=1, max_length=MAX_SEARCH_TERM_CHARS)
    limit: int = Field(default=10, ge=1, le=100)
    database: Name | None = None


class ListFiles(_Action):
    """List the files the task provides."""

    action: Literal["list_files"]


class ExecutePython(_Action):
    """Run Python in the episode's session; variables persist between calls."""

    action: Literal["execute_python"]
    code: str


class ExecuteSQL(_Action):
    """Run one SQL query (read-only) against a database resource."""

    action: Literal["execute_sql"]
    query: str
    database: Name | None = None


class DebugHint(_Action):
    """Ask for a hint about the last error (only when the env enables it)."""

    action: Literal["debug_hint"]


class Submit(_Action):
    """Submit the final answer; this ends the episode and is the only thing graded."""

    action: Literal["submit"]
    answer: Any


class FhirGet(_Action):
    """Send a GET request to the task's FHIR server: a search (Observation?patient=S1234567&code=K)
    or a read (Patient/S1234567). The reply is the FHIR JSON (a Bundle for a search)."""

    action: Literal["fhir_get"]
    url: str = Field(min_length=1, max_length=MAX_FHIR_URL_CHARS)


class FhirPost(_Action):
    """Create a resource on the task's FHIR server: POST the resource (a JSON object) to its
    type's URL (e.g. url "MedicationRequest"). The server validates it and records it."""

    action: Literal["fhir_post"]
    url: str = Field(min_length=1, max_length=MAX_FHIR_URL_CHARS)
    payload: Any


Action = Annotated[
    ListTables
    | DescribeTable
    | DistinctValues
    | SampleRows
    | SearchTerm
    | ListFiles
    | ExecutePython
    | ExecuteSQL
    | DebugHint
    | Submit
    | FhirGet
    | FhirPost,
    Field(discriminator="action"),
]
ACTION_MODELS: tuple[type[_Action], ...] = (
    ListTables,
    DescribeTable,
    DistinctValues,
    SampleRows,
    SearchTerm,
    ListFiles,
    ExecutePython,
    ExecuteSQL,
    DebugHint,
    Submit,
)
ACTION_NAMES: tuple[str, ...] = tuple(
    model.model_fields["action"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in ACTION_MODELS
)
#: Actions over a task's FHIR record store: offered (prompt, tool schemas) only to samples that
#: have one; elsewhere they parse but answer with an error observation.
FHIR_ACTION_MODELS: tuple[type[_Action], ...] = (FhirGet, FhirPost)
FHIR_ACTION_NAMES: tuple[str, ...] = ("fhir_get", "fhir_post")
_ALL_NAMES: tuple[str, ...] = ACTION_NAMES + FHIR_ACTION_NAMES
_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)
_FENCE = "```"


class ActionParseError(ValueError):
    """The model output is not a valid action; the message is shown to the model."""


_NO_ACTION = (
    "No JSON action found. Reply with one JSON object such as "
    '{"action": "execute_python", "code": "print(1)"}.'
)


def _preview(value: Any, limit: int = 60) -> str:
    """A short repr for messages (a huge or deeply nested value must not land in one)."""
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    elif isinstance(value, int) and value.bit_length() > 64:
        text = "a very large integer"  # repr() refuses integers of more than 4,300 digits
    elif isinstance(value, (int, float, bool)) or value is None:
        text = repr(value)
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fenced_starts(text: str) -> Iterator[tuple[int, int]]:
    """(start of the "{", end of the block) of each ```/```json fenced block whose body is an
    object, pairing fences in order as Markdown does: linear, unlike a lazy regex."""
    pos = 0
    while True:
        opening = text.find(_FENCE, pos)
        if opening < 0:
            return
        closing = text.find(_FENCE, opening + len(_FENCE))
        if closing < 0:
            return
        body = opening + len(_FENCE)
        if text.startswith("json", body):
            body += len("json")
        while body < closing and text[body].isspace():
            body += 1
        end = closing
        while end > body and text[end - 1].isspace():
            end -= 1
        if body < end and text[body] == "{" and text[end - 1] == "}":
            yield body, end
        pos = closing + len(_FENCE)


def _first_json_object(text: str) -> dict[str, Any]:
    """The first fenced JSON object, else the first ``{`` in the text that starts a JSON object.

    Each candidate start costs one bounded scan (``balanced_end``: string-aware, refuses nesting
    deeper than ``MAX_JSON_DEPTH``) and a decode of that span only, never a copy of the rest of
    the text; all candidates together look at no more than ``PARSE_WORK_FACTOR * len(text)``
    characters and ``MAX_PARSE_CANDIDATES`` scans.
    """
    budget = PARSE_WORK_FACTOR * len(text) + 1_000
    candidates = 0
    first_error: str | None = None

    def attempt(start: int, stop: int | None, whole: bool) -> dict[str, Any] | None:
        nonlocal budget, candidates, first_error
        end, work = balanced_end(text, start, MAX_JSON_DEPTH, stop)
        budget -= work
        candidates += 1
        if end is None or (whole and end != stop):
            return None
        budget -= end - start
        try:
            value = loads_bounded(text[start:end], max_depth=MAX_JSON_DEPTH)
        except UntrustedJSONError as exc:
            first_error = first_error or str(exc)
            return None
        return value if isinstance(value, dict) else None

    def exhausted() -> bool:
        return budget <= 0 or candidates >= MAX_PARSE_CANDIDATES

    for start, stop in _fenced_starts(text):
        found = attempt(start, stop, whole=True)
        if found is not None:
            return found
        if exhausted():
            break
    for start in object_starts(text):
        if exhausted():
            break
        found = attempt(start, None, whole=False)
        if found is not None:
            return found
    if exhausted():
        raise ActionParseError(f"{_NO_ACTION} (gave up after {candidates} candidate objects)")
    if first_error is not None:
        raise ActionParseError(f"{_NO_ACTION} The first {{...}} block is {first_error}.")
    if json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise ActionParseError(f"{_NO_ACTION} (JSON may nest at most {MAX_JSON_DEPTH} levels)")
    raise ActionParseError(_NO_ACTION)


_MAX_INT_BITS = 4_000  # about 1,200 digits; Python will not print an integer of more than 4,300


def _check_shape(value: Any) -> None:
    """Refuse a payload nested deeper than MAX_JSON_DEPTH or holding more than MAX_OUTPUT_CHARS
    of text, before anything (pydantic, repr, the scorer) walks it recursively. Iterative."""
    size = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, (dict, list, tuple)):
            if depth >= MAX_JSON_DEPTH:
                raise ActionParseError(
                    f"The action is nested deeper than {MAX_JSON_DEPTH} levels. Send a flat JSON action."
                )
            size += len(item)
            children = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, child in children:
                if isinstance(key, str):
                    size += len(key)
                stack.append((child, depth + 1))
        elif isinstance(item, int) and item.bit_length() > _MAX_INT_BITS:
            raise ActionParseError("The action holds a number too large to be written. Send a shorter action.")
        else:
            size += 1
        if size > MAX_OUTPUT_CHARS:
            raise ActionParseError(
                f"The action is larger than {MAX_OUTPUT_CHARS} characters. Send a shorter action."
            )


def _validate(payload: dict[str, Any]) -> Action:
    _check_shape(payload)
    # A JSON "\udcff" escape decodes to a lone surrogate, which no UTF-8 writer (the sandbox
    # wire, the trajectory file) accepts: parameters are kept as valid Unicode (U+FFFD).
    payload = clean_json(payload)
    if "params" in payload and isinstance(payload["params"], dict):
        payload = {"action": payload.get("action"), **payload["params"]}
    name = payload.get("action")
    if not isinstance(name, str) or name not in _ALL_NAMES:
        raise ActionParseError(
            f"Unknown action {_preview(name)}. Valid actions: {', '.join(_ALL_NAMES)}."
        )
    try:
        return _ADAPTER.validate_python(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'action'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ActionParseError(f"Invalid parameters for {name!r}: {problems}.") from None


def _check_length(length: int) -> None:
    if length > MAX_OUTPUT_CHARS:
        raise ActionParseError(
            f"Output too long: {length} characters (the limit is {MAX_OUTPUT_CHARS}). "
            "Reply with one short JSON action."
        )


def parse_text_action(text: str) -> Action:
    """Parse a JSON text action out of raw model output."""
    if not isinstance(text, str) or not text.strip():
        raise ActionParseError("Empty output. Reply with one JSON action.")
    _check_length(len(text))
    return _validate(_first_json_object(text))


def parse_tool_call(call: dict[str, Any]) -> Action:
    """Parse one OpenAI-style tool call (``{"function": {"name", "arguments"}}``)."""
    if not isinstance(call, dict):
        raise ActionParseError("A tool call must be a JSON object with a 'function'.")
    _check_shape(call)
    function = call.get("function", call)
    name = function.get("name") if isinstance(function, dict) else None
    if not name:
        raise ActionParseError("Tool call without a function name.")
    if not isinstance(name, str):
        raise ActionParseError(f"The tool call's function name must be a string, not {_preview(name)}.")
    arguments = function.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = loads_bounded(arguments, max_depth=MAX_JSON_DEPTH) if arguments.strip() else {}
        except UntrustedJSONError as exc:
            raise ActionParseError(f"Arguments of {_preview(name)} are {exc}.") from None
    if not isinstance(arguments, dict):
        raise ActionParseError(f"Arguments of {_preview(name)} must be a JSON object.")
    return _validate({**arguments, "action": name})


def parse_action(raw: Any) -> Action:
    """Accept JSON text, an already-built action, a dict, or a (list of one) tool call."""
    if isinstance(raw, _Action):
        return raw  # type: ignore[return-value]
    if isinstance(raw, str):
        return parse_text_action(raw)
    if isinstance(raw, list):
        if len(raw) != 1:
            raise ActionParseError(f"Send exactly one tool call per turn, got {len(raw)}.")
        return parse_tool_call(raw[0])
    if isinstance(raw, dict):
        if "function" in raw:
            return parse_tool_call(raw)
        return _validate(dict(raw))
    raise ActionParseError(f"Unsupported action value of type {type(raw).__name__}.")


def tool_schemas(*, include_debug_hint: bool = False, include_fhir: bool = False) -> list[dict[str, Any]]:
    """OpenAI ``tools`` definitions, one function per action (the FHIR actions with
    ``include_fhir``: for samples with a record store).

    pydantic's JSON schemas take milliseconds to build and never change in a process, so they are
    built once per variant; each caller gets its own copy (it may edit it)."""
    return json.loads(_tool_schemas_json(include_debug_hint, include_fhir))  # a fresh copy, fast


@functools.cache
def _tool_schemas_json(include_debug_hint: bool, include_fhir: bool) -> str:
    return json.dumps(_build_tool_schemas(include_debug_hint, include_fhir))


def _build_tool_schemas(include_debug_hint: bool, include_fhir: bool) -> list[dict[str, Any]]:
    tools = []
    models = ACTION_MODELS + (FHIR_ACTION_MODELS if include_fhir else ())
    names = ACTION_NAMES + (FHIR_ACTION_NAMES if include_fhir else ())
    for model, name in zip(models, names, strict=True):
        if name == "debug_hint" and not include_debug_hint:
            continue
        schema = model.model_json_schema()
        properties = {k: v for k, v in schema.get("properties", {}).items() if k != "action"}
        required = [k for k in schema.get("required", []) if k != "action"]
        if name == "submit":
            properties["answer"] = {
                "description": "The final answer: a number, a string, a list of strings, a boolean, or the source code of the asked function."
            }
            required = ["answer"]
        if name == "fhir_post":
            properties["payload"] = {
                "type": "object",
                "description": "The FHIR resource to create, as a JSON object with its resourceType.",
            }
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": " ".join((model.__doc__ or "").split()),
                    "parameters": {"type": "object", "properties": properties, "required": required},
                },
            }
        )
    return tools
