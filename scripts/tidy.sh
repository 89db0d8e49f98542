#!/usr/bin/env bash
# Runs clang-tidy with .clang-tidy over our .cpp files (or the files given), headers of ours
# included. Needs a compile_commands.json without GCC's precompiled header, so it configures (but
# does not build) build-tidy/ (or $LSTM_NLP_TIDY_DIR). Slow: every file parses LibTorch's
# headers; pass files to check only those. Not part of scripts/test.sh.
#   scripts/tidy.sh
#   scripts/tidy.sh core/trainer.cpp models/lstm.cpp
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LSTM_NLP_TIDY_DIR:-$root/build-tidy}
clang_tidy=${CLANG_TIDY:-clang-tidy}
if ! command -v "$clang_tidy" >/dev/null; then
  echo "tidy: $clang_tidy not found (apt install clang-tidy)" >&2
  exit 2
fi
cmake -S "$root" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DLSTMNLP_USE_PCH=OFF >/dev/null
cd "$root"
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' |
                       grep -v '^third_party/')
fi
status=0
for f in "${files[@]}"; do
  "$clang_tidy" -p "$build" --quiet \
    --header-filter="^$root/(apps|core|datasets|models|tests|tokenization)/" "$f" || status=1
done
exit $status
