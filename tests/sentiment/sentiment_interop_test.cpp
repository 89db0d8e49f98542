// lstm-sentiment export and import: scripts/python/lstm_nlp.py's SentimentClassifier loads the
// exported state_dict with plain torch.load and gives lstm-sentiment's probabilities on SST-2's
// dev sentences; import brings the weights back unchanged; bad state_dicts name the tensor.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/checkpoint.h"
#include "core/state_dict.h"
#include "datasets/length_batching.h"
#include "models/sentiment/sentiment_app.h"
#include "models/sentiment/sentiment_task.h"
#include "tests/test_util.h"

namespace lstmnlp::sentiment {
namespace {

namespace fs = std::filesystem;
using test::input_error_of;
using test::TempDir;

// One tiny SST-2 run (2 bidirectional layers, max pooling) shared by the tests below.
class SentimentInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path sst2 = test::data_dir() / "sst2";
    if (!fs::exists(sst2 / "train.tsv") || !fs::exists(sst2 / "dev.tsv")) return;
    dir_ = new TempDir("sentiment_interop");
    SentimentConfig cfg;
    cfg.data.train = (sst2 / "train.tsv").string();
    cfg.data.dev = (sst2 / "dev.tsv").string();
    cfg.data.max_train_examples = 2000;
    cfg.data.max_tokens = 40;
    cfg.tokenizer.vocab_size = 500;
    cfg.model.embedding_dim = 16;
    cfg.model.hidden_size = 12;
    cfg.model.num_layers = 2;
    cfg.train.base.opt.lr = 5e-3;
    cfg.train.base.loop.epochs = 1;
    cfg.train.batch_size = 64;
    SentimentTrainOptions options;
    options.run_dir = *dir_ / "run";
    options.seed = 5;
    std::ostringstream log;
    run_sentiment_train(cfg, options, log);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "SST-2 not found in " << (test::data_dir() / "sst2");
  }

  // A checkpoint with the trained run's tokenizer and labels and the model section changed by
  // `edit`, with fresh weights (seeded), for the poolings the run did not train.
  static std::string variant(const std::string& name, void (*edit)(SentimentModelConfig&)) {
    const std::string trained = *dir_ / "run/best.pt";
    auto meta = read_checkpoint_meta(trained, "sentiment");
    auto cfg = config::from_yaml_text<SentimentConfig>(meta.config_yaml, trained);
    edit(cfg.model);
    meta.config_yaml = config::to_yaml(cfg);
    const auto tokenizer = SentencePieceTokenizer::load_from_serialized(meta.tokenizer_model);
    torch::manual_seed(21);
    SentimentClassifier model(cfg.model, tokenizer.vocab_size(), 2, tokenizer.pad_id());
    std::string path = *dir_ / (name + ".pt");
    save_checkpoint(path, *model, nullptr, meta);
    return path;
  }

  struct DevRun {
    torch::Tensor probs;                // (N, C)
    std::vector<std::vector<int>> ids;  // piece ids of each sentence
    std::vector<std::string> texts;
  };

  // Our probabilities of the dev sentences, with their piece ids.
  static DevRun dev_probabilities(const std::string& checkpoint) {
    auto ckpt = SentimentCheckpoint::load(checkpoint, torch::kCPU);
    const auto examples = read_labeled_data(ckpt.config.data.dev, ckpt.config.data.reader_format());
    const auto encoded =
        encode_examples(examples, ckpt.tokenizer, ckpt.labels, ckpt.config.data.max_tokens);
    const auto probs = predict_probabilities(ckpt.model, encoded.tokens, ckpt.tokenizer.pad_id(),
                                             /*batch_size=*/64, torch::kCPU);
    DevRun out{probs, encoded.tokens, {}};
    for (const auto& e : examples) out.texts.push_back(e.text);
    return out;
  }

  static TempDir* dir_;
};

TempDir* SentimentInteropTest::dir_ = nullptr;

TEST_F(SentimentInteropTest, LstmNlpPyGivesTheSameProbabilitiesOnSst2Dev) {
  const std::string python = test::python_with_torch();
  if (python.empty())
    GTEST_SKIP() << "python3 with torch is not importable (apt install python3-torch)";
  const std::vector<std::pair<std::string, std::string>> checkpoints = {
      {"max, 2 bidirectional layers (trained)", *dir_ / "run/best.pt"},
      {"last", variant("last", [](SentimentModelConfig& m) { m.pooling = Pooling::kLast; })},
      {"mean, unidirectional", variant("mean",
                                       [](SentimentModelConfig& m) {
                                         m.pooling = Pooling::kMean;
                                         m.bidirectional = false;
                                       })},
      {"attention, 1 layer", variant("attention",
                                     [](SentimentModelConfig& m) {
                                       m.pooling = Pooling::kAttention;
                                       m.num_layers = 1;
                                       m.attention_size = 8;
                                     })},
  };
  for (const auto& [what, checkpoint] : checkpoints) {
    SCOPED_TRACE(what);
    const TempDir tmp("sentiment_export");
    std::ostringstream log;
    run_sentiment_export({checkpoint, tmp / "export"}, log);
    const auto [probs, ids, texts] = dev_probabilities(checkpoint);
    ASSERT_EQ(probs.size(0), 872);
    save_state_dict(tmp / "io.pt", {{"probs", probs}});
    {
      std::ofstream out(tmp / "ids.txt");
      for (const auto& row : ids) {
        for (size_t i = 0; i < row.size(); ++i) out << (i ? " " : "") << row[i];
        out << "\n";
      }
      std::ofstream text_out(tmp / "texts.txt");
      for (const auto& text : texts) text_out << text << "\n";
    }
    const std::string script = R"(import sys, torch
sys.path.insert(0, sys.argv[1])
import lstm_nlp
model, config = lstm_nlp.load_sentiment('export')
ids = [[int(x) for x in line.split()] for line in open('ids.txt')]
try:
    import sentencepiece
    texts = open('texts.txt', encoding='utf-8', newline='\n').read().split('\n')[:-1]
    differ = sum(a != b for a, b in zip(lstm_nlp.encode(config, texts), ids))
    print('sentencepiece', sentencepiece.__version__, 'differs from our piece ids on', differ,
          'of', len(ids), 'sentences')
except ImportError:
    print('python3-sentencepiece is absent: using our piece ids')
probs = lstm_nlp.predict(model, ids, batch_size=100)
diff = (probs - torch.load('io.pt')['probs']).abs().max().item()
print('max |probability difference|', diff)
sys.exit(0 if diff < 1e-5 else 1)
)";
    const auto run = test::run_python(python, tmp.path(), "check.py", script,
                                      {LSTMNLP_SOURCE_DIR "/scripts/python"});
    EXPECT_EQ(run.status, 0) << run.output;
    std::cerr << run.output;

    // Import brings back the very same weights.
    const auto exported = config::load<SentimentConfig>(tmp / "export/config.yaml", {});
    run_sentiment_import(exported,
                         {tmp / "export/model.pt", tmp / "export/spm.model",
                          tmp / "export/labels.txt", tmp / "imported"},
                         log);
    EXPECT_TRUE(torch::equal(dev_probabilities(tmp / "imported").probs, probs));
  }
}

TEST_F(SentimentInteropTest, BadStateDictsAreInputErrorsNamingTheTensor) {
  const TempDir tmp("sentiment_import_bad");
  std::ostringstream log;
  run_sentiment_export({*dir_ / "run/best.pt", tmp / "export"}, log);
  const auto cfg = config::load<SentimentConfig>(tmp / "export/config.yaml", {});
  const StateDict good = load_state_dict(tmp / "export/model.pt");
  int run = 0;
  auto import_error = [&](const StateDict& sd) {
    const std::string path = tmp / ("sd" + std::to_string(run++) + ".pt");
    save_state_dict(path, sd);
    return input_error_of([&] {
      run_sentiment_import(cfg,
                           {path, tmp / "export/spm.model", tmp / "export/labels.txt",
                            tmp / ("run" + std::to_string(run))},
                           log);
    });
  };
  auto expect_has = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  };
  EXPECT_EQ(import_error(good), "no InputError");
  expect_has(import_error(StateDict(good.begin(), good.end() - 1)), "has no 'classifier.bias'");
  StateDict extra = good;
  extra.emplace_back("lstm.weight_c_l0", torch::zeros({36}));
  expect_has(import_error(extra), "unexpected 'lstm.weight_c_l0'");
  StateDict shape = good;
  shape.back().second = torch::zeros({3});
  expect_has(import_error(shape), "'classifier.bias' has shape [3]");
  StateDict vocab = good;
  vocab.front().second = torch::zeros({good.front().second.size(0) - 1, 16});
  expect_has(import_error(vocab), "pieces, but 'embedding.weight'");
  const std::string text = tmp / "text.pt";
  std::ofstream(text) << "not a pickle\n";
  expect_has(input_error_of([&] {
               run_sentiment_import(
                   cfg,
                   {text, tmp / "export/spm.model", tmp / "export/labels.txt", tmp / "run_text"},
                   log);
             }),
             "text.pt: not a PyTorch file");
}

}  // namespace
}  // namespace lstmnlp::sentiment
