#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/checkpoint.h"
#include "models/sentiment/sentiment_app.h"
#include "tests/test_util.h"

namespace lstmnlp::sentiment {
namespace {

namespace fs = std::filesystem;

fs::path sst2_dir() {
  const char* env = std::getenv("LSTM_NLP_DATA");
  const fs::path data =
      env && *env ? fs::path(env) : fs::path(LSTMNLP_SOURCE_DIR) / ".." / "shared" / "data";
  return data / "sst2";
}

// A model too large for this machine is refused before it is built, naming the keys that size
// it, and nothing but the tokenizer is written into the run directory.
TEST(SentimentTrain, SizesTooLargeToAllocateNameTheKey) {
  const test::TempDir tmp("sentiment_huge");
  {
    std::ofstream out(tmp.path() / "train.tsv");
    out << "sentence\tlabel\n";
    const char* words[] = {"a good film", "an awful movie", "great acting", "a dull plot"};
    for (int i = 0; i < 64; ++i) out << words[i % 4] << "\t" << (i % 2 ? "neg" : "pos") << "\n";
  }
  SentimentConfig cfg;
  cfg.data.train = (tmp.path() / "train.tsv").string();
  cfg.data.dev = cfg.data.train;
  cfg.tokenizer.vocab_size = 24;
  cfg.tokenizer.character_coverage = 1.0;
  cfg.model.hidden_size = 100000;
  SentimentTrainOptions options;
  options.run_dir = (tmp.path() / "run").string();
  std::ostringstream log;
  const auto message = test::input_error_of([&] { run_sentiment_train(cfg, options, log); });
  EXPECT_NE(message.find("model.hidden_size=100000"), std::string::npos) << message;
  EXPECT_NE(message.find("more than this machine's"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(tmp.path() / "run" / "latest.pt"));
}

// A few seconds of training on the first 4,000 SST-2 phrases, with a small model, must beat
// always answering the majority class of the dev set (50.9%).
TEST(SentimentTrain, ShortSst2RunBeatsMajorityClass) {
  const auto sst2 = sst2_dir();
  if (!fs::exists(sst2 / "train.tsv") || !fs::exists(sst2 / "dev.tsv")) {
    GTEST_SKIP() << "SST-2 not found in " << sst2.string()
                 << " (set LSTM_NLP_DATA to the data directory)";
  }
  const test::TempDir tmp("sentiment_train");
  const fs::path run_dir = tmp.path() / "run";
  SentimentConfig cfg;
  cfg.data.train = (sst2 / "train.tsv").string();
  cfg.data.dev = (sst2 / "dev.tsv").string();
  cfg.data.max_train_examples = 4000;
  cfg.data.max_tokens = 48;
  cfg.tokenizer.vocab_size = 1000;
  cfg.model.embedding_dim = 32;
  cfg.model.hidden_size = 32;
  cfg.train.base.opt.lr = 5e-3;
  cfg.train.base.loop.epochs = 2;
  cfg.train.batch_size = 32;
  SentimentTrainOptions options;
  options.run_dir = run_dir.string();
  options.seed = 17;
  std::ostringstream log;
  const auto start = std::chrono::steady_clock::now();
  const auto report = run_sentiment_train(cfg, options, log);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int64_t majority = 0;
  for (int64_t support : report.support) majority = std::max(majority, support);
  const double majority_accuracy = static_cast<double>(majority) / report.total;
  EXPECT_EQ(report.total, 872);
  EXPECT_GT(report.accuracy, majority_accuracy + 0.05) << log.str();
  // The run directory holds what eval and predict need.
  for (const char* name : {"best.pt", "latest.pt", "config.yaml", "metrics.jsonl", "spm.model",
                           "labels.json", "dev_metrics.json"}) {
    EXPECT_TRUE(fs::exists(run_dir / name)) << name;
  }
  std::ifstream in(run_dir / "dev_metrics.json");
  const auto metrics = nlohmann::json::parse(in);
  EXPECT_DOUBLE_EQ(metrics["accuracy"].get<double>(), report.accuracy);
  EXPECT_EQ(read_checkpoint_meta((run_dir / "best.pt").string()).kind, "sentiment");
  std::cerr << "SST-2 slice: dev accuracy " << report.accuracy << " (majority " << majority_accuracy
            << ") in " << seconds << " s\n";
}

}  // namespace
}  // namespace lstmnlp::sentiment
