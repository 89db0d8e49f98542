#include "tokenization/sentencepiece_tokenizer.h"

#include <sentencepiece.pb.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "core/error.h"

namespace lstmnlp {
namespace {

absl::string_view as_absl(std::string_view text) { return {text.data(), text.size()}; }

/// Throws InputError("<context>: <SentencePiece's message>") when `status` is not ok.
void check_status(const sentencepiece::util::Status& status, const std::string& context) {
  if (!status.ok()) throw InputError(context + ": " + status.ToString());
}

std::string join_comma_list(const std::vector<std::string>& items, const std::string& what) {
  std::string joined;
  for (const auto& item : items) {
    // SentencePiece's flag parser splits list values on commas; a comma inside an item would
    // silently become two items.
    if (item.find(',') != std::string::npos) {
      throw InputError("tokenizer training: " + what + " '" + item + "' contains a comma");
    }
    if (!joined.empty()) joined += ',';
    joined += item;
  }
  return joined;
}

// ------------------------------------------------------------------------------------------------
// SentencePiece 0.1.97 trusts the precompiled character map of a model's normalizer and
// denormalizer: a damaged map sends its double-array trie walk, or the strlen() of a
// replacement, past the map's buffers (fuzz_sentencepiece found a heap read after free in
// Normalizer::NormalizePrefix). A map is checked here before the model is used.

// Reads a protobuf varint from the front of `in`.
bool read_varint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Calls visit(field, bytes) for each length-delimited field of a serialized protobuf message and
// skips the others; false when the message is malformed.
template <typename Visit>
bool for_each_bytes_field(std::string_view message, const Visit& visit) {
  while (!message.empty()) {
    uint64_t key = 0, value = 0;
    if (!read_varint(message, key)) return false;
    switch (key & 7) {
      case 0:  // varint
        if (!read_varint(message, value)) return false;
        break;
      case 1:  // 64-bit
      case 5:  // 32-bit
        if (message.size() < ((key & 7) == 1 ? 8u : 4u)) return false;
        message.remove_prefix((key & 7) == 1 ? 8 : 4);
        break;
      case 2:  // length-delimited
        if (!read_varint(message, value) || value > message.size()) return false;
        visit(key >> 3, message.substr(0, value));
        message.remove_prefix(value);
        break;
      default:
        return false;
    }
  }
  return true;
}

// Whether a precompiled character map (a little-endian uint32 trie size, a darts-clone double
// array of 32-bit units, then NUL-terminated replacement strings) keeps every read in bounds: each
// value unit points into the strings, which end with a NUL, and each other unit's children, at
// (index ^ offset) ^ label for labels 0-255, lie inside the array.
bool charsmap_in_bounds(std::string_view map) {
  if (map.empty()) return true;
  if (map.size() < 4) return false;
  uint32_t trie_bytes = 0;
  for (int i = 3; i >= 0; --i) trie_bytes = (trie_bytes << 8) | static_cast<uint8_t>(map[i]);
  map.remove_prefix(4);
  if (trie_bytes % 4 != 0 || trie_bytes >= map.size()) return false;
  const std::string_view strings = map.substr(trie_bytes);
  if (strings.back() != '\0') return false;
  const uint64_t units = trie_bytes / 4;
  for (uint64_t i = 0; i < units; ++i) {
    uint32_t unit = 0;
    for (int b = 3; b >= 0; --b) unit = (unit << 8) | static_cast<uint8_t>(map[4 * i + b]);
    if ((unit >> 31) != 0) {  // a value: the offset of its replacement string
      if ((unit & 0x7FFFFFFFu) >= strings.size()) return false;
      continue;
    }
    const uint64_t offset = static_cast<uint64_t>(unit >> 10) << ((unit & (1u << 9)) >> 6);
    if (((i ^ offset) | 0xFF) >= units) return false;
  }
  return true;
}

// Throws InputError(`context`: ...) when a character map of the serialized ModelProto (its
// normalizer_spec and denormalizer_spec, fields 3 and 5, whose field 2 is the map) is damaged.
void check_charsmaps(const std::string& serialized, const std::string& context) {
  bool ok = true;
  const bool parsed = for_each_bytes_field(serialized, [&](uint64_t field, std::string_view spec) {
    if (field != 3 && field != 5) return;
    const bool spec_parsed =
        for_each_bytes_field(spec, [&](uint64_t spec_field, std::string_view map) {
          if (spec_field == 2 && !charsmap_in_bounds(map)) ok = false;
        });
    if (!spec_parsed) ok = false;
  });
  ok = ok && parsed;
  if (!ok) throw InputError(context + ": its normalization map is damaged");
}

void validate(const TokenizerTrainOptions& options) {
  const std::string where = "tokenizer training: ";
  if (options.input_files.empty()) throw InputError(where + "no input files");
  if (options.model_prefix.empty()) throw InputError(where + "model_prefix is empty");
  if (options.vocab_size <= 0) {
    throw InputError(where + "vocab_size must be positive, got " +
                     std::to_string(options.vocab_size));
  }
  if (!(options.character_coverage > 0.0 && options.character_coverage <= 1.0)) {
    throw InputError(where + "character_coverage must be in (0, 1], got " +
                     std::to_string(options.character_coverage));
  }
  if (options.unk_id < 0) throw InputError(where + "unk_id must be set (>= 0)");
  // SentencePiece rejects these too, but with a message that names no option.
  const std::pair<const char*, int> special[] = {{"pad_id", options.pad_id},
                                                 {"unk_id", options.unk_id},
                                                 {"bos_id", options.bos_id},
                                                 {"eos_id", options.eos_id}};
  for (size_t i = 0; i < std::size(special); ++i) {
    if (special[i].second >= options.vocab_size) {
      throw InputError(where + special[i].first + " " + std::to_string(special[i].second) +
                       " must be below vocab_size " + std::to_string(options.vocab_size));
    }
    for (size_t j = 0; j < i; ++j) {
      if (special[i].second >= 0 && special[i].second == special[j].second) {
        throw InputError(where + special[j].first + " and " + special[i].first + " are both " +
                         std::to_string(special[i].second));
      }
    }
  }
  if (options.input_sentence_size < 0) {
    throw InputError(where + "input_sentence_size must be >= 0, got " +
                     std::to_string(options.input_sentence_size));
  }
  if (options.num_threads <= 0) {
    throw InputError(where + "num_threads must be positive, got " +
                     std::to_string(options.num_threads));
  }
  for (const auto& file : options.input_files) {
    // SentencePiece would report a missing file too, but only after logging; name it up front.
    std::ifstream in(file, std::ios::binary);
    if (!in) throw InputError(at_location(file, 0, "cannot open tokenizer training input"));
  }
}

std::unordered_map<std::string, std::string> to_kwargs(const TokenizerTrainOptions& options) {
  std::ostringstream coverage;
  coverage.precision(17);
  coverage << options.character_coverage;
  std::unordered_map<std::string, std::string> kwargs = {
      {"input", join_comma_list(options.input_files, "input file")},
      {"model_prefix", options.model_prefix},
      {"model_type", to_string(options.model_type)},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", coverage.str()},
      {"pad_id", std::to_string(options.pad_id)},
      {"unk_id", std::to_string(options.unk_id)},
      {"bos_id", std::to_string(options.bos_id)},
      {"eos_id", std::to_string(options.eos_id)},
      {"input_sentence_size", std::to_string(options.input_sentence_size)},
      {"shuffle_input_sentence", options.shuffle_input_sentence ? "true" : "false"},
      {"num_threads", std::to_string(options.num_threads)},
      {"minloglevel", options.verbose ? "0" : "1"},
  };
  if (!options.user_defined_symbols.empty()) {
    kwargs["user_defined_symbols"] =
        join_comma_list(options.user_defined_symbols, "user-defined symbol");
  }
  return kwargs;
}

}  // namespace

TokenizerModelType parse_tokenizer_model_type(const std::string& name) {
  if (name == "unigram") return TokenizerModelType::kUnigram;
  if (name == "bpe") return TokenizerModelType::kBpe;
  if (name == "char") return TokenizerModelType::kChar;
  if (name == "word") return TokenizerModelType::kWord;
  throw InputError("unknown tokenizer model type '" + name +
                   "' (expected unigram, bpe, char or word)");
}

std::string to_string(TokenizerModelType type) {
  switch (type) {
    case TokenizerModelType::kUnigram:
      return "unigram";
    case TokenizerModelType::kBpe:
      return "bpe";
    case TokenizerModelType::kChar:
      return "char";
    case TokenizerModelType::kWord:
      return "word";
  }
  return "unknown";
}

struct SentencePieceTokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
  std::string serialized;
};

SentencePieceTokenizer::SentencePieceTokenizer(std::shared_ptr<const Impl> impl)
    : impl_(std::move(impl)) {}

SentencePieceTokenizer SentencePieceTokenizer::train(const TokenizerTrainOptions& options) {
  validate(options);
  const std::filesystem::path prefix(options.model_prefix);
  if (prefix.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(prefix.parent_path(), error);
    if (error) {
      throw InputError(at_location(prefix.parent_path().string(), 0,
                                   "cannot create directory: " + error.message()));
    }
  }
  {
    // The trainer reads and writes process-wide settings (log level, random seed).
    static std::mutex train_mutex;
    std::lock_guard<std::mutex> lock(train_mutex);
    check_status(sentencepiece::SentencePieceTrainer::Train(to_kwargs(options)),
                 "SentencePiece training of '" + options.model_prefix + ".model' failed");
  }
  return load(options.model_prefix + ".model");
}

SentencePieceTokenizer SentencePieceTokenizer::load(const std::string& model_path) {
  auto impl = std::make_shared<Impl>();
  check_status(impl->processor.Load(model_path),
               at_location(model_path, 0, "cannot load SentencePiece model"));
  impl->serialized = impl->processor.serialized_model_proto();
  check_charsmaps(impl->serialized, at_location(model_path, 0, "cannot load SentencePiece model"));
  return SentencePieceTokenizer(std::move(impl));
}

SentencePieceTokenizer SentencePieceTokenizer::load_from_serialized(
    const std::string& model_bytes) {
  auto impl = std::make_shared<Impl>();
  check_status(impl->processor.LoadFromSerializedProto(model_bytes),
               "cannot load SentencePiece model from serialized bytes");
  check_charsmaps(impl->processor.serialized_model_proto(),
                  "cannot load SentencePiece model from serialized bytes");
  impl->serialized = model_bytes;
  return SentencePieceTokenizer(std::move(impl));
}

const std::string& SentencePieceTokenizer::serialized_model() const { return impl_->serialized; }

void SentencePieceTokenizer::save(const std::string& model_path) const {
  std::ofstream out(model_path, std::ios::binary | std::ios::trunc);
  out.write(impl_->serialized.data(), static_cast<std::streamsize>(impl_->serialized.size()));
  out.close();
  if (!out) throw InputError(at_location(model_path, 0, "cannot write SentencePiece model"));
}

std::vector<int> SentencePieceTokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  check_status(impl_->processor.Encode(as_absl(text), &ids), "SentencePiece encode");
  return ids;
}

std::vector<std::string> SentencePieceTokenizer::encode_pieces(std::string_view text) const {
  std::vector<std::string> pieces;
  check_status(impl_->processor.Encode(as_absl(text), &pieces), "SentencePiece encode");
  return pieces;
}

std::vector<TokenSpan> SentencePieceTokenizer::encode_with_offsets(std::string_view text) const {
  sentencepiece::SentencePieceText spt;
  check_status(impl_->processor.Encode(as_absl(text), &spt), "SentencePiece encode");
  std::vector<TokenSpan> spans;
  spans.reserve(static_cast<size_t>(spt.pieces_size()));
  for (const auto& piece : spt.pieces()) {
    TokenSpan span;
    span.id = static_cast<int>(piece.id());
    span.piece = piece.piece();
    span.surface = piece.surface();
    span.byte_begin = piece.begin();
    span.byte_end = piece.end();
    spans.push_back(std::move(span));
  }
  return spans;
}

std::string SentencePieceTokenizer::decode(const std::vector<int>& ids) const {
  // SentencePiece indexes its vocabulary without a bounds check.
  for (const int id : ids) check_id(id);
  std::string text;
  check_status(impl_->processor.Decode(ids, &text), "SentencePiece decode");
  return text;
}

int SentencePieceTokenizer::vocab_size() const { return impl_->processor.GetPieceSize(); }
int SentencePieceTokenizer::pad_id() const { return impl_->processor.pad_id(); }
int SentencePieceTokenizer::unk_id() const { return impl_->processor.unk_id(); }
int SentencePieceTokenizer::bos_id() const { return impl_->processor.bos_id(); }
int SentencePieceTokenizer::eos_id() const { return impl_->processor.eos_id(); }

const std::string& SentencePieceTokenizer::id_to_piece(int id) const {
  check_id(id);
  return impl_->processor.IdToPiece(id);
}

int SentencePieceTokenizer::piece_to_id(std::string_view piece) const {
  return impl_->processor.PieceToId(as_absl(piece));
}

void SentencePieceTokenizer::check_id(int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InputError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                     std::to_string(vocab_size()) + ")");
  }
}

}  // namespace lstmnlp
