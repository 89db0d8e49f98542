#include "models/lm/generate.h"

#include <ATen/CPUGeneratorImpl.h>

namespace lstmnlp::lm {

int64_t sample_token(const torch::Tensor& logits, const SamplingOptions& options,
                     at::Generator& generator) {
  TORCH_CHECK(logits.dim() == 1, "sample_token expects logits (V), got ", logits.sizes());
  TORCH_CHECK(options.temperature >= 0, "temperature must be >= 0, got ", options.temperature);
  TORCH_CHECK(options.top_k >= 0, "top_k must be >= 0, got ", options.top_k);
  TORCH_CHECK(options.top_p > 0 && options.top_p <= 1, "top_p must be in (0, 1], got ",
              options.top_p);
  auto scores = logits.to(torch::kCPU, torch::kFloat32);
  if (options.temperature == 0) return scores.argmax().item<int64_t>();
  auto [sorted, order] = scores.div(options.temperature).sort(/*dim=*/0, /*descending=*/true);
  int64_t keep = sorted.size(0);
  if (options.top_k > 0) keep = std::min(keep, options.top_k);
  auto probs = torch::softmax(sorted.narrow(0, 0, keep), 0);
  if (options.top_p < 1) {
    // Keep tokens up to and including the first whose cumulative probability reaches top_p.
    const auto before = probs.cumsum(0) - probs;
    keep = std::max<int64_t>(1, (before < options.top_p).sum().item<int64_t>());
    probs = probs.narrow(0, 0, keep);
  }
  const auto pick = torch::multinomial(probs, 1, /*replacement=*/false, generator);
  return order[pick.item<int64_t>()].item<int64_t>();
}

std::vector<int64_t> generate(LanguageModel& model, int64_t eos_id,
                              const std::vector<int64_t>& context, int64_t length,
                              const SamplingOptions& options, uint64_t seed,
                              const std::function<void(int64_t)>& on_token) {
  TORCH_CHECK(length >= 0, "length must be >= 0, got ", length);
  torch::NoGradGuard no_grad;
  model->eval();
  at::Generator generator = at::detail::createCPUGenerator(seed);
  const auto device = model->decoder_weight().device();
  std::vector<int64_t> prefix = {eos_id};
  prefix.insert(prefix.end(), context.begin(), context.end());
  auto input = torch::tensor(prefix, torch::kInt64).view({-1, 1}).to(device);
  auto [logits, state] = model->forward(input);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < length; ++i) {
    const int64_t id = sample_token(logits[-1][0], options, generator);
    out.push_back(id);
    if (on_token) on_token(id);
    auto next = torch::full({1, 1}, id, torch::TensorOptions().dtype(torch::kInt64).device(device));
    std::tie(logits, state) = model->forward(next, state);
  }
  return out;
}

}  // namespace lstmnlp::lm
