#include "models/paper/reproduce.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "tests/test_util.h"

namespace lstmnlp::paper {
namespace {

namespace fs = std::filesystem;

const std::string kConfigDir = std::string(LSTMNLP_SOURCE_DIR) + "/configs/paper";

TEST(BatteryTest, RunsEveryPaperExactConfigOfTheRepository) {
  std::set<std::string> in_battery;
  for (const auto& run : battery()) {
    EXPECT_TRUE(in_battery.insert(run.config).second) << run.config << " twice";
    EXPECT_GT(run.sequences_per_s, 0) << run.config;
  }
  // Every config of configs/paper is run: a new one must be added to the battery.
  for (const auto& entry : fs::directory_iterator(kConfigDir)) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(in_battery.count(name)) << name << " is not in the battery";
  }
  for (const auto& run : battery()) {
    const bool paper_name = run.config.find("-paper.yaml") != std::string::npos;
    // adding.yaml is the paper's net under its historical name (scripts use it).
    EXPECT_EQ(run.paper_exact, paper_name || run.config == "adding.yaml") << run.config;
  }
}

TEST(BatteryTest, PlansTheConfigsWithTheirTrialsOrQuickCaps) {
  BatteryOptions options;
  options.config_dir = kConfigDir;
  const auto full = plan_battery(options);
  options.quick = true;
  const auto quick = plan_battery(options);
  ASSERT_EQ(full.size(), battery().size());
  ASSERT_EQ(quick.size(), battery().size());
  for (size_t i = 0; i < quick.size(); ++i) {
    EXPECT_EQ(quick[i].trials, battery()[i].quick_trials) << quick[i].config_path;
    EXPECT_EQ(quick[i].max_sequences, battery()[i].quick_max_sequences) << quick[i].config_path;
    EXPECT_LE(quick[i].trials, full[i].trials) << quick[i].config_path;
    EXPECT_LE(quick[i].max_sequences, full[i].max_sequences) << quick[i].config_path;
  }
  // The full battery runs the configs as they are: Table 1's 30 trials of the 276-weight net.
  EXPECT_EQ(full[0].config_path, kConfigDir + "/reber-paper.yaml");
  EXPECT_EQ(full[0].trials, 30);
}

TEST(BatteryTest, AMissingConfigDirectoryOrConfigIsAnInputError) {
  BatteryOptions options;
  options.config_dir = "/nonexistent/configs";
  EXPECT_NE(test::input_error_of([&] { plan_battery(options); }).find("/nonexistent/configs"),
            std::string::npos);
  const test::TempDir dir("battery");
  options.config_dir = dir.path().string();
  EXPECT_NE(test::input_error_of([&] { plan_battery(options); }).find("reber-paper.yaml"),
            std::string::npos);
}

TEST(BatteryTest, TheReportPutsThePapersFiguresBesideOurs) {
  BatteryReport report;
  report.quick = true;
  report.seed = 7;
  report.threads = 2;
  report.wall_s = 90;
  BatteryResult b{battery()[0], kConfigDir + "/reber-paper.yaml", "train:\n  lr: 0.5\n", {}};
  auto& r = b.result;
  r.experiment = "reber";
  r.title = "Embedded Reber grammar (experiment 1)";
  r.weights = 276;
  r.wall_s = 3;
  r.paper = PaperFigure{"Table 1", "3 blocks × 2 cells, 276 weights, lr 0.5", "100% of 30",
                        "8,440 (mean of 30)", "—"};
  for (int i = 0; i < 3; ++i) {
    TrialResult t;
    t.trial = i;
    t.success = i != 1;
    t.sequences = 3000 * (i + 1);  // successes: 3,000 and 9,000
    r.trials.push_back(t);
  }
  report.results.push_back(b);

  const std::string md = battery_markdown(report);
  EXPECT_NE(md.find("| Embedded Reber grammar (experiment 1) | `reber-paper.yaml` | yes | 276 | "
                    "2 of 3 (100% of 30) | 6,000 (8,440 (mean of 30)) | 3 s |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("Quick mode"), std::string::npos);
  EXPECT_NE(md.find("| Paper (Table 1) |"), std::string::npos);  // the run's own table

  const auto j = battery_json(report);
  EXPECT_EQ(j["mode"], "quick");
  ASSERT_EQ(j["runs"].size(), 1u);
  EXPECT_EQ(j["runs"][0]["paper_exact"], true);
  EXPECT_EQ(j["runs"][0]["resolved_config"], "train:\n  lr: 0.5\n");
  for (const char* key : {"weights", "trials", "successes", "sequences_mean"}) {
    EXPECT_TRUE(j["runs"][0]["result"].contains(key)) << key;
  }
  EXPECT_EQ(j["runs"][0]["result"]["successes"], 2);
  EXPECT_EQ(j["runs"][0]["result"]["sequences_mean"], 6000.0);
}

}  // namespace
}  // namespace lstmnlp::paper
