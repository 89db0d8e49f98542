#pragma once

// Shared command-line conventions of every lstm-nlp executable. Each application library exports
// its subcommands as `commands()` (models/<app>/<app>_commands.h), so that a main() is one call:
//
//   int main(int argc, char** argv) {
//     return lstmnlp::cli::run_app(argc, argv, "lstm-tokenizer", "SentencePiece tokenizer.",
//                                  lstmnlp::tokenizer::commands());
//   }
//
// Every (sub)command gets the common options --config, --set (repeatable), --seed, --threads,
// --output-dir, --device and --help. A command may also declare ConfigFlags, options that stand
// for config keys (`lstm-bench --steps 50` is `--set steps=50`). Exit status: 0 on success, 2
// for usage, config and input errors and failed TORCH_CHECKs (one line on stderr), 1 for
// internal errors.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"

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
  int threads = 0;                ///< --threads (0 = the libraries' defaults)
  std::string output_dir;         ///< --output-dir ("" when absent)
  std::string device = "auto";    ///< --device auto|cpu|cuda|cuda:N
  bool seed_given = false;        ///< whether --seed was on the command line
};

/// A command-line option that sets a config key: given `--steps 50`, the command's
/// CommonOptions::sets end with "steps=50" (after every --set), so the config's own type and
/// range checks apply and errors name the key ("--set steps: ...").
struct ConfigFlag {
  /// How the option takes its value.
  enum class Kind {
    kValue,   ///< one value: `--steps 50` sets `steps: 50`
    kList,    ///< one or more values: `--hidden 650 256` sets `hidden_sizes: [650, 256]`
    kSwitch,  ///< no value: `--bidirectional` sets `bidirectional: true`
  };
  std::string option;  ///< Boost option name, with an optional short form ("steps,T")
  std::string key;     ///< dotted config key ("steps", "train.trials")
  std::string help;    ///< --help text; " (config key K)" is appended
  Kind kind = Kind::kValue;
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
  /// Options that set config keys (see ConfigFlag), shown beside the command's own.
  std::vector<ConfigFlag> config_flags = {};
  /// Whether the command can run as one of many processes (core/distributed.h): it then takes
  /// --dist-backend and --dist-timeout, joins the processes that torchrun's environment
  /// describes before run(), and, without --threads, divides the cores among the processes on
  /// its machine.
  bool distributed = false;
};

/// How a process's CPU threads are split between LibTorch's intra-op pool (OpenMP) and
/// OpenBLAS's own pool; 0 leaves a count as it is.
struct ThreadPlan {
  int torch = 0;
  int blas = 0;
};

/// The split for --threads `requested` (0 = the defaults; LibTorch's is `torch_default`).
/// Normally both pools get `requested`. But when OpenBLAS runs its own pthreads pool
/// (`separate_blas_pool`) and OpenMP's wait policy is not passive, LibTorch's idle OpenMP threads
/// spin after every parallel region and starve OpenBLAS's threads of the same cores (on 2 cores
/// this cut training speed by up to 3x), so LibTorch keeps 1 thread and OpenBLAS gets them all:
/// the matrix products, most of the work, still use every core, and LibTorch's elementwise
/// operations are bound by memory rather than cores. OMP_WAIT_POLICY=PASSIVE in the environment
/// (read only at start-up) lets both pools have all the threads.
///
/// With no request and no such contention, LibTorch gets at least `cores` threads: its own
/// default can be lower (1 on the project's 2-core VMs, where cpuinfo cannot read the CPU), and
/// the LSTM's per-step products and oneDNN's layers run on LibTorch's threads (lstm-bench 650,
/// forward+backward: 7,000-7,600 tokens/s on 1 LibTorch thread, 9,150-10,070 on 2).
ThreadPlan plan_cpu_threads(int requested, int torch_default, bool separate_blas_pool,
                            bool passive_wait, int cores);

/// The cores this process may run on: its CPU affinity, hyperthreads of one core counted once.
int available_cores();

/// Whether this process's BLAS is OpenBLAS running its own pthreads pool.
bool openblas_has_own_pool();

/// Whether OMP_WAIT_POLICY is set to passive (in any case).
bool omp_wait_passive();

/// Applies plan_cpu_threads() to this process, with openblas_has_own_pool() and
/// omp_wait_passive().
void set_cpu_threads(int requested);

/// Parses argv, dispatches to a command, applies --threads and --seed, and maps exceptions to
/// exit codes. Returns the process exit status.
int run_app(int argc, char** argv, const std::string& program, const std::string& description,
            const std::vector<Command>& commands);

/// Runs `body` and maps exceptions to exit codes: InputError, option parsing errors and c10::Error
/// (a failed TORCH_CHECK on what the user asked for, printed without LibTorch's backtrace) → 2,
/// anything else → 1; the message goes to stderr on one line, prefixed by `program`.
int guarded(const std::string& program, const std::function<void()>& body);

/// The integer option `name` of `vm`, checked against `range` as a config key is: a value
/// outside it (e.g. `--batch-size -3`) is an InputError ("--batch-size: value -3 out of range
/// [0, 1e+06]").
int64_t int_option(const boost::program_options::variables_map& vm, const std::string& name,
                   config::Range range);
/// The floating-point option `name` of `vm`, checked against `range` (see int_option).
double number_option(const boost::program_options::variables_map& vm, const std::string& name,
                     config::Range range);

/// Parses a --seed value: an integer in [0, 2^64 - 1]. Throws InputError for anything else (a
/// negative seed would otherwise wrap around to a huge one).
uint64_t parse_seed(const std::string& text);

/// Resolves --device: "auto" picks CUDA when LibTorch has it and a GPU is present; "cuda" or
/// "cuda:N" without a GPU is an InputError.
torch::Device resolve_device(const std::string& spec);

}  // namespace lstmnlp::cli
