#include "models/paper/paper_commands.h"

#include <torch/torch.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include "core/config.h"
#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "models/paper/experiment.h"
#include "models/paper/reproduce.h"

namespace po = boost::program_options;

namespace lstmnlp::paper {
namespace {

// Every core unless told otherwise: trials are independent and single-threaded.
int trial_threads(const cli::CommonOptions& common) {
  return common.threads > 0 ? common.threads
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Loads the experiment's config, runs it, prints the table and writes the outputs.
template <class Config>
void run_command(const cli::CommonOptions& common, const po::variables_map& vm,
                 ExperimentResult (*run)(const Config&, const RunOptions&)) {
  const Config cfg = config::load<Config>(common.config, common.sets);
  if (common.device != "auto" && common.device != "cpu") {
    throw InputError("--device " + common.device + ": lstm-paper runs its small nets on the CPU");
  }
  const std::string resolved = config::to_yaml(cfg);
  // A run directory of lstm-paper holds the results of one run; another run needs --overwrite.
  const std::vector<std::string> run_files = {"results.json", "table.md"};
  if (!common.output_dir.empty()) {
    check_run_dir(common.output_dir, /*resume=*/false, vm["overwrite"].as<bool>(), run_files);
    remove_run_files(common.output_dir, run_files);
    prepare_run_dir(common.output_dir, resolved);
  }

  RunOptions options;
  options.seed = common.seed;
  options.threads = trial_threads(common);
  const ExperimentResult result = run(cfg, options);

  const std::string table = markdown_table(result);
  std::cout << table << std::flush;
  const std::string json = to_json(result).dump(2) + "\n";
  if (vm.count("json")) write_text(vm["json"].as<std::string>(), json);
  if (!common.output_dir.empty()) {
    write_text(common.output_dir + "/results.json", json);
    write_text(common.output_dir + "/table.md", table);
  }
}

template <class Config>
cli::Command make_command(const std::string& name, const std::string& summary,
                          ExperimentResult (*run)(const Config&, const RunOptions&)) {
  cli::Command c;
  c.name = name;
  c.summary = summary;
  c.add_options = [](po::options_description& desc) {
    desc.add_options()("json", po::value<std::string>(), "write the JSON summary to FILE")(
        "overwrite", po::bool_switch(), "replace the results of an earlier run in --output-dir");
  };
  c.config_flags = {{"trials", "train.trials", "number of trials"}};
  c.run = [run](const cli::CommonOptions& common, const po::variables_map& vm) {
    run_command<Config>(common, vm, run);
  };
  return c;
}

cli::Command reproduce_command() {
  cli::Command c;
  c.name = "reproduce";
  c.summary = "the whole battery: every experiment, the paper's nets and the modern variants";
  c.add_options = [](po::options_description& desc) {
    desc.add_options()("quick", po::bool_switch(),
                       "fewer trials and shorter caps: about 10 minutes on 2 cores")(
        "configs", po::value<std::string>()->default_value("configs/paper"),
        "directory of the battery's configs")(
        "overwrite", po::bool_switch(), "replace the report of an earlier run in --output-dir");
  };
  c.run = [](const cli::CommonOptions& common, const po::variables_map& vm) {
    if (!common.config.empty() || !common.sets.empty()) {
      throw InputError(
          "reproduce runs the battery's own configs (see --configs); --config and "
          "--set belong to the single experiments");
    }
    if (common.device != "auto" && common.device != "cpu") {
      throw InputError("--device " + common.device + ": lstm-paper runs its small nets on the CPU");
    }
    BatteryOptions options;
    options.quick = vm["quick"].as<bool>();
    options.config_dir = vm["configs"].as<std::string>();
    options.run.seed = common.seed;
    options.run.threads = trial_threads(common);
    const std::string dir = !common.output_dir.empty() ? common.output_dir
                            : options.quick            ? "runs/paper-reproduce-quick"
                                                       : "runs/paper-reproduce";
    const std::vector<std::string> run_files = {"report.md", "report.json"};
    const auto plan = plan_battery(options);  // every config loads before anything is written
    check_run_dir(dir, /*resume=*/false, vm["overwrite"].as<bool>(), run_files);
    remove_run_files(dir, run_files);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError(dir + ": cannot create the output directory (" + ec.message() + ")");
    const BatteryReport report = run_battery(options, plan);
    const std::string markdown = battery_markdown(report);
    write_text(dir + "/report.json", battery_json(report).dump(2) + "\n");
    write_text(dir + "/report.md", markdown);
    std::cout << markdown << "report: " << dir << "/report.md and report.json\n" << std::flush;
  };
  return c;
}

}  // namespace

std::vector<cli::Command> commands() {
  return {
      make_command<ReberConfig>("reber", "Embedded Reber grammar (experiment 1)", &run_reber),
      make_command<AddingConfig>("adding", "adding problem (experiment 4)", &run_adding),
      make_command<MultiplicationConfig>("multiplication", "multiplication problem (experiment 5)",
                                         &run_multiplication),
      make_command<TemporalOrderConfig>("temporal-order", "temporal order 6a/6b (experiment 6)",
                                        &run_temporal_order),
      make_command<LongLagConfig>("long-lag",
                                  "long time lags, noise-free (2a) or no local regularities (2b)",
                                  &run_long_lag),
      make_command<VeryLongLagConfig>("very-long-lag",
                                      "very long time lags, no local regularities (experiment 2c)",
                                      &run_very_long_lag),
      make_command<TwoSequenceConfig>(
          "two-sequence", "noise and signal on the same channel, 3a/3b/3c (experiment 3)",
          &run_two_sequence),
      reproduce_command(),
  };
}

}  // namespace lstmnlp::paper
