#include "models/small_gemm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

namespace lstmnlp::kernels {
namespace {

using torch::Tensor;

// (m, n, k, A transposed): one panel, whole panels, panels and a shorter last one, and A given
// as the transpose of a row-major matrix as the LSTM's backward passes it.
class SmallGemmTest : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, bool>> {
};

TEST_P(SmallGemmTest, AccumulatesThePackedProductIntoC) {
  const auto [m, n, k, transposed] = GetParam();
  const SmallGemm gemm = SmallGemm::accumulating(m, n, k, /*ldb=*/k, /*ldc=*/m);
  if (!gemm) GTEST_SKIP() << "built without libxsmm, or LSTMNLP_SMALL_GEMM=0";
  torch::manual_seed(7);
  const Tensor a = transposed ? torch::randn({k, m}).t() : torch::randn({m, k});
  // Column-major B (k, n) and C (m, n) are row-major (n, k) and (n, m).
  const Tensor b = torch::randn({n, k});
  Tensor c = torch::randn({n, m});
  const Tensor expected = c + torch::mm(b, a.t());
  const Tensor packed = gemm.pack(a);
  ASSERT_EQ(packed.numel(), m * k);
  gemm.run(packed.data_ptr<float>(), b.data_ptr<float>(), c.data_ptr<float>());
  EXPECT_LT((c - expected).abs().max().item<double>(), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Shapes, SmallGemmTest,
                         ::testing::Values(std::make_tuple(40, 3, 7, false),
                                           std::make_tuple(256, 5, 16, false),
                                           std::make_tuple(300, 20, 33, false),
                                           std::make_tuple(300, 20, 33, true),
                                           std::make_tuple(130, 1, 520, true)));

TEST(SmallGemmPackTest, RejectsAMatrixOfAnotherShape) {
  const SmallGemm gemm = SmallGemm::accumulating(8, 2, 4, 4, 8);
  if (!gemm) GTEST_SKIP() << "built without libxsmm, or LSTMNLP_SMALL_GEMM=0";
  EXPECT_THROW(gemm.pack(torch::zeros({4, 8})), c10::Error);
  EXPECT_THROW(gemm.pack(torch::zeros({8, 4}, torch::kDouble)), c10::Error);
}

}  // namespace
}  // namespace lstmnlp::kernels
