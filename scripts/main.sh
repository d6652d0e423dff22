#!/usr/bin/env bash
# One command: set up, build the embedded data, run the main job on the embedded defaults, report.
# The main job: the embedded SmolLM2-135M agent (CPU, no API key, no network) on a small default
# selection of medcalcbench and mimic_iii, then the terminal report and an HTML report with a trajectory viewer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh llm
VENV="${MEDAGENTGYM_VENV:-.venv}"
RUN_DIR="${RUN_DIR:-runs/main}"
"$VENV/bin/medagentgym" data build
"$VENV/bin/medagentgym" sandbox check
"$VENV/bin/medagentgym" run --policy transformers --model smollm2 \
  -d medcalcbench -d mimic_iii \
  -c bmi -c mean-arterial-pressure -c anion-gap -c demographics -c admissions -c prescriptions \
  --limit-per-category 1 --max-turns 5 --max-tokens 128 --concurrency 6 \
  --out "$RUN_DIR" "$@"
"$VENV/bin/medagentgym" report "$RUN_DIR" --no-terminal --html "$RUN_DIR/report"
echo "Open $RUN_DIR/report/index.html in a browser to read the episodes step by step."
