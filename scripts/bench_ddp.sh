#!/usr/bin/env bash
# Throughput of data-parallel training on this machine, the three ways of using its cores, in
# turn: (a) 1 process x 1 thread, (b) 1 process x 2 threads, (c) 2 processes x 1 thread through
# torchrun (scripts/launch.sh), each with the config's per-process batch. Cases: PTB small
# (configs/lm/zaremba-small.yaml, tokens/s) and SST-2 (configs/sentiment/sst2.yaml, examples/s).
# Prints each rate (the mean of the train records after the first, which is warm-up), the ratios
# (c)/(a) and (c)/(b), and (c)'s share of time in collectives. A benchmark, not a test: run it on
# an otherwise idle machine, and look at `uptime` before and after.
#
#   scripts/bench_ddp.sh [STEPS]        # default 250
#
# Environment: LSTM_NLP_DATA (default ../shared/data), LSTM_NLP_BIN (default build/bin),
# ROUNDS (default 1: each case's three runs are repeated in turn ROUNDS times).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
steps=${1:-250}
bin=${LSTM_NLP_BIN:-$root/build/bin}
rounds=${ROUNDS:-1}
export LSTM_NLP_DATA=${LSTM_NLP_DATA:-$root/../shared/data}
out=$(mktemp -d /tmp/bench_ddp.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "uptime before: $(uptime)"

# mean rate and comm share of RUN/metrics.jsonl's train records after the first
rate() {
  python3 - "$1/metrics.jsonl" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
rows = rows[1:] or rows
key = sys.argv[2] + "_per_s"
comm = [r["comm_share"] for r in rows if "comm_share" in r]
print("%.0f %s" % (sum(r[key] for r in rows) / len(rows),
                   "%.3f" % (sum(comm) / len(comm)) if comm else "-"))
PY
}

bench() {  # name exe config unit log_every
  local name=$1 exe=$2 config=$3 unit=$4 every=$5
  local sets=(--set train.max_steps="$steps" --set train.log_every="$every" --set train.eval_every=1000000000
              --set train.save_every=0)
  for round in $(seq "$rounds"); do
    local a b c
    rm -rf "$out"/*
    "$exe" train --config "$config" --threads 1 "${sets[@]}" --output-dir "$out/a" >"$out/a.log" 2>&1
    "$exe" train --config "$config" --threads 2 "${sets[@]}" --output-dir "$out/b" >"$out/b.log" 2>&1
    "$root/scripts/launch.sh" 2 "$exe" train --config "$config" --threads 1 "${sets[@]}" \
      --output-dir "$out/c" >"$out/c.log" 2>&1 || { cat "$out/c.log"; exit 1; }
    read -r a _ <<<"$(rate "$out/a" "$unit")"
    read -r b _ <<<"$(rate "$out/b" "$unit")"
    read -r c comm <<<"$(rate "$out/c" "$unit")"
    python3 -c "
a, b, c = $a, $b, $c
print(f'$name round $round: (a) 1x1 {a:,.0f}  (b) 1x2 {b:,.0f}  (c) 2x1 {c:,.0f} $unit/s;'
      f'  (c)/(a) {c/a:.2f}x  (c)/(b) {c/b:.2f}x  (c) in collectives: $comm')"
  done
}

bench "PTB small" "$bin/lstm-lm" "$root/configs/lm/zaremba-small.yaml" tokens 25
bench "SST-2" "$bin/lstm-sentiment" "$root/configs/sentiment/sst2.yaml" examples 25
echo "uptime after: $(uptime)"
