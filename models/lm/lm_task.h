#pragma once

// Training a language model with the shared Trainer (core/trainer.h): the model with its carried
// hidden state, the data and the perplexity metric.
//
//   LmTask task(cfg, vocab, train_corpus, valid_corpus, torch::kCPU);
//   Trainer trainer(task, {run_dir, cfg.train.base, resolved_yaml, "lm", ...});
//   trainer.run();

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/trainer.h"
#include "datasets/lm_corpus.h"
#include "models/lm/language_model.h"
#include "models/lm/lm_config.h"

namespace lstmnlp::lm {

/// What a checkpoint holds: the model ("model.*") and the hidden state carried between training
/// batches as buffers `state_h` and `state_c`, each (L, batch_size, H), so that a resumed run
/// continues mid-epoch with exactly the state it stopped with. A run of W processes carries all
/// W * batch_size streams, each rank training its own batch_size of them.
class LmTrainModuleImpl : public torch::nn::Module {
 public:
  LmTrainModuleImpl(const LanguageModelOptions& options, int64_t batch_size);

  LanguageModel model{nullptr};
  torch::Tensor state_h;
  torch::Tensor state_c;
};

/// A ModuleHolder for LmTrainModuleImpl.
TORCH_MODULE(LmTrainModule);

/// Negative log-likelihood of a corpus.
struct Perplexity {
  double nll = 0;      ///< summed over the predicted tokens (nats)
  int64_t tokens = 0;  ///< predicted tokens
  double words = 0;    ///< words (with one <eos> per line) the predicted tokens cover
  double loss() const { return nll / static_cast<double>(tokens); }
  /// exp(nll / tokens).
  double token_ppl() const;
  /// exp(nll / words); equals token_ppl() for word vocabularies.
  double word_ppl() const;
  /// {"loss", "ppl", "tokens"} and, when `subword`, {"word_ppl", "words"}.
  nlohmann::json to_json(bool subword) const;
};

/// Evaluates `model` (in eval mode, without gradients) on `corpus` split into `batch_size`
/// streams, running `bptt` steps at a time and carrying the state. With batch_size 1 every token
/// of the text is predicted; with B streams the first token of each stream and the last
/// N % B tokens are not, and `words` is scaled by the share of tokens predicted. In a run of
/// several processes (core/distributed.h) each rank scores its share of the streams and the sums
/// are added up, so every rank gets the figures of one process.
Perplexity evaluate_perplexity(LanguageModel& model, const Corpus& corpus, int64_t batch_size,
                               int64_t bptt);

/// The language model's side of training; see the file comment.
class LmTask : public TrainTask {
 public:
  /// Builds the model from `cfg.model` for `vocab` on `device` (the global RNG initialises it).
  LmTask(const LmConfig& cfg, const LmVocabulary& vocab, const Corpus& train, const Corpus& valid,
         torch::Device device = torch::kCPU);

  torch::nn::Module& model() override { return *module_; }
  int64_t batches_per_epoch() override;
  void start_epoch(int64_t epoch, int64_t first_batch) override;
  StepResult train_step(int64_t epoch, int64_t index) override;
  EvalResult evaluate() override;
  void describe_train(double mean_loss, nlohmann::json& record) override;
  void gather_state() override;

  LmTrainModule& module() { return module_; }
  /// The mean loss per token of every training step taken, in order (for tests).
  const std::vector<double>& losses() const { return losses_; }

 private:
  LmConfig cfg_;
  bool subword_;
  LmTrainModule module_{nullptr};
  torch::Tensor train_data_;  // (R, B) on the device: this rank's B of the W * B streams
  int64_t first_stream_ = 0;  // this rank's first stream in the state buffers
  Corpus valid_;
  std::vector<double> losses_;
};

}  // namespace lstmnlp::lm
