#include "datasets/lm_corpus.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "core/error.h"
#include "tests/lm/lm_test_util.h"

namespace lstmnlp::lm {
namespace {

namespace fs = std::filesystem;
using testing::input_error_of;
using testing::TempDir;

TEST(LmData, BatchifyMakesContiguousStreams) {
  const auto ids = torch::arange(27, torch::kInt64);
  const auto data = batchify(ids, /*batch_size=*/4);
  ASSERT_EQ(data.sizes(), (std::vector<int64_t>{6, 4}));  // 27 / 4 = 6 rows, 3 ids dropped
  for (int64_t b = 0; b < 4; ++b) {
    for (int64_t r = 0; r < 6; ++r) EXPECT_EQ(data[r][b].item<int64_t>(), b * 6 + r);
  }
}

TEST(LmData, GetBatchShiftsTargetsAndShortensTheLastBatch) {
  const auto data = batchify(torch::arange(24, torch::kInt64), 4);  // (6, 4)
  ASSERT_EQ(num_batches(data, /*bptt=*/2), 3);                      // ceil((6 - 1) / 2)
  for (int64_t i = 0; i < 3; ++i) {
    auto [input, target] = get_batch(data, i, 2);
    const int64_t t = i < 2 ? 2 : 1;
    EXPECT_EQ(input.sizes(), (std::vector<int64_t>{t, 4}));
    EXPECT_EQ(target.sizes(), input.sizes());
    EXPECT_TRUE(torch::equal(target, input + 1));  // the next token of each stream
    EXPECT_EQ(input[0][0].item<int64_t>(), 2 * i);
  }
  // Consecutive batches continue each stream: batch i + 1 starts where batch i's targets end.
  auto [in0, target0] = get_batch(data, 0, 2);
  auto [in1, target1] = get_batch(data, 1, 2);
  EXPECT_TRUE(torch::equal(in1[0], target0[1]));
}

TEST(LmData, BatchifyRejectsTooShortCorpus) {
  EXPECT_THROW(batchify(torch::arange(5, torch::kInt64), 4), InputError);
}

TEST(LmData, WordVocabularyHasEosAndUnk) {
  const Text train{"train.txt", {"b a b c", "a b <unk>", "d"}};
  const auto vocab = LmVocabulary::build_words(train);
  // <eos>, <unk>, then by count (b: 3, a: 2, c and d: 1 in byte order).
  EXPECT_EQ(vocab.words(), (std::vector<std::string>{"<eos>", "<unk>", "b", "a", "c", "d"}));
  EXPECT_EQ(vocab.eos_id(), 0);
  EXPECT_EQ(vocab.unk_id(), 1);
  int64_t unknown = 0;
  EXPECT_EQ(vocab.encode_line("a  zebra b", &unknown), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(unknown, 1);
  EXPECT_EQ(vocab.decode({3, 2, 0, 5}), "a b\nd");

  const auto frequent = LmVocabulary::build_words(train, /*min_count=*/2);
  EXPECT_EQ(frequent.words(), (std::vector<std::string>{"<eos>", "<unk>", "b", "a"}));
  EXPECT_EQ(frequent.encode_line("c"), (std::vector<int64_t>{1}));

  const auto restored = LmVocabulary::from_checkpoint(vocab.to_json(), "", "x.pt");
  EXPECT_TRUE(restored.same_as(vocab));
  EXPECT_FALSE(frequent.same_as(vocab));
}

TEST(LmData, CorpusPutsEosAtLineEndsAndCountsWords) {
  const Text text{"t.txt", {"b a", "", "c x"}};
  const auto vocab = LmVocabulary::build_words(Text{"v", {"a b c"}});
  const auto corpus = encode_corpus(text, vocab);
  // <eos> b a <eos> <eos> c <unk> <eos>
  const std::vector<int64_t> expected = {
      0, vocab.encode_line("b")[0], vocab.encode_line("a")[0], 0, 0, vocab.encode_line("c")[0], 1,
      0};
  EXPECT_TRUE(torch::equal(corpus.ids, torch::tensor(expected, torch::kInt64)));
  EXPECT_EQ(corpus.words, 7);  // 4 words and 3 <eos>
  EXPECT_EQ(corpus.unknown, 1);
}

TEST(LmData, MissingAndEmptyCorporaNameTheFile) {
  TempDir dir("lm_data");
  const auto missing = dir / "nope.txt";
  EXPECT_NE(input_error_of([&] { read_text(missing); }).find(missing), std::string::npos);
  const auto empty = dir / "empty.txt";
  testing::write_file(empty, "\n  \n");
  const auto message = input_error_of([&] { read_text(empty); });
  EXPECT_NE(message.find(empty), std::string::npos) << message;
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST(LmData, InvalidUtf8AndFoldersNameTheFileAndLine) {
  TempDir dir("lm_data_utf8");
  testing::write_file(dir / "train.txt", "the cat\nsat on \xff\xfe mat\n");
  auto message = input_error_of([&] { read_text(dir / "train.txt"); });
  EXPECT_EQ(message, dir / "train.txt" + ":2: invalid UTF-8 (the corpus must be UTF-8 text)");
  message = input_error_of([&] { read_text(dir.path().string()); });
  EXPECT_EQ(message, dir.path().string() + ": is a directory, expected a text file");
}

TEST(LmData, SplitTextByLines) {
  Text text{"all.txt", {}};
  for (int i = 0; i < 100; ++i) text.lines.push_back(std::to_string(i));
  auto [train, valid, test] = split_text(text, 0.1, 0.05);
  EXPECT_EQ(train.lines.size(), 85u);
  EXPECT_EQ(valid.lines.front(), "85");
  EXPECT_EQ(test.lines.size(), 5u);
  EXPECT_EQ(test.lines.back(), "99");
  EXPECT_THROW(split_text(Text{"few.txt", {"a", "b"}}, 0.1, 0.1), InputError);
}

TEST(LmData, PennTreebankHasTenThousandWords) {
  const char* env = std::getenv("LSTM_NLP_DATA");
  const fs::path data =
      env && *env ? fs::path(env) : fs::path(LSTMNLP_SOURCE_DIR) / ".." / "shared" / "data";
  const auto train_file = (data / "ptb" / "train.txt").string();
  if (!fs::exists(train_file)) GTEST_SKIP() << "PTB not found at " << train_file;
  const auto train = read_text(train_file);
  const auto vocab = LmVocabulary::build_words(train);
  EXPECT_EQ(vocab.size(), 10000);
  const auto corpus = encode_corpus(train, vocab);
  EXPECT_EQ(corpus.ids.size(0) - 1, 929589);  // the literature's count, <eos> included
}

}  // namespace
}  // namespace lstmnlp::lm
