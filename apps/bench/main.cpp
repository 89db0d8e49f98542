// lstm-bench: lstmnlp::LSTM against torch::nn::LSTM, side by side in one process.
//
//   lstm-bench                                   # T=35, B=20, hidden 650 and 256, all modes
//   lstm-bench -T 35 -B 20 --hidden 650 --layers 2 --modes forward_backward --json bench.json

#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "core/cli.h"
#include "core/config.h"
#include "models/lstm_bench.h"

namespace po = boost::program_options;

namespace {

void add_options(po::options_description& desc) {
  const lstmnlp::LSTMBenchConfig defaults;
  auto option = desc.add_options();
  option("steps,T", po::value<int64_t>()->default_value(defaults.steps), "time steps T");
  option("batch,B", po::value<int64_t>()->default_value(defaults.batch), "batch size B");
  option("hidden",
         po::value<std::vector<int64_t>>()->multitoken()->default_value(defaults.hidden_sizes,
                                                                        "650 256"),
         "hidden sizes, one table row group each");
  option("input", po::value<int64_t>()->default_value(0), "input features (0 = hidden size)");
  option("layers", po::value<int64_t>()->default_value(defaults.layers), "stacked layers");
  option("bidirectional", po::bool_switch(), "two directions per layer");
  option("modes",
         po::value<std::vector<std::string>>()->multitoken()->default_value(
             defaults.modes, "forward_backward forward inference"),
         "any of forward_backward, forward, inference");
  option("warmup", po::value<int64_t>()->default_value(defaults.warmup), "untimed rounds");
  option("repetitions", po::value<int64_t>()->default_value(defaults.repetitions),
         "timed rounds; the median is reported");
  option("json", po::value<std::string>()->default_value(""), "also write the rows to FILE");
}

void run(const lstmnlp::cli::CommonOptions& common, const po::variables_map& vm) {
  // The config file (if any) first, then --set, then options given on the command line.
  auto config = lstmnlp::config::load<lstmnlp::LSTMBenchConfig>(common.config, common.sets);
  auto given = [&](const char* name) { return vm.count(name) && !vm[name].defaulted(); };
  if (given("steps")) config.steps = vm["steps"].as<int64_t>();
  if (given("batch")) config.batch = vm["batch"].as<int64_t>();
  if (given("hidden")) config.hidden_sizes = vm["hidden"].as<std::vector<int64_t>>();
  if (given("input")) config.input_size = vm["input"].as<int64_t>();
  if (given("layers")) config.layers = vm["layers"].as<int64_t>();
  if (vm["bidirectional"].as<bool>()) config.bidirectional = true;
  if (given("modes")) config.modes = vm["modes"].as<std::vector<std::string>>();
  if (given("warmup")) config.warmup = vm["warmup"].as<int64_t>();
  if (given("repetitions")) config.repetitions = vm["repetitions"].as<int64_t>();
  config.seed = common.seed;
  config.device = lstmnlp::cli::resolve_device(common.device).str();
  lstmnlp::run_lstm_bench_report(config, vm["json"].as<std::string>(), std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  return lstmnlp::cli::run_app(argc, argv, "lstm-bench",
                               "Compares lstmnlp::LSTM with torch::nn::LSTM (speed, memory, "
                               "agreement).",
                               {{"", "", add_options, {}, run}});
}
