#include "datasets/squad.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"

namespace lstmnlp {
namespace {

using nlohmann::json;

// Bad records are collected, so that one error message can say how many there are.
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void add(const std::string& path, const std::string& message) {
    if (first_.size() < kShown) first_.push_back(path + ": " + message);
    ++count_;
  }
  void throw_if_any() const {
    if (count_ == 0) return;
    std::string text = file_ + ": " + first_[0];
    for (size_t i = 1; i < first_.size(); ++i) text += "; " + first_[i];
    if (count_ > static_cast<int64_t>(first_.size())) {
      text += "; and " + std::to_string(count_ - static_cast<int64_t>(first_.size())) +
              " more bad records";
    }
    throw InputError(text);
  }

 private:
  static constexpr size_t kShown = 3;  // problems spelled out in the message
  std::string file_;
  std::vector<std::string> first_;
  int64_t count_ = 0;
};

// The member `key` of `object` (at `path`) with the expected type, or null after a problem.
const json* member(const json& object, const char* key, json::value_t type, const char* type_name,
                   const std::string& path, Problems& problems, bool required = true) {
  const auto it = object.find(key);
  if (it == object.end()) {
    if (required) problems.add(path + "." + key, "missing");
    return nullptr;
  }
  const bool ok = type == json::value_t::number_integer
                      ? it->is_number_integer()
                      : (type == json::value_t::boolean ? it->is_boolean() : it->type() == type);
  if (!ok) {
    problems.add(path + "." + key, std::string("not ") + type_name);
    return nullptr;
  }
  return &*it;
}

// Byte offset of code point `index` in UTF-8 `text`, or -1 when it is past the end.
int64_t byte_offset_of_char(const std::string& text, int64_t index) {
  int64_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == index) return static_cast<int64_t>(i);
    ++chars;
  }
  return chars == index ? static_cast<int64_t>(text.size()) : -1;
}

std::string line_and_column(const std::string& text, size_t byte) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

void read_question(const json& qa, const std::string& path, const std::string& context,
                   SquadParagraph& paragraph, SquadDataset& out, std::set<std::string>& ids,
                   Problems& problems) {
  if (!qa.is_object()) return problems.add(path, "not an object");
  SquadQuestion question;
  const json* id = member(qa, "id", json::value_t::string, "a string", path, problems);
  const json* text = member(qa, "question", json::value_t::string, "a string", path, problems);
  const json* answers = member(qa, "answers", json::value_t::array, "an array", path, problems);
  if (const json* impossible = member(qa, "is_impossible", json::value_t::boolean, "a boolean",
                                      path, problems, /*required=*/false)) {
    question.impossible = impossible->get<bool>();
  }
  if (!id || !text || !answers) return;
  question.id = id->get<std::string>();
  question.question = text->get<std::string>();
  if (!ids.insert(question.id).second) {
    return problems.add(path + ".id", "duplicate id \"" + question.id + "\"");
  }
  bool bad_answer = false;
  for (size_t a = 0; a < answers->size(); ++a) {
    const std::string answer_path = path + ".answers[" + std::to_string(a) + "]";
    const json& answer = (*answers)[a];
    if (!answer.is_object()) {
      problems.add(answer_path, "not an object");
      bad_answer = true;
      continue;
    }
    const json* answer_text =
        member(answer, "text", json::value_t::string, "a string", answer_path, problems);
    const json* start = member(answer, "answer_start", json::value_t::number_integer, "an integer",
                               answer_path, problems);
    if (!answer_text || !start) {
      bad_answer = true;
      continue;
    }
    SquadAnswer parsed;
    parsed.text = answer_text->get<std::string>();
    parsed.char_start = start->get<int64_t>();
    if (parsed.char_start < 0) {
      problems.add(answer_path + ".answer_start", "negative");
      bad_answer = true;
      continue;
    }
    const int64_t byte = byte_offset_of_char(context, parsed.char_start);
    if (byte >= 0 &&
        context.compare(static_cast<size_t>(byte), parsed.text.size(), parsed.text) == 0) {
      parsed.byte_start = byte;
    } else {
      ++out.misaligned_answers;
    }
    question.answers.push_back(std::move(parsed));
  }
  if (bad_answer) return;
  if (question.answers.empty() && !question.impossible) {
    return problems.add(path + ".answers", "empty for an answerable question");
  }
  ++out.questions;
  if (question.impossible) ++out.impossible;
  paragraph.questions.push_back(std::move(question));
}

}  // namespace

SquadDataset parse_squad(const std::string& text, const std::string& name) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(name + ":" + line_and_column(text, e.byte > 0 ? e.byte - 1 : 0) +
                     ": not valid JSON (" + e.what() + ")");
  } catch (const json::exception& e) {
    // e.g. out_of_range.406, a number too large for a double (found by fuzz_squad).
    throw InputError(name + ": not valid JSON (" + e.what() + ")");
  }
  SquadDataset out;
  out.file = name;
  Problems problems(std::filesystem::path(name).filename().string());
  if (!root.is_object()) {
    problems.add("(top level)", "not an object");
    problems.throw_if_any();
  }
  if (const json* version = member(root, "version", json::value_t::string, "a string", "version",
                                   problems, /*required=*/false)) {
    out.version = version->get<std::string>();
  }
  const json* data =
      member(root, "data", json::value_t::array, "an array", "(top level)", problems);
  std::set<std::string> ids;
  if (data) {
    for (size_t d = 0; d < data->size(); ++d) {
      const std::string article_path = "data[" + std::to_string(d) + "]";
      const json& article = (*data)[d];
      if (!article.is_object()) {
        problems.add(article_path, "not an object");
        continue;
      }
      std::string title;
      if (const json* t = member(article, "title", json::value_t::string, "a string", article_path,
                                 problems, /*required=*/false)) {
        title = t->get<std::string>();
      }
      const json* paragraphs =
          member(article, "paragraphs", json::value_t::array, "an array", article_path, problems);
      if (!paragraphs) continue;
      for (size_t p = 0; p < paragraphs->size(); ++p) {
        const std::string paragraph_path = article_path + ".paragraphs[" + std::to_string(p) + "]";
        const json& paragraph = (*paragraphs)[p];
        if (!paragraph.is_object()) {
          problems.add(paragraph_path, "not an object");
          continue;
        }
        const json* context = member(paragraph, "context", json::value_t::string, "a string",
                                     paragraph_path, problems);
        const json* qas =
            member(paragraph, "qas", json::value_t::array, "an array", paragraph_path, problems);
        if (!context || !qas) continue;
        SquadParagraph parsed;
        parsed.title = title;
        parsed.context = context->get<std::string>();
        for (size_t q = 0; q < qas->size(); ++q) {
          read_question((*qas)[q], paragraph_path + ".qas[" + std::to_string(q) + "]",
                        parsed.context, parsed, out, ids, problems);
        }
        out.paragraphs.push_back(std::move(parsed));
      }
    }
  }
  problems.throw_if_any();
  return out;
}

SquadDataset read_squad(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the SQuAD file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in && !in.eof()) throw InputError(path + ": read failed");
  return parse_squad(buffer.str(), path);
}

}  // namespace lstmnlp
