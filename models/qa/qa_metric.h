#pragma once

// The official SQuAD v1.1 metric (evaluate-v1.1.py), reimplemented exactly:
//
//   SquadScore score = score_predictions(read_squad("dev-v1.1.json"), predictions);
//   std::cout << official_json(score) << "\n";   // {"exact_match": 67.1, "f1": 76.9}
//
// Normalisation, in the script's order: Python's str.lower() (full Unicode lowercasing, through
// ICU), removal of the 32 ASCII characters of Python's string.punctuation (other punctuation
// stays), removal of the whole words a, an and the (re's Unicode \b), and whitespace collapsed
// as str.split() does. EM and F1 (multiset overlap of the normalised tokens) take the maximum
// over a question's ground truths; both are means over every question of the data file, x100,
// where a question without a prediction scores 0. Sums run in the file's order, as the script's
// do, so the figures agree with it to the last bit.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/squad.h"

namespace lstmnlp::qa {

/// The official normalize_answer(): lowercase, drop ASCII punctuation, drop articles, collapse
/// whitespace. `text` is UTF-8 (invalid bytes read as U+FFFD).
std::string normalize_answer(std::string_view text);

/// The tokens of normalize_answer(text), split on whitespace.
std::vector<std::string> normalized_tokens(std::string_view text);

/// 1 when the normalised strings are equal, else 0.
double exact_match_score(std::string_view prediction, std::string_view truth);

/// Token F1 of the normalised strings (0 when they share no token, even if both are empty).
double f1_score(std::string_view prediction, std::string_view truth);

/// The corpus-level figures.
struct SquadScore {
  double exact_match = 0;  ///< x100, over every question of the data file
  double f1 = 0;           ///< x100, over every question of the data file
  int64_t questions = 0;   ///< questions in the data file
  int64_t answered = 0;    ///< questions that had a prediction
};

/// Each question's best EM (0 or 1) and F1 (in [0, 1]) over its ground truths, in the file's
/// order; 0 for a question without a prediction.
struct QuestionScores {
  std::vector<double> exact;
  std::vector<double> f1;
  std::vector<double> answered;  ///< 1 where the question had a prediction
};

/// The per-question scores of `predictions` (question id -> answer text) on `data`.
QuestionScores score_questions(const SquadDataset& data,
                               const std::map<std::string, std::string>& predictions);

/// The corpus figures of per-question scores, summed in order as evaluate-v1.1.py sums them.
SquadScore total_score(const QuestionScores& scores);

/// Scores `predictions` (question id -> answer text) against every question of `data`, as
/// evaluate-v1.1.py does: total_score(score_questions(data, predictions)).
SquadScore score_predictions(const SquadDataset& data,
                             const std::map<std::string, std::string>& predictions);

/// The line evaluate-v1.1.py prints: {"exact_match": X, "f1": Y}, each number as Python's repr()
/// writes it (shortest round-trip form).
std::string official_json(const SquadScore& score);

/// Reads a predictions file: one JSON object mapping question ids to answer strings. Throws
/// InputError naming the file and the offending id.
std::map<std::string, std::string> read_predictions(const std::string& path);

}  // namespace lstmnlp::qa
