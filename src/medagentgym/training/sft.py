"""Supervised fine-tuning on exported episodes (TRL's SFTTrainer, loss on the agent's turns only).

Why it is built this way:
- The loss covers assistant tokens only. Observations (sandbox output, tool results) and the task
  are context the model must read, not text it should learn to write. TRL swaps in a training
  variant of the chat template with ``{% generation %}`` markers when ``assistant_only_loss`` is
  on; the tokenizer itself keeps the inference template, and that is the one saved beside the
  weights, so the transformers policy renders prompts exactly as they were rendered in training.
- A conversation longer than ``max_length`` is dropped, not truncated: truncation keeps the start
  and would cut the final answer, teaching the model to stop before it submits. Dropped rows are
  counted in the run record.
- Rows are read line by line and checked before TRL sees them, so a corrupt or foreign file fails
  with its name and line rather than deep inside a tokenizer. A row of another split than
  ``train`` is refused: no test sample ever trains a model.
- The dataset is built with message columns typed as ``Json``. Arrow's type inference (what
  ``load_dataset("json")`` does) merges the argument dicts of different tools into one struct and
  fills the missing keys with nulls, so a ``submit`` call would render as
  ``{"code": null, "answer": 3}``; ``Json`` keeps each message as written.

The helpers for finding and reading an export (``export_file``, ``read_rows``, ``conversation_dataset``)
are shared with ``training.dpo``; the TRL settings and saving are ``training.trainers``'.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medagentgym.training.config import ConfigError, TrainConfig
from medagentgym.training.models import load_causal_lm, load_tokenizer, lora_config
from medagentgym.training.trainers import Fitted, finish, trainer_args

ROLES = frozenset({"system", "user", "assistant", "tool"})


class TrainingDataError(ValueError):
    """An export file that is corrupt or unfit to train on (names the file and line)."""


class RowError(ValueError):
    """A row check failed; ``read_rows`` adds the file and line."""


# ----- finding and reading an export -----------------------------------------------------------


def export_file(config: TrainConfig, kind: str) -> Path:
    """``config.data`` as a file: an export folder means its ``<kind>.jsonl`` (``export.ExportError`` if absent)."""
    from medagentgym.training.export import load_export

    if not config.data:
        raise ConfigError(f"data: a {kind} run needs `data` (an export folder or a {kind}.jsonl file)")
    return load_export(config.data, kind)


def read_rows(path: Path, check: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """Every non-blank line of ``path`` as a dict that passed ``check``; the first bad line raises."""
    rows: list[dict[str, Any]] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrainingDataError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise TrainingDataError(f"{path}:{number}: a row must be a JSON object")
            try:
                check(row)
            except RowError as exc:
                raise TrainingDataError(f"{path}:{number}: {exc}") from None
            rows.append(row)
    if not rows:
        raise TrainingDataError(f"{path}: no rows")
    return rows


def check_split(row: dict[str, Any]) -> None:
    split = row.get("split")
    if split != "train":
        raise RowError(f"split is {split!r}, only train-split rows may train a model")


def check_message(message: Any, where: str) -> None:
    """One chat message in the shape the chat templates render."""
    if not isinstance(message, dict):
        raise RowError(f"{where}: a message must be an object")
    role = message.get("role")
    if role not in ROLES:
        raise RowError(f"{where}: unknown role {role!r}")
    content = message.get("content")
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if role != "assistant" or not isinstance(tool_calls, list) or not tool_calls:
            raise RowError(f"{where}: tool_calls must be a non-empty list on an assistant message")
        for call in tool_calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise RowError(f"{where}: a tool call needs function.name")
            if not isinstance(function.get("arguments"), dict):
                raise RowError(f"{where}: tool call arguments must be an object (the export decodes them)")
    if content is not None and not isinstance(content, str):
        raise RowError(f"{where}: content must be a string")
    if content is None and tool_calls is None and role != "assistant":
        raise RowError(f"{where}: a {role} message needs content")


def check_messages(messages: Any, field: str) -> None:
    """Check a list of messages; an empty reply (content null) becomes "" so templates can render it."""
    if not isinstance(messages, list) or not messages:
        raise RowError(f"{field} must be a non-empty list of messages")
    for index, message in enumerate(messages):
        check_message(message, f"{field}[{index}]")
        if message.get("content") is None:
            message["content"] = ""


def check_tools(row: dict[str, Any]) -> None:
    tools = row.get("tools")
    if tools is not None and not (isinstance(tools, list) and all(isinstance(t, dict) for t in tools)):
        raise RowError("tools must be a list of tool schemas")


def check_sft_row(row: dict[str, Any]) -> None:
    check_split(row)
    check_messages(row.get("messages"), "messages")
    check_tools(row)
    messages = row["messages"]
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        raise RowError("no assistant message to learn from")
    # A recorded episode ends with the observation of its submission: no loss falls on it, so it
    # is cut rather than spending tokens (and perhaps pushing the row over max_length).
    del messages[last + 1 :]


def conversation_dataset(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Any:
    """A datasets.Dataset of the message columns (and ``tools`` where rows carry them), typed ``Json``."""
    from datasets import Dataset, Features, Json, List

    names = list(columns) + (["tools"] if any(row.get("tools") for row in rows) else [])
    features = Features({name: List(Json()) for name in names})
    return Dataset.from_list([{name: row.get(name) or [] for name in names} for row in rows], features=features)


def token_length(tokenizer: Any, messages: list[dict[str, Any]], tools: Any, chat_template: str | None) -> int:
    encoded = tokenizer.apply_chat_template(
        messages, tools=tools or None, chat_template=chat_template, tokenize=True, return_dict=True
    )
    return len(encoded["input_ids"])


# ----- SFT -------------------------------------------------------------------------------------


def build_trainer(config: TrainConfig, device: str) -> tuple[Any, Any, dict[str, Any]]:
    """The SFTTrainer ready to train, its tokenizer, and what it trains on (read, dropped)."""
    from trl import SFTConfig, SFTTrainer
    from trl.chat_template_utils import (
        get_training_chat_template,
        has_generation_markers,
    )

    path = export_file(config, "sft")
    rows = read_rows(path, check_sft_row)
    tokenizer = load_tokenizer(config.model)
    template = tokenizer.chat_template
    if has_generation_markers(template):
        training_template = template
    else:
        training_template = get_training_chat_template(tokenizer) or template
    kept = [
        row
        for row in rows
        if token_length(tokenizer, row["messages"], row.get("tools"), training_template) <= config.max_length
    ]
    data = {"file": str(path), "rows": len(rows), "trained_rows": len(kept), "dropped_too_long": len(rows) - len(kept)}
    if not kept:
        raise TrainingDataError(f"{path}: all {len(rows)} rows are longer than max_length={config.max_length} tokens")
    args = trainer_args(SFTConfig, config, device, assistant_only_loss=True)
    trainer = SFTTrainer(
        model=load_causal_lm(config, device),
        args=args,
        train_dataset=conversation_dataset(kept, ["messages"]),
        processing_class=tokenizer,
        peft_config=lora_config(config),
    )
    return trainer, tokenizer, data


def fit(config: TrainConfig, device: str) -> Fitted:
    trainer, tokenizer, data = build_trainer(config, device)
    trainer.train()
    return finish(trainer, tokenizer, config, data)
