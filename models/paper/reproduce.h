#pragma once

// `lstm-paper reproduce`: the battery of Hochreiter & Schmidhuber (1997), every experiment's
// paper-exact net (configs/paper/*-paper.yaml, adding.yaml) and the modern variants beside them,
// run in turn into one report with the paper's figures beside ours.
//
//   BatteryOptions options;
//   options.quick = true;  // fewer trials and shorter caps: minutes, not hours
//   const BatteryReport report = run_battery(options, plan_battery(options));
//   write_text("report.md", battery_markdown(report));

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/paper/experiment.h"

namespace lstmnlp::paper {

/// One run of the battery: `lstm-paper COMMAND --config CONFIG_DIR/CONFIG --set SETS...`.
struct BatteryRun {
  std::string command;          ///< an experiment command of lstm-paper (reber, long-lag, ...)
  std::string config;           ///< a file of the config directory
  bool paper_exact;             ///< the paper's own net, or a modern variant (an extra row)
  int quick_trials;             ///< train.trials under --quick; 0 leaves the run out of --quick
  int64_t quick_max_sequences;  ///< train.max_sequences under --quick
  double sequences_per_s;       ///< as measured on 2 threads, for the expected duration
  std::vector<std::string> sets = {};  ///< overrides of the config: another row of its table
};

/// The battery, in the paper's order of experiments.
const std::vector<BatteryRun>& battery();

struct BatteryOptions {
  std::string config_dir = "configs/paper";
  bool quick = false;
  RunOptions run;
};

/// One finished run: its config file, the config as run (YAML) and its result.
struct BatteryResult {
  BatteryRun run;
  std::string config_path;
  std::string resolved_yaml;
  ExperimentResult result;
};

struct BatteryReport {
  bool quick = false;
  uint64_t seed = 0;
  int threads = 1;
  double wall_s = 0.0;
  std::vector<BatteryResult> results;
};

/// The configs of the battery as they will run, each with the trials and caps of `quick`;
/// InputError for a missing or invalid config, before anything runs.
struct PlannedRun {
  BatteryRun run;
  std::string config_path;
  std::string resolved_yaml;
  int trials = 0;
  int64_t max_sequences = 0;
  /// Runs the loaded config, as its command would.
  std::function<ExperimentResult(const RunOptions&)> start;
};
std::vector<PlannedRun> plan_battery(const BatteryOptions& options);

/// Runs `plan` (from plan_battery(options)) in turn, with a line before each run on stderr.
BatteryReport run_battery(const BatteryOptions& options, const std::vector<PlannedRun>& plan);

/// The report: a summary table (ours beside the paper's, per run) and each run's own table.
std::string battery_markdown(const BatteryReport& report);
/// The report as JSON: mode, seed, threads, wall_s and per run its config, whether it is the
/// paper's net, and to_json() of its result.
nlohmann::json battery_json(const BatteryReport& report);

}  // namespace lstmnlp::paper
