#include "models/sentiment/predict.h"

#include <ATen/Parallel.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/line_reader.h"
#include "core/signals.h"
#include "datasets/labelled_text.h"
#include "datasets/length_batching.h"
#include "models/sentiment/sentiment_app.h"

namespace lstmnlp::sentiment {
namespace {

namespace fs = std::filesystem;

enum class LineStatus { kOk, kEmpty, kInvalidUtf8 };

// Allocations from this size up are mapped and unmapped individually (see mallopt below).
constexpr int kMmapThresholdBytes = 1 << 20;

// Tabs and newlines would break a TSV row.
std::string tsv_safe(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

const char* status_name(LineStatus status) {
  switch (status) {
    case LineStatus::kOk:
      return "ok";
    case LineStatus::kEmpty:
      return "empty";
    case LineStatus::kInvalidUtf8:
      return "invalid_utf8";
  }
  return "?";
}

// One chunk's lines, encoded: every line's status, and the tokens of those that are ok.
struct EncodedChunk {
  std::vector<LineStatus> status;        // per line
  std::vector<int64_t> ok_rows;          // the lines with status ok, in order
  std::vector<std::vector<int>> tokens;  // tokens[k]: the pieces of line ok_rows[k]
};

EncodedChunk encode_chunk(const SentimentCheckpoint& classifier,
                          const std::vector<std::string>& lines) {
  const int64_t n = static_cast<int64_t>(lines.size());
  EncodedChunk chunk;
  chunk.status.resize(n);
  std::vector<std::vector<int>> tokens(n);
  const int64_t max_tokens = classifier.config.data.max_tokens;
  // SentencePiece encoding is thread-safe and a large share of the time on short lines.
  at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (!is_valid_utf8(lines[i])) {
        chunk.status[i] = LineStatus::kInvalidUtf8;
      } else if (is_blank(lines[i])) {
        chunk.status[i] = LineStatus::kEmpty;
      } else {
        chunk.status[i] = LineStatus::kOk;
        tokens[i] = encode_for_classifier(classifier.tokenizer, lines[i], max_tokens);
      }
    }
  });
  for (int64_t i = 0; i < n; ++i) {
    if (chunk.status[i] != LineStatus::kOk) continue;
    chunk.ok_rows.push_back(i);
    chunk.tokens.push_back(std::move(tokens[i]));
  }
  return chunk;
}

// Class probabilities of the chunk's ok lines, (ok_rows.size(), C) row-major, computed in batches
// sorted by length.
std::vector<float> infer_chunk(SentimentCheckpoint& classifier, const EncodedChunk& chunk,
                               const SentimentPredictOptions& options) {
  const int64_t classes = classifier.labels.size();
  std::vector<float> probs(chunk.ok_rows.size() * classes);
  std::vector<int64_t> lengths;
  lengths.reserve(chunk.tokens.size());
  for (const auto& t : chunk.tokens) lengths.push_back(static_cast<int64_t>(t.size()));
  torch::NoGradGuard no_grad;
  for (const auto& batch_indices :
       plan_inference_batches(lengths, options.batch_size, options.max_batch_tokens)) {
    const auto batch = make_batch(chunk.tokens, batch_indices, classifier.tokenizer.pad_id());
    const auto p =
        torch::softmax(classifier.model->forward(batch.tokens.to(options.device), batch.lengths),
                       /*dim=*/1)
            .to(torch::kCPU, torch::kFloat32)
            .contiguous();
    const float* data = p.data_ptr<float>();
    for (size_t b = 0; b < batch_indices.size(); ++b) {
      std::memcpy(&probs[batch_indices[b] * classes], data + b * classes, sizeof(float) * classes);
    }
  }
  return probs;
}

// What every row of one input shares: its file field and the label fields, escaped for the
// format.
struct RowContext {
  std::string file_field;
  std::vector<std::string> label_fields;
};

RowContext row_context(const SentimentCheckpoint& classifier, const std::string& source,
                       bool jsonl) {
  RowContext context;
  context.file_field = jsonl ? nlohmann::json(source).dump() : tsv_safe(source);
  for (const auto& label : classifier.labels.labels()) {
    context.label_fields.push_back(jsonl ? nlohmann::json(label).dump() : tsv_safe(label));
  }
  return context;
}

// Appends one JSONL row; `probs` is null for a line that was not classified.
void append_jsonl_row(std::string& text, const RowContext& context, int64_t line, LineStatus status,
                      const float* probs, int64_t best) {
  char number[64];
  text += "{\"file\":";
  text += context.file_field;
  std::snprintf(number, sizeof number, ",\"line\":%lld,\"status\":\"",
                static_cast<long long>(line));
  text += number;
  text += status_name(status);
  text += "\",\"label\":";
  if (probs == nullptr) {
    text += "null,\"probs\":null}\n";
    return;
  }
  text += context.label_fields[best];
  text += ",\"probs\":{";
  for (size_t c = 0; c < context.label_fields.size(); ++c) {
    if (c > 0) text += ',';
    text += context.label_fields[c];
    std::snprintf(number, sizeof number, ":%.6f", probs[c]);
    text += number;
  }
  text += "}}\n";
}

// Appends one TSV row; `probs` is null for a line that was not classified.
void append_tsv_row(std::string& text, const RowContext& context, int64_t line, LineStatus status,
                    const float* probs, int64_t best) {
  char number[64];
  text += context.file_field;
  std::snprintf(number, sizeof number, "\t%lld\t", static_cast<long long>(line));
  text += number;
  text += status_name(status);
  text += '\t';
  if (probs == nullptr) {
    text.append(context.label_fields.size(), '\t');
    text += '\n';
    return;
  }
  text += context.label_fields[best];
  for (size_t c = 0; c < context.label_fields.size(); ++c) {
    std::snprintf(number, sizeof number, "\t%.6f", probs[c]);
    text += number;
  }
  text += '\n';
}

// Writes the chunk's rows, in input order, to `out`, which is `destination` in errors.
void write_rows(const SentimentCheckpoint& classifier, const EncodedChunk& chunk,
                const std::vector<float>& probs, int64_t first_line, const std::string& source,
                std::ostream& out, PredictFormat format, const std::string& destination) {
  const int64_t n = static_cast<int64_t>(chunk.status.size());
  const int64_t classes = classifier.labels.size();
  const bool jsonl = format == PredictFormat::kJsonl;
  const RowContext context = row_context(classifier, source, jsonl);
  std::string text;
  text.reserve(static_cast<size_t>(n) * (48 + 12 * classes));
  size_t k = 0;  // the next ok line
  for (int64_t i = 0; i < n; ++i) {
    const float* p = nullptr;
    int64_t best = 0;
    if (k < chunk.ok_rows.size() && chunk.ok_rows[k] == i) {
      p = &probs[k * classes];
      for (int64_t c = 1; c < classes; ++c) {
        if (p[c] > p[best]) best = c;
      }
      ++k;
    }
    if (jsonl) {
      append_jsonl_row(text, context, first_line + i, chunk.status[i], p, best);
    } else {
      append_tsv_row(text, context, first_line + i, chunk.status[i], p, best);
    }
  }
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) {
    const int err = errno;
    throw InputError((destination == "-" ? std::string("standard output") : destination) +
                     ": cannot write the predictions (" +
                     (err == ENOSPC || err == EIO || err == EPIPE || err == EDQUOT
                          ? std::string(std::strerror(err))
                          : std::string("disk full or closed output?")) +
                     ")");
  }
}

// Classifies one chunk of lines and writes its rows in order.
void process_chunk(SentimentCheckpoint& classifier, const std::vector<std::string>& lines,
                   int64_t first_line, const std::string& source, std::ostream& out,
                   const SentimentPredictOptions& options, PredictSummary& summary) {
  const EncodedChunk chunk = encode_chunk(classifier, lines);
  const std::vector<float> probs = infer_chunk(classifier, chunk, options);
  write_rows(classifier, chunk, probs, first_line, source, out, options.format, options.output);
  summary.lines += static_cast<int64_t>(lines.size());
  for (const LineStatus status : chunk.status) {
    if (status == LineStatus::kOk) ++summary.classified;
    if (status == LineStatus::kEmpty) ++summary.empty;
    if (status == LineStatus::kInvalidUtf8) ++summary.invalid_utf8;
  }
}

}  // namespace

PredictFormat parse_predict_format(const std::string& name) {
  if (name == "tsv") return PredictFormat::kTsv;
  if (name == "jsonl") return PredictFormat::kJsonl;
  throw InputError("--format must be tsv or jsonl, got '" + name + "'");
}

std::string predict_header(const SentimentCheckpoint& classifier, PredictFormat format) {
  if (format == PredictFormat::kJsonl) return "";
  std::string header = "file\tline\tstatus\tlabel";
  for (const auto& label : classifier.labels.labels()) header += "\tp_" + tsv_safe(label);
  return header + "\n";
}

void predict_stream(SentimentCheckpoint& classifier, std::istream& in, const std::string& source,
                    std::ostream& out, const SentimentPredictOptions& options,
                    PredictSummary& summary) {
  TORCH_CHECK(options.chunk_lines > 0, "chunk_lines must be positive");
  LineReader reader(in, static_cast<size_t>(options.max_line_bytes));
  std::vector<std::string> lines;
  lines.reserve(static_cast<size_t>(options.chunk_lines));
  int64_t next_line = 1;
  int64_t chunk_bytes = 0;
  std::string line;
  bool truncated = false;
  bool first = true;
  auto flush = [&] {
    if (lines.empty()) return;
    process_chunk(classifier, lines, next_line, source, out, options, summary);
    next_line += static_cast<int64_t>(lines.size());
    lines.clear();
    chunk_bytes = 0;
    if (const int signal = signals::stop_signal(); signal != 0) {
      throw signals::Interrupted(
          signal,
          "interrupted by " + signals::signal_name(signal) + " after " +
              std::to_string(summary.lines) + " lines" +
              (options.output == "-" ? std::string() : "; " + options.output + " was not written"));
    }
  };
  while (reader.next(line, truncated)) {
    if (first && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    first = false;
    if (truncated) ++summary.truncated;
    chunk_bytes += static_cast<int64_t>(line.size());
    lines.push_back(std::move(line));
    line = std::string();
    if (static_cast<int64_t>(lines.size()) >= options.chunk_lines ||
        chunk_bytes >= options.chunk_bytes) {
      flush();
    }
  }
  flush();
}

PredictSummary run_sentiment_predict(const SentimentPredictOptions& options, std::ostream& log) {
  if (options.inputs.empty()) throw InputError("predict needs at least one --input");
  if (options.batch_size <= 0 || options.chunk_lines <= 0 || options.max_line_bytes <= 0) {
    throw InputError("--batch-size, --chunk-lines and --max-line-bytes must be positive");
  }
  for (const auto& input : options.inputs) {
    if (input == "-") continue;
    if (!fs::is_regular_file(input) && !fs::exists(input)) {
      throw InputError(input + ": no such file");
    }
    if (fs::is_directory(input)) throw InputError(input + ": is a directory, expected a file");
  }
  refuse_output_over_inputs(options.output, options.inputs);
#if defined(__GLIBC__)
  // Batches of varying shape make activation buffers of many sizes; once glibc's dynamic mmap
  // threshold has grown past them they fragment the heap and peak memory creeps up with the
  // input's length. A fixed threshold returns every large buffer to the system when freed.
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
#endif
  auto classifier = SentimentCheckpoint::load(options.checkpoint, options.device);

  // Rows go to a temporary file renamed over the output at the end: a failed or interrupted run
  // leaves no half-written output (and the temporary file is removed).
  signals::StopOnSignal stop_on_signal;
  if (options.output == "-") std::ios::sync_with_stdio(false);
  AtomicOutput output(options.output);
  std::ostream* out = &output.stream();
  PredictSummary summary;
  const auto start = std::chrono::steady_clock::now();
  *out << predict_header(classifier, options.format);
  for (const auto& input : options.inputs) {
    if (input == "-") {
      predict_stream(classifier, std::cin, "-", *out, options, summary);
      continue;
    }
    std::ifstream in(input, std::ios::binary);
    if (!in) throw InputError(input + ": cannot open file");
    predict_stream(classifier, in, input, *out, options, summary);
  }
  output.commit();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.sentences_per_s = summary.lines / std::max(summary.seconds, 1e-9);
  char text[512];
  std::snprintf(text, sizeof text,
                "predict: %lld lines (%lld classified, %lld empty, %lld invalid UTF-8, %lld "
                "truncated) in %.2f s, %.0f sentences/s\n",
                static_cast<long long>(summary.lines), static_cast<long long>(summary.classified),
                static_cast<long long>(summary.empty), static_cast<long long>(summary.invalid_utf8),
                static_cast<long long>(summary.truncated), summary.seconds,
                summary.sentences_per_s);
  log << text;
  return summary;
}

}  // namespace lstmnlp::sentiment
