#pragma once

// `lstm-sentiment predict`: labels text files line by line, in bounded memory and in order.
//
//   SentimentPredictOptions options;
//   options.checkpoint = "runs/sst2";            // run directory or .pt file
//   options.inputs = {"reviews.txt"};            // "-" reads stdin
//   options.output = "labels.tsv";               // "-" writes stdout
//   PredictSummary summary = run_sentiment_predict(options, std::cerr);
//
// Input is read in chunks of at most chunk_lines lines (and about chunk_bytes bytes); each chunk
// is tokenized, sorted by length into batches, classified, and written back in input order
// before the next chunk is read, so memory does not grow with the input. Lines longer than
// max_line_bytes are cut there (at a character boundary) and counted as truncated.
//
// Every input line gets exactly one output row, in input order, with its file and 1-based line
// number. Lines that cannot be classified are marked, never dropped:
//   status ok            label and one probability per class
//   status empty         the line is empty or only whitespace; label and probabilities are empty
//                        (TSV) or null (JSONL)
//   status invalid_utf8  the line is not valid UTF-8; label and probabilities as for empty
// A trailing '\r' is dropped, and a UTF-8 byte-order mark at the start of a file is ignored.
//
// TSV output: a header "file line status label p_<class>…" and one tab-separated row per line,
// probabilities with 6 decimals. JSONL output: one object per line,
//   {"file":"a.txt","line":3,"status":"ok","label":"1","probs":{"0":0.0213,"1":0.9787}}.
// The summary (lines, classified, empty, invalid UTF-8, truncated, sentences/s) goes to the log.

#include <torch/types.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace lstmnlp::sentiment {

struct SentimentCheckpoint;

/// The row formats of predict (see the file comment).
enum class PredictFormat { kTsv, kJsonl };

/// Parses "tsv" or "jsonl" (the --format option); throws InputError for anything else.
PredictFormat parse_predict_format(const std::string& name);

/// Options of `lstm-sentiment predict`.
struct SentimentPredictOptions {
  std::string checkpoint;                      ///< run directory or .pt file (required)
  std::vector<std::string> inputs;             ///< text files, "-" = stdin (required)
  std::string output = "-";                    ///< result file, "-" = stdout
  PredictFormat format = PredictFormat::kTsv;  ///< tsv or jsonl
  int64_t batch_size = 256;                    ///< sentences per batch
  int64_t max_batch_tokens = 32768;  ///< padded tokens per batch (bounds long-line batches)
  int64_t chunk_lines = 8192;        ///< lines per chunk
  int64_t chunk_bytes = 8 << 20;     ///< a chunk also ends once it holds this many bytes
  int64_t max_line_bytes = 1 << 20;  ///< longer lines are cut to this many bytes
  torch::Device device = torch::kCPU;
};

/// What a predict run saw.
struct PredictSummary {
  int64_t lines = 0;           ///< input lines = output rows
  int64_t classified = 0;      ///< rows with status ok
  int64_t empty = 0;           ///< rows with status empty
  int64_t invalid_utf8 = 0;    ///< rows with status invalid_utf8
  int64_t truncated = 0;       ///< lines cut at max_line_bytes (still classified)
  double seconds = 0;          ///< wall time of reading, classifying and writing
  double sentences_per_s = 0;  ///< lines / seconds
};

/// Runs predict as described in the file comment and prints the summary to `log`. Throws
/// InputError for a missing checkpoint or input file and for a bad option.
PredictSummary run_sentiment_predict(const SentimentPredictOptions& options, std::ostream& log);

/// Streams one input through a loaded classifier into `out` (rows only, no header); `source` is
/// the file name written in each row. Adds to `summary`.
void predict_stream(SentimentCheckpoint& classifier, std::istream& in, const std::string& source,
                    std::ostream& out, const SentimentPredictOptions& options,
                    PredictSummary& summary);

/// The header row that run_sentiment_predict writes before the rows of `format` ("" for jsonl,
/// which has none).
std::string predict_header(const SentimentCheckpoint& classifier, PredictFormat format);

}  // namespace lstmnlp::sentiment
