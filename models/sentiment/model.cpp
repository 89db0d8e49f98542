#include "models/sentiment/model.h"

#include <limits>

#include "core/model_size.h"

namespace lstmnlp::sentiment {

double classifier_parameters(const SentimentModelConfig& cfg, int64_t vocab_size,
                             int64_t num_classes) {
  const int directions = cfg.bidirectional ? 2 : 1;
  const double hidden = static_cast<double>(cfg.hidden_size);
  const double features = directions * hidden;
  double parameters = static_cast<double>(vocab_size) * static_cast<double>(cfg.embedding_dim);
  double input = static_cast<double>(cfg.embedding_dim);
  for (int64_t layer = 0; layer < cfg.num_layers; ++layer) {
    parameters += lstm_layer_parameters(input, hidden, directions);
    input = features;
  }
  if (cfg.pooling == Pooling::kAttention) {
    const double attention = static_cast<double>(cfg.attention_size);
    parameters += features * attention + 2.0 * attention;  // attention_hidden and score
  }
  return parameters + (features + 1.0) * static_cast<double>(num_classes);
}

void check_classifier_size(const SentimentModelConfig& cfg, int64_t vocab_size, int64_t num_classes,
                           int copies) {
  check_parameter_memory(classifier_parameters(cfg, vocab_size, num_classes), copies,
                         "model.embedding_dim=" + std::to_string(cfg.embedding_dim) +
                             ", model.hidden_size=" + std::to_string(cfg.hidden_size) +
                             ", model.num_layers=" + std::to_string(cfg.num_layers) +
                             " (vocabulary " + std::to_string(vocab_size) + ")");
}

SentimentClassifierImpl::SentimentClassifierImpl(const SentimentModelConfig& cfg,
                                                 int64_t vocab_size, int64_t num_classes,
                                                 int64_t pad_id)
    : cfg_(cfg) {
  TORCH_CHECK(vocab_size > 0, "vocab_size must be positive, got ", vocab_size);
  TORCH_CHECK(num_classes >= 2, "num_classes must be at least 2, got ", num_classes);
  TORCH_CHECK(pad_id < vocab_size, "pad_id ", pad_id, " is outside the vocabulary of ", vocab_size);
  auto embedding_options = torch::nn::EmbeddingOptions(vocab_size, cfg.embedding_dim);
  if (pad_id >= 0) embedding_options.padding_idx(pad_id);
  embedding_ = register_module("embedding", torch::nn::Embedding(embedding_options));

  const double between_layers = cfg.num_layers > 1 ? cfg.dropout : 0.0;
  if (cfg.lstm == LstmBackend::kCustom) {
    lstm_ = register_module("lstm", LSTM(LSTMOptions(cfg.embedding_dim, cfg.hidden_size)
                                             .num_layers(cfg.num_layers)
                                             .bidirectional(cfg.bidirectional)
                                             .dropout(between_layers)
                                             .forget_bias(cfg.forget_bias)));
  } else {
    torch_lstm_ = register_module(
        "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(cfg.embedding_dim, cfg.hidden_size)
                                    .num_layers(cfg.num_layers)
                                    .bidirectional(cfg.bidirectional)
                                    .dropout(between_layers)));
  }
  const int64_t features = cfg.hidden_size * (cfg.bidirectional ? 2 : 1);
  if (cfg.pooling == Pooling::kAttention) {
    attention_hidden_ =
        register_module("attention_hidden", torch::nn::Linear(features, cfg.attention_size));
    attention_score_ = register_module(
        "attention_score",
        torch::nn::Linear(torch::nn::LinearOptions(cfg.attention_size, 1).bias(false)));
  }
  embedding_dropout_ =
      register_module("embedding_dropout", torch::nn::Dropout(cfg.embedding_dropout));
  dropout_ = register_module("dropout", torch::nn::Dropout(cfg.dropout));
  classifier_ = register_module("classifier", torch::nn::Linear(features, num_classes));
}

std::pair<torch::Tensor, torch::Tensor> SentimentClassifierImpl::encode(
    const torch::Tensor& embedded, const torch::Tensor& lengths) {
  if (lstm_) {
    auto [outputs, state] = lstm_->forward(embedded, std::nullopt, lengths);
    return {outputs, std::get<0>(state)};
  }
  const int64_t steps = embedded.size(0);
  auto packed = torch::nn::utils::rnn::pack_padded_sequence(embedded, lengths.to(torch::kCPU),
                                                            /*batch_first=*/false,
                                                            /*enforce_sorted=*/false);
  auto [packed_out, state] = torch_lstm_->forward_with_packed_input(packed);
  auto [outputs, unused] = torch::nn::utils::rnn::pad_packed_sequence(
      packed_out, /*batch_first=*/false, /*padding_value=*/0.0, /*total_length=*/steps);
  return {outputs, std::get<0>(state)};
}

torch::Tensor SentimentClassifierImpl::pool(const torch::Tensor& outputs, const torch::Tensor& h_n,
                                            const torch::Tensor& lengths) {
  const Pooling pooling = cfg_.pooling;
  if (pooling == Pooling::kLast) {
    // The last layer's final states: forward after each sequence's last token, and with D = 2
    // reverse after its first.
    if (!cfg_.bidirectional) return h_n[h_n.size(0) - 1];
    return torch::cat({h_n[h_n.size(0) - 2], h_n[h_n.size(0) - 1]}, /*dim=*/1);
  }
  const int64_t steps = outputs.size(0);
  const auto device_lengths = lengths.to(outputs.device());
  // (T, B): true at padded steps.
  const auto pad =
      torch::arange(steps, device_lengths.options()).unsqueeze(1) >= device_lengths.unsqueeze(0);
  if (pooling == Pooling::kMax) {
    return outputs.masked_fill(pad.unsqueeze(2), -std::numeric_limits<float>::infinity())
        .amax(/*dim=*/0);
  }
  if (pooling == Pooling::kMean) {
    // Padded outputs are zero, so the sum runs over real steps only.
    return outputs.sum(0) / device_lengths.unsqueeze(1).to(outputs.scalar_type());
  }
  auto scores = attention_score_(torch::tanh(attention_hidden_(outputs))).squeeze(2);  // (T, B)
  scores = scores.masked_fill(pad, -std::numeric_limits<float>::infinity());
  const auto weights = torch::softmax(scores, /*dim=*/0).unsqueeze(2);
  return (weights * outputs).sum(0);
}

torch::Tensor SentimentClassifierImpl::forward(const torch::Tensor& tokens,
                                               const torch::Tensor& lengths) {
  TORCH_CHECK(tokens.dim() == 2, "tokens must be (T, B), got ", tokens.sizes());
  TORCH_CHECK(lengths.dim() == 1 && lengths.size(0) == tokens.size(1),
              "lengths must be (B) with B = ", tokens.size(1), ", got ", lengths.sizes());
  const auto embedded = embedding_dropout_(embedding_(tokens));  // (T, B, E)
  auto [outputs, h_n] = encode(embedded, lengths);
  return classifier_(dropout_(pool(outputs, h_n, lengths)));
}

}  // namespace lstmnlp::sentiment
