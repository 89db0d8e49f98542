#pragma once

// One small LSTM net of Hochreiter & Schmidhuber (1997), trained online with the paper's
// truncated real-time gradient, in plain C++ loops over double arrays.
//
//   NetSpec spec;  // 7 inputs, 3 blocks x 2 cells, 7 outputs: the Embedded Reber net
//   TrialNet net(spec, /*seed=*/1);
//   double sse = train_sequence(net, sequence, /*lr=*/0.5, /*update_each_step=*/true);
//
// Tiny nets trained on one sequence per update are bound by per-operation overhead, so the
// experiment runner gives every trial its own TrialNet and runs trials on threads; one step
// costs a few hundred multiply-adds and no allocation.
//
// Architecture (the paper's section 5): a hidden layer of memory-cell blocks. Block j has an
// input gate, an output gate (and, in the standard cell, a forget gate) shared by its cells.
// Every hidden unit (cell or gate) sees a bias, the inputs and the recurrent sources at t-1:
// the cell outputs and, when `recurrent_gates`, the gate activations too ("memory cells and
// gate units receive inputs from input units, memory cells and gate units", Table 10's
// connectivity F). Output units are sigmoids over the cell outputs (and the inputs when
// `input_to_output`). Experiment 2a's net drops the output gate, the biases and every
// recurrent source (output_gate, gate_bias, recurrent_cells all false).
//
//   net_u(t) = W_u · [1, x(t), r(t-1)]
//   s_c(t)   = f_j(t) s_c(t-1) + in_j(t) g(net_c(t))    (f_j = 1 in the 1997 cell)
//   y_c(t)   = out_j(t) h(s_c(t))                        (out_j = 1 without output gates)
//   y_k(t)   = sigmoid(V_k · [1, y_c(t), x(t)])
//
// with g(x) = 4 sigmoid(x) - 2 and h(x) = 2 sigmoid(x) - 1 (Squash::kPaper), g = h = tanh, or
// g = sigmoid and h the identity (Squash::kSigmoidIdentity, experiments 2a and 2b).
//
// Gradient: the paper's truncation. Errors reaching a hidden unit's net input are not
// propagated further back in time; only the memory cell's state s_c carries them across
// steps. TrialNet computes this gradient forward in time (truncated RTRL: the partials
// ds_c/dw for the weights of cell c and of its block's input and forget gates), so weights can
// change after every step, as in the paper, or after every sequence.

#include <cstdint>
#include <vector>

#include "datasets/paper_tasks.h"

namespace lstmnlp::paper {

/// Squashing functions of the cell input (g) and output (h).
enum class Squash {
  kPaper,  ///< g = 4 sigmoid - 2 in [-2, 2], h = 2 sigmoid - 1 in [-1, 1] (the 1997 paper)
  kTanh,   ///< g = h = tanh (the standard cell)
  /// g = sigmoid in [0, 1], h = identity: experiments 2a and 2b ("g1" and "h = id" in the
  /// paper's Table 10)
  kSigmoidIdentity,
};

/// When a hidden unit reads the gate activations of the step it is computed in.
enum class HiddenUpdate {
  /// Every hidden unit reads the activations of step t-1 (the appendix's notation).
  kSimultaneous,
  /// The paper's section 5 order within a step, "input gates, output gates, memory cells",
  /// each group reading the gate activations the groups before it computed at step t and all
  /// other recurrent sources at t-1: output gates see in(t), cells see in(t) and out(t).
  /// Needs recurrent_gates to make a difference, and no forget gate.
  kInOrder,
};

/// Which gradient train_sequence() follows.
enum class Gradient {
  kTruncated,  ///< the paper's: errors cross time steps only through the cell states
  kFull,       ///< full backpropagation through time (one update per sequence only)
  /// The same untruncated gradient computed forward in time (real-time recurrent learning:
  /// the partials of every recurrent source and cell state with respect to every hidden
  /// weight), so weights can change after every step. 1997 cell only (no forget gate), every
  /// hidden unit reading step t-1 (HiddenUpdate::kSimultaneous).
  kRtrl,
};

/// Sizes and initialisation of one net. Gate biases are set (not drawn) to
/// `bias + j * bias_step` for block j = 0, 1, ..., unless drawn (`*_gate_bias_random`).
struct NetSpec {
  int64_t inputs = 7;
  int64_t outputs = 7;
  int64_t blocks = 3;
  int64_t cells_per_block = 2;
  /// Adds a forget gate per block (Gers et al. 2000); false is the 1997 cell.
  bool forget_gate = false;
  /// An output gate per block; false gives experiment 2a's cell, "an input gate only (no
  /// output gate)" (the paper, section 5.2), whose output is h(s_c) itself.
  bool output_gate = true;
  Squash squash = Squash::kPaper;
  /// Cell outputs are recurrent sources of every hidden unit (the paper's fully connected
  /// hidden layer); false leaves the hidden units the inputs (and the gates, with
  /// recurrent_gates) only: experiment 2a's cell and gate see the input units alone.
  bool recurrent_cells = true;
  /// Gate activations are recurrent sources besides the cell outputs (the paper's layout).
  bool recurrent_gates = true;
  /// Whether output gates and cells read this step's gate activations (see HiddenUpdate).
  HiddenUpdate hidden_update = HiddenUpdate::kSimultaneous;
  /// Trainable biases of the gates, the cells and the output units. The paper biases the gates
  /// only in experiment 1, the cells and gates in 3, every non-input unit in 4-6 and no unit in
  /// 2a-2c.
  bool gate_bias = true;
  bool cell_bias = false;
  bool output_bias = false;
  /// Output units also see the inputs.
  bool input_to_output = false;
  /// Output error signal: false, squared error 0.5 (y - target)^2 (the paper); true, the
  /// cross-entropy of independent sigmoid outputs, whose error signal y - target has no
  /// sigmoid-derivative factor and so no flat spot at saturated outputs.
  bool cross_entropy = false;
  /// Every weight starts uniform in [-init_range, init_range] (before the gate biases are set).
  double init_range = 0.2;
  double input_gate_bias = 0.0;
  double input_gate_bias_step = 0.0;
  double output_gate_bias = -1.0;
  double output_gate_bias_step = -1.0;
  double forget_gate_bias = 1.0;
  double forget_gate_bias_step = 0.0;
  /// The input (output) gate biases keep their uniform draw instead of being set: the paper's
  /// "r" in Table 10 (input gates in experiment 1, output gates in 4-6, both in 5).
  bool input_gate_bias_random = false;
  bool output_gate_bias_random = false;

  /// Number of memory cells.
  int64_t cells() const { return blocks * cells_per_block; }
  /// Gate units per block: the input gate, the output gate and the forget gate where present.
  int64_t gates_per_block() const { return 1 + (output_gate ? 1 : 0) + (forget_gate ? 1 : 0); }
  /// Number of gate units.
  int64_t gates() const { return blocks * gates_per_block(); }
  /// Hidden units: gates, then cells.
  int64_t hidden_units() const { return gates() + cells(); }
  /// Recurrent sources: cell outputs (with recurrent_cells), then gate activations (with
  /// recurrent_gates).
  int64_t recurrent_sources() const {
    return (recurrent_cells ? cells() : 0) + (recurrent_gates ? gates() : 0);
  }
  /// Columns of a hidden unit's weight row: bias, inputs, recurrent sources.
  int64_t hidden_sources() const { return 1 + inputs + recurrent_sources(); }
  /// Columns of an output unit's weight row: bias, cells, inputs (with input_to_output).
  int64_t output_sources() const { return 1 + cells() + (input_to_output ? inputs : 0); }
  /// Trainable weights (frozen zero biases excluded).
  int64_t num_weights() const;
};

/// One net with its state. Not thread-safe; a trial owns one.
class TrialNet {
 public:
  /// Initialises the weights from `seed` (std::mt19937_64).
  TrialNet(NetSpec spec, uint64_t seed);

  const NetSpec& spec() const { return spec_; }

  /// Zeroes the cell states, the recurrent sources and the partials (start of a sequence).
  void reset();

  /// One step: `x` has spec().inputs values. With `learn`, also advances the gradient's
  /// partials. Returns the spec().outputs output activations (valid until the next call).
  const double* forward(const double* x, bool learn);

  /// Adds the truncated gradient of 0.5 * sum_k (y_k - target_k)^2 at the current step to the
  /// gradient buffers; needs forward(…, /*learn=*/true). Returns that error.
  double backward(const double* target);

  /// Runs `seq` from a reset state and adds the full backpropagation-through-time gradient of
  /// 0.5 * sum (y - target)^2 over its target steps to the gradient buffers. Writes the outputs
  /// ((seq.length, outputs)) into `outputs` when given. Returns that error. Needs
  /// HiddenUpdate::kSimultaneous.
  double accumulate_full_gradient(const Sequence& seq, std::vector<double>* outputs);

  /// forward() and backward() with the untruncated real-time gradient (Gradient::kRtrl):
  /// forward_rtrl() also advances the partials, backward_rtrl() adds the gradient of the step's
  /// error 0.5 * sum_k (y_k - target_k)^2 and returns that error. reset() zeroes the partials.
  const double* forward_rtrl(const double* x);
  double backward_rtrl(const double* target);

  /// w -= lr * gradient for every weight; then zeroes the gradient.
  void apply(double lr);

  /// Sequential construction (the paper's remedy for the abuse problem, experiments 2a and 2b):
  /// detached, the output units' weights from the cells are held at zero, so the cells (and
  /// their gates, whose error comes through those weights) take no part and do not learn.
  /// Attaching restores the weights the cells had when detached (their initial draw when
  /// detached at the start). Nets start attached.
  void set_cells_attached(bool attached);
  bool cells_attached() const { return cells_attached_; }

  /// Hidden weights, (hidden_units(), hidden_sources()) row-major. Rows: input gates of blocks
  /// 0..B-1, output gates (if any), forget gates (if any), then cells block by block. Columns:
  /// bias, inputs, cell outputs (with recurrent_cells), then gate activations in row order
  /// (with recurrent_gates).
  std::vector<double>& hidden_weights() { return w_; }
  /// Output weights, (outputs, output_sources()) row-major. Columns: bias, cells, inputs.
  std::vector<double>& output_weights() { return v_; }
  /// Gradient buffers, shaped like the weights; apply() ignores the entries of absent biases.
  const std::vector<double>& hidden_grad() const { return gw_; }
  const std::vector<double>& output_grad() const { return gv_; }
  /// Cell outputs y_c after the last forward(), spec().cells() values.
  const double* cell_outputs() const { return yc_.data(); }
  /// Cell states s_c after the last forward().
  const std::vector<double>& cell_states() const { return s_; }

 private:
  /// The output layer's part of backward() and backward_rtrl(): the squared error of this step
  /// against `target`, the output weights' gradient added into gv_, and dE/dy_c into dy_.
  double output_error(const double* target);

  int64_t row_input_gate(int64_t j) const { return j; }
  int64_t row_output_gate(int64_t j) const { return spec_.blocks + j; }
  int64_t row_forget_gate(int64_t j) const {
    return (spec_.output_gate ? 2 : 1) * spec_.blocks + j;
  }
  int64_t row_cell(int64_t c) const { return spec_.gates() + c; }
  void zero_frozen();
  // The sources of the output gates and of the cells, and their non-zero entries.
  const std::vector<double>& out_src() const { return in_order_ ? src_out_ : src_; }
  const std::vector<double>& cell_src() const { return in_order_ ? src_cell_ : src_; }
  const std::vector<int32_t>& out_nz() const { return in_order_ ? nz_out_ : nz_src_; }
  const std::vector<int32_t>& cell_nz() const { return in_order_ ? nz_cell_ : nz_src_; }
  // g(net), g'(net) and h'(s) given h(s), per spec_.squash.
  double squash_g(double net, double* g_dash) const;
  double squash_h(double s) const;
  double squash_h_dash(double h) const;

  NetSpec spec_;
  bool cells_attached_ = true;
  std::vector<double> detached_cell_weights_;  // (outputs, cells): v_'s cell columns, detached
  int64_t ns_;                                 // hidden_sources()
  int64_t no_;                                 // output_sources()
  std::vector<double> w_, v_, gw_, gv_;
  // State of the current step.
  std::vector<double> src_;  // (ns_): bias, x(t), r(t-1)
  // With in_order_ (HiddenUpdate::kInOrder and recurrent gates): the sources of the output
  // gates (in(t) in place of in(t-1)) and of the cells (also out(t)); otherwise unused.
  bool in_order_ = false;
  std::vector<double> src_out_, src_cell_;
  std::vector<int32_t> nz_out_, nz_cell_;
  std::vector<double> osrc_;   // (no_): bias, y_c(t), x(t)
  std::vector<double> act_;    // (hidden_units): gate activations; cells: g(net_c)
  std::vector<double> gdash_;  // (cells): g'(net_c)
  std::vector<double> s_;      // (cells)
  std::vector<double> s_prev_;
  std::vector<double> h_;   // (cells): h(s_c)
  std::vector<double> yc_;  // (cells): y_c(t)
  std::vector<double> y_;   // (outputs)
  // Partials of s_c with respect to the weights of cell c, and of its block's input and forget
  // gates: (cells, ns_) each.
  std::vector<double> pc_, pi_, pf_;
  std::vector<double> dy_;                 // (cells) scratch
  std::vector<int32_t> nz_src_, nz_osrc_;  // non-zero entries of src_ and osrc_
  // Gradient::kRtrl's partials with respect to the hidden weights (hidden_units() * ns_ of
  // them, in hidden_weights() order): of the recurrent sources r(t-1) (recurrent_sources(), P),
  // the cell states (cells, P), and this step's gates (gates, P), cell outputs (cells, P) and
  // net inputs (hidden_units, P). Allocated on the first forward_rtrl().
  std::vector<double> rt_r_, rt_s_, rt_gate_, rt_yc_, rt_net_;
  // accumulate_full_gradient()'s history of the step states above, (length, size) each.
  std::vector<double> hist_src_, hist_osrc_, hist_act_, hist_gdash_, hist_s_, hist_s_prev_, hist_h_,
      hist_y_;
};

/// Runs `net` over `seq` from a reset state, learning from every step with a target: weights
/// change after each such step when `update_each_step`, else once at the end. Writes the outputs
/// ((seq.length, outputs) row-major) into `outputs` when given. Returns the summed error
/// 0.5 * sum (y - target)^2 over the target steps, measured before each step's update.
/// Gradient::kFull needs update_each_step false; Gradient::kRtrl takes either.
double train_sequence(TrialNet& net, const Sequence& seq, double lr, bool update_each_step,
                      std::vector<double>* outputs = nullptr,
                      Gradient gradient = Gradient::kTruncated);

/// Runs `net` over `seq` from a reset state without learning; writes (seq.length, outputs).
void predict(TrialNet& net, const Sequence& seq, std::vector<double>& outputs);

}  // namespace lstmnlp::paper
