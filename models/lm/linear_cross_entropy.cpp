#include "models/lm/linear_cross_entropy.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "models/cpu_kernels.h"
#include "models/dense_gemm.h"

namespace lstmnlp::lm {

namespace {

using kernels::MathFor;
using torch::Tensor;

// Rows [begin, end) of the logits (N, V), in place: adds the bias, then replaces each logit l of
// row r by exp(l - max_r); writes 1 / sum_r to scale[r] and log(sum_r) + max_r - l_target to
// loss[r].
template <typename scalar_t>
struct SoftmaxRows {
  scalar_t* logits;
  const scalar_t* bias;
  const int64_t* target;
  scalar_t* scale;
  scalar_t* loss;
  int64_t vocab;
};

// The sum of v[0, n) (n a multiple of kLanes) in kLanes independent lanes, which the compiler
// vectorises (it may not reorder a single floating-point sum).
constexpr int64_t kLanes = 8;

template <typename scalar_t>
LSTMNLP_ALWAYS_INLINE scalar_t lane_sum(const scalar_t* v, int64_t n) {
  scalar_t lane[kLanes] = {};
  for (int64_t j = 0; j < n; j += kLanes) {
    for (int64_t k = 0; k < kLanes; ++k) lane[k] += v[j + k];
  }
  scalar_t sum = lane[0];
  for (int64_t k = 1; k < kLanes; ++k) sum += lane[k];
  return sum;
}

// The maximum of v[0, n). GCC vectorises a floating-point maximum only under
// -ffinite-math-only, so the AVX2 kernel spells it out.
template <typename scalar_t>
LSTMNLP_ALWAYS_INLINE scalar_t row_max(const scalar_t* v, int64_t n) {
  scalar_t max = -std::numeric_limits<scalar_t>::infinity();
  for (int64_t j = 0; j < n; ++j) max = v[j] > max ? v[j] : max;
  return max;
}

#if LSTMNLP_HAVE_AVX2_KERNELS
LSTMNLP_NOINLINE LSTMNLP_TARGET_AVX2 float row_max_avx2(const float* v, int64_t n) {
  const int64_t full = n - n % 8;
  __m256 lanes = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < full; j += 8) lanes = _mm256_max_ps(lanes, _mm256_loadu_ps(v + j));
  alignas(32) float lane[8];
  _mm256_store_ps(lane, lanes);
  float max = row_max(v + full, n - full);
  for (float x : lane) max = x > max ? x : max;
  return max;
}
#endif

template <typename scalar_t, bool kAvx2>
LSTMNLP_ALWAYS_INLINE scalar_t max_of(const scalar_t* v, int64_t n) {
#if LSTMNLP_HAVE_AVX2_KERNELS
  if constexpr (kAvx2 && std::is_same_v<scalar_t, float>) return row_max_avx2(v, n);
#endif
  return row_max(v, n);
}

template <typename scalar_t, bool kAvx2>
LSTMNLP_ALWAYS_INLINE void softmax_rows_body(const SoftmaxRows<scalar_t>& s, int64_t begin,
                                             int64_t end) {
  using M = MathFor<scalar_t>;
  const int64_t V = s.vocab;
  const int64_t full = V - V % kLanes;
  for (int64_t r = begin; r < end; ++r) {
    scalar_t* row = s.logits + r * V;
    // Each loop is a plain map or reduction over the row, which stays in cache between them.
    LSTMNLP_IVDEP
    for (int64_t j = 0; j < V; ++j) row[j] += s.bias[j];
    const scalar_t max = max_of<scalar_t, kAvx2>(row, V);
    const scalar_t target_logit = row[s.target[r]];
    LSTMNLP_IVDEP
    for (int64_t j = 0; j < V; ++j) row[j] = M::exp(row[j] - max);
    scalar_t sum = lane_sum(row, full);
    for (int64_t j = full; j < V; ++j) sum += row[j];
    s.scale[r] = scalar_t(1) / sum;
    s.loss[r] = std::log(sum) + max - target_logit;
  }
}

template <typename scalar_t>
LSTMNLP_NOINLINE void softmax_rows(const SoftmaxRows<scalar_t>& s, int64_t begin, int64_t end) {
  softmax_rows_body<scalar_t, false>(s, begin, end);
}

#if LSTMNLP_HAVE_AVX2_KERNELS
template <typename scalar_t>
LSTMNLP_NOINLINE LSTMNLP_TARGET_AVX2 void softmax_rows_avx2(const SoftmaxRows<scalar_t>& s,
                                                            int64_t begin, int64_t end) {
  softmax_rows_body<scalar_t, true>(s, begin, end);
}
#endif

// The fused forward: logits (N, V) without the bias in, exponentials out; returns (scale, loss),
// each (N).
std::tuple<Tensor, Tensor> fused_softmax(Tensor& logits, const Tensor& bias, const Tensor& target) {
  const int64_t N = logits.size(0), V = logits.size(1);
  if (N > 0) {
    const auto [lowest, highest] = torch::aminmax(target);
    TORCH_CHECK(lowest.item<int64_t>() >= 0 && highest.item<int64_t>() < V,
                "linear_cross_entropy: target out of range [0, ", V, ")");
  }
  const Tensor bias_c = bias.contiguous();
  const Tensor target_c = target.contiguous();
  Tensor scale = torch::empty({N}, logits.options());
  Tensor loss = torch::empty({N}, logits.options());
  AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "linear_cross_entropy", [&] {
    SoftmaxRows<scalar_t> s;
    s.logits = logits.data_ptr<scalar_t>();
    s.bias = bias_c.data_ptr<scalar_t>();
    s.target = target_c.data_ptr<int64_t>();
    s.scale = scale.data_ptr<scalar_t>();
    s.loss = loss.data_ptr<scalar_t>();
    s.vocab = V;
    auto kernel = &softmax_rows<scalar_t>;
#if LSTMNLP_HAVE_AVX2_KERNELS
    if (kernels::cpu_has_avx2()) kernel = &softmax_rows_avx2<scalar_t>;
#endif
    // A row is a few thousand elements or more; a chunk of 32k elements amortises the hand-off.
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, V));
    at::parallel_for(0, N, grain, [&](int64_t begin, int64_t end) { kernel(s, begin, end); });
  });
  return {scale, loss};
}

// The same as tensor operations (CUDA, and CPU dtypes without the kernel).
std::tuple<Tensor, Tensor> generic_softmax(Tensor& logits, const Tensor& bias,
                                           const Tensor& target) {
  logits.add_(bias);
  const Tensor max = logits.amax(1, /*keepdim=*/true);
  const Tensor target_logit = logits.gather(1, target.unsqueeze(1)).squeeze(1);
  logits.sub_(max).exp_();
  const Tensor sum = logits.sum(1);
  return {sum.reciprocal(), sum.log() + max.squeeze(1) - target_logit};
}

class LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& x,
                        const Tensor& weight, const Tensor& bias, const Tensor& target,
                        bool fused) {
    Tensor exps = kernels::gemm(x, weight.t());  // the logits, then their exponentials in place
    const bool use_kernel =
        fused && exps.device().is_cpu() &&
        (exps.scalar_type() == torch::kFloat || exps.scalar_type() == torch::kDouble);
    auto [scale, loss] =
        use_kernel ? fused_softmax(exps, bias, target) : generic_softmax(exps, bias, target);
    ctx->save_for_backward({x, weight, exps, scale, target});
    return loss.sum();
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_outputs) {
    TORCH_CHECK(!ctx->saved_data.count("spent"),
                "linear_cross_entropy: backward ran twice; its saved buffer is consumed by the "
                "first (retain_graph is not supported)");
    ctx->saved_data["spent"] = true;
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto& grad = saved[2];  // exp(l - max), turned into d loss / d logits in place
    const auto& scale = saved[3];
    const auto& target = saved[4];
    const auto& g = grad_outputs[0];
    // d loss / d logits = g * (softmax - one_hot(target)); softmax = exps * scale per row.
    grad.mul_((scale * g).unsqueeze(1));
    grad.scatter_add_(1, target.unsqueeze(1), (-g).expand({grad.size(0), 1}).to(grad.dtype()));
    return {kernels::gemm(grad, weight), kernels::gemm(grad.t(), x), grad.sum(0), Tensor(),
            Tensor()};
  }
};

}  // namespace

Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias,
                            const Tensor& target, bool fused_cpu_kernel) {
  TORCH_CHECK(x.dim() == 2 && weight.dim() == 2 && bias.dim() == 1 && target.dim() == 1,
              "linear_cross_entropy expects x (N, H), weight (V, H), bias (V), target (N); got ",
              x.sizes(), ", ", weight.sizes(), ", ", bias.sizes(), ", ", target.sizes());
  TORCH_CHECK(
      x.size(1) == weight.size(1) && bias.size(0) == weight.size(0) && target.size(0) == x.size(0),
      "linear_cross_entropy: sizes do not agree: x ", x.sizes(), ", weight ", weight.sizes(),
      ", bias ", bias.sizes(), ", target ", target.sizes());
  TORCH_CHECK(target.scalar_type() == torch::kInt64, "target must be int64, got ",
              target.scalar_type());
  return LinearCrossEntropy::apply(x, weight, bias, target, fused_cpu_kernel);
}

}  // namespace lstmnlp::lm
