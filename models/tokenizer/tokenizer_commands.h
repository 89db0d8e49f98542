#pragma once

// The subcommands of `lstm-tokenizer` (train, encode, decode): their options and how each
// becomes a call of models/tokenizer/tokenizer_app.h.
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-tokenizer", "...",
//                                  lstmnlp::tokenizer::commands());
//   }

#include <vector>

#include "core/cli.h"

namespace lstmnlp::tokenizer {

/// train (--input files or positional, --model-prefix, SentencePiece trainer options), encode
/// (--model, --input, --output, --format ids|pieces) and decode (--model, --input, --output).
std::vector<cli::Command> commands();

}  // namespace lstmnlp::tokenizer
