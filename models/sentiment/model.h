#pragma once

// The sentiment classifier: token ids → embedding → (Bi)LSTM → pooling → dropout → linear.
//
//   SentimentModelConfig cfg;                 // BiLSTM 256, max pooling, dropout 0.5
//   SentimentClassifier model(cfg, /*vocab_size=*/8000, /*num_classes=*/2, /*pad_id=*/0);
//   torch::Tensor logits = model->forward(tokens, lengths);  // tokens (T, B), lengths (B)
//
// Padding never enters the recurrence: lstmnlp::LSTM takes the per-sequence lengths, and
// torch::nn::LSTM (lstm: torch) runs on a packed sequence. Pooling ignores padded steps too.

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "core/config.h"
#include "models/lstm.h"

namespace lstmnlp {

/// The `model` section of a sentiment config.
struct SentimentModelConfig {
  int64_t embedding_dim = 300;     ///< embedding size (E)
  int64_t hidden_size = 256;       ///< LSTM hidden size per direction (H)
  int64_t num_layers = 1;          ///< stacked LSTM layers
  bool bidirectional = true;       ///< run each layer in both directions (D = 2)
  std::string lstm = "custom";     ///< custom (lstmnlp::LSTM) or torch (torch::nn::LSTM)
  std::string pooling = "max";     ///< last, max, mean or attention
  double dropout = 0.5;            ///< before the classifier and between LSTM layers
  double embedding_dropout = 0.0;  ///< dropout on the embeddings
  double forget_bias = 0.0;        ///< added to the forget-gate bias at init (custom LSTM only)
  int64_t attention_size = 128;    ///< hidden size of the attention scorer (pooling: attention)

  template <class V>
  void visit(V& v) {
    v("embedding_dim", embedding_dim, config::Range{1, 1e5});
    v("hidden_size", hidden_size, config::Range{1, 1e5});
    v("num_layers", num_layers, config::Range{1, 16});
    v("bidirectional", bidirectional);
    v("lstm", lstm, config::Choices{"custom", "torch"});
    v("pooling", pooling, config::Choices{"last", "max", "mean", "attention"});
    v("dropout", dropout, config::Range{0.0, 1.0});
    v("embedding_dropout", embedding_dropout, config::Range{0.0, 1.0});
    v("forget_bias", forget_bias, config::Range{-10.0, 10.0});
    v("attention_size", attention_size, config::Range{1, 1e5});
  }
};

/// See the file comment.
class SentimentClassifierImpl : public torch::nn::Module {
 public:
  SentimentClassifierImpl(const SentimentModelConfig& cfg, int64_t vocab_size, int64_t num_classes,
                          int64_t pad_id);

  /// tokens: (T, B) int64 ids, padded with pad_id after each sequence's end.
  /// lengths: (B) int64 on the CPU, 1 <= lengths[b] <= T.
  /// Returns logits (B, num_classes).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths);

  const SentimentModelConfig& config() const { return cfg_; }

 private:
  // (T, B, D*H) outputs, zero at padded steps, and (D*H... ) final states (L*D, B, H).
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& embedded,
                                                 const torch::Tensor& lengths);
  torch::Tensor pool(const torch::Tensor& outputs, const torch::Tensor& h_n,
                     const torch::Tensor& lengths);

  SentimentModelConfig cfg_;
  torch::nn::Embedding embedding_{nullptr};
  LSTM lstm_{nullptr};
  torch::nn::LSTM torch_lstm_{nullptr};
  torch::nn::Linear attention_hidden_{nullptr};
  torch::nn::Linear attention_score_{nullptr};
  torch::nn::Dropout embedding_dropout_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

TORCH_MODULE(SentimentClassifier);

}  // namespace lstmnlp
