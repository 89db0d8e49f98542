#!/usr/bin/env bash
# Training throughput (tokens/s, CPU) of lstm-lm beside the PyTorch reference
# scripts/bench_lm_reference.py, configured identically: same model, batch, BPTT, vocabulary
# (PTB's words from train.txt) and optimizer (SGD, clipping). Two cases: Zaremba's small PTB model
# (configs/lm/zaremba-small.yaml) and a tied 2x650 model (configs/lm/zaremba-medium-tied.yaml).
# Prints both figures and the ratio lstm-lm / reference, for the custom LSTM and (unless
# BENCH_TORCH=0) for torch::nn::LSTM inside lstm-lm. A benchmark, not a test: run it on an
# otherwise idle machine.
#
#   scripts/bench_lm.sh [threads]
#
# Environment: LSTM_NLP_DATA (default ../shared/data), LSTM_LM_BIN (default build/bin/lstm-lm),
# PYTHON (default /usr/bin/python3, Debian's python3-torch), STEPS_SMALL (300), STEPS_TIED (100),
# WARMUP (20 steps, not timed), BENCH_TORCH (1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${1:-2}
bin=${LSTM_LM_BIN:-$root/build/bin/lstm-lm}
python=${PYTHON:-/usr/bin/python3}
export LSTM_NLP_DATA=${LSTM_NLP_DATA:-$root/../shared/data}
steps_small=${STEPS_SMALL:-300}
steps_tied=${STEPS_TIED:-100}
warmup=${WARMUP:-20}
bench_torch=${BENCH_TORCH:-1}

[ -x "$bin" ] || { echo "bench_lm: $bin not built (scripts/build.sh)" >&2; exit 2; }
[ -f "$LSTM_NLP_DATA/ptb/train.txt" ] || { echo "bench_lm: no PTB at $LSTM_NLP_DATA/ptb" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null ||
  { echo "bench_lm: $python lacks torch (apt-get install -y python3-torch)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# tokens/s of lstm-lm over the steps after the warm-up: the train records of metrics.jsonl come
# every $warmup steps, each over as many tokens, so the overall rate is their harmonic mean.
cpp_rate() {  # config lstm steps
  local out="$tmp/run-$2-$(basename "$1" .yaml)"
  "$bin" train --config "$1" --threads "$threads" --output-dir "$out" --set "model.lstm=$2" \
    --set "train.max_steps=$3" --set "train.log_every=$warmup" >"$out.log" 2>&1 ||
    { cat "$out.log" >&2; exit 1; }
  "$python" - "$out/metrics.jsonl" <<'PY'
import json, sys
rates = [r["tokens_per_s"] for r in map(json.loads, open(sys.argv[1])) if r["split"] == "train"]
rates = rates[1:]  # the first window is the warm-up
print(f"{len(rates) / sum(1 / r for r in rates):.0f}")
PY
}

py_rate() {  # steps, then the reference's model options
  local steps=$1
  shift
  "$python" "$root/scripts/bench_lm_reference.py" --data "$LSTM_NLP_DATA/ptb" --threads "$threads" \
    --steps "$steps" --warmup "$warmup" "$@" |
    "$python" -c 'import json, sys; print(round(json.load(sys.stdin)["tokens_per_s"]))'
}

ratio() { "$python" -c "print(f'{$1 / $2:.2f}x')"; }

echo "lstm-lm training throughput on CPU, $threads thread(s), $(nproc) core(s); PyTorch reference: $("$python" -c 'import torch; print(torch.__version__)')"
printf '%-34s %12s %14s %7s' "case" "python tok/s" "custom tok/s" "ratio"
[ "$bench_torch" = 1 ] && printf ' %14s %7s' "torch:: tok/s" "ratio"
echo

run_case() {  # label config steps python-args...
  local label=$1 config=$2 steps=$3
  shift 3
  local py custom
  py=$(py_rate "$steps" "$@")
  custom=$(cpp_rate "$config" custom "$steps")
  printf '%-34s %12s %14s %7s' "$label" "$py" "$custom" "$(ratio "$custom" "$py")"
  if [ "$bench_torch" = 1 ]; then
    local native
    native=$(cpp_rate "$config" torch "$steps")
    printf ' %14s %7s' "$native" "$(ratio "$native" "$py")"
  fi
  echo
}

run_case "PTB small 2x200, bptt 20, batch 20" "$root/configs/lm/zaremba-small.yaml" "$steps_small" \
  --emsize 200 --nhid 200 --nlayers 2 --dropout 0 --bptt 20 --batch-size 20 --init-range 0.1 \
  --lr 1 --clip 5
run_case "PTB tied 2x650, bptt 35, batch 20" "$root/configs/lm/zaremba-medium-tied.yaml" \
  "$steps_tied" --emsize 650 --nhid 650 --nlayers 2 --dropout 0.5 --tied --bptt 35 \
  --batch-size 20 --init-range 0.05 --lr 1 --clip 5
