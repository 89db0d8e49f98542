#include "models/onednn_layer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

#include "models/lstm.h"
#include "models/lstm_profile.h"

namespace lstmnlp {
namespace {

using torch::Tensor;

constexpr double kTol = 1e-5;

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a - b).abs().max().item<double>();
}

struct Inference {
  Tensor out, h_n, c_n;
  double onednn_seconds = 0, gates_seconds = 0;  // from the module's phase timers
};

// A no-grad forward of `lstm`, and which of its paths ran it.
Inference infer(LSTM& lstm, const Tensor& x, const Tensor& h0, const Tensor& c0,
                std::optional<Tensor> lengths = std::nullopt) {
  torch::NoGradGuard no_grad;
  profile::start();
  auto [out, state] = lstm->forward(x, std::make_tuple(h0, c0), lengths);
  const profile::Totals t = profile::stop();
  return {out, std::get<0>(state), std::get<1>(state),
          t.seconds[static_cast<size_t>(profile::Phase::kOneDnnLayer)],
          t.seconds[static_cast<size_t>(profile::Phase::kGates)]};
}

void expect_matches_torch(const Inference& ours, torch::nn::LSTM& ref, const Tensor& x,
                          const Tensor& h0, const Tensor& c0) {
  torch::NoGradGuard no_grad;
  auto [out, state] = ref->forward(x, std::make_tuple(h0, c0));
  EXPECT_LE(max_abs_diff(ours.out, out), kTol) << "output";
  EXPECT_LE(max_abs_diff(ours.h_n, std::get<0>(state)), kTol) << "h_n";
  EXPECT_LE(max_abs_diff(ours.c_n, std::get<1>(state)), kTol) << "c_n";
}

class OneDnnLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kernels::OneDnnLayer::available()) {
      GTEST_SKIP() << "this build has no oneDNN 2.x, or LSTMNLP_ONEDNN=0";
    }
    torch::manual_seed(1701);
    ref =
        torch::nn::LSTM(torch::nn::LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true));
    ours = lstm_from_torch(ref);
  }
  Tensor input(int64_t T, int64_t B) const { return torch::randn({T, B, kInput}); }
  Tensor state(int64_t B) const { return torch::randn({4, B, kHidden}); }

  static constexpr int64_t kInput = 12, kHidden = 24;
  torch::nn::LSTM ref{nullptr};
  LSTM ours{nullptr};
};

TEST_F(OneDnnLayerTest, InferenceRunsOnOneDnnAndMatchesTorch) {
  const Tensor x = input(7, 17), h0 = state(17), c0 = state(17);
  const Inference r = infer(ours, x, h0, c0);
  EXPECT_GT(r.onednn_seconds, 0.0) << "the layers did not run on oneDNN";
  EXPECT_EQ(r.gates_seconds, 0.0) << "the module's own gate kernels ran";
  expect_matches_torch(r, ref, x, h0, c0);
}

TEST_F(OneDnnLayerTest, CachedWeightsFollowInPlaceChangesAndNewShapes) {
  const Tensor x = input(6, 16), h0 = state(16), c0 = state(16);
  expect_matches_torch(infer(ours, x, h0, c0), ref, x, h0, c0);  // caches the weights
  {
    // An optimizer's step: the same tensors, changed in place.
    torch::NoGradGuard no_grad;
    auto ours_params = ours->named_parameters();
    for (auto& item : ref->named_parameters()) {
      const Tensor step = 0.3 * torch::randn(item.value().sizes());
      item.value().add_(step);
      ours_params[item.key()].add_(step);
    }
  }
  expect_matches_torch(infer(ours, x, h0, c0), ref, x, h0, c0);
  // Weights loaded from another model, then other lengths of time and batch.
  torch::nn::LSTM other(torch::nn::LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true));
  copy_weights_from_torch(other, ours);
  for (const auto& [T, B] : {std::pair<int64_t, int64_t>{6, 16}, {1, 16}, {11, 24}}) {
    const Tensor xs = input(T, B), hs = state(B), cs = state(B);
    const Inference r = infer(ours, xs, hs, cs);
    EXPECT_GT(r.onednn_seconds, 0.0);
    expect_matches_torch(r, other, xs, hs, cs);
  }
}

TEST_F(OneDnnLayerTest, ACloneCachesItsOwnWeights) {
  const Tensor x = input(5, 16), h0 = state(16), c0 = state(16);
  const Inference before = infer(ours, x, h0, c0);
  auto copy = std::dynamic_pointer_cast<LSTMImpl>(ours->clone());
  ASSERT_NE(copy, nullptr);
  LSTM clone(copy);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : clone->parameters()) p.mul_(-1.0);
  }
  const Inference changed = infer(clone, x, h0, c0);
  EXPECT_GT(max_abs_diff(changed.out, before.out), 1e-3);
  const Inference after = infer(ours, x, h0, c0);
  EXPECT_TRUE(torch::equal(after.out, before.out));
  EXPECT_TRUE(torch::equal(after.c_n, before.c_n));
}

TEST_F(OneDnnLayerTest, SmallBatchesStayOnTheModulesKernels) {
  const int64_t B = kernels::OneDnnLayer::kMinBatch - 1;
  const Tensor x = input(5, B), h0 = state(B), c0 = state(B);
  const Inference r = infer(ours, x, h0, c0);
  EXPECT_EQ(r.onednn_seconds, 0.0);
  EXPECT_GT(r.gates_seconds, 0.0);
  expect_matches_torch(r, ref, x, h0, c0);
}

TEST_F(OneDnnLayerTest, LengthsFloat64AndGradientsStayOnTheModulesKernels) {
  const Tensor x = input(5, 16), h0 = state(16), c0 = state(16);
  const Inference with_lengths =
      infer(ours, x, h0, c0, torch::full({16}, 5, torch::kLong).index_put_({1}, 2));
  EXPECT_EQ(with_lengths.onednn_seconds, 0.0);
  EXPECT_GT(with_lengths.gates_seconds, 0.0);

  LSTM as_double = lstm_from_torch(ref);
  as_double->to(torch::kDouble);
  const Inference in_double =
      infer(as_double, x.to(torch::kDouble), h0.to(torch::kDouble), c0.to(torch::kDouble));
  EXPECT_EQ(in_double.onednn_seconds, 0.0);

  profile::start();
  auto [out, state_n] = ours->forward(x, std::make_tuple(h0, c0));  // parameters need gradients
  out.sum().backward();
  const profile::Totals t = profile::stop();
  EXPECT_EQ(t.seconds[static_cast<size_t>(profile::Phase::kOneDnnLayer)], 0.0);
}

}  // namespace
}  // namespace lstmnlp
