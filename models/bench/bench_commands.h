#pragma once

// The one command of `lstm-bench` (no subcommands): its flags set the keys of BenchConfig.
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-bench", "...", lstmnlp::bench::commands());
//   }

#include <vector>

#include "core/cli.h"

namespace lstmnlp::bench {

/// The unnamed command: --config, --set and the config flags --steps/-T, --batch/-B, --hidden,
/// --input, --layers, --bidirectional, --modes, --warmup, --repetitions; --json FILE.
std::vector<cli::Command> commands();

}  // namespace lstmnlp::bench
