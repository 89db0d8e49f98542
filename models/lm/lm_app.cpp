#include "models/lm/lm_app.h"

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
    parameters += 4.0 * h * (input + h) + 8.0 * h;
    input = h;
  }
  parameters += (model.tie_weights ? 0.0 : v * h) + v;
  check_parameter_memory(parameters, copies,
                         "model.embedding_size=" + std::to_string(model.embedding_size) +
                             ", model.hidden_size=" + std::to_string(model.hidden_size) +
                             ", model.num_layers=" + std::to_string(model.num_layers) +
                             " (vocabulary " + std::to_string(vocab) + ")");
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
  const TrainSummary summary = trainer.run();
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
