#pragma once

// A word- or subword-level LSTM language model: Embedding -> LSTM -> Linear decoder, with the
// dropout placements of Zaremba et al. (2014) and weight tying (Press & Wolf 2017, Inan et al.
// 2017).
//
//   lstmnlp::lm::LanguageModel model(lstmnlp::lm::LanguageModelOptions(
//       /*vocab_size=*/10000, /*embedding_size=*/650, /*hidden_size=*/650)
//           .num_layers(2).dropout_embedding(0.5).dropout_hidden(0.5).dropout_output(0.5)
//           .tie_weights(true));
//   auto [logits, state] = model->forward(input);        // input (T, B) int64
//   auto [logits2, state2] = model->forward(next, detach(state));  // carry the state (TBPTT)
//
// The LSTM is lstmnlp::LSTM (the suite's own) or torch::nn::LSTM, chosen by `lstm`; everything
// else is the same.

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "models/lm/linear_cross_entropy.h"
#include "models/lstm.h"

namespace lstmnlp::lm {

/// Hidden and cell state, each (num_layers, B, hidden_size).
using LmState = std::tuple<torch::Tensor, torch::Tensor>;

/// The state without its autograd history (the truncation of truncated BPTT).
LmState detach(const LmState& state);

/// Options of LanguageModel.
struct LanguageModelOptions {
  LanguageModelOptions(int64_t vocab_size, int64_t embedding_size, int64_t hidden_size);

  /// Number of tokens V; must be positive.
  TORCH_ARG(int64_t, vocab_size);
  /// Width E of the embeddings; must be positive.
  TORCH_ARG(int64_t, embedding_size);
  /// Width H of each LSTM layer; must be positive, and equal E when tying weights.
  TORCH_ARG(int64_t, hidden_size);
  /// Number of stacked LSTM layers L. Default 2.
  TORCH_ARG(int64_t, num_layers) = 2;
  /// The LSTM implementation. Default kCustom.
  TORCH_ARG(LstmBackend, lstm) = LstmBackend::kCustom;
  /// Dropout on the embeddings (the first layer's input), in training only. Default 0.
  TORCH_ARG(double, dropout_embedding) = 0.0;
  /// Dropout between LSTM layers. Default 0.
  TORCH_ARG(double, dropout_hidden) = 0.0;
  /// Dropout on the last layer's output, before the decoder. Default 0.
  TORCH_ARG(double, dropout_output) = 0.0;
  /// Variational (locked) dropout: one mask per sequence and batch column, shared by all time
  /// steps of a forward call (Gal & Ghahramani 2016), instead of a fresh mask per step. With it
  /// the layers run as separate single-layer LSTMs. Default false.
  TORCH_ARG(bool, variational_dropout) = false;
  /// Share the embedding matrix with the decoder (the decoder keeps its own bias). Default false.
  TORCH_ARG(bool, tie_weights) = false;
  /// Embedding and decoder weights start uniform in ±init_range, the decoder bias at 0. Default
  /// 0.1.
  TORCH_ARG(double, init_range) = 0.1;
  /// Also initialise every LSTM parameter uniform in ±init_range, as Zaremba et al. do; when
  /// false the LSTM keeps torch's ±1/sqrt(H). Default true.
  TORCH_ARG(bool, init_lstm) = true;
};

/// See the file comment. Parameters: embedding.weight (V, E); the LSTM's under "rnn" (one
/// multi-layer LSTM) or "rnn0", "rnn1", ... (one per layer, with variational dropout);
/// decoder_weight (V, H) unless tied; decoder_bias (V).
class LanguageModelImpl : public torch::nn::Module {
 public:
  explicit LanguageModelImpl(const LanguageModelOptions& options);

  /// Re-initialises the parameters as the options describe.
  void reset_parameters();

  /// input: (T, B) int64 token ids; state: (h, c), each (L, B, H), zeros when absent.
  /// Returns the logits (T, B, V) and the final state (h_n, c_n).
  std::tuple<torch::Tensor, LmState> forward(const torch::Tensor& input,
                                             std::optional<LmState> state = std::nullopt);

  /// The decoder's input: embeddings, LSTM and output dropout. input: (T, B) int64; state as in
  /// forward(). Returns (T, B, H) and the final state.
  std::tuple<torch::Tensor, LmState> features(const torch::Tensor& input,
                                              std::optional<LmState> state = std::nullopt);

  /// The decoder: features (T, B, H) -> logits (T, B, V).
  torch::Tensor decode(const torch::Tensor& features);

  /// The negative log-likelihood of `target` (T, B) given features (T, B, H), summed over all
  /// T * B tokens (a scalar), through linear_cross_entropy().
  torch::Tensor nll(const torch::Tensor& features, const torch::Tensor& target);

  /// A zero state for batch size `batch_size`, on the model's device and dtype.
  LmState initial_state(int64_t batch_size) const;

  /// The decoder's weight (V, H): the embedding matrix when tied.
  torch::Tensor decoder_weight() const;

  LanguageModelOptions options;

 private:
  torch::Tensor dropout(const torch::Tensor& x, double p);
  std::tuple<torch::Tensor, LmState> run_lstm(size_t index, const torch::Tensor& x,
                                              const LmState& state);

  torch::nn::Embedding embedding_{nullptr};
  std::vector<LSTM> custom_;            // one multi-layer LSTM, or one per layer
  std::vector<torch::nn::LSTM> torch_;  // likewise, for LstmBackend::kTorch
  torch::Tensor decoder_weight_;        // undefined when tied
  torch::Tensor decoder_bias_;
};

/// A ModuleHolder for LanguageModelImpl.
TORCH_MODULE(LanguageModel);

}  // namespace lstmnlp::lm
