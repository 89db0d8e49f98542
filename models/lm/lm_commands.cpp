#include "models/lm/lm_commands.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "core/config.h"
#include "core/distributed.h"
#include "core/error.h"
#include "models/lm/lm_app.h"

namespace po = boost::program_options;

namespace lstmnlp::lm {
namespace {

void add_train_options(po::options_description& desc) {
  desc.add_options()("resume", po::value<std::string>(),
                     "checkpoint to continue from (RUN/latest.pt)")(
      "overwrite", po::bool_switch(), "replace a run already in --output-dir (else refused)");
}

void train_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  LmTrainOptions options;
  options.device = cli::resolve_device(common.device);
  if (common.config.empty()) throw InputError("train needs --config FILE");
  const auto cfg = config::load<LmConfig>(common.config, common.sets);
  if (!common.output_dir.empty()) options.run_dir = common.output_dir;
  if (vm.count("resume")) options.resume = vm["resume"].as<std::string>();
  options.overwrite = vm["overwrite"].as<bool>();
  run_lm_train(cfg, options, dist::main_log());
}

void add_eval_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "checkpoint written by train");
  option("file", po::value<std::string>(), "text to score (default: the config's test text)");
  option("batch-size", po::value<int64_t>()->default_value(0),
         "parallel streams (0 = data.test_batch_size; 1 predicts every token)");
  option("bptt", po::value<int64_t>()->default_value(0), "steps per forward (0 = data.bptt)");
}

void eval_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  LmEvalOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  if (vm.count("file")) options.file = vm["file"].as<std::string>();
  // The ranges of data.test_batch_size and data.bptt, with 0 for "the config's".
  options.batch_size = cli::int_option(vm, "batch-size", {0, 1e6});
  options.bptt = cli::int_option(vm, "bptt", {0, 1e6});
  options.device = cli::resolve_device(common.device);
  run_lm_eval(options, std::cout);
}

void add_generate_options(po::options_description& desc) {
  const LmGenerateOptions defaults;
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "checkpoint written by train");
  option("prompt", po::value<std::string>()->default_value(""),
         "text to continue; words outside the vocabulary read as <unk>");
  option("length", po::value<int64_t>()->default_value(defaults.length), "tokens to sample");
  option("temperature", po::value<double>()->default_value(1.0, "1"),
         "divides the logits; 0 = greedy");
  option("top-k", po::value<int64_t>()->default_value(0), "sample among the k likeliest (0 = all)");
  option("top-p", po::value<double>()->default_value(1.0, "1"),
         "nucleus: sample among the likeliest with this total probability (1 = all)");
}

void generate_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  LmGenerateOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  options.prompt = vm["prompt"].as<std::string>();
  options.length = cli::int_option(vm, "length", {0, 1e9});
  options.sampling.temperature = cli::number_option(vm, "temperature", {0.0, 1e3});
  options.sampling.top_k = cli::int_option(vm, "top-k", {0, 1e9});
  options.sampling.top_p = cli::number_option(vm, "top-p", {0.0, 1.0});
  options.seed = common.seed;
  options.device = cli::resolve_device(common.device);
  run_lm_generate(options, std::cout, std::cerr);
}

void add_export_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "checkpoint written by train");
  option("output", po::value<std::string>()->required(),
         "folder for model.pt, vocab.txt, config.yaml and README.md");
  option("overwrite", po::bool_switch(), "replace an export already in --output");
}

void export_command(const cli::CommonOptions&, const po::variables_map& vm) {
  LmExportOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  options.output_dir = vm["output"].as<std::string>();
  options.overwrite = vm["overwrite"].as<bool>();
  run_lm_export(options, std::cerr);
}

void add_import_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("state-dict", po::value<std::string>()->required(),
         "torch.save(model.state_dict()) of word_language_model's RNNModel('LSTM', ...)");
  option("vocab", po::value<std::string>()->required(),
         "the vocabulary, one word per line in id order (Dictionary.idx2word)");
  option("output", po::value<std::string>()->required(), "run folder for best.pt and config.yaml");
  option("overwrite", po::bool_switch(), "replace a run already in --output");
}

void import_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  if (common.config.empty()) {
    throw InputError("import needs --config FILE (the model section gives the sizes)");
  }
  const auto cfg = config::load<LmConfig>(common.config, common.sets);
  LmImportOptions options;
  options.state_dict = vm["state-dict"].as<std::string>();
  options.vocab = vm["vocab"].as<std::string>();
  options.run_dir = vm["output"].as<std::string>();
  options.overwrite = vm["overwrite"].as<bool>();
  run_lm_import(cfg, options, std::cerr);
}

}  // namespace

std::vector<cli::Command> commands() {
  return {
      {"train",
       "train a model from a config",
       add_train_options,
       {},
       train_command,
       {},
       /*distributed=*/true},
      {"eval", "perplexity of a checkpoint on a text", add_eval_options, {}, eval_command},
      {"generate", "sample text from a checkpoint", add_generate_options, {}, generate_command},
      {"export",
       "write a checkpoint as a PyTorch state_dict of word_language_model's RNNModel",
       add_export_options,
       {},
       export_command},
      {"import",
       "make a checkpoint from a state_dict of word_language_model's RNNModel",
       add_import_options,
       {},
       import_command},
  };
}

}  // namespace lstmnlp::lm
