#include "datasets/labelled_text.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::ifstream open_input(const std::string& path) {
  if (fs::is_directory(path)) throw InputError(path + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file");
  return in;
}

// Reads one line without its '\n' or '\r\n'; drops a UTF-8 byte-order mark on line 1.
bool next_line(std::istream& in, std::string& line, int64_t& number) {
  if (!std::getline(in, line)) return false;
  ++number;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  return true;
}

void check_utf8(const std::string& line, const std::string& path, int64_t number) {
  if (!is_valid_utf8(line)) throw InputError(at_location(path, number, "invalid UTF-8"));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "'" : ", '") + item + "'";
  return out;
}

void add_example(std::vector<LabeledExample>& out, ReadStats& stats, std::string text,
                 std::string label, const std::string& path, int64_t number) {
  if (is_blank(text)) {
    ++stats.empty_texts;
    return;
  }
  if (is_blank(label)) throw InputError(at_location(path, number, "empty label"));
  out.push_back({std::move(text), std::move(label), path, number});
}

std::vector<LabeledExample> read_delimited(const std::string& path, char delimiter,
                                           const LabeledDataFormat& format, ReadStats& stats) {
  auto in = open_input(path);
  std::string line;
  int64_t number = 0;
  if (!next_line(in, line, number) || is_blank(line)) {
    throw InputError(at_location(path, 1, "empty file (expected a header row)"));
  }
  check_utf8(line, path, number);
  const auto header = split_record(line, delimiter, path, number);
  auto column = [&](const std::string& name, const char* key) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      throw InputError(at_location(path, 1,
                                   std::string("missing ") + key + " column '" + name +
                                       "' (header has " + join(header) + ")"));
    }
    return static_cast<size_t>(it - header.begin());
  };
  const size_t text_col = column(format.text_column, "text");
  const size_t label_col = column(format.label_column, "label");

  std::vector<LabeledExample> out;
  while (next_line(in, line, number)) {
    if (line.empty()) continue;  // a trailing blank line is not a record
    check_utf8(line, path, number);
    auto fields = split_record(line, delimiter, path, number);
    if (fields.size() != header.size()) {
      throw InputError(at_location(path, number,
                                   "ragged row: " + std::to_string(fields.size()) +
                                       " fields, the header has " + std::to_string(header.size())));
    }
    add_example(out, stats, std::move(fields[text_col]), std::move(fields[label_col]), path,
                number);
  }
  if (out.empty()) throw InputError(at_location(path, number, "no examples after the header"));
  return out;
}

std::vector<LabeledExample> read_jsonl(const std::string& path, const LabeledDataFormat& format,
                                       ReadStats& stats) {
  auto in = open_input(path);
  std::string line;
  int64_t number = 0;
  std::vector<LabeledExample> out;
  while (next_line(in, line, number)) {
    if (is_blank(line)) continue;
    check_utf8(line, path, number);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(at_location(path, number, std::string("invalid JSON: ") + e.what()));
    }
    if (!record.is_object()) throw InputError(at_location(path, number, "expected a JSON object"));
    auto field = [&](const std::string& name, const char* key) {
      const auto it = record.find(name);
      if (it == record.end()) {
        throw InputError(
            at_location(path, number, std::string("missing ") + key + " field '" + name + "'"));
      }
      return *it;
    };
    const auto text = field(format.text_column, "text");
    const auto label = field(format.label_column, "label");
    if (!text.is_string()) {
      throw InputError(
          at_location(path, number, "field '" + format.text_column + "' must be a string"));
    }
    std::string label_text;
    if (label.is_string()) {
      label_text = label.get<std::string>();
    } else if (label.is_number_integer() || label.is_boolean()) {
      label_text = label.dump();
    } else {
      throw InputError(at_location(
          path, number, "field '" + format.label_column + "' must be a string or an integer"));
    }
    add_example(out, stats, text.get<std::string>(), std::move(label_text), path, number);
  }
  if (number == 0) throw InputError(at_location(path, 1, "empty file"));
  if (out.empty()) throw InputError(at_location(path, number, "no examples"));
  return out;
}

std::vector<LabeledExample> read_class_files(const std::string& dir, ReadStats& stats) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && !name.empty() && name[0] != '.') files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.size() < 2) {
    throw InputError(dir + ": expected one text file per class (at least 2), found " +
                     std::to_string(files.size()));
  }
  std::vector<LabeledExample> out;
  for (const auto& file : files) {
    const std::string path = file.string();
    const std::string label = file.stem().string();
    auto in = open_input(path);
    std::string line;
    int64_t number = 0;
    const size_t before = out.size();
    while (next_line(in, line, number)) {
      check_utf8(line, path, number);
      add_example(out, stats, line, label, path, number);
    }
    if (out.size() == before) throw InputError(at_location(path, 1, "empty file (no examples)"));
  }
  return out;
}

bool all_integers(const std::vector<std::string>& labels) {
  for (const auto& label : labels) {
    if (label.empty() || label.size() > 18) return false;
    for (size_t i = 0; i < label.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(label[i])) && !(i == 0 && label[i] == '-')) {
        return false;
      }
    }
    if (label == "-") return false;
  }
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;  // truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

std::vector<std::string> split_record(std::string_view line, char delimiter,
                                      const std::string& source, int64_t line_number) {
  std::vector<std::string> fields;
  if (delimiter == '\t') {
    size_t start = 0;
    while (true) {
      const size_t tab = line.find('\t', start);
      fields.emplace_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    return fields;
  }
  // RFC 4180 quoting within one line: "a, b" and "" for a literal quote.
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"' && (field.empty() && !was_quoted)) {
      quoted = true;
      was_quoted = true;
    } else if (c == delimiter) {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  if (quoted) {
    throw InputError(at_location(source, static_cast<int>(line_number),
                                 "unterminated quoted field (records must stay on one line)"));
  }
  fields.push_back(std::move(field));
  return fields;
}

std::string resolve_data_format(const std::string& path, const std::string& format) {
  if (format != "auto") {
    if (format == "tsv" || format == "csv" || format == "jsonl" || format == "class_files") {
      return format;
    }
    throw InputError("unknown data format '" + format +
                     "' (expected auto, tsv, csv, jsonl or class_files)");
  }
  if (fs::is_directory(path)) return "class_files";
  const std::string ext = lower(fs::path(path).extension().string());
  if (ext == ".tsv" || ext == ".tab") return "tsv";
  if (ext == ".csv") return "csv";
  if (ext == ".jsonl" || ext == ".ndjson") return "jsonl";
  throw InputError(path + ": cannot tell the format from the extension '" + ext +
                   "'; set data.format to tsv, csv, jsonl or class_files");
}

std::vector<LabeledExample> read_labeled_data(const std::string& path,
                                              const LabeledDataFormat& format, ReadStats* stats) {
  if (!fs::exists(path)) throw InputError(path + ": no such file or directory");
  ReadStats local;
  ReadStats& s = stats ? *stats : local;
  const std::string kind = resolve_data_format(path, format.format);
  std::vector<LabeledExample> out;
  if (kind == "tsv") {
    out = read_delimited(path, '\t', format, s);
  } else if (kind == "csv") {
    out = read_delimited(path, ',', format, s);
  } else if (kind == "jsonl") {
    out = read_jsonl(path, format, s);
  } else {
    if (!fs::is_directory(path)) {
      throw InputError(path + ": class_files expects a directory with one file per class");
    }
    out = read_class_files(path, s);
  }
  s.records = static_cast<int64_t>(out.size());
  return out;
}

LabelSet::LabelSet(std::vector<std::string> labels) : labels_(std::move(labels)) {
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (!index_.emplace(labels_[i], static_cast<int64_t>(i)).second) {
      throw InputError("duplicate label '" + labels_[i] + "'");
    }
  }
}

LabelSet LabelSet::from_examples(const std::vector<LabeledExample>& examples) {
  std::set<std::string> distinct;
  for (const auto& e : examples) distinct.insert(e.label);
  std::vector<std::string> labels(distinct.begin(), distinct.end());
  if (labels.size() < 2) {
    throw InputError((examples.empty() ? std::string("training data") : examples[0].source) +
                     ": needs at least 2 distinct labels, found " + join(labels));
  }
  if (all_integers(labels)) {
    std::sort(labels.begin(), labels.end(), [](const std::string& a, const std::string& b) {
      return std::stoll(a) < std::stoll(b);
    });
  }
  return LabelSet(std::move(labels));
}

int64_t LabelSet::index_of(const std::string& label, const std::string& source,
                           int64_t line) const {
  const auto it = index_.find(label);
  if (it == index_.end()) {
    throw InputError(at_location(
        source, static_cast<int>(line),
        "label '" + label + "' was not seen in training (known: " + join(labels_) + ")"));
  }
  return it->second;
}

}  // namespace lstmnlp
