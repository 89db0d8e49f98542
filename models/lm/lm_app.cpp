#include "models/lm/lm_app.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "core/checkpoint.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/io.h"
#include "core/model_size.h"
#include "core/progress.h"
#include "core/state_dict.h"
#include "models/lm/lm_interop.h"

namespace lstmnlp::lm {
namespace {

namespace fs = std::filesystem;

std::string in_dir(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

// The (train, valid, test) texts of a config; test is absent when the config names none.
std::tuple<Text, Text, std::optional<Text>> config_texts(const LmDataConfig& data) {
  if (!data.file.empty()) {
    auto [train, valid, test] =
        split_text(read_text(data.file), data.valid_fraction, data.test_fraction);
    return {train, valid, test};
  }
  if (data.dir.empty() && (data.train.empty() || data.valid.empty())) {
    throw InputError("data: set data.dir, or data.train and data.valid, or data.file");
  }
  const auto train = data.train.empty() ? in_dir(data.dir, "train.txt") : data.train;
  const auto valid = data.valid.empty() ? in_dir(data.dir, "valid.txt") : data.valid;
  std::optional<Text> test;
  if (!data.test.empty()) {
    test = read_text(data.test);
  } else if (!data.dir.empty() && fs::exists(in_dir(data.dir, "test.txt"))) {
    test = read_text(in_dir(data.dir, "test.txt"));
  }
  return {read_text(train), read_text(valid), test};
}

LmVocabulary make_vocab(const LmVocabConfig& cfg, const Text& train, const std::string& run_dir) {
  if (cfg.type == VocabType::kWord) return LmVocabulary::build_words(train, cfg.min_count);
  if (!cfg.spm_model.empty()) {
    return LmVocabulary::from_sentencepiece(SentencePieceTokenizer::load(cfg.spm_model));
  }
  // With several processes, rank 0 trains the model into the run directory and the others read it.
  auto& world = dist::world();
  if (!world.is_main()) {
    world.barrier();
    return LmVocabulary::from_sentencepiece(
        SentencePieceTokenizer::load(in_dir(run_dir, "spm.model")));
  }
  // SentencePiece trains from files; a split text is written out first.
  fs::create_directories(run_dir);
  std::string input = train.name;
  if (!fs::exists(input)) {
    input = in_dir(run_dir, "spm_train.txt");
    std::ofstream out(input);
    for (const auto& line : train.lines) out << line << "\n";
    if (!out) throw InputError(input + ": cannot write");
  }
  TokenizerTrainOptions options;
  options.input_files = {input};
  options.model_prefix = in_dir(run_dir, "spm");
  options.model_type = cfg.spm_model_type;
  options.vocab_size = cfg.spm_vocab_size;
  options.character_coverage = cfg.spm_character_coverage;
  auto vocab = LmVocabulary::from_sentencepiece(SentencePieceTokenizer::train(options));
  world.barrier();
  return vocab;
}

// Refuses sizes whose parameters cannot fit in memory, before the model is built. The count is
// that of LanguageModel: embedding, LSTM layers (two bias vectors each) and decoder.
void check_lm_size(const LmModelConfig& model, int64_t vocab, int copies) {
  const double v = static_cast<double>(vocab);
  const double h = static_cast<double>(model.hidden_size);
  double input = static_cast<double>(model.embedding_size);
  double parameters = v * input;
  for (int64_t layer = 0; layer < model.num_layers; ++layer) {
    parameters += lstm_layer_parameters(input, h);
    input = h;
  }
  parameters += (model.tie_weights ? 0.0 : v * h) + v;
  check_parameter_memory(parameters, copies,
                         "model.embedding_size=" + std::to_string(model.embedding_size) +
                             ", model.hidden_size=" + std::to_string(model.hidden_size) +
                             ", model.num_layers=" + std::to_string(model.num_layers) +
                             " (vocabulary " + std::to_string(vocab) + ")");
}

// The vocabulary of `lstm-lm import`: the words of `path`, one per line, or, with a SentencePiece
// config, the pieces of vocab.spm_model, which `path` must list in id order.
LmVocabulary read_import_vocab(const LmVocabConfig& cfg, const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw InputError(path + ": is a directory, expected vocab.txt");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read the vocabulary");
  std::vector<std::string> entries;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      throw InputError(at_location(path, line_number, "empty line (one word per line expected)"));
    }
    if (cfg.type == VocabType::kWord && split_words(line).size() != 1) {
      throw InputError(at_location(
          path, line_number, "'" + line + "' holds whitespace, which no word of a text does"));
    }
    entries.push_back(line);
  }
  if (entries.empty()) throw InputError(path + ": the vocabulary is empty");
  if (cfg.type == VocabType::kWord) {
    try {
      return LmVocabulary::from_words(entries);
    } catch (const InputError& e) {
      throw InputError(path + ": " + e.what());
    }
  }
  if (cfg.spm_model.empty()) {
    throw InputError(
        "vocab.type: sentencepiece needs vocab.spm_model, the SentencePiece model that " + path +
        " lists");
  }
  auto tokenizer = SentencePieceTokenizer::load(cfg.spm_model);
  if (static_cast<int64_t>(entries.size()) != tokenizer.vocab_size()) {
    throw InputError(path + ": " + std::to_string(entries.size()) + " pieces, but " +
                     cfg.spm_model + " has " + std::to_string(tokenizer.vocab_size()));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i] != tokenizer.id_to_piece(static_cast<int>(i))) {
      throw InputError(at_location(path, static_cast<int>(i) + 1,
                                   "'" + entries[i] + "' is not piece " + std::to_string(i) +
                                       " of " + cfg.spm_model + " ('" +
                                       tokenizer.id_to_piece(static_cast<int>(i)) + "')"));
    }
  }
  return LmVocabulary::from_sentencepiece(std::move(tokenizer));
}

// The README.md of an export: RNNModel's arguments and a snippet that loads the files.
std::string export_readme(const LoadedLm& lm, const std::string& checkpoint, int64_t step) {
  const auto& m = lm.config.model;
  const int64_t v = lm.vocab.size();
  const bool one_dropout =
      m.dropout_embedding == m.dropout_hidden && m.dropout_hidden == m.dropout_output;
  std::ostringstream dropout;
  dropout << m.dropout_output;
  const std::string args = "'LSTM', " + std::to_string(v) + ", " +
                           std::to_string(m.embedding_size) + ", " + std::to_string(m.hidden_size) +
                           ", " + std::to_string(m.num_layers) + ", " + dropout.str() + ", " +
                           (m.tie_weights ? "True" : "False");
  std::ostringstream out;
  out << "# An lstm-lm model for PyTorch\n\n"
      << "Exported by `lstm-lm export` from `" << checkpoint << "` (step " << step << ").\n\n"
      << "- `model.pt`: the weights, as the `state_dict` of the `RNNModel` of PyTorch's "
         "word_language_model example\n  (`word_language_model/model.py` in pytorch/examples). "
         "A plain `torch.load` reads it\n  (PyTorch 1.6 or later, including 2.6+, whose default "
         "is `weights_only=True`).\n"
      << "- `vocab.txt`: the " << v << (lm.vocab.is_words() ? " words" : " SentencePiece pieces")
      << ", one per line; line i (from 0) is token id i (the example's\n  "
         "`Dictionary.idx2word`).\n";
  if (!lm.vocab.is_words()) {
    out << "- `spm.model`: the SentencePiece model. The example's `Dictionary` splits at spaces; "
           "encode text\n  with `sentencepiece.SentencePieceProcessor(model_file='spm.model')` "
           "instead, and end\n  each line with the eos piece, id "
        << lm.vocab.eos_id() << ".\n";
  }
  out << "- `config.yaml`: lstm-nlp's config of the run; `lstm-lm import --state-dict model.pt "
         "--vocab vocab.txt\n  --config config.yaml --output RUN` brings the weights back.\n\n"
      << "The model is `RNNModel(" << args << ")`:\n\n"
      << "```python\n"
      << "import torch\n"
      << "from model import RNNModel  # word_language_model/model.py\n"
      << "model = RNNModel(" << args << ")\n"
      << "model.load_state_dict(torch.load('model.pt'))\n"
      << "idx2word = open('vocab.txt', encoding='utf-8', newline='\\n').read().split('\\n')[:-1]\n"
      << "```\n\n"
      << "lstm-lm reads a text as the example does (each line's words, then `<eos>`; unknown words "
         "as `<unk>`),\nand starts it with one more `<eos>`, which gives the first word a context: "
         "score the same ids to get\nthe same perplexity.";
  if (!one_dropout) {
    out << " The run trained with dropout " << m.dropout_embedding << " on the embeddings, "
        << m.dropout_hidden << " between layers and " << m.dropout_output
        << " on the output; the example has one rate\nfor all three (it matters in training "
           "only).";
  }
  if (m.dropout_type == DropoutType::kVariational) {
    out << " The run trained with variational dropout masks, which the example does not have "
           "(training only).";
  }
  out << "\n";
  return out.str();
}

void describe_corpus(std::ostream& log, const char* split, const Corpus& corpus) {
  log << "  " << split << ": " << corpus.name << ", " << corpus.ids.size(0) - 1 << " tokens, "
      << corpus.words << " words, " << corpus.unknown << " <unk>\n";
}

}  // namespace

LmData load_lm_data(const LmConfig& cfg, const std::string& run_dir,
                    const std::optional<LmVocabulary>& vocab_override) {
  auto [train, valid, test] = config_texts(cfg.data);
  LmVocabulary vocab = vocab_override ? *vocab_override : make_vocab(cfg.vocab, train, run_dir);
  LmData data{vocab, encode_corpus(train, vocab), encode_corpus(valid, vocab), std::nullopt};
  if (test) data.test = encode_corpus(*test, vocab);
  return data;
}

TrainSummary run_lm_train(const LmConfig& cfg, const LmTrainOptions& options, std::ostream& log) {
  // Everything is checked (the run directory, the data, the checkpoint to resume) before the run
  // directory is written. With several processes rank 0 alone checks and writes it.
  const bool main = dist::world().is_main();
  if (main) check_run_dir(options.run_dir, !options.resume.empty(), options.overwrite);

  std::optional<LmVocabulary> saved_vocab;
  std::optional<LmVocabulary> vocab_override;
  if (!options.resume.empty()) {
    const auto meta = read_checkpoint_meta(options.resume, "lm");
    saved_vocab = LmVocabulary::from_checkpoint(meta.extra, meta.tokenizer_model, options.resume);
    // A SentencePiece model trained by the first run is reused rather than trained again.
    if (cfg.vocab.type == VocabType::kSentencePiece && cfg.vocab.spm_model.empty()) {
      vocab_override = saved_vocab;
    }
  }
  LmData data = load_lm_data(cfg, options.run_dir, vocab_override);
  if (saved_vocab && !saved_vocab->same_as(data.vocab)) {
    throw InputError(options.resume + ": the checkpoint's vocabulary (" +
                     std::to_string(saved_vocab->size()) +
                     " tokens) does not match the one built from " + data.train.name + " (" +
                     std::to_string(data.vocab.size()) + " tokens)");
  }

  check_lm_size(cfg.model, data.vocab.size(), /*copies=*/4);
  LmTask task(cfg, data.vocab, data.train, data.valid, options.device);
  log << "vocabulary: " << data.vocab.size() << (data.vocab.is_words() ? " words" : " pieces")
      << "\n";
  describe_corpus(log, "train", data.train);
  describe_corpus(log, "valid", data.valid);
  if (data.test) describe_corpus(log, "test", *data.test);
  log << "model: " << count_parameters(task.model()) << " parameters, LSTM "
      << kLstmBackends.name(cfg.model.lstm) << "; " << task.batches_per_epoch() << " batches of "
      << cfg.data.batch_size << "x" << cfg.data.bptt << " per epoch\n";

  TrainerOptions trainer_options = make_trainer_options(cfg, "lm", options.run_dir, options.resume);
  trainer_options.tokenizer_model =
      data.vocab.is_words() ? "" : data.vocab.tokenizer().serialized_model();
  trainer_options.extra = data.vocab.to_json();
  Trainer trainer(task, trainer_options);
  if (main && options.overwrite) remove_run_files(options.run_dir);
  if (main) prepare_run_dir(options.run_dir, config::to_yaml(cfg));
  TrainSummary summary = trainer.run();
  log << "trained " << summary.steps << " steps (" << summary.stop_reason << ") in " << std::fixed
      << std::setprecision(1) << summary.train_seconds << " s, " << std::setprecision(0)
      << summary.units_per_s << " tokens/s\n"
      << std::defaultfloat << std::setprecision(6);
  if (summary.best) log << "best valid: " << summary.best->metrics.dump() << "\n";

  if (options.test_after && data.test && trainer.load_best()) {
    const auto result = evaluate_perplexity(task.module()->model, *data.test,
                                            cfg.data.test_batch_size, cfg.data.bptt);
    nlohmann::json record = {{"split", "test"}, {"checkpoint", "best.pt"}, {"step", summary.steps}};
    record.update(result.to_json(!data.vocab.is_words()));
    if (main) MetricsLog(in_dir(options.run_dir, "metrics.jsonl")).write(record);
    log << "test (best.pt): " << result.to_json(!data.vocab.is_words()).dump() << "\n";
  }
  return summary;
}

LoadedLm load_lm(const std::string& checkpoint, torch::Device device) {
  const auto meta = read_checkpoint_meta(checkpoint, "lm");
  auto cfg = config::from_yaml_text<LmConfig>(meta.config_yaml, checkpoint + " (stored config)");
  auto vocab = LmVocabulary::from_checkpoint(meta.extra, meta.tokenizer_model, checkpoint);
  check_lm_size(cfg.model, vocab.size(), /*copies=*/1);
  // A run of W processes carried W * batch_size streams of hidden state.
  LmTrainModule module(cfg.model.options(vocab.size()),
                       cfg.data.batch_size * checkpoint_world_size(meta.loop_state));
  try {
    load_checkpoint(checkpoint, *module, nullptr, /*restore_rng=*/false, "lm");
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + " (the checkpoint's vocabulary has " +
                     std::to_string(vocab.size()) + " tokens)");
  }
  module->to(device);
  return {cfg, vocab, module};
}

Perplexity run_lm_eval(const LmEvalOptions& options, std::ostream& out) {
  auto lm = load_lm(options.checkpoint, options.device);
  Text text;
  if (!options.file.empty()) {
    text = read_text(options.file);
  } else {
    auto test = std::get<2>(config_texts(lm.config.data));
    if (!test) {
      throw InputError(options.checkpoint + ": its config names no test text; pass --file");
    }
    text = *test;
  }
  const auto corpus = encode_corpus(text, lm.vocab);
  const int64_t batch =
      options.batch_size > 0 ? options.batch_size : lm.config.data.test_batch_size;
  const int64_t bptt = options.bptt > 0 ? options.bptt : lm.config.data.bptt;
  const auto result = evaluate_perplexity(lm.module->model, corpus, batch, bptt);
  nlohmann::json record = {{"file", text.name}, {"checkpoint", options.checkpoint}};
  record.update(result.to_json(!lm.vocab.is_words()));
  record["unknown"] = corpus.unknown;
  out << record.dump() << std::endl;
  return result;
}

std::string run_lm_export(const LmExportOptions& options, std::ostream& log) {
  auto lm = load_lm(options.checkpoint);
  const int64_t step = read_checkpoint_meta(options.checkpoint, "lm").step;
  const std::string model_path = in_dir(options.output_dir, "model.pt");
  std::error_code ec;
  if (!options.overwrite && fs::exists(model_path, ec)) {
    throw InputError(model_path + ": already exists; --overwrite replaces it, or choose another " +
                     "--output");
  }
  fs::create_directories(options.output_dir, ec);
  if (ec) throw InputError(options.output_dir + ": cannot create (" + ec.message() + ")");

  std::string vocab;
  for (int64_t id = 0; id < lm.vocab.size(); ++id) {
    const std::string& entry = lm.vocab.is_words()
                                   ? lm.vocab.words()[id]
                                   : lm.vocab.tokenizer().id_to_piece(static_cast<int>(id));
    if (entry.find('\n') != std::string::npos) {
      throw InputError(options.checkpoint + ": token " + std::to_string(id) +
                       " holds a line break and cannot be listed in vocab.txt");
    }
    vocab += entry + "\n";
  }
  save_state_dict(model_path, to_rnn_model_state_dict(lm.module->model));
  write_file_atomic(in_dir(options.output_dir, "vocab.txt"), vocab);
  if (!lm.vocab.is_words()) lm.vocab.tokenizer().save(in_dir(options.output_dir, "spm.model"));
  write_file_atomic(in_dir(options.output_dir, "config.yaml"), config::to_yaml(lm.config));
  std::string readme = export_readme(lm, options.checkpoint, step);
  write_file_atomic(in_dir(options.output_dir, "README.md"), readme);
  log << "exported " << options.checkpoint << " to " << options.output_dir
      << "/ (model.pt, vocab.txt, config.yaml, README.md"
      << (lm.vocab.is_words() ? "" : ", spm.model") << ")\n";
  return readme;
}

void run_lm_import(const LmConfig& cfg, const LmImportOptions& options, std::ostream& log) {
  check_run_dir(options.run_dir, /*resume=*/false, options.overwrite);
  const StateDict state_dict = load_state_dict(options.state_dict);
  const LmVocabulary vocab = read_import_vocab(cfg.vocab, options.vocab);
  const auto encoder = std::find_if(state_dict.begin(), state_dict.end(),
                                    [](const auto& e) { return e.first == "encoder.weight"; });
  if (encoder == state_dict.end()) {
    throw InputError(options.state_dict +
                     ": the state_dict has no 'encoder.weight' (not a word_language_model "
                     "RNNModel?)");
  }
  if (encoder->second.dim() != 2 || encoder->second.size(0) != vocab.size()) {
    std::ostringstream shape;
    shape << encoder->second.sizes();
    throw InputError(options.vocab + ": " + std::to_string(vocab.size()) +
                     " tokens, but 'encoder.weight' of " + options.state_dict + " has shape " +
                     shape.str() + " (one row per token)");
  }
  check_lm_size(cfg.model, vocab.size(), /*copies=*/1);
  LmTrainModule module(cfg.model.options(vocab.size()), cfg.data.batch_size);
  load_rnn_model_state_dict(state_dict, module->model, options.state_dict);

  if (options.overwrite) remove_run_files(options.run_dir);
  prepare_run_dir(options.run_dir, config::to_yaml(cfg));
  CheckpointMeta meta;
  meta.kind = "lm";
  meta.config_yaml = config::to_yaml(cfg);
  meta.tokenizer_model = vocab.is_words() ? "" : vocab.tokenizer().serialized_model();
  meta.extra = vocab.to_json();
  const std::string best = in_dir(options.run_dir, "best.pt");
  save_checkpoint(best, *module, nullptr, meta);
  log << "imported " << options.state_dict << " (" << count_parameters(*module->model)
      << " parameters, vocabulary " << vocab.size() << ") into " << best << "\n";
}

std::string run_lm_generate(const LmGenerateOptions& options, std::ostream& out,
                            std::ostream& log) {
  auto lm = load_lm(options.checkpoint, options.device);
  std::vector<int64_t> ids;
  int64_t unknown = 0;
  std::istringstream prompt(options.prompt);
  bool first = true;
  for (std::string line; std::getline(prompt, line); first = false) {
    if (!first) ids.push_back(lm.vocab.eos_id());
    const auto line_ids = lm.vocab.encode_line(line, &unknown);
    ids.insert(ids.end(), line_ids.begin(), line_ids.end());
  }
  if (unknown > 0) {
    log << "note: " << unknown << " prompt " << (unknown == 1 ? "token is" : "tokens are")
        << " not in the vocabulary and read as <unk>\n";
  }
  std::string shown = lm.vocab.decode(ids);
  out << shown << std::flush;
  generate(lm.module->model, lm.vocab.eos_id(), /*context=*/std::vector<int64_t>(ids),
           options.length, options.sampling, options.seed, [&](int64_t id) {
             ids.push_back(id);
             // Decoding everything so far keeps SentencePiece's spacing right; print what is new.
             const std::string text = lm.vocab.decode(ids);
             if (text.size() > shown.size()) out << text.substr(shown.size()) << std::flush;
             shown = text;
           });
  if (shown.empty() || shown.back() != '\n') out << "\n";
  return shown;
}

}  // namespace lstmnlp::lm
