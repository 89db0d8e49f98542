#pragma once

// Inference of one standard-cell LSTM layer and direction on oneDNN's LSTM primitive (Debian's
// libdnnl-dev 2.x, the library LibTorch 1.13 itself links), for lstmnlp::LSTM's no-grad float32
// CPU path without lengths. Internal to the library.
//
//   OneDnnLayer layer;                      // one per layer and direction, kept by the module
//   if (layer.run(x, h0, c0, w_ih, w_hh, b_ih, b_hh, /*reverse=*/false, out, h_n, c_n)) ...
//
// The weights are reordered into the primitive's layout (and the two biases summed) on the first
// call and kept while the parameters stay the same tensors at the same version, which every
// in-place change bumps (optimizer steps, copy_, load): an inference loop pays the reorder once,
// as PyTorch 2.x's CPU LSTM, which runs the same primitive, pays it on every call. A change made
// through Tensor::data(), which has a version counter of its own, is not seen; the library makes
// none. The primitive for a (T, B) is kept too, so a decoder fed one step at a time pays neither.
//
// Where this build has no oneDNN 2.x, LSTMNLP_ONEDNN=0 is set, or the arguments are outside
// what it covers, run() returns false and the caller computes the layer itself.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <mutex>

namespace lstmnlp::kernels {

/// oneDNN's forward inference of one layer and direction, with its weights cached; see above.
class OneDnnLayer {
 public:
  OneDnnLayer();
  ~OneDnnLayer();
  OneDnnLayer(const OneDnnLayer&) = delete;
  OneDnnLayer& operator=(const OneDnnLayer&) = delete;

  /// Batches smaller than this run on the module's own kernels: with 1 sequence oneDNN ran
  /// inference at 0.67-0.73x of their speed, with 20 at 1.21-1.31x (hidden 650 and 256, T=35,
  /// lstm-bench with no flags, 2026-12-05); sizes between were not measured.
  static constexpr int64_t kMinBatch = 16;

  /// Whether this build and environment run layers on oneDNN at all.
  static bool available();

  /// x (T, B, F), h0 and c0 (B, H), all contiguous float32 on the CPU; w_ih (4H, F), w_hh
  /// (4H, H); b_ih and b_hh (4H) or both undefined. Writes out (T, B, H), h_n and c_n (B, H),
  /// contiguous float32 tensors the caller allocated, and returns true; returns false, writing
  /// nothing, when oneDNN cannot run this layer here. `reverse` runs right to left.
  bool run(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
           const torch::Tensor& w_ih, const torch::Tensor& w_hh, const torch::Tensor& b_ih,
           const torch::Tensor& b_hh, bool reverse, const torch::Tensor& out,
           const torch::Tensor& h_n, const torch::Tensor& c_n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;  // one forward at a time per layer: the cache is shared state
};

}  // namespace lstmnlp::kernels
