#pragma once

// What the commands of `lstm-lm` run (models/lm/lm_commands.h), callable without the command
// line:
//
//   lstm-lm train --config configs/lm/zaremba-small.yaml --output-dir runs/ptb-small
//   lstm-lm eval --checkpoint runs/ptb-small/best.pt --file ${LSTM_NLP_DATA}/ptb/test.txt
//   lstm-lm generate --checkpoint runs/ptb-small/best.pt --prompt "the company said"
//       --length 50 --temperature 0.8 --top-k 40 --seed 7
//   lstm-lm export --checkpoint runs/ptb-small/best.pt --output exported/ptb-small
//   lstm-lm import --state-dict model.pt --vocab vocab.txt --config CFG --output runs/imported
//
// Perplexity is per token; with a SentencePiece vocabulary the per-word perplexity
// exp(total NLL / words, counting one <eos> per line) is reported beside it.
// Words of a prompt or evaluation file that are not in a word vocabulary map to <unk>.

#include <torch/types.h>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/trainer.h"
#include "datasets/lm_corpus.h"
#include "models/lm/generate.h"
#include "models/lm/lm_config.h"
#include "models/lm/lm_task.h"

namespace lstmnlp::lm {

/// The corpora and vocabulary a config names.
struct LmData {
  LmVocabulary vocab;
  Corpus train, valid;
  std::optional<Corpus> test;  ///< absent when the config names no test text
};

/// Reads the corpora of `cfg.data` and builds the vocabulary (a word vocabulary from the training
/// text, a given SentencePiece model, or one trained into `run_dir`/spm.model). With
/// `vocab_override` (e.g. a resumed checkpoint's) that vocabulary is used instead of building one.
/// Throws InputError naming the file for a missing or empty corpus.
LmData load_lm_data(const LmConfig& cfg, const std::string& run_dir,
                    const std::optional<LmVocabulary>& vocab_override = std::nullopt);

/// Options of `lstm-lm train` beyond the config.
struct LmTrainOptions {
  std::string run_dir = "runs/lm";  ///< checkpoints, metrics.jsonl, config.yaml
  std::string resume;               ///< checkpoint to continue from ("" = fresh)
  bool overwrite = false;           ///< replace a run already in run_dir (else refused)
  torch::Device device = torch::kCPU;
  bool test_after = true;  ///< evaluate best.pt on the test text at the end
};

/// Trains a language model with the shared Trainer, then (with test_after) reports the best
/// checkpoint's test perplexity on `log` and in metrics.jsonl. When resuming, the checkpoint's
/// vocabulary must equal the one the config yields: otherwise InputError names both.
TrainSummary run_lm_train(const LmConfig& cfg, const LmTrainOptions& options, std::ostream& log);

/// A language model restored from a checkpoint, with its config and vocabulary.
struct LoadedLm {
  LmConfig config;
  LmVocabulary vocab;
  LmTrainModule module;
};

/// Loads a checkpoint written by `lstm-lm train` onto `device`. Throws InputError naming the file
/// when it is missing, not an LM checkpoint, or its tensors do not match its vocabulary.
LoadedLm load_lm(const std::string& checkpoint, torch::Device device = torch::kCPU);

/// Options of `lstm-lm eval`.
struct LmEvalOptions {
  std::string checkpoint;  ///< required
  std::string file;        ///< text to score ("" = the config's test text)
  int64_t batch_size = 0;  ///< streams (0 = the config's data.test_batch_size)
  int64_t bptt = 0;        ///< steps per forward call (0 = the config's data.bptt)
  torch::Device device = torch::kCPU;
};

/// Scores a text with a checkpoint and prints one JSON line (file, loss, ppl, tokens and, for
/// subword vocabularies, word_ppl and words) to `out`.
Perplexity run_lm_eval(const LmEvalOptions& options, std::ostream& out);

/// Options of `lstm-lm generate`.
struct LmGenerateOptions {
  std::string checkpoint;  ///< required
  std::string prompt;      ///< text to continue ("" = start a new line)
  int64_t length = 100;    ///< tokens to sample
  SamplingOptions sampling;
  uint64_t seed = 1234;
  torch::Device device = torch::kCPU;
};

/// Prints the prompt (as the vocabulary reads it: unknown words show as <unk>) and then streams
/// the sampled continuation to `out`, flushing after each token. Notes about unknown prompt words
/// go to `log`. Returns the whole printed text.
std::string run_lm_generate(const LmGenerateOptions& options, std::ostream& out, std::ostream& log);

/// Options of `lstm-lm export`.
struct LmExportOptions {
  std::string checkpoint;  ///< required
  std::string output_dir;  ///< required; created when absent
  bool overwrite = false;  ///< replace an export already in output_dir (else refused)
};

/// Writes a checkpoint for PyTorch's word_language_model example (models/lm/lm_interop.h):
/// `model.pt` (a state_dict of RNNModel's names, which plain torch.load reads), `vocab.txt` (the
/// words, or the SentencePiece pieces, one per line in id order), `config.yaml` (the resolved
/// config, for `import`), `spm.model` (SentencePiece vocabularies only) and `README.md` (the
/// RNNModel arguments and a Python snippet that loads it). Returns the README's text.
std::string run_lm_export(const LmExportOptions& options, std::ostream& log);

/// Options of `lstm-lm import`.
struct LmImportOptions {
  std::string state_dict;  ///< required: torch.save(model.state_dict()) of an RNNModel('LSTM', ...)
  std::string vocab;       ///< required: one word (or piece) per line, in id order
  std::string run_dir;     ///< required: where best.pt and config.yaml go
  bool overwrite = false;  ///< replace a run already in run_dir (else refused)
};

/// Makes an lstm-lm checkpoint, `run_dir`/best.pt, from an RNNModel state_dict, with the model
/// sizes of `cfg.model` and the vocabulary of `options.vocab` (with `vocab.type: sentencepiece`,
/// the pieces of `vocab.spm_model`, which the file must list). It holds no optimizer state, so it
/// serves eval and generate, not --resume. Throws InputError naming the file and the tensor for
/// missing or unexpected keys, wrong shapes, or a vocabulary whose size is not encoder.weight's.
void run_lm_import(const LmConfig& cfg, const LmImportOptions& options, std::ostream& log);

}  // namespace lstmnlp::lm
