#!/usr/bin/env bash
# Training throughput (tokens/s, CPU) of lstm-lm beside the PyTorch reference
# scripts/bench_lm_reference.py, configured identically: same model, batch, BPTT, vocabulary
# (PTB's words from train.txt) and optimizer (SGD, clipping). Two cases: Zaremba's small PTB model
# (configs/lm/zaremba-small.yaml) and a tied 2x650 model (configs/lm/zaremba-medium-tied.yaml).
# Prints both figures and the ratio lstm-lm / reference, for the custom LSTM and (unless
# BENCH_TORCH=0) for torch::nn::LSTM inside lstm-lm. A benchmark, not a test: run it on an
# otherwise idle machine.
#
#   scripts/bench_lm.sh [threads]     # both programs on `threads` threads (default 2)
#   scripts/bench_lm.sh default       # both programs as a user starts them: no thread flags and
#                                     # no thread variables (lstm-lm picks its own plan)
#
# Environment: LSTM_NLP_DATA (default ../shared/data), LSTM_LM_BIN (default build/bin/lstm-lm),
# PYTHON (default /usr/bin/python3, Debian's python3-torch), STEPS_SMALL (300), STEPS_TIED (60),
# WARMUP (20 steps, not timed), BENCH_TORCH (1), ROUNDS (3: the programs run in turn, ROUNDS
# times, and the median of each is compared; every round's figures follow the table).
#
# BENCH_CPU=1 measures tokens per CPU-second instead of per wall-clock second, single-threaded
# (torch and OpenBLAS): each program runs WARMUP and then STEPS steps, and the difference of their
# user+system times is charged to the extra steps. Use it on a shared, busy machine, where
# wall-clock rates depend on the neighbours; report it as such.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${1:-2}
bin=${LSTM_LM_BIN:-$root/build/bin/lstm-lm}
python=${PYTHON:-/usr/bin/python3}
export LSTM_NLP_DATA=${LSTM_NLP_DATA:-$root/../shared/data}
steps_small=${STEPS_SMALL:-300}
steps_tied=${STEPS_TIED:-60}
warmup=${WARMUP:-20}
bench_torch=${BENCH_TORCH:-1}
bench_cpu=${BENCH_CPU:-0}
rounds=${ROUNDS:-3}
cores=$(nproc)
if [ "$bench_cpu" = 1 ]; then
  threads=1
fi
# torch.set_num_threads does not reach OpenBLAS's own pool; give both programs the same count.
# With more than one thread, LibTorch's OpenMP threads spin after each parallel region and starve
# OpenBLAS's threads of the same cores (on 2 cores: 1,600 instead of 5,400 tokens/s); a passive
# wait policy lets them take turns. Both programs get the same setting.
if [ "$threads" = default ]; then
  thread_flags=()
  py_threads=0
else
  thread_flags=(--threads "$threads")
  py_threads=$threads
  export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
  export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
fi

[ -x "$bin" ] || { echo "bench_lm: $bin not built (scripts/build.sh)" >&2; exit 2; }
[ -f "$LSTM_NLP_DATA/ptb/train.txt" ] || { echo "bench_lm: no PTB at $LSTM_NLP_DATA/ptb" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null ||
  { echo "bench_lm: $python lacks torch (apt-get install -y python3-torch)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# tokens/s of lstm-lm over the steps after the warm-up: the train records of metrics.jsonl come
# every $warmup steps, each over as many tokens, so the overall rate is their harmonic mean.
cpp_rate() {  # config lstm steps
  local out
  out="$tmp/run-$2-$(basename "$1" .yaml)"
  rm -rf "$out"  # a fresh run each round: train appends to an existing metrics.jsonl
  "$bin" train --config "$1" "${thread_flags[@]}" --output-dir "$out" --set "model.lstm=$2" \
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
  "$python" "$root/scripts/bench_lm_reference.py" --data "$LSTM_NLP_DATA/ptb" --threads "$py_threads" \
    --steps "$steps" --warmup "$warmup" "$@" |
    "$python" -c 'import json, sys; print(round(json.load(sys.stdin)["tokens_per_s"]))'
}

# user+system seconds of a command or function, children included (its output discarded).
cpu_seconds() {
  local TIMEFORMAT='%U %S'
  { time "$@" >/dev/null 2>&1; } 2>"$tmp/time" || { echo "bench_lm: failed: $*" >&2; exit 1; }
  awk '{print $1 + $2}' "$tmp/time"
}

# tokens per CPU-second over the steps beyond the warm-up (BENCH_CPU=1).
cpu_rate() {  # tokens_per_step steps command... (the command takes the step count last)
  local per_step=$1 steps=$2
  shift 2
  local short long
  short=$(cpu_seconds "$@" "$warmup")
  long=$(cpu_seconds "$@" "$steps")
  "$python" -c "print(round($per_step * ($steps - $warmup) / ($long - $short)))"
}

cpp_steps() {  # config lstm steps
  "$bin" train --config "$1" --threads 1 --output-dir "$tmp/cpu-run" --set "model.lstm=$2" \
    --set train.log_every=1000000 --set "train.max_steps=$3"
}

py_steps() {  # python-args... steps
  "$python" "$root/scripts/bench_lm_reference.py" --data "$LSTM_NLP_DATA/ptb" --threads 1 \
    --warmup 1 "${@:1:$#-1}" --steps "${@: -1}"
}

cpp_cpu_rate() {  # config lstm steps tokens_per_step
  cpu_rate "$4" "$3" cpp_steps "$1" "$2"
}

py_cpu_rate() {  # steps tokens_per_step python-args...
  local steps=$1 per_step=$2
  shift 2
  cpu_rate "$per_step" "$steps" py_steps "$@"
}

ratio() { "$python" -c "print(f'{$1 / $2:.2f}x')"; }

unit="tokens/s"
[ "$bench_cpu" = 1 ] && unit="tokens per CPU-second"
echo "lstm-lm training throughput on CPU ($unit), median of $rounds rounds, threads: $threads, $cores core(s), OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}, load $(cut -d' ' -f1-3 /proc/loadavg); PyTorch reference: $("$python" -c 'import torch; print(torch.__version__)')"
printf '%-34s %12s %14s %7s' "case" "python tok/s" "custom tok/s" "ratio"
[ "$bench_torch" = 1 ] && printf ' %14s %7s' "torch:: tok/s" "ratio"
echo

# One measurement of a program: python, custom or torch.
measure() {  # program config steps tokens_per_step python-args...
  local program=$1 config=$2 steps=$3 per_step=$4
  shift 4
  if [ "$program" = python ]; then
    if [ "$bench_cpu" = 1 ]; then py_cpu_rate "$steps" "$per_step" "$@"; else py_rate "$steps" "$@"; fi
  elif [ "$bench_cpu" = 1 ]; then
    cpp_cpu_rate "$config" "$program" "$steps" "$per_step"
  else
    cpp_rate "$config" "$program" "$steps"
  fi
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# Each round runs the programs one after another, so that a neighbour's load on a shared machine
# falls on all of them alike; the table shows the median of the rounds, and the rounds follow it.
run_case() {  # label config steps tokens_per_step python-args...
  local label=$1 config=$2 steps=$3 per_step=$4
  shift 4
  local programs=(python custom)
  [ "$bench_torch" = 1 ] && programs+=(torch)
  local -A rates=()
  local round program
  for ((round = 1; round <= rounds; round++)); do
    for program in "${programs[@]}"; do
      rates[$program]+="$(measure "$program" "$config" "$steps" "$per_step" "$@") "
    done
  done
  local py custom
  # shellcheck disable=SC2086  # the rates are space-separated numbers
  py=$(median ${rates[python]})
  # shellcheck disable=SC2086
  custom=$(median ${rates[custom]})
  printf '%-34s %12s %14s %7s' "$label" "$py" "$custom" "$(ratio "$custom" "$py")"
  if [ "$bench_torch" = 1 ]; then
    local native
    # shellcheck disable=SC2086
    native=$(median ${rates[torch]})
    printf ' %14s %7s' "$native" "$(ratio "$native" "$py")"
  fi
  echo
  for program in "${programs[@]}"; do
    rounds_text+="  $label, $program: ${rates[$program]}"$'\n'
  done
}

rounds_text=""
run_case "PTB small 2x200, bptt 20, batch 20" "$root/configs/lm/zaremba-small.yaml" "$steps_small" 400 \
  --emsize 200 --nhid 200 --nlayers 2 --dropout 0 --bptt 20 --batch-size 20 --init-range 0.1 \
  --lr 1 --clip 5
run_case "PTB tied 2x650, bptt 35, batch 20" "$root/configs/lm/zaremba-medium-tied.yaml" \
  "$steps_tied" 700 --emsize 650 --nhid 650 --nlayers 2 --dropout 0.5 --tied --bptt 35 \
  --batch-size 20 --init-range 0.05 --lr 1 --clip 5
echo
echo "rounds ($unit):"
printf '%s' "$rounds_text"
