#include "models/paper/experiment.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "datasets/reber.h"
#include "models/paper/torch_learner.h"
#include "models/paper/trial_net.h"

namespace lstmnlp::paper {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// splitmix64: independent streams from one seed.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t stream_seed(uint64_t seed, uint64_t stream) { return mix(mix(seed) ^ mix(stream)); }

// Streams of one trial's seed.
constexpr uint64_t kWeightStream = 1;
constexpr uint64_t kOrderStream = 2;
constexpr uint64_t kTestStream = 3;
constexpr uint64_t kReberDataStream = 4;
constexpr uint64_t kStopTestStream = 5;

class FastLearner : public Learner {
 public:
  FastLearner(const NetSpec& spec, uint64_t seed, double lr, bool update_each_step,
              Gradient gradient)
      : net_(spec, seed), lr_(lr), update_each_step_(update_each_step), gradient_(gradient) {}
  double train(const Sequence& seq, std::vector<double>* outputs) override {
    return train_sequence(net_, seq, lr_, update_each_step_, outputs, gradient_);
  }
  void predict(const Sequence& seq, std::vector<double>& outputs) override {
    paper::predict(net_, seq, outputs);
  }
  int64_t num_weights() const override { return net_.spec().num_weights(); }
  void set_cells_attached(bool attached) override { net_.set_cells_attached(attached); }

 private:
  TrialNet net_;
  double lr_;
  bool update_each_step_;
  Gradient gradient_;
};

// Sequential construction over one trial (Construction): with a window, the learner's cells are
// detached at the start and attached once the training error stops falling.
class CellConstruction {
 public:
  CellConstruction(const Construction& construction, Learner& learner) : learner_(learner) {
    if (construction.window <= 0) return;
    plateau_ = std::make_unique<PlateauDetector>(construction.window, construction.tolerance);
    learner_.set_cells_attached(false);
  }
  // After training sequence number `sequences` with `error`: true when this attaches the cells,
  // which `r` then records.
  bool attach_after(double error, int64_t sequences, TrialResult& r) {
    if (!plateau_ || !plateau_->add(error)) return false;
    plateau_.reset();
    learner_.set_cells_attached(true);
    r.cells_attached_after = sequences;
    return true;
  }

 private:
  Learner& learner_;
  // On the heap: GCC 14 reads a PlateauDetector inside std::optional as maybe uninitialized.
  std::unique_ptr<PlateauDetector> plateau_;
};

// Runs `n` trials on `threads` workers; `trial(i, seed, seen)` runs trial i and adds the
// sequences it trains to `seen` as it goes (for the live status line).
std::vector<TrialResult> run_trials(
    int n, const RunOptions& options, const std::string& label,
    const std::function<TrialResult(int, uint64_t, std::atomic<int64_t>&)>& trial) {
  TORCH_CHECK(n >= 1, "run_trials: need at least one trial, got ", n);
  std::vector<TrialResult> results(n);
  std::atomic<int> next{0};
  std::atomic<int64_t> seen{0};
  std::mutex mutex;
  std::condition_variable finished_cv;
  int finished = 0;
  int successes = 0;
  std::exception_ptr error;
  const auto start = Clock::now();
  // Trials done, with the ETA; the note counts successes and training sequences. Used under
  // `mutex` only.
  std::optional<Progress> progress;
  if (options.progress) progress.emplace(label, n, "trials");

  auto note = [&] {
    const double t = seconds_since(start);
    std::ostringstream line;
    line << successes << " succeeded, " << with_commas(seen.load()) << " sequences, "
         << with_commas(static_cast<int64_t>(t > 0 ? seen.load() / t : 0)) << " seq/s";
    return line.str();
  };

  auto worker = [&] {
    for (int i = next++; i < n; i = next++) {
      TrialResult r;
      try {
        const auto t0 = Clock::now();
        r = trial(i, options.seed + static_cast<uint64_t>(i), seen);
        r.trial = i;
        r.seed = options.seed + static_cast<uint64_t>(i);
        r.seconds = seconds_since(t0);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        next = n;
        ++finished;
        finished_cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      results[i] = r;
      ++finished;
      successes += r.success;
      if (progress) {
        std::ostringstream line;
        line << label << " trial " << i + 1 << "/" << n << " (seed " << r.seed
             << "): " << (r.success ? "success after " : "FAILED, stopped after ")
             << with_commas(r.sequences) << " sequences";
        if (r.test_total > 0) {
          line << ", " << r.test_errors << " of " << with_commas(r.test_total) << " test errors";
        }
        line << " (" << fixed(r.seconds, 1) << " s)";
        progress->message(line.str());
        progress->update(finished, std::nullopt, note());
      }
      finished_cv.notify_all();
    }
  };

  const int workers = std::max(1, std::min(options.threads, n));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) pool.emplace_back(worker);
  {
    std::unique_lock<std::mutex> lock(mutex);
    while (finished < n && !error) {
      finished_cv.wait_for(lock, std::chrono::milliseconds(500));
      if (progress && finished < n) progress->update(finished, std::nullopt, note());
    }
  }
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  if (progress) progress->finish(note());
  return results;
}

std::string describe(const ModelConfig& m, const TrialConfig& t, int64_t weights) {
  std::ostringstream out;
  if (m.impl == Impl::kRnn) {
    const int units = m.blocks * m.cells_per_block;
    out << "vanilla RNN, " << units << (units == 1 ? " tanh unit, " : " tanh units, ")
        << with_commas(weights) << " weights, lr " << t.lr << ", BPTT, per-sequence updates";
  } else {
    out << m.blocks << (m.blocks == 1 ? " block" : " blocks") << " × " << m.cells_per_block
        << (m.cells_per_block == 1 ? " cell" : " cells") << ", " << with_commas(weights)
        << " weights, lr " << t.lr << ", " << kCells.name(m.cell) << " cell";
  }
  if (m.impl == Impl::kFast) {
    out << ", " << kGradients.name(t.gradient) << " gradient, "
        << (t.update == Update::kStep ? "per-step" : "per-sequence") << " updates";
  } else if (m.impl != Impl::kRnn) {
    out << ", " << kImpls.name(m.impl) << " (BPTT, per-sequence updates)";
  }
  if (m.input_to_output) out << ", inputs→outputs";
  if (m.output_bias) out << ", output biases";
  if (m.loss != Loss::kMse) out << ", " << kLosses.name(m.loss) << " loss";
  return out.str();
}

ExperimentResult make_result(const std::string& experiment, const std::string& title,
                             const ModelConfig& model, const TrialConfig& train, int64_t inputs,
                             int64_t outputs, const RunOptions& options) {
  ExperimentResult r;
  r.experiment = experiment;
  r.title = title;
  r.cell = kCells.name(model.cell);
  r.impl = kImpls.name(model.impl);
  r.weights = make_learner(model, train, inputs, outputs, 0)->num_weights();
  r.setting = describe(model, train, r.weights);
  r.lr = train.lr;
  r.max_sequences = train.max_sequences;
  r.threads = std::max(1, std::min(options.threads, train.trials));
  return r;
}

// Streams fresh sequences from `next` and stops per StreamTask; then tests.
TrialResult run_stream_trial(Learner& learner, const TrialConfig& train, const StreamTask& task,
                             const std::function<Sequence(std::mt19937_64&)>& next, uint64_t seed,
                             std::atomic<int64_t>& seen) {
  std::mt19937_64 order(stream_seed(seed, kOrderStream));
  std::vector<uint8_t> window_correct(task.stop_window, 0);
  std::vector<double> window_error(task.stop_window, 0.0);
  int64_t correct_in_window = 0;
  double error_in_window = 0.0;
  std::vector<double> outputs;
  TrialResult r;

  // Largest absolute error and mean squared error over the target steps' outputs.
  auto measure = [](const Sequence& seq, const std::vector<double>& y, double* max_abs) {
    double sq = 0.0;
    int64_t n = 0;
    *max_abs = 0.0;
    for (int64_t t = 0; t < seq.length; ++t) {
      if (!seq.has_target[t]) continue;
      for (int64_t k = 0; k < seq.num_outputs; ++k) {
        const double e = y[t * seq.num_outputs + k] - seq.targets[t * seq.num_outputs + k];
        *max_abs = std::max(*max_abs, std::abs(e));
        sq += e * e;
        ++n;
      }
    }
    return n > 0 ? sq / static_cast<double>(n) : 0.0;
  };

  for (int64_t i = 0; i < train.max_sequences; ++i) {
    const Sequence seq = next(order);
    learner.train(seq, &outputs);
    ++seen;
    double max_abs;
    const double mse = measure(seq, outputs, &max_abs);
    const int64_t slot = i % task.stop_window;
    const uint8_t correct = max_abs < task.correct_error;
    correct_in_window += correct - window_correct[slot];
    error_in_window += mse - window_error[slot];
    window_correct[slot] = correct;
    window_error[slot] = mse;
    r.sequences = i + 1;
    if (i + 1 >= task.stop_window && correct_in_window == task.stop_window &&
        error_in_window / static_cast<double>(task.stop_window) < task.stop_error) {
      r.success = true;
      break;
    }
  }
  if (!r.success) return r;

  std::mt19937_64 test_rng(stream_seed(seed, kTestStream));
  double mse_sum = 0.0;
  for (int64_t i = 0; i < task.test_sequences; ++i) {
    const Sequence seq = next(test_rng);
    learner.predict(seq, outputs);
    double max_abs;
    mse_sum += measure(seq, outputs, &max_abs);
    r.test_errors += max_abs < task.correct_error ? 0 : 1;
  }
  r.test_total = task.test_sequences;
  r.test_mse = task.test_sequences > 0 ? mse_sum / static_cast<double>(task.test_sequences) : 0;
  return r;
}

}  // namespace

// Trains on fresh sequences from `next` until `streak` successive ones are correct: every
// output at the last step within `correct_error` of its target, judged on the outputs that
// training computed (before each update). Experiments 2b and 2c: "the maximal absolute error
// of all output units below β during 10,000 successive random sequences". A successful trial
// reports the training sequences before that run of correct ones began; the cap counts all.
TrialResult run_streak_trial(Learner& learner, const TrialConfig& train, int64_t streak,
                             double correct_error,
                             const std::function<Sequence(std::mt19937_64&)>& next, uint64_t seed,
                             std::atomic<int64_t>& seen, const Construction& construction) {
  std::mt19937_64 order(stream_seed(seed, kOrderStream));
  std::vector<double> outputs;
  TrialResult r;
  CellConstruction cells(construction, learner);
  int64_t run = 0;
  for (int64_t i = 0; i < train.max_sequences; ++i) {
    const Sequence seq = next(order);
    const double error = learner.train(seq, &outputs);
    ++seen;
    r.sequences = i + 1;
    if (cells.attach_after(error, i + 1, r)) {
      run = 0;  // a run of correct sequences counts from the complete net on
      continue;
    }
    const int64_t last = (seq.length - 1) * seq.num_outputs;
    bool correct = true;
    for (int64_t k = 0; k < seq.num_outputs && correct; ++k) {
      correct = std::abs(outputs[last + k] - seq.targets[last + k]) < correct_error;
    }
    run = correct ? run + 1 : 0;
    if (run == streak) {
      r.success = true;
      r.sequences = i + 1 - streak;
      break;
    }
  }
  return r;
}

// Experiment 3's trial: tests on a stop test set drawn once every train.eval_every sequences
// until ST2 (two_sequence_criteria()), then measures the fraction misclassified on
// task.test_sequences fresh sequences.
TrialResult run_two_sequence_trial(Learner& learner, const TrialConfig& train,
                                   const TwoSequenceTask& task, uint64_t seed,
                                   std::atomic<int64_t>& seen) {
  const TwoSequenceCriteria rule = two_sequence_criteria(task.variant);
  auto draw = [&task](std::mt19937_64& rng, int* label) {
    return two_sequence(rng, task.variant, task.min_length, task.info, label);
  };
  // Adds one sequence to a score: misclassified or not, |output - noise-free target| and its
  // square at the end.
  std::vector<double> outputs;
  struct Score {
    int64_t misclassified = 0;
    double abs_sum = 0.0, sq_sum = 0.0;
  };
  auto score = [&](const Sequence& seq, int label, Score& sc) {
    learner.predict(seq, outputs);
    const double e = outputs[seq.length - 1] - two_sequence_target(task.variant, label);
    sc.misclassified += std::abs(e) < rule.misclassified_error ? 0 : 1;
    sc.abs_sum += std::abs(e);
    sc.sq_sum += e * e;
  };

  std::mt19937_64 stop_rng(stream_seed(seed, kStopTestStream));
  std::vector<Sequence> stop_test;
  std::vector<int> stop_labels(static_cast<size_t>(task.stop_test_sequences));
  stop_test.reserve(stop_labels.size());
  for (int& label : stop_labels) stop_test.push_back(draw(stop_rng, &label));

  std::mt19937_64 order(stream_seed(seed, kOrderStream));
  TrialResult r;
  for (int64_t i = 1; i <= train.max_sequences && !r.success; ++i) {
    learner.train(draw(order, nullptr), nullptr);
    ++seen;
    r.sequences = i;
    if (i % train.eval_every != 0) continue;
    Score sc;
    for (size_t k = 0; k < stop_test.size(); ++k) score(stop_test[k], stop_labels[k], sc);
    if (sc.misclassified > rule.max_misclassified) continue;
    if (r.st1_sequences < 0) r.st1_sequences = i;
    r.success = sc.abs_sum / static_cast<double>(stop_test.size()) < rule.mean_error;
  }
  if (!r.success) return r;

  std::mt19937_64 test_rng(stream_seed(seed, kTestStream));
  Score sc;
  for (int64_t i = 0; i < task.test_sequences; ++i) {
    int label = 0;
    const Sequence seq = draw(test_rng, &label);
    score(seq, label, sc);
  }
  r.test_errors = sc.misclassified;
  r.test_total = task.test_sequences;
  if (task.test_sequences > 0) {
    r.test_mse = sc.sq_sum / static_cast<double>(task.test_sequences);
    r.test_mean_abs = sc.abs_sum / static_cast<double>(task.test_sequences);
  }
  return r;
}

namespace {

// One trial on its learner: trial(learner, trial seed, sequences seen).
using TrialBody = std::function<TrialResult(Learner&, uint64_t, std::atomic<int64_t>&)>;

// Runs cfg.train.trials trials of `trial`, each on its own learner with `inputs` and `outputs`
// units and weights drawn from the trial's seed.
template <class Task>
ExperimentResult run_experiment(const ExperimentConfig<Task>& cfg, const RunOptions& options,
                                const std::string& experiment, const std::string& title,
                                int64_t inputs, int64_t outputs, const TrialBody& trial) {
  ExperimentResult result =
      make_result(experiment, title, cfg.model, cfg.train, inputs, outputs, options);
  const auto start = Clock::now();
  result.trials = run_trials(
      cfg.train.trials, options, experiment, [&](int, uint64_t seed, std::atomic<int64_t>& seen) {
        auto learner =
            make_learner(cfg.model, cfg.train, inputs, outputs, stream_seed(seed, kWeightStream));
        return trial(*learner, seed, seen);
      });
  result.wall_s = seconds_since(start);
  return result;
}

template <class Task>
ExperimentResult run_stream_experiment(const ExperimentConfig<Task>& cfg, const RunOptions& options,
                                       const std::string& experiment, const std::string& title,
                                       int64_t inputs, int64_t outputs,
                                       const std::function<Sequence(std::mt19937_64&)>& next) {
  return run_experiment(cfg, options, experiment, title, inputs, outputs,
                        [&](Learner& learner, uint64_t seed, std::atomic<int64_t>& seen) {
                          return run_stream_trial(learner, cfg.train, cfg.task, next, seed, seen);
                        });
}

// The input and output units of each task's net.
struct Units {
  int64_t inputs, outputs;
};
Units units(const ReberTask&) { return {reber::kNumSymbols, reber::kNumSymbols}; }
Units units(const AddingTask&) { return {2, 1}; }
Units units(const MultiplicationTask&) { return {2, 1}; }
Units units(const TemporalOrderTask& task) {
  return {kTemporalOrderSymbols, task.variant == TemporalOrderVariant::k6a ? 4 : 8};
}
Units units(const LongLagTask& task) { return {task.p + 1, task.p + 1}; }
Units units(const VeryLongLagTask& task) { return {task.p + 4, 2}; }
Units units(const TwoSequenceTask&) { return {1, 1}; }

template <class Task>
int64_t weights_of(const ExperimentConfig<Task>& cfg) {
  const Units u = units(cfg.task);
  return make_learner(cfg.model, cfg.train, u.inputs, u.outputs, 0)->num_weights();
}

// The training and test strings of one Reber set pair: test strings never occur in training.
struct ReberData {
  std::vector<std::string> strings;  // training strings, then test strings
  std::vector<Sequence> sequences;
  std::vector<std::vector<uint8_t>> legal;
  int train_count = 0;
};

ReberData make_reber_data(const ReberTask& task, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ReberData d;
  std::set<std::string> training;
  for (int i = 0; i < task.train_strings; ++i) {
    d.strings.push_back(reber::generate_embedded(rng));
    training.insert(d.strings.back());
  }
  d.train_count = task.train_strings;
  while (static_cast<int>(d.strings.size()) < task.train_strings + task.test_strings) {
    std::string s = reber::generate_embedded(rng);
    if (!training.count(s)) d.strings.push_back(std::move(s));
  }
  for (const auto& s : d.strings) {
    d.sequences.push_back(reber_sequence(s, task.target == ReberTarget::kLegal));
    d.legal.push_back(reber::legal_next(s));
  }
  return d;
}

}  // namespace

int ExperimentResult::successes() const {
  int n = 0;
  for (const auto& t : trials) n += t.success;
  return n;
}

double ExperimentResult::success_rate() const {
  return trials.empty() ? 0.0 : static_cast<double>(successes()) / trials.size();
}

int64_t ExperimentResult::total_sequences() const {
  int64_t n = 0;
  for (const auto& t : trials) n += t.sequences;
  return n;
}

namespace {
std::vector<int64_t> successful_sequences(const ExperimentResult& r) {
  std::vector<int64_t> v;
  for (const auto& t : r.trials) {
    if (t.success) v.push_back(t.sequences);
  }
  std::sort(v.begin(), v.end());
  return v;
}
}  // namespace

std::optional<double> ExperimentResult::sequences_mean() const {
  const auto v = successful_sequences(*this);
  if (v.empty()) return std::nullopt;
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  return sum / static_cast<double>(v.size());
}

std::optional<int64_t> ExperimentResult::sequences_median() const {
  const auto v = successful_sequences(*this);
  if (v.empty()) return std::nullopt;
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::optional<int64_t> ExperimentResult::sequences_min() const {
  const auto v = successful_sequences(*this);
  return v.empty() ? std::nullopt : std::optional<int64_t>(v.front());
}

std::optional<int64_t> ExperimentResult::sequences_max() const {
  const auto v = successful_sequences(*this);
  return v.empty() ? std::nullopt : std::optional<int64_t>(v.back());
}

std::optional<double> ExperimentResult::st1_mean() const {
  double sum = 0;
  int n = 0;
  for (const auto& t : trials) {
    if (t.st1_sequences < 0) continue;
    sum += static_cast<double>(t.st1_sequences);
    ++n;
  }
  return n > 0 ? std::optional<double>(sum / n) : std::nullopt;
}

void Learner::set_cells_attached(bool) {
  throw InputError(
      "sequential construction (long_lag.sequential_construction) needs model.impl=fast");
}

PlateauDetector::PlateauDetector(int64_t window, double tolerance)
    : window_(window), tolerance_(tolerance) {
  TORCH_CHECK(window >= 1, "PlateauDetector: window must be >= 1, got ", window);
}

bool PlateauDetector::add(double error) {
  if (plateau_) return true;
  sum_ += error;
  if (++count_ < window_) return false;
  const double mean = sum_ / static_cast<double>(window_);
  count_ = 0;
  sum_ = 0.0;
  if (best_ >= 0.0 && mean >= (1.0 - tolerance_) * best_) {
    plateau_ = true;
    return true;
  }
  if (best_ < 0.0 || mean < best_) best_ = mean;
  return false;
}

std::unique_ptr<Learner> make_learner(const ModelConfig& model, const TrialConfig& train,
                                      int64_t inputs, int64_t outputs, uint64_t seed) {
  if (model.impl == Impl::kFast) {
    if (train.gradient == Gradient::kFull && train.update == Update::kStep) {
      throw InputError("train.gradient=full needs train.update=sequence");
    }
    return std::make_unique<FastLearner>(net_spec(model, inputs, outputs), seed, train.lr,
                                         train.update == Update::kStep, train.gradient);
  }
  return make_torch_learner(model, train, inputs, outputs, seed);
}

int64_t net_weights(const ReberConfig& cfg) { return weights_of(cfg); }
int64_t net_weights(const AddingConfig& cfg) { return weights_of(cfg); }
int64_t net_weights(const MultiplicationConfig& cfg) { return weights_of(cfg); }
int64_t net_weights(const TemporalOrderConfig& cfg) { return weights_of(cfg); }
int64_t net_weights(const LongLagConfig& cfg) { return weights_of(cfg); }
int64_t net_weights(const VeryLongLagConfig& cfg) { return weights_of(cfg); }
int64_t net_weights(const TwoSequenceConfig& cfg) { return weights_of(cfg); }

ExperimentResult run_reber(const ReberConfig& cfg, const RunOptions& options) {
  ExperimentResult result = make_result("reber", "Embedded Reber grammar (experiment 1)", cfg.model,
                                        cfg.train, reber::kNumSymbols, reber::kNumSymbols, options);
  // Table 1's five LSTM rows, each the mean of 30 trials; the row of the nearest net and rate.
  struct Row {
    int blocks, cells_per_block;
    double lr;
    const char *setting, *success, *sequences;
  };
  static const Row kTable1[] = {
      {4, 1, 0.1, "4 blocks × 1 cell, 264 weights, lr 0.1", "100% of 30", "39,740 (mean of 30)"},
      {3, 2, 0.1, "3 blocks × 2 cells, 276 weights, lr 0.1", "100% of 30", "21,730 (mean of 30)"},
      {3, 2, 0.2, "3 blocks × 2 cells, 276 weights, lr 0.2", "97% of 30", "14,060 (mean of 30)"},
      {4, 1, 0.5, "4 blocks × 1 cell, 264 weights, lr 0.5", "97% of 30", "9,500 (mean of 30)"},
      {3, 2, 0.5, "3 blocks × 2 cells, 276 weights, lr 0.5", "100% of 30",
       "8,440 (mean of 30; runs 3,800-24,100)"},
  };
  const bool four_by_one = cfg.model.blocks == 4 && cfg.model.cells_per_block == 1;
  const Row* best = nullptr;
  for (const Row& row : kTable1) {
    if ((row.blocks == 4) != four_by_one) continue;
    if (!best || std::abs(row.lr - cfg.train.lr) < std::abs(best->lr - cfg.train.lr)) best = &row;
  }
  result.paper = PaperFigure{"Table 1", best->setting, best->success, best->sequences, "—"};
  if (cfg.model.impl == Impl::kRnn) {
    result.paper = PaperFigure{"Table 1", "RTRL, 12 hidden units, ≈494 weights, lr 0.1",
                               "\"some fraction\"", "25,000", "—"};
  }
  // The set pairs are shared by trials, so build them once.
  std::vector<ReberData> pairs;
  pairs.reserve(static_cast<size_t>(cfg.task.set_pairs));
  for (int p = 0; p < cfg.task.set_pairs; ++p) {
    pairs.push_back(make_reber_data(cfg.task, stream_seed(options.seed + p, kReberDataStream)));
  }

  const auto start = Clock::now();
  result.trials = run_trials(
      cfg.train.trials, options, "reber",
      [&](int trial, uint64_t seed, std::atomic<int64_t>& seen) {
        const ReberData& data = pairs[trial % cfg.task.set_pairs];
        auto learner = make_learner(cfg.model, cfg.train, reber::kNumSymbols, reber::kNumSymbols,
                                    stream_seed(seed, kWeightStream));
        std::mt19937_64 order(stream_seed(seed, kOrderStream));
        std::uniform_int_distribution<int> pick(0, data.train_count - 1);
        std::vector<double> outputs;
        const int all = static_cast<int>(data.sequences.size());
        int first = 0;  // the string that failed last time fails soonest again
        TrialResult r;
        for (int64_t i = 1; i <= cfg.train.max_sequences && !r.success; ++i) {
          learner->train(data.sequences[pick(order)], nullptr);
          ++seen;
          r.sequences = i;
          if (i % cfg.train.eval_every != 0) continue;
          r.success = true;
          for (int k = 0; k < all && r.success; ++k) {
            const int s = (first + k) % all;
            learner->predict(data.sequences[s], outputs);
            if (!reber::legal_most_active(outputs.data(), data.sequences[s].length,
                                          data.legal[s])) {
              r.success = false;
              first = s;
            }
          }
        }
        return r;
      });
  result.wall_s = seconds_since(start);
  return result;
}

ExperimentResult run_adding(const AddingConfig& cfg, const RunOptions& options) {
  const int64_t T = cfg.task.min_length;
  ExperimentResult result = run_stream_experiment(
      cfg, options, "adding", "Adding problem, T = " + std::to_string(T) + " (experiment 4)",
      /*inputs=*/2, /*outputs=*/1, [T](std::mt19937_64& rng) { return adding_sequence(rng, T); });
  if (T == 100) {
    result.paper = PaperFigure{"Table 7", "2 blocks × 2 cells, 93 weights, lr 0.5", "—", "74,000",
                               "1 of 2,560"};
  }
  return result;
}

ExperimentResult run_multiplication(const MultiplicationConfig& cfg, const RunOptions& options) {
  const int64_t T = cfg.task.min_length;
  return run_stream_experiment(
      cfg, options, "multiplication",
      "Multiplication problem, T = " + std::to_string(T) + " (experiment 5)", /*inputs=*/2,
      /*outputs=*/1, [T](std::mt19937_64& rng) { return multiplication_sequence(rng, T); });
}

ExperimentResult run_temporal_order(const TemporalOrderConfig& cfg, const RunOptions& options) {
  const int relevant = cfg.task.variant == TemporalOrderVariant::k6a ? 2 : 3;
  const Units u = units(cfg.task);
  ExperimentResult result = run_stream_experiment(
      cfg, options, "temporal-order",
      "Temporal order " + kTemporalOrderVariants.name(cfg.task.variant) + " (experiment 6)",
      u.inputs, u.outputs,
      [relevant](std::mt19937_64& rng) { return temporal_order_sequence(rng, relevant); });
  if (relevant == 2) {
    result.paper = PaperFigure{"Table 9", "6a: 2 blocks × 2 cells, 156 weights, lr 0.5", "—",
                               "31,390 (mean of 20)", "1 of 2,560"};
  } else {
    result.paper = PaperFigure{"Table 9", "6b: 3 blocks × 2 cells, 308 weights, lr 0.1", "—",
                               "571,100 (mean of 10)", "2 of 2,560"};
  }
  return result;
}

ExperimentResult run_long_lag(const LongLagConfig& cfg, const RunOptions& options) {
  const int64_t p = cfg.task.p;
  Construction construction;
  if (cfg.task.sequential_construction) {
    construction = {cfg.task.plateau_window, cfg.task.plateau_tolerance};
  }
  if (cfg.task.variant == LongLagVariant::k2b) {
    ExperimentResult result = run_experiment(
        cfg, options, "long-lag",
        "No local regularities, p = " + std::to_string(p) + " (experiment 2b)", p + 1, p + 1,
        [&](Learner& learner, uint64_t seed, std::atomic<int64_t>& seen) {
          return run_streak_trial(
              learner, cfg.train, cfg.task.success_sequences, cfg.task.correct_error,
              [p](std::mt19937_64& rng) { return long_lag_random_sequence(rng, p); }, seed, seen,
              construction);
        });
    if (p == 100) {
      result.paper = PaperFigure{"Section 5.2", "p = 100", "100% of 18", "5,680 (mean of 18)", "—"};
    }
    return result;
  }
  const Sequence sequences[2] = {long_lag_sequence(0, p), long_lag_sequence(1, p)};
  ExperimentResult result = run_experiment(
      cfg, options, "long-lag",
      "Noise-free long time lags, p = " + std::to_string(p) + " (experiment 2a)", p + 1, p + 1,
      [&](Learner& learner, uint64_t seed, std::atomic<int64_t>& seen) {
        std::mt19937_64 order(stream_seed(seed, kOrderStream));
        std::bernoulli_distribution coin(0.5);
        std::vector<double> outputs;
        TrialResult r;
        CellConstruction cells(construction, learner);
        for (int64_t i = 1; i <= cfg.train.max_sequences && !r.success; ++i) {
          const double error = learner.train(sequences[coin(order)], nullptr);
          ++seen;
          r.sequences = i;
          cells.attach_after(error, i, r);
          if (i % cfg.train.eval_every != 0) continue;
          r.success = true;
          for (const Sequence& seq : sequences) {
            learner.predict(seq, outputs);
            for (size_t k = 0; k < outputs.size() && r.success; ++k) {
              r.success = std::abs(outputs[k] - seq.targets[k]) < cfg.task.correct_error;
            }
          }
        }
        return r;
      });
  if (p == 100) {
    result.paper = cfg.model.impl == Impl::kRnn
                       ? PaperFigure{"Table 2", "BPTT, p = 100, 10,404 weights, lr 1.0-10.0", "0%",
                                     "> 5,000,000", "—"}
                       : PaperFigure{"Table 2", "p = 100", "100%", "5,040", "—"};
  }
  return result;
}

ExperimentResult run_very_long_lag(const VeryLongLagConfig& cfg, const RunOptions& options) {
  const int64_t q = cfg.task.q, p = cfg.task.p;
  const Units u = units(cfg.task);
  ExperimentResult result = run_experiment(
      cfg, options, "very-long-lag",
      "Very long time lags, q = " + std::to_string(q) + ", p = " + std::to_string(p) +
          " (experiment 2c)",
      u.inputs, u.outputs, [&](Learner& learner, uint64_t seed, std::atomic<int64_t>& seen) {
        return run_streak_trial(
            learner, cfg.train, cfg.task.success_sequences, cfg.task.correct_error,
            [q, p](std::mt19937_64& rng) { return very_long_lag_sequence(rng, q, p); }, seed, seen);
      });
  // Table 3: means of 20 trials.
  struct Row {
    int64_t q, p;
    const char* sequences;
  };
  static const Row kTable3[] = {
      {50, 50, "30,000"},    {100, 100, "31,000"},   {200, 200, "33,000"},
      {500, 500, "38,000"},  {1000, 1000, "49,000"}, {1000, 500, "49,000"},
      {1000, 200, "75,000"}, {1000, 100, "135,000"}, {1000, 50, "203,000"}};
  for (const Row& row : kTable3) {
    if (row.q == q && row.p == p) {
      result.paper = PaperFigure{"Table 3",
                                 "q = " + with_commas(q) + ", p = " + with_commas(p) + ", " +
                                     with_commas(result.weights) + " weights, lr 0.01",
                                 "—", std::string(row.sequences) + " (mean of 20)", "—"};
    }
  }
  return result;
}

ExperimentResult run_two_sequence(const TwoSequenceConfig& cfg, const RunOptions& options) {
  const TwoSequenceTask& task = cfg.task;
  if (task.info >= task.min_length) {
    throw InputError("two_sequence.info (" + std::to_string(task.info) +
                     ") must be below two_sequence.min_length (" + std::to_string(task.min_length) +
                     ")");
  }
  const std::string variant = kTwoSequenceVariants.name(task.variant);
  const Units u = units(task);
  ExperimentResult result = run_experiment(
      cfg, options, "two-sequence",
      "Noise and signal on the same channel " + variant +
          ", T = " + std::to_string(task.min_length) + ", N = " + std::to_string(task.info) +
          " (experiment 3)",
      u.inputs, u.outputs, [&](Learner& learner, uint64_t seed, std::atomic<int64_t>& seen) {
        return run_two_sequence_trial(learner, cfg.train, task, seed, seen);
      });
  result.has_st1 = true;
  // Tables 4-6, means of 10 trials: ST1 and ST2 (3c: the stop), and the fraction misclassified.
  struct Row {
    TwoSequenceVariant variant;
    int64_t T, N;
    const char *table, *st1, *st2, *misclassified;
  };
  using V = TwoSequenceVariant;
  static const Row kTables[] = {
      {V::k3a, 100, 3, "Table 4", "27,380", "39,850", "0.000195"},
      {V::k3a, 100, 1, "Table 4", "58,370", "64,330", "0.000117"},
      {V::k3a, 1000, 3, "Table 4", "446,850", "452,460", "0.000078"},
      {V::k3b, 100, 3, "Table 5", "41,740", "43,250", "0.00828"},
      {V::k3b, 100, 1, "Table 5", "74,950", "78,430", "0.01500"},
      {V::k3b, 1000, 1, "Table 5", "481,060", "485,080", "0.01207"},
      {V::k3c, 100, 3, "Table 6", "—", "269,650", "0.00558 (mean abs diff 0.014)"},
      {V::k3c, 100, 1, "Table 6", "—", "565,640", "0.00441 (mean abs diff 0.012)"},
  };
  for (const Row& row : kTables) {
    if (row.variant == task.variant && row.T == task.min_length && row.N == task.info) {
      result.paper = PaperFigure{row.table,
                                 variant + ": T = " + with_commas(row.T) +
                                     ", N = " + std::to_string(row.N) + ", 102 weights",
                                 "—",
                                 std::string(row.st2) + " to ST2 (mean of 10)",
                                 std::string("fraction ") + row.misclassified,
                                 row.st1};
    }
  }
  return result;
}

std::string markdown_table(const ExperimentResult& r) {
  const std::string dash = "—";
  std::ostringstream out;
  out << "### " << r.title << "\n\n"
      << "| | Setting | Success | Training sequences: mean; median [min, max] | Test errors | "
         "Wall time | Sequences/s |\n"
      << "| --- | --- | --- | --- | --- | --- | --- |\n";
  if (r.paper) {
    out << "| Paper (" << r.paper->source << ") | " << r.paper->setting << " | " << r.paper->success
        << " | " << r.paper->sequences << " | " << r.paper->test_errors << " | " << dash << " | "
        << dash << " |\n";
  }
  const int ok = r.successes();
  out << "| Ours | " << r.setting << ", cap " << with_commas(r.max_sequences) << " | "
      << fixed(100.0 * r.success_rate(), 0) << "% of " << r.trials.size() << " (" << ok << ") | ";
  if (ok > 0) {
    out << with_commas(static_cast<int64_t>(std::llround(*r.sequences_mean()))) << "; "
        << with_commas(*r.sequences_median()) << " [" << with_commas(*r.sequences_min()) << ", "
        << with_commas(*r.sequences_max()) << "]";
  } else {
    out << dash;
  }
  out << " | ";
  int64_t errors = 0, total = 0;
  for (const auto& t : r.trials) {
    errors += t.test_errors;
    total += t.test_total;
  }
  if (total > 0) {
    out << fixed(static_cast<double>(errors) / ok, 1) << " of " << with_commas(total / ok)
        << " (mean per successful trial)";
  } else {
    out << dash;
  }
  const double rate = r.wall_s > 0 ? r.total_sequences() / r.wall_s : 0.0;
  out << " | " << fixed(r.wall_s, 1) << " s (" << r.threads
      << (r.threads == 1 ? " thread" : " threads") << ") | "
      << with_commas(static_cast<int64_t>(rate)) << " |\n";
  if (r.has_st1) {
    const auto st1 = r.st1_mean();
    out << "\nThe sequences above count the training until ST2. ST1 held after a mean of "
        << (st1 ? with_commas(static_cast<int64_t>(std::llround(*st1))) : dash)
        << " sequences (paper: " << (r.paper && !r.paper->st1.empty() ? r.paper->st1 : dash)
        << ").";
    if (total > 0) {
      double abs_sum = 0;
      for (const auto& t : r.trials) abs_sum += t.success ? t.test_mean_abs : 0.0;
      out << " On the test after ST2: fraction misclassified "
          << fixed(static_cast<double>(errors) / static_cast<double>(total), 6)
          << ", mean |output - noise-free target| " << fixed(abs_sum / ok, 4) << ".";
    }
    out << "\n";
  }
  return out.str();
}

nlohmann::json to_json(const ExperimentResult& r) {
  nlohmann::json j;
  j["experiment"] = r.experiment;
  j["title"] = r.title;
  j["cell"] = r.cell;
  j["impl"] = r.impl;
  j["setting"] = r.setting;
  j["weights"] = r.weights;
  j["lr"] = r.lr;
  j["max_sequences"] = r.max_sequences;
  j["trials"] = r.trials.size();
  j["successes"] = r.successes();
  j["success_rate"] = r.success_rate();
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  j["sequences_mean"] = opt(r.sequences_mean());
  j["sequences_median"] = opt(r.sequences_median());
  j["sequences_min"] = opt(r.sequences_min());
  j["sequences_max"] = opt(r.sequences_max());
  int64_t errors = 0, total = 0;
  for (const auto& t : r.trials) {
    errors += t.test_errors;
    total += t.test_total;
  }
  j["test_errors"] = errors;
  j["test_sequences"] = total;
  if (r.has_st1) j["st1_sequences_mean"] = opt(r.st1_mean());
  j["wall_s"] = r.wall_s;
  j["threads"] = r.threads;
  j["total_sequences"] = r.total_sequences();
  j["sequences_per_s"] = r.wall_s > 0 ? r.total_sequences() / r.wall_s : 0.0;
  if (r.paper) {
    j["paper"] = {{"source", r.paper->source},
                  {"setting", r.paper->setting},
                  {"success", r.paper->success},
                  {"sequences", r.paper->sequences},
                  {"test_errors", r.paper->test_errors}};
    if (!r.paper->st1.empty()) j["paper"]["st1"] = r.paper->st1;
  } else {
    j["paper"] = nullptr;
  }
  nlohmann::json per_trial = nlohmann::json::array();
  for (const auto& t : r.trials) {
    per_trial.push_back({{"trial", t.trial},
                         {"seed", t.seed},
                         {"success", t.success},
                         {"sequences", t.sequences},
                         {"test_errors", t.test_errors},
                         {"test_total", t.test_total},
                         {"test_mse", t.test_mse},
                         {"test_mean_abs", t.test_mean_abs},
                         {"st1_sequences", t.st1_sequences},
                         {"cells_attached_after", t.cells_attached_after},
                         {"seconds", t.seconds}});
  }
  j["per_trial"] = per_trial;
  return j;
}

}  // namespace lstmnlp::paper
