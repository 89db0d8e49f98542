#pragma once

// The typed config of `lstm-sentiment` (see configs/sentiment/sst2.yaml):
//
//   data:      {train: ${LSTM_NLP_DATA}/sst2/train.tsv, dev: ${LSTM_NLP_DATA}/sst2/dev.tsv}
//   tokenizer: {vocab_size: 8000, model_type: unigram}
//   model:     {embedding_dim: 200, hidden_size: 200, num_layers: 2, bidirectional: true}
//   train:     {optimizer: adam, lr: 0.002, epochs: 5, batch_size: 64, clip_norm: 5}

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/trainer.h"
#include "datasets/labelled_text.h"
#include "models/lstm_choices.h"
#include "tokenization/tokenizer_choices.h"

namespace lstmnlp::sentiment {

/// How the LSTM's outputs become one vector per text (`model.pooling`).
enum class Pooling {
  kLast,       ///< the last layer's final states
  kMax,        ///< the maximum over the real steps
  kMean,       ///< the mean over the real steps
  kAttention,  ///< a learned attention over the real steps
};
/// Their names in configs.
inline const config::Choices<Pooling> kPoolings{{"last", Pooling::kLast},
                                                {"max", Pooling::kMax},
                                                {"mean", Pooling::kMean},
                                                {"attention", Pooling::kAttention}};

/// How training weighs the classes (`train.class_weights`).
enum class ClassWeights {
  kNone,      ///< every example alike
  kBalanced,  ///< class c weighs n / (C * count_c)
};
/// Their names in configs.
inline const config::Choices<ClassWeights> kClassWeights{{"none", ClassWeights::kNone},
                                                         {"balanced", ClassWeights::kBalanced}};

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
  std::string model;      ///< .model file ("" = train one into the run directory)
  int vocab_size = 8000;  ///< vocabulary size when training
  /// unigram, bpe, char or word
  TokenizerModelType model_type = TokenizerModelType::kUnigram;
  double character_coverage = 0.9995;  ///< SentencePiece character coverage

  template <class V>
  void visit(V& v) {
    v("model", model);
    v("vocab_size", vocab_size, config::Range{8, 1e7});
    v("model_type", model_type, kTokenizerModelTypes);
    v("character_coverage", character_coverage, config::Range{0.5, 1.0});
  }
};

/// The `model` section of a sentiment config.
struct SentimentModelConfig {
  int64_t embedding_dim = 300;              ///< embedding size (E)
  int64_t hidden_size = 256;                ///< LSTM hidden size per direction (H)
  int64_t num_layers = 1;                   ///< stacked LSTM layers
  bool bidirectional = true;                ///< run each layer in both directions (D = 2)
  LstmBackend lstm = LstmBackend::kCustom;  ///< custom (lstmnlp::LSTM) or torch (torch::nn::LSTM)
  Pooling pooling = Pooling::kMax;          ///< last, max, mean or attention
  double dropout = 0.5;                     ///< before the classifier and between LSTM layers
  double embedding_dropout = 0.0;           ///< dropout on the embeddings
  double forget_bias = 0.0;      ///< added to the forget-gate bias at init (custom LSTM only)
  int64_t attention_size = 128;  ///< hidden size of the attention scorer (pooling: attention)

  template <class V>
  void visit(V& v) {
    v("embedding_dim", embedding_dim, config::Range{1, 1e5});
    v("hidden_size", hidden_size, config::Range{1, 1e5});
    v("num_layers", num_layers, config::Range{1, 16});
    v("bidirectional", bidirectional);
    v("lstm", lstm, kLstmBackends);
    v("pooling", pooling, kPoolings);
    v("dropout", dropout, config::Range{0.0, 1.0});
    v("embedding_dropout", embedding_dropout, config::Range{0.0, 1.0});
    v("forget_bias", forget_bias, config::Range{-10.0, 10.0});
    v("attention_size", attention_size, config::Range{1, 1e5});
  }
};

/// The `train` section: the shared loop's keys plus batching and class weights.
struct SentimentTrainConfig {
  TrainConfig base;               ///< optimizer, schedule, epochs, eval_every, patience, …
  int64_t batch_size = 64;        ///< training examples per step
  int64_t eval_batch_size = 256;  ///< examples per batch at evaluation
  ClassWeights class_weights = ClassWeights::kNone;  ///< none or balanced

  SentimentTrainConfig() {
    base.opt.optimizer = Optimizer::kAdam;
    base.opt.lr = 1e-3;
    base.loop.epochs = 3;
    base.loop.clip_norm = 5.0;
  }
  template <class V>
  void visit(V& v) {
    base.visit(v);
    v("batch_size", batch_size, config::Range{1, 1e7});
    v("eval_batch_size", eval_batch_size, config::Range{1, 1e7});
    v("class_weights", class_weights, kClassWeights);
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

}  // namespace lstmnlp::sentiment
