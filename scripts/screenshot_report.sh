#!/usr/bin/env bash
# Build the HTML report of a run and screenshot it with headless Chromium, to check by eye that
# it renders (charts, tables, the trajectory viewer). Offline: no network is used.
#
#   scripts/screenshot_report.sh RUN_DIR [OUT_DIR]
#
# Writes OUT_DIR/report/ (the site) and OUT_DIR/index.png, OUT_DIR/run.png, OUT_DIR/episode.png.
# Several runs: RUN_DIR may be a comma-separated list (a leaderboard report).
# Needs Debian's chromium (apt-get install -y chromium); PYTHON defaults to the repo's .venv.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 RUN_DIR[,RUN_DIR...] [OUT_DIR]" >&2
  exit 2
fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
out="${2:-$(mktemp -d)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
  echo "chromium not found: install it with 'apt-get update && apt-get install -y chromium'" >&2
  exit 1
fi

IFS=',' read -r -a runs <<< "$1"
index="$("$python" - "$out/report" "${runs[@]}" <<'PY'
import sys
from pathlib import Path
from medagentgym.runs.html_report import write_html_report
print(write_html_report([Path(p) for p in sys.argv[2:]], Path(sys.argv[1])))
PY
)"
site="$(dirname "$index")"
run_page="$site/runs/r1/index.html"
# An episode page that shows the most: one with a parse error, else one that failed, else the first.
pick() {
  local page
  for page in "$site"/runs/r*/episodes/e*.html; do
    if grep -q -E "$1" "$page"; then
      echo "$page"
      return
    fi
  done
}
episode="$(pick '<div class="label">parse error</div>|<pre class="err">')"
episode="${episode:-$(pick 'class="badge (fail|max_turns|parse_error|timeout|infra_error)"')}"
episode="${episode:-$site/runs/r1/episodes/e0001.html}"

shoot() {  # shoot FILE.png PAGE.html
  local profile
  profile="$(mktemp -d)"
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2000 \
    --screenshot="$1" "file://$2" >/dev/null 2>&1
  rm -rf "$profile"
  [[ -s "$1" ]] || { echo "no screenshot written for $2" >&2; exit 1; }
  echo "$1  <-  $2"
}

shoot "$out/index.png" "$index"
shoot "$out/run.png" "$run_page"
shoot "$out/episode.png" "$episode"
