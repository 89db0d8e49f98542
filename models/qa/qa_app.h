#pragma once

// What the commands of `lstm-qa` run (models/qa/qa_commands.h), callable without the command
// line:
//
//   auto cfg = config::load<QaConfig>("configs/qa/squad.yaml", sets);
//   run_qa_train(cfg, {"runs/squad"}, std::cerr);
//   run_qa_predict({"runs/squad", "dev-v1.1.json", "predictions.json"}, std::cerr);
//   run_qa_eval({"dev-v1.1.json", "predictions.json"}, std::cout);
//
// A run directory holds config.yaml, metrics.jsonl, best.pt, latest.pt, spm.model,
// dev_predictions.json (best.pt's answers to the whole dev set) and dev_metrics.json. The
// checkpoints carry the tokenizer and the resolved config, so a checkpoint alone answers
// questions.

#include <torch/torch.h>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "models/qa/qa_config.h"
#include "models/qa/qa_metric.h"
#include "models/qa/qa_model.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp::qa {

/// A trained reader restored from a checkpoint.
struct QaCheckpoint {
  QaConfig config;
  SentencePieceTokenizer tokenizer;
  QaReader reader{nullptr};
  std::string path;  ///< the .pt file it came from

  /// Loads `path`: a .pt file, or a run directory (its best.pt, else latest.pt), onto `device`
  /// in eval mode. Throws InputError for a missing file or another app's checkpoint.
  static QaCheckpoint load(const std::string& path, torch::Device device);
};

/// Options of `lstm-qa train` besides the config.
struct QaTrainOptions {
  std::string run_dir;      ///< output directory (required)
  uint64_t seed = 1234;     ///< data order and initialisation
  bool seed_given = false;  ///< with resume: use `seed` instead of the checkpoint's
  std::string resume;       ///< checkpoint to resume from ("" = fresh start)
  bool overwrite = false;   ///< replace a run already in run_dir (else refused)
  torch::Device device = torch::kCPU;
};

/// Trains a reader (and first a tokenizer when the config names none), then reloads best.pt,
/// answers the whole dev set with it and writes dev_predictions.json and dev_metrics.json.
/// Returns the official score of best.pt on dev.
SquadScore run_qa_train(const QaConfig& cfg, const QaTrainOptions& options, std::ostream& log);

/// Options of `lstm-qa predict`.
struct QaPredictOptions {
  std::string checkpoint;    ///< run directory or .pt file (required)
  std::string data;          ///< SQuAD JSON whose questions to answer (required)
  std::string output;        ///< predictions JSON {"id": "answer"} (required)
  int64_t nbest = 1;         ///< > 1: also write the nbest spans with scores to nbest_output
  std::string nbest_output;  ///< "" = the output's name with .nbest.json
  int64_t batch_size = 64;
  torch::Device device = torch::kCPU;
};

/// Answers every question of a SQuAD file and writes the official prediction JSON (atomically;
/// the output may not be the data file). Returns the number of questions answered.
int64_t run_qa_predict(const QaPredictOptions& options, std::ostream& log);

/// Options of `lstm-qa eval`.
struct QaEvalOptions {
  std::string data;         ///< SQuAD v1.1 JSON with the ground truths (required)
  std::string predictions;  ///< predictions JSON (required)
};

/// Scores predictions with the official v1.1 metric: prints a table, then the JSON line that
/// evaluate-v1.1.py prints, to `out`; notes (version, unanswered questions) go to `log`.
SquadScore run_qa_eval(const QaEvalOptions& options, std::ostream& out, std::ostream& log);

/// Options of `lstm-qa answer`.
struct QaAnswerOptions {
  std::string checkpoint;  ///< run directory or .pt file (required)
  std::string context;     ///< a text file holding the passage (required)
  std::string question;    ///< "" = read questions from `in`, one per line
  torch::Device device = torch::kCPU;
};

/// Answers questions about one passage: prints each answer, its probability and the sentence it
/// came from to `out`.
void run_qa_answer(const QaAnswerOptions& options, std::istream& in, std::ostream& out);

/// Options of `lstm-qa profile`.
struct QaProfileOptions {
  std::string checkpoint;  ///< run directory or .pt file (required): the model and its config
  std::string data;        ///< SQuAD JSON to draw training batches from ("" = the config's train)
  int64_t steps = 20;      ///< training steps to time (after 2 warm-up steps)
  torch::Device device = torch::kCPU;
};

/// Times training steps of a checkpoint's model on its config's batches and prints where a step's
/// time goes: batch building, each stage's forward and backward (QaReaderImpl::profile), the whole
/// forward and backward, clipping and the optimizer step. The weights are not saved.
void run_qa_profile(const QaProfileOptions& options, std::ostream& out);

}  // namespace lstmnlp::qa
