#pragma once

// Turning token-id sequences into padded batches, grouped by length so that little compute goes
// to padding.
//
//   auto plan = plan_epoch_batches(lengths, /*batch_size=*/64, /*seed=*/1234, /*epoch=*/0);
//   PaddedBatch batch = make_batch(sequences, plan[0], tokenizer.pad_id());
//   model->forward(batch.tokens, batch.lengths);   // tokens (T, B), lengths (B)

#include <torch/torch.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenization/sentencepiece_tokenizer.h"

namespace lstmnlp {

/// Token ids of one text, at most `max_tokens` long (longer texts keep their first max_tokens
/// pieces); a text that encodes to nothing becomes a single unk so every sequence has length >= 1.
std::vector<int> encode_for_classifier(const SentencePieceTokenizer& tokenizer,
                                       std::string_view text, int64_t max_tokens);

/// A padded batch.
struct PaddedBatch {
  torch::Tensor tokens;   ///< (T, B) int64, T = the longest sequence, pad_id after each end
  torch::Tensor lengths;  ///< (B) int64 on the CPU
};

/// Builds a batch from sequences[indices[0]], sequences[indices[1]], … in that order.
PaddedBatch make_batch(const std::vector<std::vector<int>>& sequences,
                       const std::vector<int64_t>& indices, int64_t pad_id);

/// The batches of one training epoch, as indices into the examples. The examples are shuffled,
/// cut into pools of kBatchesPerPool batches, sorted by length within each pool and cut into
/// batches, and the batch order is shuffled again. It depends only on (seed, epoch), so a resumed
/// run sees the same batches; there are always ceil(N / batch_size) of them.
std::vector<std::vector<int64_t>> plan_epoch_batches(const std::vector<int64_t>& lengths,
                                                     int64_t batch_size, uint64_t seed,
                                                     int64_t epoch);

/// Items [first, last) of `n`: part `index` of `parts` contiguous parts, whose sizes differ by at
/// most one; rank r of W processes takes [r * n / W, (r + 1) * n / W).
struct ShareRange {
  int64_t first = 0;
  int64_t last = 0;
};
ShareRange share_of(int64_t n, int index, int parts);

/// Rank `rank`'s part of each batch of an epoch trained by `world_size` processes, whose plan
/// was made with world_size times the batch size: of a batch of n, examples
/// share_of(n, rank, world_size). So W processes of batch B see the batches
/// of one process of batch W * B. A batch of fewer than world_size examples (at most the one
/// short batch of a plan) is left out, so that every rank takes sharded_batch_count() steps.
/// With one process, the plan itself.
std::vector<std::vector<int64_t>> shard_batches(std::vector<std::vector<int64_t>> plan, int rank,
                                                int world_size);

/// The number of batches of shard_batches() of an epoch of `examples` in batches of
/// world_size * `batch_size`.
int64_t sharded_batch_count(int64_t examples, int64_t batch_size, int world_size);

/// Batches of `lengths`' indices for inference: sorted by length (longest first), then cut into
/// batches of at most `batch_size` sequences and `max_batch_tokens` padded tokens.
std::vector<std::vector<int64_t>> plan_inference_batches(const std::vector<int64_t>& lengths,
                                                         int64_t batch_size,
                                                         int64_t max_batch_tokens);

/// Batches per sorting pool in plan_epoch_batches.
inline constexpr int64_t kBatchesPerPool = 50;

}  // namespace lstmnlp
