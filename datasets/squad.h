#pragma once

// SQuAD v1.1 and v2.0 files (Rajpurkar et al. 2016, 2018):
//
//   SquadDataset dev = read_squad("dev-v1.1.json");
//   for (const auto& paragraph : dev.paragraphs)
//     for (const auto& question : paragraph.questions)
//       for (const auto& answer : question.answers)
//         assert(paragraph.context.substr(answer.byte_start, answer.text.size()) == answer.text);
//
// The reader checks the structure and reports bad records by their JSON path, e.g.
// "dev.json: data[3].paragraphs[7].qas[2].answers[0].answer_start: not an integer". Offsets in
// the file count Unicode code points (Python's str indices); each answer also gets its byte offset
// into the UTF-8 context, or -1 when the text is not found at answer_start. v2.0's unanswerable
// questions are kept with `impossible` set, for the caller to skip.

#include <cstdint>
#include <string>
#include <vector>

namespace lstmnlp {

/// One ground-truth answer.
struct SquadAnswer {
  std::string text;
  int64_t char_start = 0;   ///< answer_start as in the file: code points into the context
  int64_t byte_start = -1;  ///< bytes into the UTF-8 context; -1 when misaligned
};

/// One question about a paragraph.
struct SquadQuestion {
  std::string id;
  std::string question;
  std::vector<SquadAnswer> answers;
  bool impossible = false;  ///< v2.0's is_impossible
};

/// A context paragraph and its questions.
struct SquadParagraph {
  std::string title;  ///< the article's title
  std::string context;
  std::vector<SquadQuestion> questions;
};

/// A whole file, paragraphs in file order.
struct SquadDataset {
  std::string file;
  std::string version;  ///< the file's "version" ("" when absent)
  std::vector<SquadParagraph> paragraphs;
  int64_t questions = 0;           ///< every question, impossible ones included
  int64_t impossible = 0;          ///< v2.0 questions marked is_impossible
  int64_t misaligned_answers = 0;  ///< answers whose text is not at answer_start
};

/// Reads a SQuAD JSON file. Throws InputError naming the file and the JSON path of the first bad
/// records (and how many there are), or the line and column of a JSON syntax error.
SquadDataset read_squad(const std::string& path);

/// Parses SQuAD JSON text; `name` is used in error messages.
SquadDataset parse_squad(const std::string& text, const std::string& name);

}  // namespace lstmnlp
