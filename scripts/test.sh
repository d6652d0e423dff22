#!/usr/bin/env bash
# One command: set up with the test extras and run the whole test suite (slow tests included).
# With arguments, only `pytest ARGS` in the main environment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
VENV="${MEDAGENTGYM_VENV:-.venv}"
if [ "$#" -eq 0 ]; then
  # verifiers needs pillow>=12.2 and the bio extra's centrosome needs pillow<12, so the verifiers
  # adapter's tests run against the real package in an environment of their own, first (the main
  # suite's summary stays the last thing printed).
  MEDAGENTGYM_VENV="${VENV}-verifiers" MEDAGENTGYM_CONSTRAINTS=constraints-verifiers.txt \
    bash scripts/setup.sh test-verifiers
  "${VENV}-verifiers/bin/python" -m pytest -q -p no:cacheprovider tests/integrations/test_verifiers.py
fi
"$VENV/bin/python" -m pytest -q "$@"
