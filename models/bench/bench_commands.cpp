#include "models/bench/bench_commands.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "core/config.h"
#include "models/bench/bench_app.h"

namespace po = boost::program_options;

namespace lstmnlp::bench {
namespace {

using Kind = cli::ConfigFlag::Kind;

void add_options(po::options_description& desc) {
  desc.add_options()("json", po::value<std::string>()->default_value(""),
                     "also write the rows to FILE");
}

void run(const cli::CommonOptions& common, const po::variables_map& vm) {
  // The config file (if any), then --set, then the config flags (common.sets ends with them).
  auto config = config::load<BenchConfig>(common.config, common.sets);
  config.seed = common.seed;
  config.device = cli::resolve_device(common.device).str();
  run_lstm_bench_report(config, vm["json"].as<std::string>(), std::cout);
}

}  // namespace

std::vector<cli::Command> commands() {
  cli::Command command{"", "", add_options, {}, run};
  command.config_flags = {
      {"steps,T", "steps", "time steps T (default 35)"},
      {"batch,B", "batch", "batch size B (default 20)"},
      {"hidden", "hidden_sizes", "hidden sizes, one table row group each (default 650 256)",
       Kind::kList},
      {"input", "input_size", "input features (default 0 = hidden size)"},
      {"layers", "layers", "stacked layers (default 1)"},
      {"bidirectional", "bidirectional", "two directions per layer", Kind::kSwitch},
      {"modes", "modes", "any of forward_backward, forward, inference (default all three)",
       Kind::kList},
      {"warmup", "warmup", "untimed rounds (default 3)"},
      {"repetitions", "repetitions", "timed rounds; the median is reported (default 15)"},
      {"profile", "profile", "also print where the time of a round goes, phase by phase",
       Kind::kSwitch},
  };
  return {command};
}

}  // namespace lstmnlp::bench
