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
if [ "$#" -eq 0 ]; then
  # The whole suite on every core (pytest-xdist; a file's tests stay on one worker, so module
  # fixtures are built once). Workers share the session's cache (tests/conftest.py), and data
  # builds take a lock, so nothing is built twice. MEDAGENTGYM_TEST_WORKERS=0 runs in one process.
  set -- -n "${MEDAGENTGYM_TEST_WORKERS:-logical}" --dist loadfile
fi
"$VENV/bin/python" -m pytest -q "$@"
