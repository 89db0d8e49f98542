#pragma once

// A multi-layer LSTM with the interface, parameter layout and numerics of torch::nn::LSTM, plus
// cell variants that torch lacks, per-sequence lengths and a hand-written backward.
//
//   lstmnlp::LSTM lstm(lstmnlp::LSTMOptions(/*input_size=*/650, /*hidden_size=*/650)
//                          .num_layers(2)
//                          .dropout(0.5));
//   auto [output, state] = lstm->forward(input);            // input (T, B, 650)
//   auto [h_n, c_n] = state;                                // each (2, B, 650)
//
// Invariant: with cell kStandard and the same weights (copy_weights_from_torch), forward() and
// every gradient equal those of torch::nn::LSTM up to floating-point rounding; with `lengths`
// they equal pack_padded_sequence -> torch::nn::LSTM -> pad_packed_sequence.
//
// Each layer and direction is one custom autograd function over the whole sequence: the input
// projection x·W_ih^T is one matrix product, the recurrence does one W_hh·h product per step
// followed by one fused, in-place pass over the gates (vectorised, AVX2 or AVX-512 as the CPU
// has them; generic tensor operations on CUDA), and the backward computes dW_ih, dW_hh and the
// input gradient as single products over all time steps after the reverse loop (those products
// on oneDNN's sgemm in float32 where the build has it, models/dense_gemm.h). The gate gradients
// overwrite the saved gate activations, so a second backward through a retained graph recomputes
// the forward. Inference (no gradient needed) of the standard cell in float32 on the CPU without
// `lengths`, with at least 16 sequences, runs each layer on oneDNN's LSTM primitive where the build
// has it (models/onednn_layer.h), with the weights kept in its layout between calls; it agrees with
// the own kernels to float32 rounding. LSTMNLP_ONEDNN=0 in the environment keeps every call on the
// own kernels.

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/common.h>
#include <torch/nn/modules/container/any_module_holder.h>
#include <torch/nn/modules/container/any_value.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace lstmnlp {

namespace kernels {
class OneDnnLayer;
}

/// The recurrent cell computed by every layer of an LSTM.
enum class LSTMCellType {
  /// torch::nn::LSTM's cell: gates i, f, g, o; c' = f*c + i*g; h' = o*tanh(c').
  kStandard,
  /// Gers & Schmidhuber (2000) peepholes: the input and forget gates also see c, the output gate
  /// sees c'. i = σ(W_ii x + W_hi h + b_i + w_ci*c), f likewise with w_cf, o = σ(... + w_co*c').
  /// The diagonal peephole weights of a layer are the parameter `weight_c_l{k}[_reverse]` of
  /// shape (3*hidden_size) holding w_ci, w_cf, w_co in that order.
  kPeephole,
  /// Hochreiter & Schmidhuber (1997): input and output gates only, no forget gate, so the cell
  /// state only accumulates: c' = c + i*g; h' = o*tanh(c') (tanh stands in for the paper's
  /// squashing function h). The weights keep torch's names with 3 gate blocks in the order
  /// i, g, o: weight_ih (3*hidden_size, input), weight_hh (3*hidden_size, hidden_size).
  k1997,
};

/// Which LSTM implementation a model runs (the `model.lstm` key of lm and sentiment configs).
enum class LstmBackend {
  kCustom,  ///< lstmnlp::LSTM (this header)
  kTorch,   ///< torch::nn::LSTM
};

/// Parses "standard", "peephole" or "1997" (for configs and command lines).
LSTMCellType parse_lstm_cell_type(const std::string& name);

/// The name parse_lstm_cell_type() accepts for `type`.
std::string to_string(LSTMCellType type);

/// Options for lstmnlp::LSTM; the fields shared with torch::nn::LSTMOptions mean the same.
struct LSTMOptions {
  LSTMOptions(int64_t input_size, int64_t hidden_size);

  /// Number of features of each input step (F); must be positive.
  TORCH_ARG(int64_t, input_size);
  /// Number of features of the hidden and cell states (H); must be positive.
  TORCH_ARG(int64_t, hidden_size);
  /// Number of stacked layers; layer k > 0 reads layer k-1's output. Default 1.
  TORCH_ARG(int64_t, num_layers) = 1;
  /// Whether each layer has the biases bias_ih and bias_hh. Default true.
  TORCH_ARG(bool, bias) = true;
  /// If true, input and output are (B, T, F) instead of (T, B, F); states stay (L*D, B, H).
  /// Default false.
  TORCH_ARG(bool, batch_first) = false;
  /// Dropout probability on the output of every layer but the last, in training only; in [0, 1].
  /// Default 0.
  TORCH_ARG(double, dropout) = 0.0;
  /// Whether each layer also runs right to left (D = 2) and concatenates both outputs. Default
  /// false.
  TORCH_ARG(bool, bidirectional) = false;
  /// The cell variant; see LSTMCellType. Default kStandard.
  TORCH_ARG(LSTMCellType, cell) = LSTMCellType::kStandard;
  /// Added to the forget-gate slice of every bias_ih after the uniform initialisation, so the
  /// forget gate starts biased towards remembering; Jozefowicz et al. (2015) recommend 1.0.
  /// Default 0, which keeps torch's initialisation. Needs `bias` and a cell with a forget gate.
  TORCH_ARG(double, forget_bias) = 0.0;
  /// Use the fused CPU kernels for float and double CPU tensors. When false, or on other devices
  /// and dtypes, the gate math runs as generic tensor operations (the CUDA path). Default true.
  TORCH_ARG(bool, fused_cpu_kernels) = true;
};

/// A multi-layer LSTM; see the file comment. Parameters per layer k and direction
/// (suffix "" or "_reverse"), with G = 4 gates (3 for k1997) and F_k = input_size for k = 0,
/// D*hidden_size above:
///   weight_ih_l{k}  (G*H, F_k)   weight_hh_l{k}  (G*H, H)
///   bias_ih_l{k}    (G*H)        bias_hh_l{k}    (G*H)          (when `bias`)
///   weight_c_l{k}   (3*H)                                       (kPeephole only)
/// Gate blocks are ordered i, f, g, o (i, g, o for k1997). All start uniform in ±1/sqrt(H).
class LSTMImpl : public torch::nn::Cloneable<LSTMImpl> {
 public:
  LSTMImpl(int64_t input_size, int64_t hidden_size)
      : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}
  explicit LSTMImpl(const LSTMOptions& options);

  /// Checks the options and (re)creates the parameters.
  void reset() override;

  /// Re-initialises the parameters as described in the class comment.
  void reset_parameters();

  /// Runs the LSTM.
  /// input: (T, B, F), or (B, T, F) with batch_first, or unbatched (T, F).
  /// state: optional (h0, c0), each (L*D, B, H) ((L*D, H) when unbatched); zeros when absent,
  ///   with the input's dtype and device.
  /// lengths: optional (B) integer tensor with 1 <= lengths[b] <= T; step t of sequence b is
  ///   padding when t >= lengths[b]: its output is zero and the state skips it, in both
  ///   directions. Any order is fine (no sorting needed).
  /// Returns (output, (h_n, c_n)): output (T, B, D*H) (batch_first: (B, T, D*H)); h_n and c_n
  /// (L*D, B, H), the states after each sequence's last real step in each direction.
  std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>> forward(
      const torch::Tensor& input,
      std::optional<std::tuple<torch::Tensor, torch::Tensor>> state = std::nullopt,
      std::optional<torch::Tensor> lengths = std::nullopt);

  /// Checks forward()'s arguments against the options and the parameters: the input's rank,
  /// features, dtype and device, the initial state's shapes, dtypes and devices, and the shape
  /// and integer type of `lengths` (their values are checked by forward(), which reads them).
  /// Throws c10::Error with the offending shape or type.
  void check_forward_args(const torch::Tensor& input,
                          const std::optional<std::tuple<torch::Tensor, torch::Tensor>>& state,
                          const std::optional<torch::Tensor>& lengths) const;

  /// Prints e.g. "lstmnlp::LSTM(input_size=650, hidden_size=650, num_layers=2, cell=standard)".
  void pretty_print(std::ostream& stream) const override;

  /// The parameters of `layer` and direction (0 forward, 1 reverse) in the order
  /// weight_ih, weight_hh, bias_ih, bias_hh, weight_c; absent ones are undefined tensors.
  std::vector<torch::Tensor> layer_parameters(int64_t layer, int64_t direction) const;

  /// The options this module was built with.
  LSTMOptions options;

 protected:
  // `state` and `lengths` are optional inside torch::nn::Sequential and AnyModule too.
  FORWARD_HAS_DEFAULT_ARGS(
      {1, torch::nn::AnyValue(std::optional<std::tuple<torch::Tensor, torch::Tensor>>())},
      {2, torch::nn::AnyValue(std::optional<torch::Tensor>())})

 private:
  struct LayerWeights {
    torch::Tensor w_ih, w_hh, b_ih, b_hh, w_c;
  };
  std::vector<LayerWeights> layers_;  // indexed layer * D + direction
  // Each layer's and direction's oneDNN inference and its cached weights, likewise indexed;
  // made anew by reset(), so a clone() has its own.
  std::vector<std::shared_ptr<kernels::OneDnnLayer>> onednn_;
};

/// A ModuleHolder for LSTMImpl (shared-pointer semantics, like torch::nn::LSTM).
TORCH_MODULE(LSTM);

/// Builds an lstmnlp::LSTM with the same options (cell kStandard) and a copy of the weights of
/// `source`, on the same device and dtype. `source` must not use proj_size.
LSTM lstm_from_torch(const torch::nn::LSTM& source);

/// Builds a torch::nn::LSTM with the same options and a copy of the weights of `source`, which
/// must use cell kStandard.
torch::nn::LSTM lstm_to_torch(const LSTM& source);

/// Copies every weight of `source` into `target`. Their sizes, layers, directions and bias must
/// agree and `target` must use cell kStandard.
void copy_weights_from_torch(const torch::nn::LSTM& source, LSTM& target);

/// Copies every weight of `source` (cell kStandard) into `target`; the shapes must agree.
void copy_weights_to_torch(const LSTM& source, torch::nn::LSTM& target);

/// Writes the parameters of `lstm` as a dict of CPU tensors keyed by parameter name, in the
/// format of Python's torch.save (core/state_dict.h), so that
/// `torch.nn.LSTM(...).load_state_dict(torch.load(path))` accepts it in PyTorch 1.13 and 2.6+
/// alike (cell kStandard; other cells export their extra or reshaped tensors under the
/// names documented on LSTMImpl). Throws InputError when the file cannot be written.
void save_state_dict_for_python(const LSTM& lstm, const std::string& path);

}  // namespace lstmnlp
