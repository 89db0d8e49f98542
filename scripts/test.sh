#!/usr/bin/env bash
# The README's test command (and CI's, .ci/run): installs dependencies, checks the formatting,
# builds with warnings as errors, and runs the test suite with ctest.
# Tests that need ../shared/data (or $LSTM_NLP_DATA) skip with a message where it is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/check_format.sh"
"$root/scripts/build.sh" -DLSTMNLP_WERROR=ON
cd "${LSTM_NLP_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)"
