#include "models/lm/linear_cross_entropy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

namespace lstmnlp::lm {
namespace {

struct Case {
  torch::Dtype dtype;
  bool fused;
  double rtol;  // against torch in the same dtype; the float kernel's exp is within ~1 ulp
  double ulps;  // 8 units in the last place of the dtype
};

// The loss and the gradients of x, W and b, each scaled by 0.5 on the way back.
struct Result {
  torch::Tensor loss, gx, gw, gb;
};

Result run(const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0,
           const torch::Tensor& target, bool reference, bool fused) {
  auto x = x0.clone().requires_grad_();
  auto w = w0.clone().requires_grad_();
  auto b = b0.clone().requires_grad_();
  auto loss = reference
                  ? torch::nn::functional::cross_entropy(
                        torch::addmm(b, x, w.t()), target,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                  : linear_cross_entropy(x, w, b, target, fused);
  (0.5 * loss).backward();
  return {loss.detach(), x.grad(), w.grad(), b.grad()};
}

TEST(LinearCrossEntropy, MatchesTorchCrossEntropyAndItsGradients) {
  const Case cases[] = {{torch::kFloat64, true, 1e-9, 8 * 1.1e-16},
                        {torch::kFloat64, false, 1e-9, 8 * 1.1e-16},
                        {torch::kFloat32, true, 2e-5, 8 * 6e-8},
                        {torch::kFloat32, false, 2e-5, 8 * 6e-8}};
  for (const auto& c : cases) {
    // 37 words: rows of the kernel are not a multiple of its 8 lanes. Scale 3 sharpens the
    // distribution (log-probabilities near -40); 30 shifts every logit by 100, where a
    // softmax without the max subtracted would overflow.
    for (double scale : {1.0, 3.0, 30.0}) {
      torch::manual_seed(5);
      const auto opts = torch::TensorOptions().dtype(c.dtype);
      const auto x = torch::randn({12, 6}, opts) * (scale == 30.0 ? 1.0 : scale);
      const auto w = torch::randn({37, 6}, opts) * (scale == 30.0 ? 1.0 : scale);
      const auto b = torch::randn({37}, opts) + (scale == 30.0 ? 100.0 : 0.0);
      const auto target = torch::randint(0, 37, {12}, torch::kInt64);
      const auto ours = run(x, w, b, target, /*reference=*/false, c.fused);
      const auto ref = run(x, w, b, target, /*reference=*/true, false);
      const std::string where = std::string(c.dtype == torch::kFloat64 ? "double" : "float") +
                                (c.fused ? " fused" : " generic") + ", scale " +
                                std::to_string(scale);
      EXPECT_NEAR(ours.loss.item<double>(), ref.loss.item<double>(),
                  c.rtol * ref.loss.item<double>())
          << where;
      // The products may run on another library than torch's (models/dense_gemm.h), which sums
      // in another order: a gradient element near zero then differs by a few ulps of the
      // largest element.
      auto atol = [&](const torch::Tensor& t) {
        return c.rtol * 1e-3 + c.ulps * t.abs().max().item<double>();
      };
      EXPECT_TRUE(torch::allclose(ours.gx, ref.gx, c.rtol, atol(ref.gx))) << where;
      EXPECT_TRUE(torch::allclose(ours.gw, ref.gw, c.rtol, atol(ref.gw))) << where;
      EXPECT_TRUE(torch::allclose(ours.gb, ref.gb, c.rtol, atol(ref.gb))) << where;
    }
  }
}

TEST(LinearCrossEntropy, NanLogitsGiveANanLoss) {
  // The trainer stops on a non-finite loss; the kernel must not hide a NaN in the logits.
  for (bool fused : {true, false}) {
    auto x = torch::randn({4, 3});
    x[2][1] = std::numeric_limits<float>::quiet_NaN();
    const auto loss = linear_cross_entropy(x, torch::randn({20, 3}), torch::zeros({20}),
                                           torch::tensor({0, 1, 2, 3}, torch::kInt64), fused);
    EXPECT_TRUE(std::isnan(loss.item<float>())) << (fused ? "fused" : "generic");
  }
}

TEST(LinearCrossEntropy, EmptyBatchScoresZero) {
  for (bool fused : {true, false}) {
    const auto x = torch::zeros({0, 3}, torch::requires_grad());
    const auto w = torch::randn({5, 3}, torch::requires_grad());
    auto loss =
        linear_cross_entropy(x, w, torch::zeros({5}), torch::zeros({0}, torch::kInt64), fused);
    EXPECT_EQ(loss.item<float>(), 0.0f);
    loss.backward();
    EXPECT_EQ(w.grad().abs().sum().item<float>(), 0.0f);
  }
}

TEST(LinearCrossEntropy, RejectsTargetsOutOfRangeAndASecondBackward) {
  const auto x = torch::randn({3, 4}, torch::requires_grad());
  const auto w = torch::randn({10, 4}, torch::requires_grad());
  const auto b = torch::zeros({10}, torch::requires_grad());
  EXPECT_THROW(linear_cross_entropy(x, w, b, torch::tensor({0, 10, 2}, torch::kInt64)), c10::Error);
  EXPECT_THROW(linear_cross_entropy(x, w, b, torch::tensor({0, -1, 2}, torch::kInt64)), c10::Error);
  auto loss = linear_cross_entropy(x, w, b, torch::tensor({0, 9, 2}, torch::kInt64));
  loss.backward({}, /*retain_graph=*/true);
  EXPECT_THROW(loss.backward(), c10::Error);
}

}  // namespace
}  // namespace lstmnlp::lm
