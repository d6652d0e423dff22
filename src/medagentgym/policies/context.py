"""Keeping a conversation inside a model's context window.

The rule, applied before every model call: the system message and the first user message (the
task statement with its resources and answer format) are never dropped. If the whole
conversation does not fit, the oldest turns after the task are replaced, whole, by one short
note saying how many were left out, and the most recent turns are kept. A single observation
that alone exceeds its share is cut in its middle with a marker. Dropping whole turns (an
assistant message together with the observations answering it) keeps tool-call ids paired.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TokenCounter = Callable[[str], int]
OMITTED = "[{n} earlier message(s) omitted to fit the context window]"


def approx_tokens(text: str) -> int:
    """A cheap, tokenizer-free estimate (about 4 characters per token for English and code)."""
    return len(text) // 4 + 1


def _message_tokens(message: dict[str, Any], count: TokenCounter) -> int:
    text = str(message.get("content") or "")
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        text += str(function.get("name", "")) + str(function.get("arguments", ""))
    return count(text) + 4  # role and separators


def _turns(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group messages after the task into turns: an assistant message and what answers it."""
    turns: list[list[dict[str, Any]]] = []
    for message in messages:
        if message.get("role") == "assistant" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns


def _clip(message: dict[str, Any], budget: int, count: TokenCounter) -> dict[str, Any]:
    text = str(message.get("content") or "")
    if _message_tokens(message, count) <= budget or len(text) < 200:
        return message
    keep = max(100, int(len(text) * budget / max(1, _message_tokens(message, count))) - 60)
    head, tail = text[: keep // 2], text[-keep // 2 :]
    clipped = f"{head}\n...[{len(text) - len(head) - len(tail)} characters cut to fit the context]...\n{tail}"
    return {**message, "content": clipped}


def fit_messages(
    messages: list[dict[str, Any]], max_tokens: int, count: TokenCounter = approx_tokens
) -> list[dict[str, Any]]:
    """The conversation as it should be sent: within ``max_tokens`` where the rule allows."""
    head_len = 2 if len(messages) >= 2 and messages[0].get("role") == "system" else 1
    head, rest = messages[:head_len], messages[head_len:]
    used = sum(_message_tokens(m, count) for m in head)
    if used + sum(_message_tokens(m, count) for m in rest) <= max_tokens:
        return messages
    budget = max_tokens - used - count(OMITTED) - 8
    kept: list[list[dict[str, Any]]] = []
    turns = _turns(rest)
    for turn in reversed(turns):
        clipped = [_clip(m, max(64, budget // 2), count) for m in turn] if not kept else turn
        size = sum(_message_tokens(m, count) for m in clipped)
        if size > budget and kept:
            break
        kept.insert(0, clipped)
        budget -= size
    omitted = sum(len(t) for t in turns[: len(turns) - len(kept)])
    note = [{"role": "user", "content": OMITTED.format(n=omitted)}] if omitted else []
    return head + note + [m for turn in kept for m in turn]
