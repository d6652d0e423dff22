import json

import pytest

from medagentgym.env.actions import (
    ACTION_NAMES,
    ActionParseError,
    ExecuteSQL,
    Submit,
    parse_action,
    tool_schemas,
)


def test_plain_json_action() -> None:
    action = parse_action('{"action": "execute_sql", "query": "select 1"}')
    assert isinstance(action, ExecuteSQL) and action.query == "select 1"


def test_params_nesting_and_fenced_block_with_prose() -> None:
    text = 'I will look.\n```json\n{"action": "execute_sql", "params": {"query": "select 2"}}\n```'
    action = parse_action(text)
    assert isinstance(action, ExecuteSQL) and action.query == "select 2"


def test_first_json_object_wins_over_later_ones() -> None:
    action = parse_action('{"action": "submit", "answer": 1} {"action": "submit", "answer": 2}')
    assert isinstance(action, Submit) and action.answer == 1


def test_tool_call_with_string_arguments() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "submit", "arguments": '{"answer": ["a"]}'}}
    action = parse_action([call])
    assert isinstance(action, Submit) and action.answer == ["a"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Empty output"),
        ("just prose, no json", "No JSON action"),
        ('{"action": "drop_tables"}', "Unknown action"),
        ('{"action": "execute_sql"}', "query: Field required"),
        ('{"action": "submit"}', "answer: Field required"),
        ('{"action": "sample_rows", "table": "t", "n": 0}', "n:"),
        ('{"action": "submit", "answer": 1, "extra": 2}', "extra"),
        ([], "exactly one tool call"),
        ([{"function": {"name": "submit", "arguments": "{not json"}}], "not valid JSON"),
        (42, "Unsupported action"),
    ],
)
def test_malformed_outputs_give_readable_errors(raw: object, message: str) -> None:
    with pytest.raises(ActionParseError, match=message):
        parse_action(raw)


def test_tool_schemas_cover_actions_and_hide_debug_hint_by_default() -> None:
    names = [t["function"]["name"] for t in tool_schemas()]
    assert "debug_hint" not in names
    assert set(names) == set(ACTION_NAMES) - {"debug_hint"}
    assert "debug_hint" in [t["function"]["name"] for t in tool_schemas(include_debug_hint=True)]
    submit = next(t for t in tool_schemas() if t["function"]["name"] == "submit")
    assert submit["function"]["parameters"]["required"] == ["answer"]
    json.dumps(tool_schemas())  # serialisable for any OpenAI-compatible client
