#!/usr/bin/env bash
# Builds lstm-nlp with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/ (or
# $LSTM_NLP_ASAN_DIR) and runs the whole test suite under them. Not part of scripts/test.sh: the
# instrumented build and tests take several times longer than CI's. Extra arguments go to ctest
# (e.g. -R Lstm). LibTorch itself is not instrumented; scripts/lsan.supp says which of its leaks
# are ignored and why.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LSTM_NLP_ASAN_DIR:-$root/build-asan}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLSTMNLP_SANITIZE=address,undefined >/dev/null
fi
cmake --build "$build" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_odr_violation=0:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
