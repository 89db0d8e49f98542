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

std::vector<std::string> quick_sets(const BatteryRun& run, bool quick) {
  if (!quick) return {};
  return {"train.trials=" + std::to_string(run.quick_trials),
          "train.max_sequences=" + std::to_string(run.quick_max_sequences)};
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
  } else {
    throw std::logic_error("battery: unknown command " + run.command);
  }
}

}  // namespace

const std::vector<BatteryRun>& battery() {
  // The last column: sequences/s on 2 threads, as measured on a 2-core Xeon (2026-12-05).
  static const std::vector<BatteryRun> runs = {
      // Experiment 1, Table 1: both of the paper's nets, then the modern rows.
      {"reber", "reber-paper.yaml", true, 6, 60000, 61000},
      {"reber", "reber-4x1-paper.yaml", true, 6, 100000, 72000},
      {"reber", "reber.yaml", false, 6, 60000, 44000},
      {"reber", "reber-standard.yaml", false, 6, 60000, 55000},
      // Experiment 2a, Table 2.
      {"long-lag", "long-lag-2a-paper.yaml", true, 4, 20000, 1400},
      {"long-lag", "long-lag.yaml", false, 4, 20000, 1400},
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
    PlannedRun planned;
    planned.run = run;
    planned.config_path = (fs::path(options.config_dir) / run.config).string();
    if (!fs::is_regular_file(planned.config_path, ec)) {
      throw InputError(planned.config_path + ": config of the battery not found");
    }
    with_config(run, planned.config_path, quick_sets(run, options.quick),
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
    std::cerr << "[" << i + 1 << "/" << plan.size() << "] lstm-paper " << p.run.command
              << " --config " << p.config_path << ": " << p.trials << " trials, cap "
              << with_commas(p.max_sequences) << " sequences each, "
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
    out << "| " << r.title << " | `" << b.run.config << "` | " << (b.run.paper_exact ? "yes" : "no")
        << " | " << r.weights << " | " << r.successes() << " of " << r.trials.size() << " ("
        << paper_success << ") | "
        << (mean ? with_commas(static_cast<int64_t>(std::llround(*mean))) : dash) << " ("
        << paper_sequences << ") | " << duration(r.wall_s) << " | "
        << with_commas(static_cast<int64_t>(rate)) << " |\n";
  }
  out << "\n## Each run\n\n";
  for (const auto& b : report.results) {
    out << "`lstm-paper " << b.run.command << " --config " << b.config_path << "`"
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
    run["paper_exact"] = b.run.paper_exact;
    run["resolved_config"] = b.resolved_yaml;
    run["result"] = to_json(b.result);
    j["runs"].push_back(std::move(run));
  }
  return j;
}

}  // namespace lstmnlp::paper
