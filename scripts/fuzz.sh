#!/usr/bin/env bash
# Runs one libFuzzer harness of fuzz/ for SECONDS seconds, under AddressSanitizer and
# UndefinedBehaviorSanitizer, and prints its executions per second and coverage.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   scripts/fuzz.sh list
#
# TARGET is one of: config labelled_text lm_corpus checkpoint sentencepiece line_reader squad.
# The first run configures and builds build-fuzz/ (or $LSTM_NLP_FUZZ_DIR) with clang. Each
# target's corpus grows in build-fuzz/fuzz-corpus/TARGET across runs; it starts from seeds made
# from the repository's configs and from small files written here. A crashing input is saved in
# build-fuzz/fuzz-findings/TARGET/ and the script exits non-zero; turn it into a regression test
# under tests/ when fixing it. Reproduce one with: build-fuzz/bin/fuzz_TARGET FILE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
targets="config labelled_text lm_corpus checkpoint sentencepiece line_reader squad"
if [ "${1:-}" = list ]; then
  echo "$targets"
  exit 0
fi
if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...] (targets: $targets)" >&2
  exit 2
fi
target=$1
seconds=$2
shift 2
case " $targets " in
  *" $target "*) ;;
  *) echo "scripts/fuzz.sh: unknown target '$target' (targets: $targets)" >&2; exit 2 ;;
esac
case $seconds in
  '' | *[!0-9]*) echo "scripts/fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac

build=${LSTM_NLP_FUZZ_DIR:-$root/build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSTMNLP_FUZZ=ON -DLSTMNLP_SANITIZE=address,undefined \
    -DLSTMNLP_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target "fuzz_$target" -j "$(nproc)"
bin=$build/bin/fuzz_$target
corpus=$build/fuzz-corpus/$target
findings=$build/fuzz-findings/$target
mkdir -p "$corpus" "$findings"

# Seeds: a format byte (where the harness takes one) followed by a small valid input.
seed() { printf "$2" >"$corpus/seed-$1"; }
if [ -z "$(ls -A "$corpus")" ]; then
  case $target in
    config)
      i=0
      for f in "$root"/configs/*/*.yaml; do cp "$f" "$corpus/seed-$((i += 1))"; done
      seed set 'train:\n  lr: 0.5\n\0train.lr=0.1\0model.hidden_size=8'
      seed alias 'a: &x [1, 2]\nb: *x\n' ;;
    labelled_text)
      seed tsv '\0sentence\tlabel\na good film\tpos\nan awful plot\tneg\n'
      seed csv '\1text,label\n"a good, fine film",pos\n"an ""awful"" plot",neg\n'
      seed jsonl '\2{"sentence": "a good film", "label": "pos"}\n{"sentence": "bad", "label": 0}\n'
      seed classes '\3a good film\nfine acting\n\0an awful plot\n' ;;
    lm_corpus)
      seed text '\0the cat sat on the mat\n a dog  ate\tthe cat \n\nthe end\n'
      seed utf8 '\1caf\303\251 na\303\257ve \346\235\261\344\272\254\n\303\251t\303\251\n'
      seed vocab '\200["<eos>", "<unk>", "the", "cat"]' ;;
    checkpoint | sentencepiece)
      # The harness writes a real checkpoint or model and exits (without LeakSanitizer, which
      # would report LibTorch's and SentencePiece's process-lifetime allocations at exit).
      ASAN_OPTIONS=detect_leaks=0 LSTMNLP_FUZZ_WRITE_SEED=$corpus "$bin" >/dev/null 2>&1 || true
      if [ -z "$(ls -A "$corpus")" ]; then
        echo "scripts/fuzz.sh: fuzz_$target could not write its seed into $corpus" >&2
        exit 1
      fi ;;
    line_reader)
      seed crlf '\20a good film\r\nan awful plot\n\nlast line without newline'
      seed long '\3caf\303\251 \346\235\261\344\272\254 and a very long line\n\n' ;;
    squad)
      seed squad '\0{"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": "Caf\303\251 in Paris. It opened in 1900.", "qas": [{"id": "q1", "question": "When?", "answers": [{"text": "1900", "answer_start": 30}]}]}]}]}'
      seed predictions '\1{"q1": "1900", "q2": ""}' ;;
  esac
fi

root_supp=$root/scripts/lsan.supp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_odr_violation=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root_supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1
log=$build/fuzz-$target.log
status=0
started=$SECONDS
"$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
  -artifact_prefix="$findings/" "$@" "$corpus" >"$log" 2>&1 || status=$?
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
inputs=$(ls "$corpus" | wc -l)
echo "fuzz_$target: $((SECONDS - started)) s, ${executions:-?} executions, ${rate:-?}/s, ${coverage:-no coverage line}, corpus $inputs inputs, exit $status (log: $log)"
if [ "$status" -ne 0 ]; then
  grep -E 'ERROR|SUMMARY|invariant|terminate|Test unit written' "$log" | head -20 >&2
fi
exit "$status"
