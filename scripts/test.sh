#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, and runs the test suite with ctest.
# Tests that need ../shared/data (or $LSTM_NLP_DATA) skip with a message where it is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "${LSTM_NLP_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)"
