#pragma once

// The typed config of `lstm-bench` (see configs/bench/default.yaml); its command-line flags
// (--steps, --hidden, ...) set the same keys (models/bench/bench_commands.cpp).
//
//   steps: 35
//   batch: 20
//   hidden_sizes: [650, 256]
//   modes: [forward_backward, forward, inference]

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace lstmnlp::bench {

/// What to measure.
struct BenchConfig {
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
  /// Also split the custom module's rounds into phases (models/lstm_profile.h) and oneDNN's
  /// into reorders and primitives.
  bool profile = false;
  /// Measure the SGEMM ceiling (a few N³ products, N = ceiling_size) for fraction_of_ceiling;
  /// off, it is 0.
  bool ceiling = true;
  int64_t ceiling_size = 2048;  ///< large enough for BLAS to run at its peak

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
    v("profile", profile);
    v("ceiling", ceiling);
    v("ceiling_size", ceiling_size, config::Range{16, 1e5});
  }
};

}  // namespace lstmnlp::bench
