"""The CLI starts without the heavy libraries: `medagentgym --help` must not pay for pandas,
torch or the env (checked in a fresh interpreter, where sys.modules tells the truth)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "pandas", "torch", "transformers", "httpx", "plotly", "jinja2", "ray", "pyarrow", "datasets",
    "numpy", "scipy", "sklearn", "gymnasium", "fastapi", "uvicorn", "trl",
)


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert _loaded_after("import medagentgym.cli") == []


def test_help_loads_no_heavy_module() -> None:
    code = (
        "from typer.testing import CliRunner\n"
        "from medagentgym.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0 and 'run' in result.output, result.output\n"
    )
    assert _loaded_after(code) == []


def test_run_refuses_a_bad_warm_sessions_value() -> None:
    from typer.testing import CliRunner

    from medagentgym.cli import app

    for value, why in (("-1", ">= 0"), ("100000", "<= 256")):
        result = CliRunner().invoke(app, ["run", "--warm-sessions", value, "--dataset", "medcalcbench"])
        assert result.exit_code == 2 and "--warm-sessions" in result.output and why in result.output, result.output
