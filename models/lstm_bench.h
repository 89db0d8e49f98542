#pragma once

// Side-by-side benchmark of lstmnlp::LSTM against torch::nn::LSTM (the lstm-bench executable).
//
//   lstmnlp::LSTMBenchConfig config;            // T=35, B=20, hidden 650 and 256, all modes
//   auto rows = lstmnlp::run_lstm_bench(config);
//   std::cout << lstmnlp::lstm_bench_markdown(rows);
//
// Method. Both modules get the same weights and inputs. For each shape and mode, `warmup`
// untimed rounds are followed by `repetitions` timed rounds; each round runs both
// implementations back to back (interleaved, alternating which goes first), and the median
// time of each is reported as tokens (T*B) per second. max_abs_diff compares the outputs,
// h_n, c_n and (forward_backward) the input and parameter gradients of the last timed round.
//
// Peak memory (CPU): one extra untimed round per implementation with a counting wrapper around
// LibTorch's CPU allocator: the peak of bytes held by tensors allocated during the round (the
// parameters and inputs, allocated before, are excluded; gradients are allocated afresh in
// every round). Memory that BLAS or oneDNN allocate themselves is not seen. Not measured on
// CUDA (reported as -1).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "core/config.h"

namespace lstmnlp {

/// What to measure.
struct LSTMBenchConfig {
  int64_t steps = 35;                           ///< T
  int64_t batch = 20;                           ///< B
  std::vector<int64_t> hidden_sizes{650, 256};  ///< one shape per hidden size
  int64_t input_size = 0;                       ///< features per step; 0 = equal to hidden
  int64_t layers = 1;                           ///< stacked layers
  bool bidirectional = false;                   ///< two directions per layer
  std::string device = "cpu";                   ///< "cpu", "cuda" or "cuda:N"
  /// Any of "forward_backward", "forward" (training mode, no backward), "inference" (no grad).
  std::vector<std::string> modes{"forward_backward", "forward", "inference"};
  int64_t warmup = 3;        ///< untimed rounds per shape and mode
  int64_t repetitions = 15;  ///< timed rounds per shape and mode; the median is reported
  uint64_t seed = 1234;      ///< weights and inputs

  /// The YAML keys (configs/bench/*.yaml); device and seed come from the command line.
  template <class V>
  void visit(V& v) {
    v("steps", steps, config::Range{1, 1e6});
    v("batch", batch, config::Range{1, 1e6});
    v("hidden_sizes", hidden_sizes);
    v("input_size", input_size, config::Range{0, 1e6});
    v("layers", layers, config::Range{1, 100});
    v("bidirectional", bidirectional);
    v("modes", modes);
    v("warmup", warmup, config::Range{0, 1e6});
    v("repetitions", repetitions, config::Range{1, 1e6});
  }
};

/// One measured shape and mode (the keys of the JSON rows).
struct LSTMBenchRow {
  std::string mode;
  int64_t steps = 0, batch = 0, input_size = 0, hidden_size = 0, layers = 0;
  bool bidirectional = false;
  std::string device;
  double torch_tokens_per_s = 0, custom_tokens_per_s = 0;
  double speedup = 0;       ///< custom / torch throughput
  double max_abs_diff = 0;  ///< outputs, states and gradients of the same round
  int64_t torch_peak_bytes = -1, custom_peak_bytes = -1;  ///< -1 when not measured
};

/// Checks `config` (TORCH_CHECK) and runs every hidden size × mode.
std::vector<LSTMBenchRow> run_lstm_bench(const LSTMBenchConfig& config);

/// A Markdown table of `rows` with a header line that states the method.
std::string lstm_bench_markdown(const std::vector<LSTMBenchRow>& rows);

/// `rows` as a JSON array of objects with keys mode, T, B, input_size, hidden_size, layers,
/// bidirectional, device, torch_tokens_per_s, custom_tokens_per_s, speedup, max_abs_diff,
/// torch_peak_bytes, custom_peak_bytes.
nlohmann::json lstm_bench_json(const std::vector<LSTMBenchRow>& rows);

/// Runs the benchmark, prints the Markdown table to `out` and, when `json_path` is not empty,
/// writes the JSON array there (InputError when it cannot be written). What lstm-bench runs.
void run_lstm_bench_report(const LSTMBenchConfig& config, const std::string& json_path,
                           std::ostream& out);

}  // namespace lstmnlp
