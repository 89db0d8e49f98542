#pragma once

// Language-model data: the vocabulary (words or SentencePiece pieces), corpora read into one
// stream of token ids with <eos> at each line end, and batching for truncated BPTT.
//
//   auto vocab = lstmnlp::lm::LmVocabulary::build_words(lstmnlp::lm::read_text("ptb/train.txt"));
//   lstmnlp::lm::Corpus train = lstmnlp::lm::encode_corpus(read_text("ptb/train.txt"), vocab);
//   torch::Tensor streams = lstmnlp::lm::batchify(train.ids, /*batch_size=*/20);  // (N, 20)
//   for (int64_t i = 0; i < lstmnlp::lm::num_batches(streams, /*bptt=*/20); ++i) {
//     auto [input, target] = lstmnlp::lm::get_batch(streams, i, /*bptt=*/20);  // (T, 20) each
//   }
//
// Column b of a batchified tensor is one contiguous stretch of the corpus, so batch i + 1 of a
// stream continues batch i exactly: a model may carry its hidden state from one to the next.
//
// Unknown words map to <unk>: in corpora, in generation prompts and in evaluation files alike.

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp::lm {

/// The end-of-line token of word vocabularies.
inline constexpr const char* kEos = "<eos>";
/// The unknown-word token of word vocabularies.
inline constexpr const char* kUnk = "<unk>";

/// The lines of one text, with the name used in error messages.
struct Text {
  std::string name;                ///< file name, or e.g. "input.txt[train]" for a split
  std::vector<std::string> lines;  ///< without line terminators
};

/// Reads a text file. Throws InputError naming the file when it is missing, unreadable or has
/// no word at all.
Text read_text(const std::string& path);

/// Splits a text into (train, valid, test) by lines: the last `test_fraction` of the lines are
/// test, the `valid_fraction` before them valid, the rest train (as char-rnn does). Throws
/// InputError when a part would be empty.
std::tuple<Text, Text, Text> split_text(const Text& text, double valid_fraction,
                                        double test_fraction);

/// Whitespace-separated words of a line.
std::vector<std::string_view> split_words(std::string_view line);

/// Maps text to token ids and back: either a word vocabulary (built from the training text, with
/// <eos> and <unk>) or a SentencePiece model (whose eos and unk pieces play those roles).
class LmVocabulary {
 public:
  /// A word vocabulary from a training text: <eos> (id 0), <unk> (id 1), then every word seen at
  /// least `min_count` times, most frequent first (ties in byte order).
  static LmVocabulary build_words(const Text& train, int64_t min_count = 1);
  /// A word vocabulary with exactly these words (which must include <eos> and <unk>).
  static LmVocabulary from_words(std::vector<std::string> words);
  /// A SentencePiece vocabulary; the model needs an eos piece.
  static LmVocabulary from_sentencepiece(SentencePieceTokenizer tokenizer);

  /// Whether this is a word vocabulary (else SentencePiece).
  bool is_words() const { return !tokenizer_.has_value(); }
  int64_t size() const;
  int64_t eos_id() const { return eos_id_; }
  int64_t unk_id() const { return unk_id_; }

  /// The ids of a line, without <eos>. Adds the number of tokens mapped to <unk> to `*unknown`
  /// when given (for SentencePiece, pieces whose id is unk).
  std::vector<int64_t> encode_line(std::string_view line, int64_t* unknown = nullptr) const;
  /// Text of a sequence of ids: words joined by spaces, or SentencePiece's decoding; <eos>
  /// becomes a line break.
  std::string decode(const std::vector<int64_t>& ids) const;
  /// The words (word vocabularies only), indexed by id.
  const std::vector<std::string>& words() const { return words_; }
  /// The tokenizer (SentencePiece vocabularies only).
  const SentencePieceTokenizer& tokenizer() const { return *tokenizer_; }

  /// The word list as JSON text, for checkpoints ("" for SentencePiece, whose model is stored
  /// as the checkpoint's tokenizer_model).
  std::string to_json() const;
  /// Restores a vocabulary from a checkpoint's `extra` and `tokenizer_model`; `origin` names the
  /// checkpoint in errors.
  static LmVocabulary from_checkpoint(const std::string& extra, const std::string& tokenizer_model,
                                      const std::string& origin);
  /// Whether both map every token to the same id.
  bool same_as(const LmVocabulary& other) const;

 private:
  LmVocabulary() = default;

  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> index_;
  std::optional<SentencePieceTokenizer> tokenizer_;
  int64_t eos_id_ = 0;
  int64_t unk_id_ = 1;
};

/// A text encoded as one stream of ids.
struct Corpus {
  std::string name;     ///< where it came from, for messages
  torch::Tensor ids;    ///< (N) int64: an <eos> first, then each line's tokens followed by <eos>
  int64_t words = 0;    ///< words of the text counting one <eos> per line (per-word perplexity)
  int64_t unknown = 0;  ///< tokens mapped to <unk>
};

/// Encodes a text. The leading <eos> gives the first real token a context, so every token of
/// the text (ids[1:]) is predicted once. Throws InputError when the text has no tokens.
Corpus encode_corpus(const Text& text, const LmVocabulary& vocab);

/// Splits a stream (N) into `batch_size` contiguous streams: (N / batch_size, batch_size), column b
/// holding ids [b * rows, (b + 1) * rows). The last N % batch_size ids are dropped. Throws
/// InputError when there are fewer than 2 * batch_size ids.
torch::Tensor batchify(const torch::Tensor& ids, int64_t batch_size);

/// Number of BPTT batches in batchified `data` (R, B): ceil((R - 1) / bptt).
int64_t num_batches(const torch::Tensor& data, int64_t bptt);

/// Batch `index` of batchified `data` (R, B): input rows [index * bptt, +T) and target rows
/// shifted by one, each (T, B) with T = min(bptt, R - 1 - index * bptt).
std::pair<torch::Tensor, torch::Tensor> get_batch(const torch::Tensor& data, int64_t index,
                                                  int64_t bptt);

}  // namespace lstmnlp::lm
