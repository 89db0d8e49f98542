#include "models/lm/lm_interop.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/state_dict.h"
#include "lm_test_util.h"
#include "models/lm/lm_app.h"

namespace lstmnlp::lm {
namespace {

namespace fs = std::filesystem;
using testing::input_error_of;
using testing::TempDir;
using testing::write_file;

// A minimal RNNModel with the names, signature and computation of the model in PyTorch's
// word_language_model example (word_language_model/model.py of pytorch/examples), LSTM only,
// written here so that the repository carries none of PyTorch's code.
constexpr const char* kRnnModelPy = R"(import torch
import torch.nn as nn
import torch.nn.functional as F


class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        assert rnn_type == 'LSTM'
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError('tie_weights needs nhid == ninp')
            self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        self.nhid = nhid
        self.nlayers = nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))
)";

LanguageModelOptions small_options(bool tied, bool variational) {
  return LanguageModelOptions(/*vocab_size=*/11, /*embedding_size=*/6, /*hidden_size=*/6)
      .num_layers(2)
      .tie_weights(tied)
      .variational_dropout(variational)
      .dropout_hidden(0.3);
}

std::string shapes_of(const StateDict& sd) {
  std::ostringstream out;
  for (const auto& [name, tensor] : sd) out << name << " " << tensor.sizes() << "\n";
  return out.str();
}

// The names and shapes are those of torch::nn's Embedding, LSTM and Linear under RNNModel's
// attribute names, for one LSTM, per-layer LSTMs (variational dropout) and tied weights.
TEST(LmInteropTest, NamesAndShapesAreThoseOfRNNModel) {
  torch::nn::Embedding encoder(11, 6);
  torch::nn::LSTM rnn(torch::nn::LSTMOptions(6, 6).num_layers(2));
  torch::nn::Linear decoder(6, 11);
  StateDict reference;
  for (const auto& p : encoder->named_parameters())
    reference.emplace_back("encoder." + p.key(), p.value());
  for (const auto& p : rnn->named_parameters()) reference.emplace_back("rnn." + p.key(), p.value());
  for (const auto& p : decoder->named_parameters())
    reference.emplace_back("decoder." + p.key(), p.value());
  for (bool tied : {false, true}) {
    for (bool variational : {false, true}) {
      SCOPED_TRACE(std::string(tied ? "tied" : "untied") + (variational ? ", per layer" : ""));
      LanguageModel model(small_options(tied, variational));
      const StateDict sd = to_rnn_model_state_dict(model);
      EXPECT_EQ(shapes_of(sd), shapes_of(reference));
      const auto& encoder_weight = sd.front().second;
      const auto& decoder_weight = sd[sd.size() - 2].second;
      EXPECT_EQ(decoder_weight.is_same(encoder_weight), tied);
    }
  }
}

TEST(LmInteropTest, LoadRestoresExportedWeights) {
  for (bool variational : {false, true}) {
    torch::manual_seed(1);
    LanguageModel a(small_options(/*tied=*/true, variational));
    torch::manual_seed(2);
    LanguageModel b(small_options(/*tied=*/true, variational));
    load_rnn_model_state_dict(to_rnn_model_state_dict(a), b, "a");
    a->eval();
    b->eval();
    const auto input = torch::randint(11, {7, 3}, torch::kLong);
    EXPECT_TRUE(torch::equal(std::get<0>(a->forward(input)), std::get<0>(b->forward(input))));
  }
}

std::string bin_dir() {
  const char* env = std::getenv("LSTM_NLP_BIN");
  return env ? env : LSTMNLP_BINARY_DIR "/bin";
}

// Missing and unexpected keys, wrong shapes, a vocabulary of another size, a tied config for an
// untied state_dict and a file that is no pickle: each an InputError naming the file and tensor.
TEST(LmInteropTest, BadStateDictsAreInputErrorsNamingTheTensor) {
  const TempDir tmp("lm_interop_bad");
  LmConfig cfg;
  cfg.model.embedding_size = 6;
  cfg.model.hidden_size = 6;
  cfg.model.num_layers = 2;
  const std::vector<std::string> words = {"<eos>", "<unk>", "a", "b", "c", "d",
                                          "e",     "f",     "g", "h", "i"};
  std::string vocab_text;
  for (const auto& w : words) vocab_text += w + "\n";
  write_file(tmp / "vocab.txt", vocab_text);
  torch::manual_seed(5);
  const StateDict good = to_rnn_model_state_dict(LanguageModel(cfg.model.options(11)));

  int run = 0;
  auto import_error = [&](const StateDict& sd, const LmConfig& c,
                          const std::string& vocab = "vocab.txt") {
    const std::string path = tmp / ("sd" + std::to_string(run++) + ".pt");
    save_state_dict(path, sd);
    LmImportOptions options{path, tmp / vocab, tmp / ("run" + std::to_string(run))};
    std::ostringstream log;
    return input_error_of([&] { run_lm_import(c, options, log); });
  };
  auto expect_has = [](const std::string& message, const std::vector<std::string>& parts) {
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  };

  EXPECT_EQ(import_error(good, cfg), "no InputError");

  StateDict missing(good.begin(), good.end() - 1);
  expect_has(import_error(missing, cfg), {"sd", "has no 'decoder.bias'"});

  StateDict extra = good;
  extra.emplace_back("rnn.weight_ih_l2", torch::zeros({24, 6}));
  expect_has(import_error(extra, cfg), {"unexpected 'rnn.weight_ih_l2'"});

  StateDict shape = good;
  shape[2].second = torch::zeros({24, 5});
  expect_has(import_error(shape, cfg), {"'rnn.weight_hh_l0' has shape [24, 5]", "[24, 6]"});

  write_file(tmp / "short_vocab.txt", vocab_text.substr(0, vocab_text.size() - 2));
  expect_has(import_error(good, cfg, "short_vocab.txt"),
             {"short_vocab.txt: 10 tokens", "'encoder.weight'", "[11, 6]"});

  LmConfig tied = cfg;
  tied.model.tie_weights = true;
  expect_has(import_error(good, tied), {"'decoder.weight' differs from 'encoder.weight'"});

  StateDict ints = good;
  ints[1].second = torch::zeros({24, 6}, torch::kLong);
  expect_has(import_error(ints, cfg), {"'rnn.weight_ih_l0' has dtype Long"});

  // Through the executable: exit status 2 and one line naming the file.
  const std::string exe = bin_dir() + "/lstm-lm";
  if (!fs::exists(exe)) GTEST_SKIP() << exe << " is not built";
  write_file(tmp / "not_a_pickle.pt", "hello\n");
  write_file(tmp / "cfg.yaml", config::to_yaml(cfg));
  const std::string err = tmp / "err.txt";
  const std::string command = exe + " import --config " + (tmp / "cfg.yaml") + " --state-dict " +
                              (tmp / "not_a_pickle.pt") + " --vocab " + (tmp / "vocab.txt") +
                              " --output " + (tmp / "cli_run") + " 2> " + err;
  const int raw = std::system(command.c_str());
  std::ifstream in(err);
  const std::string message((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 2) << message;
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1) << message;
  expect_has(message, {"not_a_pickle.pt: not a PyTorch file"});
}

// A few lines of a PTB file, written to `path`.
void write_slice(const fs::path& from, const std::string& path, int lines) {
  std::ifstream in(from);
  std::ofstream out(path);
  std::string line;
  for (int i = 0; i < lines && std::getline(in, line); ++i) out << line << "\n";
}

class LmPythonInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = test::python_with_torch();
    if (python_.empty())
      GTEST_SKIP() << "python3 with torch is not importable (apt install python3-torch)";
    ptb_ = test::data_dir() / "ptb";
    if (!fs::exists(ptb_ / "train.txt")) GTEST_SKIP() << "PTB not found at " << ptb_;
  }
  std::string python_;
  fs::path ptb_;
};

// lstm-lm export, then the example's RNNModel loads model.pt with plain torch.load and gives the
// same log-probabilities as lstm-lm on a PTB slice, within 1e-5: untied, and tied with per-layer
// LSTMs (variational dropout).
TEST_F(LmPythonInteropTest, ExportedModelGivesRNNModelsLogProbabilities) {
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied, variational" : "untied");
    const TempDir tmp("lm_export_python");
    write_slice(ptb_ / "train.txt", tmp / "train.txt", 1500);
    write_slice(ptb_ / "valid.txt", tmp / "valid.txt", 100);
    write_file(tmp / "model.py", kRnnModelPy);
    LmConfig cfg;
    cfg.data.train = tmp / "train.txt";
    cfg.data.valid = tmp / "valid.txt";
    cfg.data.batch_size = 8;
    cfg.data.bptt = 20;
    cfg.model.embedding_size = 24;
    cfg.model.hidden_size = tied ? 24 : 20;
    cfg.model.num_layers = 2;
    cfg.model.tie_weights = tied;
    cfg.model.dropout_hidden = 0.2;
    cfg.model.dropout_type = tied ? DropoutType::kVariational : DropoutType::kStandard;
    cfg.train.base.opt.optimizer = Optimizer::kAdam;
    cfg.train.base.opt.lr = 0.01;
    cfg.train.base.loop.max_steps = 15;
    cfg.train.base.loop.eval_every = 15;
    cfg.train.base.loop.epochs = 1;
    LmTrainOptions train;
    train.run_dir = tmp / "run";
    train.test_after = false;
    std::ostringstream log;
    torch::manual_seed(11);
    run_lm_train(cfg, train, log);

    const std::string readme = run_lm_export({tmp / "run/best.pt", tmp / "export"}, log);
    auto lm = load_lm(tmp / "run/best.pt");
    const int64_t v = lm.vocab.size();
    const std::string args = "'LSTM', " + std::to_string(v) + ", 24, " +
                             std::to_string(cfg.model.hidden_size) + ", 2, 0, " +
                             (tied ? "True" : "False");
    EXPECT_NE(readme.find("RNNModel(" + args + ")"), std::string::npos) << readme;
    for (const char* file : {"model.pt", "vocab.txt", "config.yaml", "README.md"}) {
      EXPECT_TRUE(fs::exists(tmp.path() / "export" / file)) << file;
    }

    // lstm-lm's log-probabilities of two streams of the first test lines, from a zero state.
    write_slice(ptb_ / "test.txt", tmp / "test.txt", 20);
    const auto corpus = encode_corpus(read_text(tmp / "test.txt"), lm.vocab);
    const auto input = batchify(corpus.ids, 2);
    auto& model = lm.module->model;
    model->eval();
    torch::NoGradGuard no_grad;
    const auto logp = torch::log_softmax(std::get<0>(model->forward(input)), /*dim=*/-1);
    save_state_dict(tmp / "io.pt", {{"input", input}, {"logp", logp}});

    const std::string script = R"(import sys, torch
from model import RNNModel
ntoken, ninp, nhid, nlayers = (int(x) for x in sys.argv[1:5])
args = ('LSTM', ntoken, ninp, nhid, nlayers, float(sys.argv[5]), sys.argv[6] == 'True')
model = RNNModel(*args)
model.load_state_dict(torch.load('export/model.pt'))
model.eval()
idx2word = open('export/vocab.txt', encoding='utf-8', newline='\n').read().split('\n')[:-1]
assert len(idx2word) == args[1] and idx2word[:2] == ['<eos>', '<unk>'], idx2word[:5]
io = torch.load('io.pt')
with torch.no_grad():
    output, hidden = model(io['input'], model.init_hidden(io['input'].size(1)))
diff = (output - io['logp'].view(-1, args[1])).abs().max().item()
print('max |log p difference|', diff)
sys.exit(0 if diff < 1e-5 else 1)
)";
    const auto run =
        test::run_python(python_, tmp.path(), "check.py", script,
                         {std::to_string(v), "24", std::to_string(cfg.model.hidden_size), "2", "0",
                          tied ? "True" : "False"});
    EXPECT_EQ(run.status, 0) << run.output;
    std::cerr << run.output;
  }
}

// A model trained for a few steps in Python by the example's procedure (SGD at lr 20, clipping
// 0.25), saved with torch.save(model.state_dict()), imported, scores the perplexity that the
// example's evaluate() prints, within 0.01.
TEST_F(LmPythonInteropTest, ImportedPythonModelEvaluatesToItsPerplexity) {
  const TempDir tmp("lm_import_python");
  write_slice(ptb_ / "train.txt", tmp / "train.txt", 2000);
  write_slice(ptb_ / "valid.txt", tmp / "eval.txt", 150);
  // lstm-lm starts every text with <eos>, the example does not: an empty first line gives the
  // example the same stream of ids.
  {
    std::ifstream in(tmp / "eval.txt");
    write_file(tmp / "eval_example.txt",
               "\n" + std::string((std::istreambuf_iterator<char>(in)), {}));
  }
  write_file(tmp / "model.py", kRnnModelPy);
  const std::string script = R"(import math, torch, torch.nn as nn
from model import RNNModel
torch.manual_seed(3)

class Dictionary:
    def __init__(self):
        self.word2idx, self.idx2word = {}, []
    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

def tokenize(path, dictionary):
    ids = []
    with open(path, encoding='utf8') as f:
        for line in f:
            ids += [dictionary.add_word(w) for w in line.split() + ['<eos>']]
    return torch.tensor(ids, dtype=torch.int64)

def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()

def get_batch(source, i, bptt=35):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)

def repackage(h):
    return tuple(v.detach() for v in h)

d = Dictionary()
train = batchify(tokenize('train.txt', d), 20)
evaluation = batchify(tokenize('eval_example.txt', d), 10)
d.add_word('<unk>')
model = RNNModel('LSTM', len(d.idx2word), 24, 24, 2, 0.2, True)
criterion = nn.NLLLoss()
model.train()
hidden = model.init_hidden(20)
for step, i in enumerate(range(0, train.size(0) - 1, 35)):
    if step == 25:
        break
    data, targets = get_batch(train, i)
    hidden = repackage(hidden)
    model.zero_grad()
    output, hidden = model(data, hidden)
    loss = criterion(output, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-20)
torch.save(model.state_dict(), 'model.pt')
with open('vocab.txt', 'w', encoding='utf-8', newline='\n') as f:
    f.write(''.join(w + '\n' for w in d.idx2word))

model.eval()
total_loss = 0.
hidden = model.init_hidden(10)
with torch.no_grad():
    for i in range(0, evaluation.size(0) - 1, 35):
        data, targets = get_batch(evaluation, i)
        output, hidden = model(data, hidden)
        hidden = repackage(hidden)
        total_loss += len(data) * criterion(output, targets).item()
loss = total_loss / (len(evaluation) - 1)
print('| end of training | valid loss {:5.2f} | valid ppl {:8.2f}'.format(loss, math.exp(loss)))
open('ppl.txt', 'w').write(repr(math.exp(loss)))
)";
  const auto run = test::run_python(python_, tmp.path(), "train.py", script);
  ASSERT_EQ(run.status, 0) << run.output;
  std::ifstream ppl_file(tmp / "ppl.txt");
  double python_ppl = 0;
  ppl_file >> python_ppl;
  ASSERT_GT(python_ppl, 1.0) << run.output;

  LmConfig cfg;
  cfg.model.embedding_size = 24;
  cfg.model.hidden_size = 24;
  cfg.model.num_layers = 2;
  cfg.model.tie_weights = true;
  std::ostringstream log;
  run_lm_import(cfg, {tmp / "model.pt", tmp / "vocab.txt", tmp / "run"}, log);
  std::ostringstream out;
  LmEvalOptions eval;
  eval.checkpoint = tmp / "run/best.pt";
  eval.file = tmp / "eval.txt";
  eval.batch_size = 10;
  eval.bptt = 35;
  const Perplexity ours = run_lm_eval(eval, out);
  EXPECT_NEAR(ours.token_ppl(), python_ppl, 0.01) << run.output << out.str();
  std::cerr << "example's evaluate(): " << run.output << "lstm-lm eval: " << out.str();
  EXPECT_TRUE(fs::exists(tmp.path() / "run" / "config.yaml"));
}

}  // namespace
}  // namespace lstmnlp::lm
