#include "models/bench/bench_app.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/bench/onednn_lstm.h"
#include "models/lstm.h"
#include "models/lstm_profile.h"
#include "models/small_gemm.h"
#include "tests/test_util.h"

namespace lstmnlp::bench {
namespace {

BenchConfig tiny_config() {
  BenchConfig config;
  config.steps = 4;
  config.batch = 3;
  config.hidden_sizes = {8};
  config.input_size = 5;
  config.layers = 2;
  config.bidirectional = true;
  config.warmup = 1;
  config.repetitions = 2;
  config.ceiling = false;  // seconds of 2048³ products; on where a test needs it
  return config;
}

TEST(LSTMBenchTest, ReportsEveryModeWithAgreementAndMemory) {
  const auto rows = run_lstm_bench(tiny_config());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].mode, "forward_backward");
  EXPECT_EQ(rows[2].mode, "inference");
  for (const auto& row : rows) {
    EXPECT_EQ(row.input_size, 5);
    EXPECT_EQ(row.hidden_size, 8);
    EXPECT_GT(row.torch_tokens_per_s, 0);
    EXPECT_GT(row.custom_tokens_per_s, 0);
    EXPECT_LT(row.max_abs_diff, 1e-5) << row.mode;
    EXPECT_GT(row.torch_peak_bytes, 0) << row.mode;
    EXPECT_GT(row.custom_peak_bytes, 0) << row.mode;
  }
  const std::string table = lstm_bench_markdown(rows);
  EXPECT_NE(table.find("| forward_backward | 4 | 3 | 5 | 8 | 2 | yes | cpu |"), std::string::npos)
      << table;
}

TEST(LSTMBenchTest, WritesJsonRowsWithTheDocumentedKeys) {
  auto config = tiny_config();
  config.modes = {"inference"};
  // A name of this process's own: ctest -j runs the tests in parallel processes.
  const test::TempDir dir("bench_json");
  const std::string path = dir / "bench.json";
  std::ostringstream table;
  run_lstm_bench_report(config, path, table);
  std::ifstream file(path);
  const auto json = nlohmann::json::parse(file);
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1u);
  for (const char* key : {"mode",
                          "T",
                          "B",
                          "input_size",
                          "hidden_size",
                          "layers",
                          "bidirectional",
                          "device",
                          "torch_tokens_per_s",
                          "custom_tokens_per_s",
                          "speedup",
                          "max_abs_diff",
                          "torch_peak_bytes",
                          "custom_peak_bytes",
                          "onednn_tokens_per_s",
                          "speedup_vs_onednn",
                          "onednn_max_abs_diff",
                          "ceiling_gflops",
                          "ceiling_tokens_per_s",
                          "fraction_of_ceiling"}) {
    EXPECT_TRUE(json[0].contains(key)) << key;
  }
  EXPECT_EQ(json[0]["T"], 4);
}

// 2·4H·(F+H) per token and direction: 2·32·13 = 832 FLOP forward, three times that with the
// backward; the ceiling divides the measured SGEMM rate by it.
TEST(LSTMBenchTest, CeilingDividesTheSgemmRateByTheFlopPerToken) {
  auto config = tiny_config();
  config.layers = 1;
  config.ceiling = true;
  config.ceiling_size = 256;
  const auto rows = run_lstm_bench(config);
  ASSERT_EQ(rows.size(), 3u);
  const double per_token_forward = 2 * 2.0 * 4 * 8 * (5 + 8);
  EXPECT_NEAR(rows[0].ceiling_tokens_per_s, rows[0].ceiling_gflops * 1e9 / (3 * per_token_forward),
              1e-6 * rows[0].ceiling_tokens_per_s);
  EXPECT_NEAR(rows[2].ceiling_tokens_per_s, rows[2].ceiling_gflops * 1e9 / per_token_forward,
              1e-6 * rows[2].ceiling_tokens_per_s);
  for (const auto& row : rows) {
    EXPECT_GT(row.ceiling_gflops, 0);
    EXPECT_NEAR(row.fraction_of_ceiling, row.custom_tokens_per_s / row.ceiling_tokens_per_s, 1e-12);
  }
  EXPECT_EQ(lstm_bench_json(rows)[0]["fraction_of_ceiling"], rows[0].fraction_of_ceiling);
}

// The oneDNN column computes the same function: outputs, states and every gradient agree with
// torch::nn::LSTM's.
TEST(LSTMBenchTest, OneDnnColumnAgreesWithTorch) {
  auto config = tiny_config();
  config.layers = 1;
  torch::nn::LSTM probe(torch::nn::LSTMOptions(5, 8).bidirectional(true));
  const std::string why = onednn_unavailable_reason(probe);
  if (!why.empty()) GTEST_SKIP() << why;
  for (const auto& row : run_lstm_bench(config)) {
    EXPECT_GT(row.onednn_tokens_per_s, 0) << row.mode;
    EXPECT_LT(row.onednn_max_abs_diff, 1e-5) << row.mode;
    EXPECT_NEAR(row.speedup_vs_onednn, row.custom_tokens_per_s / row.onednn_tokens_per_s, 1e-9);
  }
  // Stacks are not built: the column says so instead of running.
  const auto rows = run_lstm_bench(tiny_config());
  EXPECT_EQ(rows[0].onednn_tokens_per_s, 0);
  EXPECT_NE(rows[0].onednn_note.find("one layer only"), std::string::npos);
}

TEST(LSTMBenchTest, ProfileSplitsARoundIntoItsPhases) {
  torch::manual_seed(1);
  LSTM lstm(LSTMOptions(5, 8));
  const torch::Tensor x = torch::randn({4, 3, 5}, torch::requires_grad());
  profile::start();
  auto [out, state] = lstm->forward(x);
  out.sum().backward();
  const profile::Totals totals = profile::stop();
  // With libxsmm the recurrent products accumulate into the gates: no separate add.
  const bool small_gemm = static_cast<bool>(kernels::SmallGemm::accumulating(32, 3, 8, 8, 32));
  for (size_t p = 0; p < totals.seconds.size(); ++p) {
    // A training round never runs on oneDNN's inference primitive.
    if ((p == static_cast<size_t>(profile::Phase::kRecurrentAdd) && small_gemm) ||
        p == static_cast<size_t>(profile::Phase::kOneDnnLayer)) {
      EXPECT_EQ(totals.seconds[p], 0) << profile::kPhaseNames[p];
    } else {
      EXPECT_GT(totals.seconds[p], 0) << profile::kPhaseNames[p];
    }
  }
  // Off, nothing is summed.
  auto [out2, state2] = lstm->forward(x);
  out2.sum().backward();
  EXPECT_EQ(profile::stop().seconds, totals.seconds);

  auto config = tiny_config();
  config.layers = 1;
  config.modes = {"forward_backward"};
  const std::string table = lstm_profile_markdown(config);
  for (const char* part : {"| custom | recurrent product |", "| custom | gates backward |",
                           "| custom | other |", "| custom | round |"}) {
    EXPECT_NE(table.find(part), std::string::npos) << part << "\n" << table;
  }
}

TEST(LSTMBenchTest, RejectsBadConfigs) {
  auto config = tiny_config();
  config.modes = {"backward"};
  EXPECT_THROW(run_lstm_bench(config), c10::Error);
  config = tiny_config();
  config.repetitions = 0;
  EXPECT_THROW(run_lstm_bench(config), c10::Error);
}

}  // namespace
}  // namespace lstmnlp::bench
