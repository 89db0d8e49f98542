#include "core/cli.h"

#include <dlfcn.h>
#include <sched.h>
#include <strings.h>
#include <torch/torch.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "core/distributed.h"
#include "core/error.h"
#include "core/runtime_env.h"
#include "core/signals.h"

namespace po = boost::program_options;

namespace lstmnlp::cli {

ThreadPlan plan_cpu_threads(int requested, int torch_default, bool separate_blas_pool,
                            bool passive_wait, int cores) {
  const bool contend = separate_blas_pool && !passive_wait;
  if (requested <= 0) {
    if (contend) return {torch_default > 1 ? 1 : 0, 0};
    return {torch_default < cores ? cores : 0, 0};
  }
  return {contend && requested > 1 ? 1 : requested, requested};
}

int available_cores() {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0) {
    return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  }
  // Hyperthreads of one core count once: distinct (package, core) pairs of the allowed CPUs.
  // Without the topology, every allowed CPU counts.
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &mask)) continue;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::string package, core;
    std::ifstream(dir + "physical_package_id") >> package;
    std::ifstream(dir + "core_id") >> core;
    if (package.empty() || core.empty()) return std::max(1, CPU_COUNT(&mask));
    cores.emplace(package, core);
  }
  return std::max<int>(1, static_cast<int>(cores.size()));
}

bool openblas_has_own_pool() {
  // openblas_get_parallel(): 0 sequential, 1 its own pthreads pool, 2 OpenMP (LibTorch's pool).
  void* parallel = dlsym(RTLD_DEFAULT, "openblas_get_parallel");
  return parallel != nullptr && reinterpret_cast<int (*)()>(parallel)() == 1;
}

bool omp_wait_passive() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  return policy != nullptr && strcasecmp(policy, "passive") == 0;
}

void set_cpu_threads(int requested) {
  const ThreadPlan plan =
      plan_cpu_threads(requested, torch::get_num_threads(), openblas_has_own_pool(),
                       omp_wait_passive(), available_cores());
  if (plan.torch > 0) torch::set_num_threads(plan.torch);
  void* set_blas = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (plan.blas > 0 && set_blas != nullptr) reinterpret_cast<void (*)(int)>(set_blas)(plan.blas);
}

namespace {

po::options_description common_options(CommonOptions& common) {
  po::options_description desc("Common options");
  desc.add_options()("help,h", "show this help and exit")("config,c", po::value(&common.config),
                                                          "YAML config file")(
      "set", po::value(&common.sets)->composing(),
      "override a config value, e.g. --set train.lr=0.5 (repeatable)")(
      "seed", po::value<std::string>(), "random seed, 0 to 2^64-1 (default 1234)")(
      "threads", po::value(&common.threads),
      "CPU threads (0 = LibTorch's and OpenBLAS's defaults)")(
      "output-dir,o", po::value(&common.output_dir), "directory for run outputs")(
      "device", po::value(&common.device)->default_value("auto"), "auto, cpu, cuda or cuda:N");
  return desc;
}

void print_usage(std::ostream& out, const std::string& program, const std::string& description,
                 const std::vector<Command>& commands) {
  out << description << "\n\nUsage: " << program << " <command> [options]\n\nCommands:\n";
  for (const auto& c : commands) {
    out << "  " << c.name << std::string(16 - std::min<size_t>(c.name.size(), 14), ' ') << c.summary
        << "\n";
  }
  out << "\nRun '" << program << " <command> --help' for a command's options.\n";
}

// The long name of an option declared as "name" or "name,n".
std::string long_name(const std::string& option) { return option.substr(0, option.find(',')); }

void add_config_flags(const std::vector<ConfigFlag>& flags, po::options_description& desc) {
  for (const auto& flag : flags) {
    const std::string help = flag.help + " (config key " + flag.key + ")";
    switch (flag.kind) {
      case ConfigFlag::Kind::kValue:
        desc.add_options()(flag.option.c_str(), po::value<std::string>(), help.c_str());
        break;
      case ConfigFlag::Kind::kList:
        desc.add_options()(flag.option.c_str(), po::value<std::vector<std::string>>()->multitoken(),
                           help.c_str());
        break;
      case ConfigFlag::Kind::kSwitch:
        desc.add_options()(flag.option.c_str(), po::bool_switch(), help.c_str());
        break;
    }
  }
}

// The "key=value" overrides of the config flags given on the command line.
std::vector<std::string> config_flag_sets(const std::vector<ConfigFlag>& flags,
                                          const po::variables_map& vm) {
  std::vector<std::string> sets;
  for (const auto& flag : flags) {
    const std::string name = long_name(flag.option);
    if (!vm.count(name)) continue;
    switch (flag.kind) {
      case ConfigFlag::Kind::kValue:
        sets.push_back(flag.key + "=" + vm[name].as<std::string>());
        break;
      case ConfigFlag::Kind::kList: {
        std::string list;
        for (const auto& value : vm[name].as<std::vector<std::string>>()) {
          list += (list.empty() ? "" : ", ") + value;
        }
        sets.push_back(flag.key + "=[" + list + "]");
        break;
      }
      case ConfigFlag::Kind::kSwitch:
        if (vm[name].as<bool>()) sets.push_back(flag.key + "=true");
        break;
    }
  }
  return sets;
}

void add_distributed_options(po::options_description& desc) {
  const dist::Options defaults;
  desc.add_options()("dist-backend", po::value<std::string>()->default_value("auto"),
                     ("c10d backend with several processes: " + dist::kBackends.list() +
                      " (auto = nccl on CUDA, gloo otherwise)")
                         .c_str())(
      "dist-timeout",
      po::value<double>()->default_value(std::chrono::duration<double>(defaults.timeout).count()),
      "seconds a process waits for the others before it gives up");
}

dist::Options distributed_options(const po::variables_map& vm) {
  dist::Options options;
  const auto backend = vm["dist-backend"].as<std::string>();
  const auto* found = dist::kBackends.find(backend);
  if (found == nullptr) {
    throw InputError("--dist-backend '" + backend + "': expected " + dist::kBackends.list());
  }
  options.backend = *found;
  const double timeout = vm["dist-timeout"].as<double>();
  if (!(timeout > 0 && timeout <= 7 * 24 * 3600.0)) {
    throw InputError("--dist-timeout must be above 0 and at most a week (seconds)");
  }
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
  return options;
}

void run_command(const std::string& program, const Command& command,
                 const std::vector<std::string>& args) {
  CommonOptions common;
  po::options_description own(command.name.empty() ? "Options" : command.name + " options");
  if (command.add_options) command.add_options(own);
  add_config_flags(command.config_flags, own);
  if (command.distributed) add_distributed_options(own);
  po::options_description all;
  all.add(own).add(common_options(common));

  po::positional_options_description positional;
  for (size_t i = 0; i < command.positional.size(); ++i) {
    const bool last = i + 1 == command.positional.size();
    positional.add(command.positional[i].c_str(), last ? -1 : 1);
  }

  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "Usage: " << program << (command.name.empty() ? "" : " " + command.name);
    for (const auto& p : command.positional) std::cout << " <" << p << ">";
    std::cout << " [options]\n" << command.summary << "\n\n" << all << "\n";
    return;
  }
  common.seed_given = vm.count("seed") > 0;
  if (common.seed_given) common.seed = parse_seed(vm["seed"].as<std::string>());
  po::notify(vm);
  for (auto& set : config_flag_sets(command.config_flags, vm)) common.sets.push_back(set);

  if (common.threads < 0 || common.threads > 4096) {
    throw InputError("--threads: value " + std::to_string(common.threads) +
                     " out of range [0, 4096]");
  }
  if (command.distributed) {
    const dist::LaunchEnv env = dist::read_launch_env();  // a bad environment fails here
    if (common.threads == 0) {
      common.threads = dist::default_threads(static_cast<int>(std::thread::hardware_concurrency()),
                                             env.local_world_size);
    }
  }
  set_cpu_threads(common.threads);
  torch::manual_seed(common.seed);
  if (command.distributed) dist::init(distributed_options(vm), resolve_device(common.device));
  command.run(common, vm);
}

}  // namespace

int guarded(const std::string& program, const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (const signals::Interrupted& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 128 + e.signal();
  } catch (const InputError& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << program << ": error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const DistributedError& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    // Tensor-shape and option checks (TORCH_CHECK) come from what the user asked for; report
    // the message without LibTorch's backtrace.
    std::cerr << program << ": error: " << e.what_without_backtrace() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": internal error: " << e.what() << "\n";
    return 1;
  }
}

int run_app(int argc, char** argv, const std::string& program, const std::string& description,
            const std::vector<Command>& commands) {
  runtime::reexec_with_fast_runtime(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  return guarded(program, [&] {
    if (commands.size() == 1 && commands[0].name.empty()) {
      run_command(program, commands[0], args);
      return;
    }
    if (args.empty()) {
      print_usage(std::cerr, program, description, commands);
      throw InputError("missing command");
    }
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      print_usage(std::cout, program, description, commands);
      return;
    }
    for (const auto& c : commands) {
      if (c.name == args[0]) {
        run_command(program, c, std::vector<std::string>(args.begin() + 1, args.end()));
        return;
      }
    }
    throw InputError("unknown command '" + args[0] + "' (see --help)");
  });
}

namespace {

[[noreturn]] void out_of_range(const std::string& name, const std::string& value,
                               config::Range range) {
  std::ostringstream msg;
  msg << "--" << name << ": value " << value << " out of range [" << range.min << ", " << range.max
      << "]";
  throw InputError(msg.str());
}

}  // namespace

int64_t int_option(const po::variables_map& vm, const std::string& name, config::Range range) {
  const auto value = vm[name].as<int64_t>();
  if (static_cast<double>(value) < range.min || static_cast<double>(value) > range.max) {
    out_of_range(name, std::to_string(value), range);
  }
  return value;
}

double number_option(const po::variables_map& vm, const std::string& name, config::Range range) {
  const auto value = vm[name].as<double>();
  if (!(value >= range.min && value <= range.max)) {
    std::ostringstream text;
    text << value;
    out_of_range(name, text.str(), range);
  }
  return value;
}

uint64_t parse_seed(const std::string& text) {
  const bool digits = !text.empty() && text.size() <= 20 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = digits ? std::strtoull(text.c_str(), &end, 10) : 0;
  if (!digits || errno == ERANGE || end == nullptr || *end != '\0') {
    throw InputError("--seed: expected an integer from 0 to 18446744073709551615, got '" + text +
                     "'");
  }
  return value;
}

torch::Device resolve_device(const std::string& spec) {
  if (spec == "auto") {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0)
                                       : torch::Device(torch::kCPU);
  }
  if (spec == "cpu") return torch::kCPU;
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw InputError("--device " + spec +
                       ": no CUDA device is available (this LibTorch has no CUDA, or no GPU)");
    }
    int index = 0;
    if (spec.size() > 5) {
      std::istringstream in(spec.substr(5));
      if (!(in >> index) || !in.eof() || index < 0) {
        throw InputError("--device " + spec + ": bad device index");
      }
    }
    if (index >= static_cast<int>(torch::cuda::device_count())) {
      throw InputError("--device " + spec + ": only " +
                       std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError("--device '" + spec + "': expected auto, cpu, cuda or cuda:N");
}

}  // namespace lstmnlp::cli
