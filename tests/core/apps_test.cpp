// Runs every built executable the way a user would and checks the shared CLI conventions:
// --help exits 0, usage and input errors exit 2 with one line on stderr.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/cuda.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/checkpoint.h"
#include "tests/test_util.h"

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

TEST_P(AppsTest, ADirectoryAsConfigExitsTwoNamingIt) {
  if (GetParam() == "lstm-tokenizer") GTEST_SKIP() << "lstm-tokenizer takes no config";
  const test::TempDir dir("apps_config_dir");
  const auto r = run(exe_ + " " + first_command(GetParam()) + " --config " + dir.path().string() +
                     " --output-dir " + (dir / "run"));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(dir.path().string() + ": is a directory, expected a YAML config file"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_P(AppsTest, ANegativeSeedExitsTwo) {
  const auto r = run(exe_ + " " + first_command(GetParam()) + " --seed -1");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--seed: expected an integer from 0 to"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_P(AppsTest, MissingCudaDeviceExitsTwo) {
  if (GetParam() == "lstm-tokenizer") GTEST_SKIP() << "lstm-tokenizer runs on the CPU only";
  if (torch_has_cuda()) GTEST_SKIP() << "a GPU is present";
  const auto r = run(exe_ + " " + first_command(GetParam()) + " --device cuda:7");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("cuda:7"), std::string::npos) << r.err;
}

TEST(LmExecutable, NegativeBatchSizeAndBpttExitTwo) {
  const std::string exe = bin_dir() + "/lstm-lm";
  if (!fs::exists(exe)) GTEST_SKIP() << exe << " is not built";
  for (const std::string option : {"--batch-size -3", "--bptt -7"}) {
    const auto r = run(exe + " eval --checkpoint none.pt " + option);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find(option.substr(0, option.find(' ')) + ": value " +
                         option.substr(option.find(' ') + 1) + " out of range [0, 1e+06]"),
              std::string::npos)
        << r.err;
  }
}

// A SIGTERM during training: the step finishes, latest.pt is saved, one line says how to
// resume, and the exit status is 128 + 15.
TEST(LmExecutable, SigtermSavesLatestAndSaysHowToResume) {
  const std::string exe = bin_dir() + "/lstm-lm";
  if (!fs::exists(exe)) GTEST_SKIP() << exe << " is not built";
  const test::TempDir dir("apps_sigterm");
  std::mt19937 rng(3);
  const std::vector<std::string> words = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran"};
  for (const char* split : {"train.txt", "valid.txt"}) {
    std::ofstream out(dir / split);
    for (int line = 0; line < 200; ++line) {
      for (int w = 0; w < 8; ++w) out << words[rng() % words.size()] << (w < 7 ? " " : "\n");
    }
  }
  std::ofstream(dir / "lm.yaml") << "data: {dir: " << dir.path().string()
                                 << ", batch_size: 4, bptt: 8}\n"
                                    "model: {embedding_size: 16, hidden_size: 16, num_layers: 1}\n"
                                    "train: {epochs: 100000, log_every: 1, optimizer: adam, "
                                    "lr: 0.01}\n";
  const std::string run_dir = dir / "run";
  const std::string err_file = dir / "stderr.txt";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string cmd = "exec " + exe + " train --config " + (dir / "lm.yaml") +
                            " --output-dir " + run_dir + " 2>" + err_file + " >/dev/null";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until training has logged a step, so that the signal arrives inside the loop.
  const auto metrics = fs::path(run_dir) / "metrics.jsonl";
  for (int i = 0; i < 1200 && !(fs::exists(metrics) && fs::file_size(metrics) > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(fs::exists(metrics) && fs::file_size(metrics) > 0) << "training did not start";
  ::kill(child, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  std::ifstream in(err_file);
  const std::string err((std::istreambuf_iterator<char>(in)), {});
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status) << "\n" << err;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM) << err;
  const std::string latest = (fs::path(run_dir) / "latest.pt").string();
  EXPECT_NE(err.find("lstm-lm: interrupted by SIGTERM after step "), std::string::npos) << err;
  EXPECT_NE(err.find("--resume " + latest + "\n"), std::string::npos) << err;
  EXPECT_GT(read_checkpoint_meta(latest, "lm").step, 0);
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
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
