// The settings every executable re-executes itself with (core/runtime_env.h).

#include "core/runtime_env.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace lstmnlp::runtime {
namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;

TEST(RuntimeEnvTest, PrescottOnANewerCpuGetsItsKernels) {
  RuntimeFacts facts;
  facts.openblas_core = "Prescott";
  facts.avx512 = true;
  facts.avx2 = true;
  const Settings threads{{"OMP_WAIT_POLICY", "PASSIVE"},
                         {"GOMP_SPINCOUNT", "30000"},
                         {"OPENBLAS_THREAD_TIMEOUT", "4"}};
  auto with_core = [&](const char* core) {
    Settings s{{"OPENBLAS_CORETYPE", core}};
    s.insert(s.end(), threads.begin(), threads.end());
    return s;
  };
  EXPECT_EQ(fast_runtime_settings(facts), with_core("SkylakeX"));
  facts.avx512 = false;
  EXPECT_EQ(fast_runtime_settings(facts), with_core("Haswell"));
  facts.avx2 = false;  // a CPU for which Prescott is right
  EXPECT_EQ(fast_runtime_settings(facts), threads);
}

TEST(RuntimeEnvTest, ThreadWaitsAreSetUnlessTheUserSetThem) {
  RuntimeFacts facts;
  facts.openblas_core = "SkylakeX";
  facts.gomp_spincount = "0";
  EXPECT_EQ(fast_runtime_settings(facts),
            (Settings{{"OMP_WAIT_POLICY", "PASSIVE"}, {"OPENBLAS_THREAD_TIMEOUT", "4"}}));
  facts.openblas_thread_timeout = "28";
  EXPECT_EQ(fast_runtime_settings(facts), (Settings{{"OMP_WAIT_POLICY", "PASSIVE"}}));
  facts.omp_wait_policy = "PASSIVE";  // the user's policy: no spin count is added to it
  facts.gomp_spincount = nullptr;
  EXPECT_TRUE(fast_runtime_settings(facts).empty());
  facts.openblas_core = "";  // not OpenBLAS: no OpenBLAS timeout
  facts.omp_wait_policy = nullptr;
  facts.openblas_thread_timeout = nullptr;
  EXPECT_EQ(fast_runtime_settings(facts),
            (Settings{{"OMP_WAIT_POLICY", "PASSIVE"}, {"GOMP_SPINCOUNT", "30000"}}));
}

TEST(RuntimeEnvTest, WhatTheUserSetOrOpenBlasDetectedStays) {
  RuntimeFacts facts;
  facts.avx512 = facts.avx2 = true;
  facts.openblas_core = "Zen";
  facts.omp_wait_policy = "ACTIVE";
  facts.openblas_thread_timeout = "28";
  EXPECT_TRUE(fast_runtime_settings(facts).empty());
  facts.openblas_core = "Prescott";
  facts.openblas_coretype = "Prescott";
  EXPECT_TRUE(fast_runtime_settings(facts).empty());
  facts.openblas_core = "";  // not OpenBLAS
  facts.openblas_coretype = nullptr;
  EXPECT_TRUE(fast_runtime_settings(facts).empty());
}

// The executables start with the settings: lstm-bench prints the BLAS core and wait policy.
TEST(RuntimeEnvTest, ExecutablesRunWithTheFastSettings) {
  const char* bin = std::getenv("LSTM_NLP_BIN");
  const std::string exe = std::string(bin ? bin : LSTMNLP_BINARY_DIR "/bin") + "/lstm-bench";
  if (!std::filesystem::exists(exe)) GTEST_SKIP() << exe << " is not built";
  const std::string out =
      (std::filesystem::temp_directory_path() / ("lstmnlp_runtime_" + std::to_string(::getpid())))
          .string();
  const std::string cmd = "env -u OMP_WAIT_POLICY -u OPENBLAS_CORETYPE -u LSTMNLP_REEXEC " + exe +
                          " -T 2 -B 1 --hidden 4 --modes inference --warmup 0 --repetitions 1 > " +
                          out + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove(out);
  EXPECT_NE(text.find("OMP_WAIT_POLICY PASSIVE"), std::string::npos) << text;
  auto facts = current_runtime();
  if (facts.avx2 && facts.openblas_core == "Prescott") {
    // This test process was not re-executed: the child must not have kept Prescott.
    EXPECT_EQ(text.find("BLAS core Prescott"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace lstmnlp::runtime
