#pragma once

// The language model's decoder and loss in one autograd function.

#include <torch/types.h>

namespace lstmnlp::lm {

/// The summed cross-entropy of the linear decoder's logits x·W^T + b against `target`, with its
/// gradient, without materialising log-probabilities: one (N, V) buffer holds the logits, then
/// their exponentials, then (in the backward pass) their gradient. On CPU, for float and double,
/// one fused pass per row adds the bias and finds the maximum and a second exponentiates and
/// sums, while the row is still in cache; elsewhere, or with `fused_cpu_kernel` false, the same
/// arithmetic runs as tensor operations. Equals cross_entropy(addmm(bias, x, weight.t()), target,
/// sum) up to rounding. The backward pass consumes the saved buffer, so it may run only once
/// (no retain_graph).
/// x: (N, H); weight: (V, H); bias: (V); target: (N) int64 in [0, V). Returns a scalar.
torch::Tensor linear_cross_entropy(const torch::Tensor& x, const torch::Tensor& weight,
                                   const torch::Tensor& bias, const torch::Tensor& target,
                                   bool fused_cpu_kernel = true);

}  // namespace lstmnlp::lm
