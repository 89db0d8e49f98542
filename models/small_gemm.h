#pragma once

// The per-step products of lstmnlp::LSTM's recurrence on libxsmm's JIT kernels (Debian's
// libxsmm-dev), where this build has it: C += A·B with A the recurrent weights, in panels of
// kPanelRows rows. With B = 20 they ran at 156 GFLOP/s on one thread at hidden 256 against
// OpenBLAS's 47-69, and 56 against 50 at hidden 650, on the project's CPU (2026-12-02); whole
// LSTM rounds gained at 256 only, hence kMaxWeightBytes. They accumulate into the gates (or dh)
// in place, so no transposed add follows. Internal to the
// library; float32 only, float64 keeps BLAS.
//
//   SmallGemm g = SmallGemm::accumulating(/*m=*/G, /*n=*/B, /*k=*/H, /*lda=*/G, /*ldb=*/H,
//                                         /*ldc=*/G);
//   if (g) g.run(a, b, c);  // column-major: C (m, n) += A (m, k) · B (k, n)

#include <cstdint>

namespace lstmnlp::kernels {

/// An accumulating column-major product of fixed shape; empty when unavailable.
class SmallGemm {
 public:
  static constexpr int64_t kPanelRows = 128;  ///< rows of A and C per kernel call
  /// Larger A (the recurrent weights) stay on the BLAS: at hidden 650 (6.8 MB, beyond the
  /// 2 MiB L2) libxsmm's panels were no faster than OpenBLAS in lstm-bench, at 256 (1 MiB)
  /// inference ran 1.4-1.7x faster.
  static constexpr int64_t kMaxWeightBytes = 2 << 20;

  /// The kernels for this shape, or an empty SmallGemm (no libxsmm, LSTMNLP_SMALL_GEMM=0 in the
  /// environment, A over kMaxWeightBytes, or a shape libxsmm refuses).
  static SmallGemm accumulating(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                                int64_t ldc);

  explicit operator bool() const { return full_ != nullptr; }

  /// C += A·B, panels of rows split over LibTorch's threads when the work is large enough.
  void run(const float* a, const float* b, float* c) const;

 private:
  using Kernel = void (*)(const float*, const float*, float*, ...);  // libxsmm_smmfunction
  Kernel full_ = nullptr;                                            // a kPanelRows-row panel
  Kernel tail_ = nullptr;                                            // the last, shorter panel
  int64_t m_ = 0, n_ = 0, k_ = 0;
};

}  // namespace lstmnlp::kernels
