#pragma once

// The subcommands of `lstm-lm` (train, eval, generate): their options and how each becomes a call
// of models/lm/lm_app.h.
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-lm", "...", lstmnlp::lm::commands());
//   }

#include <vector>

#include "core/cli.h"

namespace lstmnlp::lm {

/// train (--config, --resume), eval (--checkpoint, --file, --batch-size, --bptt) and generate
/// (--checkpoint, --prompt, --length, --temperature, --top-k, --top-p).
std::vector<cli::Command> commands();

}  // namespace lstmnlp::lm
