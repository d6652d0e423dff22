#!/usr/bin/env bash
# One command: set up with the test extras and run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
VENV="${MEDAGENTGYM_VENV:-.venv}"
"$VENV/bin/python" -m pytest -q "$@"
