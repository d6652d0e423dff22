"""What an agent may do, and how model output becomes an action.

Two formats reach the same action models:
- JSON text (any chat model): ``{"action": "execute_sql", "query": "..."}``; parameters may also sit
  under ``"params"``. A fenced ```json block is accepted; the first JSON object in the text wins.
- OpenAI-style tool calls: ``{"function": {"name": "execute_sql", "arguments": "{...}"}}``.

Anything else raises ``ActionParseError`` with a message written for the model to read.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def params(self) -> dict[str, Any]:
        return self.model_dump(exclude={"action"}, exclude_none=True)

    def record(self) -> dict[str, Any]:
        return {"name": self.action, "params": self.params()}  # type: ignore[attr-defined]


class ListTables(_Action):
    """List the tables of a database resource."""

    action: Literal["list_tables"]
    database: str | None = None


class DescribeTable(_Action):
    """Columns, types and row count of one table."""

    action: Literal["describe_table"]
    table: str
    database: str | None = None


class DistinctValues(_Action):
    """The most frequent distinct values of one column, with counts."""

    action: Literal["distinct_values"]
    table: str
    column: str
    limit: int = Field(default=30, ge=1, le=500)
    database: str | None = None


class SampleRows(_Action):
    """The first rows of a table."""

    action: Literal["sample_rows"]
    table: str
    n: int = Field(default=5, ge=1, le=100)
    database: str | None = None


class SearchTerm(_Action):
    """Fuzzy search for a term over the text columns of a database (finds exact spellings)."""

    action: Literal["search"]
    term: str = Field(min_length=1)
    limit: int = Field(default=10, ge=1, le=100)
    database: str | None = None


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
    database: str | None = None


class DebugHint(_Action):
    """Ask for a hint about the last error (only when the env enables it)."""

    action: Literal["debug_hint"]


class Submit(_Action):
    """Submit the final answer; this ends the episode and is the only thing graded."""

    action: Literal["submit"]
    answer: Any


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
    | Submit,
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
_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)


class ActionParseError(ValueError):
    """The model output is not a valid action; the message is shown to the model."""


def _first_json_object(text: str) -> dict[str, Any]:
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1)] if fenced else []
    candidates += [text[m.start() :] for m in re.finditer(r"\{", text)]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            value, _ = decoder.raw_decode(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise ActionParseError(
        "No JSON action found. Reply with one JSON object such as "
        '{"action": "execute_python", "code": "print(1)"}.'
    )


def _validate(payload: dict[str, Any]) -> Action:
    if "params" in payload and isinstance(payload["params"], dict):
        payload = {"action": payload.get("action"), **payload["params"]}
    name = payload.get("action")
    if name not in ACTION_NAMES:
        raise ActionParseError(
            f"Unknown action {name!r}. Valid actions: {', '.join(ACTION_NAMES)}."
        )
    try:
        return _ADAPTER.validate_python(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'action'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ActionParseError(f"Invalid parameters for {name!r}: {problems}.") from None


def parse_text_action(text: str) -> Action:
    """Parse a JSON text action out of raw model output."""
    if not isinstance(text, str) or not text.strip():
        raise ActionParseError("Empty output. Reply with one JSON action.")
    return _validate(_first_json_object(text))


def parse_tool_call(call: dict[str, Any]) -> Action:
    """Parse one OpenAI-style tool call (``{"function": {"name", "arguments"}}``)."""
    function = call.get("function", call)
    name = function.get("name") if isinstance(function, dict) else None
    if not name:
        raise ActionParseError("Tool call without a function name.")
    arguments = function.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ActionParseError(f"Arguments of {name!r} are not valid JSON: {exc.msg}.") from None
    if not isinstance(arguments, dict):
        raise ActionParseError(f"Arguments of {name!r} must be a JSON object.")
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


def tool_schemas(*, include_debug_hint: bool = False) -> list[dict[str, Any]]:
    """OpenAI ``tools`` definitions, one function per action."""
    tools = []
    for model, name in zip(ACTION_MODELS, ACTION_NAMES, strict=True):
        if name == "debug_hint" and not include_debug_hint:
            continue
        schema = model.model_json_schema()
        properties = {k: v for k, v in schema.get("properties", {}).items() if k != "action"}
        required = [k for k in schema.get("required", []) if k != "action"]
        if name == "submit":
            properties["answer"] = {
                "description": "The final answer: a number, a string, a list of strings or a boolean."
            }
            required = ["answer"]
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": (model.__doc__ or "").strip(),
                    "parameters": {"type": "object", "properties": properties, "required": required},
                },
            }
        )
    return tools
