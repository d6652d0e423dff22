"""Preference tuning on per-decision pairs (TRL's DPOTrainer).

Why it is built this way:
- A pair is one decision point: the shared conversation so far (``prompt``), the assistant
  message of a successful episode (``chosen``) and that of a failed one (``rejected``). DPO
  scores whole completions with no assistant mask, so each side must be a single assistant
  message; a longer side would train on observations. Rows are checked for that shape.
- The reference policy is the starting model. With LoRA, TRL computes it with the adapter
  disabled (no second copy in memory); full fine-tuning loads a second, frozen copy.
- A pair longer than ``max_length`` is dropped, not truncated (truncation keeps the start and
  would cut the end of a completion, comparing two half-messages), and so is a pair whose prompt
  exceeds ``dpo.max_prompt_length`` (TRL 1.16 has no prompt limit of its own) or whose two sides
  are identical (no preference to learn). Each is counted in the run record.
"""

from __future__ import annotations

from typing import Any

from medagentgym.training.config import TrainConfig
from medagentgym.training.models import load_causal_lm, load_tokenizer, lora_config
from medagentgym.training.sft import (
    RowError,
    TrainingDataError,
    check_messages,
    check_split,
    check_tools,
    conversation_dataset,
    export_file,
    read_rows,
    token_length,
)
from medagentgym.training.trainers import Fitted, finish, trainer_args

PAIR_COLUMNS = ("prompt", "chosen", "rejected")


def check_dpo_row(row: dict[str, Any]) -> None:
    check_split(row)
    check_messages(row.get("prompt"), "prompt")
    if row["prompt"][-1]["role"] == "assistant":
        raise RowError("the prompt must end before an assistant turn (with the task or an observation)")
    for side in ("chosen", "rejected"):
        check_messages(row.get(side), side)
        if len(row[side]) != 1 or row[side][0]["role"] != "assistant":
            raise RowError(f"{side} must be exactly one assistant message")
    check_tools(row)


def pair_lengths(tokenizer: Any, row: dict[str, Any]) -> tuple[int, int]:
    """Tokens of the prompt (with the generation prompt) and of the longer prompt + completion."""
    tools = row.get("tools")
    encoded = tokenizer.apply_chat_template(
        row["prompt"], tools=tools or None, add_generation_prompt=True, tokenize=True, return_dict=True
    )
    prompt = len(encoded["input_ids"])
    full = max(token_length(tokenizer, row["prompt"] + row[side], tools, None) for side in ("chosen", "rejected"))
    return prompt, full


def select_pairs(rows: list[dict[str, Any]], tokenizer: Any, config: TrainConfig) -> tuple[list[dict[str, Any]], dict[str, int]]:
    kept: list[dict[str, Any]] = []
    dropped = {"dropped_identical": 0, "dropped_prompt_too_long": 0, "dropped_too_long": 0}
    for row in rows:
        if row["chosen"] == row["rejected"]:
            dropped["dropped_identical"] += 1
            continue
        prompt, full = pair_lengths(tokenizer, row)
        if config.dpo.max_prompt_length is not None and prompt > config.dpo.max_prompt_length:
            dropped["dropped_prompt_too_long"] += 1
        elif full > config.max_length:
            dropped["dropped_too_long"] += 1
        else:
            kept.append(row)
    return kept, dropped


def build_trainer(config: TrainConfig, device: str) -> tuple[Any, Any, dict[str, Any]]:
    """The DPOTrainer ready to train, its tokenizer, and what it trains on (read, dropped by reason)."""
    from trl import DPOConfig, DPOTrainer

    path = export_file(config, "dpo")
    rows = read_rows(path, check_dpo_row)
    tokenizer = load_tokenizer(config.model)
    kept, dropped = select_pairs(rows, tokenizer, config)
    data = {"file": str(path), "rows": len(rows), "trained_rows": len(kept), **dropped}
    if not kept:
        raise TrainingDataError(f"{path}: none of the {len(rows)} pairs is usable ({dropped})")
    args = trainer_args(DPOConfig, config, device, beta=config.dpo.beta)
    peft = lora_config(config)
    trainer = DPOTrainer(
        model=load_causal_lm(config, device),
        # Full fine-tuning needs a frozen copy of the start; with LoRA the adapter-free base is the reference.
        ref_model=load_causal_lm(config, device) if peft is None else None,
        args=args,
        train_dataset=conversation_dataset(kept, PAIR_COLUMNS),
        processing_class=tokenizer,
        peft_config=peft,
    )
    return trainer, tokenizer, data


def fit(config: TrainConfig, device: str) -> Fitted:
    trainer, tokenizer, data = build_trainer(config, device)
    trainer.train()
    return finish(trainer, tokenizer, config, data)
