// lstm-bench: lstmnlp::LSTM against torch::nn::LSTM, side by side in one process.
//
//   lstm-bench                                   # T=35, B=20, hidden 650 and 256, all modes
//   lstm-bench -T 35 -B 20 --hidden 650 --layers 2 --modes forward_backward --json bench.json

#include "core/cli.h"
#include "models/bench/bench_commands.h"

int main(int argc, char** argv) {
  return lstmnlp::cli::run_app(argc, argv, "lstm-bench",
                               "Compares lstmnlp::LSTM with torch::nn::LSTM (speed, memory, "
                               "agreement).",
                               lstmnlp::bench::commands());
}
