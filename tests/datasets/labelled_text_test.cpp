#include "datasets/labelled_text.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "tests/test_util.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;

class SentimentDataTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  // The message of the InputError that reading `path` throws ("" when it reads fine).
  static std::string error_of(const std::string& path, const LabeledDataFormat& format = {}) {
    try {
      read_labeled_data(path, format);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }

  const test::TempDir tmp_{"labelled_text"};
  const fs::path dir_ = tmp_.path();
};

TEST_F(SentimentDataTest, ReadsGlueTsv) {
  const auto path = write("train.tsv",
                          "sentence\tlabel\n"
                          "hide new secretions from the parental units \t0\n"
                          "that loves its characters \t1\r\n"
                          "\n");
  ReadStats stats;
  const auto examples = read_labeled_data(path, {}, &stats);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].text, "hide new secretions from the parental units ");
  EXPECT_EQ(examples[0].label, "0");
  EXPECT_EQ(examples[0].line, 2);
  EXPECT_EQ(examples[1].label, "1");  // '\r' of a CRLF line dropped
  EXPECT_EQ(examples[1].line, 3);
  EXPECT_EQ(stats.records, 2);
}

TEST_F(SentimentDataTest, ReadsQuotedCsvWithChosenColumns) {
  const auto path = write("reviews.csv",
                          "\xEF\xBB\xBFid,stars,review\n"
                          "1,5,\"Great, really \"\"great\"\" food\"\n"
                          "2,1,awful\n"
                          "3,3,\"\"\n");
  ReadStats stats;
  const auto examples = read_labeled_data(path, {"auto", "review", "stars"}, &stats);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].text, "Great, really \"great\" food");
  EXPECT_EQ(examples[0].label, "5");
  EXPECT_EQ(examples[1].text, "awful");
  EXPECT_EQ(stats.empty_texts, 1);  // line 4 has an empty text
}

TEST_F(SentimentDataTest, ReadsJsonLines) {
  const auto path = write("data.jsonl",
                          "{\"text\": \"good movie\", \"label\": \"pos\"}\n"
                          "\n"
                          "{\"text\": \"caf\\u00e9 was bad\", \"label\": 0, \"extra\": [1]}\n");
  const auto examples = read_labeled_data(path, {"auto", "text", "label"});
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].label, "pos");
  EXPECT_EQ(examples[1].text, "caf\xC3\xA9 was bad");
  EXPECT_EQ(examples[1].label, "0");
  EXPECT_EQ(examples[1].line, 3);
}

TEST_F(SentimentDataTest, ReadsOneFilePerClass) {
  write("classes/pos.txt", "a fine film\n\nwonderful\n");
  write("classes/neg.txt", "dull\n");
  const auto examples = read_labeled_data((dir_ / "classes").string(), {});
  ASSERT_EQ(examples.size(), 3u);
  EXPECT_EQ(examples[0].label, "neg");  // files in name order
  EXPECT_EQ(examples[0].text, "dull");
  EXPECT_EQ(examples[1].label, "pos");
  EXPECT_EQ(examples[2].text, "wonderful");
  EXPECT_EQ(examples[2].line, 3);
  EXPECT_EQ(resolve_data_format((dir_ / "classes").string(), "auto"), "class_files");
}

TEST_F(SentimentDataTest, MissingColumnNamesFileLineAndHeader) {
  const auto path = write("a.tsv", "text\tscore\nhello\t1\n");
  const auto message = error_of(path);
  EXPECT_NE(message.find(path + ":1:"), std::string::npos) << message;
  EXPECT_NE(message.find("'sentence'"), std::string::npos) << message;
  EXPECT_NE(message.find("'score'"), std::string::npos) << message;

  const auto jsonl =
      write("b.jsonl", "{\"sentence\": \"ok\", \"label\": 1}\n{\"sentence\": \"x\"}\n");
  const auto json_message = error_of(jsonl);
  EXPECT_NE(json_message.find(jsonl + ":2:"), std::string::npos) << json_message;
  EXPECT_NE(json_message.find("label"), std::string::npos) << json_message;
}

TEST_F(SentimentDataTest, RaggedRowNamesItsLine) {
  const auto path = write("a.tsv", "sentence\tlabel\ngood\t1\nbad\t0\textra\n");
  const auto message = error_of(path);
  EXPECT_NE(message.find(path + ":3:"), std::string::npos) << message;
  EXPECT_NE(message.find("ragged"), std::string::npos) << message;

  const auto csv = write("b.csv", "sentence,label\n\"unterminated,1\n");
  EXPECT_NE(error_of(csv).find(csv + ":2:"), std::string::npos) << error_of(csv);
}

TEST_F(SentimentDataTest, EmptyFilesAreErrors) {
  const auto empty = write("empty.tsv", "");
  EXPECT_NE(error_of(empty).find(empty + ":1: empty file"), std::string::npos) << error_of(empty);
  const auto header_only = write("header.tsv", "sentence\tlabel\n");
  EXPECT_NE(error_of(header_only).find("no examples"), std::string::npos);
  const auto jsonl = write("empty.jsonl", "");
  EXPECT_NE(error_of(jsonl).find("empty file"), std::string::npos);
  write("classes/pos.txt", "good\n");
  write("classes/neg.txt", "\n");
  const auto message = error_of((dir_ / "classes").string());
  EXPECT_NE(message.find("neg.txt:1: empty file"), std::string::npos) << message;
}

TEST_F(SentimentDataTest, InvalidUtf8NamesItsLine) {
  const auto path = write("a.tsv", "sentence\tlabel\ngood\t1\nbad \xC3\x28 byte\t0\n");
  const auto message = error_of(path);
  EXPECT_NE(message.find(path + ":3: invalid UTF-8"), std::string::npos) << message;
  const auto jsonl = write("a.jsonl", "{\"sentence\": \"\xFF\", \"label\": 1}\n");
  EXPECT_NE(error_of(jsonl).find(jsonl + ":1: invalid UTF-8"), std::string::npos);
  write("classes/pos.txt", "good\n");
  write("classes/neg.txt", "fine\n\xED\xA0\x80 surrogate\n");
  EXPECT_NE(error_of((dir_ / "classes").string()).find("neg.txt:2: invalid UTF-8"),
            std::string::npos);
}

TEST_F(SentimentDataTest, UnseenLabelNamesFileLineAndKnownLabels) {
  const auto train = read_labeled_data(write("train.tsv", "sentence\tlabel\na\t1\nb\t0\n"), {});
  const auto labels = LabelSet::from_examples(train);
  const auto dev_path = write("dev.tsv", "sentence\tlabel\nc\t1\nd\t2\n");
  const auto dev = read_labeled_data(dev_path, {});
  EXPECT_EQ(labels.index_of(dev[0].label, dev[0].source, dev[0].line), 1);
  try {
    labels.index_of(dev[1].label, dev[1].source, dev[1].line);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dev_path + ":3:"), std::string::npos) << message;
    EXPECT_NE(message.find("'2'"), std::string::npos) << message;
    EXPECT_NE(message.find("'0', '1'"), std::string::npos) << message;
  }
}

TEST(SentimentLabels, IntegerLabelsSortNumericallyOthersLexically) {
  std::vector<LabeledExample> stars;
  for (const char* label : {"10", "2", "1", "2"}) stars.push_back({"x", label, "f", 1});
  EXPECT_EQ(LabelSet::from_examples(stars).labels(), (std::vector<std::string>{"1", "2", "10"}));
  std::vector<LabeledExample> words;
  for (const char* label : {"pos", "neg", "neutral"}) words.push_back({"x", label, "f", 1});
  EXPECT_EQ(LabelSet::from_examples(words).labels(),
            (std::vector<std::string>{"neg", "neutral", "pos"}));
  std::vector<LabeledExample> one = {{"x", "pos", "f", 1}};
  EXPECT_THROW(LabelSet::from_examples(one), InputError);
}

TEST(SentimentUtf8, AcceptsWellFormedRejectsMalformed) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
}

}  // namespace
}  // namespace lstmnlp
