#include "models/small_gemm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(LSTMNLP_HAVE_LIBXSMM)
#include <libxsmm.h>
#endif

namespace lstmnlp::kernels {

#if defined(LSTMNLP_HAVE_LIBXSMM)

namespace {

bool enabled() {
  static const bool on = [] {
    const char* env = std::getenv("LSTMNLP_SMALL_GEMM");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    libxsmm_init();
    return true;
  }();
  return on;
}

// An accumulating (beta = 1) kernel of `rows` rows, or nullptr.
libxsmm_smmfunction dispatch(int64_t rows, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                             int64_t ldc) {
  const float alpha = 1.0f, beta = 1.0f;
  const libxsmm_blasint m_ = rows, n_ = n, k_ = k, lda_ = lda, ldb_ = ldb, ldc_ = ldc;
  return libxsmm_smmdispatch(m_, n_, k_, &lda_, &ldb_, &ldc_, &alpha, &beta, nullptr, nullptr);
}

}  // namespace

SmallGemm SmallGemm::accumulating(int64_t m, int64_t n, int64_t k, int64_t ldb, int64_t ldc) {
  SmallGemm g;
  if (!enabled() || m <= 0 || n <= 0 || k <= 0) return g;
  // A packed panel's leading dimension is its own row count.
  const int64_t rows = std::min(m, kPanelRows), tail = m % kPanelRows;
  const auto full = dispatch(rows, n, k, rows, ldb, ldc);
  const auto last = m > kPanelRows && tail > 0 ? dispatch(tail, n, k, tail, ldb, ldc) : nullptr;
  if (full == nullptr || (m > kPanelRows && tail > 0 && last == nullptr)) return g;
  g.full_ = full;
  g.tail_ = last != nullptr ? last : full;  // the last panel is a full one
  g.m_ = m;
  g.n_ = n;
  g.k_ = k;
  return g;
}

at::Tensor SmallGemm::pack(const at::Tensor& a) const {
  TORCH_CHECK(a.dim() == 2 && a.size(0) == m_ && a.size(1) == k_ && a.scalar_type() == at::kFloat,
              "SmallGemm::pack: expected a float32 (", m_, ", ", k_, ") matrix");
  const int64_t full = m_ / kPanelRows, tail = m_ % kPanelRows;
  std::vector<at::Tensor> parts;
  if (full > 0) {
    // (full, kPanelRows, k) -> (full, k, kPanelRows): each panel column-major.
    parts.push_back(a.narrow(0, 0, full * kPanelRows)
                        .reshape({full, kPanelRows, k_})
                        .transpose(1, 2)
                        .contiguous()
                        .view(-1));
  }
  if (tail > 0) parts.push_back(a.narrow(0, full * kPanelRows, tail).t().contiguous().view(-1));
  return parts.size() == 1 ? parts[0] : at::cat(parts);
}

void SmallGemm::run(const float* a, const float* b, float* c) const {
  const int64_t panels = (m_ + kPanelRows - 1) / kPanelRows;
  // Enough work per chunk to pay for waking another thread (about 4 MFLOP).
  constexpr double kMinFlopsPerChunk = 4e6;
  const double panel_flops = 2.0 * static_cast<double>(std::min(m_, kPanelRows) * n_ * k_);
  const auto grain = static_cast<int64_t>(std::max(1.0, kMinFlopsPerChunk / panel_flops));
  at::parallel_for(0, panels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t row = p * kPanelRows;
      const Kernel kernel = p + 1 < panels ? full_ : tail_;
      kernel(a + row * k_, b, c + row);
    }
  });
}

#else  // built without libxsmm

SmallGemm SmallGemm::accumulating(int64_t, int64_t, int64_t, int64_t, int64_t) { return {}; }
at::Tensor SmallGemm::pack(const at::Tensor&) const { return {}; }
void SmallGemm::run(const float*, const float*, float*) const {}

#endif

}  // namespace lstmnlp::kernels
