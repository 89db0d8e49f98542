// The SQuAD reader (structure checks with JSON paths) and the encoding for the reader (byte
// offsets on non-ASCII text, answer alignment, exact-match features).

#include "datasets/squad.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/squad_features.h"
#include "tests/test_util.h"

namespace lstmnlp {
namespace {

using test::input_error_of;
using test::TempDir;

// A file with one paragraph and the given questions (each: id, question, answer text).
nlohmann::json squad_json(const std::string& context,
                          const std::vector<std::array<std::string, 3>>& questions) {
  nlohmann::json qas = nlohmann::json::array();
  for (const auto& [id, question, answer] : questions) {
    // answer_start in code points, as Python counts.
    const auto byte = context.find(answer);
    int64_t chars = 0;
    for (size_t i = 0; i < byte; ++i)
      chars += (static_cast<unsigned char>(context[i]) & 0xC0) != 0x80;
    qas.push_back({{"id", id},
                   {"question", question},
                   {"answers", {{{"text", answer}, {"answer_start", chars}}}}});
  }
  return {{"version", "1.1"},
          {"data", {{{"title", "T"}, {"paragraphs", {{{"context", context}, {"qas", qas}}}}}}}};
}

TEST(SquadReaderTest, ReadsOffsetsInCodePoints) {
  const std::string context = "Zürich liegt am Zürichsee. 東京は日本の首都です 😀 Tokyo.";
  const auto data = parse_squad(
      squad_json(context,
                 {{"a", "Where?", "Zürichsee"}, {"b", "What?", "東京"}, {"c", "Which?", "Tokyo"}})
          .dump(),
      "t.json");
  ASSERT_EQ(data.questions, 3);
  EXPECT_EQ(data.misaligned_answers, 0);
  for (const auto& q : data.paragraphs[0].questions) {
    const auto& a = q.answers[0];
    ASSERT_GE(a.byte_start, 0);
    EXPECT_EQ(context.substr(static_cast<size_t>(a.byte_start), a.text.size()), a.text);
  }
  // "Tokyo" comes after 4-byte and 3-byte characters: code points and bytes differ.
  const auto& tokyo = data.paragraphs[0].questions[2].answers[0];
  EXPECT_LT(tokyo.char_start, tokyo.byte_start);
}

TEST(SquadReaderTest, CountsMisalignedAnswers) {
  auto j = squad_json("Denver Broncos won.", {{"a", "Who?", "Broncos"}});
  j["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 2;
  const auto data = parse_squad(j.dump(), "t.json");
  EXPECT_EQ(data.misaligned_answers, 1);
  EXPECT_EQ(data.paragraphs[0].questions[0].answers[0].byte_start, -1);
}

TEST(SquadReaderTest, RejectsBadRecordsByTheirPath) {
  auto j = squad_json("Denver Broncos won.", {{"a", "Who?", "Broncos"}, {"b", "Who?", "won"}});
  j["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] = "7";
  EXPECT_EQ(input_error_of([&] { parse_squad(j.dump(), "dev.json"); }),
            "dev.json: data[0].paragraphs[0].qas[1].answers[0].answer_start: not an integer");

  auto missing = squad_json("Denver Broncos won.", {{"a", "Who?", "Broncos"}});
  missing["data"][0]["paragraphs"][0]["qas"][0].erase("question");
  EXPECT_EQ(input_error_of([&] { parse_squad(missing.dump(), "dev.json"); }),
            "dev.json: data[0].paragraphs[0].qas[0].question: missing");

  auto no_data = nlohmann::json{{"version", "1.1"}};
  EXPECT_EQ(input_error_of([&] { parse_squad(no_data.dump(), "dev.json"); }),
            "dev.json: (top level).data: missing");

  auto duplicate = squad_json("Denver Broncos won.", {{"a", "Who?", "Broncos"}, {"a", "?", "won"}});
  EXPECT_NE(input_error_of([&] { parse_squad(duplicate.dump(), "dev.json"); }).find("duplicate id"),
            std::string::npos);
}

TEST(SquadReaderTest, SeveralBadRecordsAreCounted) {
  auto j = squad_json(
      "abc", {{"a", "?", "a"}, {"b", "?", "b"}, {"c", "?", "c"}, {"d", "?", "a"}, {"e", "?", "b"}});
  for (int q = 0; q < 5; ++q) j["data"][0]["paragraphs"][0]["qas"][q]["id"] = q;
  const auto message = input_error_of([&] { parse_squad(j.dump(), "x.json"); });
  EXPECT_NE(message.find("qas[0].id: not a string"), std::string::npos) << message;
  EXPECT_NE(message.find("and 2 more bad records"), std::string::npos) << message;
}

TEST(SquadReaderTest, MalformedJsonNamesLineAndColumn) {
  const auto message =
      input_error_of([] { parse_squad("{\"data\": [\n  {\"title\": }\n]}", "x.json"); });
  EXPECT_EQ(message.rfind("x.json:2:", 0), 0u) << message;
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;
  TempDir dir("squad_dir");
  EXPECT_NE(input_error_of([&] { read_squad(dir.path().string()); }).find("is a directory"),
            std::string::npos);
  EXPECT_NE(input_error_of([&] { read_squad(dir / "none.json"); }).find("cannot open"),
            std::string::npos);
}

// Found by fuzz_squad: a number too large for a double is nlohmann's out_of_range.406, not a
// parse_error, and escaped the reader as "internal error".
TEST(SquadReaderTest, ANumberTooLargeIsInvalidJson) {
  const auto message =
      input_error_of([] { parse_squad("{\"version\": 56666666666E666666666666}", "x.json"); });
  EXPECT_EQ(message.rfind("x.json: not valid JSON (", 0), 0u) << message;
}

TEST(SquadReaderTest, KeepsV2UnanswerableQuestionsMarked) {
  auto j = squad_json("Denver Broncos won.", {{"a", "Who?", "Broncos"}});
  j["version"] = "v2.0";
  j["data"][0]["paragraphs"][0]["qas"].push_back({{"id", "b"},
                                                  {"question", "Why?"},
                                                  {"answers", nlohmann::json::array()},
                                                  {"is_impossible", true}});
  const auto data = parse_squad(j.dump(), "v2.json");
  EXPECT_EQ(data.questions, 2);
  EXPECT_EQ(data.impossible, 1);
}

class SquadEncodingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("squad_spm");
    {
      std::ofstream out(*dir_ / "text.txt");
      for (int i = 0; i < 30; ++i) {
        out << "Zürich liegt am Zürichsee, sagte François.\n"
            << "東京は日本の首都です。 The café serves crème brûlée 😀 daily.\n"
            << "Denver Broncos won Super Bowl 50 in 2016 at Levi's Stadium.\n";
      }
    }
    TokenizerTrainOptions options;
    options.input_files = {*dir_ / "text.txt"};
    options.model_prefix = *dir_ / "spm";
    options.vocab_size = 60;
    options.character_coverage = 1.0;
    tokenizer_ = new SentencePieceTokenizer(SentencePieceTokenizer::train(options));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete dir_;
  }
  static TempDir* dir_;
  static SentencePieceTokenizer* tokenizer_;
};

TempDir* SquadEncodingTest::dir_ = nullptr;
SentencePieceTokenizer* SquadEncodingTest::tokenizer_ = nullptr;

TEST_F(SquadEncodingTest, AlignedAnswersReproduceTheirTextByteForByte) {
  const std::string context =
      "Zürich liegt am Zürichsee, sagte François. 東京は日本の首都です。 The café serves crème "
      "brûlée 😀 daily. Denver Broncos won Super Bowl 50 in 2016 at Levi's Stadium.";
  const std::vector<std::array<std::string, 3>> questions = {
      {"1", "Where is Zürich?", "Zürichsee"},
      {"2", "Who said it?", "François"},
      {"3", "What does it serve?", "crème brûlée 😀"},
      {"4", "Capital?", "東京"},
      {"5", "Who won?", "Denver Broncos"},
      {"6", "When?", "2016"},
      {"7", "Where?", "Levi's Stadium"}};
  const auto data = parse_squad(squad_json(context, questions).dump(), "t.json");
  const auto encoded = encode_squad(data, *tokenizer_);
  ASSERT_EQ(encoded.questions.size(), questions.size());
  const auto& c = encoded.contexts[0];
  // Piece spans are in order and inside the text.
  for (size_t t = 0; t < c.ids.size(); ++t) {
    EXPECT_LE(c.begin[t], c.end[t]);
    EXPECT_LE(c.end[t], static_cast<int32_t>(context.size()));
    if (t > 0) {
      EXPECT_LE(c.end[t - 1], c.begin[t]);
    }
  }
  int64_t aligned = 0;
  for (size_t q = 0; q < questions.size(); ++q) {
    const auto& question = encoded.questions[q];
    ASSERT_GE(question.answer_start, 0);
    const auto text =
        answer_text(encoded, static_cast<int64_t>(q), question.answer_start, question.answer_end);
    const auto& truth = questions[q][2];
    if (c.begin[question.answer_start] == static_cast<int32_t>(context.find(truth)) &&
        c.end[question.answer_end] == static_cast<int32_t>(context.find(truth) + truth.size())) {
      EXPECT_EQ(text, truth);
      ++aligned;
    } else {
      // Not on piece boundaries: the covering pieces contain the answer.
      EXPECT_NE(text.find(truth), std::string::npos) << text;
    }
  }
  EXPECT_EQ(aligned, static_cast<int64_t>(questions.size()) - encoded.stats.unaligned);
  EXPECT_GE(aligned, 5) << "most answers should start and end on piece boundaries";
}

TEST_F(SquadEncodingTest, FeaturesMarkQuestionWordsInTheContext) {
  const std::string context = "Denver Broncos won Super Bowl 50 in 2016.";
  const auto data =
      parse_squad(squad_json(context, {{"1", "Who won in denver?", "Broncos"}}).dump(), "t.json");
  const auto encoded = encode_squad(data, *tokenizer_);
  const auto batch = make_qa_batch(encoded, {0}, tokenizer_->pad_id(), 0);
  const auto& c = encoded.contexts[0];
  for (size_t t = 0; t < c.ids.size(); ++t) {
    const std::string word = context.substr(c.begin[t], c.end[t] - c.begin[t]);
    const auto f = batch.features[static_cast<int64_t>(t)][0];
    if (word.rfind("won", 0) == 0) {
      EXPECT_EQ(f[0].item<float>(), 1.0f) << word;  // same form
    }
    if (word.rfind("Den", 0) == 0) {
      EXPECT_EQ(f[0].item<float>(), 0.0f) << word;  // "denver" differs in case
      EXPECT_EQ(f[1].item<float>(), 1.0f) << word;  // but matches lowercased
    }
    if (word.rfind("Super", 0) == 0) {
      EXPECT_EQ(f[1].item<float>(), 0.0f) << word;
    }
    EXPECT_GT(f[3].item<float>(), 0.0f);  // term frequency
  }
  EXPECT_EQ(batch.context_lengths[0].item<int64_t>(), static_cast<int64_t>(c.ids.size()));
  EXPECT_EQ(batch.start[0].item<int64_t>(), encoded.questions[0].answer_start);
  // Cut to one piece, the answer is out of range and has no target.
  const auto cut = make_qa_batch(encoded, {0}, tokenizer_->pad_id(), 1);
  EXPECT_EQ(cut.context.size(0), 1);
  EXPECT_EQ(cut.start[0].item<int64_t>(), -1);
}

TEST(SquadFeaturesTest, SentenceSpans) {
  const std::string text = "One. Two! Three? Four 4.5 five";
  const auto spans = sentence_spans(text);
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(text.substr(spans[0].first, spans[0].second - spans[0].first), "One.");
  EXPECT_EQ(text.substr(spans[3].first, spans[3].second - spans[3].first), "Four 4.5 five");
}

}  // namespace
}  // namespace lstmnlp
