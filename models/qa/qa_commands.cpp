#include "models/qa/qa_commands.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "core/config.h"
#include "core/distributed.h"
#include "core/error.h"
#include "models/qa/qa_app.h"

namespace po = boost::program_options;

namespace lstmnlp::qa {
namespace {

void add_train_options(po::options_description& desc) {
  desc.add_options()("resume", po::value<std::string>(),
                     "checkpoint to continue from (RUN/latest.pt)")(
      "overwrite", po::bool_switch(), "replace a run already in --output-dir (else refused)");
}

void train_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  QaTrainOptions options;
  options.device = cli::resolve_device(common.device);
  if (common.config.empty()) throw InputError("train needs --config FILE");
  const auto cfg = config::load<QaConfig>(common.config, common.sets);
  options.run_dir = common.output_dir;
  options.seed = common.seed;
  options.seed_given = common.seed_given;
  if (vm.count("resume")) options.resume = vm["resume"].as<std::string>();
  options.overwrite = vm["overwrite"].as<bool>();
  run_qa_train(cfg, options, dist::main_log());
}

void add_predict_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "run directory or .pt file");
  option("data", po::value<std::string>()->required(), "SQuAD JSON whose questions to answer");
  option("output", po::value<std::string>()->required(), "predictions JSON to write");
  option("nbest", po::value<int64_t>()->default_value(1),
         "also write the N best spans with their scores (to OUTPUT with .nbest.json)");
  option("batch-size", po::value<int64_t>()->default_value(64), "questions per batch");
}

void predict_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  QaPredictOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  options.data = vm["data"].as<std::string>();
  options.output = vm["output"].as<std::string>();
  options.nbest = cli::int_option(vm, "nbest", {1, 1000});
  options.batch_size = cli::int_option(vm, "batch-size", {1, 1e6});
  options.device = cli::resolve_device(common.device);
  run_qa_predict(options, std::cerr);
}

void add_eval_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("data", po::value<std::string>()->required(), "SQuAD v1.1 JSON with the ground truths");
  option("predictions", po::value<std::string>()->required(),
         "predictions JSON {\"question id\": \"answer\"}");
}

void eval_command(const cli::CommonOptions& /*common*/, const po::variables_map& vm) {
  run_qa_eval({vm["data"].as<std::string>(), vm["predictions"].as<std::string>()}, std::cout,
              std::cerr);
}

void add_answer_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "run directory or .pt file");
  option("context", po::value<std::string>()->required(), "text file holding the passage");
  option("question", po::value<std::string>(),
         "the question (default: read questions from standard input, one per line)");
}

void answer_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  QaAnswerOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  options.context = vm["context"].as<std::string>();
  if (vm.count("question")) options.question = vm["question"].as<std::string>();
  options.device = cli::resolve_device(common.device);
  run_qa_answer(options, std::cin, std::cout);
}

void add_profile_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "run directory or .pt file");
  option("data", po::value<std::string>(), "SQuAD JSON to draw batches from (default: data.train)");
  option("steps", po::value<int64_t>()->default_value(20), "training steps to time");
}

void profile_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  QaProfileOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  if (vm.count("data")) options.data = vm["data"].as<std::string>();
  options.steps = cli::int_option(vm, "steps", {1, 1e9});
  options.device = cli::resolve_device(common.device);
  run_qa_profile(options, std::cout);
}

}  // namespace

std::vector<cli::Command> commands() {
  return {
      {"train",
       "train a reader from a config",
       add_train_options,
       {},
       train_command,
       {},
       /*distributed=*/true},
      {"predict",
       "answer every question of a SQuAD file (official prediction JSON)",
       add_predict_options,
       {},
       predict_command},
      {"eval",
       "score predictions with the official SQuAD v1.1 metric",
       add_eval_options,
       {},
       eval_command},
      {"answer",
       "answer questions about a passage at the terminal",
       add_answer_options,
       {},
       answer_command},
      {"profile",
       "time the parts of a training step of a checkpoint's model",
       add_profile_options,
       {},
       profile_command},
  };
}

}  // namespace lstmnlp::qa
