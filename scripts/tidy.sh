#!/usr/bin/env bash
# Runs clang-tidy with .clang-tidy over our .cpp files (or the files given), headers of ours
# included. Needs a compile_commands.json without GCC's precompiled header, so it configures (but
# does not build) build-tidy/ (or $LSTM_NLP_TIDY_DIR). Slow: every file parses LibTorch's
# headers (about a minute of CPU per file); pass files to check only those. Not part of
# scripts/test.sh. Runs TIDY_JOBS (default: one per core) at once; exits non-zero on any finding.
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
# One clang-tidy per core (TIDY_JOBS to change it); each file's findings are printed together.
export clang_tidy build root
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "${TIDY_JOBS:-$(nproc)}" sh -c '
  out=$("$clang_tidy" -p "$build" --quiet \
        --header-filter="^$root/(apps|core|datasets|models|tests|tokenization)/" "$1" 2>&1)
  status=$?
  printf "%s\n" "$out" | grep -v "warnings generated\.$" || true
  case $out in *": warning: "* | *": error: "*) status=1 ;; esac
  exit $((status != 0))' sh
