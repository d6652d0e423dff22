#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install the package with the given extras.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MEDAGENTGYM_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
spec="."
if [ -n "${1:-}" ]; then spec=".[$1]"; fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
