#include "models/dense_gemm.h"

#include <ATen/ATen.h>

#include <cstdlib>
#include <cstring>

#if defined(LSTMNLP_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#if DNNL_VERSION_MAJOR != 2
#undef LSTMNLP_HAVE_DNNL
#endif
#endif

namespace lstmnlp::kernels {
namespace {

#if defined(LSTMNLP_HAVE_DNNL)

bool enabled() {
  static const bool on = [] {
    const char* env = std::getenv("LSTMNLP_ONEDNN_GEMM");
    return env == nullptr || std::strcmp(env, "0") != 0;
  }();
  return on;
}

// How sgemm reads a row-major operand in place: 'N' with rows `ld` apart, 'T' for the transpose
// of such a matrix; 0 where the strides allow neither.
struct Operand {
  char trans = 0;
  int64_t ld = 0;
};

Operand operand(const at::Tensor& t) {
  const int64_t rows = t.size(0), cols = t.size(1);
  if (t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(1, cols)) return {'N', t.stride(0)};
  if (t.stride(0) == 1 && t.stride(1) >= std::max<int64_t>(1, rows)) return {'T', t.stride(1)};
  return {};
}

bool onednn_matmul(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b,
                   bool accumulate) {
  if (!enabled() || out.scalar_type() != at::kFloat || a.scalar_type() != at::kFloat ||
      b.scalar_type() != at::kFloat || !out.device().is_cpu() || !a.device().is_cpu() ||
      !b.device().is_cpu()) {
    return false;
  }
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  if (m == 0 || n == 0) return true;
  const Operand oa = operand(a), ob = operand(b);
  if (oa.trans == 0 || ob.trans == 0 || out.stride(1) != 1 || out.stride(0) < n) return false;
  if (k == 0) {
    if (!accumulate) out.zero_();
    return true;
  }
  return dnnl_sgemm(oa.trans, ob.trans, m, n, k, 1.0f, a.data_ptr<float>(), oa.ld,
                    b.data_ptr<float>(), ob.ld, accumulate ? 1.0f : 0.0f, out.data_ptr<float>(),
                    out.stride(0)) == dnnl_success;
}

#else

bool onednn_matmul(const at::Tensor&, const at::Tensor&, const at::Tensor&, bool) { return false; }

#endif

}  // namespace

void gemm_into(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b, bool accumulate) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && out.dim() == 2 && a.size(1) == b.size(0) &&
                  out.size(0) == a.size(0) && out.size(1) == b.size(1),
              "gemm_into: shapes ", a.sizes(), " x ", b.sizes(), " -> ", out.sizes());
  if (onednn_matmul(out, a, b, accumulate)) return;
  if (accumulate) {
    out.addmm_(a, b);
  } else {
    at::mm_out(const_cast<at::Tensor&>(out), a, b);
  }
}

at::Tensor gemm(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor out = at::empty({a.size(0), b.size(1)}, a.options());
  gemm_into(out, a, b, /*accumulate=*/false);
  return out;
}

}  // namespace lstmnlp::kernels
