#pragma once

// The experiment runner of `lstm-paper`: many independent seeded trials of one experiment of
// Hochreiter & Schmidhuber (1997), run on threads, summarised beside the paper's figures.
//
//   ReberConfig cfg = config::load<ReberConfig>("configs/paper/reber.yaml");
//   ExperimentResult r = run_reber(cfg, RunOptions{/*seed=*/1234, /*threads=*/2});
//   std::cout << markdown_table(r);
//
// Trial i draws its weights and training order from seed + i, so a result does not depend on the
// number of threads. A trial that misses its success criterion within train.max_sequences
// counts as a failure; the summaries of training sequences cover the successful trials only.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "datasets/paper_tasks.h"
#include "models/paper/paper_config.h"

namespace lstmnlp::paper {

/// The outcome of one trial.
struct TrialResult {
  int trial = 0;
  uint64_t seed = 0;
  bool success = false;
  /// Training sequences seen until the success criterion held (or until the cap).
  int64_t sequences = 0;
  /// Wrong sequences among test_total fresh test sequences (experiments 4-6, successful trials).
  int64_t test_errors = 0;
  int64_t test_total = 0;
  /// Mean squared output error on the test sequences.
  double test_mse = 0.0;
  /// Mean absolute difference between the outputs and the noise-free targets on the test
  /// sequences (experiment 3).
  double test_mean_abs = 0.0;
  /// Experiment 3: training sequences until the stopping rule ST1 first held; -1 if it never did.
  int64_t st1_sequences = -1;
  /// Sequential construction: training sequences before the cells joined; -1 if they never
  /// did (or started attached).
  int64_t cells_attached_after = -1;
  double seconds = 0.0;
};

/// A row of the paper's results, as text ("—" where the paper gives none).
struct PaperFigure {
  std::string source;  ///< e.g. "Table 1"
  std::string setting;
  std::string success;
  std::string sequences;
  std::string test_errors;
  /// Experiment 3: the mean training sequences until ST1 (empty elsewhere).
  std::string st1 = {};
};

/// All trials of one experiment.
struct ExperimentResult {
  /// reber, long-lag, very-long-lag, two-sequence, adding, multiplication, temporal-order
  std::string experiment;
  std::string title;  ///< e.g. "Embedded Reber grammar (experiment 1)"
  std::string cell;
  std::string impl;
  std::string setting;  ///< our architecture and learning rate, in words
  int64_t weights = 0;
  double lr = 0.0;
  int64_t max_sequences = 0;
  int threads = 1;
  double wall_s = 0.0;
  std::vector<TrialResult> trials;
  std::optional<PaperFigure> paper;
  /// Experiment 3: the trials' sequences count the training until ST2, and st1_sequences until
  /// ST1.
  bool has_st1 = false;

  int successes() const;
  /// In [0, 1].
  double success_rate() const;
  /// Training sequences of all trials, failed ones included (for sequences per second).
  int64_t total_sequences() const;
  /// Over successful trials; nullopt when none succeeded.
  std::optional<double> sequences_mean() const;
  std::optional<int64_t> sequences_median() const;
  std::optional<int64_t> sequences_min() const;
  std::optional<int64_t> sequences_max() const;
  /// Mean of st1_sequences over the trials that reached ST1; nullopt when none did.
  std::optional<double> st1_mean() const;
};

/// How to run the trials.
struct RunOptions {
  uint64_t seed = 1234;
  /// Worker threads (each runs whole trials); at least 1.
  int threads = 1;
  /// Print a line per finished trial and a core/Progress line (trials done, ETA, successes,
  /// sequences per second) to stderr.
  bool progress = true;
};

/// A net that learns from one sequence at a time; one per trial, not thread-safe.
class Learner {
 public:
  virtual ~Learner() = default;
  /// Learns from `seq` (outputs before each update go to `outputs`, (length, outputs)).
  /// Returns 0.5 * the summed squared error over the target steps.
  virtual double train(const Sequence& seq, std::vector<double>* outputs) = 0;
  /// The outputs for `seq`, (length, outputs) row-major, without learning.
  virtual void predict(const Sequence& seq, std::vector<double>& outputs) = 0;
  virtual int64_t num_weights() const = 0;
  /// Detaches or attaches the memory cells (TrialNet::set_cells_attached); model.impl fast
  /// only, InputError elsewhere.
  virtual void set_cells_attached(bool attached);
};

/// Sequential construction's trigger: the mean error of each window of `window` training
/// sequences is compared with the lowest window mean before it, and the error has stopped
/// falling once a window's mean is not below (1 - tolerance) times that.
class PlateauDetector {
 public:
  PlateauDetector(int64_t window, double tolerance);
  /// Adds one training sequence's error; true from the sequence that ends the first window in
  /// which the error stopped falling.
  bool add(double error);

 private:
  int64_t window_ = 1;
  double tolerance_ = 0.0;
  int64_t count_ = 0;
  double sum_ = 0.0;
  double best_ = -1.0;  // lowest window mean so far; < 0 before the first window
  bool plateau_ = false;
};

/// Sequential construction of experiments 2a and 2b: with window > 0 a trial starts with its
/// cells detached and attaches them once PlateauDetector(window, tolerance) fires.
struct Construction {
  int64_t window = 0;
  double tolerance = 0.01;
};

/// The learner that `model.impl` names, with `inputs` and `outputs` units, seeded by `seed`.
std::unique_ptr<Learner> make_learner(const ModelConfig& model, const TrialConfig& train,
                                      int64_t inputs, int64_t outputs, uint64_t seed);

/// The trainable weights of the net that run_reber() (run_adding(), ...) builds for `cfg`: the
/// number its result reports as `weights`, comparable with the paper's weight counts.
int64_t net_weights(const ReberConfig& cfg);
int64_t net_weights(const AddingConfig& cfg);
int64_t net_weights(const MultiplicationConfig& cfg);
int64_t net_weights(const TemporalOrderConfig& cfg);
int64_t net_weights(const LongLagConfig& cfg);
int64_t net_weights(const VeryLongLagConfig& cfg);
int64_t net_weights(const TwoSequenceConfig& cfg);

/// Experiment 1: Embedded Reber grammar. Success: on the training and the test strings, at every
/// position, the outputs of all legal next symbols exceed all other outputs.
ExperimentResult run_reber(const ReberConfig& cfg, const RunOptions& options);
/// Experiment 4: the adding problem.
ExperimentResult run_adding(const AddingConfig& cfg, const RunOptions& options);
/// Experiment 5: the multiplication problem.
ExperimentResult run_multiplication(const MultiplicationConfig& cfg, const RunOptions& options);
/// Experiment 6a or 6b: temporal order.
ExperimentResult run_temporal_order(const TemporalOrderConfig& cfg, const RunOptions& options);
/// Experiment 2a or 2b: noise-free sequences with long time lags, without local regularities in
/// 2b. 2b (like 2c) counts a successful trial's sequences until the run of
/// long_lag.success_sequences successive correct sequences began.
ExperimentResult run_long_lag(const LongLagConfig& cfg, const RunOptions& options);
/// Experiment 2c: very long time lags, no local regularities.
ExperimentResult run_very_long_lag(const VeryLongLagConfig& cfg, const RunOptions& options);
/// Experiment 3a, 3b or 3c: noise and signal on the same channel. A successful trial's
/// sequences count the training until ST2.
ExperimentResult run_two_sequence(const TwoSequenceConfig& cfg, const RunOptions& options);

/// The trial loop of experiments 2b and 2c: trains `learner` on sequences from `next` (fed an
/// order stream of `seed`) until `streak` successive ones have every output at their last step
/// within `correct_error` of its target, judged on the outputs training computed. A successful
/// trial reports the training sequences before that run began; train.max_sequences caps all.
TrialResult run_streak_trial(Learner& learner, const TrialConfig& train, int64_t streak,
                             double correct_error,
                             const std::function<Sequence(std::mt19937_64&)>& next, uint64_t seed,
                             std::atomic<int64_t>& seen, const Construction& construction = {});

/// The trial loop of experiment 3: trains `learner` on task's sequences, tests it every
/// train.eval_every sequences on task.stop_test_sequences sequences drawn once, and stops at ST2
/// (two_sequence_criteria()); st1_sequences records ST1. A successful trial then counts the
/// misclassified of task.test_sequences fresh sequences.
TrialResult run_two_sequence_trial(Learner& learner, const TrialConfig& train,
                                   const TwoSequenceTask& task, uint64_t seed,
                                   std::atomic<int64_t>& seen);

/// `n` with thousands separators: 1234567 gives "1,234,567".
std::string with_commas(int64_t n);
/// `x` with `digits` decimals.
std::string fixed(double x, int digits);

/// The Markdown table: the paper's row beside ours.
std::string markdown_table(const ExperimentResult& result);

/// The JSON summary: experiment, cell, impl, trials, successes, success_rate (0-1),
/// sequences_mean/median/min/max (null without successes), test_errors, test_sequences,
/// wall_s, sequences_per_s, weights, lr, setting, paper and per-trial results; experiment 3 adds
/// st1_sequences_mean.
nlohmann::json to_json(const ExperimentResult& result);

}  // namespace lstmnlp::paper
