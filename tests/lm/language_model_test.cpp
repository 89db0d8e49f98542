#include "models/lm/language_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "datasets/lm_corpus.h"
#include "models/lm/lm_task.h"

namespace lstmnlp::lm {
namespace {

LanguageModelOptions small_options(LstmBackend backend) {
  return LanguageModelOptions(/*vocab_size=*/23, /*embedding_size=*/8, /*hidden_size=*/8)
      .num_layers(2)
      .lstm(backend);
}

// Copies every parameter of `from` into the same-named parameter of `to`.
void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto target = to.named_parameters();
  for (const auto& p : from.named_parameters()) target[p.key()].copy_(p.value());
}

TEST(LanguageModel, ShapesAndState) {
  torch::manual_seed(1);
  LanguageModel model(small_options(LstmBackend::kCustom));
  const auto input = torch::randint(0, 23, {5, 3}, torch::kInt64);
  auto [logits, state] = model->forward(input);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{5, 3, 23}));
  EXPECT_EQ(std::get<0>(state).sizes(), (std::vector<int64_t>{2, 3, 8}));
  EXPECT_EQ(std::get<1>(state).sizes(), (std::vector<int64_t>{2, 3, 8}));
  EXPECT_THROW(model->forward(input, model->initial_state(4)), c10::Error);
}

TEST(LanguageModel, CustomLstmMatchesTorchLstm) {
  for (bool variational : {false, true}) {
    torch::manual_seed(2);
    LanguageModel custom(small_options(LstmBackend::kCustom).variational_dropout(variational));
    LanguageModel reference(small_options(LstmBackend::kTorch).variational_dropout(variational));
    copy_parameters(*custom, *reference);
    custom->eval();
    reference->eval();
    const auto input = torch::randint(0, 23, {6, 2}, torch::kInt64);
    const auto state = reference->initial_state(2);
    auto [a, sa] = custom->forward(input, LmState{std::get<0>(state) + 0.1, std::get<1>(state)});
    auto [b, sb] = reference->forward(input, LmState{std::get<0>(state) + 0.1, std::get<1>(state)});
    EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6)) << "variational " << variational;
    EXPECT_TRUE(torch::allclose(std::get<1>(sa), std::get<1>(sb), 1e-5, 1e-6));
  }
}

TEST(LanguageModel, NllEqualsCrossEntropyOfTheLogits) {
  torch::manual_seed(6);
  LanguageModel model(small_options(LstmBackend::kCustom).tie_weights(true));
  const auto input = torch::randint(0, 23, {5, 3}, torch::kInt64);
  const auto target = torch::randint(0, 23, {5, 3}, torch::kInt64);
  auto [features, state] = model->features(input);
  const auto logits = model->decode(features);
  const auto expected = torch::nn::functional::cross_entropy(
      logits.view({15, 23}), target.view({15}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  EXPECT_NEAR(model->nll(features, target).item<float>(), expected.item<float>(), 1e-4);
}

TEST(LanguageModel, TiedWeightsShareTheEmbedding) {
  LanguageModel tied(small_options(LstmBackend::kCustom).tie_weights(true));
  auto params = tied->named_parameters();
  EXPECT_FALSE(params.contains("decoder_weight"));
  EXPECT_EQ(tied->decoder_weight().data_ptr(), params["embedding.weight"].data_ptr());
  LanguageModel untied(small_options(LstmBackend::kCustom));
  EXPECT_TRUE(untied->named_parameters().contains("decoder_weight"));
  EXPECT_THROW(LanguageModel(LanguageModelOptions(10, 8, 6).tie_weights(true)), c10::Error);
}

TEST(LanguageModel, InitRangeBoundsEveryParameter) {
  torch::manual_seed(3);
  LanguageModel model(small_options(LstmBackend::kCustom).init_range(0.05));
  for (const auto& p : model->named_parameters()) {
    if (p.key() == "decoder_bias") {
      EXPECT_EQ(p.value().abs().max().item<float>(), 0.0f);
    } else {
      EXPECT_LE(p.value().abs().max().item<float>(), 0.05f) << p.key();
    }
  }
}

TEST(LanguageModel, VariationalDropoutSharesTheMaskAcrossSteps) {
  for (bool variational : {true, false}) {
    torch::manual_seed(4);
    // With V = H and an identity decoder, the logits are the dropped-out LSTM outputs.
    LanguageModel model(LanguageModelOptions(/*vocab_size=*/32, /*embedding_size=*/8,
                                             /*hidden_size=*/32)
                            .num_layers(1)
                            .dropout_output(0.5)
                            .variational_dropout(variational));
    {
      torch::NoGradGuard no_grad;
      model->named_parameters()["decoder_weight"].copy_(torch::eye(32));
    }
    model->train();
    auto [logits, state] = model->forward(torch::randint(0, 32, {6, 3}, torch::kInt64));
    const auto dropped = logits == 0;  // (6, 3, 32)
    EXPECT_GT(dropped.sum().item<int64_t>(), 0);
    EXPECT_LT(dropped.sum().item<int64_t>(), dropped.numel());
    const bool same_every_step = torch::equal(dropped, dropped[0].unsqueeze(0).expand_as(dropped));
    EXPECT_EQ(same_every_step, variational);
  }
}

TEST(Perplexity, UniformModelScoresTheVocabularySize) {
  constexpr int64_t kVocab = 37;
  LanguageModel model(LanguageModelOptions(kVocab, 8, 8).num_layers(2));
  {
    torch::NoGradGuard no_grad;
    model->named_parameters()["decoder_weight"].zero_();
    model->named_parameters()["decoder_bias"].zero_();
  }
  Corpus corpus{"uniform", torch::randint(0, kVocab, {201}, torch::kInt64), 300, 0};
  for (int64_t batch : {1, 4}) {
    const auto result = evaluate_perplexity(model, corpus, batch, /*bptt=*/7);
    EXPECT_NEAR(result.token_ppl(), kVocab, 1e-4 * kVocab) << "batch " << batch;
    EXPECT_NEAR(result.loss(), std::log(kVocab), 1e-6);
  }
  const auto all = evaluate_perplexity(model, corpus, 1, 7);
  EXPECT_EQ(all.tokens, 200);  // every token after the leading <eos>
  // 200 tokens for 300 words: per-word perplexity is V^(200/300).
  EXPECT_NEAR(all.word_ppl(), std::pow(kVocab, 200.0 / 300.0), 1e-4);
}

TEST(Perplexity, PerWordArithmetic) {
  Perplexity p;
  p.nll = 10 * std::log(5.0);  // 10 tokens at probability 1/5 each
  p.tokens = 10;
  p.words = 5;
  EXPECT_NEAR(p.token_ppl(), 5.0, 1e-12);
  EXPECT_NEAR(p.word_ppl(), 25.0, 1e-12);  // exp(total NLL / words)
  const auto json = p.to_json(/*subword=*/true);
  EXPECT_TRUE(json.contains("word_ppl"));
  EXPECT_FALSE(p.to_json(/*subword=*/false).contains("word_ppl"));
}

}  // namespace
}  // namespace lstmnlp::lm
