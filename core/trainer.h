#pragma once

// The one training loop of the suite, shared by lstm-lm, lstm-sentiment and later apps.
//
// An app supplies a TrainTask (its model, its data and its metric); the Trainer owns epochs and
// steps, the optimizer and its learning-rate schedule, gradient clipping, periodic evaluation,
// best and latest checkpoints, exact resume, the NaN guard, metrics.jsonl and progress output.
//
//   LmTask task(cfg, vocab, train, valid);
//   TrainerOptions options = make_trainer_options(cfg, "lm", run_dir, resume);
//   options.extra = vocab.to_json();               // app state that checkpoints carry
//   Trainer trainer(task, options);
//   TrainSummary summary = trainer.run();
//   trainer.load_best();                            // the weights of best.pt, for testing
//
// With several processes (core/distributed.h), every rank trains on its own shard (the task's
// business), the gradients are averaged before clipping, and only rank 0 writes checkpoints,
// metrics.jsonl and progress; rates count the work of all ranks, and records say the world size.
//
// Each step of run() is a named function, in the manner of Marian's Scheduler: train_step()
// (one optimizer update), log_train() (a train record per window), evaluate() (valid record,
// best.pt, patience) and save() (latest.pt).

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/progress.h"

namespace lstmnlp {

/// The optimizers of `train.optimizer`.
enum class Optimizer { kSgd, kAdam, kAdamW };
/// Their names in configs.
inline const config::Choices<Optimizer> kOptimizers{
    {"sgd", Optimizer::kSgd}, {"adam", Optimizer::kAdam}, {"adamw", Optimizer::kAdamW}};

/// The learning-rate schedules of `train.lr_schedule` (see OptimizerConfig::lr_schedule).
enum class LrSchedule { kConstant, kEpochDecay, kLinear, kPlateau };
/// Their names in configs.
inline const config::Choices<LrSchedule> kLrSchedules{{"constant", LrSchedule::kConstant},
                                                      {"epoch_decay", LrSchedule::kEpochDecay},
                                                      {"linear", LrSchedule::kLinear},
                                                      {"plateau", LrSchedule::kPlateau}};

/// Optimizer and learning-rate schedule (the `train` section of app configs).
struct OptimizerConfig {
  Optimizer optimizer = Optimizer::kSgd;  ///< sgd, adam or adamw
  double lr = 1.0;                        ///< initial learning rate
  double momentum = 0.0;                  ///< SGD momentum
  double weight_decay = 0.0;              ///< L2 (sgd, adam) or decoupled (adamw) weight decay
  double beta1 = 0.9;                     ///< Adam beta1
  double beta2 = 0.999;                   ///< Adam beta2
  /// constant; epoch_decay: lr *= lr_decay each epoch from lr_decay_start (Zaremba et al.);
  /// linear: warm up over warmup_steps, then decay linearly to 0 at the last step; plateau:
  /// lr *= lr_decay after every evaluation that does not improve on the best (PyTorch's
  /// word_language_model example anneals so, by 1/4).
  LrSchedule lr_schedule = LrSchedule::kConstant;
  double lr_decay = 1.0;     ///< factor per epoch (epoch_decay) or per plateau
  int lr_decay_start = 1;    ///< first epoch (1-based) whose lr is decayed
  int64_t warmup_steps = 0;  ///< linear warm-up steps

  template <class V>
  void visit(V& v) {
    v("optimizer", optimizer, kOptimizers);
    v("lr", lr, config::Range{0.0, 1e3});
    v("momentum", momentum, config::Range{0.0, 1.0});
    v("weight_decay", weight_decay, config::Range{0.0, 10.0});
    v("beta1", beta1, config::Range{0.0, 1.0});
    v("beta2", beta2, config::Range{0.0, 1.0});
    v("lr_schedule", lr_schedule, kLrSchedules);
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
// clang-tidy's bugprone-exception-escape flags the implicit noexcept move, which only moves an
// nlohmann::json (noexcept) and scalars: a false positive.
// NOLINTNEXTLINE(bugprone-exception-escape)
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
  virtual void start_epoch(int64_t /*epoch*/, int64_t /*first_batch*/) {}
  /// Runs forward and backward for batch `index` of `epoch` (gradients are zeroed before).
  virtual StepResult train_step(int64_t epoch, int64_t index) = 0;
  /// Evaluates on held-out data (in eval mode, without gradients).
  virtual EvalResult evaluate() = 0;
  /// Adds task metrics to a train record, e.g. perplexity from the mean loss.
  virtual void describe_train(double /*mean_loss*/, nlohmann::json& /*record*/) {}
  /// The unit counted in progress and throughput ("tokens" or "examples").
  virtual std::string unit() const { return "tokens"; }
  /// Called on every rank of a multi-process run (core/distributed.h) before rank 0 writes a
  /// checkpoint: a task whose checkpointed state differs between ranks (an LM's hidden state of
  /// each rank's streams) makes it whole on rank 0 here.
  virtual void gather_state() {}
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

/// The number of processes that trained the checkpoint whose loop state is `loop_state` (1 for
/// checkpoints without one, or from before multi-process training).
int checkpoint_world_size(const std::string& loop_state);

/// The options of a run of app `kind` (also the checkpoints' kind) with config `cfg`, whose
/// `train` section holds the shared loop's keys as `base` (the convention of every app's config):
/// the loop's settings are cfg.train.base and the stored config is config::to_yaml(cfg). The app
/// adds tokenizer_model and extra when its checkpoints carry them.
template <class Config>
TrainerOptions make_trainer_options(const Config& cfg, const std::string& kind,
                                    const std::string& run_dir, const std::string& resume = "") {
  TrainerOptions options;
  options.run_dir = run_dir;
  options.train = cfg.train.base;
  options.config_yaml = config::to_yaml(cfg);
  options.kind = kind;
  options.resume = resume;
  return options;
}

/// The number of trainable values in `model` (the sum of numel() over its parameters).
int64_t count_parameters(const torch::nn::Module& model);
/// The number of values in `tensors`.
int64_t count_parameters(const std::vector<torch::Tensor>& tensors);

/// Builds the optimizer that `cfg` names over `params`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const OptimizerConfig& cfg);

/// The learning rate of `cfg`'s schedule at (0-based) `epoch` and `step` of `total_steps` (for
/// plateau, cfg.lr: the Trainer applies the decays, which depend on the evaluations).
double scheduled_lr(const OptimizerConfig& cfg, int64_t epoch, int64_t step, int64_t total_steps);

/// Runs a TrainTask to completion.
class Trainer {
 public:
  /// Builds the optimizer and, with options.resume, restores the run from that checkpoint.
  Trainer(TrainTask& task, TrainerOptions options);
  /// Trains until the epochs, max_steps or the patience run out; see the file comment.
  TrainSummary run();
  /// The path of the best evaluation's checkpoint, <run_dir>/best.pt.
  std::string best_path() const;
  /// Loads best.pt into the task's model (weights only; the optimizer and the RNG are left
  /// alone), e.g. to test it after run(). Returns false, leaving the model as it is, when the
  /// run wrote no best.pt.
  bool load_best();

 private:
  // The steps of run().
  /// `progress` is null on ranks other than 0.
  void run_epoch(Progress* progress);
  /// One optimizer update on batch batch_ of epoch_ at learning rate lr_.
  StepResult train_step();
  /// Writes the train record of the steps since the last one to metrics.jsonl.
  void log_train();
  /// Evaluates, keeps best.pt and latest.pt; true when patience ran out.
  bool evaluate(double epoch_label);
  void save(const std::string& name);
  void stop(const std::string& reason);

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
  double lr_scale_ = 1.0;               // the plateau schedule's decays so far
  std::vector<torch::Tensor> average_;  // moving average of the parameters (train.ema_decay)
  bool average_swapped_in_ = false;     // the model holds the average, average_ the raw weights

  // State of one run() call.
  int64_t per_epoch_ = 0;  // batches per epoch
  int64_t total_ = 0;      // steps the run will take at most
  double lr_ = 0;          // the learning rate of the current step
  std::optional<MetricsLog> metrics_;
  TrainSummary summary_;
  bool stopped_ = false;
  int64_t units_total_ = 0;   // units trained by this process
  double train_seconds_ = 0;  // time spent in train steps by this process
  double window_loss_ = 0;    // summed loss since the last train record
  int64_t window_units_ = 0;  // units since the last train record
  double window_comm_ = 0;    // dist::world().comm_seconds() at the window's start
  int signal_seen_ = 0;       // with several processes, a stop signal that some rank got
  std::vector<torch::Tensor> embedding_tables_;  // with several processes, sent as rows
  std::chrono::steady_clock::time_point window_start_;
};

}  // namespace lstmnlp
