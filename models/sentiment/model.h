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

#include "models/lstm.h"
#include "models/sentiment/sentiment_config.h"

namespace lstmnlp::sentiment {

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

/// The number of parameters of SentimentClassifier(cfg, vocab_size, num_classes, ...), computed
/// without building it.
double classifier_parameters(const SentimentModelConfig& cfg, int64_t vocab_size,
                             int64_t num_classes);

/// Throws InputError naming the model keys when the classifier's parameters, `copies` times over
/// (4 to train, 1 to predict), cannot fit in this machine's memory. Call it before building one.
void check_classifier_size(const SentimentModelConfig& cfg, int64_t vocab_size, int64_t num_classes,
                           int copies);

}  // namespace lstmnlp::sentiment
