#pragma once

// The subcommands of `lstm-qa` (train, predict, eval, answer): their options and how each becomes
// a call of models/qa/qa_app.h.
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-qa", "...", lstmnlp::qa::commands());
//   }

#include <vector>

#include "core/cli.h"

namespace lstmnlp::qa {

/// train (--config, --resume), predict (--checkpoint, --data, --output, --nbest), eval (--data,
/// --predictions) and answer (--checkpoint, --context, --question or standard input).
std::vector<cli::Command> commands();

}  // namespace lstmnlp::qa
