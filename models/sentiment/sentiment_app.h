#pragma once

// What the train and eval commands of `lstm-sentiment` run (models/sentiment/sentiment_commands.h;
// predict is models/sentiment/predict.h), callable without the command line.
//
//   auto cfg = config::load<SentimentConfig>("configs/sentiment/sst2.yaml", sets);
//   run_sentiment_train(cfg, {"runs/sst2", /*seed=*/1234, "", torch::kCPU});
//   SentimentCheckpoint ckpt = SentimentCheckpoint::load("runs/sst2", torch::kCPU);
//   auto report = run_sentiment_eval({"runs/sst2", "dev.tsv"}, std::cout);
//
// Training runs on the suite's one loop (core/trainer.h) with SentimentTask
// (models/sentiment/sentiment_task.h). A run directory holds config.yaml,
// metrics.jsonl, best.pt, latest.pt, spm.model, labels.json and dev_metrics.json; the
// checkpoints carry the tokenizer, the labels and the resolved config, so a checkpoint alone is
// enough for eval and predict.

#include <torch/torch.h>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "datasets/labelled_text.h"
#include "models/sentiment/metrics.h"
#include "models/sentiment/model.h"
#include "models/sentiment/sentiment_config.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp::sentiment {

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
  bool overwrite = false;   ///< replace a run already in run_dir (else refused)
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

/// Options of `lstm-sentiment export`.
struct SentimentExportOptions {
  std::string checkpoint;  ///< run directory or .pt file (required)
  std::string output_dir;  ///< required; created when absent
  bool overwrite = false;  ///< replace an export already in output_dir (else refused)
};

/// Writes a checkpoint for PyTorch with scripts/python/lstm_nlp.py's SentimentClassifier:
/// `model.pt` (a state_dict of our parameter names, which plain torch.load reads), `spm.model`,
/// `labels.txt` (one label per line, in class order), `config.json` (the module's arguments,
/// labels and max_tokens), `config.yaml` (our config, for import) and `README.md`. Returns the
/// README's text.
std::string run_sentiment_export(const SentimentExportOptions& options, std::ostream& log);

/// Options of `lstm-sentiment import`.
struct SentimentImportOptions {
  std::string state_dict;  ///< required: a state_dict of lstm_nlp.SentimentClassifier
  std::string tokenizer;   ///< required: its SentencePiece model
  std::string labels;      ///< required: the labels, one per line in class order
  std::string run_dir;     ///< required: where best.pt, config.yaml, spm.model and labels.json go
  bool overwrite = false;  ///< replace a run already in run_dir (else refused)
};

/// Makes an lstm-sentiment checkpoint, `run_dir`/best.pt, from a state_dict with the model of
/// `cfg.model`, for eval and predict (it holds no optimizer state, so not for --resume). Throws
/// InputError naming the file and the tensor for missing or unexpected keys, wrong shapes, or an
/// embedding whose rows are not the tokenizer's pieces.
void run_sentiment_import(const SentimentConfig& cfg, const SentimentImportOptions& options,
                          std::ostream& log);

}  // namespace lstmnlp::sentiment
