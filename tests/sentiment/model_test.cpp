#include "models/sentiment/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/trainer.h"
#include "datasets/length_batching.h"
#include "models/sentiment/metrics.h"
#include "tests/test_util.h"

namespace lstmnlp::sentiment {
namespace {

SentimentModelConfig small_config(const std::string& lstm, const std::string& pooling) {
  SentimentModelConfig cfg;
  cfg.embedding_dim = 6;
  cfg.hidden_size = 5;
  cfg.num_layers = 2;
  cfg.bidirectional = true;
  cfg.lstm = *kLstmBackends.find(lstm);
  cfg.pooling = *kPoolings.find(pooling);
  cfg.attention_size = 4;
  return cfg;
}

// Padding must not change a sequence's logits: each sequence alone (no pads) gives the same
// logits as inside a padded batch, for both LSTMs and every pooling.
TEST(SentimentClassifier, PaddingDoesNotChangeLogits) {
  const std::vector<std::vector<int>> sequences = {{3, 4, 5, 6, 7}, {8, 9}, {10}, {11, 12, 13}};
  std::vector<int64_t> all = {0, 1, 2, 3};
  const auto batch = make_batch(sequences, all, /*pad_id=*/0);
  ASSERT_EQ(batch.tokens.sizes(), (std::vector<int64_t>{5, 4}));
  for (const char* lstm : {"custom", "torch"}) {
    for (const char* pooling : {"last", "max", "mean", "attention"}) {
      torch::manual_seed(7);
      SentimentClassifier model(small_config(lstm, pooling), /*vocab_size=*/20,
                                /*num_classes=*/3, /*pad_id=*/0);
      model->eval();
      torch::NoGradGuard no_grad;
      const auto logits = model->forward(batch.tokens, batch.lengths);
      ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{4, 3}));
      for (int64_t b = 0; b < 4; ++b) {
        const auto alone = make_batch(sequences, {b}, 0);
        const auto expected = model->forward(alone.tokens, alone.lengths);
        EXPECT_TRUE(torch::allclose(logits[b], expected[0], 1e-5, 1e-6))
            << lstm << " " << pooling << " sequence " << b << "\n"
            << logits[b] << "\n"
            << expected[0];
      }
    }
  }
}

// With the same weights, the custom LSTM and torch::nn::LSTM (packed) give the same logits.
TEST(SentimentClassifier, CustomAndTorchLstmAgree) {
  const std::vector<std::vector<int>> sequences = {{3, 4, 5, 6}, {8, 9}, {10, 2, 2}};
  const auto batch = make_batch(sequences, {0, 1, 2}, 0);
  torch::manual_seed(3);
  SentimentClassifier custom(small_config("custom", "max"), 20, 2, 0);
  SentimentClassifier reference(small_config("torch", "max"), 20, 2, 0);
  {
    torch::NoGradGuard no_grad;
    auto target = reference->named_parameters();
    for (const auto& p : custom->named_parameters()) target[p.key()].copy_(p.value());
  }
  custom->eval();
  reference->eval();
  EXPECT_TRUE(torch::allclose(custom->forward(batch.tokens, batch.lengths),
                              reference->forward(batch.tokens, batch.lengths), 1e-5, 1e-6));
}

// The size check counts parameters without building the model: its count must be the built
// model's, for both LSTMs, one and two directions, one and two layers, and every pooling.
TEST(SentimentClassifier, ParameterCountMatchesTheBuiltModel) {
  for (const std::string lstm : {"custom", "torch"}) {
    for (const std::string pooling : {"max", "attention"}) {
      for (const bool bidirectional : {true, false}) {
        for (const int64_t layers : {1, 2}) {
          auto cfg = small_config(lstm, pooling);
          cfg.bidirectional = bidirectional;
          cfg.num_layers = layers;
          const SentimentClassifier model(cfg, 37, 3, 0);
          EXPECT_EQ(classifier_parameters(cfg, 37, 3),
                    static_cast<double>(count_parameters(*model)))
              << lstm << " " << pooling << " bidirectional " << bidirectional << " layers "
              << layers;
        }
      }
    }
  }
}

TEST(SentimentClassifier, SizesTooLargeToAllocateNameTheKey) {
  auto cfg = small_config("custom", "max");
  cfg.hidden_size = 100000;
  cfg.embedding_dim = 100000;
  const auto message =
      test::input_error_of([&] { check_classifier_size(cfg, 8000, 2, /*copies=*/4); });
  EXPECT_NE(message.find("model.hidden_size=100000"), std::string::npos) << message;
  EXPECT_NE(message.find("more than this machine's"), std::string::npos) << message;
  cfg.hidden_size = 5;
  cfg.embedding_dim = 6;
  EXPECT_NO_THROW(check_classifier_size(cfg, 8000, 2, /*copies=*/4));
}

TEST(SentimentBatching, EpochPlanIsAPermutationFixedBySeedAndEpoch) {
  std::vector<int64_t> lengths(1000);
  for (size_t i = 0; i < lengths.size(); ++i) lengths[i] = 1 + (i * 7919) % 40;
  const auto plan = plan_epoch_batches(lengths, /*batch_size=*/32, /*seed=*/5, /*epoch=*/0);
  EXPECT_EQ(plan.size(), (1000u + 31) / 32);
  std::multiset<int64_t> seen;
  for (const auto& batch : plan) {
    EXPECT_LE(batch.size(), 32u);
    seen.insert(batch.begin(), batch.end());
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 1000u);
  EXPECT_EQ(plan, plan_epoch_batches(lengths, 32, 5, 0));
  EXPECT_NE(plan, plan_epoch_batches(lengths, 32, 5, 1));
  EXPECT_NE(plan, plan_epoch_batches(lengths, 32, 6, 0));
  // Length bucketing: most batches span a narrow range of lengths.
  int narrow = 0;
  for (const auto& batch : plan) {
    int64_t lo = 1 << 30, hi = 0;
    for (int64_t i : batch) lo = std::min(lo, lengths[i]), hi = std::max(hi, lengths[i]);
    narrow += hi - lo <= 2;
  }
  EXPECT_GT(narrow, static_cast<int>(plan.size()) * 3 / 4);
}

TEST(SentimentBatching, InferenceBatchesRespectSizeAndTokenBudget) {
  const std::vector<int64_t> lengths = {3, 100, 4, 2, 100, 1};
  const auto batches = plan_inference_batches(lengths, /*batch_size=*/4, /*max_batch_tokens=*/200);
  std::multiset<int64_t> seen;
  for (const auto& batch : batches) {
    int64_t longest = 0;
    for (int64_t i : batch) longest = std::max(longest, lengths[i]);
    EXPECT_LE(batch.size(), 4u);
    EXPECT_LE(longest * static_cast<int64_t>(batch.size()), 200);
    seen.insert(batch.begin(), batch.end());
  }
  EXPECT_EQ(seen, (std::multiset<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(SentimentMetrics, HandComputedReport) {
  // gold:      0 0 0 1 1 2
  // predicted: 0 1 0 1 0 1
  const auto r = classification_report({0, 0, 0, 1, 1, 2}, {0, 1, 0, 1, 0, 1}, 3);
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 0}, {1, 1, 0}, {0, 1, 0}}));
  EXPECT_DOUBLE_EQ(r.accuracy, 3.0 / 6.0);
  // class 0: p 2/3, r 2/3, f1 2/3; class 1: p 1/3, r 1/2, f1 0.4; class 2: 0.
  EXPECT_NEAR(r.f1[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.f1[1], 0.4, 1e-12);
  EXPECT_EQ(r.f1[2], 0.0);
  EXPECT_NEAR(r.macro_f1, (2.0 / 3.0 + 0.4) / 3.0, 1e-12);
  const auto j = to_json(r, {"neg", "neu", "pos"});
  EXPECT_EQ(j["per_class"]["neg"]["support"], 3);
  EXPECT_EQ(j["confusion"][0][1], 1);
  const auto table = format_report(r, {"neg", "neu", "pos"});
  EXPECT_NE(table.find("accuracy 0.5000"), std::string::npos) << table;
  EXPECT_NE(table.find("macro-F1 0.3556"), std::string::npos) << table;
}

}  // namespace
}  // namespace lstmnlp::sentiment
