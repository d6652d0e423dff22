"""Loading a model to train, and saving one that ``run --policy transformers`` can load.

Why these helpers exist:
- Torch on a small CPU box is fastest with one thread per process (2 threads on a busy 2-core
  machine were 6x slower while planning), so every trainer calls ``configure_torch`` first.
- SmolLM2's own chat template has no ``{% generation %}`` markers (needed for assistant-only loss)
  and no tool support (needed for tool-call rollouts). It speaks ChatML, the same tokens as the
  Qwen2.5 template that TRL ships (with a training variant that has the markers), so a ChatML
  model without tool support gets TRL's template, read from the installed package at run time.
  For the plain system/user/assistant messages of a JSON-action episode both render the same.
- A trained LoRA adapter is merged before saving, so the result is an ordinary model directory
  with its tokenizer and chat template: the transformers policy, a verifier selector or the next
  stage (SFT, then DPO, then GRPO) loads it like the base model.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from medagentgym.training.config import TrainConfig

CHATML_START = "<|im_start|>"
# TRL's ChatML template with tool support (ships in trl/chat_templates/).
TRL_CHATML_TEMPLATE = "qwen2_5.jinja"


class TrainingSetupError(RuntimeError):
    """The training environment is incomplete (the ``train`` extra is missing, no GPU, ...)."""


def require_training_libraries() -> None:
    """Fail with the install command when the ``train`` extra is not installed."""
    import importlib.util

    missing = [m for m in ("torch", "transformers", "trl", "peft", "datasets") if importlib.util.find_spec(m) is None]
    if missing:
        raise TrainingSetupError(
            f"training needs {', '.join(missing)}: install the extra with  bash scripts/setup.sh train"
        )


def configure_torch(config: TrainConfig) -> str:
    """Threads, seeds and the device (``cpu`` or ``cuda``) for this process."""
    require_training_libraries()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers import set_seed

    torch.set_num_threads(config.torch_threads)
    set_seed(config.seed)
    if config.device == "cuda" and not torch.cuda.is_available():
        raise TrainingSetupError("device = 'cuda' but torch sees no GPU")
    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.device


def use_bf16(config: TrainConfig, device: str) -> bool:
    return config.bf16 if config.bf16 is not None else device == "cuda"


def chatml_tool_template() -> str:
    """TRL's ChatML chat template with tool support, from the installed trl package."""
    return resources.files("trl").joinpath("chat_templates", TRL_CHATML_TEMPLATE).read_text(encoding="utf-8")


def prepare_tokenizer(tokenizer: Any, *, padding_side: str = "right") -> Any:
    """A tokenizer ready for TRL: a pad token, and a tool-capable template for ChatML models."""
    template = getattr(tokenizer, "chat_template", None) or ""
    if CHATML_START in template and "tools" not in template:
        tokenizer.chat_template = chatml_tool_template()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    return tokenizer


def resolve_model(model: str) -> Path:
    """The local directory of ``model`` (the embedded alias is converted once into the cache)."""
    from medagentgym.policies.embedded_model import resolve_model_dir

    return resolve_model_dir(model)


def load_tokenizer(model: str | Path, *, padding_side: str = "right") -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(str(model)), local_files_only=True)
    return prepare_tokenizer(tokenizer, padding_side=padding_side)


def load_causal_lm(config: TrainConfig, device: str) -> Any:
    """The model to train, in float32 on CPU or bf16 on a GPU."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if use_bf16(config, device) else torch.float32
    model = AutoModelForCausalLM.from_pretrained(resolve_model(config.model), dtype=dtype, local_files_only=True)
    return model.to(device)


def lora_config(config: TrainConfig, task_type: str = "CAUSAL_LM") -> Any:
    """peft's LoraConfig for the run, or None for full fine-tuning."""
    if config.lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type=task_type,
    )


def save_for_inference(model: Any, tokenizer: Any, path: Path) -> Path:
    """Merge LoRA adapters (if any) and save model + tokenizer (with its chat template)."""
    path.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
