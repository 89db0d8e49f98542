#pragma once

// Training the reader with the shared Trainer (core/trainer.h): length-bucketed batches of
// questions (reshuffled per epoch from (seed, epoch), so a resume is exact), the start + end
// cross-entropy, and the official EM/F1 on dev, which picks best.pt.
//
//   QaTask task(reader, std::move(train), std::move(dev), dev_data, cfg, pad_id, seed, device);
//   Trainer trainer(task, options);
//   trainer.run();

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/trainer.h"
#include "datasets/squad.h"
#include "datasets/squad_features.h"
#include "models/qa/qa_config.h"
#include "models/qa/qa_metric.h"
#include "models/qa/qa_model.h"

namespace lstmnlp::qa {

/// The best spans of one question, best first.
struct QaPrediction {
  std::string id;
  std::vector<QaSpan> spans;
  std::vector<std::string> texts;  ///< the original context text of each span
};

/// Part `index` of `parts` equal contiguous parts of a set: one process's share of the work.
struct Share {
  int index = 0;
  int parts = 1;
};

/// Called after every batch of predict_spans() with the questions answered so far; it may throw
/// to stop early (lstm-qa predict stops there on a signal).
using AfterBatch = std::function<void(int64_t answered)>;

/// Predicts the `nbest` best spans of every question of `data` in `share` (in order; the
/// default share is all of them), in eval mode without gradients, in batches of similar context
/// length.
std::vector<QaPrediction> predict_spans(QaReader& reader, const SquadEncoding& data, int64_t pad_id,
                                        int64_t batch_size, int64_t max_answer_tokens,
                                        int64_t nbest = 1, Share share = {},
                                        const AfterBatch& after_batch = nullptr);

/// Question id -> best answer text.
std::map<std::string, std::string> best_answers(const std::vector<QaPrediction>& predictions);

/// The first `questions` questions of `data` as a dataset of their own (0 = all).
SquadDataset first_questions(const SquadDataset& data, int64_t questions);

/// The TrainTask of lstm-qa (see the file comment).
class QaTask : public TrainTask {
 public:
  /// `dev_data` holds the dev questions' ground truths in the order `dev` encodes them.
  QaTask(QaReader reader, SquadEncoding train, SquadEncoding dev, SquadDataset dev_data,
         const QaConfig& cfg, int64_t pad_id, uint64_t seed, torch::Device device);

  torch::nn::Module& model() override { return *reader_; }
  int64_t batches_per_epoch() override;
  void start_epoch(int64_t epoch, int64_t first_batch) override;
  StepResult train_step(int64_t epoch, int64_t index) override;
  EvalResult evaluate() override;
  std::string unit() const override { return "examples"; }

 private:
  QaReader reader_;
  SquadEncoding train_;
  SquadEncoding dev_;
  SquadDataset dev_data_;
  QaConfig cfg_;
  int64_t pad_id_;
  uint64_t seed_;
  torch::Device device_;
  std::vector<int64_t> train_lengths_;
  int64_t planned_epoch_ = -1;
  std::vector<std::vector<int64_t>> plan_;
};

}  // namespace lstmnlp::qa
