#include "models/sentiment/sentiment_app.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/checkpoint.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/state_dict.h"
#include "models/sentiment/sentiment_task.h"

namespace lstmnlp::sentiment {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKind = "sentiment";

SentencePieceTokenizer train_tokenizer(const SentimentTokenizerConfig& cfg,
                                       const std::vector<LabeledExample>& examples,
                                       const std::string& run_dir, std::ostream& log) {
  const std::string text_path = (fs::path(run_dir) / "tokenizer_train.txt").string();
  {
    std::ofstream out(text_path, std::ios::binary);
    for (const auto& e : examples) {
      // SentencePiece reads one sentence per line.
      std::string line = e.text;
      for (char& c : line) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      out << line << '\n';
    }
    if (!out) throw InputError(text_path + ": cannot write file");
  }
  TokenizerTrainOptions options;
  options.input_files = {text_path};
  options.model_prefix = (fs::path(run_dir) / "spm").string();
  options.model_type = cfg.model_type;
  options.vocab_size = cfg.vocab_size;
  options.character_coverage = cfg.character_coverage;
  options.input_sentence_size = 0;
  options.num_threads = std::max(1, static_cast<int>(torch::get_num_threads()));
  const auto start = std::chrono::steady_clock::now();
  auto tokenizer = SentencePieceTokenizer::train(options);
  fs::remove(text_path);
  log << "trained a " << to_string(cfg.model_type) << " SentencePiece model of "
      << tokenizer.vocab_size() << " pieces on " << examples.size() << " texts in "
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
  return tokenizer;
}

nlohmann::json parse_extra(const std::string& extra, const std::string& path) {
  try {
    auto j = nlohmann::json::parse(extra);
    j.at("labels").get<std::vector<std::string>>();
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": checkpoint lacks the sentiment labels (" + e.what() + ")");
  }
}

std::string resolve_checkpoint_path(const std::string& path) {
  if (!fs::is_directory(path)) {
    if (!fs::exists(path)) throw InputError(path + ": no such checkpoint or run directory");
    return path;
  }
  for (const char* name : {"best.pt", "latest.pt"}) {
    const auto candidate = fs::path(path) / name;
    if (fs::exists(candidate)) return candidate.string();
  }
  throw InputError(path + ": run directory has neither best.pt nor latest.pt");
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

std::string export_readme(const SentimentCheckpoint& ckpt, const nlohmann::json& model_args) {
  std::ostringstream out;
  out << "# An lstm-sentiment classifier for PyTorch\n\n"
      << "Exported by `lstm-sentiment export` from `" << ckpt.path << "`.\n\n"
      << "- `model.pt`: the weights, a `state_dict` with lstm-nlp's names, which a plain "
         "`torch.load` reads\n  (PyTorch 1.6 or later, including 2.6+, whose default is "
         "`weights_only=True`).\n"
      << "- `config.json`: the arguments of `SentimentClassifier` in lstm-nlp's "
         "`scripts/python/lstm_nlp.py`,\n  the labels in class order and `max_tokens`.\n"
      << "- `spm.model`: the SentencePiece model; `labels.txt`: the labels, one per line.\n"
      << "- `config.yaml`: lstm-nlp's config; `lstm-sentiment import --state-dict model.pt "
         "--tokenizer spm.model\n  --labels labels.txt --config config.yaml --output RUN` brings "
         "it back.\n\n"
      << "```python\n"
      << "import lstm_nlp  # scripts/python/lstm_nlp.py of lstm-nlp\n"
      << "model, config = lstm_nlp.load_sentiment('.')  # this folder\n"
      << "ids = lstm_nlp.encode(config, ['a gripping , funny film .'])  # python3-sentencepiece\n"
      << "probs = lstm_nlp.predict(model, ids)  # columns: config['labels']\n"
      << "```\n\n"
      << "The model is `SentimentClassifier(**" << model_args.dump() << ")`.\n";
  return out.str();
}

std::vector<LabeledExample> read_split(const std::string& path, const LabeledDataFormat& format,
                                       const char* what, std::ostream& log) {
  ReadStats stats;
  auto examples = read_labeled_data(path, format, &stats);
  log << what << ": " << stats.records << " examples from " << path;
  if (stats.empty_texts > 0) log << " (" << stats.empty_texts << " empty texts skipped)";
  log << "\n";
  return examples;
}

}  // namespace

SentimentCheckpoint SentimentCheckpoint::load(const std::string& path, torch::Device device) {
  const std::string file = resolve_checkpoint_path(path);
  const auto meta = read_checkpoint_meta(file, kKind);
  auto cfg = config::from_yaml_text<SentimentConfig>(meta.config_yaml, file + " (config)");
  if (meta.tokenizer_model.empty()) throw InputError(file + ": checkpoint has no tokenizer");
  auto tokenizer = SentencePieceTokenizer::load_from_serialized(meta.tokenizer_model);
  const auto extra = parse_extra(meta.extra, file);
  LabelSet labels(extra["labels"].get<std::vector<std::string>>());
  check_classifier_size(cfg.model, tokenizer.vocab_size(), labels.size(), /*copies=*/1);
  SentimentClassifier model(cfg.model, tokenizer.vocab_size(), labels.size(), tokenizer.pad_id());
  load_checkpoint(file, *model, nullptr, /*restore_rng=*/false, kKind);
  model->to(device);
  model->eval();
  return SentimentCheckpoint{std::move(cfg), std::move(tokenizer), std::move(labels), model, file};
}

ClassificationReport run_sentiment_train(const SentimentConfig& cfg,
                                         const SentimentTrainOptions& options, std::ostream& log) {
  if (options.run_dir.empty()) throw InputError("train needs --output-dir");
  if (cfg.data.train.empty()) throw InputError("data.train is required");
  if (cfg.data.dev.empty()) throw InputError("data.dev is required");
  // Everything is checked (the run directory, the data, the checkpoint to resume) before the run
  // directory is written. With several processes rank 0 alone checks and writes it.
  auto& world = dist::world();
  if (world.is_main()) check_run_dir(options.run_dir, !options.resume.empty(), options.overwrite);
  const auto format = cfg.data.reader_format();
  auto train_examples = read_split(cfg.data.train, format, "train", log);
  if (cfg.data.max_train_examples > 0 &&
      static_cast<int64_t>(train_examples.size()) > cfg.data.max_train_examples) {
    train_examples.resize(cfg.data.max_train_examples);
    log << "train: using the first " << train_examples.size() << " examples\n";
  }
  const auto dev_examples = read_split(cfg.data.dev, format, "dev", log);

  uint64_t seed = options.seed;
  LabelSet labels;
  std::optional<SentencePieceTokenizer> tokenizer;
  if (!options.resume.empty()) {
    const auto meta = read_checkpoint_meta(options.resume, kKind);
    const auto extra = parse_extra(meta.extra, options.resume);
    labels = LabelSet(extra["labels"].get<std::vector<std::string>>());
    if (!options.seed_given && extra.contains("seed")) seed = extra["seed"].get<uint64_t>();
    tokenizer = SentencePieceTokenizer::load_from_serialized(meta.tokenizer_model);
  } else {
    labels = LabelSet::from_examples(train_examples);
    if (!cfg.tokenizer.model.empty()) {
      tokenizer = SentencePieceTokenizer::load(cfg.tokenizer.model);
    } else {
      // Rank 0 trains it into the run directory; the other ranks read it from there.
      if (world.is_main()) {
        fs::create_directories(options.run_dir);
        tokenizer = train_tokenizer(cfg.tokenizer, train_examples, options.run_dir, log);
      }
      world.barrier();
      if (!tokenizer) {
        tokenizer =
            SentencePieceTokenizer::load((fs::path(options.run_dir) / "spm.model").string());
      }
    }
  }
  const nlohmann::json extra = {{"labels", labels.labels()}, {"seed", seed}};
  log << "labels:";
  for (const auto& label : labels.labels()) log << " " << label;
  log << "\n";

  auto train = encode_examples(train_examples, *tokenizer, labels, cfg.data.max_tokens);
  auto dev = encode_examples(dev_examples, *tokenizer, labels, cfg.data.max_tokens);
  train_examples.clear();
  train_examples.shrink_to_fit();

  check_classifier_size(cfg.model, tokenizer->vocab_size(), labels.size(), /*copies=*/4);
  torch::manual_seed(seed);
  SentimentClassifier model(cfg.model, tokenizer->vocab_size(), labels.size(), tokenizer->pad_id());
  model->to(options.device);
  log << "model: " << count_parameters(*model) << " parameters, "
      << kLstmBackends.name(cfg.model.lstm) << " LSTM, " << kPoolings.name(cfg.model.pooling)
      << " pooling\n";

  SentimentTask task(model, std::move(train), std::move(dev), labels.size(), cfg.train,
                     tokenizer->pad_id(), seed, options.device);
  TrainerOptions trainer_options =
      make_trainer_options(cfg, kKind, options.run_dir, options.resume);
  trainer_options.tokenizer_model = tokenizer->serialized_model();
  trainer_options.extra = extra.dump();
  Trainer trainer(task, trainer_options);
  if (world.is_main()) {
    if (options.overwrite) remove_run_files(options.run_dir);
    prepare_run_dir(options.run_dir, config::to_yaml(cfg));
    tokenizer->save((fs::path(options.run_dir) / "spm.model").string());
    write_file_atomic((fs::path(options.run_dir) / "labels.json").string(), extra.dump(2) + "\n");
  }
  const auto summary = trainer.run();
  log << "training stopped (" << summary.stop_reason << ") after " << summary.steps << " steps in "
      << summary.train_seconds << " s, " << summary.units_per_s << " examples/s\n";
  world.barrier();  // rank 0 has written best.pt
  const bool has_best = trainer.load_best();
  auto report = task.dev_report();  // on every rank: each scores its share
  if (!world.is_main()) return {};
  auto report_json = to_json(report, labels.labels());
  report_json["checkpoint"] = has_best ? trainer.best_path() : std::string("(final weights)");
  report_json["train_seconds"] = summary.train_seconds;
  report_json["steps"] = summary.steps;
  report_json["stop_reason"] = summary.stop_reason;
  write_file_atomic((fs::path(options.run_dir) / "dev_metrics.json").string(),
                    report_json.dump(2) + "\n");
  log << "\ndev (" << report_json["checkpoint"].get<std::string>() << ")\n"
      << format_report(report, labels.labels());
  return report;
}

std::string run_sentiment_export(const SentimentExportOptions& options, std::ostream& log) {
  auto ckpt = SentimentCheckpoint::load(options.checkpoint, torch::kCPU);
  const auto dir = fs::path(options.output_dir);
  std::error_code ec;
  if (!options.overwrite && fs::exists(dir / "model.pt", ec)) {
    throw InputError((dir / "model.pt").string() +
                     ": already exists; --overwrite replaces it, or choose another --output");
  }
  fs::create_directories(dir, ec);
  if (ec) throw InputError(options.output_dir + ": cannot create (" + ec.message() + ")");
  const auto& m = ckpt.config.model;
  const nlohmann::json model_args = {{"vocab_size", ckpt.tokenizer.vocab_size()},
                                     {"num_classes", ckpt.labels.size()},
                                     {"pad_id", ckpt.tokenizer.pad_id()},
                                     {"embedding_dim", m.embedding_dim},
                                     {"hidden_size", m.hidden_size},
                                     {"num_layers", m.num_layers},
                                     {"bidirectional", m.bidirectional},
                                     {"pooling", kPoolings.name(m.pooling)},
                                     {"dropout", m.dropout},
                                     {"embedding_dropout", m.embedding_dropout},
                                     {"attention_size", m.attention_size}};
  const nlohmann::json config = {{"model", model_args},
                                 {"labels", ckpt.labels.labels()},
                                 {"max_tokens", ckpt.config.data.max_tokens},
                                 {"tokenizer", "spm.model"}};
  StateDict tensors;
  for (const auto& p : ckpt.model->named_parameters()) tensors.emplace_back(p.key(), p.value());
  std::string labels;
  for (const auto& label : ckpt.labels.labels()) {
    if (label.find('\n') != std::string::npos) {
      throw InputError(ckpt.path + ": label '" + label + "' holds a line break");
    }
    labels += label + "\n";
  }
  save_state_dict((dir / "model.pt").string(), tensors);
  ckpt.tokenizer.save((dir / "spm.model").string());
  write_file_atomic((dir / "labels.txt").string(), labels);
  write_file_atomic((dir / "config.json").string(), config.dump(2) + "\n");
  write_file_atomic((dir / "config.yaml").string(), config::to_yaml(ckpt.config));
  std::string readme = export_readme(ckpt, model_args);
  write_file_atomic((dir / "README.md").string(), readme);
  log << "exported " << ckpt.path << " to " << options.output_dir
      << "/ (model.pt, spm.model, labels.txt, config.json, config.yaml, README.md)\n";
  return readme;
}

void run_sentiment_import(const SentimentConfig& cfg, const SentimentImportOptions& options,
                          std::ostream& log) {
  check_run_dir(options.run_dir, /*resume=*/false, options.overwrite);
  const StateDict state_dict = load_state_dict(options.state_dict);
  auto tokenizer = SentencePieceTokenizer::load(options.tokenizer);
  std::vector<std::string> label_list;
  {
    std::ifstream in(options.labels);
    if (!in || fs::is_directory(options.labels)) {
      throw InputError(options.labels + ": cannot read the labels (one per line)");
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) label_list.push_back(line);
    }
  }
  if (label_list.size() < 2) throw InputError(options.labels + ": needs at least 2 labels");
  LabelSet labels(label_list);

  std::map<std::string, torch::Tensor> given(state_dict.begin(), state_dict.end());
  const auto embedding = given.find("embedding.weight");
  if (embedding != given.end() && embedding->second.dim() == 2 &&
      embedding->second.size(0) != tokenizer.vocab_size()) {
    throw InputError(options.tokenizer + ": " + std::to_string(tokenizer.vocab_size()) +
                     " pieces, but 'embedding.weight' of " + options.state_dict + " has shape " +
                     shape_of(embedding->second) + " (one row per piece)");
  }
  check_classifier_size(cfg.model, tokenizer.vocab_size(), labels.size(), /*copies=*/1);
  SentimentClassifier model(cfg.model, tokenizer.vocab_size(), labels.size(), tokenizer.pad_id());
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  const auto params = model->named_parameters();
  for (const auto& p : params) {
    const auto it = given.find(p.key());
    if (it == given.end()) {
      throw InputError(options.state_dict + ": the state_dict has no '" + p.key() +
                       "' (the config's model section needs it)");
    }
    if (!it->second.is_floating_point() || it->second.sizes() != p.value().sizes()) {
      throw InputError(options.state_dict + ": '" + p.key() + "' has shape " +
                       shape_of(it->second) + " (" + c10::toString(it->second.scalar_type()) +
                       ") but the config, tokenizer and labels give " + shape_of(p.value()) +
                       " (float)");
    }
    copies.emplace_back(p.value(), it->second);
  }
  for (const auto& [name, tensor] : state_dict) {
    if (!params.contains(name)) {
      throw InputError(options.state_dict + ": unexpected '" + name +
                       "' in the state_dict (the config's model has no such tensor)");
    }
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& [target, source] : copies) target.copy_(source);
  }
  if (options.overwrite) remove_run_files(options.run_dir);
  prepare_run_dir(options.run_dir, config::to_yaml(cfg));
  const nlohmann::json extra = {{"labels", labels.labels()}};
  tokenizer.save((fs::path(options.run_dir) / "spm.model").string());
  write_file_atomic((fs::path(options.run_dir) / "labels.json").string(), extra.dump(2) + "\n");
  CheckpointMeta meta;
  meta.kind = kKind;
  meta.config_yaml = config::to_yaml(cfg);
  meta.tokenizer_model = tokenizer.serialized_model();
  meta.extra = extra.dump();
  const std::string best = (fs::path(options.run_dir) / "best.pt").string();
  save_checkpoint(best, *model, nullptr, meta);
  log << "imported " << options.state_dict << " into " << best << "\n";
}

ClassificationReport run_sentiment_eval(const SentimentEvalOptions& options, std::ostream& out) {
  if (options.input.empty()) throw InputError("eval needs --input");
  if (!options.output.empty()) refuse_output_over_inputs(options.output, {options.input});
  auto ckpt = SentimentCheckpoint::load(options.checkpoint, options.device);
  LabeledDataFormat format = ckpt.config.data.reader_format();
  if (options.format) format.format = *options.format;
  if (options.text_column) format.text_column = *options.text_column;
  if (options.label_column) format.label_column = *options.label_column;
  if (format.format == "auto" && fs::exists(options.input) && !fs::is_directory(options.input)) {
    try {
      resolve_data_format(options.input, format.format);
    } catch (const InputError&) {
      throw InputError(options.input + ": cannot tell the format from the extension '" +
                       fs::path(options.input).extension().string() +
                       "'; pass --format tsv, csv, jsonl or class_files");
    }
  }
  ReadStats stats;
  const auto examples = read_labeled_data(options.input, format, &stats);
  const auto encoded =
      encode_examples(examples, ckpt.tokenizer, ckpt.labels, ckpt.config.data.max_tokens);
  const auto start = std::chrono::steady_clock::now();
  const auto probs = predict_probabilities(ckpt.model, encoded.tokens, ckpt.tokenizer.pad_id(),
                                           options.batch_size, options.device);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto predicted = probs.argmax(1).contiguous();
  std::vector<int64_t> pred(predicted.data_ptr<int64_t>(),
                            predicted.data_ptr<int64_t>() + predicted.numel());
  auto report = classification_report(encoded.labels, pred, ckpt.labels.size());
  out << "checkpoint " << ckpt.path << ", " << stats.records << " examples from " << options.input;
  if (stats.empty_texts > 0) out << " (" << stats.empty_texts << " empty texts skipped)";
  out << "\n" << format_report(report, ckpt.labels.labels());
  if (!options.output.empty()) {
    auto j = to_json(report, ckpt.labels.labels());
    j["checkpoint"] = ckpt.path;
    j["input"] = options.input;
    j["empty_texts_skipped"] = stats.empty_texts;
    j["seconds"] = seconds;
    write_file_atomic(options.output, j.dump(2) + "\n");
  }
  return report;
}

}  // namespace lstmnlp::sentiment
