// lstm-qa's SQuAD JSON reader, the official metric's normalisation, and the predictions reader
// of `lstm-qa eval`.
//
// Input: one byte choosing the reader, then the JSON. A dataset that is read must score a
// perfect EM and F1 when every question is answered with its own first answer.

#include "datasets/squad.h"
#include "fuzz/fuzz_util.h"
#include "models/qa/qa_metric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lstmnlp;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    const std::string path = fuzz::write_scratch("predictions.json", body);
    fuzz::refuse_or_accept([&] { qa::read_predictions(path); });
    return 0;
  }
  fuzz::refuse_or_accept([&] {
    const SquadDataset dataset = parse_squad(body, "fuzz.json");
    std::map<std::string, std::string> own;
    bool all_answered = true;
    int64_t questions = 0;
    for (const auto& paragraph : dataset.paragraphs) {
      for (const auto& q : paragraph.questions) {
        ++questions;
        all_answered &= !q.answers.empty();
        if (!q.answers.empty()) own[q.id] = q.answers.front().text;
        for (const auto& a : q.answers) {
          fuzz::require(qa::exact_match_score(a.text, a.text) == 1.0, "an answer matches itself");
          fuzz::require(qa::f1_score(a.text, a.text) == 1.0, "an answer has F1 1 with itself");
        }
      }
    }
    fuzz::require(questions == dataset.questions, "questions counted");
    const auto score = qa::score_predictions(dataset, own);
    if (all_answered && own.size() == static_cast<size_t>(questions) && questions > 0) {
      fuzz::require(score.exact_match == 100.0 && score.f1 == 100.0,
                    "answering with the first answer scores 100");
    }
  });
  return 0;
}
