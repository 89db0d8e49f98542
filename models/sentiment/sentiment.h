#pragma once

// lstm-sentiment: training and evaluation of sentiment classifiers.
//
//   auto cfg = config::load<SentimentConfig>("configs/sentiment/sst2.yaml", sets);
//   run_sentiment_train(cfg, {"runs/sst2", /*seed=*/1234, "", torch::kCPU});
//   SentimentCheckpoint ckpt = SentimentCheckpoint::load("runs/sst2", torch::kCPU);
//   auto report = run_sentiment_eval({"runs/sst2", "dev.tsv"}, std::cout);
//
// Training runs on the suite's one loop (core/trainer.h): SentimentTask supplies the model, the
// length-bucketed batches (reshuffled per epoch from (seed, epoch), so a resume is exact) and the
// dev accuracy that picks best.pt and drives early stopping. A run directory holds config.yaml,
// metrics.jsonl, best.pt, latest.pt, spm.model, labels.json and dev_metrics.json; the
// checkpoints carry the tokenizer, the labels and the resolved config, so a checkpoint alone is
// enough for eval and predict.

#include <torch/torch.h>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/trainer.h"
#include "datasets/labelled_text.h"
#include "datasets/length_batching.h"
#include "models/sentiment/metrics.h"
#include "models/sentiment/model.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp {

/// The `data` section.
struct SentimentDataConfig {
  std::string train;                     ///< training file or directory (required)
  std::string dev;                       ///< dev file or directory (required)
  std::string format = "auto";           ///< auto, tsv, csv, jsonl or class_files
  std::string text_column = "sentence";  ///< column or JSON field with the text
  std::string label_column = "label";    ///< column or JSON field with the label
  int64_t max_train_examples = 0;        ///< use only the first N training examples (0 = all)
  int64_t max_tokens = 256;              ///< longer texts keep their first max_tokens pieces

  template <class V>
  void visit(V& v) {
    v("train", train);
    v("dev", dev);
    v("format", format, config::Choices{"auto", "tsv", "csv", "jsonl", "class_files"});
    v("text_column", text_column);
    v("label_column", label_column);
    v("max_train_examples", max_train_examples, config::Range{0, 1e12});
    v("max_tokens", max_tokens, config::Range{1, 1e7});
  }
  LabeledDataFormat reader_format() const { return {format, text_column, label_column}; }
};

/// The `tokenizer` section: an existing SentencePiece model, or how to train one on the
/// training texts.
struct SentimentTokenizerConfig {
  std::string model;                   ///< .model file ("" = train one into the run directory)
  int vocab_size = 8000;               ///< vocabulary size when training
  std::string model_type = "unigram";  ///< unigram, bpe, char or word
  double character_coverage = 0.9995;  ///< SentencePiece character coverage

  template <class V>
  void visit(V& v) {
    v("model", model);
    v("vocab_size", vocab_size, config::Range{8, 1e7});
    v("model_type", model_type, config::Choices{"unigram", "bpe", "char", "word"});
    v("character_coverage", character_coverage, config::Range{0.5, 1.0});
  }
};

/// The `train` section: the shared loop's keys plus batching and class weights.
struct SentimentTrainConfig {
  TrainConfig loop;                    ///< optimizer, schedule, epochs, eval_every, patience, …
  int64_t batch_size = 64;             ///< training examples per step
  int64_t eval_batch_size = 256;       ///< examples per batch at evaluation
  std::string class_weights = "none";  ///< none, or balanced: weight n / (C * count_c)

  SentimentTrainConfig() {
    loop.opt.optimizer = "adam";
    loop.opt.lr = 1e-3;
    loop.loop.epochs = 3;
    loop.loop.clip_norm = 5.0;
  }
  template <class V>
  void visit(V& v) {
    loop.visit(v);
    v("batch_size", batch_size, config::Range{1, 1e7});
    v("eval_batch_size", eval_batch_size, config::Range{1, 1e7});
    v("class_weights", class_weights, config::Choices{"none", "balanced"});
  }
};

/// A whole lstm-sentiment config.
struct SentimentConfig {
  SentimentDataConfig data;
  SentimentTokenizerConfig tokenizer;
  SentimentModelConfig model;
  SentimentTrainConfig train;

  template <class V>
  void visit(V& v) {
    v.section("data", data);
    v.section("tokenizer", tokenizer);
    v.section("model", model);
    v.section("train", train);
  }
};

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

  /// The dev report of the current weights.
  ClassificationReport dev_report();

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

/// A trained classifier restored from a checkpoint: config, tokenizer, labels and weights.
struct SentimentCheckpoint {
  SentimentConfig config;
  SentencePieceTokenizer tokenizer;
  LabelSet labels;
  SentimentClassifier model{nullptr};
  std::string path;  ///< the .pt file it came from

  /// Loads `path`: a .pt file, or a run directory (its best.pt, else latest.pt). The model is
  /// moved to `device` and put in eval mode. Throws InputError for a missing or foreign file.
  static SentimentCheckpoint load(const std::string& path, torch::Device device);
};

/// Options of `lstm-sentiment train` besides the config.
struct SentimentTrainOptions {
  std::string run_dir;      ///< output directory (required)
  uint64_t seed = 1234;     ///< data order and initialisation
  bool seed_given = false;  ///< with resume: use `seed` instead of the checkpoint's
  std::string resume;       ///< checkpoint to resume from ("" = fresh start)
  torch::Device device = torch::kCPU;
};

/// Trains a classifier (training a tokenizer first when the config names none), keeps best.pt,
/// reloads it and writes its dev report to dev_metrics.json; prints progress and the final
/// table to `log`. Returns the best dev report.
ClassificationReport run_sentiment_train(const SentimentConfig& cfg,
                                         const SentimentTrainOptions& options, std::ostream& log);

/// Options of `lstm-sentiment eval`.
struct SentimentEvalOptions {
  std::string checkpoint;  ///< run directory or .pt file (required)
  std::string input;       ///< labelled file or directory (required)
  /// Reader settings; unset fields come from the checkpoint's data config.
  std::optional<std::string> format, text_column, label_column;
  std::string output;  ///< JSON report file ("" = none)
  int64_t batch_size = 256;
  torch::Device device = torch::kCPU;
};

/// Evaluates a checkpoint on a labelled file; prints the table to `out` and returns the report.
/// A label the model was not trained on is an InputError naming its file:line.
ClassificationReport run_sentiment_eval(const SentimentEvalOptions& options, std::ostream& out);

}  // namespace lstmnlp
