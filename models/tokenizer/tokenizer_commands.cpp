#include "models/tokenizer/tokenizer_commands.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "models/tokenizer/tokenizer_app.h"

namespace po = boost::program_options;

namespace lstmnlp::tokenizer {
namespace {

void add_train_options(po::options_description& desc) {
  const TokenizerTrainOptions defaults;
  auto option = desc.add_options();
  option("input", po::value<std::vector<std::string>>()->multitoken()->required(),
         "training text files");
  option("model-prefix", po::value<std::string>()->required(),
         "writes <prefix>.model and <prefix>.vocab");
  option("model-type", po::value<std::string>()->default_value("unigram"),
         "unigram, bpe, char or word");
  option("vocab-size", po::value<int64_t>()->default_value(defaults.vocab_size),
         "vocabulary size, special symbols included");
  option("character-coverage",
         po::value<double>()->default_value(defaults.character_coverage, "0.9995"),
         "fraction of characters the vocabulary covers (1.0 for small alphabets)");
  option("user-defined-symbols", po::value<std::vector<std::string>>()->multitoken(),
         "pieces never split, e.g. <sep> <mask>");
  option("input-sentence-size", po::value<int64_t>()->default_value(defaults.input_sentence_size),
         "train on at most this many sentences, sampled (0 = all)");
}

void train_command(const cli::CommonOptions& common, const po::variables_map& vm) {
  TokenizerTrainOptions options;
  options.input_files = vm["input"].as<std::vector<std::string>>();
  options.model_prefix = vm["model-prefix"].as<std::string>();
  options.model_type = parse_tokenizer_model_type(vm["model-type"].as<std::string>());
  options.vocab_size = static_cast<int>(cli::int_option(vm, "vocab-size", {1, 1e8}));
  options.character_coverage = cli::number_option(vm, "character-coverage", {0.0, 1.0});
  if (vm.count("user-defined-symbols")) {
    options.user_defined_symbols = vm["user-defined-symbols"].as<std::vector<std::string>>();
  }
  options.input_sentence_size = cli::int_option(vm, "input-sentence-size", {0, 1e12});
  if (common.threads > 0) options.num_threads = common.threads;
  run_tokenizer_train(options, std::cerr);
}

void add_encode_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("model", po::value<std::string>()->required(), "SentencePiece .model file");
  option("input", po::value<std::string>()->default_value("-"), "text file, or - for stdin");
  option("output", po::value<std::string>()->default_value("-"),
         "file for one line of ids or pieces per input line, or - for stdout");
  option("format", po::value<std::string>()->default_value("ids"), "ids or pieces");
}

void encode_command(const cli::CommonOptions&, const po::variables_map& vm) {
  TokenizerEncodeOptions options;
  options.model = vm["model"].as<std::string>();
  options.input = vm["input"].as<std::string>();
  options.output = vm["output"].as<std::string>();
  options.format = parse_encode_format(vm["format"].as<std::string>());
  run_tokenizer_encode(options);
}

void add_decode_options(po::options_description& desc) {
  auto option = desc.add_options();
  option("model", po::value<std::string>()->required(), "SentencePiece .model file");
  option("input", po::value<std::string>()->default_value("-"),
         "file of space-separated ids, one sentence per line, or - for stdin");
  option("output", po::value<std::string>()->default_value("-"), "text file, or - for stdout");
}

void decode_command(const cli::CommonOptions&, const po::variables_map& vm) {
  TokenizerDecodeOptions options;
  options.model = vm["model"].as<std::string>();
  options.input = vm["input"].as<std::string>();
  options.output = vm["output"].as<std::string>();
  run_tokenizer_decode(options);
}

}  // namespace

std::vector<cli::Command> commands() {
  return {
      {"train", "train a model from text files", add_train_options, /*positional=*/{"input"},
       train_command},
      {"encode", "encode text lines to ids or pieces", add_encode_options, /*positional=*/{},
       encode_command},
      {"decode", "decode lines of ids to text", add_decode_options, /*positional=*/{},
       decode_command},
  };
}

}  // namespace lstmnlp::tokenizer
