#!/usr/bin/env bash
# The README's main job: install, build, and reproduce Hochreiter & Schmidhuber (1997)'s
# Embedded Reber grammar experiment (30 seeded trials, the 1997 cell), printing the paper's
# table beside ours. Results also go to runs/quickstart/reber.json (replacing an earlier run's).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
bin=${LSTM_NLP_BUILD_DIR:-$root/build}/bin
mkdir -p "$root/runs/quickstart"
"$bin/lstm-paper" reber --config "$root/configs/paper/reber.yaml" \
  --output-dir "$root/runs/quickstart" --overwrite --json "$root/runs/quickstart/reber.json" "$@"
