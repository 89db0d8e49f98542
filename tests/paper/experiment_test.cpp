#include "models/paper/experiment.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/config.h"
#include "core/error.h"

namespace lstmnlp::paper {
namespace {

TEST(PaperExperimentTest, ShortSeededReberTrialSucceeds) {
  ReberConfig cfg;  // the default Embedded Reber config
  cfg.train.trials = 2;
  cfg.train.max_sequences = 30000;
  RunOptions options;
  options.seed = 1234;
  options.threads = 2;
  options.progress = false;
  const auto start = std::chrono::steady_clock::now();
  const ExperimentResult r = run_reber(cfg, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.trials.size(), 2u);
  for (const auto& t : r.trials) {
    EXPECT_TRUE(t.success) << "trial " << t.trial << " after " << t.sequences;
    EXPECT_LE(t.sequences, 30000);
  }
  EXPECT_LT(seconds, 10.0);
  // The paper's 276 plus 7 x 7 inputs→outputs weights and 7 output biases.
  EXPECT_EQ(r.weights, 276 + 49 + 7);
}

TEST(PaperExperimentTest, ResultsDoNotDependOnThreads) {
  ReberConfig cfg;
  cfg.train.trials = 3;
  cfg.train.max_sequences = 3000;
  RunOptions options;
  options.progress = false;
  options.threads = 1;
  const ExperimentResult one = run_reber(cfg, options);
  options.threads = 3;
  const ExperimentResult three = run_reber(cfg, options);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(one.trials[i].sequences, three.trials[i].sequences);
    EXPECT_EQ(one.trials[i].success, three.trials[i].success);
  }
}

TEST(PaperExperimentTest, SummaryTableAndJson) {
  ExperimentResult r;
  r.experiment = "reber";
  r.title = "Embedded Reber grammar (experiment 1)";
  r.cell = "1997";
  r.setting = "3 blocks × 2 cells";
  r.wall_s = 2.0;
  r.paper = PaperFigure{"Table 1", "3 blocks × 2 cells, 276 weights, lr 0.5", "100% of 30",
                        "8,440 (mean of 30)", "—"};
  for (int i = 0; i < 4; ++i) {
    TrialResult t;
    t.trial = i;
    t.success = i != 2;
    t.sequences = 1000 * (i + 1);
    r.trials.push_back(t);
  }
  EXPECT_DOUBLE_EQ(r.success_rate(), 0.75);
  EXPECT_EQ(*r.sequences_median(), 2000);  // successes: 1000, 2000, 4000
  EXPECT_EQ(*r.sequences_min(), 1000);
  EXPECT_EQ(*r.sequences_max(), 4000);
  EXPECT_EQ(r.total_sequences(), 10000);

  const nlohmann::json j = to_json(r);
  for (const char* key : {"experiment", "cell", "trials", "success_rate", "sequences_median",
                          "sequences_min", "sequences_max", "wall_s", "sequences_per_s"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["trials"], 4);
  EXPECT_DOUBLE_EQ(j["success_rate"].get<double>(), 0.75);
  EXPECT_EQ(j["sequences_median"], 2000);

  const std::string table = markdown_table(r);
  EXPECT_NE(table.find("| Paper (Table 1) |"), std::string::npos) << table;
  EXPECT_NE(table.find("75% of 4 (3)"), std::string::npos) << table;
  EXPECT_NE(table.find("2,333; 2,000 [1,000, 4,000]"), std::string::npos) << table;

  r.trials[0].success = r.trials[1].success = r.trials[3].success = false;
  EXPECT_TRUE(to_json(r)["sequences_median"].is_null());
}

TEST(PaperExperimentTest, ConfigRejectsBadCombinations) {
  ReberConfig cfg;
  cfg.train.gradient = Gradient::kFull;  // needs per-sequence updates
  RunOptions options;
  options.progress = false;
  EXPECT_THROW(run_reber(cfg, options), InputError);

  ModelConfig model;
  TrialConfig train;
  model.impl = Impl::kTorch;  // torch::nn::LSTM has no 1997 cell
  EXPECT_THROW(make_learner(model, train, 7, 7, 1), InputError);
  model.impl = Impl::kCustom;
  model.squash = SquashChoice::kPaper;  // lstmnlp::LSTM squashes with tanh
  EXPECT_THROW(make_learner(model, train, 7, 7, 1), InputError);
}

TEST(PaperExperimentTest, CellsTakeTheNamesOfTheLSTM) {
  EXPECT_EQ(config::load<ReberConfig>("", {"model.cell=standard"}).model.cell,
            LSTMCellType::kStandard);
  EXPECT_EQ(config::load<ReberConfig>("", {"model.cell=1997"}).model.cell, LSTMCellType::k1997);
  EXPECT_EQ(ReberConfig().model.cell, LSTMCellType::k1997);
  EXPECT_THROW(config::load<ReberConfig>("", {"model.cell=modern"}), InputError);
  EXPECT_THROW(config::load<ReberConfig>("", {"model.cell=lstm1997"}), InputError);
  const std::string yaml = config::to_yaml(config::load<ReberConfig>("", {"model.cell=standard"}));
  EXPECT_NE(yaml.find("cell: standard"), std::string::npos) << yaml;
  // Every shipped config still loads.
  const std::string dir = std::string(LSTMNLP_SOURCE_DIR) + "/configs/paper/";
  EXPECT_EQ(config::load<ReberConfig>(dir + "reber-standard.yaml").model.cell,
            LSTMCellType::kStandard);
  EXPECT_EQ(config::load<ReberConfig>(dir + "reber.yaml").model.cell, LSTMCellType::k1997);
  EXPECT_EQ(config::load<ReberConfig>(dir + "reber-paper.yaml").model.cell, LSTMCellType::k1997);
  EXPECT_EQ(config::load<ReberConfig>(dir + "reber-4x1-paper.yaml").model.cell,
            LSTMCellType::k1997);
}

TEST(PaperExperimentTest, CustomLSTMLearnerTrainsAndPredicts) {
  ModelConfig model;
  model.impl = Impl::kCustom;  // lstmnlp::LSTM with the 1997 cell
  TrialConfig train;
  auto learner = make_learner(model, train, 7, 7, 3);
  // 3 x 2 = 6 cells with 3 gate blocks of (6, 7 + 6) weights and two biases each, plus the
  // output layer (no inputs→outputs, no output bias by default).
  EXPECT_EQ(learner->num_weights(), 3 * 6 * (7 + 6) + 2 * 3 * 6 + 7 * 6);
  const Sequence seq = reber_sequence("BTBPVVETE");
  std::vector<double> before, during, after;
  learner->predict(seq, before);
  const double error = learner->train(seq, &during);
  learner->predict(seq, after);
  ASSERT_EQ(before.size(), static_cast<size_t>(seq.length * 7));
  for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(before[i], during[i], 1e-6);
  EXPECT_GT(error, 0.0);
  EXPECT_NE(before, after);  // the SGD step changed the weights
}

}  // namespace
}  // namespace lstmnlp::paper
