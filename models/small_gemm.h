#pragma once

// The per-step products of lstmnlp::LSTM's recurrence on libxsmm's JIT kernels (Debian's
// libxsmm-dev), where this build has it: C += A·B with A the recurrent weights. A is packed
// once per call into panels of kPanelRows rows, each panel's columns one contiguous block, so
// that every step streams the weights in order instead of jumping a column's stride between
// short runs. At hidden 650 (6.8 MB of weights, beyond L2) that raised lstm-bench's 1-thread
// forward+backward from 4,729-4,791 to 5,788-5,893 tokens/s (2026-12-05); unpacked, libxsmm had
// been no faster than OpenBLAS there. They accumulate into the gates (or dh) in place, so no
// transposed add follows. Internal to the library; float32 only, float64 keeps BLAS.
//
//   SmallGemm g = SmallGemm::accumulating(/*m=*/G, /*n=*/B, /*k=*/H, /*ldb=*/H, /*ldc=*/G);
//   if (g) {
//     at::Tensor packed = g.pack(a);  // a: (m, k), any strides
//     // column-major: C (m, n) += A (m, k) · B (k, n)
//     for (...) g.run(packed.data_ptr<float>(), b, c);
//   }

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace lstmnlp::kernels {

/// An accumulating column-major product of fixed shape; empty when unavailable.
class SmallGemm {
 public:
  /// Rows of A and C per kernel call. Packed, 48 rows ran the 650-unit products at about 130 and
  /// 112 GFLOP/s on one thread (forward, backward) against 100 and 89 for 128 rows, and 205 and
  /// 193 on two.
  static constexpr int64_t kPanelRows = 48;

  /// The kernels for this shape, or an empty SmallGemm (no libxsmm, LSTMNLP_SMALL_GEMM=0 in the
  /// environment, or a shape libxsmm refuses).
  static SmallGemm accumulating(int64_t m, int64_t n, int64_t k, int64_t ldb, int64_t ldc);

  explicit operator bool() const { return full_ != nullptr; }

  /// A, float32 (m, k) with any strides, as run() reads it: panel after panel of kPanelRows rows
  /// (the last may be shorter), each column-major with its rows as leading dimension.
  at::Tensor pack(const at::Tensor& a) const;

  /// C += A·B with A as pack() returned it; panels split over LibTorch's threads when the work
  /// is large enough (this file is compiled with OpenMP, without which at::parallel_for runs
  /// serially).
  void run(const float* packed_a, const float* b, float* c) const;

 private:
  using Kernel = void (*)(const float*, const float*, float*, ...);  // libxsmm_smmfunction
  Kernel full_ = nullptr;                                            // a kPanelRows-row panel
  Kernel tail_ = nullptr;                                            // the last, shorter panel
  int64_t m_ = 0, n_ = 0, k_ = 0;
};

}  // namespace lstmnlp::kernels
