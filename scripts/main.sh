#!/usr/bin/env bash
# One command: set up, build the embedded data, run the main job on the embedded defaults, report.
# The main job is currently the oracle policy over a small default selection of every dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${MEDAGENTGYM_VENV:-.venv}"
"$VENV/bin/medagentgym" data build
"$VENV/bin/medagentgym" tasks list
"$VENV/bin/medagentgym" run --policy oracle --limit-per-category 2 --out "${RUN_DIR:-runs/main}" "$@"
