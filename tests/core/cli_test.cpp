#include "core/cli.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <torch/torch.h>

#include <boost/program_options.hpp>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/signals.h"

namespace lstmnlp::cli {
namespace {

namespace po = boost::program_options;

// Runs run_app() on a small two-command program and returns its exit status.
int run(std::vector<std::string> args, CommonOptions* seen = nullptr, int* count = nullptr) {
  std::vector<Command> commands;
  commands.push_back({"ok",
                      "succeeds",
                      [](po::options_description& d) {
                        d.add_options()("count", po::value<int>()->default_value(1), "a count");
                      },
                      {},
                      [=](const CommonOptions& common, const po::variables_map& vm) {
                        if (seen) *seen = common;
                        if (count) *count = vm["count"].as<int>();
                      }});
  commands.push_back({"bad-input",
                      "fails with an input error",
                      nullptr,
                      {},
                      [](const CommonOptions&, const po::variables_map&) {
                        throw InputError("data.txt:3: ragged row");
                      }});
  commands.push_back(
      {"crash",
       "fails internally",
       nullptr,
       {},
       [](const CommonOptions&, const po::variables_map&) { throw std::logic_error("bug"); }});
  commands.push_back({"torch-check",
                      "fails a TORCH_CHECK",
                      nullptr,
                      {},
                      [](const CommonOptions&, const po::variables_map&) {
                        TORCH_CHECK(false, "hidden_size must be positive");
                      }});
  commands.push_back({"sized",
                      "a range-checked size",
                      [](po::options_description& d) {
                        d.add_options()("batch-size", po::value<int64_t>()->default_value(0), "");
                      },
                      {},
                      [=](const CommonOptions&, const po::variables_map& vm) {
                        const auto size = int_option(vm, "batch-size", {0, 100});
                        if (count) *count = static_cast<int>(size);
                      }});
  commands.push_back({"interrupted",
                      "stops on a signal",
                      nullptr,
                      {},
                      [](const CommonOptions&, const po::variables_map&) {
                        throw signals::Interrupted(SIGTERM, "interrupted by SIGTERM");
                      }});
  Command flags{"flags",
                "config flags",
                nullptr,
                {},
                [=](const CommonOptions& common, const po::variables_map&) {
                  if (seen) *seen = common;
                }};
  flags.config_flags = {
      {"steps,T", "steps", "time steps"},
      {"hidden", "model.hidden_sizes", "hidden sizes", ConfigFlag::Kind::kList},
      {"bidirectional", "model.bidirectional", "both directions", ConfigFlag::Kind::kSwitch}};
  commands.push_back(flags);
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& a : args) argv.push_back(a.data());
  // run_app re-executes its process once with faster runtime settings; here that process is the
  // test binary, which would start the whole suite again with these arguments (and ctest then
  // reported the test as skipped, from the suite's own skips).
  ::setenv("LSTMNLP_NO_REEXEC", "1", /*overwrite=*/1);
  const int status =
      run_app(static_cast<int>(argv.size()), argv.data(), "prog", "A test program.", commands);
  ::unsetenv("LSTMNLP_NO_REEXEC");
  return status;
}

TEST(Cli, SuccessParsesCommonAndOwnOptions) {
  CommonOptions seen;
  int count = 0;
  EXPECT_EQ(run({"ok", "--count", "3", "--seed", "5", "--set", "a.b=1", "--set", "c.d=2",
                 "--device", "cpu", "--output-dir", "runs/x"},
                &seen, &count),
            0);
  EXPECT_EQ(count, 3);
  EXPECT_EQ(seen.seed, 5u);
  EXPECT_TRUE(seen.seed_given);
  EXPECT_EQ(seen.sets, (std::vector<std::string>{"a.b=1", "c.d=2"}));
  EXPECT_EQ(seen.output_dir, "runs/x");
}

TEST(Cli, ConfigFlagsBecomeSetsAfterTheSetOptions) {
  CommonOptions seen;
  EXPECT_EQ(
      run({"flags", "--set", "steps=3", "-T", "7", "--hidden", "650", "256", "--bidirectional"},
          &seen),
      0);
  EXPECT_EQ(seen.sets,
            (std::vector<std::string>{"steps=3", "steps=7", "model.hidden_sizes=[650, 256]",
                                      "model.bidirectional=true"}));
  EXPECT_EQ(run({"flags"}, &seen), 0);
  EXPECT_TRUE(seen.sets.empty());
  EXPECT_EQ(run({"flags", "--steps"}), 2);
}

// OpenBLAS's thread count, or -1 when the process's BLAS is not OpenBLAS.
int openblas_threads() {
  void* symbol = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  return symbol == nullptr ? -1 : reinterpret_cast<int (*)()>(symbol)();
}

TEST(Cli, ThreadPlanKeepsLibTorchToOneThreadBesideASpinningOpenBlasPool) {
  auto plan = [](int requested, int torch_default, bool separate, bool passive, int cores = 8) {
    const ThreadPlan p = plan_cpu_threads(requested, torch_default, separate, passive, cores);
    return std::make_pair(p.torch, p.blas);
  };
  using P = std::pair<int, int>;
  // Two pools on the same cores, OpenMP threads spinning: the BLAS gets the threads.
  EXPECT_EQ(plan(4, 8, true, false), P(1, 4));
  EXPECT_EQ(plan(0, 8, true, false), P(1, 0));
  EXPECT_EQ(plan(1, 8, true, false), P(1, 1));
  EXPECT_EQ(plan(0, 1, true, false), P(0, 0));
  // A passive wait policy, or a BLAS without its own pool: both get what was asked.
  EXPECT_EQ(plan(4, 8, true, true), P(4, 4));
  EXPECT_EQ(plan(4, 8, false, false), P(4, 4));
  EXPECT_EQ(plan(0, 8, false, false), P(0, 0));
  EXPECT_EQ(plan(0, 8, true, true), P(0, 0));
  // With no request, LibTorch gets at least the cores, unless the pools would contend.
  EXPECT_EQ(plan(0, 1, true, true, 2), P(2, 0));
  EXPECT_EQ(plan(0, 1, false, false, 4), P(4, 0));
  EXPECT_EQ(plan(0, 4, true, true, 2), P(0, 0));
  EXPECT_EQ(plan(0, 1, true, false, 2), P(0, 0));
  EXPECT_EQ(plan(2, 1, true, true, 8), P(2, 2));
}

TEST(Cli, AvailableCoresAreThoseThisProcessMayRunOn) {
  cpu_set_t mask;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  EXPECT_GE(available_cores(), 1);
  EXPECT_LE(available_cores(), CPU_COUNT(&mask));
}

TEST(Cli, ThreadsReachLibTorchAndOpenBlas) {
  const int torch_before = torch::get_num_threads();
  const int blas_before = openblas_threads();
  EXPECT_EQ(run({"ok", "--threads", "1"}), 0);
  EXPECT_EQ(torch::get_num_threads(), 1);
  if (blas_before < 0) {
    std::cout << "BLAS is not OpenBLAS; only LibTorch's thread count checked\n";
  } else {
    EXPECT_EQ(openblas_threads(), 1);
    // The plan for this process: OpenBLAS's kind of pool and the wait policy, as found here.
    const bool separate = openblas_has_own_pool();
    const bool passive = omp_wait_passive();
    EXPECT_EQ(run({"ok", "--threads", "3"}), 0);
    EXPECT_EQ(openblas_threads(), 3);
    EXPECT_EQ(torch::get_num_threads(),
              plan_cpu_threads(3, 0, separate, passive, available_cores()).torch)
        << "OpenBLAS pool of its own: " << separate << ", passive wait: " << passive;
    reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))(blas_before);
  }
  torch::set_num_threads(torch_before);
}

TEST(Cli, HelpExitsZero) {
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_EQ(run({"ok", "--help"}), 0);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}), 2);
  EXPECT_EQ(run({"nope"}), 2);
  EXPECT_EQ(run({"ok", "--no-such-option"}), 2);
  EXPECT_EQ(run({"ok", "--count", "many"}), 2);
  EXPECT_EQ(run({"ok", "--threads", "-1"}), 2);
}

TEST(Cli, InputErrorsExitTwoAndInternalErrorsExitOne) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run({"bad-input"}), 2);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "prog: error: data.txt:3: ragged row\n");
  EXPECT_EQ(run({"torch-check"}), 2);
  EXPECT_EQ(run({"crash"}), 1);
}

TEST(Cli, NegativeNumbersGetTheRangeChecksOfConfigKeys) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run({"ok", "--seed", "-1"}), 2);
  EXPECT_EQ(run({"sized", "--batch-size", "-3"}), 2);
  EXPECT_EQ(run({"ok", "--seed", "18446744073709551616"}), 2);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--seed: expected an integer from 0 to 18446744073709551615, got '-1'"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("--batch-size: value -3 out of range [0, 100]"), std::string::npos) << err;
  int count = -1;
  EXPECT_EQ(run({"sized", "--batch-size", "7"}, nullptr, &count), 0);
  EXPECT_EQ(count, 7);
  CommonOptions seen;
  EXPECT_EQ(run({"ok", "--seed", "18446744073709551615"}, &seen), 0);
  EXPECT_EQ(seen.seed, UINT64_MAX);
}

TEST(Cli, AnInterruptionExitsWith128PlusTheSignal) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run({"interrupted"}), 128 + SIGTERM);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "prog: interrupted by SIGTERM\n");
}

TEST(Cli, DeviceResolution) {
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_THROW(resolve_device("tpu"), InputError);
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(resolve_device("auto"), torch::Device(torch::kCPU));
    EXPECT_THROW(resolve_device("cuda"), InputError);
    EXPECT_THROW(resolve_device("cuda:1"), InputError);
  } else {
    EXPECT_TRUE(resolve_device("auto").is_cuda());
  }
}

}  // namespace
}  // namespace lstmnlp::cli
