// The stopping rules of experiments 2b/2c (a run of successive correct sequences) and 3 (ST1 and
// ST2 on a stop test), on learners whose errors are crafted.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "models/paper/experiment.h"
#include "tests/test_util.h"

namespace lstmnlp::paper {
namespace {

// Outputs the target plus error(n) at every step, n being the sequences trained so far (before
// this one); learns nothing.
class CraftedLearner : public Learner {
 public:
  explicit CraftedLearner(std::function<double(int64_t)> error) : error_(std::move(error)) {}
  double train(const Sequence& seq, std::vector<double>* outputs) override {
    if (outputs) fill(seq, *outputs);
    ++trained_;
    return 0.0;
  }
  void predict(const Sequence& seq, std::vector<double>& outputs) override { fill(seq, outputs); }
  int64_t num_weights() const override { return 0; }

 private:
  void fill(const Sequence& seq, std::vector<double>& outputs) const {
    outputs = seq.targets;
    for (double& y : outputs) y += error_(trained_);
  }
  std::function<double(int64_t)> error_;
  int64_t trained_ = 0;
};

Sequence any_sequence(std::mt19937_64& rng) { return long_lag_random_sequence(rng, 5); }

TEST(StoppingRulesTest, ARunOfCorrectSequencesCountsTheSequencesBeforeIt) {
  TrialConfig train;
  train.max_sequences = 100000;
  std::atomic<int64_t> seen{0};
  // Wrong (error 0.3 >= 0.25) up to sequence 700, except one correct stretch of 49 sequences
  // that ends in a wrong one (sequence 500); correct from sequence 701 on.
  CraftedLearner learner([](int64_t n) { return n >= 700 || (n >= 450 && n < 499) ? 0.1 : 0.3; });
  const TrialResult r = run_streak_trial(learner, train, /*streak=*/50, /*correct_error=*/0.25,
                                         any_sequence, /*seed=*/1, seen);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.sequences, 700);  // sequences 701..750 were the run of 50
  EXPECT_EQ(seen.load(), 750);
}

TEST(StoppingRulesTest, ARunMustBeCompleteBeforeTheCap) {
  TrialConfig train;
  train.max_sequences = 720;
  std::atomic<int64_t> seen{0};
  CraftedLearner learner([](int64_t n) { return n >= 700 ? 0.0 : 1.0; });
  const TrialResult r = run_streak_trial(learner, train, 50, 0.25, any_sequence, 1, seen);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.sequences, 720);
  // A negative error counts by its absolute value.
  CraftedLearner below([](int64_t) { return -0.3; });
  EXPECT_FALSE(run_streak_trial(below, train, 50, 0.25, any_sequence, 1, seen).success);
}

TEST(StoppingRulesTest, TwoSequenceStopsAtST2AfterST1) {
  TwoSequenceTask task;  // 3a: misclassified at |error| >= 0.2; ST2 at a mean below 0.01
  task.stop_test_sequences = 64;
  task.test_sequences = 100;
  TrialConfig train;
  train.max_sequences = 100000;
  train.eval_every = 500;
  std::atomic<int64_t> seen{0};
  // Misclassified until 1,000 sequences, then right but with a mean error of 0.05 (ST1, not
  // ST2), then 0.005 from 2,000 on (ST2).
  CraftedLearner learner([](int64_t n) { return n < 1000 ? 0.3 : n < 2000 ? 0.05 : 0.005; });
  const TrialResult r = run_two_sequence_trial(learner, train, task, 3, seen);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.st1_sequences, 1000);
  EXPECT_EQ(r.sequences, 2000);
  EXPECT_EQ(r.test_total, 100);
  EXPECT_EQ(r.test_errors, 0);
  EXPECT_NEAR(r.test_mean_abs, 0.005, 1e-12);
}

TEST(StoppingRulesTest, TwoSequence3bToleratesFiveMisclassified) {
  TwoSequenceTask task;
  task.variant = TwoSequenceVariant::k3b;  // ST1: at most 5 of the stop test misclassified
  task.stop_test_sequences = 256;
  task.test_sequences = 10;
  TrialConfig train;
  train.max_sequences = 3000;
  train.eval_every = 1000;
  std::atomic<int64_t> seen{0};
  // 3b's inputs are noisy but its targets are not; an error of 0.1 everywhere is below 0.2
  // (ST1) but its mean is above 0.04 (no ST2).
  CraftedLearner learner([](int64_t) { return 0.1; });
  const TrialResult r = run_two_sequence_trial(learner, train, task, 3, seen);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.st1_sequences, 1000);
  EXPECT_EQ(r.sequences, 3000);
  EXPECT_EQ(r.test_total, 0);  // no final test without success
}

TEST(StoppingRulesTest, TwoSequenceNeedsLessInformationThanLength) {
  TwoSequenceConfig cfg;
  cfg.task.min_length = 10;
  cfg.task.info = 10;
  RunOptions options;
  options.progress = false;
  EXPECT_NE(test::input_error_of([&] {
              run_two_sequence(cfg, options);
            }).find("two_sequence.info (10) must be below two_sequence.min_length (10)"),
            std::string::npos);
}

TEST(StoppingRulesTest, ThePlateauDetectorFiresWhenAWindowStopsFalling) {
  PlateauDetector plateau(/*window=*/10, /*tolerance=*/0.05);
  // Window means 10, 8, 7 (each more than 5% below the lowest before it), then 6.8: under 5%
  // lower than 7, so the error has stopped falling at the end of the fourth window.
  const double means[] = {10.0, 8.0, 7.0, 6.8};
  int64_t fired = -1;
  for (int w = 0; w < 4; ++w) {
    for (int i = 0; i < 10; ++i) {
      // Errors that vary inside a window but average to its mean.
      const bool now = plateau.add(means[w] + (i % 2 == 0 ? 1.0 : -1.0));
      if (now && fired < 0) fired = w * 10 + i + 1;
    }
  }
  EXPECT_EQ(fired, 40);
  EXPECT_TRUE(plateau.add(100.0));  // and stays fired
  // A rise counts as a plateau too.
  PlateauDetector rising(5, 0.0);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(rising.add(1.0));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(rising.add(2.0));
  EXPECT_TRUE(rising.add(2.0));
}

}  // namespace
}  // namespace lstmnlp::paper
