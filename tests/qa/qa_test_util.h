#pragma once

// Helpers shared by the tests of qa/: where SQuAD is, and slices of it written as SQuAD files.

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "datasets/squad.h"
#include "models/qa/qa_task.h"

namespace lstmnlp::qa::testing {

/// $LSTM_NLP_DATA/squad (default ../shared/data/squad).
inline std::string squad_dir() {
  const char* env = std::getenv("LSTM_NLP_DATA");
  return std::string(env ? env : LSTMNLP_SOURCE_DIR "/../shared/data") + "/squad";
}

/// Writes the first `questions` questions of `data` as a SQuAD file.
inline void write_slice(const SquadDataset& data, int64_t questions, const std::string& path) {
  const auto slice = first_questions(data, questions);
  nlohmann::json paragraphs = nlohmann::json::array();
  for (const auto& p : slice.paragraphs) {
    nlohmann::json qas = nlohmann::json::array();
    for (const auto& q : p.questions) {
      nlohmann::json answers = nlohmann::json::array();
      for (const auto& a : q.answers) {
        answers.push_back({{"text", a.text}, {"answer_start", a.char_start}});
      }
      qas.push_back({{"id", q.id}, {"question", q.question}, {"answers", answers}});
    }
    paragraphs.push_back({{"context", p.context}, {"qas", qas}});
  }
  nlohmann::json j = {{"version", "1.1"},
                      {"data", {{{"title", "slice"}, {"paragraphs", paragraphs}}}}};
  std::ofstream(path) << j.dump();
}

}  // namespace lstmnlp::qa::testing
