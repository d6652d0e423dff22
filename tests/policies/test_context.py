"""The context-window rule: the task is never dropped, recent turns are kept, pairs stay whole."""

from __future__ import annotations

from medagentgym.policies.context import approx_tokens, fit_messages


def conversation(turns: int, observation_chars: int = 400) -> list[dict]:
    messages = [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "TASK: how many female patients? " + "details " * 20},
    ]
    for i in range(turns):
        messages.append({"role": "assistant", "content": f'{{"action": "execute_python", "code": "step {i}"}}'})
        messages.append({"role": "user", "content": f"observation {i} " + "x" * observation_chars})
    return messages


def total(messages: list[dict]) -> int:
    return sum(approx_tokens(str(m.get("content") or "")) + 4 for m in messages)


def test_short_conversations_are_untouched() -> None:
    messages = conversation(2)
    assert fit_messages(messages, 10_000) == messages


def test_long_conversations_keep_task_and_latest_turns() -> None:
    messages = conversation(30)
    fitted = fit_messages(messages, 1_000)
    assert fitted[:2] == messages[:2]
    assert "omitted" in fitted[2]["content"]
    assert fitted[-1] == messages[-1] and fitted[-2] == messages[-2]
    assert total(fitted) <= 1_000
    roles = [m["role"] for m in fitted[3:]]
    assert roles[0] == "assistant" and roles.count("assistant") == roles.count("user")


def test_a_huge_last_observation_is_clipped_not_dropped() -> None:
    messages = conversation(1, observation_chars=40_000)
    fitted = fit_messages(messages, 2_000)
    assert fitted[:2] == messages[:2]
    assert fitted[-1]["content"].startswith("observation 0") and "cut to fit" in fitted[-1]["content"]
    assert total(fitted) <= 2_000


def test_tool_call_turns_stay_paired() -> None:
    messages = conversation(0)
    for i in range(20):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "execute_python", "arguments": "{}"}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": "y" * 400})
    fitted = fit_messages(messages, 800)
    kept_ids = [m["tool_calls"][0]["id"] for m in fitted if m.get("tool_calls")]
    answered = [m["tool_call_id"] for m in fitted if m["role"] == "tool"]
    assert kept_ids == answered and kept_ids[-1] == "c19"


def test_every_registered_policy_builds_from_cli_options() -> None:
    """Each name the CLI accepts resolves to a class with from_options (heavy ones lazily)."""
    from medagentgym.policies import POLICY_CLASSES, PolicySpec, make_policy, policy_class

    for name in POLICY_CLASSES:
        assert callable(getattr(policy_class(name), "from_options", None)), name
    assert make_policy(PolicySpec(name="oracle", options={"action_format": "tools"})).action_format == "tools"
