#include "models/qa/qa_metric.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/error.h"

namespace lstmnlp::qa {
namespace {

// Python's string.punctuation.
constexpr std::string_view kAsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

std::u16string to_utf16(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8WithSub(nullptr, 0, &length, text.data(), static_cast<int32_t>(text.size()), 0xFFFD,
                       nullptr, &status);
  std::u16string out(static_cast<size_t>(length), u'\0');
  status = U_ZERO_ERROR;
  u_strFromUTF8WithSub(out.data(), length, nullptr, text.data(), static_cast<int32_t>(text.size()),
                       0xFFFD, nullptr, &status);
  if (U_FAILURE(status)) throw std::runtime_error("UTF-8 to UTF-16 failed");
  return out;
}

// Python's str.lower(): ICU's full lowercase mapping in the root locale (final sigma included).
std::u16string to_lower(const std::u16string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const int32_t length =
      u_strToLower(nullptr, 0, text.data(), static_cast<int32_t>(text.size()), "", &status);
  std::u16string out(static_cast<size_t>(length), u'\0');
  status = U_ZERO_ERROR;
  u_strToLower(out.data(), length, text.data(), static_cast<int32_t>(text.size()), "", &status);
  if (U_FAILURE(status)) throw std::runtime_error("lowercasing failed");
  return out;
}

std::vector<UChar32> code_points(const std::u16string& text) {
  std::vector<UChar32> out;
  out.reserve(text.size());
  for (int32_t i = 0; i < static_cast<int32_t>(text.size());) {
    UChar32 c;
    U16_NEXT(text.data(), i, static_cast<int32_t>(text.size()), c);
    out.push_back(c);
  }
  return out;
}

void append_utf8(std::string& out, UChar32 c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Python's str.isspace(), which str.split() splits on.
bool is_python_space(UChar32 c) {
  if (c < 128) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  const auto direction = u_charDirection(c);
  return direction == U_WHITE_SPACE_NEUTRAL || direction == U_BLOCK_SEPARATOR ||
         direction == U_SEGMENT_SEPARATOR || u_charType(c) == U_SPACE_SEPARATOR;
}

// A character of re's Unicode \w: str.isalnum() (letters Lu Ll Lt Lm Lo, or any numeric type)
// or the underscore. Combining marks are not word characters for re.
bool is_python_word(UChar32 c) {
  if (c == '_') return true;
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return true;
    default:
      return u_getIntPropertyValue(c, UCHAR_NUMERIC_TYPE) != U_NT_NONE;
  }
}

bool is_article(const std::vector<UChar32>& text, size_t begin, size_t end) {
  const size_t n = end - begin;
  auto at = [&](size_t k, char c) { return text[begin + k] == static_cast<UChar32>(c); };
  return (n == 1 && at(0, 'a')) || (n == 2 && at(0, 'a') && at(1, 'n')) ||
         (n == 3 && at(0, 't') && at(1, 'h') && at(2, 'e'));
}

// Lowercased code points without ASCII punctuation, with every article replaced by a space.
std::vector<UChar32> strip(std::string_view text) {
  std::vector<UChar32> chars;
  for (UChar32 c : code_points(to_lower(to_utf16(text)))) {
    if (c < 128 && kAsciiPunctuation.find(static_cast<char>(c)) != std::string_view::npos) {
      continue;
    }
    chars.push_back(c);
  }
  // re.sub(r'\b(a|an|the)\b', ' ', s) replaces exactly the maximal runs of word characters that
  // are one of the three words.
  std::vector<UChar32> out;
  out.reserve(chars.size());
  for (size_t i = 0; i < chars.size();) {
    if (!is_python_word(chars[i])) {
      out.push_back(chars[i++]);
      continue;
    }
    size_t j = i;
    while (j < chars.size() && is_python_word(chars[j])) ++j;
    if (is_article(chars, i, j)) {
      out.push_back(' ');
    } else {
      out.insert(out.end(), chars.begin() + static_cast<std::ptrdiff_t>(i),
                 chars.begin() + static_cast<std::ptrdiff_t>(j));
    }
    i = j;
  }
  return out;
}

}  // namespace

std::vector<std::string> normalized_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  bool in_token = false;
  for (UChar32 c : strip(text)) {
    if (is_python_space(c)) {
      if (in_token) tokens.push_back(std::move(current));
      current.clear();
      in_token = false;
    } else {
      append_utf8(current, c);
      in_token = true;
    }
  }
  if (in_token) tokens.push_back(std::move(current));
  return tokens;
}

std::string normalize_answer(std::string_view text) {
  std::string out;
  for (const auto& token : normalized_tokens(text)) {
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

double exact_match_score(std::string_view prediction, std::string_view truth) {
  return normalize_answer(prediction) == normalize_answer(truth) ? 1.0 : 0.0;
}

double f1_score(std::string_view prediction, std::string_view truth) {
  const auto predicted = normalized_tokens(prediction);
  const auto gold = normalized_tokens(truth);
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& t : gold) ++counts[t];
  int64_t same = 0;
  for (const auto& t : predicted) {
    auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++same;
    }
  }
  if (same == 0) return 0.0;
  // The script's own operation order, for bit-identical sums.
  const double precision = 1.0 * static_cast<double>(same) / static_cast<double>(predicted.size());
  const double recall = 1.0 * static_cast<double>(same) / static_cast<double>(gold.size());
  return (2 * precision * recall) / (precision + recall);
}

QuestionScores score_questions(const SquadDataset& data,
                               const std::map<std::string, std::string>& predictions) {
  QuestionScores scores;
  for (const auto& paragraph : data.paragraphs) {
    for (const auto& question : paragraph.questions) {
      double best_exact = 0;
      double best_f1 = 0;
      const auto it = predictions.find(question.id);
      if (it != predictions.end()) {
        bool first = true;
        for (const auto& answer : question.answers) {
          const double e = exact_match_score(it->second, answer.text);
          const double f = f1_score(it->second, answer.text);
          best_exact = first ? e : std::max(best_exact, e);
          best_f1 = first ? f : std::max(best_f1, f);
          first = false;
        }
      }
      scores.exact.push_back(best_exact);
      scores.f1.push_back(best_f1);
      scores.answered.push_back(it != predictions.end() ? 1.0 : 0.0);
    }
  }
  return scores;
}

SquadScore total_score(const QuestionScores& scores) {
  SquadScore score;
  double exact = 0;
  double f1 = 0;
  for (size_t i = 0; i < scores.exact.size(); ++i) {
    exact += scores.exact[i];
    f1 += scores.f1[i];
    score.answered += scores.answered[i] > 0 ? 1 : 0;
  }
  score.questions = static_cast<int64_t>(scores.exact.size());
  if (score.questions > 0) {
    score.exact_match = 100.0 * exact / static_cast<double>(score.questions);
    score.f1 = 100.0 * f1 / static_cast<double>(score.questions);
  }
  return score;
}

SquadScore score_predictions(const SquadDataset& data,
                             const std::map<std::string, std::string>& predictions) {
  return total_score(score_questions(data, predictions));
}

namespace {

// Python's repr() of a float: the shortest string that reads back as the same double, with
// ".0" on integral values.
std::string python_repr(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".enai") == std::string::npos) text += ".0";
  return text;
}

}  // namespace

std::string official_json(const SquadScore& score) {
  return "{\"exact_match\": " + python_repr(score.exact_match) +
         ", \"f1\": " + python_repr(score.f1) + "}";
}

std::map<std::string, std::string> read_predictions(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the predictions file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw InputError(path + ": expected one JSON object {\"id\": \"answer\"}");
  std::map<std::string, std::string> out;
  for (const auto& [id, answer] : j.items()) {
    if (!answer.is_string()) throw InputError(path + ": [\"" + id + "\"]: not a string");
    out.emplace(id, answer.get<std::string>());
  }
  return out;
}

}  // namespace lstmnlp::qa
