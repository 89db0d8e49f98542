#pragma once

// What the commands of `lstm-tokenizer` run (models/tokenizer/tokenizer_commands.h), callable
// without the command line:
//
//   lstm-tokenizer train --input a.txt b.txt --model-prefix runs/tok/spm --vocab-size 8000
//   lstm-tokenizer encode --model runs/tok/spm.model --input text.txt --format pieces
//   lstm-tokenizer decode --model runs/tok/spm.model < ids.txt
//
// Text is processed line by line: encode writes one line of space-separated ids (or pieces) per
// input line, and decode reads one line of space-separated ids per output line, so
// `encode | decode` gives back the input lines.

#include <iosfwd>
#include <string>

#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp::tokenizer {

/// What `encode` writes for each piece.
enum class EncodeFormat { kIds, kPieces };

/// Parses "ids" or "pieces"; throws InputError for anything else.
EncodeFormat parse_encode_format(const std::string& name);

/// Options of `lstm-tokenizer encode`.
struct TokenizerEncodeOptions {
  std::string model;                         ///< .model file. Required.
  std::string input = "-";                   ///< text file, or "-" for stdin (default)
  std::string output = "-";                  ///< result file, or "-" for stdout (default)
  EncodeFormat format = EncodeFormat::kIds;  ///< ids (default) or pieces
};

/// Options of `lstm-tokenizer decode`.
struct TokenizerDecodeOptions {
  std::string model;         ///< .model file. Required.
  std::string input = "-";   ///< file of space-separated ids, one sentence per line, or "-" (stdin)
  std::string output = "-";  ///< text file, or "-" for stdout (default)
};

/// Trains a model (writing <model_prefix>.model and .vocab) and prints a one-line summary to
/// `log`. Throws InputError for bad options or input.
void run_tokenizer_train(const TokenizerTrainOptions& options, std::ostream& log);

/// Encodes `input` line by line into `output`. Throws InputError for a missing model or file.
void run_tokenizer_encode(const TokenizerEncodeOptions& options);

/// Decodes `input` (one line of ids per sentence) into text lines. Throws InputError naming the
/// file and line for a token that is not an id of the model.
void run_tokenizer_decode(const TokenizerDecodeOptions& options);

/// Encodes each line of `in` into `out` (the stream form of run_tokenizer_encode).
void encode_lines(const SentencePieceTokenizer& tokenizer, EncodeFormat format, std::istream& in,
                  std::ostream& out);

/// Decodes each line of ids in `in` into `out`; `source` names the input in error messages.
void decode_lines(const SentencePieceTokenizer& tokenizer, std::istream& in, std::ostream& out,
                  const std::string& source);

}  // namespace lstmnlp::tokenizer
