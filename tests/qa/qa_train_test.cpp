// lstm-qa end to end: a short training run on a slice of SQuAD train beats the first-sentence
// baseline on a slice of dev; predict writes one answer per question, which eval reads back;
// bad input exits 2 naming the file.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/signals.h"
#include "core/trainer.h"
#include "datasets/squad_features.h"
#include "models/qa/qa_app.h"
#include "models/qa/qa_task.h"
#include "tests/qa/qa_test_util.h"
#include "tests/test_util.h"

namespace lstmnlp::qa {
namespace {

namespace fs = std::filesystem;
using test::input_error_of;
using test::TempDir;
using testing::squad_dir;
using testing::write_slice;

std::string bin_dir() {
  const char* env = std::getenv("LSTM_NLP_BIN");
  return env ? env : LSTMNLP_BINARY_DIR "/bin";
}

int exit_status(const std::string& command, std::string* err = nullptr) {
  const std::string err_file =
      fs::temp_directory_path() / ("lstmnlp_qa_err_" + std::to_string(::getpid()));
  const int raw = std::system((command + " >/dev/null 2>" + err_file + " </dev/null").c_str());
  if (err) {
    std::ifstream in(err_file);
    err->assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove(err_file);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// The size check counts parameters without building the reader: its count must be the built
// reader's, with and without the aligned embedding, the features and concatenated layers.
TEST(QaReaderSize, ParameterCountMatchesTheBuiltReader) {
  for (const std::string lstm : {"custom", "torch"}) {
    for (const bool extras : {true, false}) {
      for (const int64_t layers : {1, 2}) {
        QaModelConfig cfg;
        cfg.lstm = *kLstmBackends.find(lstm);
        cfg.embedding_dim = 6;
        cfg.hidden_size = 5;
        cfg.context_layers = layers;
        cfg.question_layers = 3 - layers;
        cfg.aligned_embedding = extras;
        cfg.match_features = extras;
        cfg.concat_layers = extras;
        const QaReader reader(cfg, 41, 0);
        EXPECT_EQ(reader_parameters(cfg, 41), static_cast<double>(count_parameters(*reader)))
            << lstm << " extras " << extras << " context layers " << layers;
      }
    }
  }
}

TEST(QaTrainTest, ShortRunBeatsFirstSentenceBaselineAndPredictRoundTrips) {
  const std::string squad = squad_dir();
  if (!fs::exists(squad + "/dev-v1.1.json") ||
      !fs::exists(squad + "/train-v1.1.reconstructed.json")) {
    GTEST_SKIP() << "SQuAD is not in " << squad << " (set LSTM_NLP_DATA)";
  }
  TempDir dir("qa_train");
  write_slice(read_squad(squad + "/train-v1.1.reconstructed.json"), 4000, dir / "train.json");
  const auto dev = read_squad(squad + "/dev-v1.1.json");
  write_slice(dev, 400, dir / "dev.json");

  QaConfig cfg;
  cfg.data.train = dir / "train.json";
  cfg.data.dev = dir / "dev.json";
  cfg.data.max_context_tokens = 300;
  cfg.tokenizer.vocab_size = 3000;
  cfg.model.embedding_dim = 48;
  cfg.model.hidden_size = 32;
  cfg.model.context_layers = 1;
  cfg.model.question_layers = 1;
  cfg.model.dropout = 0.1;
  cfg.model.embedding_dropout = 0.1;
  cfg.train.base.opt.lr = 0.004;
  cfg.train.base.loop.epochs = 2;
  cfg.train.base.loop.log_every = 50;
  cfg.train.batch_size = 32;
  std::ostringstream log;
  QaTrainOptions train;
  train.run_dir = dir / "run";
  const auto score = run_qa_train(cfg, train, log);

  // The first sentence of each context as the answer.
  const auto slice = read_squad(dir / "dev.json");
  std::map<std::string, std::string> baseline;
  for (const auto& p : slice.paragraphs) {
    const auto spans = sentence_spans(p.context);
    for (const auto& q : p.questions) {
      baseline[q.id] = p.context.substr(spans[0].first, spans[0].second - spans[0].first);
    }
  }
  const auto base = score_predictions(slice, baseline);
  EXPECT_GT(score.f1, base.f1 + 5.0) << log.str();
  EXPECT_GT(score.exact_match, base.exact_match) << log.str();
  EXPECT_NE(log.str().find("answers not on piece boundaries"), std::string::npos) << log.str();

  // predict: one answer per question, in a file that the metric reads back to the same score.
  QaPredictOptions predict;
  predict.checkpoint = dir / "run";
  predict.data = dir / "dev.json";
  predict.output = dir / "predictions.json";
  predict.nbest = 3;
  std::ostringstream predict_log;
  EXPECT_EQ(run_qa_predict(predict, predict_log), slice.questions);
  const auto predictions = read_predictions(dir / "predictions.json");
  EXPECT_EQ(static_cast<int64_t>(predictions.size()), slice.questions);
  for (const auto& p : slice.paragraphs) {
    for (const auto& q : p.questions) EXPECT_EQ(predictions.count(q.id), 1u) << q.id;
  }
  const auto reread = score_predictions(slice, predictions);
  EXPECT_DOUBLE_EQ(reread.f1, score.f1);

  // A signal during predict stops it after the current batch and writes nothing. (The outer
  // StopOnSignal keeps predict's own from forgetting the stop requested before it starts.)
  {
    signals::StopOnSignal outer;
    signals::request_stop(SIGTERM);
    QaPredictOptions stopped = predict;
    stopped.output = dir / "stopped.json";
    stopped.batch_size = 16;
    int signal = 0;
    std::string message;
    try {
      run_qa_predict(stopped, predict_log);
    } catch (const signals::Interrupted& e) {
      signal = e.signal();
      message = e.what();
    }
    signals::clear_stop();
    EXPECT_EQ(signal, SIGTERM);
    EXPECT_NE(message.find("after 16 of " + std::to_string(slice.questions) + " questions; " +
                           stopped.output + " was not written"),
              std::string::npos)
        << message;
    EXPECT_FALSE(fs::exists(stopped.output));
    EXPECT_FALSE(fs::exists(dir / "stopped.nbest.json"));
  }
  std::ifstream nbest(dir / "predictions.nbest.json");
  const auto nbest_json = nlohmann::json::parse(nbest);
  EXPECT_EQ(static_cast<int64_t>(nbest_json.size()), slice.questions);
  EXPECT_EQ(nbest_json.begin()->size(), 3u);

  // The same through the executables.
  const std::string exe = bin_dir() + "/lstm-qa";
  if (!fs::exists(exe)) return;
  std::string err;
  EXPECT_EQ(exit_status(exe + " eval --data " + (dir / "dev.json") + " --predictions " +
                        (dir / "predictions.json")),
            0);
  EXPECT_EQ(exit_status(exe + " predict --checkpoint " + (dir / "run") + " --data " +
                            (dir / "dev.json") + " --output " + (dir / "dev.json"),
                        &err),
            2)
      << err;
  EXPECT_NE(err.find("is the same file as the input"), std::string::npos) << err;
  // A second train into the run is refused before it reads anything into the run directory.
  const auto best_size = fs::file_size(dir / "run/best.pt");
  EXPECT_NE(input_error_of([&] { run_qa_train(cfg, train, log); }).find("already holds a run"),
            std::string::npos);
  EXPECT_EQ(fs::file_size(dir / "run/best.pt"), best_size);
  // A reader too large for this machine is refused before it is built, naming its keys.
  QaConfig huge = cfg;
  huge.model.hidden_size = 100000;
  QaTrainOptions huge_train;
  huge_train.run_dir = dir / "huge";
  const auto too_large = input_error_of([&] { run_qa_train(huge, huge_train, log); });
  EXPECT_NE(too_large.find("model.hidden_size=100000"), std::string::npos) << too_large;
  EXPECT_NE(too_large.find("more than this machine's"), std::string::npos) << too_large;
  std::ofstream(dir / "passage.txt") << slice.paragraphs[0].context;
  EXPECT_EQ(exit_status(exe + " answer --checkpoint " + (dir / "run") + " --context " +
                        (dir / "passage.txt") + " --question '" + "What is it?" + "'"),
            0);
}

TEST(QaCliTest, BadInputExitsTwoNamingTheFile) {
  const std::string exe = bin_dir() + "/lstm-qa";
  if (!fs::exists(exe)) GTEST_SKIP() << exe << " is not built";
  TempDir dir("qa_cli");
  std::ofstream(dir / "bad.json")
      << "{\"version\": \"1.1\", \"data\": [{\"paragraphs\": [{\"context\": 5, \"qas\": []}]}]}";
  std::ofstream(dir / "pred.json") << "{}";
  std::string err;
  EXPECT_EQ(exit_status(exe + " eval --data " + (dir / "bad.json") + " --predictions " +
                            (dir / "pred.json"),
                        &err),
            2);
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
  EXPECT_NE(err.find("bad.json: data[0].paragraphs[0].context: not a string"), std::string::npos)
      << err;
  EXPECT_EQ(exit_status(exe + " eval --data " + (dir / "none.json") + " --predictions " +
                            (dir / "pred.json"),
                        &err),
            2);
  EXPECT_NE(err.find("none.json"), std::string::npos) << err;
  EXPECT_EQ(exit_status(exe + " predict --checkpoint " + (dir / "nothing") + " --data " +
                            (dir / "bad.json") + " --output " + (dir / "out.json"),
                        &err),
            2);
}

}  // namespace
}  // namespace lstmnlp::qa
