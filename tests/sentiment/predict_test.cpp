#include "models/sentiment/predict.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/signals.h"
#include "datasets/length_batching.h"
#include "models/sentiment/sentiment_app.h"
#include "tests/test_util.h"

namespace lstmnlp::sentiment {
namespace {

namespace fs = std::filesystem;

/// Largest unigram vocabulary the trainer accepts on the tiny corpus is 36.
constexpr int kTinyVocab = 30;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? tab : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

// A tiny classifier trained for a few steps on synthetic reviews: enough for predict and eval,
// whose tests check plumbing (order, count, marking, probabilities), not accuracy.
class SentimentPredictTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<test::TempDir>("sentiment_predict");
    dir_ = tmp_->path();
    std::mt19937 rng(1);
    const std::vector<std::string> pos = {"good", "great", "wonderful", "fine", "superb"};
    const std::vector<std::string> neg = {"bad", "awful", "dull", "boring", "poor"};
    const std::vector<std::string> nouns = {"film", "movie", "acting", "plot", "story"};
    std::ofstream train(dir_ / "train.tsv");
    train << "sentence\tlabel\n";
    for (int i = 0; i < 200; ++i) {
      const auto& words = i % 2 ? neg : pos;
      train << "a " << words[rng() % words.size()] << " " << nouns[rng() % nouns.size()] << "\t"
            << (i % 2 ? "neg" : "pos") << "\n";
    }
    train.close();
    SentimentConfig cfg;
    cfg.data.train = (dir_ / "train.tsv").string();
    cfg.data.dev = cfg.data.train;
    cfg.tokenizer.vocab_size = kTinyVocab;
    cfg.tokenizer.character_coverage = 1.0;
    cfg.model.embedding_dim = 8;
    cfg.model.hidden_size = 8;
    cfg.train.base.loop.max_steps = 5;
    cfg.train.base.loop.eval_every = 5;
    cfg.train.batch_size = 16;
    SentimentTrainOptions options;
    options.run_dir = (dir_ / "run").string();
    std::ostringstream log;
    run_sentiment_train(cfg, options, log);
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static std::unique_ptr<test::TempDir> tmp_;
  static fs::path dir_;
};

std::unique_ptr<test::TempDir> SentimentPredictTest::tmp_;
fs::path SentimentPredictTest::dir_;

// Lines of varied length, empty and invalid lines, a CRLF line, a line cut at max_line_bytes
// and no final newline; chunks of 4 lines and batches of 3 so sorting crosses boundaries.
TEST_F(SentimentPredictTest, KeepsOrderAndCountAndMarksBadLines) {
  std::vector<std::string> lines;
  for (int i = 0; i < 23; ++i) {
    std::string text = i % 3 ? "a good film" : "a bad plot";
    for (int k = 0; k < i % 4; ++k) text += " and a dull story";  // at most 61 bytes
    lines.push_back(text);
  }
  lines[4] = "";
  lines[7] = "   ";
  lines[10] = "bad \xC3\x28 bytes";
  lines[12] = "a great movie\r";
  lines[15] = std::string(70, 'a') + "\xC3\xA9 good";  // cut inside the two-byte character
  std::string input;
  for (size_t i = 0; i < lines.size(); ++i) input += lines[i] + (i + 1 < lines.size() ? "\n" : "");
  const auto input_path = write("input.txt", input);

  auto classifier = SentimentCheckpoint::load((dir_ / "run").string(), torch::kCPU);
  SentimentPredictOptions options;
  options.chunk_lines = 4;
  options.batch_size = 3;
  options.max_line_bytes = 71;
  PredictSummary summary;
  std::ostringstream out;
  {
    std::ifstream in(input_path, std::ios::binary);
    predict_stream(classifier, in, "input.txt", out, options, summary);
  }
  const auto rows = split_lines(out.str());
  ASSERT_EQ(rows.size(), lines.size());
  EXPECT_EQ(summary.lines, 23);
  EXPECT_EQ(summary.empty, 2);
  EXPECT_EQ(summary.invalid_utf8, 1);
  EXPECT_EQ(summary.truncated, 1);
  EXPECT_EQ(summary.classified, 20);

  for (size_t i = 0; i < rows.size(); ++i) {
    const auto fields = split_tabs(rows[i]);
    ASSERT_EQ(fields.size(), 6u) << rows[i];  // file line status label p_neg p_pos
    EXPECT_EQ(fields[0], "input.txt");
    EXPECT_EQ(fields[1], std::to_string(i + 1));
    const std::string expected_status = i == 4 || i == 7 ? "empty"
                                        : i == 10        ? "invalid_utf8"
                                                         : "ok";
    EXPECT_EQ(fields[2], expected_status) << "line " << i + 1;
    if (expected_status != "ok") {
      EXPECT_EQ(fields[3], "");
      EXPECT_EQ(fields[4], "");
      continue;
    }
    // Each row holds the probabilities of its own line: classify the line alone.
    std::string text = lines[i];
    if (i == 12) text.pop_back();              // '\r' dropped
    if (i == 15) text = std::string(70, 'a');  // cut before the partial character
    const auto ids = encode_for_classifier(classifier.tokenizer, text, 256);
    const auto alone = make_batch({ids}, {0}, classifier.tokenizer.pad_id());
    torch::NoGradGuard no_grad;
    const auto p = torch::softmax(classifier.model->forward(alone.tokens, alone.lengths), 1)[0];
    EXPECT_NEAR(std::stod(fields[4]), p[0].item<double>(), 2e-6) << "line " << i + 1;
    EXPECT_NEAR(std::stod(fields[5]), p[1].item<double>(), 2e-6) << "line " << i + 1;
    EXPECT_EQ(fields[3], p[1].item<double>() > p[0].item<double>() ? "pos" : "neg");
  }
}

TEST_F(SentimentPredictTest, WritesJsonLinesForSeveralInputsWithHeaderlessRows) {
  const auto a = write("a.txt", "a good film\n\na bad plot\n");
  const auto b = write("b.txt",
                       "\xEF\xBB\xBF"
                       "a dull story\n");
  SentimentPredictOptions options;
  options.checkpoint = (dir_ / "run" / "best.pt").string();
  options.inputs = {a, b};
  options.output = (dir_ / "out.jsonl").string();
  options.format = PredictFormat::kJsonl;
  std::ostringstream log;
  const auto summary = run_sentiment_predict(options, log);
  EXPECT_EQ(summary.lines, 4);
  EXPECT_NE(log.str().find("sentences/s"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("1 empty"), std::string::npos) << log.str();
  const auto rows = split_lines(read(options.output));
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::pair<std::string, int>> where = {{a, 1}, {a, 2}, {a, 3}, {b, 1}};
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto j = nlohmann::json::parse(rows[i]);
    EXPECT_EQ(j["file"], where[i].first);
    EXPECT_EQ(j["line"], where[i].second);
    if (i == 1) {
      EXPECT_EQ(j["status"], "empty");
      EXPECT_TRUE(j["label"].is_null());
      continue;
    }
    EXPECT_EQ(j["status"], "ok");
    const double total = j["probs"]["neg"].get<double>() + j["probs"]["pos"].get<double>();
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST_F(SentimentPredictTest, TsvHeaderNamesClasses) {
  auto classifier = SentimentCheckpoint::load((dir_ / "run").string(), torch::kCPU);
  EXPECT_EQ(predict_header(classifier, PredictFormat::kTsv),
            "file\tline\tstatus\tlabel\tp_neg\tp_pos\n");
  EXPECT_EQ(predict_header(classifier, PredictFormat::kJsonl), "");
  EXPECT_EQ(parse_predict_format("jsonl"), PredictFormat::kJsonl);
  EXPECT_THROW(parse_predict_format("csv"), InputError);
}

TEST_F(SentimentPredictTest, MissingInputIsAnInputError) {
  SentimentPredictOptions options;
  options.checkpoint = (dir_ / "run").string();
  options.inputs = {(dir_ / "no_such.txt").string()};
  std::ostringstream log;
  EXPECT_THROW(run_sentiment_predict(options, log), InputError);
}

TEST_F(SentimentPredictTest, AnOutputThatIsAnInputIsRefusedAndTheInputKept) {
  const std::string text = "a good film\na bad plot\n";
  const auto input = write("same.txt", text);
  fs::remove(dir_ / "same_link.txt");
  fs::remove(dir_ / "same_hard.txt");
  fs::create_symlink(input, dir_ / "same_link.txt");
  fs::create_hard_link(input, dir_ / "same_hard.txt");
  for (const auto& output :
       {input, (dir_ / "." / "same.txt").string(), (dir_ / "same_link.txt").string(),
        (dir_ / "same_hard.txt").string()}) {
    SentimentPredictOptions options;
    options.checkpoint = (dir_ / "run").string();
    options.inputs = {input};
    options.output = output;
    std::ostringstream log;
    const auto message = test::input_error_of([&] { run_sentiment_predict(options, log); });
    EXPECT_NE(message.find("is the same file as the input"), std::string::npos) << message;
    EXPECT_EQ(read(input), text) << output;
  }
}

TEST_F(SentimentPredictTest, AFailedWriteLeavesNeitherOutputNorTemporaryFile) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "a good film and a bad plot\n";
  SentimentPredictOptions options;
  options.checkpoint = (dir_ / "run").string();
  options.inputs = {write("long.txt", text)};
  const auto out_dir = dir_ / "failed";
  fs::create_directories(out_dir);
  options.output = (out_dir / "labels.tsv").string();
  options.chunk_lines = 100;
  // A file size limit fails the writes as a full disk would.
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 20000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::ostringstream log;
  const auto message = test::input_error_of([&] { run_sentiment_predict(options, log); });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(options.output + ": cannot write the predictions"), std::string::npos)
      << message;
  EXPECT_TRUE(fs::is_empty(out_dir)) << "a partial output or temporary file was left";
}

TEST_F(SentimentPredictTest, AStopRequestRemovesTheTemporaryFile) {
  std::string text;
  for (int i = 0; i < 50000; ++i) text += i % 2 ? "a good film\n" : "a bad plot\n";
  SentimentPredictOptions options;
  options.checkpoint = (dir_ / "run").string();
  options.inputs = {write("stopped.txt", text)};
  const auto out_dir = dir_ / "stopped";
  fs::create_directories(out_dir);
  options.output = (out_dir / "labels.tsv").string();
  options.chunk_lines = 64;
  // As SIGINT would, once predict is writing its temporary file.
  std::thread stopper([&] {
    const auto temp = options.output + ".tmp-" + std::to_string(::getpid());
    for (int i = 0; i < 20000 && !fs::exists(temp); ++i) ::usleep(500);
    signals::request_stop(SIGINT);
  });
  std::ostringstream log;
  int stopped_by = 0;
  try {
    run_sentiment_predict(options, log);
  } catch (const signals::Interrupted& e) {
    stopped_by = e.signal();
    EXPECT_NE(std::string(e.what()).find(options.output + " was not written"), std::string::npos)
        << e.what();
  }
  stopper.join();
  signals::clear_stop();
  EXPECT_EQ(stopped_by, SIGINT);
  EXPECT_TRUE(fs::is_empty(out_dir)) << "a partial output or temporary file was left";
}

TEST_F(SentimentPredictTest, AFullDiskNamesTheOutput) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  SentimentPredictOptions options;
  options.checkpoint = (dir_ / "run").string();
  options.inputs = {write("full.txt", "a good film\n")};
  options.output = "/dev/full";
  std::ostringstream log;
  const auto message = test::input_error_of([&] { run_sentiment_predict(options, log); });
  EXPECT_EQ(message.rfind("/dev/full: ", 0), 0u) << message;
  EXPECT_NE(message.find("No space left on device"), std::string::npos) << message;
}

TEST_F(SentimentPredictTest, EvalOfAnUnknownExtensionNamesTheFormatOption) {
  const auto path = write("eval.txt", "sentence\tlabel\na good film\tpos\n");
  SentimentEvalOptions options;
  options.checkpoint = (dir_ / "run").string();
  options.input = path;
  std::ostringstream out;
  const auto message = test::input_error_of([&] { run_sentiment_eval(options, out); });
  EXPECT_NE(message.find(path + ": cannot tell the format from the extension '.txt'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("pass --format tsv"), std::string::npos) << message;
  EXPECT_EQ(message.find("data.format"), std::string::npos) << message;
}

TEST_F(SentimentPredictTest, TrainingAgainIntoTheRunIsRefused) {
  SentimentConfig cfg;
  cfg.data.train = (dir_ / "train.tsv").string();
  cfg.data.dev = cfg.data.train;
  SentimentTrainOptions options;
  options.run_dir = (dir_ / "run").string();
  const auto best = read((dir_ / "run" / "best.pt").string());
  std::ostringstream log;
  const auto message = test::input_error_of([&] { run_sentiment_train(cfg, options, log); });
  EXPECT_NE(message.find(options.run_dir + ": already holds a run"), std::string::npos) << message;
  EXPECT_EQ(read((dir_ / "run" / "best.pt").string()), best);
}

TEST_F(SentimentPredictTest, EvalRejectsLabelUnseenInTraining) {
  const auto path = write("eval.tsv", "sentence\tlabel\na good film\tpos\na so-so film\tmixed\n");
  SentimentEvalOptions options;
  options.checkpoint = (dir_ / "run").string();
  options.input = path;
  std::ostringstream out;
  try {
    run_sentiment_eval(options, out);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path + ":3:"), std::string::npos) << message;
    EXPECT_NE(message.find("'mixed'"), std::string::npos) << message;
  }
}

TEST_F(SentimentPredictTest, EvalPrintsTableAndWritesJson) {
  SentimentEvalOptions options;
  options.checkpoint = (dir_ / "run").string();
  options.input = (dir_ / "train.tsv").string();
  options.output = (dir_ / "eval.json").string();
  std::ostringstream out;
  const auto report = run_sentiment_eval(options, out);
  EXPECT_EQ(report.total, 200);
  EXPECT_NE(out.str().find("confusion"), std::string::npos) << out.str();
  const auto j = nlohmann::json::parse(read(options.output));
  EXPECT_EQ(j["examples"], 200);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), report.accuracy);
}

}  // namespace
}  // namespace lstmnlp::sentiment
