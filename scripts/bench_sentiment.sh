#!/usr/bin/env bash
# Benchmarks `lstm-sentiment predict` on the CPU (a benchmark, not a test):
#   - throughput in sentences/s on SST-2 dev sentences repeated to at least BASE_LINES lines;
#   - peak resident memory (GNU time's "Maximum resident set size") at 1x and FACTORx that input,
#     which must stay flat because predict streams in bounded chunks.
#
#   scripts/bench_sentiment.sh [RUN_OR_CHECKPOINT]        (default runs/sst2)
#
# Environment: LSTM_NLP_DATA (default /work/shared/data), LSTM_NLP_BIN (default build/bin),
# BASE_LINES (default 100000), FACTOR (default 10), THREADS (default: LibTorch's default),
# BENCH_DIR (scratch folder, default a fresh temporary one). Needs GNU time (/usr/bin/time;
# apt-get install time).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
checkpoint=${1:-$root/runs/sst2}
data=${LSTM_NLP_DATA:-/work/shared/data}
bin=${LSTM_NLP_BIN:-$root/build/bin}/lstm-sentiment
base_lines=${BASE_LINES:-100000}
factor=${FACTOR:-10}
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
dev=$data/sst2/dev.tsv

[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 2; }
[ -x "$bin" ] || { echo "$bin is not built (scripts/build.sh)" >&2; exit 2; }
[ -f "$dev" ] || { echo "$dev not found (set LSTM_NLP_DATA)" >&2; exit 2; }
[ -e "$checkpoint" ] || { echo "$checkpoint not found (train first)" >&2; exit 2; }

work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT

# The sentence column of SST-2 dev, repeated to base_lines and to factor * base_lines lines.
tail -n +2 "$dev" | cut -f1 > "$work/dev.txt"
make_input() {  # lines out
  local want=$1 out=$2
  : > "$out"
  local have=0 per
  per=$(wc -l < "$work/dev.txt")
  while [ "$have" -lt "$want" ]; do
    cat "$work/dev.txt" >> "$out"
    have=$((have + per))
  done
  head -n "$want" "$out" > "$out.tmp" && mv "$out.tmp" "$out"
}
make_input "$base_lines" "$work/in_1x.txt"
make_input $((base_lines * factor)) "$work/in_${factor}x.txt"

run() {  # label input
  local label=$1 input=$2
  /usr/bin/time -v "$bin" predict --checkpoint "$checkpoint" --input "$input" \
    --output /dev/null "${threads[@]}" 2> "$work/$label.err" || {
    cat "$work/$label.err" >&2
    exit 1
  }
  local summary rss
  summary=$(grep '^predict:' "$work/$label.err")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$work/$label.err")
  printf '%-4s %9d lines  peak RSS %7s MiB  %s\n' "$label" "$(wc -l < "$input")" "$rss" \
    "${summary#predict: }"
}

echo "lstm-sentiment predict benchmark: checkpoint $checkpoint, $(nproc) CPUs" \
  "${THREADS:+, --threads $THREADS}"
run 1x "$work/in_1x.txt"
run "${factor}x" "$work/in_${factor}x.txt"
