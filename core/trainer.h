#pragma once

// The one training loop of the suite, shared by lstm-lm, lstm-sentiment and later apps.
//
// An app supplies a TrainTask (its model, its data and its metric); the Trainer owns epochs and
// steps, the optimizer and its learning-rate schedule, gradient clipping, periodic evaluation,
// best and latest checkpoints, exact resume, the NaN guard, metrics.jsonl and progress output.
//
//   LmTask task(cfg);
//   Trainer trainer(task, {run_dir, cfg.train, resolved_yaml, "lm"});
//   TrainSummary summary = trainer.run();

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/config.h"

namespace lstmnlp {

/// Optimizer and learning-rate schedule (the `train` section of app configs).
struct OptimizerConfig {
  std::string optimizer = "sgd";  ///< sgd, adam or adamw
  double lr = 1.0;                ///< initial learning rate
  double momentum = 0.0;          ///< SGD momentum
  double weight_decay = 0.0;      ///< L2 (sgd, adam) or decoupled (adamw) weight decay
  double beta1 = 0.9;             ///< Adam beta1
  double beta2 = 0.999;           ///< Adam beta2
  /// constant; epoch_decay: lr *= lr_decay each epoch from lr_decay_start (Zaremba et al.);
  /// linear: warm up over warmup_steps, then decay linearly to 0 at the last step; plateau:
  /// lr *= lr_decay after every evaluation that does not improve on the best (PyTorch's
  /// word_language_model example anneals so, by 1/4).
  std::string lr_schedule = "constant";
  double lr_decay = 1.0;     ///< factor per epoch (epoch_decay) or per plateau
  int lr_decay_start = 1;    ///< first epoch (1-based) whose lr is decayed
  int64_t warmup_steps = 0;  ///< linear warm-up steps

  template <class V>
  void visit(V& v) {
    v("optimizer", optimizer, config::Choices{"sgd", "adam", "adamw"});
    v("lr", lr, config::Range{0.0, 1e3});
    v("momentum", momentum, config::Range{0.0, 1.0});
    v("weight_decay", weight_decay, config::Range{0.0, 10.0});
    v("beta1", beta1, config::Range{0.0, 1.0});
    v("beta2", beta2, config::Range{0.0, 1.0});
    v("lr_schedule", lr_schedule, config::Choices{"constant", "epoch_decay", "linear", "plateau"});
    v("lr_decay", lr_decay, config::Range{0.0, 1.0});
    v("lr_decay_start", lr_decay_start, config::Range{1, 1e6});
    v("warmup_steps", warmup_steps, config::Range{0, 1e12});
  }
};

/// Loop settings (also in the `train` section).
struct LoopConfig {
  int epochs = 10;          ///< passes over the training data
  int64_t max_steps = 0;    ///< stop after this many optimizer steps (0 = no limit)
  double clip_norm = 0.0;   ///< clip the global gradient norm to this (0 = off)
  int64_t log_every = 100;  ///< steps between train records in metrics.jsonl
  int64_t eval_every = 0;   ///< steps between evaluations (0 = at each epoch's end only)
  int64_t save_every = 0;   ///< steps between latest.pt saves (0 = at evaluations only)
  int patience = 0;         ///< stop after this many evaluations without improvement (0 = off)
  /// Keep an exponential moving average of the weights with this decay per step (e.g. 0.999,
  /// about the last 1,000 steps); evaluations and best.pt then use the averaged weights, while
  /// training goes on from the raw ones (0 = off).
  double ema_decay = 0.0;

  template <class V>
  void visit(V& v) {
    v("epochs", epochs, config::Range{1, 1e6});
    v("max_steps", max_steps, config::Range{0, 1e12});
    v("clip_norm", clip_norm, config::Range{0.0, 1e6});
    v("log_every", log_every, config::Range{1, 1e12});
    v("eval_every", eval_every, config::Range{0, 1e12});
    v("save_every", save_every, config::Range{0, 1e12});
    v("patience", patience, config::Range{0, 1e6});
    v("ema_decay", ema_decay, config::Range{0.0, 0.999999});
  }
};

/// The `train` section: optimizer and loop keys side by side.
struct TrainConfig {
  OptimizerConfig opt;
  LoopConfig loop;
  template <class V>
  void visit(V& v) {
    opt.visit(v);
    loop.visit(v);
  }
};

/// What one training step reports.
struct StepResult {
  double loss_sum = 0;  ///< summed loss over the step's units (e.g. NLL over tokens)
  int64_t units = 0;    ///< tokens or examples in the step
};

/// What an evaluation reports.
struct EvalResult {
  nlohmann::json metrics;  ///< e.g. {"loss":…, "ppl":…} or {"accuracy":…}
  double score = 0;        ///< the number that picks the best checkpoint
  bool higher_is_better = true;
};

/// An app's side of training.
class TrainTask {
 public:
  virtual ~TrainTask() = default;
  /// The model whose parameters are trained and checkpointed (buffers are saved too).
  virtual torch::nn::Module& model() = 0;
  /// Number of batches in epoch `epoch` (0-based).
  virtual int64_t batches_per_epoch() = 0;
  /// Called before each epoch's first batch: `first_batch` is 0, or the batch a resumed run
  /// continues from (state carried across batches, e.g. an LM's hidden state, is then kept).
  virtual void start_epoch(int64_t epoch, int64_t first_batch) {}
  /// Runs forward and backward for batch `index` of `epoch` (gradients are zeroed before).
  virtual StepResult train_step(int64_t epoch, int64_t index) = 0;
  /// Evaluates on held-out data (in eval mode, without gradients).
  virtual EvalResult evaluate() = 0;
  /// Adds task metrics to a train record, e.g. perplexity from the mean loss.
  virtual void describe_train(double mean_loss, nlohmann::json& record) {}
  /// The unit counted in progress and throughput ("tokens" or "examples").
  virtual std::string unit() const { return "tokens"; }
};

/// Where a run lives and what its checkpoints carry.
struct TrainerOptions {
  std::string run_dir;          ///< checkpoints, metrics.jsonl and config.yaml go here
  TrainConfig train;            ///< optimizer and loop settings
  std::string config_yaml;      ///< resolved config, stored in checkpoints
  std::string kind;             ///< app name stored in checkpoints ("lm", "sentiment")
  std::string tokenizer_model;  ///< serialized tokenizer, stored in checkpoints
  std::string extra;            ///< app state stored in checkpoints (e.g. the vocabulary)
  std::string resume;           ///< checkpoint to resume from ("" = fresh start)
};

/// How a run ended.
struct TrainSummary {
  int64_t steps = 0;
  int64_t epochs_completed = 0;
  std::optional<EvalResult> best;  ///< best evaluation (its checkpoint is best.pt)
  std::optional<EvalResult> last;  ///< last evaluation
  double train_seconds = 0;
  double units_per_s = 0;
  std::string stop_reason;  ///< "epochs", "max_steps" or "early_stopping"
};

/// Builds the optimizer that `cfg` names over `params`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const OptimizerConfig& cfg);

/// The learning rate of `cfg`'s schedule at (0-based) `epoch` and `step` of `total_steps` (for
/// plateau, cfg.lr: the Trainer applies the decays, which depend on the evaluations).
double scheduled_lr(const OptimizerConfig& cfg, int64_t epoch, int64_t step, int64_t total_steps);

/// Runs a TrainTask to completion.
class Trainer {
 public:
  Trainer(TrainTask& task, TrainerOptions options);
  TrainSummary run();

 private:
  void save(const std::string& name);
  void set_lr(double lr);
  int64_t total_steps();
  void update_average();
  /// Swaps the model's parameters with the moving average (a second call swaps them back).
  void swap_average();

  TrainTask& task_;
  TrainerOptions options_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t step_ = 0;
  int64_t epoch_ = 0;
  int64_t batch_ = 0;  // next batch within epoch_
  std::optional<EvalResult> best_;
  int evals_without_improvement_ = 0;
  double lr_scale_ = 1.0;  // the plateau schedule's decays so far
  std::vector<torch::Tensor> average_;  // moving average of the parameters (train.ema_decay)
  bool average_swapped_in_ = false;     // the model holds the average, average_ the raw weights
};

}  // namespace lstmnlp
