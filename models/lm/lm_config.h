#pragma once

// The typed config of `lstm-lm` (see configs/lm/*.yaml):
//
//   data:  {dir: ${LSTM_NLP_DATA}/ptb, batch_size: 20, bptt: 20}
//   vocab: {type: word}
//   model: {lstm: custom, embedding_size: 200, hidden_size: 200, num_layers: 2, init_range: 0.1}
//   train: {optimizer: sgd, lr: 1, lr_schedule: epoch_decay, lr_decay: 0.5, lr_decay_start: 5,
//           epochs: 13, clip_norm: 5}

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/trainer.h"
#include "models/lm/language_model.h"
#include "models/lstm_choices.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp::lm {

/// The kinds of vocabulary (`vocab.type`).
enum class VocabType { kWord, kSentencePiece };
/// Their names in configs.
inline const config::Choices<VocabType> kVocabTypes{{"word", VocabType::kWord},
                                                    {"sentencepiece", VocabType::kSentencePiece}};

/// The SentencePiece models an LM vocabulary may train (`vocab.spm_model_type`).
inline const config::Choices<TokenizerModelType> kLmTokenizerTypes{
    {"unigram", TokenizerModelType::kUnigram},
    {"bpe", TokenizerModelType::kBpe},
    {"char", TokenizerModelType::kChar}};

/// Dropout masks (`model.dropout_type`): standard (fresh per step) or variational (locked).
enum class DropoutType { kStandard, kVariational };
/// Their names in configs.
inline const config::Choices<DropoutType> kDropoutTypes{{"standard", DropoutType::kStandard},
                                                        {"variational", DropoutType::kVariational}};

/// How the loss is averaged for the gradient (`train.loss_average`; see LmTrainConfig).
enum class LossAverage { kSequence, kToken };
/// Their names in configs.
inline const config::Choices<LossAverage> kLossAverages{{"sequence", LossAverage::kSequence},
                                                        {"token", LossAverage::kToken}};

/// Where the text comes from and how it is batched.
struct LmDataConfig {
  std::string dir;               ///< folder with train.txt, valid.txt and test.txt (as PTB ships)
  std::string train;             ///< training file; overrides <dir>/train.txt
  std::string valid;             ///< validation file; overrides <dir>/valid.txt
  std::string test;              ///< test file; overrides <dir>/test.txt
  std::string file;              ///< one text to split by lines instead (e.g. tiny-shakespeare)
  double valid_fraction = 0.05;  ///< share of `file`'s lines for validation (before test)
  double test_fraction = 0.05;   ///< share of `file`'s lines for test (at its end)
  int64_t batch_size = 20;       ///< parallel streams B in training
  int64_t bptt = 35;             ///< truncated-BPTT length T
  int64_t eval_batch_size = 10;  ///< streams when validating during training
  int64_t test_batch_size = 1;   ///< streams when testing (1 = the whole text as one stream)

  template <class V>
  void visit(V& v) {
    v("dir", dir);
    v("train", train);
    v("valid", valid);
    v("test", test);
    v("file", file);
    v("valid_fraction", valid_fraction, config::Range{0.0, 0.5});
    v("test_fraction", test_fraction, config::Range{0.0, 0.5});
    v("batch_size", batch_size, config::Range{1, 1e6});
    v("bptt", bptt, config::Range{1, 1e6});
    v("eval_batch_size", eval_batch_size, config::Range{1, 1e6});
    v("test_batch_size", test_batch_size, config::Range{1, 1e6});
  }
};

/// The vocabulary: words of the training file, or SentencePiece pieces.
struct LmVocabConfig {
  VocabType type = VocabType::kWord;  ///< word or sentencepiece
  int64_t min_count = 1;              ///< word: rarer words map to <unk>
  std::string spm_model;              ///< sentencepiece: an existing .model ("" = train one)
  /// sentencepiece training: unigram, bpe or char
  TokenizerModelType spm_model_type = TokenizerModelType::kUnigram;
  int spm_vocab_size = 8000;            ///< sentencepiece training: vocabulary size
  double spm_character_coverage = 1.0;  ///< sentencepiece training: character coverage

  template <class V>
  void visit(V& v) {
    v("type", type, kVocabTypes);
    v("min_count", min_count, config::Range{1, 1e12});
    v("spm_model", spm_model);
    v("spm_model_type", spm_model_type, kLmTokenizerTypes);
    v("spm_vocab_size", spm_vocab_size, config::Range{8, 1e7});
    v("spm_character_coverage", spm_character_coverage, config::Range{0.5, 1.0});
  }
};

/// The network (see LanguageModelOptions for each key's meaning).
struct LmModelConfig {
  LstmBackend lstm = LstmBackend::kCustom;  ///< custom (lstmnlp::LSTM) or torch (torch::nn::LSTM)
  int64_t embedding_size = 200;
  int64_t hidden_size = 200;
  int64_t num_layers = 2;
  double dropout_embedding = 0.0;
  double dropout_hidden = 0.0;
  double dropout_output = 0.0;
  DropoutType dropout_type = DropoutType::kStandard;  ///< standard or variational (locked)
  bool tie_weights = false;
  double init_range = 0.1;
  bool init_lstm = true;

  template <class V>
  void visit(V& v) {
    v("lstm", lstm, kLstmBackends);
    v("embedding_size", embedding_size, config::Range{1, 1e6});
    v("hidden_size", hidden_size, config::Range{1, 1e6});
    v("num_layers", num_layers, config::Range{1, 1000});
    v("dropout_embedding", dropout_embedding, config::Range{0.0, 0.99});
    v("dropout_hidden", dropout_hidden, config::Range{0.0, 0.99});
    v("dropout_output", dropout_output, config::Range{0.0, 0.99});
    v("dropout_type", dropout_type, kDropoutTypes);
    v("tie_weights", tie_weights);
    v("init_range", init_range, config::Range{1e-6, 10.0});
    v("init_lstm", init_lstm);
  }

  /// The model options for a vocabulary of `vocab_size` tokens.
  LanguageModelOptions options(int64_t vocab_size) const;
};

/// The shared `train` section plus how the loss is averaged for the gradient.
struct LmTrainConfig {
  TrainConfig base;
  /// sequence: the gradient of the loss summed over the T steps and averaged over the B streams
  /// (Zaremba et al.'s TensorFlow code, tuned for lr 1); token: averaged over all T*B tokens
  /// (PyTorch's word_language_model, tuned for lr 20).
  LossAverage loss_average = LossAverage::kSequence;

  template <class V>
  void visit(V& v) {
    base.visit(v);
    v("loss_average", loss_average, kLossAverages);
  }
};

/// The whole config of `lstm-lm`.
struct LmConfig {
  LmDataConfig data;
  LmVocabConfig vocab;
  LmModelConfig model;
  LmTrainConfig train;

  template <class V>
  void visit(V& v) {
    v.section("data", data);
    v.section("vocab", vocab);
    v.section("model", model);
    v.section("train", train);
  }
};

}  // namespace lstmnlp::lm
