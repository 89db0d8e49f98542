#pragma once

// SQuAD questions encoded for an extractive reader: SentencePiece pieces with their byte spans in
// the original context, answer spans in pieces, and DrQA's exact-match and term-frequency
// features (Chen et al. 2017), computed per batch.
//
//   SquadEncoding data = encode_squad(read_squad("dev-v1.1.json"), tokenizer, options);
//   QaBatch batch = make_qa_batch(data, {0, 1, 2}, tokenizer.pad_id(), /*max_context=*/0);
//   std::string answer = answer_text(data, 0, /*start=*/5, /*end=*/7);  // original bytes
//
// Invariant: for every aligned answer, the original bytes from its start piece's first
// non-space byte to its end piece's last byte equal the answer text byte for byte. Answers that
// do not start and end on piece boundaries are mapped to the pieces that cover them and counted
// in SquadEncodingStats::unaligned.
//
// Words, for the exact-match features, are maximal runs of ASCII letters and digits and of
// non-ASCII characters; every other visible ASCII character is a word of its own. A piece
// belongs to the word of its first non-space byte.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/squad.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp {

/// Features per context piece: word in the question (original form), lowercased word in the
/// question, piece in the question, and the lowercased word's term frequency in the context.
inline constexpr int64_t kQaFeatures = 4;

/// A tokenized context paragraph.
struct QaContext {
  std::string text;                 ///< the original context
  std::vector<int> ids;             ///< piece ids
  std::vector<int32_t> begin;       ///< each piece's first non-space byte in `text`
  std::vector<int32_t> end;         ///< one past each piece's last byte
  std::vector<int32_t> word;        ///< each piece's word, interned
  std::vector<int32_t> word_lower;  ///< each piece's lowercased word, interned
  std::vector<float> tf;            ///< the lowercased word's count / the context's word count
};

/// A tokenized question about one context.
struct QaQuestion {
  std::string id;
  int32_t context = 0;               ///< index into SquadEncoding::contexts
  std::vector<int> ids;              ///< piece ids (at most max_question_tokens)
  std::vector<int32_t> words;        ///< interned words, sorted, unique
  std::vector<int32_t> words_lower;  ///< interned lowercased words, sorted, unique
  std::vector<int32_t> pieces;       ///< piece ids, sorted, unique
  int32_t answer_start = -1;         ///< first piece of the first answer (-1: none)
  int32_t answer_end = -1;           ///< last piece of the first answer, inclusive
};

/// What encoding found.
struct SquadEncodingStats {
  int64_t questions = 0;   ///< questions encoded
  int64_t answers = 0;     ///< first answers seen (training target)
  int64_t unaligned = 0;   ///< of those, not on piece boundaries (mapped to covering pieces)
  int64_t misaligned = 0;  ///< answer text not at answer_start in the file (no target)
  int64_t impossible = 0;  ///< v2.0 unanswerable questions skipped
  int64_t excluded = 0;    ///< left out by id (SquadEncodingOptions::exclude_ids)
};

/// How to encode.
struct SquadEncodingOptions {
  int64_t max_question_tokens = 64;      ///< longer questions keep their first pieces
  bool skip_impossible = true;           ///< leave v2.0 unanswerable questions out
  std::vector<std::string> exclude_ids;  ///< question ids to leave out (e.g. ambiguous offsets)
  int64_t max_questions = 0;             ///< keep only the first N questions (0 = all)
};

/// A dataset ready for the reader.
struct SquadEncoding {
  std::vector<QaContext> contexts;
  std::vector<QaQuestion> questions;
  SquadEncodingStats stats;
};

/// Tokenizes every context once and every question, and aligns the first answer of each.
SquadEncoding encode_squad(const SquadDataset& data, const SentencePieceTokenizer& tokenizer,
                           const SquadEncodingOptions& options = {});

/// A padded batch of questions; contexts are (T, B), questions (Tq, B).
struct QaBatch {
  torch::Tensor context;           ///< (T, B) int64 piece ids, pad after each end
  torch::Tensor context_lengths;   ///< (B) int64, CPU
  torch::Tensor features;          ///< (T, B, kQaFeatures) float
  torch::Tensor question;          ///< (Tq, B) int64
  torch::Tensor question_lengths;  ///< (B) int64, CPU
  torch::Tensor start;             ///< (B) int64 answer start piece (-1 when none in range)
  torch::Tensor end;               ///< (B) int64 answer end piece
};

/// Builds the batch of `indices` (into data.questions). With `max_context` > 0 contexts keep
/// their first max_context pieces, and answers that end beyond them get start = end = -1.
QaBatch make_qa_batch(const SquadEncoding& data, const std::vector<int64_t>& indices,
                      int64_t pad_id, int64_t max_context);

/// The original text of pieces [start, end] (inclusive) of question `q`'s context.
std::string answer_text(const SquadEncoding& data, int64_t q, int64_t start, int64_t end);

/// The byte spans of the sentences of `text` (split after . ! ? followed by whitespace).
std::vector<std::pair<size_t, size_t>> sentence_spans(const std::string& text);

/// Reads question ids from the first column of a TSV file with a header line (as
/// ambiguous_answer_starts.tsv has). Throws InputError naming the file.
std::vector<std::string> read_id_column(const std::string& path);

}  // namespace lstmnlp
