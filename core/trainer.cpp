#include "core/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/progress.h"

namespace lstmnlp {
namespace {

using Clock = std::chrono::steady_clock;

bool improves(const EvalResult& candidate, const std::optional<EvalResult>& best) {
  if (!best) return true;
  return candidate.higher_is_better ? candidate.score > best->score : candidate.score < best->score;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const OptimizerConfig& cfg) {
  if (cfg.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params,
        torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).weight_decay(cfg.weight_decay));
  }
  if (cfg.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(cfg.lr)
                                                            .betas({cfg.beta1, cfg.beta2})
                                                            .weight_decay(cfg.weight_decay));
  }
  if (cfg.optimizer == "adamw") {
    return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(cfg.lr)
                                                             .betas({cfg.beta1, cfg.beta2})
                                                             .weight_decay(cfg.weight_decay));
  }
  throw InputError("train.optimizer: unknown optimizer '" + cfg.optimizer + "'");
}

double scheduled_lr(const OptimizerConfig& cfg, int64_t epoch, int64_t step, int64_t total_steps) {
  if (cfg.lr_schedule == "epoch_decay") {
    // Epochs are 1-based in configs: lr_decay_start = 5 decays the lr of the 5th epoch onwards.
    const int64_t decays = std::max<int64_t>(0, epoch + 2 - cfg.lr_decay_start);
    return cfg.lr * std::pow(cfg.lr_decay, static_cast<double>(decays));
  }
  if (cfg.lr_schedule == "linear") {
    if (step < cfg.warmup_steps) return cfg.lr * (step + 1) / static_cast<double>(cfg.warmup_steps);
    const int64_t span = std::max<int64_t>(1, total_steps - cfg.warmup_steps);
    return cfg.lr * std::max(0.0, 1.0 - static_cast<double>(step - cfg.warmup_steps) / span);
  }
  return cfg.lr;
}

Trainer::Trainer(TrainTask& task, TrainerOptions options)
    : task_(task), options_(std::move(options)) {
  optimizer_ = make_optimizer(task_.model().parameters(), options_.train.opt);
  std::filesystem::create_directories(options_.run_dir);
  if (!options_.resume.empty()) {
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
      if (state.contains("best")) {
        best_ = EvalResult{state["best"]["metrics"], state["best"]["score"].get<double>(),
                           state["best"]["higher_is_better"].get<bool>()};
      }
    } catch (const nlohmann::json::exception& e) {
      throw InputError(options_.resume + ": checkpoint has no usable training-loop state (" +
                       e.what() + ")");
    }
    std::cerr << "resuming from " << options_.resume << " at epoch " << epoch_ + 1 << ", step "
              << step_ << "\n";
  }
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
  if (best_) {
    state["best"] = {{"metrics", best_->metrics},
                     {"score", best_->score},
                     {"higher_is_better", best_->higher_is_better}};
  }
  CheckpointMeta meta{
      options_.kind,  step_,       epoch_, options_.config_yaml, options_.tokenizer_model,
      options_.extra, state.dump()};
  // best.pt is saved while the model holds the average; it carries no second copy.
  if (!average_swapped_in_) meta.averaged = average_;
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
  const int64_t per_epoch = task_.batches_per_epoch();
  if (per_epoch <= 0) throw InputError("the training data yields no batches");
  const int64_t total = total_steps();
  MetricsLog metrics((std::filesystem::path(options_.run_dir) / "metrics.jsonl").string());
  if (!options_.resume.empty()) metrics.drop_after(step_);

  TrainSummary summary;
  summary.stop_reason = "epochs";
  const auto start = Clock::now();
  double train_seconds = 0;
  int64_t units_total = 0;
  Progress progress("train", total, "steps");
  progress.start_from(step_);

  // Evaluates, keeps best.pt and latest.pt, and tells whether patience ran out. The loop state
  // saved with them points at the next batch to train. With weight averaging, the evaluation and
  // best.pt see the averaged weights; latest.pt keeps the raw ones (and the average) so that a
  // resume continues the same run.
  auto evaluate = [&](double epoch_label) {
    const bool averaged = !average_.empty();
    if (averaged) swap_average();
    auto result = task_.evaluate();
    nlohmann::json record = {{"split", "valid"}, {"step", step_}, {"epoch", epoch_label}};
    record.update(result.metrics);
    metrics.write(record);
    std::cerr << "eval after epoch " << epoch_label << " (step " << step_
              << "): " << result.metrics.dump() << "\n";
    summary.last = result;
    if (improves(result, best_)) {
      best_ = result;
      evals_without_improvement_ = 0;
      save("best.pt");
    } else {
      ++evals_without_improvement_;
      if (options_.train.opt.lr_schedule == "plateau") lr_scale_ *= options_.train.opt.lr_decay;
    }
    if (averaged) swap_average();
    save("latest.pt");
    return loop.patience > 0 && evals_without_improvement_ >= loop.patience;
  };

  bool stop = false;
  while (epoch_ < loop.epochs && !stop) {
    task_.start_epoch(epoch_, batch_);
    double window_loss = 0;
    int64_t window_units = 0;
    auto window_start = Clock::now();
    while (batch_ < per_epoch) {
      if (loop.max_steps > 0 && step_ >= loop.max_steps) {
        summary.stop_reason = "max_steps";
        stop = true;
        break;
      }
      task_.model().train();
      const double lr = scheduled_lr(options_.train.opt, epoch_, step_, total) * lr_scale_;
      set_lr(lr);
      // Drop the gradients rather than zero them (PyTorch 2's default): backward then stores
      // each parameter's first gradient instead of adding it to zeros, a pass over every weight
      // saved per step. Every optimizer skips a parameter that got no gradient.
      for (auto& group : optimizer_->param_groups()) {
        for (auto& p : group.params()) p.mutable_grad().reset();
      }
      const auto t0 = Clock::now();
      const StepResult result = task_.train_step(epoch_, batch_);
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
      train_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      ++step_;
      ++batch_;
      units_total += result.units;
      window_loss += result.loss_sum;
      window_units += result.units;
      progress.update(
          step_, mean,
          std::to_string(static_cast<int64_t>(units_total / std::max(train_seconds, 1e-9))) + " " +
              task_.unit() + "/s");

      if (step_ % loop.log_every == 0 || batch_ == per_epoch) {
        const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
        const double window_mean = window_loss / std::max<int64_t>(1, window_units);
        nlohmann::json record = {{"split", "train"},
                                 {"step", step_},
                                 {"epoch", epoch_ + 1},
                                 {"loss", window_mean},
                                 {"lr", lr},
                                 {task_.unit() + "_per_s", window_units / std::max(seconds, 1e-9)}};
        task_.describe_train(window_mean, record);
        metrics.write(record);
        window_loss = 0;
        window_units = 0;
        window_start = Clock::now();
      }
      const bool epoch_done = batch_ == per_epoch;
      if (epoch_done) {
        batch_ = 0;
        ++epoch_;
      }
      if (loop.eval_every > 0 ? step_ % loop.eval_every == 0 : epoch_done) {
        const double label = epoch_done ? epoch_ : epoch_ + static_cast<double>(batch_) / per_epoch;
        if (evaluate(label)) {
          summary.stop_reason = "early_stopping";
          stop = true;
        }
      } else if (loop.save_every > 0 && step_ % loop.save_every == 0) {
        save("latest.pt");
      }
      if (epoch_done || stop) break;
    }
  }
  if (summary.stop_reason == "max_steps") save("latest.pt");
  progress.finish();

  summary.steps = step_;
  summary.epochs_completed = epoch_;
  summary.best = best_;
  summary.train_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summary.units_per_s = units_total / std::max(train_seconds, 1e-9);
  return summary;
}

}  // namespace lstmnlp
