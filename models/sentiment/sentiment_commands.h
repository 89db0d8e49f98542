#pragma once

// The subcommands of `lstm-sentiment` (train, eval, predict): their options and how each becomes a
// call of models/sentiment/sentiment_app.h or predict.h.
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-sentiment", "...",
//                                  lstmnlp::sentiment::commands());
//   }

#include <vector>

#include "core/cli.h"

namespace lstmnlp::sentiment {

/// train (--config, --resume), eval (--checkpoint, --input, reader and report options) and
/// predict (--checkpoint, --input files or positional, --output, --format, batching options).
std::vector<cli::Command> commands();

}  // namespace lstmnlp::sentiment
