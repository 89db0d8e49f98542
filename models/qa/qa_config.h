#pragma once

// The typed config of `lstm-qa` (see configs/qa/squad.yaml):
//
//   data:      {train: ${LSTM_NLP_DATA}/squad/train-v1.1.reconstructed.json,
//               dev: ${LSTM_NLP_DATA}/squad/dev-v1.1.json, max_context_tokens: 400}
//   tokenizer: {vocab_size: 16000}
//   model:     {embedding_dim: 128, hidden_size: 128, context_layers: 3, question_layers: 3}
//   decode:    {max_answer_tokens: 15}
//   train:     {optimizer: adam, lr: 0.002, batch_size: 32, epochs: 10, ema_decay: 0.999}

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/trainer.h"
#include "models/lstm_choices.h"
#include "tokenization/tokenizer_choices.h"

namespace lstmnlp::qa {

/// The `data` section.
struct QaDataConfig {
  std::string train;  ///< SQuAD JSON for training (required for train)
  std::string dev;    ///< SQuAD JSON scored at every evaluation (required for train)
  /// Training contexts keep their first max_context_tokens pieces; questions whose answer ends
  /// beyond them are left out of that step's loss and counted in the log. Evaluation, predict and
  /// answer read whole contexts (the LSTM takes any length), so no answer is cut off there.
  int64_t max_context_tokens = 400;
  int64_t max_question_tokens = 64;  ///< longer questions keep their first pieces
  int64_t max_train_questions = 0;   ///< use only the first N training questions (0 = all)
  /// Evaluate on the first N dev questions only (0 = all; best.pt is then chosen on the whole
  /// official dev set, as the figures it reports are).
  int64_t eval_questions = 0;
  /// A TSV file (with a header) whose first column lists training question ids to leave out,
  /// e.g. ${LSTM_NLP_DATA}/squad/ambiguous_answer_starts.tsv ("" = none).
  std::string exclude_ids;

  template <class V>
  void visit(V& v) {
    v("train", train);
    v("dev", dev);
    v("max_context_tokens", max_context_tokens, config::Range{0, 1e7});
    v("max_question_tokens", max_question_tokens, config::Range{1, 1e5});
    v("max_train_questions", max_train_questions, config::Range{0, 1e12});
    v("eval_questions", eval_questions, config::Range{0, 1e12});
    v("exclude_ids", exclude_ids);
  }
};

/// The `tokenizer` section: an existing SentencePiece model, or one trained on the training
/// contexts and questions.
struct QaTokenizerConfig {
  std::string model;       ///< .model file ("" = train one into the run directory)
  int vocab_size = 16000;  ///< vocabulary size when training
  TokenizerModelType model_type = TokenizerModelType::kUnigram;  ///< unigram, bpe, char or word
  double character_coverage = 0.9995;  ///< SentencePiece character coverage

  template <class V>
  void visit(V& v) {
    v("model", model);
    v("vocab_size", vocab_size, config::Range{8, 1e7});
    v("model_type", model_type, kTokenizerModelTypes);
    v("character_coverage", character_coverage, config::Range{0.5, 1.0});
  }
};

/// The `model` section: a DrQA-style reader (Chen et al. 2017).
struct QaModelConfig {
  LstmBackend lstm = LstmBackend::kCustom;  ///< custom (lstmnlp::LSTM) or torch::nn::LSTM
  int64_t embedding_dim = 128;              ///< subword embeddings, trained from scratch
  int64_t hidden_size = 128;                ///< per direction, in every BiLSTM layer
  int64_t context_layers = 3;               ///< stacked BiLSTM layers over the passage
  int64_t question_layers = 3;              ///< stacked BiLSTM layers over the question
  bool concat_layers = true;       ///< the encoders output every layer's states, concatenated
  bool aligned_embedding = true;   ///< attention of each context piece over the question pieces
  bool match_features = true;      ///< exact-match and term-frequency features
  double embedding_dropout = 0.3;  ///< on the embeddings
  double dropout = 0.3;            ///< on every BiLSTM layer's input

  template <class V>
  void visit(V& v) {
    v("lstm", lstm, kLstmBackends);
    v("embedding_dim", embedding_dim, config::Range{1, 1e5});
    v("hidden_size", hidden_size, config::Range{1, 1e5});
    v("context_layers", context_layers, config::Range{1, 16});
    v("question_layers", question_layers, config::Range{1, 16});
    v("concat_layers", concat_layers);
    v("aligned_embedding", aligned_embedding);
    v("match_features", match_features);
    v("embedding_dropout", embedding_dropout, config::Range{0.0, 0.99});
    v("dropout", dropout, config::Range{0.0, 0.99});
  }
};

/// The `decode` section.
struct QaDecodeConfig {
  /// The best span with start <= end < start + max_answer_tokens (DrQA and BiDAF use 15).
  int64_t max_answer_tokens = 15;

  template <class V>
  void visit(V& v) {
    v("max_answer_tokens", max_answer_tokens, config::Range{1, 1e5});
  }
};

/// The `train` section: the shared loop's keys plus batching.
struct QaTrainConfig {
  TrainConfig base;              ///< optimizer, schedule, epochs, eval_every, ema_decay, …
  int64_t batch_size = 32;       ///< questions per step
  int64_t eval_batch_size = 64;  ///< questions per batch at evaluation

  QaTrainConfig() {
    base.opt.optimizer = Optimizer::kAdam;
    base.opt.lr = 2e-3;
    base.loop.epochs = 10;
    base.loop.clip_norm = 10.0;
  }
  template <class V>
  void visit(V& v) {
    base.visit(v);
    v("batch_size", batch_size, config::Range{1, 1e7});
    v("eval_batch_size", eval_batch_size, config::Range{1, 1e7});
  }
};

/// The whole config of `lstm-qa`.
struct QaConfig {
  QaDataConfig data;
  QaTokenizerConfig tokenizer;
  QaModelConfig model;
  QaDecodeConfig decode;
  QaTrainConfig train;

  template <class V>
  void visit(V& v) {
    v.section("data", data);
    v.section("tokenizer", tokenizer);
    v.section("model", model);
    v.section("decode", decode);
    v.section("train", train);
  }
};

}  // namespace lstmnlp::qa
