#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/tokenizer/tokenizer_app.h"
#include "tests/test_util.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp {
namespace {

using tokenizer::decode_lines;
using tokenizer::encode_lines;
using tokenizer::EncodeFormat;
using tokenizer::parse_encode_format;
using tokenizer::run_tokenizer_decode;
using tokenizer::run_tokenizer_encode;

namespace fs = std::filesystem;

/// Training text for the small models: Spanish, Japanese, emoji and English, so that with
/// character_coverage 1.0 every character of the offset tests is in the vocabulary.
constexpr const char* kMultilingualCorpus =
    "El niño comió una manzana en la mañana.\n"
    "¿Dónde está la biblioteca? Está cerca del café.\n"
    "Mañana iremos a la montaña con nuestros amigos.\n"
    "日本語のテキストを分割します。\n"
    "東京は日本の首都です。\n"
    "今日はいい天気ですね。\n"
    "I love pizza 🍕 and coffee ☕ every day!\n"
    "Emoji test 😀 😃 😄 with smiles.\n"
    "The quick brown fox jumps over the lazy dog.\n"
    "Question <sep> context with a separator.\n";

/// Vocabulary size of the small models: the largest the unigram trainer accepts on the corpus
/// above is 115, the smallest that covers its characters 77.
constexpr int kSmallVocab = 100;

/// Bytes of tiny Shakespeare used for training (the first ~200 KB, cut at a line end).
constexpr size_t kShakespeareTrainBytes = 200000;
/// Bytes of held-out Shakespeare used for the round-trip and spm_encode comparisons.
constexpr size_t kShakespeareHeldOutBytes = 20000;

const std::string kSpace = "\xE2\x96\x81";  // "▁", SentencePiece's whitespace marker

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string remove_all(std::string text, const std::string& what) {
  for (size_t pos; (pos = text.find(what)) != std::string::npos;) text.erase(pos, what.size());
  return text;
}

std::string join(const std::vector<int>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out;
}

/// Checks the byte spans of `spans` against `text` itself: each span's bytes are the piece minus
/// its "▁" markers (plus the spaces those stand for), spans are contiguous and in order, and
/// together they cover `text` apart from leading and trailing spaces, which the model's
/// normalization drops. Valid for text that NFKC normalization leaves unchanged.
void expect_offsets_cover(const std::string& text, const std::vector<TokenSpan>& spans) {
  ASSERT_FALSE(spans.empty());
  const size_t first = text.find_first_not_of(' ');
  const size_t last = text.find_last_not_of(' ') + 1;
  EXPECT_EQ(spans.front().byte_begin, first) << text;
  EXPECT_EQ(spans.back().byte_end, last) << text;
  for (size_t i = 0; i < spans.size(); ++i) {
    const auto& span = spans[i];
    SCOPED_TRACE("piece " + std::to_string(i) + " '" + span.piece + "' of '" + text + "'");
    ASSERT_LE(span.byte_begin, span.byte_end);
    ASSERT_LE(span.byte_end, text.size());
    if (i > 0) {
      EXPECT_EQ(span.byte_begin, spans[i - 1].byte_end);
    }
    const std::string original = text.substr(span.byte_begin, span.byte_end - span.byte_begin);
    EXPECT_EQ(span.surface, original);
    EXPECT_EQ(remove_all(original, " "), remove_all(span.piece, kSpace));
  }
}

/// Runs the spm_encode tool built from the same SentencePiece source; returns its output lines,
/// or nullopt when the build found no spm_encode.
std::optional<std::vector<std::string>> run_spm_encode(const fs::path& model, const fs::path& input,
                                                       const std::string& format) {
#ifdef LSTMNLP_SPM_ENCODE
  const std::string tool = LSTMNLP_SPM_ENCODE;
#else
  const std::string tool;
#endif
  if (tool.empty()) return std::nullopt;
  const fs::path output = input.string() + "." + format + ".spm";
  const std::string command = "'" + tool + "' --model='" + model.string() +
                              "' --output_format=" + format + " --input='" + input.string() +
                              "' --output='" + output.string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return split_lines(read_file(output));
}

// ---------------------------------------------------------------------------------------------
// Small models trained on the embedded multilingual corpus; need no data.

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_.emplace("tokenizer_test");
    dir_ = tmp_->path();
    corpus_ = dir_ / "corpus.txt";
    write_file(corpus_, kMultilingualCorpus);
    model_ = std::make_unique<SentencePieceTokenizer>(
        SentencePieceTokenizer::train(small_options(TokenizerModelType::kUnigram)));
  }
  static void TearDownTestSuite() {
    model_.reset();
    tmp_.reset();
  }

  static TokenizerTrainOptions small_options(TokenizerModelType type) {
    TokenizerTrainOptions options;
    options.input_files = {corpus_.string()};
    options.model_prefix = (dir_ / to_string(type) / "spm").string();
    options.model_type = type;
    options.vocab_size = kSmallVocab;
    options.character_coverage = 1.0;
    options.user_defined_symbols = {"<sep>"};
    return options;
  }

  static fs::path model_path() { return dir_ / "unigram" / "spm.model"; }

  static inline std::optional<test::TempDir> tmp_;
  static inline fs::path dir_;
  static inline fs::path corpus_;
  static inline std::unique_ptr<SentencePieceTokenizer> model_;
};

TEST_F(TokenizerTest, ParsesModelTypeNames) {
  for (const auto type : {TokenizerModelType::kUnigram, TokenizerModelType::kBpe,
                          TokenizerModelType::kChar, TokenizerModelType::kWord}) {
    EXPECT_EQ(parse_tokenizer_model_type(to_string(type)), type);
  }
  EXPECT_THROW(parse_tokenizer_model_type("wordpiece"), InputError);
  EXPECT_EQ(parse_encode_format("pieces"), EncodeFormat::kPieces);
  EXPECT_THROW(parse_encode_format("json"), InputError);
}

TEST_F(TokenizerTest, WritesModelAndVocabAndExposesSpecialIds) {
  EXPECT_TRUE(fs::exists(model_path()));
  EXPECT_TRUE(fs::exists(dir_ / "unigram" / "spm.vocab"));
  const auto& tok = *model_;
  EXPECT_EQ(tok.vocab_size(), kSmallVocab);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 1);
  EXPECT_EQ(tok.bos_id(), 2);
  EXPECT_EQ(tok.eos_id(), 3);
  EXPECT_EQ(tok.id_to_piece(0), "<pad>");
  EXPECT_EQ(tok.id_to_piece(1), "<unk>");
  EXPECT_EQ(tok.id_to_piece(2), "<s>");
  EXPECT_EQ(tok.id_to_piece(3), "</s>");
  EXPECT_EQ(tok.piece_to_id("<sep>"), 4);  // user-defined symbols follow the special ones
  EXPECT_EQ(tok.piece_to_id("no-such-piece"), tok.unk_id());
  // Special symbols decode to nothing.
  EXPECT_EQ(tok.decode({tok.pad_id(), tok.bos_id(), tok.eos_id()}), "");
}

TEST_F(TokenizerTest, EveryModelTypeTrainsAndRoundTrips) {
  for (const auto type :
       {TokenizerModelType::kUnigram, TokenizerModelType::kBpe, TokenizerModelType::kChar}) {
    SCOPED_TRACE(to_string(type));
    const auto tok = SentencePieceTokenizer::train(small_options(type));
    for (const auto& line : split_lines(kMultilingualCorpus)) {
      const auto ids = tok.encode(line);
      EXPECT_EQ(std::count(ids.begin(), ids.end(), tok.unk_id()), 0) << line;
      EXPECT_EQ(tok.decode(ids), line);
    }
  }

  // A word model keeps only the most frequent words, and every line of the corpus has a rare
  // one; so build a sentence from the model's own words (ids 5.., after the special symbols
  // and <sep>) and expect exactly those ids back.
  auto options = small_options(TokenizerModelType::kWord);
  options.vocab_size = 40;
  const auto tok = SentencePieceTokenizer::train(options);
  std::string sentence;
  std::vector<int> expected;
  for (int id = 5; id < 15; ++id) {
    const std::string& piece = tok.id_to_piece(id);
    ASSERT_EQ(piece.rfind(kSpace, 0), 0u) << piece;  // word pieces start with "▁"
    sentence += (sentence.empty() ? "" : " ") + piece.substr(kSpace.size());
    expected.push_back(id);
  }
  EXPECT_EQ(tok.encode(sentence), expected) << sentence;
  EXPECT_EQ(tok.decode(expected), sentence);
}

TEST_F(TokenizerTest, OffsetsIndexTheOriginalNonAsciiText) {
  const std::string text = "  Mañana   iremos a 東京 😀 con <sep> café ☕  ";
  const auto spans = model_->encode_with_offsets(text);
  expect_offsets_cover(text, spans);
  for (const auto& span : spans) EXPECT_NE(span.id, model_->unk_id()) << span.piece;

  // Hand-computed positions: find each multi-byte word and check a piece ends right after it.
  for (const std::string word : {"Mañana", "東京", "😀", "café", "☕"}) {
    const size_t end = text.find(word) + word.size();
    const bool found = std::any_of(spans.begin(), spans.end(),
                                   [&](const TokenSpan& s) { return s.byte_end == end; });
    EXPECT_TRUE(found) << "no piece ends at byte " << end << " after '" << word << "'";
  }
  EXPECT_EQ(spans.back().byte_end, text.size() - 2);

  // The ids agree with plain encode().
  std::vector<int> ids;
  ids.reserve(spans.size());
  for (const auto& span : spans) ids.push_back(span.id);
  EXPECT_EQ(ids, model_->encode(text));
}

TEST_F(TokenizerTest, UserDefinedSymbolIsOnePiece) {
  const std::string text = "Question <sep> context";
  const auto spans = model_->encode_with_offsets(text);
  const auto sep = std::find_if(spans.begin(), spans.end(),
                                [&](const TokenSpan& s) { return s.piece == "<sep>"; });
  ASSERT_NE(sep, spans.end());
  EXPECT_EQ(sep->id, model_->piece_to_id("<sep>"));
  EXPECT_EQ(sep->byte_begin, text.find("<sep>"));
  EXPECT_EQ(sep->byte_end, text.find("<sep>") + 5);
  const auto pieces = model_->encode_pieces(text);
  EXPECT_EQ(std::count(pieces.begin(), pieces.end(), "<sep>"), 1);
}

TEST_F(TokenizerTest, SerializedModelLoadsAndSaves) {
  const std::string text = "¿Dónde está el café? 日本語 😀";
  const auto from_bytes = SentencePieceTokenizer::load_from_serialized(model_->serialized_model());
  EXPECT_EQ(from_bytes.encode(text), model_->encode(text));
  const auto from_file = SentencePieceTokenizer::load(model_path().string());
  EXPECT_EQ(from_file.encode(text), model_->encode(text));

  const fs::path copy = dir_ / "copy.model";
  model_->save(copy.string());
  EXPECT_EQ(SentencePieceTokenizer::load(copy.string()).encode_pieces(text),
            model_->encode_pieces(text));
  EXPECT_THROW(model_->save((dir_ / "no-such-dir" / "x.model").string()), InputError);
}

TEST_F(TokenizerTest, MissingModelThrowsInputErrorWithLibraryMessage) {
  const std::string missing = (dir_ / "missing.model").string();
  try {
    SentencePieceTokenizer::load(missing);
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(missing), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

TEST_F(TokenizerTest, CorruptModelThrowsInputErrorWithLibraryMessage) {
  const std::string bytes = read_file(model_path());
  const fs::path corrupt = dir_ / "corrupt.model";
  write_file(corrupt, bytes.substr(0, bytes.size() / 2));
  try {
    SentencePieceTokenizer::load(corrupt.string());
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(corrupt.string()), std::string::npos) << message;
    EXPECT_NE(message.find("ParseFromArray"), std::string::npos) << message;  // SentencePiece's
  }
  EXPECT_THROW(SentencePieceTokenizer::load_from_serialized("not a model"), InputError);
  EXPECT_THROW(SentencePieceTokenizer::load_from_serialized(""), InputError);  // no unk piece
}

// SentencePiece itself does not check its normalization map; with one damaged, encoding read past
// the map's buffers (fuzz_sentencepiece: heap read after free in Normalizer::NormalizePrefix).
TEST_F(TokenizerTest, DamagedNormalizationMapIsAnInputError) {
  const std::string bytes = read_file(model_path());
  // normalizer_spec: name "nmt_nfkc" (field 1), then precompiled_charsmap (field 2, tag 0x12),
  // a varint length and the map, whose replacement strings end with a NUL.
  const size_t name = bytes.find("nmt_nfkc");
  ASSERT_NE(name, std::string::npos);
  size_t pos = name + 8;
  ASSERT_EQ(bytes[pos++], '\x12');
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<uint8_t>(bytes[pos++]);
    length |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) break;
  }
  const size_t last = pos + length - 1;
  ASSERT_EQ(bytes[last], '\0');
  EXPECT_NO_THROW(SentencePieceTokenizer::load_from_serialized(bytes));

  std::string unterminated = bytes;
  unterminated[last] = 'x';  // strlen() of the last replacement would run off the end
  const fs::path damaged = dir_ / "damaged-map.model";
  write_file(damaged, unterminated);
  try {
    SentencePieceTokenizer::load(damaged.string());
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(damaged.string()), std::string::npos) << message;
    EXPECT_NE(message.find("normalization map is damaged"), std::string::npos) << message;
  }
  std::string bad_trie = bytes;
  bad_trie[pos + 4] = '\xff';  // the root unit's child offset now points far outside the trie
  bad_trie[pos + 5] = '\xff';
  bad_trie[pos + 6] = '\xff';
  EXPECT_THROW(SentencePieceTokenizer::load_from_serialized(bad_trie), InputError);
  EXPECT_THROW(SentencePieceTokenizer::load_from_serialized(unterminated), InputError);
}

TEST_F(TokenizerTest, BadTrainingOptionsThrowInputError) {
  auto too_large = small_options(TokenizerModelType::kUnigram);
  too_large.model_prefix = (dir_ / "too_large" / "spm").string();
  too_large.vocab_size = 5000;
  try {
    SentencePieceTokenizer::train(too_large);
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("Vocabulary size too high (5000)"), std::string::npos) << message;
    EXPECT_NE(message.find(too_large.model_prefix), std::string::npos) << message;
  }

  auto missing_input = small_options(TokenizerModelType::kUnigram);
  missing_input.input_files.push_back((dir_ / "absent.txt").string());
  try {
    SentencePieceTokenizer::train(missing_input);
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("absent.txt"), std::string::npos) << error.what();
  }

  auto too_small = small_options(TokenizerModelType::kBpe);
  too_small.vocab_size = 20;  // fewer than the corpus's characters
  EXPECT_THROW(SentencePieceTokenizer::train(too_small), InputError);

  auto same_ids = small_options(TokenizerModelType::kUnigram);
  same_ids.pad_id = 1;
  EXPECT_THROW(SentencePieceTokenizer::train(same_ids), InputError);

  auto coverage = small_options(TokenizerModelType::kUnigram);
  coverage.character_coverage = 1.5;
  EXPECT_THROW(SentencePieceTokenizer::train(coverage), InputError);

  auto no_input = small_options(TokenizerModelType::kUnigram);
  no_input.input_files.clear();
  EXPECT_THROW(SentencePieceTokenizer::train(no_input), InputError);
}

TEST_F(TokenizerTest, OutOfRangeIdsThrowInputError) {
  EXPECT_THROW(model_->decode({5, kSmallVocab}), InputError);
  EXPECT_THROW(model_->decode({-1}), InputError);
  EXPECT_THROW(model_->id_to_piece(kSmallVocab), InputError);
}

TEST_F(TokenizerTest, CliEncodeThenDecodeGivesBackTheLines) {
  std::istringstream text(kMultilingualCorpus);
  std::ostringstream ids;
  encode_lines(*model_, EncodeFormat::kIds, text, ids);
  EXPECT_EQ(split_lines(ids.str()).size(), split_lines(kMultilingualCorpus).size());
  EXPECT_EQ(split_lines(ids.str())[0], join(model_->encode(split_lines(kMultilingualCorpus)[0])));

  std::istringstream ids_in(ids.str());
  std::ostringstream decoded;
  decode_lines(*model_, ids_in, decoded, "ids.txt");
  EXPECT_EQ(decoded.str(), kMultilingualCorpus);

  std::istringstream pieces_in("Mañana\n");
  std::ostringstream pieces;
  encode_lines(*model_, EncodeFormat::kPieces, pieces_in, pieces);
  std::string expected;
  for (const auto& piece : model_->encode_pieces("Mañana")) {
    expected += (expected.empty() ? "" : " ") + piece;
  }
  EXPECT_EQ(pieces.str(), expected + "\n");

  // A bad token names the file and line.
  std::istringstream bad("5 6\n7 x9\n");
  std::ostringstream sink;
  try {
    decode_lines(*model_, bad, sink, "ids.txt");
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("ids.txt:2"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("'x9'"), std::string::npos) << error.what();
  }

  // The file-based commands, including a missing model.
  const fs::path in_path = dir_ / "cli_in.txt";
  const fs::path ids_path = dir_ / "cli_ids.txt";
  const fs::path out_path = dir_ / "cli_out.txt";
  write_file(in_path, kMultilingualCorpus);
  run_tokenizer_encode({model_path().string(), in_path.string(), ids_path.string()});
  run_tokenizer_decode({model_path().string(), ids_path.string(), out_path.string()});
  EXPECT_EQ(read_file(out_path), kMultilingualCorpus);
  EXPECT_THROW(run_tokenizer_encode({(dir_ / "none.model").string(), in_path.string(), "-"}),
               InputError);
  EXPECT_THROW(run_tokenizer_encode({model_path().string(), (dir_ / "none.txt").string(), "-"}),
               InputError);
}

TEST_F(TokenizerTest, MatchesSpmEncodeOnNonAsciiText) {
  const fs::path input = dir_ / "spm_input.txt";
  write_file(input, std::string(kMultilingualCorpus) + "Mañana  東京 😀 <sep> ☕ café\n");
  const auto spm_ids = run_spm_encode(model_path(), input, "id");
  if (!spm_ids) GTEST_SKIP() << "spm_encode was not found when configuring the build";
  const auto lines = split_lines(read_file(input));
  ASSERT_EQ(spm_ids->size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(join(model_->encode(lines[i])), (*spm_ids)[i]);
}

// ---------------------------------------------------------------------------------------------
// A model trained on real text: the first ~200 KB of tiny Shakespeare.

class ShakespeareTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* env = std::getenv("LSTM_NLP_DATA");
    const fs::path data =
        env && *env ? fs::path(env) : fs::path(LSTMNLP_SOURCE_DIR) / ".." / "shared" / "data";
    const fs::path source = data / "tinyshakespeare" / "input.txt";
    if (!fs::exists(source)) {
      skip_reason_ = "tiny Shakespeare not found at " + source.string() +
                     " (set LSTM_NLP_DATA to the data directory)";
      return;
    }
    const std::string all = read_file(source);
    const size_t train_end = all.rfind('\n', kShakespeareTrainBytes) + 1;
    const size_t held_out_end = all.rfind('\n', train_end + kShakespeareHeldOutBytes) + 1;
    tmp_.emplace("shakespeare_tokenizer_test");
    dir_ = tmp_->path();
    write_file(dir_ / "train.txt", all.substr(0, train_end));
    held_out_ = dir_ / "held_out.txt";
    write_file(held_out_, all.substr(train_end, held_out_end - train_end));

    TokenizerTrainOptions options;
    options.input_files = {(dir_ / "train.txt").string()};
    options.model_prefix = (dir_ / "spm").string();
    options.vocab_size = 1000;
    options.character_coverage = 1.0;  // keep rare capitals such as 'K' and 'Z'
    model_ = std::make_unique<SentencePieceTokenizer>(SentencePieceTokenizer::train(options));
  }
  static void TearDownTestSuite() {
    model_.reset();
    tmp_.reset();
  }
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  }

  static inline std::string skip_reason_;
  static inline std::optional<test::TempDir> tmp_;
  static inline fs::path dir_;
  static inline fs::path held_out_;
  static inline std::unique_ptr<SentencePieceTokenizer> model_;
};

TEST_F(ShakespeareTokenizerTest, DecodeOfEncodeGivesBackHeldOutLines) {
  const auto lines = split_lines(read_file(held_out_));
  ASSERT_GT(lines.size(), 500u);
  for (const auto& line : lines) {
    EXPECT_EQ(model_->decode(model_->encode(line)), line);
    // The pieces spell the line, with "▁" for each space and before the first word.
    std::string spelled;
    for (const auto& piece : model_->encode_pieces(line)) spelled += piece;
    EXPECT_EQ(remove_all(spelled, kSpace), remove_all(line, " "));
  }
  // Subwords: far fewer pieces than characters (about 0.37 per character with 1,000 pieces).
  const std::string text = read_file(held_out_);
  EXPECT_LT(model_->encode(text).size(), text.size() / 2);
}

TEST_F(ShakespeareTokenizerTest, IdsAndPiecesMatchSpmEncode) {
  const auto spm_ids = run_spm_encode(dir_ / "spm.model", held_out_, "id");
  if (!spm_ids) GTEST_SKIP() << "spm_encode was not found when configuring the build";
  const auto spm_pieces = run_spm_encode(dir_ / "spm.model", held_out_, "piece");
  const auto lines = split_lines(read_file(held_out_));
  ASSERT_EQ(spm_ids->size(), lines.size());
  ASSERT_EQ(spm_pieces->size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(join(model_->encode(lines[i])), (*spm_ids)[i]) << lines[i];
    std::string pieces;
    for (const auto& piece : model_->encode_pieces(lines[i])) {
      pieces += (pieces.empty() ? "" : " ") + piece;
    }
    EXPECT_EQ(pieces, (*spm_pieces)[i]) << lines[i];
  }
}

TEST_F(ShakespeareTokenizerTest, OffsetsCoverTextWithUnknownCharacters) {
  // Tiny Shakespeare is pure ASCII, so ñ, 日本語 and 😀 are unknown to this model.
  const std::string text = "  ROMEO:  Señor,   日本語 and 😀 thou art  ";
  const auto spans = model_->encode_with_offsets(text);
  expect_offsets_cover(text, spans);
  const size_t emoji = text.find("😀");
  const auto unknown = std::find_if(spans.begin(), spans.end(), [&](const TokenSpan& s) {
    return s.byte_begin <= emoji && emoji < s.byte_end;
  });
  ASSERT_NE(unknown, spans.end());
  EXPECT_EQ(unknown->id, model_->unk_id());
  EXPECT_EQ(unknown->byte_end, emoji + 4);  // U+1F600 is 4 bytes in UTF-8
}

}  // namespace
}  // namespace lstmnlp
