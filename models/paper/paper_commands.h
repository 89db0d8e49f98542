#pragma once

// The subcommands of `lstm-paper`, one per experiment, each running models/paper/experiment.h:
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-paper", "...", lstmnlp::paper::commands());
//   }

#include <vector>

#include "core/cli.h"

namespace lstmnlp::paper {

/// reber, adding, multiplication, temporal-order and long-lag. Each accepts --json FILE and
/// --trials N (the config key train.trials) besides the common options.
std::vector<cli::Command> commands();

}  // namespace lstmnlp::paper
