#pragma once

// torch::nn::LSTM's weights run through oneDNN's LSTM primitive: the third column of lstm-bench,
// the CPU LSTM that PyTorch 2.x users get (at::mkldnn_rnn_layer calls the same primitive).
//
//   OneDnnLstm dnnl(reference, "forward_backward", x.size(0), x.size(1));
//   OneDnnResult r = dnnl.run(x, grad_out);  // outputs, states and gradients, torch's layout
//
// Built with oneDNN 2.x (Debian 12's libdnnl-dev, the library LibTorch 1.13 itself links).
// Elsewhere (no oneDNN, or oneDNN 3, whose API differs, under LibTorch 2.x where
// torch::nn::LSTM already runs on it) onednn_unavailable_reason() says why and nothing runs.
//
// What a round costs is what a module built on the primitive pays per call: inference reorders
// the weights into the primitive's layout once, at construction, as a served model would;
// training reorders them in every round (they change at every step), zeroes the weight
// gradients, which the primitive accumulates, and reorders the gradients back to torch's layout.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace lstmnlp::bench {

/// Empty when OneDnnLstm can run `lstm` in `mode`; else why not (one line).
std::string onednn_unavailable_reason(const torch::nn::LSTM& lstm);

/// What one round produced, in torch's layout.
struct OneDnnResult {
  torch::Tensor output, h_n, c_n;          ///< (T, B, D*H), (L*D, B, H), (L*D, B, H)
  torch::Tensor input_grad;                ///< forward_backward only
  std::vector<torch::Tensor> param_grads;  ///< in torch's parameters() order
  /// Wall time of the round's parts: weight and gradient reorders, the forward primitive, the
  /// backward primitive (with the zeroing of the weight gradients).
  double reorder_seconds = 0, forward_seconds = 0, backward_seconds = 0;
};

/// A float32 CPU LSTM of the standard cell on oneDNN; see the file comment.
class OneDnnLstm {
 public:
  /// `mode` is "inference", "forward" (training forward) or "forward_backward"; x is (T, B, F).
  OneDnnLstm(const torch::nn::LSTM& source, const std::string& mode, int64_t steps, int64_t batch);
  ~OneDnnLstm();
  OneDnnLstm(OneDnnLstm&&) noexcept;

  /// One round on x (T, B, F); grad_out (T, B, D*H) is used by forward_backward.
  OneDnnResult run(const torch::Tensor& x, const torch::Tensor& grad_out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lstmnlp::bench
