#include "models/lm/language_model.h"

#include <torch/torch.h>

#include "core/error.h"

namespace lstmnlp::lm {

LmState detach(const LmState& state) {
  return {std::get<0>(state).detach(), std::get<1>(state).detach()};
}

LanguageModelOptions::LanguageModelOptions(int64_t vocab_size, int64_t embedding_size,
                                           int64_t hidden_size)
    : vocab_size_(vocab_size), embedding_size_(embedding_size), hidden_size_(hidden_size) {}

LanguageModelImpl::LanguageModelImpl(const LanguageModelOptions& options_) : options(options_) {
  const auto& o = options;
  TORCH_CHECK(o.vocab_size() > 0 && o.embedding_size() > 0 && o.hidden_size() > 0,
              "vocab_size, embedding_size and hidden_size must be positive, got ", o.vocab_size(),
              ", ", o.embedding_size(), ", ", o.hidden_size());
  TORCH_CHECK(o.num_layers() > 0, "num_layers must be positive, got ", o.num_layers());
  for (double p : {o.dropout_embedding(), o.dropout_hidden(), o.dropout_output()}) {
    TORCH_CHECK(p >= 0 && p < 1, "dropout probabilities must be in [0, 1), got ", p);
  }
  TORCH_CHECK(!o.tie_weights() || o.embedding_size() == o.hidden_size(),
              "tying weights needs embedding_size == hidden_size, got ", o.embedding_size(),
              " and ", o.hidden_size());
  TORCH_CHECK(o.init_range() > 0, "init_range must be positive, got ", o.init_range());

  embedding_ =
      register_module("embedding", torch::nn::Embedding(o.vocab_size(), o.embedding_size()));
  // Locked dropout between layers needs each layer's output, so the layers run separately.
  const bool per_layer = o.variational_dropout() && o.num_layers() > 1;
  const int64_t modules = per_layer ? o.num_layers() : 1;
  for (int64_t k = 0; k < modules; ++k) {
    const int64_t input = k == 0 ? o.embedding_size() : o.hidden_size();
    const int64_t layers = per_layer ? 1 : o.num_layers();
    const double between = per_layer ? 0.0 : o.dropout_hidden();
    const std::string name = per_layer ? "rnn" + std::to_string(k) : "rnn";
    if (o.lstm() == LstmBackend::kCustom) {
      custom_.emplace_back(register_module(
          name, LSTM(LSTMOptions(input, o.hidden_size()).num_layers(layers).dropout(between))));
    } else {
      torch_.emplace_back(register_module(
          name,
          torch::nn::LSTM(
              torch::nn::LSTMOptions(input, o.hidden_size()).num_layers(layers).dropout(between))));
    }
  }
  if (!o.tie_weights()) {
    decoder_weight_ =
        register_parameter("decoder_weight", torch::empty({o.vocab_size(), o.hidden_size()}));
  }
  decoder_bias_ = register_parameter("decoder_bias", torch::empty({o.vocab_size()}));
  reset_parameters();
}

void LanguageModelImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double r = options.init_range();
  embedding_->weight.uniform_(-r, r);
  if (decoder_weight_.defined()) decoder_weight_.uniform_(-r, r);
  decoder_bias_.zero_();
  if (options.init_lstm()) {
    for (auto& m : custom_) {
      for (auto& p : m->parameters()) p.uniform_(-r, r);
    }
    for (auto& m : torch_) {
      for (auto& p : m->parameters()) p.uniform_(-r, r);
    }
  }
}

torch::Tensor LanguageModelImpl::decoder_weight() const {
  return options.tie_weights() ? embedding_->weight : decoder_weight_;
}

LmState LanguageModelImpl::initial_state(int64_t batch_size) const {
  auto zeros = torch::zeros({options.num_layers(), batch_size, options.hidden_size()},
                            embedding_->weight.options());
  return {zeros, zeros.clone()};
}

torch::Tensor LanguageModelImpl::dropout(const torch::Tensor& x, double p) {
  if (!is_training() || p == 0) return x;
  if (!options.variational_dropout()) return torch::dropout(x, p, /*train=*/true);
  // One mask per batch column and feature, shared across the T steps of x (T, B, F).
  auto mask = torch::empty({1, x.size(1), x.size(2)}, x.options()).bernoulli_(1 - p).div_(1 - p);
  return x * mask;
}

std::tuple<torch::Tensor, LmState> LanguageModelImpl::run_lstm(size_t index, const torch::Tensor& x,
                                                               const LmState& state) {
  if (!custom_.empty()) {
    auto [out, s] = custom_[index]->forward(x, state);
    return {out, s};
  }
  auto [out, s] = torch_[index]->forward(x, state);
  return {out, s};
}

std::tuple<torch::Tensor, LmState> LanguageModelImpl::features(const torch::Tensor& input,
                                                               std::optional<LmState> state) {
  TORCH_CHECK(input.dim() == 2, "LanguageModel expects input (T, B), got ", input.sizes());
  const int64_t batch = input.size(1);
  LmState s = state ? *state : initial_state(batch);
  const auto& [h0, c0] = s;
  TORCH_CHECK(h0.dim() == 3 && h0.size(0) == options.num_layers() && h0.size(1) == batch &&
                  h0.size(2) == options.hidden_size() && c0.sizes() == h0.sizes(),
              "state must be (", options.num_layers(), ", ", batch, ", ", options.hidden_size(),
              ") each, got ", h0.sizes(), " and ", c0.sizes());

  auto x = dropout(embedding_->forward(input), options.dropout_embedding());
  LmState out_state;
  const size_t modules = std::max(custom_.size(), torch_.size());
  if (modules == 1) {
    std::tie(x, out_state) = run_lstm(0, x, s);
  } else {
    std::vector<torch::Tensor> hs, cs;
    for (size_t k = 0; k < modules; ++k) {
      if (k > 0) x = dropout(x, options.dropout_hidden());
      LmState layer_state{h0.narrow(0, k, 1), c0.narrow(0, k, 1)};
      LmState next;
      std::tie(x, next) = run_lstm(k, x, layer_state);
      hs.push_back(std::get<0>(next));
      cs.push_back(std::get<1>(next));
    }
    out_state = {torch::cat(hs), torch::cat(cs)};
  }
  return {dropout(x, options.dropout_output()), out_state};
}

torch::Tensor LanguageModelImpl::decode(const torch::Tensor& features) {
  const int64_t rows = features.size(0) * features.size(1);
  auto logits = torch::addmm(decoder_bias_, features.reshape({rows, options.hidden_size()}),
                             decoder_weight().t());
  return logits.view({features.size(0), features.size(1), options.vocab_size()});
}

torch::Tensor LanguageModelImpl::nll(const torch::Tensor& features, const torch::Tensor& target) {
  TORCH_CHECK(target.sizes() == features.sizes().slice(0, 2),
              "target must be (T, B) = ", features.sizes().slice(0, 2), ", got ", target.sizes());
  const int64_t rows = features.size(0) * features.size(1);
  return linear_cross_entropy(features.reshape({rows, options.hidden_size()}), decoder_weight(),
                              decoder_bias_, target.reshape({rows}));
}

std::tuple<torch::Tensor, LmState> LanguageModelImpl::forward(const torch::Tensor& input,
                                                              std::optional<LmState> state) {
  auto [x, out_state] = features(input, std::move(state));
  return {decode(x), out_state};
}

}  // namespace lstmnlp::lm
