#pragma once

// Sampling text from a language model.
//
//   SamplingOptions sampling;
//   sampling.temperature = 0.8;
//   sampling.top_k = 40;
//   auto ids = generate(model, vocab.encode_line("the company said"), /*length=*/50, sampling,
//                       /*seed=*/7, [&](int64_t id) { /* stream it */ });
//
// The same seed, model and options give the same tokens.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "models/lm/language_model.h"

namespace lstmnlp::lm {

/// How the next token is drawn from the model's distribution.
struct SamplingOptions {
  /// Logits are divided by it; 0 picks the most likely token (greedy). Default 1.
  double temperature = 1.0;
  /// Sample only among the k most likely tokens (0 = all). Default 0.
  int64_t top_k = 0;
  /// Nucleus sampling: only among the fewest most likely tokens whose probabilities sum to at
  /// least top_p, in (0, 1] (1 = all). Default 1.
  double top_p = 1.0;
};

/// Draws one token id from `logits` (V) with `options` and `generator`.
int64_t sample_token(const torch::Tensor& logits, const SamplingOptions& options,
                     at::Generator& generator);

/// Feeds <eos> then `context` (token ids, may be empty) to `model` in eval mode and samples
/// `length` tokens, calling `on_token` with each as soon as it is drawn. Returns the sampled ids.
std::vector<int64_t> generate(LanguageModel& model, int64_t eos_id,
                              const std::vector<int64_t>& context, int64_t length,
                              const SamplingOptions& options, uint64_t seed,
                              const std::function<void(int64_t)>& on_token = {});

}  // namespace lstmnlp::lm
