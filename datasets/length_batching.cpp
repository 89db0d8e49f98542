#include "datasets/length_batching.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace lstmnlp {

std::vector<int> encode_for_classifier(const SentencePieceTokenizer& tokenizer,
                                       std::string_view text, int64_t max_tokens) {
  std::vector<int> ids = tokenizer.encode(text);
  if (max_tokens > 0 && static_cast<int64_t>(ids.size()) > max_tokens) ids.resize(max_tokens);
  if (ids.empty()) ids.push_back(tokenizer.unk_id());
  return ids;
}

PaddedBatch make_batch(const std::vector<std::vector<int>>& sequences,
                       const std::vector<int64_t>& indices, int64_t pad_id) {
  TORCH_CHECK(!indices.empty(), "make_batch needs at least one sequence");
  const int64_t batch = static_cast<int64_t>(indices.size());
  int64_t steps = 0;
  for (int64_t i : indices) steps = std::max<int64_t>(steps, sequences.at(i).size());
  TORCH_CHECK(steps > 0, "make_batch got only empty sequences");
  auto tokens = torch::full({steps, batch}, pad_id, torch::kInt64);
  auto lengths = torch::empty({batch}, torch::kInt64);
  auto* tok = tokens.data_ptr<int64_t>();
  auto* len = lengths.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b) {
    const auto& seq = sequences[indices[b]];
    len[b] = static_cast<int64_t>(seq.size());
    for (size_t t = 0; t < seq.size(); ++t) tok[t * batch + b] = seq[t];
  }
  return {tokens, lengths};
}

std::vector<std::vector<int64_t>> plan_epoch_batches(const std::vector<int64_t>& lengths,
                                                     int64_t batch_size, uint64_t seed,
                                                     int64_t epoch) {
  TORCH_CHECK(batch_size > 0, "batch_size must be positive, got ", batch_size);
  const int64_t n = static_cast<int64_t>(lengths.size());
  // A distinct, reproducible stream per (seed, epoch).
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(epoch), 0x5e47u};
  std::mt19937_64 rng(seq);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);

  std::vector<std::vector<int64_t>> batches;
  const int64_t pool = batch_size * kBatchesPerPool;
  for (int64_t start = 0; start < n; start += pool) {
    const auto begin = order.begin() + start;
    const auto end = order.begin() + std::min(n, start + pool);
    std::stable_sort(begin, end, [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
    for (auto it = begin; it < end; it += std::min<int64_t>(batch_size, end - it)) {
      batches.emplace_back(it, it + std::min<int64_t>(batch_size, end - it));
    }
  }
  std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

std::vector<std::vector<int64_t>> plan_inference_batches(const std::vector<int64_t>& lengths,
                                                         int64_t batch_size,
                                                         int64_t max_batch_tokens) {
  TORCH_CHECK(batch_size > 0, "batch_size must be positive, got ", batch_size);
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<int64_t>> batches;
  std::vector<int64_t> current;
  int64_t longest = 0;
  for (int64_t i : order) {
    const int64_t next_longest = std::max(longest, lengths[i]);
    const bool full = static_cast<int64_t>(current.size()) >= batch_size ||
                      (max_batch_tokens > 0 && !current.empty() &&
                       next_longest * static_cast<int64_t>(current.size() + 1) > max_batch_tokens);
    if (full) {
      batches.push_back(std::move(current));
      current.clear();
      longest = 0;
    }
    current.push_back(i);
    longest = std::max(longest, lengths[i]);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

ShareRange share_of(int64_t n, int index, int parts) {
  return {n * index / parts, n * (index + 1) / parts};
}

std::vector<std::vector<int64_t>> shard_batches(std::vector<std::vector<int64_t>> plan, int rank,
                                                int world_size) {
  if (world_size <= 1) return plan;
  std::vector<std::vector<int64_t>> mine;
  mine.reserve(plan.size());
  for (const auto& batch : plan) {
    const auto n = static_cast<int64_t>(batch.size());
    if (n < world_size) continue;
    const auto share = share_of(n, rank, world_size);
    mine.emplace_back(batch.begin() + share.first, batch.begin() + share.last);
  }
  return mine;
}

int64_t sharded_batch_count(int64_t examples, int64_t batch_size, int world_size) {
  const int64_t global = batch_size * world_size;
  const int64_t batches = (examples + global - 1) / global;
  const int64_t last = examples % global;
  return last != 0 && last < world_size ? batches - 1 : batches;
}

}  // namespace lstmnlp
