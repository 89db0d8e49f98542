#include "core/trainer.h"

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "core/checkpoint.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/signals.h"

namespace lstmnlp {
namespace {

using Clock = std::chrono::steady_clock;

// Allocations below this size come from (and go back to) the heap, which keeps this much free.
constexpr int kKeepMappedBytes = 256 << 20;

// The weights of the model's embedding tables, of which a step touches only the rows of its
// tokens.
std::vector<torch::Tensor> embedding_tables(torch::nn::Module& model) {
  std::vector<torch::Tensor> tables;
  for (const auto& module : model.modules()) {
    if (const auto* embedding = module->as<torch::nn::Embedding>()) {
      tables.push_back(embedding->weight);
    }
  }
  return tables;
}

bool improves(const EvalResult& candidate, const std::optional<EvalResult>& best) {
  if (!best) return true;
  return candidate.higher_is_better ? candidate.score > best->score : candidate.score < best->score;
}

}  // namespace

int checkpoint_world_size(const std::string& loop_state) {
  if (loop_state.empty()) return 1;
  try {
    return nlohmann::json::parse(loop_state).value("world_size", 1);
  } catch (const nlohmann::json::exception&) {
    return 1;
  }
}

int64_t count_parameters(const torch::nn::Module& model) {
  return count_parameters(model.parameters());
}

int64_t count_parameters(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) n += t.numel();
  return n;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const OptimizerConfig& cfg) {
  switch (cfg.optimizer) {
    case Optimizer::kSgd:
      return std::make_unique<torch::optim::SGD>(
          std::move(params),
          torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).weight_decay(cfg.weight_decay));
    case Optimizer::kAdam:
      return std::make_unique<torch::optim::Adam>(std::move(params),
                                                  torch::optim::AdamOptions(cfg.lr)
                                                      .betas({cfg.beta1, cfg.beta2})
                                                      .weight_decay(cfg.weight_decay));
    case Optimizer::kAdamW:
      return std::make_unique<torch::optim::AdamW>(std::move(params),
                                                   torch::optim::AdamWOptions(cfg.lr)
                                                       .betas({cfg.beta1, cfg.beta2})
                                                       .weight_decay(cfg.weight_decay));
  }
  TORCH_CHECK(false, "make_optimizer: unknown optimizer ", static_cast<int>(cfg.optimizer));
}

double scheduled_lr(const OptimizerConfig& cfg, int64_t epoch, int64_t step, int64_t total_steps) {
  if (cfg.lr_schedule == LrSchedule::kEpochDecay) {
    // Epochs are 1-based in configs: lr_decay_start = 5 decays the lr of the 5th epoch onwards.
    const int64_t decays = std::max<int64_t>(0, epoch + 2 - cfg.lr_decay_start);
    return cfg.lr * std::pow(cfg.lr_decay, static_cast<double>(decays));
  }
  if (cfg.lr_schedule == LrSchedule::kLinear) {
    if (step < cfg.warmup_steps) return cfg.lr * (step + 1) / static_cast<double>(cfg.warmup_steps);
    const int64_t span = std::max<int64_t>(1, total_steps - cfg.warmup_steps);
    return cfg.lr * std::max(0.0, 1.0 - static_cast<double>(step - cfg.warmup_steps) / span);
  }
  return cfg.lr;
}

Trainer::Trainer(TrainTask& task, TrainerOptions options)
    : task_(task), options_(std::move(options)) {
  optimizer_ = make_optimizer(task_.model().parameters(), options_.train.opt);
  if (!options_.resume.empty()) {
    // Before the weights: a run of W processes carries state (an LM's streams) sized for W.
    const int saved_world = checkpoint_world_size(read_checkpoint_meta(options_.resume).loop_state);
    if (saved_world != dist::world().size()) {
      throw InputError(options_.resume + ": written by a run of " + std::to_string(saved_world) +
                       " process(es); resume it with " + std::to_string(saved_world) +
                       " (this run has " + std::to_string(dist::world().size()) + ")");
    }
    const auto meta = load_checkpoint(options_.resume, task_.model(), optimizer_.get(),
                                      /*restore_rng=*/true, options_.kind);
    step_ = meta.step;
    epoch_ = meta.epoch;
    if (options_.train.loop.ema_decay > 0) average_ = meta.averaged;
    nlohmann::json state;
    try {
      state = nlohmann::json::parse(meta.loop_state);
      batch_ = state.at("batch").get<int64_t>();
      evals_without_improvement_ = state.at("evals_without_improvement").get<int>();
      lr_scale_ = state.value("lr_scale", 1.0);
      const int saved_world = state.value("world_size", 1);
      if (saved_world != dist::world().size()) {
        throw InputError(options_.resume + ": written by a run of " + std::to_string(saved_world) +
                         " process(es); resume it with " + std::to_string(saved_world) +
                         " (this run has " + std::to_string(dist::world().size()) + ")");
      }
      if (state.contains("best")) {
        best_ = EvalResult{state["best"]["metrics"], state["best"]["score"].get<double>(),
                           state["best"]["higher_is_better"].get<bool>()};
      }
    } catch (const nlohmann::json::exception& e) {
      throw InputError(options_.resume + ": checkpoint has no usable training-loop state (" +
                       e.what() + ")");
    }
    dist::main_log() << "resuming from " << options_.resume << " at epoch " << epoch_ + 1
                     << ", step " << step_ << "\n";
  }
  // Every rank starts from rank 0's weights, whatever its random initialisation did.
  if (dist::world().size() > 1) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> params;
    for (const auto& p : task_.model().parameters()) params.push_back(p.detach());
    dist::world().broadcast(params);
  }
  // Only once the checkpoint to resume has been checked.
  std::filesystem::create_directories(options_.run_dir);
}

int64_t Trainer::total_steps() {
  const int64_t per_epoch = task_.batches_per_epoch();
  const int64_t all = per_epoch * options_.train.loop.epochs;
  const int64_t max = options_.train.loop.max_steps;
  return max > 0 ? std::min(all, max) : all;
}

void Trainer::set_lr(double lr) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
}

void Trainer::save(const std::string& name) {
  nlohmann::json state = {{"batch", batch_},
                          {"evals_without_improvement", evals_without_improvement_},
                          {"lr_scale", lr_scale_}};
  if (dist::world().size() > 1) state["world_size"] = dist::world().size();
  if (best_) {
    state["best"] = {{"metrics", best_->metrics},
                     {"score", best_->score},
                     {"higher_is_better", best_->higher_is_better}};
  }
  CheckpointMeta meta;
  meta.kind = options_.kind;
  meta.step = step_;
  meta.epoch = epoch_;
  meta.config_yaml = options_.config_yaml;
  meta.tokenizer_model = options_.tokenizer_model;
  meta.extra = options_.extra;
  meta.loop_state = state.dump();
  // best.pt is saved while the model holds the average; it carries no second copy.
  if (!average_swapped_in_) meta.averaged = average_;
  task_.gather_state();
  if (!dist::world().is_main()) return;
  save_checkpoint((std::filesystem::path(options_.run_dir) / name).string(), task_.model(),
                  optimizer_.get(), meta);
}

void Trainer::update_average() {
  torch::NoGradGuard no_grad;
  const auto params = task_.model().parameters();
  if (average_.empty()) {
    for (const auto& p : params) average_.push_back(p.detach().clone());
    return;
  }
  // As TensorFlow's ExponentialMovingAverage with num_updates: early on the average forgets
  // faster, so it is not dominated by the initial weights.
  const double decay = std::min(options_.train.loop.ema_decay, (1.0 + step_) / (10.0 + step_));
  for (size_t i = 0; i < params.size(); ++i) {
    average_[i].mul_(decay).add_(params[i].detach(), 1.0 - decay);
  }
}

void Trainer::swap_average() {
  torch::NoGradGuard no_grad;
  const auto params = task_.model().parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    auto raw = params[i].detach().clone();
    params[i].detach().copy_(average_[i]);
    average_[i].copy_(raw);
  }
  average_swapped_in_ = !average_swapped_in_;
}

TrainSummary Trainer::run() {
  const auto& loop = options_.train.loop;
  per_epoch_ = task_.batches_per_epoch();
  if (per_epoch_ <= 0) throw InputError("the training data yields no batches");
  total_ = total_steps();
#if defined(__GLIBC__)
  // Every step allocates and frees the same large buffers (logits, gradients, the flattened
  // gradients of an all-reduce). glibc gave some of them back to the system and mapped them anew
  // on the next step: 10,000 page faults per step and a fifth of a rank's time in data-parallel
  // PTB small. Kept mapped, a step reuses them.
  mallopt(M_MMAP_THRESHOLD, kKeepMappedBytes);
  mallopt(M_TRIM_THRESHOLD, kKeepMappedBytes);
#endif
  if (dist::world().size() > 1) embedding_tables_ = embedding_tables(task_.model());
  const bool main = dist::world().is_main();
  metrics_.reset();
  if (main) {
    metrics_.emplace((std::filesystem::path(options_.run_dir) / "metrics.jsonl").string());
    if (!options_.resume.empty()) metrics_->drop_after(step_);
  }
  summary_ = TrainSummary();
  summary_.stop_reason = "epochs";
  stopped_ = false;
  units_total_ = 0;
  train_seconds_ = 0;
  const auto start = Clock::now();
  std::optional<Progress> progress;
  if (main) {
    progress.emplace("train", total_, "steps");
    progress->start_from(step_);
  }
  // SIGINT, SIGTERM and SIGHUP end the run after the current step (see run_epoch).
  signals::StopOnSignal stop_on_signal;

  while (epoch_ < loop.epochs && !stopped_) run_epoch(progress ? &*progress : nullptr);
  if (summary_.stop_reason == "max_steps") save("latest.pt");
  if (progress) progress->finish();
  dist::world().barrier();  // rank 0's last checkpoint is written before any rank goes on

  summary_.steps = step_;
  summary_.epochs_completed = epoch_;
  summary_.best = best_;
  summary_.train_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summary_.units_per_s = units_total_ / std::max(train_seconds_, 1e-9);
  return summary_;
}

void Trainer::run_epoch(Progress* progress) {
  const auto& loop = options_.train.loop;
  task_.start_epoch(epoch_, batch_);
  window_loss_ = 0;
  window_units_ = 0;
  window_start_ = Clock::now();
  window_comm_ = dist::world().comm_seconds();
  while (batch_ < per_epoch_) {
    if (loop.max_steps > 0 && step_ >= loop.max_steps) return stop("max_steps");
    const StepResult result = train_step();
    if (progress != nullptr) {
      progress->update(
          step_, result.loss_sum / std::max<int64_t>(1, result.units),
          std::to_string(static_cast<int64_t>(units_total_ / std::max(train_seconds_, 1e-9))) +
              " " + task_.unit() + "/s");
    }
    if (step_ % loop.log_every == 0 || batch_ == per_epoch_) log_train();
    const bool epoch_done = batch_ == per_epoch_;
    if (epoch_done) {
      batch_ = 0;
      ++epoch_;
    }
    if (loop.eval_every > 0 ? step_ % loop.eval_every == 0 : epoch_done) {
      const double label = epoch_done ? epoch_ : epoch_ + static_cast<double>(batch_) / per_epoch_;
      if (evaluate(label)) stop("early_stopping");
    } else if (loop.save_every > 0 && step_ % loop.save_every == 0) {
      save("latest.pt");
    }
    // With several processes, every rank stops at the step where any of them got the signal.
    const int signal = dist::world().size() > 1 ? signal_seen_ : signals::stop_signal();
    if (signal != 0) {
      save("latest.pt");
      if (progress != nullptr) progress->finish();
      const std::string latest = (std::filesystem::path(options_.run_dir) / "latest.pt").string();
      throw signals::Interrupted(signal, "interrupted by " + signals::signal_name(signal) +
                                             " after step " + std::to_string(step_) + "; saved " +
                                             latest +
                                             "; to continue, run the same command with "
                                             "--resume " +
                                             latest);
    }
    if (epoch_done || stopped_) return;
  }
}

StepResult Trainer::train_step() {
  const auto& loop = options_.train.loop;
  task_.model().train();
  lr_ = scheduled_lr(options_.train.opt, epoch_, step_, total_) * lr_scale_;
  set_lr(lr_);
  // Drop the gradients rather than zero them (PyTorch 2's default): backward then stores each
  // parameter's first gradient instead of adding it to zeros, a pass over every weight saved per
  // step. Every optimizer skips a parameter that got no gradient.
  for (auto& group : optimizer_->param_groups()) {
    for (auto& p : group.params()) p.mutable_grad().reset();
  }
  const auto t0 = Clock::now();
  StepResult result = task_.train_step(epoch_, batch_);
  auto& world = dist::world();
  if (world.size() > 1) {
    // The step's loss and units over all ranks (so every rank takes the NaN guard's decision
    // alike), then the gradients' average over the ranks, before clipping takes the global norm.
    // A stop signal that any rank got is counted too, so that all stop at the same step.
    const int signal = signals::stop_signal();
    const auto sums = world.all_reduce_sum(
        {result.loss_sum, static_cast<double>(result.units), signal != 0 ? 1.0 : 0.0});
    result.loss_sum = sums[0];
    result.units = static_cast<int64_t>(sums[1]);
    if (sums[2] > 0 && signal_seen_ == 0) signal_seen_ = signal != 0 ? signal : SIGTERM;
    world.average_gradients(task_.model().parameters(), embedding_tables_);
  }
  const double mean = result.loss_sum / std::max<int64_t>(1, result.units);
  if (!std::isfinite(mean)) {
    throw InputError("loss became " + std::to_string(mean) + " at step " +
                     std::to_string(step_ + 1) + "; stopped, the last good checkpoint is " +
                     options_.run_dir + "/latest.pt (lower train.lr or set train.clip_norm)");
  }
  if (loop.clip_norm > 0) {
    torch::nn::utils::clip_grad_norm_(task_.model().parameters(), loop.clip_norm);
  }
  optimizer_->step();
  if (loop.ema_decay > 0) update_average();
  train_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  ++step_;
  ++batch_;
  units_total_ += result.units;
  window_loss_ += result.loss_sum;
  window_units_ += result.units;
  return result;
}

void Trainer::log_train() {
  const double seconds = std::chrono::duration<double>(Clock::now() - window_start_).count();
  const double window_mean = window_loss_ / std::max<int64_t>(1, window_units_);
  nlohmann::json record = {
      {"split", "train"},    {"step", step_},
      {"epoch", epoch_ + 1}, {"loss", window_mean},
      {"lr", lr_},           {task_.unit() + "_per_s", window_units_ / std::max(seconds, 1e-9)}};
  task_.describe_train(window_mean, record);
  const auto& world = dist::world();
  if (world.size() > 1) {
    record["world_size"] = world.size();
    record["comm_share"] = (world.comm_seconds() - window_comm_) / std::max(seconds, 1e-9);
  }
  if (metrics_) metrics_->write(record);
  window_loss_ = 0;
  window_units_ = 0;
  window_start_ = Clock::now();
  window_comm_ = world.comm_seconds();
}

// The loop state saved with the checkpoints points at the next batch to train. With weight
// averaging, the evaluation and best.pt see the averaged weights; latest.pt keeps the raw ones
// (and the average) so that a resume continues the same run.
bool Trainer::evaluate(double epoch_label) {
  const bool averaged = !average_.empty();
  if (averaged) swap_average();
  auto result = task_.evaluate();
  nlohmann::json record = {{"split", "valid"}, {"step", step_}, {"epoch", epoch_label}};
  record.update(result.metrics);
  if (metrics_) metrics_->write(record);
  dist::main_log() << "eval after epoch " << epoch_label << " (step " << step_
                   << "): " << result.metrics.dump() << "\n";
  summary_.last = result;
  if (improves(result, best_)) {
    best_ = result;
    evals_without_improvement_ = 0;
    save("best.pt");
  } else {
    ++evals_without_improvement_;
    if (options_.train.opt.lr_schedule == LrSchedule::kPlateau) {
      lr_scale_ *= options_.train.opt.lr_decay;
    }
  }
  if (averaged) swap_average();
  save("latest.pt");
  const int patience = options_.train.loop.patience;
  return patience > 0 && evals_without_improvement_ >= patience;
}

void Trainer::stop(const std::string& reason) {
  summary_.stop_reason = reason;
  stopped_ = true;
}

std::string Trainer::best_path() const {
  return (std::filesystem::path(options_.run_dir) / "best.pt").string();
}

bool Trainer::load_best() {
  const std::string best = best_path();
  if (!std::filesystem::exists(best)) return false;
  load_checkpoint(best, task_.model(), nullptr, /*restore_rng=*/false, options_.kind);
  return true;
}

}  // namespace lstmnlp
