#include "models/dense_gemm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

namespace lstmnlp::kernels {
namespace {

using torch::Tensor;

double max_abs_diff(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item<double>(); }

// Every layout the LSTM passes (row-major, transposed views, row slices of a wider matrix), with
// and without accumulation, against torch's mm.
TEST(DenseGemmTest, MatchesTorchForEveryLayout) {
  torch::manual_seed(3);
  const int64_t m = 37, k = 29, n = 53;
  const Tensor a = torch::randn({m, k}), at_ = torch::randn({k, m}).t();
  const Tensor b = torch::randn({k, n}), bt = torch::randn({n, k}).t();
  const Tensor wide = torch::randn({k, n + 7});
  const Tensor b_slice = wide.narrow(1, 3, n);  // rows n + 7 floats apart
  for (const Tensor& left : {a, at_}) {
    for (const Tensor& right : {b, bt, b_slice}) {
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(std::string(left.is_contiguous() ? "A" : "A^T") + " x " +
                     (right.is_contiguous() ? "B" : "B view") + (accumulate ? " +=" : " ="));
        const Tensor start = torch::randn({m, n});
        Tensor out = start.clone();
        gemm_into(out, left, right, accumulate);
        const Tensor expected =
            torch::mm(left, right) + (accumulate ? start : torch::zeros_like(start));
        EXPECT_LT(max_abs_diff(out, expected), 1e-4);
      }
    }
  }
  // Into the rows of a wider output.
  Tensor wide_out = torch::zeros({m, n + 5});
  gemm_into(wide_out.narrow(1, 0, n), a, b, /*accumulate=*/false);
  EXPECT_LT(max_abs_diff(wide_out.narrow(1, 0, n), torch::mm(a, b)), 1e-4);
  EXPECT_EQ(wide_out.narrow(1, n, 5).abs().max().item<double>(), 0.0);
}

TEST(DenseGemmTest, EmptyAndDoubleProducts) {
  Tensor out = torch::ones({3, 4});
  gemm_into(out, torch::zeros({3, 0}), torch::zeros({0, 4}), /*accumulate=*/true);
  EXPECT_EQ(out.sum().item<double>(), 12.0);
  gemm_into(out, torch::zeros({3, 0}), torch::zeros({0, 4}), /*accumulate=*/false);
  EXPECT_EQ(out.abs().sum().item<double>(), 0.0);
  torch::manual_seed(4);
  const Tensor a = torch::randn({5, 6}, torch::kDouble), b = torch::randn({6, 7}, torch::kDouble);
  EXPECT_LT(max_abs_diff(gemm(a, b), torch::mm(a, b)), 1e-12);
  EXPECT_THROW(gemm(a, a), c10::Error);
}

}  // namespace
}  // namespace lstmnlp::kernels
