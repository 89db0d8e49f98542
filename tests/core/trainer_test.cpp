#include "core/trainer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/signals.h"
#include "tests/test_util.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;

// Noisy linear regression with dropout, so that resuming must restore weights, optimizer state,
// the data position and the RNG to reproduce the same losses.
class RegressionTask : public TrainTask {
 public:
  explicit RegressionTask(int64_t nan_at_step = -1) : nan_at_step_(nan_at_step) {
    torch::manual_seed(3);
    model_ = torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::Dropout(0.3),
                                   torch::nn::Linear(8, 1));
    x_ = torch::randn({40, 4});
    y_ = x_.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f})).unsqueeze(1);
  }
  torch::nn::Module& model() override { return *model_; }
  int64_t batches_per_epoch() override { return 5; }
  void start_epoch(int64_t epoch, int64_t first_batch) override {
    starts.emplace_back(epoch, first_batch);
  }
  StepResult train_step(int64_t /*epoch*/, int64_t index) override {
    const auto xb = x_.slice(0, index * 8, index * 8 + 8);
    const auto yb = y_.slice(0, index * 8, index * 8 + 8);
    auto loss = torch::mse_loss(model_->forward(xb), yb, torch::Reduction::Sum);
    loss.backward();
    ++calls_;
    const double value = calls_ == nan_at_step_ ? std::nan("") : loss.item<double>();
    losses.push_back(value);
    return {value, 8};
  }
  EvalResult evaluate() override {
    torch::NoGradGuard no_grad;
    model_->eval();
    const double mse = torch::mse_loss(model_->forward(x_), y_).item<double>();
    return {{{"mse", mse}}, mse, /*higher_is_better=*/false};
  }
  std::string unit() const override { return "examples"; }

  torch::nn::Sequential model_{nullptr};
  std::vector<double> losses;
  std::vector<std::pair<int64_t, int64_t>> starts;

 private:
  torch::Tensor x_, y_;
  int64_t nan_at_step_;
  int64_t calls_ = 0;
};

// Sends itself `signal` during its `at`-th training step, as a user's Ctrl-C or kill would.
class SignalledTask : public RegressionTask {
 public:
  SignalledTask(int at, int signal) : at_(at), signal_(signal) {}
  StepResult train_step(int64_t epoch, int64_t index) override {
    if (++steps_ == at_) ::raise(signal_);
    return RegressionTask::train_step(epoch, index);
  }

 private:
  int at_;
  int signal_;
  int steps_ = 0;
};

class TrainerTest : public ::testing::Test {
 protected:
  TrainerOptions options(const std::string& sub, int64_t max_steps,
                         const std::string& resume = "") {
    TrainerOptions o;
    o.run_dir = (dir_ / sub).string();
    o.train.opt.optimizer = Optimizer::kAdam;
    o.train.opt.lr = 0.01;
    o.train.loop.epochs = 3;
    o.train.loop.max_steps = max_steps;
    o.train.loop.log_every = 2;
    o.train.loop.clip_norm = 5.0;
    o.kind = "test";
    o.resume = resume;
    return o;
  }
  const test::TempDir tmp_{"trainer"};
  const fs::path dir_ = tmp_.path();
};

TEST_F(TrainerTest, ResumeContinuesTheSameRunExactly) {
  torch::manual_seed(11);
  RegressionTask straight;
  const auto full = Trainer(straight, options("straight", 0)).run();
  EXPECT_EQ(full.steps, 15);
  EXPECT_EQ(full.stop_reason, "epochs");

  // Stop mid-epoch (step 7 = epoch 2, batch 2), then resume from latest.pt.
  torch::manual_seed(11);
  RegressionTask first;
  const auto part = Trainer(first, options("split", 7)).run();
  EXPECT_EQ(part.stop_reason, "max_steps");
  torch::manual_seed(12345);  // the checkpoint's RNG state must win over this
  RegressionTask second;
  const auto latest = (dir_ / "split" / "latest.pt").string();
  const auto rest = Trainer(second, options("split", 0, latest)).run();
  EXPECT_EQ(rest.steps, 15);
  ASSERT_FALSE(second.starts.empty());
  EXPECT_EQ(second.starts.front().first, 1);
  EXPECT_EQ(second.starts.front().second, 2);

  std::vector<double> joined = first.losses;
  joined.insert(joined.end(), second.losses.begin(), second.losses.end());
  ASSERT_EQ(joined.size(), straight.losses.size());
  for (size_t i = 0; i < joined.size(); ++i)
    EXPECT_EQ(joined[i], straight.losses[i]) << "step " << i + 1;
  for (size_t i = 0; i < straight.model_->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(straight.model_->parameters()[i], second.model_->parameters()[i]));
  }
}

TEST_F(TrainerTest, ASignalFinishesTheStepSavesLatestAndSaysHowToResume) {
  torch::manual_seed(11);
  RegressionTask straight;
  Trainer(straight, options("straight", 0)).run();

  torch::manual_seed(11);
  SignalledTask first(/*at=*/7, SIGTERM);
  const auto latest = (dir_ / "signal" / "latest.pt").string();
  try {
    Trainer(first, options("signal", 0)).run();
    FAIL() << "expected signals::Interrupted";
  } catch (const signals::Interrupted& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.signal(), SIGTERM);
    EXPECT_NE(msg.find("SIGTERM after step 7"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--resume " + latest), std::string::npos) << msg;
  }
  EXPECT_EQ(first.losses.size(), 7u);
  EXPECT_EQ(read_checkpoint_meta(latest).step, 7);

  // The saved state continues the same run exactly.
  torch::manual_seed(12345);
  RegressionTask second;
  Trainer(second, options("signal", 0, latest)).run();
  std::vector<double> joined = first.losses;
  joined.insert(joined.end(), second.losses.begin(), second.losses.end());
  ASSERT_EQ(joined.size(), straight.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], straight.losses[i]) << i + 1;
}

TEST_F(TrainerTest, ResumeDropsMetricsRecordsPastTheCheckpoint) {
  RegressionTask first;
  Trainer(first, options("m", 7)).run();  // latest.pt at step 7
  const auto path = dir_ / "m" / "metrics.jsonl";
  auto steps_in_file = [&] {
    std::vector<int64_t> steps;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
      steps.push_back(nlohmann::json::parse(line)["step"].get<int64_t>());
    return steps;
  };
  const auto before = steps_in_file();
  // The killed run had gone on to steps 9 and 10 after its last checkpoint.
  std::ofstream(path, std::ios::app) << R"({"split":"train","step":9,"loss":1.0})"
                                     << "\n"
                                     << R"({"split":"valid","step":10,"mse":1.0})"
                                     << "\n";
  RegressionTask second;
  Trainer(second, options("m", 8, (dir_ / "m" / "latest.pt").string())).run();
  auto expected = before;
  expected.push_back(8);  // the resumed run's own record (log_every 2)
  EXPECT_EQ(steps_in_file(), expected);
}

// The weight average that a checkpoint holds.
std::vector<torch::Tensor> averaged_in(const fs::path& checkpoint) {
  RegressionTask scratch;
  return load_checkpoint(checkpoint.string(), scratch.model(), nullptr).averaged;
}

TEST_F(TrainerTest, WeightAverageIsWhatEvaluationSeesAndResumesExactly) {
  auto averaging = [&](const std::string& sub, int64_t max_steps, const std::string& resume = "") {
    auto o = options(sub, max_steps, resume);
    o.train.loop.ema_decay = 0.9;
    return o;
  };
  torch::manual_seed(11);
  RegressionTask straight;
  const auto full = Trainer(straight, averaging("straight", 0)).run();
  const auto average = averaged_in(dir_ / "straight" / "latest.pt");
  const auto raw = straight.model_->parameters();
  ASSERT_EQ(average.size(), raw.size());
  EXPECT_FALSE(torch::equal(average[0], raw[0].detach())) << "the average is not the raw weights";

  // The last evaluation scored the averaged weights, not the raw ones the model keeps.
  RegressionTask check;
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < average.size(); ++i) check.model_->parameters()[i].copy_(average[i]);
  }
  EXPECT_DOUBLE_EQ(check.evaluate().score, full.last->score);

  // Interrupted at step 7 and resumed, the run ends with the same average.
  torch::manual_seed(11);
  RegressionTask first;
  Trainer(first, averaging("split", 7)).run();
  RegressionTask second;
  Trainer(second, averaging("split", 0, (dir_ / "split" / "latest.pt").string())).run();
  const auto resumed = averaged_in(dir_ / "split" / "latest.pt");
  ASSERT_EQ(resumed.size(), average.size());
  for (size_t i = 0; i < average.size(); ++i) EXPECT_TRUE(torch::equal(resumed[i], average[i]));
}

TEST_F(TrainerTest, LoadBestRestoresTheBestEvaluationsWeights) {
  RegressionTask task;
  Trainer trainer(task, options("reload", 0));
  const auto summary = trainer.run();
  ASSERT_TRUE(summary.best.has_value());
  EXPECT_EQ(trainer.best_path(), (dir_ / "reload" / "best.pt").string());
  ASSERT_TRUE(trainer.load_best());
  EXPECT_NEAR(task.evaluate().score, summary.best->score, 1e-6);

  RegressionTask untrained;
  Trainer none(untrained, options("none", 0));
  EXPECT_FALSE(none.load_best());  // no run, no best.pt
}

TEST(CountParameters, SumsTheValuesOfEveryParameter) {
  torch::nn::Sequential net(torch::nn::Linear(4, 8), torch::nn::Linear(8, 1));
  EXPECT_EQ(count_parameters(*net), 4 * 8 + 8 + 8 * 1 + 1);
  EXPECT_EQ(count_parameters(std::vector<torch::Tensor>{torch::zeros({2, 3}), torch::zeros({5})}),
            11);
}

TEST_F(TrainerTest, KeepsBestCheckpointAndWritesMetrics) {
  RegressionTask task;
  const auto summary = Trainer(task, options("best", 0)).run();
  ASSERT_TRUE(summary.best.has_value());
  EXPECT_LE(summary.best->score, summary.last->score);
  const auto meta = read_checkpoint_meta((dir_ / "best" / "best.pt").string());
  EXPECT_EQ(meta.kind, "test");

  std::ifstream in(dir_ / "best" / "metrics.jsonl");
  int train_records = 0, valid_records = 0;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["split"] == "train") {
      ++train_records;
      EXPECT_TRUE(record.contains("examples_per_s"));
      EXPECT_TRUE(record.contains("lr"));
    } else {
      ++valid_records;
      EXPECT_TRUE(record.contains("mse"));
    }
  }
  EXPECT_EQ(valid_records, 3);
  EXPECT_GE(train_records, 6);
}

TEST_F(TrainerTest, NanLossStopsAndKeepsLastGoodCheckpoint) {
  RegressionTask task(/*nan_at_step=*/8);
  auto o = options("nan", 0);
  try {
    Trainer(task, o).run();
    FAIL() << "expected the NaN guard to stop training";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("at step 8"), std::string::npos) << e.what();
  }
  // latest.pt is from the end of epoch 1 (step 5) and still loads.
  RegressionTask fresh;
  const auto meta = load_checkpoint((dir_ / "nan" / "latest.pt").string(), fresh.model(), nullptr);
  EXPECT_EQ(meta.step, 5);
}

// RegressionTask whose evaluations score 3, 4, 2, 2.5, ... in turn (lower is better).
class ScriptedScores : public RegressionTask {
 public:
  EvalResult evaluate() override {
    const double scores[] = {3.0, 4.0, 2.0, 2.5, 2.6, 1.0};
    const double score = scores[evals_++ % 6];
    return {{{"score", score}}, score, /*higher_is_better=*/false};
  }

 private:
  int evals_ = 0;
};

// The lr of each train record in a run's metrics.jsonl, by epoch (1-based).
std::map<int, double> lr_by_epoch(const fs::path& run) {
  std::map<int, double> lrs;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["split"] == "train") lrs[record["epoch"].get<int>()] = record["lr"].get<double>();
  }
  return lrs;
}

TEST_F(TrainerTest, PlateauScheduleDecaysAfterEachEvaluationWithoutImprovement) {
  auto plateau = [&](const std::string& sub, int64_t max_steps, const std::string& resume = "") {
    auto o = options(sub, max_steps, resume);
    o.train.opt.optimizer = Optimizer::kSgd;
    o.train.opt.lr = 0.01;
    o.train.opt.lr_schedule = LrSchedule::kPlateau;
    o.train.opt.lr_decay = 0.25;
    o.train.loop.epochs = 5;
    o.train.loop.log_every = 5;  // one train record per epoch
    return o;
  };
  ScriptedScores task;
  Trainer(task, plateau("straight", 0)).run();
  // Scores 3 (best), 4 (worse: decay), 2 (best), 2.5 (worse: decay), 2.6 (worse: decay).
  const std::map<int, double> expected = {
      {1, 0.01}, {2, 0.01}, {3, 0.0025}, {4, 0.0025}, {5, 0.000625}};
  const auto lrs = lr_by_epoch(dir_ / "straight");
  ASSERT_EQ(lrs.size(), expected.size());
  for (const auto& [epoch, lr] : expected) EXPECT_DOUBLE_EQ(lrs.at(epoch), lr) << epoch;

  // Stopped in epoch 4 and resumed, the decays so far carry over.
  ScriptedScores first;
  Trainer(first, plateau("split", 17)).run();
  ScriptedScores second;
  Trainer(second, plateau("split", 0, (dir_ / "split" / "latest.pt").string())).run();
  EXPECT_DOUBLE_EQ(lr_by_epoch(dir_ / "split").at(4), 0.0025);
}

TEST(Schedule, ZarembaEpochDecayAndLinearWarmup) {
  OptimizerConfig cfg;
  cfg.lr = 1.0;
  cfg.lr_schedule = LrSchedule::kEpochDecay;
  cfg.lr_decay = 0.5;
  cfg.lr_decay_start = 5;  // epochs 1-4 at lr 1, then halve each epoch
  EXPECT_DOUBLE_EQ(scheduled_lr(cfg, /*epoch=*/3, 0, 0), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(cfg, /*epoch=*/4, 0, 0), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_lr(cfg, /*epoch=*/5, 0, 0), 0.25);

  cfg.lr_schedule = LrSchedule::kLinear;
  cfg.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(scheduled_lr(cfg, 0, /*step=*/4, /*total_steps=*/110), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_lr(cfg, 0, /*step=*/60, /*total_steps=*/110), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_lr(cfg, 0, /*step=*/110, /*total_steps=*/110), 0.0);
}

}  // namespace
}  // namespace lstmnlp
