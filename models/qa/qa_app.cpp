#include "models/qa/qa_app.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "core/checkpoint.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/signals.h"
#include "datasets/length_batching.h"
#include "datasets/squad_features.h"
#include "models/qa/qa_task.h"

namespace lstmnlp::qa {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKind = "qa";

std::string in_dir(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
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

// SentencePiece reads one sentence per line; contexts are split into their sentences, so that
// none is over its length limit.
SentencePieceTokenizer train_tokenizer(const QaTokenizerConfig& cfg, const SquadDataset& data,
                                       const std::string& run_dir, std::ostream& log) {
  const std::string text_path = in_dir(run_dir, "tokenizer_train.txt");
  int64_t lines = 0;
  {
    std::ofstream out(text_path, std::ios::binary);
    auto write_line = [&](std::string line) {
      for (char& c : line) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      out << line << '\n';
      ++lines;
    };
    for (const auto& paragraph : data.paragraphs) {
      for (const auto& [b, e] : sentence_spans(paragraph.context)) {
        write_line(paragraph.context.substr(b, e - b));
      }
      for (const auto& q : paragraph.questions) write_line(q.question);
    }
    if (!out) throw InputError(text_path + ": cannot write file");
  }
  TokenizerTrainOptions options;
  options.input_files = {text_path};
  options.model_prefix = in_dir(run_dir, "spm");
  options.model_type = cfg.model_type;
  options.vocab_size = cfg.vocab_size;
  options.character_coverage = cfg.character_coverage;
  options.input_sentence_size = 0;
  options.num_threads = std::max(1, static_cast<int>(torch::get_num_threads()));
  const auto start = std::chrono::steady_clock::now();
  auto tokenizer = SentencePieceTokenizer::train(options);
  fs::remove(text_path);
  log << "trained a " << kTokenizerModelTypes.name(cfg.model_type) << " SentencePiece model of "
      << tokenizer.vocab_size() << " pieces on " << lines << " sentences and questions in "
      << std::fixed << std::setprecision(1)
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n"
      << std::defaultfloat;
  return tokenizer;
}

SquadDataset read_split(const std::string& path, const char* what, std::ostream& log) {
  auto data = read_squad(path);
  log << what << ": " << data.questions << " questions on " << data.paragraphs.size()
      << " paragraphs from " << path;
  if (data.impossible > 0) log << " (" << data.impossible << " unanswerable, v2.0)";
  if (data.misaligned_answers > 0) {
    log << " (" << data.misaligned_answers << " answers not at their answer_start)";
  }
  log << "\n";
  return data;
}

double percent(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

void describe_encoding(std::ostream& log, const char* what, const SquadEncoding& data,
                       int64_t max_context) {
  const auto& s = data.stats;
  int64_t cut = 0;
  int64_t pieces = 0;
  for (const auto& q : data.questions) {
    if (max_context > 0 && q.answer_end >= max_context) ++cut;
  }
  for (const auto& c : data.contexts) pieces += static_cast<int64_t>(c.ids.size());
  log << std::fixed << std::setprecision(2) << "  " << what << ": " << s.questions << " questions, "
      << data.contexts.size() << " contexts of "
      << (data.contexts.empty()
              ? 0.0
              : static_cast<double>(pieces) / static_cast<double>(data.contexts.size()))
      << " pieces on average; answers not on piece boundaries: " << s.unaligned << " of "
      << s.answers << " (" << percent(s.unaligned, s.answers) << "%)";
  if (s.misaligned > 0) log << "; without a target (text not at answer_start): " << s.misaligned;
  if (s.impossible > 0) log << "; unanswerable skipped: " << s.impossible;
  if (s.excluded > 0) log << "; excluded by id: " << s.excluded;
  if (max_context > 0) {
    log << "; answers beyond " << max_context << " pieces (no loss): " << cut << " ("
        << percent(cut, s.questions) << "%)";
  }
  log << "\n" << std::defaultfloat;
}

void write_predictions(const std::string& path, const std::vector<QaPrediction>& predictions) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& p : predictions) j[p.id] = p.texts.empty() ? "" : p.texts.front();
  write_file_atomic(path, j.dump() + "\n");
}

void write_nbest(const std::string& path, const std::vector<QaPrediction>& predictions) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& p : predictions) {
    auto spans = nlohmann::ordered_json::array();
    for (size_t k = 0; k < p.spans.size(); ++k) {
      spans.push_back({{"text", p.texts[k]},
                       {"probability", std::exp(p.spans[k].score)},
                       {"log_score", p.spans[k].score},
                       {"start_piece", p.spans[k].start},
                       {"end_piece", p.spans[k].end}});
    }
    j[p.id] = spans;
  }
  write_file_atomic(path, j.dump(1) + "\n");
}

// Refuses another app's checkpoint, naming the app that wrote it.
void check_kind(const CheckpointMeta& meta, const std::string& file) {
  check_checkpoint_kind(meta, file, kKind);
}

nlohmann::json score_json(const SquadScore& score) {
  return {{"exact_match", score.exact_match},
          {"f1", score.f1},
          {"questions", score.questions},
          {"answered", score.answered}};
}

}  // namespace

QaCheckpoint QaCheckpoint::load(const std::string& path, torch::Device device) {
  const std::string file = resolve_checkpoint_path(path);
  const auto meta = read_checkpoint_meta(file);
  check_kind(meta, file);
  auto cfg = config::from_yaml_text<QaConfig>(meta.config_yaml, file + " (config)");
  if (meta.tokenizer_model.empty()) throw InputError(file + ": checkpoint has no tokenizer");
  auto tokenizer = SentencePieceTokenizer::load_from_serialized(meta.tokenizer_model);
  check_reader_size(cfg.model, tokenizer.vocab_size(), /*copies=*/1);
  QaReader reader(cfg.model, tokenizer.vocab_size(), tokenizer.pad_id());
  load_checkpoint(file, *reader, nullptr, /*restore_rng=*/false, kKind);
  reader->to(device);
  reader->eval();
  return QaCheckpoint{std::move(cfg), std::move(tokenizer), reader, file};
}

SquadScore run_qa_train(const QaConfig& cfg, const QaTrainOptions& options, std::ostream& log) {
  if (options.run_dir.empty()) throw InputError("train needs --output-dir");
  if (cfg.data.train.empty()) throw InputError("data.train is required");
  if (cfg.data.dev.empty()) throw InputError("data.dev is required");
  // Everything is checked (the run directory, the data, the checkpoint to resume) before the run
  // directory is written. With several processes rank 0 alone checks and writes it.
  auto& world = dist::world();
  if (world.is_main()) check_run_dir(options.run_dir, !options.resume.empty(), options.overwrite);
  const auto train_data = read_split(cfg.data.train, "train", log);
  const auto dev_full = read_split(cfg.data.dev, "dev", log);
  std::vector<std::string> excluded;
  if (!cfg.data.exclude_ids.empty()) excluded = read_id_column(cfg.data.exclude_ids);

  const std::string resolved = config::to_yaml(cfg);

  uint64_t seed = options.seed;
  std::optional<SentencePieceTokenizer> tokenizer;
  if (!options.resume.empty()) {
    const auto meta = read_checkpoint_meta(options.resume);
    check_kind(meta, options.resume);
    const auto extra = nlohmann::json::parse(meta.extra.empty() ? "{}" : meta.extra);
    if (!options.seed_given && extra.contains("seed")) seed = extra["seed"].get<uint64_t>();
    tokenizer = SentencePieceTokenizer::load_from_serialized(meta.tokenizer_model);
  } else if (!cfg.tokenizer.model.empty()) {
    tokenizer = SentencePieceTokenizer::load(cfg.tokenizer.model);
  } else {
    // Rank 0 trains it into the run directory; the other ranks read it from there.
    if (world.is_main()) {
      fs::create_directories(options.run_dir);
      tokenizer = train_tokenizer(cfg.tokenizer, train_data, options.run_dir, log);
    }
    world.barrier();
    if (!tokenizer) tokenizer = SentencePieceTokenizer::load(in_dir(options.run_dir, "spm.model"));
  }

  check_reader_size(cfg.model, tokenizer->vocab_size(), /*copies=*/4);

  SquadEncodingOptions train_options;
  train_options.max_question_tokens = cfg.data.max_question_tokens;
  train_options.exclude_ids = excluded;
  train_options.max_questions = cfg.data.max_train_questions;
  SquadEncodingOptions dev_options;
  dev_options.max_question_tokens = cfg.data.max_question_tokens;
  dev_options.skip_impossible = false;
  const auto dev_data = first_questions(dev_full, cfg.data.eval_questions);
  auto train = encode_squad(train_data, *tokenizer, train_options);
  auto dev = encode_squad(dev_data, *tokenizer, dev_options);
  log << "encoded:\n";
  describe_encoding(log, "train", train, cfg.data.max_context_tokens);
  describe_encoding(log, "dev", dev, 0);

  torch::manual_seed(seed);
  QaReader reader(cfg.model, tokenizer->vocab_size(), tokenizer->pad_id());
  reader->to(options.device);
  log << "model: " << count_parameters(*reader) << " parameters, "
      << kLstmBackends.name(cfg.model.lstm) << " LSTM, " << cfg.model.context_layers << "+"
      << cfg.model.question_layers << " BiLSTM layers of " << cfg.model.hidden_size << "\n";

  const nlohmann::json extra = {{"seed", seed}};
  QaTask task(reader, std::move(train), std::move(dev), dev_data, cfg, tokenizer->pad_id(), seed,
              options.device);
  TrainerOptions trainer_options =
      make_trainer_options(cfg, kKind, options.run_dir, options.resume);
  trainer_options.tokenizer_model = tokenizer->serialized_model();
  trainer_options.extra = extra.dump();
  Trainer trainer(task, trainer_options);
  if (world.is_main()) {
    if (options.overwrite) remove_run_files(options.run_dir);
    prepare_run_dir(options.run_dir, resolved);
    tokenizer->save(in_dir(options.run_dir, "spm.model"));
  }
  const auto summary = trainer.run();
  log << "training stopped (" << summary.stop_reason << ") after " << summary.steps << " steps in "
      << summary.train_seconds << " s, " << summary.units_per_s << " examples/s\n";
  if (!world.is_main()) return {};

  // best.pt's answers to the whole official dev set.
  const bool have_best = trainer.load_best();
  const auto dev_all = encode_squad(dev_full, *tokenizer, dev_options);
  const auto start = std::chrono::steady_clock::now();
  const auto predictions = predict_spans(reader, dev_all, tokenizer->pad_id(),
                                         cfg.train.eval_batch_size, cfg.decode.max_answer_tokens);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_predictions(in_dir(options.run_dir, "dev_predictions.json"), predictions);
  const auto score = score_predictions(dev_full, best_answers(predictions));
  auto report = score_json(score);
  report["checkpoint"] = have_best ? trainer.best_path() : std::string("(final weights)");
  report["steps"] = summary.steps;
  report["train_seconds"] = summary.train_seconds;
  report["predict_questions_per_s"] = static_cast<double>(dev_all.questions.size()) / seconds;
  write_file_atomic(in_dir(options.run_dir, "dev_metrics.json"), report.dump(2) + "\n");
  log << "dev (" << report["checkpoint"].get<std::string>() << "): " << official_json(score)
      << "\n";
  return score;
}

int64_t run_qa_predict(const QaPredictOptions& options, std::ostream& log) {
  if (options.data.empty()) throw InputError("predict needs --data");
  if (options.output.empty()) throw InputError("predict needs --output");
  refuse_output_over_inputs(options.output, {options.data});
  auto ckpt = QaCheckpoint::load(options.checkpoint, options.device);
  const auto data = read_split(options.data, "data", log);
  SquadEncodingOptions encoding;
  encoding.max_question_tokens = ckpt.config.data.max_question_tokens;
  encoding.skip_impossible = false;
  const auto encoded = encode_squad(data, ckpt.tokenizer, encoding);
  const auto total = static_cast<int64_t>(encoded.questions.size());
  // A first SIGINT, SIGTERM or SIGHUP stops after the current batch; nothing has been written
  // then, since the predictions go out (atomically) only at the end.
  signals::StopOnSignal stop_on_signal;
  Progress progress("predict", total, "q");
  const auto after_batch = [&](int64_t answered) {
    progress.update(answered);
    if (const int signal = signals::stop_signal(); signal != 0) {
      throw signals::Interrupted(signal, "interrupted by " + signals::signal_name(signal) +
                                             " after " + std::to_string(answered) + " of " +
                                             std::to_string(total) + " questions; " +
                                             options.output + " was not written");
    }
  };
  const auto start = std::chrono::steady_clock::now();
  const auto predictions = predict_spans(ckpt.reader, encoded, ckpt.tokenizer.pad_id(),
                                         options.batch_size, ckpt.config.decode.max_answer_tokens,
                                         std::max<int64_t>(1, options.nbest), {}, after_batch);
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_predictions(options.output, predictions);
  if (options.nbest > 1) {
    std::string nbest = options.nbest_output;
    if (nbest.empty()) nbest = (fs::path(options.output).replace_extension(".nbest.json")).string();
    refuse_output_over_inputs(nbest, {options.data}, "--nbest output");
    write_nbest(nbest, predictions);
    log << "wrote the " << options.nbest << " best spans of each question to " << nbest << "\n";
  }
  log << "answered " << predictions.size() << " questions in " << std::fixed << std::setprecision(1)
      << seconds << " s (" << std::setprecision(0)
      << static_cast<double>(predictions.size()) / seconds << " questions/s); wrote "
      << options.output << "\n"
      << std::defaultfloat;
  return static_cast<int64_t>(predictions.size());
}

SquadScore run_qa_eval(const QaEvalOptions& options, std::ostream& out, std::ostream& log) {
  if (options.data.empty()) throw InputError("eval needs --data");
  if (options.predictions.empty()) throw InputError("eval needs --predictions");
  const auto data = read_squad(options.data);
  if (data.version != "1.1") {
    log << "Evaluation expects v-1.1, but got dataset with v-" << data.version << "\n";
  }
  const auto predictions = read_predictions(options.predictions);
  const auto score = score_predictions(data, predictions);
  if (score.answered < score.questions) {
    log << score.questions - score.answered << " of " << score.questions
        << " questions have no prediction and score 0\n";
  }
  out << std::fixed << std::setprecision(2) << "| Questions | Answered | EM | F1 |\n"
      << "| --- | --- | --- | --- |\n"
      << "| " << score.questions << " | " << score.answered << " | " << score.exact_match << " | "
      << score.f1 << " |\n"
      << std::defaultfloat << official_json(score) << std::endl;
  return score;
}

void run_qa_answer(const QaAnswerOptions& options, std::istream& in, std::ostream& out) {
  if (options.context.empty()) throw InputError("answer needs --context FILE");
  auto ckpt = QaCheckpoint::load(options.checkpoint, options.device);
  std::ifstream file(options.context, std::ios::binary);
  if (!file || fs::is_directory(options.context)) {
    throw InputError(options.context + ": cannot read the context file");
  }
  std::ostringstream buffer;
  buffer << file.rdbuf();
  const std::string context = buffer.str();
  const auto sentences = sentence_spans(context);

  auto answer = [&](const std::string& question) {
    SquadDataset data;
    data.paragraphs.push_back({"", context, {SquadQuestion{"q", question, {}, true}}});
    data.questions = 1;
    SquadEncodingOptions encoding;
    encoding.max_question_tokens = ckpt.config.data.max_question_tokens;
    encoding.skip_impossible = false;
    const auto encoded = encode_squad(data, ckpt.tokenizer, encoding);
    const auto prediction = predict_spans(ckpt.reader, encoded, ckpt.tokenizer.pad_id(),
                                          /*batch_size=*/1, ckpt.config.decode.max_answer_tokens)
                                .front();
    const auto& span = prediction.spans.front();
    const auto begin = static_cast<size_t>(encoded.contexts[0].begin[span.start]);
    std::string sentence;
    for (const auto& [b, e] : sentences) {
      if (b <= begin && begin < e) sentence = context.substr(b, e - b);
    }
    out << "answer: " << prediction.texts.front() << "\n"
        << "probability: " << std::fixed << std::setprecision(3) << std::exp(span.score) << "\n"
        << std::defaultfloat << "sentence: " << sentence << "\n"
        << std::flush;
  };
  if (!options.question.empty()) {
    answer(options.question);
    return;
  }
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    answer(line);
  }
}

void run_qa_profile(const QaProfileOptions& options, std::ostream& out) {
  auto ckpt = QaCheckpoint::load(options.checkpoint, options.device);
  const QaConfig& cfg = ckpt.config;
  const std::string path = options.data.empty() ? cfg.data.train : options.data;
  SquadEncodingOptions encoding;
  encoding.max_question_tokens = cfg.data.max_question_tokens;
  encoding.max_questions = std::max<int64_t>(5000, (options.steps + 2) * cfg.train.batch_size);
  const auto data = encode_squad(read_squad(path), ckpt.tokenizer, encoding);
  std::vector<int64_t> lengths;
  for (const auto& q : data.questions) {
    const auto n = static_cast<int64_t>(data.contexts[q.context].ids.size());
    lengths.push_back(cfg.data.max_context_tokens > 0 ? std::min(n, cfg.data.max_context_tokens)
                                                      : n);
  }
  const auto plan = plan_epoch_batches(lengths, cfg.train.batch_size, /*seed=*/1, /*epoch=*/0);
  auto optimizer = make_optimizer(ckpt.reader->parameters(), cfg.train.base.opt);
  ckpt.reader->train();
  auto drop_gradients = [&] {
    for (auto& p : ckpt.reader->parameters()) p.mutable_grad() = torch::Tensor();
  };

  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  double batch_s = 0, forward_s = 0, backward_s = 0, clip_s = 0, optimizer_s = 0;
  std::vector<QaStageTime> stages;
  int64_t examples = 0;
  int64_t pieces = 0;
  const int64_t warmup = 2;
  const int64_t steps =
      std::min<int64_t>(options.steps, static_cast<int64_t>(plan.size()) - warmup);
  for (int64_t s = 0; s < steps + warmup; ++s) {
    const bool timed = s >= warmup;
    auto t = Clock::now();
    const auto batch =
        make_qa_batch(data, plan[s], ckpt.tokenizer.pad_id(), cfg.data.max_context_tokens);
    const double b = since(t);
    t = Clock::now();
    auto [start, end] = ckpt.reader->forward(batch);
    const auto loss_options = torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1);
    const auto loss = torch::nn::functional::cross_entropy(start, batch.start, loss_options) +
                      torch::nn::functional::cross_entropy(end, batch.end, loss_options);
    const double f = since(t);
    t = Clock::now();
    loss.backward();
    const double bw = since(t);
    t = Clock::now();
    if (cfg.train.base.loop.clip_norm > 0) {
      torch::nn::utils::clip_grad_norm_(ckpt.reader->parameters(), cfg.train.base.loop.clip_norm);
    }
    const double c = since(t);
    t = Clock::now();
    optimizer->step();
    drop_gradients();
    const double o = since(t);
    auto staged = ckpt.reader->profile(batch);
    drop_gradients();
    if (!timed) continue;
    batch_s += b;
    forward_s += f;
    backward_s += bw;
    clip_s += c;
    optimizer_s += o;
    examples += batch.context.size(1);
    pieces += batch.context_lengths.sum().item<int64_t>();
    if (stages.empty()) {
      stages = staged;
    } else {
      for (size_t k = 0; k < stages.size(); ++k) {
        stages[k].forward_s += staged[k].forward_s;
        stages[k].backward_s += staged[k].backward_s;
      }
    }
  }
  const double step_s = batch_s + forward_s + backward_s + clip_s + optimizer_s;
  const double n = static_cast<double>(std::max<int64_t>(1, steps));
  auto row = [&](const std::string& name, double fwd, double bwd) {
    out << "| " << name << " | " << std::fixed << std::setprecision(1) << 1e3 * fwd / n << " | "
        << 1e3 * bwd / n << " | " << 1e3 * (fwd + bwd) / n << " | " << std::setprecision(1)
        << 100.0 * (fwd + bwd) / step_s << "% |\n";
  };
  out << "profile of " << steps << " training steps of " << ckpt.path << " (batch "
      << cfg.train.batch_size << ", " << std::fixed << std::setprecision(1)
      << static_cast<double>(pieces) / static_cast<double>(std::max<int64_t>(1, examples))
      << " context pieces per question, " << at::get_num_threads()
      << " LibTorch threads): " << std::setprecision(1) << static_cast<double>(examples) / step_s
      << " examples/s\n\n"
      << "| Part | Forward ms | Backward ms | Total ms | Share of a step |\n"
      << "| --- | --- | --- | --- | --- |\n";
  row("building the batch", batch_s, 0);
  row("whole model", forward_s, backward_s);
  row("gradient clipping", clip_s, 0);
  row("optimizer step", optimizer_s, 0);
  out << "\nThe model's stages, each timed alone on detached inputs (shares of the same step):\n\n"
      << "| Stage | Forward ms | Backward ms | Total ms | Share of a step |\n"
      << "| --- | --- | --- | --- | --- |\n";
  for (const auto& stage : stages) row(stage.name, stage.forward_s, stage.backward_s);
  out << std::defaultfloat << std::flush;
}

}  // namespace lstmnlp::qa
