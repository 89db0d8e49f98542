#include "models/tokenizer/tokenizer_app.h"

#include <charconv>
#include <fstream>
#include <iostream>
#include <ostream>
#include <vector>

#include "core/error.h"
#include "core/io.h"

namespace lstmnlp::tokenizer {
namespace {

/// Opens `path` for reading, or returns std::cin for "-".
std::istream& open_input(const std::string& path, std::ifstream& file) {
  if (path == "-") return std::cin;
  file.open(path, std::ios::binary);
  if (!file) throw InputError(at_location(path, 0, "cannot open input file"));
  return file;
}

std::string display_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

}  // namespace

EncodeFormat parse_encode_format(const std::string& name) {
  if (name == "ids") return EncodeFormat::kIds;
  if (name == "pieces") return EncodeFormat::kPieces;
  throw InputError("unknown encode format '" + name + "' (expected ids or pieces)");
}

void run_tokenizer_train(const TokenizerTrainOptions& options, std::ostream& log) {
  const auto tokenizer = SentencePieceTokenizer::train(options);
  log << "trained " << to_string(options.model_type) << " tokenizer with " << tokenizer.vocab_size()
      << " pieces: " << options.model_prefix << ".model, " << options.model_prefix << ".vocab\n";
}

void run_tokenizer_encode(const TokenizerEncodeOptions& options) {
  const auto tokenizer = SentencePieceTokenizer::load(options.model);
  refuse_output_over_inputs(options.output, {options.input});
  std::ifstream in_file;
  std::istream& in = open_input(options.input, in_file);
  AtomicOutput output(options.output);
  std::ostream& out = output.stream();
  encode_lines(tokenizer, options.format, in, out);
  if (in.bad()) throw InputError(at_location(display_name(options.input), 0, "read failed"));
  output.commit();
}

void run_tokenizer_decode(const TokenizerDecodeOptions& options) {
  const auto tokenizer = SentencePieceTokenizer::load(options.model);
  refuse_output_over_inputs(options.output, {options.input});
  std::ifstream in_file;
  std::istream& in = open_input(options.input, in_file);
  AtomicOutput output(options.output);
  std::ostream& out = output.stream();
  decode_lines(tokenizer, in, out, display_name(options.input));
  if (in.bad()) throw InputError(at_location(display_name(options.input), 0, "read failed"));
  output.commit();
}

void encode_lines(const SentencePieceTokenizer& tokenizer, EncodeFormat format, std::istream& in,
                  std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    if (format == EncodeFormat::kIds) {
      const auto ids = tokenizer.encode(line);
      for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
    } else {
      const auto pieces = tokenizer.encode_pieces(line);
      for (size_t i = 0; i < pieces.size(); ++i) out << (i ? " " : "") << pieces[i];
    }
    out << '\n';
  }
}

void decode_lines(const SentencePieceTokenizer& tokenizer, std::istream& in, std::ostream& out,
                  const std::string& source) {
  std::string line;
  std::vector<int> ids;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    ids.clear();
    size_t pos = 0;
    while (true) {
      pos = line.find_first_not_of(" \t\r", pos);
      if (pos == std::string::npos) break;
      size_t end = line.find_first_of(" \t\r", pos);
      if (end == std::string::npos) end = line.size();
      int id = 0;
      const auto [ptr, error] = std::from_chars(line.data() + pos, line.data() + end, id);
      if (error != std::errc() || ptr != line.data() + end || id < 0 ||
          id >= tokenizer.vocab_size()) {
        throw InputError(at_location(source, line_number,
                                     "'" + line.substr(pos, end - pos) +
                                         "' is not a token id of the model (0.." +
                                         std::to_string(tokenizer.vocab_size() - 1) + ")"));
      }
      ids.push_back(id);
      pos = end;
    }
    out << tokenizer.decode(ids) << '\n';
  }
}

}  // namespace lstmnlp::tokenizer
