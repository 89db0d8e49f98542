#include "models/bench/bench_app.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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
  for (const char* key : {"mode", "T", "B", "input_size", "hidden_size", "layers", "bidirectional",
                          "device", "torch_tokens_per_s", "custom_tokens_per_s", "speedup",
                          "max_abs_diff", "torch_peak_bytes", "custom_peak_bytes"}) {
    EXPECT_TRUE(json[0].contains(key)) << key;
  }
  EXPECT_EQ(json[0]["T"], 4);
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
