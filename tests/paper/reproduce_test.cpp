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
  std::set<std::string> in_battery, rows;
  for (const auto& run : battery()) {
    in_battery.insert(run.config);
    std::string row = run.config;
    for (const auto& set : run.sets) row += " " + set;
    EXPECT_TRUE(rows.insert(row).second) << row << " twice";
    EXPECT_GT(run.sequences_per_s, 0) << row;
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
  // --quick leaves out the runs without quick trials (the long rows of a table).
  size_t q = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    const BatteryRun& run = battery()[i];
    if (run.quick_trials == 0) continue;
    ASSERT_LT(q, quick.size());
    EXPECT_EQ(quick[q].config_path, full[i].config_path);
    EXPECT_EQ(quick[q].run.sets, run.sets) << run.config;
    EXPECT_EQ(quick[q].trials, run.quick_trials) << run.config;
    EXPECT_EQ(quick[q].max_sequences, run.quick_max_sequences) << run.config;
    EXPECT_LE(quick[q].trials, full[i].trials) << run.config;
    EXPECT_LE(quick[q].max_sequences, full[i].max_sequences) << run.config;
    ++q;
  }
  EXPECT_EQ(q, quick.size());
  EXPECT_LT(quick.size(), full.size());
  // A run's own overrides reach its config: Table 3's q = 1000, p = 50 row has 364 weights' p.
  bool saw_override = false;
  for (const auto& planned : full) {
    if (planned.run.sets.empty()) continue;
    saw_override = true;
    for (const auto& set : planned.run.sets) {
      const std::string key = set.substr(0, set.find('=')), value = set.substr(set.find('=') + 1);
      const std::string leaf = key.substr(key.find('.') + 1);
      EXPECT_NE(planned.resolved_yaml.find(leaf + ": " + value), std::string::npos)
          << set << " not in\n"
          << planned.resolved_yaml;
    }
  }
  EXPECT_TRUE(saw_override);
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
