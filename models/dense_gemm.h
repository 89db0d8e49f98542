#pragma once

// The whole-sequence products of lstmnlp::LSTM (the input projection x·W_ih^T + b, and the
// backward's dx, dW_ih and dW_hh) on oneDNN's sgemm where the build has oneDNN (Debian's
// libdnnl-dev 2.x): it runs on LibTorch's own OpenMP threads, where torch's mm hands each product
// to OpenBLAS's separate pool of threads, whose wake-up costs more than a small product. Measured
// side by side (2026-12-06, AMD EPYC with AVX-512, 2 threads, the shapes of hidden 256 and 650
// at T = 35): 1.06-1.84x OpenBLAS's GFLOP/s at B = 20 and 64, and 2.3-15x at B = 1; on one
// thread the two are within about 10% of each other either way. Internal to the library.
//
//   kernels::gemm_into(out, a, b, /*accumulate=*/false);  // out = a·b
//
// Where this build has no oneDNN, LSTMNLP_ONEDNN_GEMM=0 is set, or the tensors are not float32
// CPU matrices that sgemm can read in place, torch's mm computes the same product.

#include <ATen/core/Tensor.h>

namespace lstmnlp::kernels {

/// out = a·b, or out += a·b when `accumulate`; a (m, k), b (k, n) and out (m, n), each with any
/// strides. out must not overlap a or b.
void gemm_into(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b, bool accumulate);

/// a·b as a new contiguous tensor.
at::Tensor gemm(const at::Tensor& a, const at::Tensor& b);

}  // namespace lstmnlp::kernels
