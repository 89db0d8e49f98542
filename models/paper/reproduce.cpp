#include "models/paper/reproduce.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/config.h"
#include "core/error.h"

namespace lstmnlp::paper {
namespace {

using Clock = std::chrono::steady_clock;

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return fixed(seconds / 3600.0, 1) + " h";
}

// The run's own overrides, then --quick's trials and cap.
std::vector<std::string> run_sets(const BatteryRun& run, bool quick) {
  std::vector<std::string> sets = run.sets;
  if (quick) {
    sets.push_back("train.trials=" + std::to_string(run.quick_trials));
    sets.push_back("train.max_sequences=" + std::to_string(run.quick_max_sequences));
  }
  return sets;
}

// The command that runs `run` alone: lstm-paper COMMAND --config PATH [--set KEY=VALUE ...].
std::string command_line(const BatteryRun& run, const std::string& config_path) {
  std::string line = "lstm-paper " + run.command + " --config " + config_path;
  for (const auto& set : run.sets) line += " --set " + set;
  return line;
}

// Loads `run`'s config with `sets` as its command would, and hands it to `use`.
template <class Use>
void with_config(const BatteryRun& run, const std::string& path,
                 const std::vector<std::string>& sets, Use&& use) {
  if (run.command == "reber") {
    use(config::load<ReberConfig>(path, sets), &run_reber);
  } else if (run.command == "adding") {
    use(config::load<AddingConfig>(path, sets), &run_adding);
  } else if (run.command == "multiplication") {
    use(config::load<MultiplicationConfig>(path, sets), &run_multiplication);
  } else if (run.command == "temporal-order") {
    use(config::load<TemporalOrderConfig>(path, sets), &run_temporal_order);
  } else if (run.command == "long-lag") {
    use(config::load<LongLagConfig>(path, sets), &run_long_lag);
  } else if (run.command == "very-long-lag") {
    use(config::load<VeryLongLagConfig>(path, sets), &run_very_long_lag);
  } else if (run.command == "two-sequence") {
    use(config::load<TwoSequenceConfig>(path, sets), &run_two_sequence);
  } else {
    throw std::logic_error("battery: unknown command " + run.command);
  }
}

}  // namespace

const std::vector<BatteryRun>& battery() {
  // The rate: sequences/s on 2 threads, as measured on a 2-core Xeon (2026-12-05 and -06).
  static const std::vector<BatteryRun> runs = {
      // Experiment 1, Table 1: both of the paper's nets, then the modern rows and the baseline.
      {"reber", "reber-paper.yaml", true, 6, 60000, 61000},
      {"reber", "reber-4x1-paper.yaml", true, 6, 100000, 72000},
      {"reber", "reber.yaml", false, 6, 60000, 44000},
      {"reber", "reber-standard.yaml", false, 6, 60000, 55000},
      {"reber", "reber-rnn.yaml", false, 2, 5000, 3100},
      // Experiment 2a, Table 2, then 2b.
      {"long-lag", "long-lag-2a-paper.yaml", true, 4, 20000, 3400},
      {"long-lag", "long-lag.yaml", false, 4, 20000, 1400},
      {"long-lag", "long-lag-2a-rnn.yaml", false, 2, 500, 190},
      {"long-lag", "long-lag-2b-paper.yaml", true, 2, 30000, 3400},
      // Experiment 2c, Table 3: q = p up to 1000, then more frequent distractors at q = 1000.
      {"very-long-lag", "very-long-lag-2c-paper.yaml", true, 4, 300000, 126000},
      {"very-long-lag",
       "very-long-lag-2c-paper.yaml",
       true,
       0,
       0,
       50000,
       {"very_long_lag.q=100", "very_long_lag.p=100"}},
      {"very-long-lag",
       "very-long-lag-2c-paper.yaml",
       true,
       0,
       0,
       23000,
       {"very_long_lag.q=200", "very_long_lag.p=200"}},
      {"very-long-lag",
       "very-long-lag-2c-paper.yaml",
       true,
       0,
       0,
       1100,
       {"very_long_lag.q=1000", "very_long_lag.p=1000", "train.max_sequences=300000"}},
      {"very-long-lag",
       "very-long-lag-2c-paper.yaml",
       true,
       0,
       0,
       8800,
       {"very_long_lag.q=1000", "very_long_lag.p=50"}},
      // Experiment 3, Tables 4-6.
      {"two-sequence", "two-sequence-3a-paper.yaml", true, 2, 100000, 38000},
      {"two-sequence", "two-sequence-3a-paper.yaml", true, 0, 0, 38000, {"two_sequence.info=1"}},
      {"two-sequence",
       "two-sequence-3a-paper.yaml",
       true,
       0,
       0,
       6100,
       {"two_sequence.min_length=1000"}},
      {"two-sequence", "two-sequence-3b-paper.yaml", true, 2, 100000, 38000},
      {"two-sequence", "two-sequence-3b-paper.yaml", true, 0, 0, 38000, {"two_sequence.info=1"}},
      {"two-sequence",
       "two-sequence-3b-paper.yaml",
       true,
       0,
       0,
       6100,
       {"two_sequence.min_length=1000", "two_sequence.info=1"}},
      {"two-sequence", "two-sequence-3c-paper.yaml", true, 1, 400000, 38000},
      {"two-sequence", "two-sequence-3c-paper.yaml", true, 0, 0, 38000, {"two_sequence.info=1"}},
      // Experiment 4, Table 7.
      {"adding", "adding.yaml", true, 4, 150000, 37000},
      // Experiment 5, Table 8.
      {"multiplication", "multiplication-paper.yaml", true, 4, 150000, 37000},
      {"multiplication", "multiplication.yaml", false, 4, 150000, 34000},
      // Experiment 6, Table 9.
      {"temporal-order", "temporal-order-6a-paper.yaml", true, 4, 100000, 33000},
      {"temporal-order", "temporal-order-6b-paper.yaml", true, 2, 600000, 19000},
      {"temporal-order", "temporal-order.yaml", false, 4, 100000, 24000},
  };
  return runs;
}

std::vector<PlannedRun> plan_battery(const BatteryOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(options.config_dir, ec)) {
    throw InputError(options.config_dir +
                     ": no such directory of paper configs (run from the project root, or "
                     "pass --configs DIR)");
  }
  std::vector<PlannedRun> plan;
  for (const auto& run : battery()) {
    if (options.quick && run.quick_trials == 0) continue;
    PlannedRun planned;
    planned.run = run;
    planned.config_path = (fs::path(options.config_dir) / run.config).string();
    if (!fs::is_regular_file(planned.config_path, ec)) {
      throw InputError(planned.config_path + ": config of the battery not found");
    }
    with_config(run, planned.config_path, run_sets(run, options.quick),
                [&](const auto& cfg, auto experiment) {
                  planned.resolved_yaml = config::to_yaml(cfg);
                  planned.trials = cfg.train.trials;
                  planned.max_sequences = cfg.train.max_sequences;
                  planned.start = [cfg, experiment](const RunOptions& run_options) {
                    return experiment(cfg, run_options);
                  };
                });
    plan.push_back(std::move(planned));
  }
  return plan;
}

BatteryReport run_battery(const BatteryOptions& options, const std::vector<PlannedRun>& plan) {
  int64_t budget = 0;
  int trials = 0;
  double seconds = 0;  // at most, at the measured rates on 2 threads
  for (const auto& p : plan) {
    budget += p.trials * p.max_sequences;
    trials += p.trials;
    seconds += static_cast<double>(p.trials * p.max_sequences) / p.run.sequences_per_s * 2.0 /
               std::min(options.run.threads, std::max(p.trials, 1));
  }
  std::cerr << "lstm-paper reproduce" << (options.quick ? " --quick" : "") << ": " << plan.size()
            << " runs, " << trials << " trials, at most " << with_commas(budget)
            << " training sequences (trials x train.max_sequences; a trial stops at success): "
            << duration(seconds) << " at most on " << options.run.threads
            << (options.run.threads == 1 ? " thread" : " threads")
            << " at the rates of a 2-core Xeon\n";
  BatteryReport report;
  report.quick = options.quick;
  report.seed = options.run.seed;
  report.threads = options.run.threads;
  const auto start = Clock::now();
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& p = plan[i];
    std::cerr << "[" << i + 1 << "/" << plan.size() << "] " << command_line(p.run, p.config_path)
              << ": " << p.trials << " trials, cap " << with_commas(p.max_sequences)
              << " sequences each, "
              << duration(std::chrono::duration<double>(Clock::now() - start).count())
              << " into the battery\n";
    report.results.push_back({p.run, p.config_path, p.resolved_yaml, p.start(options.run)});
  }
  report.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

std::string battery_markdown(const BatteryReport& report) {
  const std::string dash = "—";
  std::ostringstream out;
  out << "# Hochreiter & Schmidhuber (1997), reproduced by `lstm-paper reproduce"
      << (report.quick ? " --quick" : "") << "`\n\n"
      << (report.quick ? "Quick mode: fewer trials and shorter caps than the paper's, so success "
                         "rates and means are indicative only.\n\n"
                       : "")
      << "Seed " << report.seed << ", " << report.threads
      << (report.threads == 1 ? " thread" : " threads") << ", " << duration(report.wall_s)
      << " in all. \"Paper net\": the paper's architecture, weight count, initialisation and "
         "learning rule; the other rows are modern variants, beyond the paper.\n\n"
      << "| Experiment | Config | Paper net | Weights | Success: ours (paper) | Mean sequences "
         "to success: ours (paper) | Wall time | Sequences/s |\n"
      << "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& b : report.results) {
    const auto& r = b.result;
    const std::string paper_success = r.paper ? r.paper->success : dash;
    const std::string paper_sequences = r.paper ? r.paper->sequences : dash;
    const auto mean = r.sequences_mean();
    const double rate = r.wall_s > 0 ? r.total_sequences() / r.wall_s : 0.0;
    std::string config = b.run.config;
    for (const auto& set : b.run.sets) config += " " + set;
    out << "| " << r.title << " | `" << config << "` | " << (b.run.paper_exact ? "yes" : "no")
        << " | " << with_commas(r.weights) << " | " << r.successes() << " of " << r.trials.size()
        << " (" << paper_success << ") | "
        << (mean ? with_commas(static_cast<int64_t>(std::llround(*mean))) : dash) << " ("
        << paper_sequences << ") | " << duration(r.wall_s) << " | "
        << with_commas(static_cast<int64_t>(rate)) << " |\n";
  }
  out << "\n## Each run\n\n";
  for (const auto& b : report.results) {
    out << "`" << command_line(b.run, b.config_path) << "`"
        << (report.quick ? " (with --quick's trials and cap)" : "") << "\n\n"
        << markdown_table(b.result) << "\n";
  }
  return out.str();
}

nlohmann::json battery_json(const BatteryReport& report) {
  nlohmann::json j;
  j["mode"] = report.quick ? "quick" : "full";
  j["seed"] = report.seed;
  j["threads"] = report.threads;
  j["wall_s"] = report.wall_s;
  j["runs"] = nlohmann::json::array();
  for (const auto& b : report.results) {
    nlohmann::json run;
    run["command"] = b.run.command;
    run["config"] = b.config_path;
    run["sets"] = b.run.sets;
    run["paper_exact"] = b.run.paper_exact;
    run["resolved_config"] = b.resolved_yaml;
    run["result"] = to_json(b.result);
    j["runs"].push_back(std::move(run));
  }
  return j;
}

}  // namespace lstmnlp::paper
