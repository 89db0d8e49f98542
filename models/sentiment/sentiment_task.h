#pragma once

// Training a sentiment classifier with the shared Trainer (core/trainer.h): SentimentTask supplies
// the model, the length-bucketed batches (reshuffled per epoch from (seed, epoch), so a resume is
// exact) and the dev accuracy that picks best.pt and drives early stopping.
//
//   SentimentTask task(model, encode_examples(train, tok, labels, 256), encode_examples(dev, ...),
//                      labels.size(), cfg.train, tok.pad_id(), /*seed=*/1234, torch::kCPU);
//   Trainer trainer(task, trainer_options);

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/trainer.h"
#include "datasets/labelled_text.h"
#include "datasets/length_batching.h"
#include "models/sentiment/metrics.h"
#include "models/sentiment/model.h"
#include "models/sentiment/sentiment_config.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp::sentiment {

/// Labelled examples encoded for the classifier.
struct EncodedExamples {
  std::vector<std::vector<int>> tokens;  ///< ids per example, 1..max_tokens long
  std::vector<int64_t> lengths;          ///< tokens[i].size()
  std::vector<int64_t> labels;           ///< class index per example
};

/// Encodes `examples`; a label outside `labels` is an InputError naming its file:line.
EncodedExamples encode_examples(const std::vector<LabeledExample>& examples,
                                const SentencePieceTokenizer& tokenizer, const LabelSet& labels,
                                int64_t max_tokens);

/// Class probabilities (N, C) of every example, computed in length-sorted batches, in the
/// examples' order. Runs in eval mode without gradients.
torch::Tensor predict_probabilities(SentimentClassifier& model,
                                    const std::vector<std::vector<int>>& tokens, int64_t pad_id,
                                    int64_t batch_size, torch::Device device);

/// The TrainTask of lstm-sentiment (see the file comment).
class SentimentTask : public TrainTask {
 public:
  SentimentTask(SentimentClassifier model, EncodedExamples train, EncodedExamples dev,
                int64_t num_classes, const SentimentTrainConfig& cfg, int64_t pad_id, uint64_t seed,
                torch::Device device);

  torch::nn::Module& model() override { return *model_; }
  int64_t batches_per_epoch() override;
  void start_epoch(int64_t epoch, int64_t first_batch) override;
  StepResult train_step(int64_t epoch, int64_t index) override;
  EvalResult evaluate() override;
  std::string unit() const override { return "examples"; }

  /// The dev report of the current weights, and in `mean_loss` the mean cross-entropy. With
  /// several processes each scores its share and every rank must call it.
  ClassificationReport dev_report(double* mean_loss = nullptr);

 private:
  SentimentClassifier model_;
  EncodedExamples train_;
  EncodedExamples dev_;
  int64_t num_classes_;
  SentimentTrainConfig cfg_;
  int64_t pad_id_;
  uint64_t seed_;
  torch::Device device_;
  torch::Tensor class_weights_;  // (C) or undefined
  int64_t planned_epoch_ = -1;
  std::vector<std::vector<int64_t>> plan_;
};

}  // namespace lstmnlp::sentiment
