#pragma once

// A SentencePiece subword tokenizer: training, loading, encoding with byte offsets, decoding.
//
//   lstmnlp::TokenizerTrainOptions options;
//   options.input_files = {"data/train.txt"};
//   options.model_prefix = "runs/tok/spm";  // writes runs/tok/spm.model and runs/tok/spm.vocab
//   options.vocab_size = 8000;
//   auto tokenizer = lstmnlp::SentencePieceTokenizer::train(options);
//
//   auto tokenizer = lstmnlp::SentencePieceTokenizer::load("runs/tok/spm.model");
//   std::vector<int> ids = tokenizer.encode("Hello world.");
//   std::string text = tokenizer.decode(ids);  // "Hello world."
//
//   // Pieces with their byte span in the original text (for extractive QA).
//   for (const auto& token : tokenizer.encode_with_offsets("¿Qué tal?"))
//     std::cout << token.piece << " [" << token.byte_begin << ", " << token.byte_end << ")\n";
//
// Invariant: decode(encode(x)) == x for any text x that the model's normalization leaves
// unchanged (NFKC, no leading, trailing or repeated spaces) and whose characters are all in the
// vocabulary; unknown characters decode to " ⁇ ".
//
// Errors reported by SentencePiece (a missing or corrupt model, bad training options) are thrown
// as lstmnlp::InputError carrying SentencePiece's own message and the file name where relevant.
// SentencePiece itself stays out of this header.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lstmnlp {

/// The segmentation algorithm of a SentencePiece model.
enum class TokenizerModelType { kUnigram, kBpe, kChar, kWord };

/// Parses "unigram", "bpe", "char" or "word"; throws InputError for anything else.
TokenizerModelType parse_tokenizer_model_type(const std::string& name);

/// The name that parse_tokenizer_model_type() accepts.
std::string to_string(TokenizerModelType type);

/// How to train a SentencePiece model. Special-symbol ids may be -1 to disable the symbol,
/// except unk_id, which SentencePiece requires.
struct TokenizerTrainOptions {
  /// Plain-text training files, one sentence per line. Required.
  std::vector<std::string> input_files;
  /// Output prefix: training writes <model_prefix>.model and <model_prefix>.vocab. Required.
  std::string model_prefix;
  /// Segmentation algorithm (default unigram).
  TokenizerModelType model_type = TokenizerModelType::kUnigram;
  /// Vocabulary size including the special symbols (default 8000).
  int vocab_size = 8000;
  /// Fraction of characters the vocabulary must cover, in (0, 1]; the rarest characters beyond
  /// it map to unk. 0.9995 suits alphabetic languages, 1.0 small character sets (default 0.9995).
  double character_coverage = 0.9995;
  /// Pieces always kept whole and never split, e.g. {"<sep>", "<mask>"} (default none).
  std::vector<std::string> user_defined_symbols;
  /// Padding id (default 0); decode() renders it as nothing.
  int pad_id = 0;
  /// Unknown-piece id (default 1).
  int unk_id = 1;
  /// Beginning-of-sentence id (default 2); encode() does not add it.
  int bos_id = 2;
  /// End-of-sentence id (default 3); encode() does not add it.
  int eos_id = 3;
  /// Use at most this many training sentences; 0 = all (default 1,000,000).
  int64_t input_sentence_size = 1000000;
  /// Sample the input_sentence_size sentences at random rather than taking the first ones
  /// (default true). SentencePiece samples with a fixed seed, so training is reproducible.
  bool shuffle_input_sentence = true;
  /// Training threads (default 1).
  int num_threads = 1;
  /// Print SentencePiece's training log to stderr (default false: warnings and errors only).
  bool verbose = false;
};

/// One piece of an encoded text and the bytes of the original text it came from.
struct TokenSpan {
  int id = 0;             ///< vocabulary id (unk_id() for an unknown piece)
  std::string piece;      ///< the normalized piece, e.g. "▁Hello"; the unknown text for unk
  std::string surface;    ///< the original bytes: text.substr(byte_begin, byte_end - byte_begin)
  size_t byte_begin = 0;  ///< first byte in the original text
  size_t byte_end = 0;    ///< one past the last byte in the original text
};

/// A loaded SentencePiece model. Immutable and cheap to copy (copies share the model); all
/// methods are const and safe to call from several threads.
class SentencePieceTokenizer {
 public:
  /// Trains a model from options.input_files, writes <model_prefix>.model and .vocab (creating
  /// the prefix's directory), and returns it loaded. Throws InputError for bad options, unreadable
  /// inputs or a failure reported by SentencePiece. Training calls are serialized process-wide,
  /// since SentencePiece's trainer keeps global state.
  static SentencePieceTokenizer train(const TokenizerTrainOptions& options);

  /// Loads a .model file. Throws InputError naming the file if it is missing or not a model.
  static SentencePieceTokenizer load(const std::string& model_path);

  /// Loads a model from its serialized bytes (the content of a .model file, or
  /// serialized_model()). Throws InputError if the bytes are not a model.
  static SentencePieceTokenizer load_from_serialized(const std::string& model_bytes);

  /// The model's serialized bytes, identical in meaning to the .model file; store these in
  /// checkpoints and restore with load_from_serialized().
  const std::string& serialized_model() const;

  /// Writes serialized_model() to `model_path`. Throws InputError if the file cannot be written.
  void save(const std::string& model_path) const;

  /// Encodes UTF-8 text to vocabulary ids (no bos/eos added).
  std::vector<int> encode(std::string_view text) const;

  /// Encodes UTF-8 text to pieces, e.g. {"▁Hello", "▁world", "."}.
  std::vector<std::string> encode_pieces(std::string_view text) const;

  /// Encodes UTF-8 text and reports each piece's byte span in `text` itself (not in the
  /// normalized text). Spans are contiguous and in order and cover `text` except its leading and
  /// trailing whitespace; whitespace between words belongs to the piece that follows it.
  std::vector<TokenSpan> encode_with_offsets(std::string_view text) const;

  /// Decodes ids to text; pad, bos and eos render as nothing, unk as " ⁇ ". Throws InputError for
  /// an id outside [0, vocab_size()).
  std::string decode(const std::vector<int>& ids) const;

  /// Number of pieces in the vocabulary, special symbols included.
  int vocab_size() const;

  /// Special-symbol ids; -1 when the model was trained without that symbol.
  int pad_id() const;
  int unk_id() const;
  int bos_id() const;
  int eos_id() const;

  /// The piece with vocabulary id `id`, e.g. "▁the" or "<pad>". Throws InputError when `id` is
  /// outside [0, vocab_size()).
  const std::string& id_to_piece(int id) const;

  /// The id of `piece`, or unk_id() if it is not in the vocabulary.
  int piece_to_id(std::string_view piece) const;

 private:
  struct Impl;
  explicit SentencePieceTokenizer(std::shared_ptr<const Impl> impl);
  void check_id(int id) const;

  std::shared_ptr<const Impl> impl_;
};

}  // namespace lstmnlp
