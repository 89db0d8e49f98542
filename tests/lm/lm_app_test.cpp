#include "models/lm/lm_app.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <sstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "lm_test_util.h"

namespace lstmnlp::lm {
namespace {

using testing::input_error_of;
using testing::TempDir;
using testing::tiny_config;

// One tiny training run shared by the tests below.
class LmAppTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("lm_app");
    cfg_ = new LmConfig(tiny_config(*dir_));
    LmTrainOptions options;
    options.run_dir = *dir_ / "run";
    std::ostringstream log;
    torch::manual_seed(8);
    run_lm_train(*cfg_, options, log);
    log_ = new std::string(log.str());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete cfg_;
    delete log_;
  }
  static std::string checkpoint() { return *dir_ / "run/best.pt"; }

  static TempDir* dir_;
  static LmConfig* cfg_;
  static std::string* log_;
};

TempDir* LmAppTest::dir_ = nullptr;
LmConfig* LmAppTest::cfg_ = nullptr;
std::string* LmAppTest::log_ = nullptr;

TEST_F(LmAppTest, TrainReportsValidAndTestPerplexity) {
  EXPECT_NE(log_->find("best valid"), std::string::npos) << *log_;
  EXPECT_NE(log_->find("test (best.pt)"), std::string::npos) << *log_;
  std::ifstream in(*dir_ / "run/metrics.jsonl");
  bool train = false, valid = false, test = false;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["split"] == "train") {
      train = record.contains("tokens_per_s") && record.contains("ppl") && record.contains("lr");
    }
    if (record["split"] == "valid") valid = record.contains("ppl");
    if (record["split"] == "test") test = record.contains("ppl");
  }
  EXPECT_TRUE(train && valid && test);
}

TEST_F(LmAppTest, EvalMatchesTheTrainingRunsTestFigure) {
  LmEvalOptions options;
  options.checkpoint = checkpoint();
  std::ostringstream out;
  const auto result = run_lm_eval(options, out);
  const auto record = nlohmann::json::parse(out.str());
  EXPECT_EQ(record["file"], *dir_ / "test.txt");
  EXPECT_DOUBLE_EQ(record["ppl"].get<double>(), result.token_ppl());
  // The test text has a word the training text lacks; it is scored as <unk>.
  EXPECT_GT(record["unknown"].get<int64_t>(), 0);
  // The same checkpoint, text and batching as the test figure at the end of training.
  std::ifstream in(*dir_ / "run/metrics.jsonl");
  std::optional<double> trained;
  for (std::string line; std::getline(in, line);) {
    const auto r = nlohmann::json::parse(line);
    if (r["split"] == "test") trained = r["ppl"].get<double>();
  }
  ASSERT_TRUE(trained.has_value());
  EXPECT_DOUBLE_EQ(result.token_ppl(), *trained);
  // Well below the uniform model's perplexity (the vocabulary size) after training.
  EXPECT_LT(result.token_ppl(), 0.6 * 14);
}

TEST_F(LmAppTest, SeededGenerationIsDeterministic) {
  LmGenerateOptions options;
  options.checkpoint = checkpoint();
  options.prompt = "the cat";
  options.length = 30;
  options.sampling.top_k = 5;
  options.sampling.top_p = 0.9;
  options.seed = 11;
  std::ostringstream out1, out2, out3, log;
  const auto a = run_lm_generate(options, out1, log);
  const auto b = run_lm_generate(options, out2, log);
  EXPECT_EQ(a, b);
  EXPECT_EQ(out1.str(), out2.str());
  EXPECT_EQ(a.rfind("the cat", 0), 0u) << a;
  options.seed = 12;
  EXPECT_NE(run_lm_generate(options, out3, log), a);
}

TEST_F(LmAppTest, GreedyEqualsTopOne) {
  auto lm = load_lm(checkpoint());
  SamplingOptions greedy;
  greedy.temperature = 0;
  SamplingOptions top1;
  top1.top_k = 1;
  const auto x = generate(lm.module->model, lm.vocab.eos_id(), {2, 3}, 20, greedy, 1);
  const auto y = generate(lm.module->model, lm.vocab.eos_id(), {2, 3}, 20, top1, 99);
  EXPECT_EQ(x, y);
}

TEST_F(LmAppTest, UnknownPromptWordsReadAsUnk) {
  LmGenerateOptions options;
  options.checkpoint = checkpoint();
  options.prompt = "the zyzzyva cat";
  options.length = 3;
  std::ostringstream out, log;
  const auto text = run_lm_generate(options, out, log);
  EXPECT_EQ(text.rfind("the <unk> cat", 0), 0u) << text;
  EXPECT_NE(log.str().find("1 prompt token is not in the vocabulary"), std::string::npos)
      << log.str();
}

TEST_F(LmAppTest, ResumeWithAnotherVocabularyNamesTheCheckpoint) {
  TempDir other("lm_app_other");
  auto cfg = tiny_config(other, /*seed=*/1);
  // The same corpus with one more word gives a vocabulary of another size.
  std::ofstream(other / "train.txt", std::ios::app) << "zebra\n";
  LmTrainOptions options;
  options.run_dir = other / "run";
  options.resume = checkpoint();
  std::ostringstream log;
  const auto message = input_error_of([&] { run_lm_train(cfg, options, log); });
  EXPECT_NE(message.find(checkpoint()), std::string::npos) << message;
  EXPECT_NE(message.find("vocabulary"), std::string::npos) << message;
  EXPECT_NE(message.find(other / "train.txt"), std::string::npos) << message;
}

TEST_F(LmAppTest, CheckpointWhoseVocabularyDoesNotMatchItsWeights) {
  // Rewrite the checkpoint with one word dropped from its stored vocabulary.
  auto meta = read_checkpoint_meta(checkpoint());
  auto words = nlohmann::json::parse(meta.extra)["words"].get<std::vector<std::string>>();
  words.pop_back();
  meta.extra = nlohmann::json{{"words", words}}.dump();
  auto lm = load_lm(checkpoint());
  const auto broken = *dir_ / "broken.pt";
  save_checkpoint(broken, *lm.module, nullptr, meta);
  const auto message = input_error_of([&] { load_lm(broken); });
  EXPECT_NE(message.find(broken), std::string::npos) << message;
  EXPECT_NE(message.find("vocabulary"), std::string::npos) << message;
}

TEST_F(LmAppTest, MissingOrEmptyCorpusNamesTheFile) {
  TempDir other("lm_app_missing");
  auto cfg = tiny_config(other);
  std::filesystem::remove(other / "valid.txt");
  LmTrainOptions options;
  options.run_dir = other / "run";
  std::ostringstream log;
  auto message = input_error_of([&] { run_lm_train(cfg, options, log); });
  EXPECT_NE(message.find(other / "valid.txt"), std::string::npos) << message;

  testing::write_file(other / "valid.txt", "");
  message = input_error_of([&] { run_lm_train(cfg, options, log); });
  EXPECT_NE(message.find(other / "valid.txt"), std::string::npos) << message;

  LmEvalOptions eval;
  eval.checkpoint = checkpoint();
  eval.file = other / "absent.txt";
  std::ostringstream out;
  message = input_error_of([&] { run_lm_eval(eval, out); });
  EXPECT_NE(message.find(eval.file), std::string::npos) << message;

  eval.checkpoint = other / "no.pt";
  message = input_error_of([&] { run_lm_eval(eval, out); });
  EXPECT_NE(message.find(eval.checkpoint), std::string::npos) << message;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Every file of a folder with its bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    files[entry.path().filename().string()] = read_file(entry.path().string());
  }
  return files;
}

TEST(LmAppRunDir, TrainingIntoAnExistingRunIsRefusedUnlessOverwrite) {
  TempDir dir("lm_app_again");
  auto cfg = tiny_config(dir);
  cfg.train.base.loop.epochs = 1;
  LmTrainOptions options;
  options.run_dir = dir / "run";
  options.test_after = false;
  std::ostringstream log;
  run_lm_train(cfg, options, log);
  const auto before = snapshot(options.run_dir);
  const auto message = input_error_of([&] { run_lm_train(cfg, options, log); });
  EXPECT_NE(message.find(options.run_dir + ": already holds a run"), std::string::npos) << message;
  EXPECT_EQ(snapshot(options.run_dir), before);

  options.overwrite = true;
  run_lm_train(cfg, options, log);
  // The old run's records are gone, not followed by the new run's.
  std::ifstream in(dir / "run/metrics.jsonl");
  std::map<std::pair<std::string, int64_t>, int> records;
  for (std::string line; std::getline(in, line);) {
    const auto r = nlohmann::json::parse(line);
    ++records[{r["split"].get<std::string>(), r["step"].get<int64_t>()}];
  }
  ASSERT_FALSE(records.empty());
  for (const auto& [key, count] : records) EXPECT_EQ(count, 1) << key.first << " " << key.second;
}

TEST(LmAppRunDir, ARejectedResumeWritesNothing) {
  TempDir dir("lm_app_resume");
  auto cfg = tiny_config(dir);
  cfg.train.base.loop.epochs = 1;
  LmTrainOptions options;
  options.run_dir = dir / "run";
  options.test_after = false;
  std::ostringstream log;
  run_lm_train(cfg, options, log);
  const auto before = snapshot(options.run_dir);

  auto bigger = cfg;
  bigger.model.hidden_size = 32;
  options.resume = dir / "run/latest.pt";
  const auto message = input_error_of([&] { run_lm_train(bigger, options, log); });
  EXPECT_NE(message.find("shape"), std::string::npos) << message;
  EXPECT_EQ(snapshot(options.run_dir), before) << "config.yaml or another file was rewritten";
}

TEST(LmAppRunDir, ResumeFromAnotherAppsCheckpointOrAFolderSaysSo) {
  TempDir dir("lm_app_kind");
  auto cfg = tiny_config(dir);
  torch::nn::Linear net(2, 2);
  save_checkpoint(dir / "sentiment.pt", *net, nullptr, {"sentiment"});
  LmTrainOptions options;
  options.run_dir = dir / "run";
  options.resume = dir / "sentiment.pt";
  std::ostringstream log;
  auto message = input_error_of([&] { run_lm_train(cfg, options, log); });
  EXPECT_NE(message.find("this is a lstm-sentiment checkpoint, not a lstm-lm one"),
            std::string::npos)
      << message;
  EXPECT_FALSE(std::filesystem::exists(dir / "run"));

  options.resume = dir.path().string();
  message = input_error_of([&] { run_lm_train(cfg, options, log); });
  EXPECT_NE(message.find("is a directory, expected a checkpoint file"), std::string::npos)
      << message;
  message = input_error_of([&] { load_lm(dir.path().string()); });
  EXPECT_NE(message.find("is a directory, expected a checkpoint file"), std::string::npos)
      << message;
}

TEST(LmAppRunDir, SizesTooLargeToAllocateNameTheKey) {
  TempDir dir("lm_app_huge");
  auto cfg = tiny_config(dir);
  cfg.model.hidden_size = 1000000;
  LmTrainOptions options;
  options.run_dir = dir / "run";
  std::ostringstream log;
  const auto message = input_error_of([&] { run_lm_train(cfg, options, log); });
  EXPECT_NE(message.find("model.hidden_size=1000000"), std::string::npos) << message;
  EXPECT_NE(message.find("more than this machine's"), std::string::npos) << message;
}

TEST(LmAppSentencePiece, ReportsPerTokenAndPerWordPerplexity) {
  TempDir dir("lm_app_spm");
  testing::write_file(dir / "all.txt", testing::random_text(400, 14, 3));
  LmConfig cfg;
  cfg.data.file = dir / "all.txt";
  cfg.data.valid_fraction = 0.1;
  cfg.data.test_fraction = 0.1;
  cfg.data.batch_size = 4;
  cfg.data.bptt = 8;
  cfg.vocab.type = VocabType::kSentencePiece;
  cfg.vocab.spm_vocab_size = 30;
  cfg.model.embedding_size = 16;
  cfg.model.hidden_size = 16;
  cfg.train.base.loop.epochs = 1;
  cfg.train.base.loop.max_steps = 20;
  cfg.train.base.loop.eval_every = 20;
  LmTrainOptions options;
  options.run_dir = dir / "run";
  std::ostringstream log;
  torch::manual_seed(9);
  run_lm_train(cfg, options, log);
  EXPECT_TRUE(std::filesystem::exists(dir / "run/spm.model"));

  LmEvalOptions eval;
  eval.checkpoint = dir / "run/best.pt";
  std::ostringstream out;
  const auto result = run_lm_eval(eval, out);
  const auto record = nlohmann::json::parse(out.str());
  ASSERT_TRUE(record.contains("word_ppl")) << out.str();
  EXPECT_NEAR(record["word_ppl"].get<double>(), std::exp(result.nll / result.words), 1e-6);
  // Words are at most as many as pieces here (every word is one or more pieces).
  EXPECT_LE(result.words, result.tokens);
  EXPECT_GE(result.word_ppl(), result.token_ppl());
}

}  // namespace
}  // namespace lstmnlp::lm
