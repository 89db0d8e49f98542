#pragma once

// Side-by-side benchmark of lstmnlp::LSTM against torch::nn::LSTM (the lstm-bench executable).
//
//   lstmnlp::bench::BenchConfig config;         // T=35, B=20, hidden 650 and 256, all modes
//   auto rows = lstmnlp::bench::run_lstm_bench(config);
//   std::cout << lstmnlp::bench::lstm_bench_markdown(rows);
//
// Method. Both modules, and oneDNN's LSTM primitive where this build has oneDNN 2.x, get the
// same weights and inputs. For each shape and mode, `warmup` untimed rounds are followed by
// `repetitions` timed rounds; each round runs every implementation back to back (interleaved,
// rotating which goes first), and the median time of each is reported as tokens (T*B) per
// second. max_abs_diff compares the outputs, h_n, c_n and (forward_backward) the input and
// parameter gradients of the last timed round with torch's.
//
// Ceiling. Before the rows, a 2048³ SGEMM (torch::mm, so the BLAS the modules use, at the same
// threads) gives the machine's rate; each row divides it by the mode's FLOP per token
// (2·4H·(F+H) per layer and direction, three times that with the backward).
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

#include "models/bench/bench_config.h"

namespace lstmnlp::bench {

/// One measured shape and mode (the keys of the JSON rows).
struct BenchRow {
  std::string mode;
  int64_t steps = 0, batch = 0, input_size = 0, hidden_size = 0, layers = 0;
  bool bidirectional = false;
  std::string device;
  double torch_tokens_per_s = 0, custom_tokens_per_s = 0;
  double speedup = 0;       ///< custom / torch throughput
  double max_abs_diff = 0;  ///< outputs, states and gradients of the same round
  int64_t torch_peak_bytes = -1, custom_peak_bytes = -1;  ///< -1 when not measured
  /// oneDNN's LSTM primitive on the same weights (models/bench/onednn_lstm.h); 0 when it
  /// cannot run here, and onednn_note says why.
  double onednn_tokens_per_s = 0, speedup_vs_onednn = 0, onednn_max_abs_diff = 0;
  std::string onednn_note;
  /// The machine's SGEMM rate (2048³, same threads, same run) and the tokens/s it would allow
  /// at this mode's FLOP per token; fraction_of_ceiling = custom / ceiling.
  double ceiling_gflops = 0, ceiling_tokens_per_s = 0, fraction_of_ceiling = 0;
};

/// Checks `config` (TORCH_CHECK) and runs every hidden size × mode.
std::vector<BenchRow> run_lstm_bench(const BenchConfig& config);

/// A Markdown table of `rows` with a header line that states the method.
std::string lstm_bench_markdown(const std::vector<BenchRow>& rows);

/// `rows` as a JSON array of objects with keys mode, T, B, input_size, hidden_size, layers,
/// bidirectional, device, torch_tokens_per_s, custom_tokens_per_s, speedup, max_abs_diff,
/// torch_peak_bytes, custom_peak_bytes, onednn_tokens_per_s, speedup_vs_onednn,
/// onednn_max_abs_diff (the oneDNN keys are null when it did not run), ceiling_gflops,
/// ceiling_tokens_per_s and fraction_of_ceiling.
nlohmann::json lstm_bench_json(const std::vector<BenchRow>& rows);

/// Where the time of one round goes, for every hidden size × mode: the custom module's phases
/// (models/lstm_profile.h) and oneDNN's reorders and primitives, in ms per round, as a
/// Markdown table. Runs `warmup` + `repetitions` rounds of each.
std::string lstm_profile_markdown(const BenchConfig& config);

/// Runs the benchmark (and, with config.profile, the profile), prints the Markdown table to `out`
/// and, when `json_path` is not empty, writes the JSON array there (InputError when it cannot be
/// written). What lstm-bench runs.
void run_lstm_bench_report(const BenchConfig& config, const std::string& json_path,
                           std::ostream& out);

}  // namespace lstmnlp::bench
