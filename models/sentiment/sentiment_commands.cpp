#include "models/sentiment/sentiment_commands.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/distributed.h"
#include "core/error.h"
#include "models/sentiment/predict.h"
#include "models/sentiment/sentiment_app.h"

namespace po = boost::program_options;

namespace lstmnlp::sentiment {
namespace {

void add_train_options(po::options_description& desc) {
  desc.add_options()("resume", po::value<std::string>(),
                     "checkpoint to continue from (RUN/latest.pt)")(
      "overwrite", po::bool_switch(), "replace a run already in --output-dir (else refused)");
}

void train_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  const auto cfg = config::load<SentimentConfig>(common.config, common.sets);
  SentimentTrainOptions options;
  options.run_dir = common.output_dir;
  options.seed = common.seed;
  options.seed_given = common.seed_given;
  if (vm.count("resume")) options.resume = vm["resume"].as<std::string>();
  options.overwrite = vm["overwrite"].as<bool>();
  options.device = cli::resolve_device(common.device);
  run_sentiment_train(cfg, options, dist::main_log());
}

void add_eval_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "run directory or .pt file");
  option("input", po::value<std::string>()->required(), "labelled file (or class directory)");
  option("format", po::value<std::string>(), "auto, tsv, csv, jsonl or class_files");
  option("text-column", po::value<std::string>(), "text column or field (default: training's)");
  option("label-column", po::value<std::string>(), "label column or field (default: training's)");
  option("output", po::value<std::string>(), "also write the report as JSON to this file");
  option("batch-size", po::value<int64_t>()->default_value(256), "examples per batch");
}

void eval_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  SentimentEvalOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  options.input = vm["input"].as<std::string>();
  if (vm.count("format")) options.format = vm["format"].as<std::string>();
  if (vm.count("text-column")) options.text_column = vm["text-column"].as<std::string>();
  if (vm.count("label-column")) options.label_column = vm["label-column"].as<std::string>();
  if (vm.count("output")) options.output = vm["output"].as<std::string>();
  options.batch_size = cli::int_option(vm, "batch-size", {1, 1e6});
  options.device = cli::resolve_device(common.device);
  run_sentiment_eval(options, std::cout);
}

void add_predict_options(po::options_description& desc) {
  const SentimentPredictOptions defaults;
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "run directory or .pt file");
  option("input", po::value<std::vector<std::string>>()->multitoken()->required(),
         "text files, one example per line, or - for stdin");
  option("output", po::value<std::string>()->default_value("-"), "result file, or - for stdout");
  option("format", po::value<std::string>()->default_value("tsv"), "tsv or jsonl");
  option("batch-size", po::value<int64_t>()->default_value(defaults.batch_size),
         "sentences per batch");
  option("chunk-lines", po::value<int64_t>()->default_value(defaults.chunk_lines),
         "lines read, sorted by length and written per chunk");
  option("max-line-bytes", po::value<int64_t>()->default_value(defaults.max_line_bytes),
         "longer lines are cut to this many bytes (and counted as truncated)");
}

void predict_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  SentimentPredictOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  options.inputs = vm["input"].as<std::vector<std::string>>();
  options.output = vm["output"].as<std::string>();
  options.format = parse_predict_format(vm["format"].as<std::string>());
  options.batch_size = cli::int_option(vm, "batch-size", {1, 1e6});
  options.chunk_lines = cli::int_option(vm, "chunk-lines", {1, 1e8});
  options.max_line_bytes = cli::int_option(vm, "max-line-bytes", {1, 1 << 30});
  options.device = cli::resolve_device(common.device);
  run_sentiment_predict(options, std::cerr);
}

void add_export_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("checkpoint", po::value<std::string>()->required(), "run directory or .pt file");
  option("output", po::value<std::string>()->required(),
         "folder for model.pt, spm.model, labels.txt, config.json, config.yaml and README.md");
  option("overwrite", po::bool_switch(), "replace an export already in --output");
}

void export_command(const cli::CommonOptions&, const po::variables_map& vm) {
  SentimentExportOptions options;
  options.checkpoint = vm["checkpoint"].as<std::string>();
  options.output_dir = vm["output"].as<std::string>();
  options.overwrite = vm["overwrite"].as<bool>();
  run_sentiment_export(options, std::cerr);
}

void add_import_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("state-dict", po::value<std::string>()->required(),
         "state_dict of scripts/python/lstm_nlp.py's SentimentClassifier");
  option("tokenizer", po::value<std::string>()->required(), "its SentencePiece model");
  option("labels", po::value<std::string>()->required(), "its labels, one per line in class order");
  option("output", po::value<std::string>()->required(), "run folder for best.pt");
  option("overwrite", po::bool_switch(), "replace a run already in --output");
}

void import_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  if (common.config.empty()) {
    throw InputError("import needs --config FILE (the model section gives the sizes)");
  }
  const auto cfg = config::load<SentimentConfig>(common.config, common.sets);
  SentimentImportOptions options;
  options.state_dict = vm["state-dict"].as<std::string>();
  options.tokenizer = vm["tokenizer"].as<std::string>();
  options.labels = vm["labels"].as<std::string>();
  options.run_dir = vm["output"].as<std::string>();
  options.overwrite = vm["overwrite"].as<bool>();
  run_sentiment_import(cfg, options, std::cerr);
}

}  // namespace

std::vector<cli::Command> commands() {
  return {
      {"train",
       "train a classifier from a config",
       add_train_options,
       {},
       train_command,
       {},
       /*distributed=*/true},
      {"eval", "evaluate a checkpoint on a labelled file", add_eval_options, {}, eval_command},
      {"predict", "label text files line by line, streaming", add_predict_options,
       /*positional=*/{"input"}, predict_command},
      {"export",
       "write a checkpoint as a PyTorch state_dict for scripts/python/lstm_nlp.py",
       add_export_options,
       {},
       export_command},
      {"import",
       "make a checkpoint from a state_dict of lstm_nlp.SentimentClassifier",
       add_import_options,
       {},
       import_command},
  };
}

}  // namespace lstmnlp::sentiment
