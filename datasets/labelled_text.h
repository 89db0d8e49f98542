#pragma once

// Labelled text for sentiment classification: readers for the supported input formats and the
// label set that maps label strings to class indices.
//
//   LabeledDataFormat format;                 // TSV with columns "sentence" and "label"
//   auto train = read_labeled_data("data/sst2/train.tsv", format);
//   LabelSet labels = LabelSet::from_examples(train);
//   int64_t y = labels.index_of(train[0].label, train[0].source, train[0].line);
//
// Formats (`format` = auto picks by extension: .tsv, .csv, .jsonl/.ndjson, a directory):
//   tsv, csv     a header row naming the columns, then one record per line; the text and label
//                columns are chosen by name. CSV fields may be quoted ("a, b" and "" for a quote);
//                a record must stay on one line.
//   jsonl        one JSON object per line with a string text field and a string or integer label
//                field; blank lines are ignored.
//   class_files  a directory holding one plain-text file per class (pos.txt, neg.txt): the file's
//                name without extension is the label, each non-empty line is one example.
//
// Every reader checks that the text is valid UTF-8 and throws InputError naming file:line for a
// missing column, a ragged row, an empty file, invalid UTF-8 or a record without a label. A
// record whose text is empty (or only whitespace) is skipped and counted in ReadStats.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lstmnlp {

/// One labelled example and where it came from.
struct LabeledExample {
  std::string text;
  std::string label;
  std::string source;  ///< file it was read from
  int64_t line = 0;    ///< 1-based line in `source`
};

/// How to read a labelled file.
struct LabeledDataFormat {
  std::string format = "auto";           ///< auto, tsv, csv, jsonl or class_files
  std::string text_column = "sentence";  ///< column or JSON field holding the text
  std::string label_column = "label";    ///< column or JSON field holding the label
};

/// What a reader skipped.
struct ReadStats {
  int64_t records = 0;      ///< examples returned
  int64_t empty_texts = 0;  ///< records skipped because their text was empty
};

/// Reads labelled examples from `path` (a file, or a directory for class_files).
/// Throws InputError as described in the file comment.
std::vector<LabeledExample> read_labeled_data(const std::string& path,
                                              const LabeledDataFormat& format,
                                              ReadStats* stats = nullptr);

/// The format `format.format` resolves to for `path` ("tsv", "csv", "jsonl" or "class_files").
std::string resolve_data_format(const std::string& path, const std::string& format);

/// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// Whether `text` holds only ASCII whitespace.
bool is_blank(std::string_view text);

/// Splits one CSV (quote-aware) or TSV (plain tab-separated) record into fields. Throws
/// InputError naming `source`:`line` for an unterminated quote.
std::vector<std::string> split_record(std::string_view line, char delimiter,
                                      const std::string& source, int64_t line_number);

/// The classes of a task, in a fixed order: numerically when every label is an integer (so 0, 1
/// or 1..5 stars keep their order), otherwise lexicographically.
class LabelSet {
 public:
  LabelSet() = default;
  explicit LabelSet(std::vector<std::string> labels);

  /// The distinct labels of `examples`. Throws InputError when there are fewer than 2.
  static LabelSet from_examples(const std::vector<LabeledExample>& examples);

  /// The class index of `label`; throws InputError naming `source`:`line` for a label that was
  /// not seen in training, listing the known ones.
  int64_t index_of(const std::string& label, const std::string& source, int64_t line) const;

  const std::vector<std::string>& labels() const { return labels_; }
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  const std::string& name(int64_t index) const { return labels_.at(index); }

 private:
  std::vector<std::string> labels_;
  std::map<std::string, int64_t> index_;
};

}  // namespace lstmnlp
