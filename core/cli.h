#pragma once

// Shared command-line conventions of every lstm-nlp executable.
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-tokenizer", "SentencePiece tokenizer.",
//                                  {train_command(), encode_command()});
//   }
//
// Every (sub)command gets the common options --config, --set (repeatable), --seed, --threads,
// --output-dir, --device and --help. Exit status: 0 on success, 2 for usage, config and input
// errors (one line on stderr), 1 for internal errors.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace lstmnlp::cli {

/// The options that every command accepts, after parsing.
struct CommonOptions {
  std::string config;             ///< --config FILE ("" when absent)
  std::vector<std::string> sets;  ///< --set section.key=value, in order
  uint64_t seed = 1234;           ///< --seed
  int threads = 0;                ///< --threads (0 = LibTorch's default)
  std::string output_dir;         ///< --output-dir ("" when absent)
  std::string device = "auto";    ///< --device auto|cpu|cuda|cuda:N
  bool seed_given = false;        ///< whether --seed was on the command line
};

/// One subcommand. `name` is empty for an executable without subcommands.
struct Command {
  std::string name;
  std::string summary;
  /// Adds the command's own options (may be empty).
  std::function<void(boost::program_options::options_description&)> add_options;
  /// Positional arguments, in order, that map to options added above (e.g. {"input"}).
  /// The last one may take any number of values.
  std::vector<std::string> positional;
  /// Runs the command. Throws InputError for bad input.
  std::function<void(const CommonOptions&, const boost::program_options::variables_map&)> run;
};

/// Parses argv, dispatches to a command, applies --threads and --seed, and maps exceptions to
/// exit codes. Returns the process exit status.
int run_app(int argc, char** argv, const std::string& program, const std::string& description,
            const std::vector<Command>& commands);

/// Runs `body` and maps exceptions to exit codes: InputError (and option parsing errors) → 2,
/// anything else → 1; the message goes to stderr on one line, prefixed by `program`.
int guarded(const std::string& program, const std::function<void()>& body);

/// Resolves --device: "auto" picks CUDA when LibTorch has it and a GPU is present; "cuda" or
/// "cuda:N" without a GPU is an InputError.
torch::Device resolve_device(const std::string& spec);

}  // namespace lstmnlp::cli
