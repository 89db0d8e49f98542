// Runs every built executable the way a user would and checks the shared CLI conventions:
// --help exits 0, usage and input errors exit 2 with one line on stderr.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/cuda.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;

bool torch_has_cuda() { return torch::cuda::is_available(); }

struct Result {
  int status = -1;
  std::string err;
};

std::string bin_dir() {
  const char* env = std::getenv("LSTM_NLP_BIN");
  return env ? env : LSTMNLP_BINARY_DIR "/bin";
}

// Runs `args` through the shell with stdout discarded; captures stderr.
Result run(const std::string& args) {
  const auto err_file = fs::temp_directory_path() / ("lstmnlp_apps_" + std::to_string(::getpid()));
  const std::string cmd = args + " >/dev/null 2>" + err_file.string() + " </dev/null";
  const int raw = std::system(cmd.c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err_file);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  fs::remove(err_file);
  return r;
}

class AppsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    exe_ = bin_dir() + "/" + GetParam();
    if (!fs::exists(exe_)) GTEST_SKIP() << exe_ << " is not built";
  }
  std::string exe_;
};

// The first subcommand of each executable ("" for one without subcommands).
std::string first_command(const std::string& app) {
  if (app == "lstm-bench") return "";
  if (app == "lstm-paper") return "reber";
  return app == "lstm-tokenizer" ? "encode" : "train";
}

TEST_P(AppsTest, HelpExitsZero) {
  EXPECT_EQ(run(exe_ + " --help").status, 0);
  EXPECT_EQ(run(exe_ + " " + first_command(GetParam()) + " --help").status, 0);
}

TEST_P(AppsTest, UnknownOptionExitsTwoWithOneLine) {
  const auto r = run(exe_ + " " + first_command(GetParam()) + " --no-such-option");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("no-such-option"), std::string::npos) << r.err;
}

TEST_P(AppsTest, BadConfigExitsTwoNamingFileAndLine) {
  if (GetParam() == "lstm-tokenizer") GTEST_SKIP() << "lstm-tokenizer takes no config";
  const auto config =
      fs::temp_directory_path() / ("lstmnlp_bad_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(config) << "no_such_section:\n  key: 1\n";
  const auto out = fs::temp_directory_path() / ("lstmnlp_bad_run_" + std::to_string(::getpid()));
  const auto r = run(exe_ + " " + first_command(GetParam()) + " --config " + config.string() +
                     " --output-dir " + out.string());
  fs::remove(config);
  fs::remove_all(out);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(config.string() + ":1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no_such_section"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_P(AppsTest, MissingCudaDeviceExitsTwo) {
  if (GetParam() == "lstm-tokenizer") GTEST_SKIP() << "lstm-tokenizer runs on the CPU only";
  if (torch_has_cuda()) GTEST_SKIP() << "a GPU is present";
  const auto r = run(exe_ + " " + first_command(GetParam()) + " --device cuda:7");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("cuda:7"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Executables, AppsTest,
                         ::testing::Values("lstm-tokenizer", "lstm-bench", "lstm-paper", "lstm-lm",
                                           "lstm-sentiment", "lstm-qa"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace lstmnlp
