// The official SQuAD v1.1 metric: crafted cases against values computed by hand, and random
// Unicode predictions against a Python transcription of evaluate-v1.1.py's functions.

#include "models/qa/qa_metric.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/test_util.h"

namespace lstmnlp::qa {
namespace {

using test::TempDir;

SquadDataset one_question(const std::vector<std::string>& truths, const std::string& id = "q1") {
  SquadDataset data;
  data.version = "1.1";
  SquadQuestion q{id, "?", {}, false};
  for (const auto& t : truths) q.answers.push_back({t, 0, 0});
  data.paragraphs.push_back({"t", "context", {q}});
  data.questions = 1;
  return data;
}

TEST(QaMetricTest, NormalizationRemovesArticlesPunctuationAndCase) {
  EXPECT_EQ(normalize_answer("The Quick, brown fox!"), "quick brown fox");
  EXPECT_EQ(normalize_answer("an apple a day"), "apple day");
  // Only whole words are articles; punctuation goes first, so "the." is an article.
  EXPECT_EQ(normalize_answer("theater anthem the."), "theater anthem");
  EXPECT_EQ(normalize_answer("a-b"), "ab");
  EXPECT_EQ(normalize_answer("  many \t\n spaces  "), "many spaces");
}

TEST(QaMetricTest, UnicodePunctuationIsKeptAsTheOfficialScriptDoes) {
  // string.punctuation is ASCII only: guillemets and the em dash stay.
  EXPECT_EQ(normalize_answer("«Hello»—World"), "«hello»—world");
  EXPECT_EQ(exact_match_score("«Hello»", "Hello"), 0.0);
  // Non-ASCII letters are lowercased and are word characters, so "thé" is no article.
  EXPECT_EQ(normalize_answer("ÉCOLE thé"), "école thé");
}

TEST(QaMetricTest, ExactMatchAndF1ByHand) {
  EXPECT_EQ(exact_match_score("Denver Broncos", "the Denver Broncos."), 1.0);
  // 2 shared tokens: precision 2/3, recall 1, F1 = 2 * 2/3 / (5/3) = 0.8.
  EXPECT_DOUBLE_EQ(f1_score("Denver Broncos won", "Denver Broncos"), 0.8);
  // Multiset overlap: "a" is an article, "b b c" against "b c c" share b and c.
  EXPECT_DOUBLE_EQ(f1_score("b b c", "b c c"), 2.0 / 3.0);
  EXPECT_EQ(f1_score("Carolina", "Denver"), 0.0);
}

TEST(QaMetricTest, EmptyPrediction) {
  // Both normalise to "": an exact match, but no shared token, so F1 is 0 (as in the script).
  EXPECT_EQ(exact_match_score("", "the"), 1.0);
  EXPECT_EQ(f1_score("", "the"), 0.0);
  EXPECT_EQ(exact_match_score("", "Denver"), 0.0);
  EXPECT_EQ(f1_score("", "Denver"), 0.0);
}

TEST(QaMetricTest, MaximumOverSeveralGroundTruths) {
  const auto data = one_question({"Denver Broncos", "the Broncos", "Broncos won"});
  const auto score = score_predictions(data, {{"q1", "Broncos"}});
  EXPECT_DOUBLE_EQ(score.exact_match, 100.0);  // "the Broncos" -> "broncos"
  EXPECT_DOUBLE_EQ(score.f1, 100.0);
  const auto partial = score_predictions(data, {{"q1", "Denver"}});
  EXPECT_DOUBLE_EQ(partial.exact_match, 0.0);
  // Against "Denver Broncos": precision 1, recall 1/2, F1 2/3.
  EXPECT_DOUBLE_EQ(partial.f1, 100.0 * 2.0 / 3.0);
}

TEST(QaMetricTest, MissingQuestionScoresZeroAndCounts) {
  auto data = one_question({"Denver"}, "q1");
  data.paragraphs[0].questions.push_back({"q2", "?", {{"Carolina", 0, 0}}, false});
  data.questions = 2;
  const auto score = score_predictions(data, {{"q1", "denver"}});
  EXPECT_EQ(score.questions, 2);
  EXPECT_EQ(score.answered, 1);
  EXPECT_DOUBLE_EQ(score.exact_match, 50.0);
  EXPECT_DOUBLE_EQ(score.f1, 50.0);
  EXPECT_EQ(official_json(score), "{\"exact_match\": 50.0, \"f1\": 50.0}");
}

TEST(QaMetricTest, OfficialJsonWritesPythonRepr) {
  SquadScore score;
  score.exact_match = 100.0 / 3.0;
  score.f1 = 0.1;
  EXPECT_EQ(official_json(score), "{\"exact_match\": 33.333333333333336, \"f1\": 0.1}");
}

std::string python3() {
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(candidate) + " -c 'import re, string' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return candidate;
  }
  return "";
}

// The functions of the official evaluate-v1.1.py, transcribed, and its main computation.
constexpr const char* kOfficialScript = R"PY(
import json, re, string, sys
from collections import Counter

def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)
    def white_space_fix(text):
        return ' '.join(text.split())
    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)
    def lower(text):
        return text.lower()
    return white_space_fix(remove_articles(remove_punc(lower(s))))

def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1

def exact_match_score(prediction, ground_truth):
    return (normalize_answer(prediction) == normalize_answer(ground_truth))

def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)

def evaluate(dataset, predictions):
    f1 = exact_match = total = 0
    for article in dataset:
        for paragraph in article['paragraphs']:
            for qa in paragraph['qas']:
                total += 1
                if qa['id'] not in predictions:
                    continue
                ground_truths = list(map(lambda x: x['text'], qa['answers']))
                prediction = predictions[qa['id']]
                exact_match += metric_max_over_ground_truths(
                    exact_match_score, prediction, ground_truths)
                f1 += metric_max_over_ground_truths(
                    f1_score, prediction, ground_truths)
    exact_match = 100.0 * exact_match / total
    f1 = 100.0 * f1 / total
    return {'exact_match': exact_match, 'f1': f1}

with open(sys.argv[1]) as f:
    dataset = json.load(f)['data']
with open(sys.argv[2]) as f:
    predictions = json.load(f)
print(json.dumps(evaluate(dataset, predictions)))
with open(sys.argv[3], 'w') as out:
    for article in dataset:
        for paragraph in article['paragraphs']:
            for qa in paragraph['qas']:
                if qa['id'] in predictions:
                    out.write(json.dumps(normalize_answer(predictions[qa['id']])) + "\n")
)PY";

// Random text over pieces that exercise every rule: articles inside and outside words, ASCII and
// Unicode punctuation, accented capitals, combining marks, final sigma, dotted capital I,
// numerals of every kind, CJK, emoji and Unicode spaces.
std::string random_text(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {
      "a",       "an",      "the",    "The",    "THE",    "A",      "theater", "x",        "Denver",
      "broncos", " ",       " ",      " ",      "\t",     "\n",     ",",       ".",        "-",
      "'",       "\"",      "(",      "_",      "«",      "»",      "—",       "…",        "¿",
      "É",       "é",       "Ö",      "ß",      "ẞ",      "ΟΔΟΣ",   "Σ",       "İ",        "I",
      "ǅ",       "e\u0301", "\u0301", "²",      "Ⅻ",      "٣",      "½",       "東京",     "一",
      "😀",       "\u00a0",  "\u2009", "\u3000", "\u200b", "\u0085", "a\u0301", "the\u00a0"};
  std::string text;
  const int n = static_cast<int>(rng() % 8);
  for (int i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
  return text;
}

TEST(QaMetricTest, AgreesWithTheOfficialScriptOnRandomUnicode) {
  const std::string python = python3();
  if (python.empty()) GTEST_SKIP() << "python3 is not available";
  TempDir dir("qa_metric");
  std::mt19937 rng(7);
  nlohmann::json paragraphs = nlohmann::json::array();
  nlohmann::json predictions = nlohmann::json::object();
  SquadDataset data;
  data.version = "1.1";
  SquadParagraph paragraph{"t", "ctx", {}};
  std::vector<std::string> predicted_in_order;
  nlohmann::json qas = nlohmann::json::array();
  for (int q = 0; q < 600; ++q) {
    const std::string id = "q" + std::to_string(q);
    SquadQuestion question{id, "?", {}, false};
    nlohmann::json answers = nlohmann::json::array();
    const int truths = 1 + static_cast<int>(rng() % 3);
    for (int t = 0; t < truths; ++t) {
      const std::string truth = random_text(rng);
      question.answers.push_back({truth, 0, 0});
      answers.push_back({{"text", truth}, {"answer_start", 0}});
    }
    qas.push_back({{"id", id}, {"question", "?"}, {"answers", answers}});
    paragraph.questions.push_back(question);
    if (q % 10 != 9) {  // every tenth question goes unanswered
      // Half the predictions are a ground truth with noise, so that matches occur.
      std::string prediction =
          rng() % 2 ? question.answers[0].text + random_text(rng) : random_text(rng);
      predictions[id] = prediction;
      predicted_in_order.push_back(prediction);
    }
  }
  data.paragraphs.push_back(paragraph);
  data.questions = 600;
  nlohmann::json file = {
      {"version", "1.1"},
      {"data", {{{"title", "t"}, {"paragraphs", {{{"context", "ctx"}, {"qas", qas}}}}}}}};
  std::ofstream(dir / "data.json") << file.dump();
  std::ofstream(dir / "pred.json") << predictions.dump();

  const std::string out = dir / "out.txt";
  const std::string cmd = python + " - " + (dir / "data.json") + " " + (dir / "pred.json") + " " +
                          (dir / "norm.txt") + " > " + out + " << 'EOF'\n" + kOfficialScript +
                          "\nEOF";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  std::string official((std::istreambuf_iterator<char>(in)), {});
  while (!official.empty() && official.back() == '\n') official.pop_back();

  std::map<std::string, std::string> ours;
  for (const auto& [id, value] : predictions.items()) ours[id] = value.get<std::string>();
  const auto score = score_predictions(data, ours);
  EXPECT_EQ(official_json(score), official);
  const auto parsed = nlohmann::json::parse(official);
  EXPECT_NEAR(score.exact_match, parsed["exact_match"].get<double>(), 1e-9);
  EXPECT_NEAR(score.f1, parsed["f1"].get<double>(), 1e-9);

  // Every normalised string, one by one.
  std::ifstream norms(dir / "norm.txt");
  size_t k = 0;
  for (std::string line; std::getline(norms, line); ++k) {
    ASSERT_LT(k, predicted_in_order.size());
    EXPECT_EQ(normalize_answer(predicted_in_order[k]),
              nlohmann::json::parse(line).get<std::string>())
        << "prediction " << nlohmann::json(predicted_in_order[k]).dump();
  }
  EXPECT_EQ(k, predicted_in_order.size());
}

TEST(QaMetricTest, ReadPredictionsRejectsBadFiles) {
  TempDir dir("qa_pred");
  std::ofstream(dir / "array.json") << "[1, 2]";
  std::ofstream(dir / "number.json") << "{\"q1\": 3}";
  std::ofstream(dir / "broken.json") << "{\"q1\": ";
  EXPECT_NE(
      test::input_error_of([&] { read_predictions(dir / "array.json"); }).find("one JSON object"),
      std::string::npos);
  EXPECT_NE(test::input_error_of([&] { read_predictions(dir / "number.json"); }).find("q1"),
            std::string::npos);
  EXPECT_NE(
      test::input_error_of([&] { read_predictions(dir / "broken.json"); }).find("not valid JSON"),
      std::string::npos);
  EXPECT_NE(
      test::input_error_of([&] { read_predictions(dir / "missing.json"); }).find("cannot open"),
      std::string::npos);
}

}  // namespace
}  // namespace lstmnlp::qa
