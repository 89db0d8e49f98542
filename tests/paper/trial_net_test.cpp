#include "models/paper/trial_net.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "datasets/reber.h"
#include "models/lstm.h"

namespace lstmnlp::paper {
namespace {

torch::Tensor as_tensor(const std::vector<double>& v, int64_t rows, int64_t cols) {
  return torch::tensor(v, torch::kDouble).view({rows, cols});
}

torch::Tensor row(const Sequence& /*seq*/, const std::vector<double>& data, int64_t t, int64_t n) {
  return torch::tensor(std::vector<double>(data.begin() + t * n, data.begin() + (t + 1) * n),
                       torch::kDouble);
}

// The net of trial_net.h written with torch operations; autograd gives the reference gradient.
// With `truncate`, the recurrent sources enter each step detached, which is the paper's
// truncation (errors cross time steps only through the cell states).
struct Reference {
  torch::Tensor w, v, loss;
  std::vector<torch::Tensor> outputs;
};

Reference reference(const NetSpec& spec, TrialNet& net, const Sequence& seq, bool truncate) {
  Reference r;
  r.w = as_tensor(net.hidden_weights(), spec.hidden_units(), spec.hidden_sources())
            .clone()
            .requires_grad_(true);
  r.v = as_tensor(net.output_weights(), spec.outputs, spec.output_sources())
            .clone()
            .requires_grad_(true);
  const int64_t B = spec.blocks, S = spec.cells_per_block, G = spec.gates();
  auto s = torch::zeros({spec.cells()}, torch::kDouble);
  auto rec = torch::zeros({spec.recurrent_sources()}, torch::kDouble);
  r.loss = torch::zeros({}, torch::kDouble);
  auto one = torch::ones({1}, torch::kDouble);
  for (int64_t t = 0; t < seq.length; ++t) {
    auto x = row(seq, seq.inputs, t, seq.num_inputs);
    auto prev = truncate ? rec.detach() : rec;
    auto net_in = r.w.mv(torch::cat({one, x, prev}));
    auto gates = torch::sigmoid(net_in.slice(0, 0, G));
    auto cell_net = net_in.slice(0, G);
    if (spec.hidden_update == HiddenUpdate::kInOrder && spec.recurrent_gates) {
      // Output gates read this step's input gates; cells this step's input and output gates.
      // The truncation detaches them as it detaches every source of a net input.
      const int64_t rc = spec.recurrent_cells ? spec.cells() : 0;
      auto in_now = gates.slice(0, 0, B);
      auto in_src = truncate ? in_now.detach() : in_now;
      auto out_net = r.w.slice(0, B, G).mv(
          torch::cat({one, x, prev.slice(0, 0, rc), in_src, prev.slice(0, rc + B)}));
      auto out_now = torch::sigmoid(out_net);
      auto out_src = truncate ? out_now.detach() : out_now;
      cell_net = r.w.slice(0, G).mv(
          torch::cat({one, x, prev.slice(0, 0, rc), in_src, out_src, prev.slice(0, rc + G)}));
      gates = torch::cat({in_now, out_now});
    }
    torch::Tensor g;
    switch (spec.squash) {
      case Squash::kPaper:
        g = 4 * torch::sigmoid(cell_net) - 2;
        break;
      case Squash::kTanh:
        g = torch::tanh(cell_net);
        break;
      case Squash::kSigmoidIdentity:
        g = torch::sigmoid(cell_net);
        break;
    }
    // Gate rows: input gates, output gates (if any), forget gates (if any).
    auto in = gates.slice(0, 0, B).repeat_interleave(S);
    const int64_t out_row = B, f_row = spec.output_gate ? 2 * B : B;
    auto out = spec.output_gate ? gates.slice(0, out_row, out_row + B).repeat_interleave(S)
                                : torch::ones_like(s);
    auto f = spec.forget_gate ? gates.slice(0, f_row, f_row + B).repeat_interleave(S)
                              : torch::ones_like(s);
    s = f * s + in * g;
    torch::Tensor h = spec.squash == Squash::kPaper  ? 2 * torch::sigmoid(s) - 1
                      : spec.squash == Squash::kTanh ? torch::tanh(s)
                                                     : s;
    auto y_c = out * h;
    std::vector<torch::Tensor> sources;
    if (spec.recurrent_cells) sources.push_back(y_c);
    if (spec.recurrent_gates) sources.push_back(gates);
    rec = sources.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(sources);
    auto osrc = spec.input_to_output ? torch::cat({one, y_c, x}) : torch::cat({one, y_c});
    auto y = torch::sigmoid(r.v.mv(osrc));
    r.outputs.push_back(y);
    if (seq.has_target[t]) {
      r.loss = r.loss + 0.5 * (y - row(seq, seq.targets, t, seq.num_outputs)).pow(2).sum();
    }
  }
  r.loss.backward();
  return r;
}

// Frozen (absent) biases of gates, cells and outputs never change, so their gradient entries do
// not count.
void zero_frozen(const NetSpec& spec, torch::Tensor& gw, torch::Tensor& gv) {
  if (!spec.gate_bias) gw.slice(0, 0, spec.gates()).select(1, 0).zero_();
  if (!spec.cell_bias) gw.slice(0, spec.gates()).select(1, 0).zero_();
  if (!spec.output_bias) gv.select(1, 0).zero_();
}

// The net's accumulated hidden and output gradients equal autograd's in `ref`, apart from the
// entries of frozen biases.
void expect_reference_gradients(const NetSpec& spec, const TrialNet& net, const Reference& ref) {
  auto gw = as_tensor(net.hidden_grad(), spec.hidden_units(), spec.hidden_sources());
  auto gv = as_tensor(net.output_grad(), spec.outputs, spec.output_sources());
  auto ref_gw = ref.w.grad().clone(), ref_gv = ref.v.grad().clone();
  zero_frozen(spec, gw, gv);
  zero_frozen(spec, ref_gw, ref_gv);
  EXPECT_TRUE(torch::allclose(gw, ref_gw, 1e-10, 1e-12)) << (gw - ref_gw).abs().max();
  EXPECT_TRUE(torch::allclose(gv, ref_gv, 1e-10, 1e-12)) << (gv - ref_gv).abs().max();
}

struct NamedSpec {
  std::string name;
  NetSpec spec;
};

std::vector<NamedSpec> specs() {
  NetSpec paper;  // the Embedded Reber net of Table 1 (3 blocks x 2 cells)
  NetSpec biased = paper;
  biased.cell_bias = biased.output_bias = biased.input_to_output = true;
  NetSpec modern = biased;
  modern.forget_gate = true;
  modern.squash = Squash::kTanh;
  modern.recurrent_gates = false;
  // Experiment 2a's net: one cell with an input gate only, g = sigmoid, h = identity, no
  // biases, the inputs as the hidden units' only sources, inputs wired to the outputs.
  NetSpec long_lag;
  long_lag.blocks = long_lag.cells_per_block = 1;
  long_lag.output_gate = false;
  long_lag.squash = Squash::kSigmoidIdentity;
  long_lag.recurrent_cells = long_lag.recurrent_gates = false;
  long_lag.gate_bias = false;
  long_lag.input_to_output = true;
  // No output gate but a forget gate (its rows move up) and gates as the only recurrent sources.
  NetSpec gated = modern;
  gated.output_gate = false;
  gated.recurrent_cells = false;
  gated.recurrent_gates = true;
  gated.gate_bias = false;
  NetSpec in_order = paper;  // the paper's order within a step
  in_order.hidden_update = HiddenUpdate::kInOrder;
  return {{"paper", paper},   {"in_order", in_order}, {"biased", biased},
          {"modern", modern}, {"long_lag", long_lag}, {"no_output_gate", gated}};
}

Sequence reber_example(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < 12) s = reber::generate_embedded(rng);
  return reber_sequence(s);
}

TEST(TrialNetTest, WeightCountsMatchThePaper) {
  NetSpec reber;  // Table 1: 3 blocks of 2 cells, 276 weights
  EXPECT_EQ(reber.num_weights(), 276);
  reber.blocks = 4;
  reber.cells_per_block = 1;
  EXPECT_EQ(reber.num_weights(), 264);  // 4 blocks of 1 cell
  NetSpec adding;  // experiment 4: 2 inputs, 2 blocks of 2 cells, 1 output, all biased: 93
  adding.inputs = 2;
  adding.outputs = 1;
  adding.blocks = 2;
  adding.cell_bias = adding.output_bias = true;
  EXPECT_EQ(adding.num_weights(), 93);
  // Experiment 3 (Table 4): 1 input, 3 blocks of 1 cell, 1 output, cells and gates biased:
  // 9 hidden units x (1 + 1 + 9) + 3 cell->output weights = 102.
  NetSpec noise;
  noise.inputs = noise.outputs = 1;
  noise.blocks = 3;
  noise.cells_per_block = 1;
  noise.cell_bias = true;
  EXPECT_EQ(noise.num_weights(), 102);
  // Experiment 2c (Table 3): p + 4 inputs, 2 blocks of 1 cell, 2 outputs, no biases:
  // 6 hidden units x (p + 4 + 6) + 2 x 2 = 364 at p = 50 and 6,064 at p = 1000.
  NetSpec lag_c;
  lag_c.outputs = 2;
  lag_c.blocks = 2;
  lag_c.cells_per_block = 1;
  lag_c.gate_bias = false;
  for (const auto& [p, count] : {std::pair<int64_t, int64_t>{50, 364}, {1000, 6064}}) {
    lag_c.inputs = p + 4;
    EXPECT_EQ(lag_c.num_weights(), count) << "p = " << p;
  }
  // Experiment 2a (Table 2): 101 inputs and outputs, one cell with an input gate only, no
  // biases, the cell and its gate see the inputs only, the outputs see the inputs and the cell:
  // 101 x 101 + 101 + 101 + 101 = 10,504.
  NetSpec long_lag;
  long_lag.inputs = long_lag.outputs = 101;
  long_lag.blocks = long_lag.cells_per_block = 1;
  long_lag.output_gate = false;
  long_lag.recurrent_cells = long_lag.recurrent_gates = false;
  long_lag.gate_bias = false;
  long_lag.input_to_output = true;
  EXPECT_EQ(long_lag.num_weights(), 10504);
}

TEST(TrialNetTest, AbsentBiasesStayZeroAndRandomGateBiasesAreDrawn) {
  NetSpec spec;
  spec.gate_bias = false;
  TrialNet net(spec, 3);
  const Sequence seq = reber_example(34);
  for (int i = 0; i < 5; ++i) train_sequence(net, seq, /*lr=*/0.5, /*update_each_step=*/true);
  const int64_t ns = spec.hidden_sources();
  for (int64_t u = 0; u < spec.hidden_units(); ++u) EXPECT_EQ(net.hidden_weights()[u * ns], 0.0);
  for (int64_t k = 0; k < spec.outputs; ++k) {
    EXPECT_EQ(net.output_weights()[k * spec.output_sources()], 0.0);
  }

  NetSpec drawn;  // the paper's "r": input gate biases keep their draw from [-0.2, 0.2]
  drawn.input_gate_bias = 5.0;
  drawn.input_gate_bias_random = true;
  TrialNet random_net(drawn, 4);
  for (int64_t j = 0; j < drawn.blocks; ++j) {
    const double bias = random_net.hidden_weights()[j * ns];
    EXPECT_LE(std::abs(bias), 0.2);
    EXPECT_NE(bias, 0.0);
    EXPECT_EQ(random_net.hidden_weights()[(drawn.blocks + j) * ns], -1.0 * (j + 1));
  }
}

TEST(TrialNetTest, DetachedCellsTakeNoPartUntilAttached) {
  // Experiment 2a's net, small: the outputs see the inputs and the cell.
  NetSpec spec;
  spec.inputs = spec.outputs = 7;
  spec.blocks = spec.cells_per_block = 1;
  spec.output_gate = false;
  spec.squash = Squash::kSigmoidIdentity;
  spec.recurrent_cells = spec.recurrent_gates = false;
  spec.gate_bias = spec.cell_bias = spec.output_bias = false;
  spec.input_to_output = true;
  TrialNet net(spec, 8);
  const std::vector<double> w0 = net.hidden_weights(), v0 = net.output_weights();
  const int64_t no = spec.output_sources();
  net.set_cells_attached(false);
  EXPECT_FALSE(net.cells_attached());
  const Sequence seq = reber_example(35);
  for (int i = 0; i < 5; ++i) train_sequence(net, seq, /*lr=*/1.0, /*update_each_step=*/true);
  // The cell's output weights stayed zero, so its own weights and its gate's got no error.
  EXPECT_EQ(net.hidden_weights(), w0);
  for (int64_t k = 0; k < spec.outputs; ++k) EXPECT_EQ(net.output_weights()[k * no + 1], 0.0);
  // The direct input -> output weights did learn.
  EXPECT_NE(net.output_weights()[2], v0[2]);
  // Detached, the outputs are those of a net whose cell weights to the outputs are zero.
  std::vector<double> detached, zeroed;
  predict(net, seq, detached);
  TrialNet same(spec, 8);
  same.hidden_weights() = net.hidden_weights();
  same.output_weights() = net.output_weights();
  predict(same, seq, zeroed);
  EXPECT_EQ(detached, zeroed);
  // Attached, the cell's output weights are back at their initial draw, and learn.
  net.set_cells_attached(true);
  for (int64_t k = 0; k < spec.outputs; ++k) {
    EXPECT_EQ(net.output_weights()[k * no + 1], v0[k * no + 1]);
    EXPECT_NE(v0[k * no + 1], 0.0);
  }
  train_sequence(net, seq, 1.0, true);
  EXPECT_NE(net.hidden_weights(), w0);
}

TEST(TrialNetTest, InitialisationFollowsTheSpec) {
  NetSpec spec;
  spec.input_gate_bias = -3.0;
  spec.input_gate_bias_step = -3.0;
  TrialNet net(spec, 5);
  const int64_t ns = spec.hidden_sources();
  const auto& w = net.hidden_weights();
  for (int64_t j = 0; j < spec.blocks; ++j) {
    EXPECT_EQ(w[j * ns], -3.0 * (j + 1));                  // input gate bias
    EXPECT_EQ(w[(spec.blocks + j) * ns], -1.0 * (j + 1));  // output gate bias: -1, -2, -3
  }
  for (int64_t c = 0; c < spec.cells(); ++c) EXPECT_EQ(w[(spec.gates() + c) * ns], 0.0);
  for (int64_t u = 0; u < spec.hidden_units(); ++u) {
    for (int64_t m = 1; m < ns; ++m) EXPECT_LE(std::abs(w[u * ns + m]), 0.2);
  }
}

TEST(TrialNetTest, TruncatedGradientMatchesAutogradWithDetachedRecurrence) {
  for (const auto& [name, spec] : specs()) {
    SCOPED_TRACE(name);
    const Sequence seq = reber_example(31);
    TrialNet net(spec, 7);
    Reference ref = reference(spec, net, seq, /*truncate=*/true);
    net.reset();
    for (int64_t t = 0; t < seq.length; ++t) {
      const double* y = net.forward(&seq.inputs[t * spec.inputs], /*learn=*/true);
      for (int64_t k = 0; k < spec.outputs; ++k) {
        EXPECT_NEAR(y[k], ref.outputs[t][k].item<double>(), 1e-12);
      }
      net.backward(&seq.targets[t * spec.outputs]);
    }
    expect_reference_gradients(spec, net, ref);
    // The truncation matters where there are recurrent weights: the full gradient differs.
    // Without them (experiment 2a's net) the cell state is the only path through time and the
    // two gradients agree.
    TrialNet again(spec, 7);
    Reference full = reference(spec, again, seq, /*truncate=*/false);
    EXPECT_EQ(torch::allclose(full.w.grad(), ref.w.grad(), 1e-10, 1e-12),
              spec.recurrent_sources() == 0);
  }
}

TEST(TrialNetTest, FullGradientMatchesAutograd) {
  for (const auto& [name, spec] : specs()) {
    SCOPED_TRACE(name);
    const Sequence seq = reber_example(32);
    TrialNet net(spec, 8);
    if (spec.hidden_update == HiddenUpdate::kInOrder) {
      EXPECT_THROW(net.accumulate_full_gradient(seq, nullptr), c10::Error);
      continue;
    }
    Reference ref = reference(spec, net, seq, /*truncate=*/false);
    std::vector<double> outputs;
    const double error = net.accumulate_full_gradient(seq, &outputs);
    EXPECT_NEAR(error, ref.loss.item<double>(), 1e-12);
    expect_reference_gradients(spec, net, ref);
  }
}

TEST(TrialNetTest, RealTimeGradientMatchesAutogradWithoutTruncation) {
  for (const auto& [name, spec] : specs()) {
    if (spec.forget_gate || spec.hidden_update == HiddenUpdate::kInOrder) continue;
    SCOPED_TRACE(name);
    const Sequence seq = reber_example(35);
    TrialNet net(spec, 10);
    Reference ref = reference(spec, net, seq, /*truncate=*/false);
    net.reset();
    double error = 0.0;
    for (int64_t t = 0; t < seq.length; ++t) {
      const double* y = net.forward_rtrl(&seq.inputs[t * spec.inputs]);
      for (int64_t k = 0; k < spec.outputs; ++k) {
        EXPECT_NEAR(y[k], ref.outputs[t][k].item<double>(), 1e-12);
      }
      error += net.backward_rtrl(&seq.targets[t * spec.outputs]);
    }
    EXPECT_NEAR(error, ref.loss.item<double>(), 1e-12);
    expect_reference_gradients(spec, net, ref);
  }
  NetSpec standard;
  standard.forget_gate = true;
  TrialNet net(standard, 1);
  const double x[7] = {1, 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(net.forward_rtrl(x), c10::Error);
}

TEST(TrialNetTest, SequenceUpdateAppliesTheSummedGradient) {
  NetSpec spec;
  const Sequence seq = reber_example(33);
  TrialNet net(spec, 9);
  Reference ref = reference(spec, net, seq, /*truncate=*/true);
  const double lr = 0.3;
  train_sequence(net, seq, lr, /*update_each_step=*/false);
  auto w = as_tensor(net.hidden_weights(), spec.hidden_units(), spec.hidden_sources());
  auto expected = ref.w.detach() - lr * ref.w.grad();
  expected.slice(0, spec.gates()).select(1, 0).zero_();  // cells have no bias
  EXPECT_TRUE(torch::allclose(w, expected, 1e-10, 1e-12));
}

// Copies an lstmnlp::LSTM layer (one cell per block, so every cell has its own gates) into a
// TrialNet whose recurrent sources are the cell outputs h.
void copy_lstm(LSTM& lstm, TrialNet& net, bool forget) {
  const NetSpec& spec = net.spec();
  const int64_t H = spec.blocks, F = spec.inputs, ns = spec.hidden_sources();
  auto p = lstm->layer_parameters(0, 0);
  auto w_ih = p[0].to(torch::kDouble), w_hh = p[1].to(torch::kDouble);
  auto bias = (p[2] + p[3]).to(torch::kDouble);
  // Torch gate blocks: i, f, g, o (standard) or i, g, o (1997). Trial rows: in, out, (forget),
  // cells.
  const int64_t i_block = 0, f_block = 1, g_block = forget ? 2 : 1, o_block = forget ? 3 : 2;
  auto& w = net.hidden_weights();
  auto set_row = [&](int64_t trial_row, int64_t torch_row) {
    w[trial_row * ns] = bias[torch_row].item<double>();
    for (int64_t m = 0; m < F; ++m) w[trial_row * ns + 1 + m] = w_ih[torch_row][m].item<double>();
    for (int64_t m = 0; m < H; ++m) {
      w[trial_row * ns + 1 + F + m] = w_hh[torch_row][m].item<double>();
    }
  };
  for (int64_t j = 0; j < H; ++j) {
    set_row(j, i_block * H + j);
    set_row(H + j, o_block * H + j);
    if (forget) set_row(2 * H + j, f_block * H + j);
    set_row(spec.gates() + j, g_block * H + j);
  }
}

TEST(TrialNetTest, ForwardMatchesTheProjectLSTM) {
  for (const bool forget : {false, true}) {
    torch::manual_seed(41);
    const int64_t F = 7, H = 5, T = 15;
    LSTM lstm(LSTMOptions(F, H).cell(forget ? LSTMCellType::kStandard : LSTMCellType::k1997));
    lstm->to(torch::kDouble);
    NetSpec spec;
    spec.inputs = F;
    spec.outputs = 1;
    spec.blocks = H;
    spec.cells_per_block = 1;
    spec.forget_gate = forget;
    spec.squash = Squash::kTanh;
    spec.recurrent_gates = false;
    spec.cell_bias = true;
    TrialNet net(spec, 1);
    copy_lstm(lstm, net, forget);

    auto x = torch::randn({T, 1, F}, torch::kDouble);
    auto [out, state] = lstm->forward(x);
    std::vector<double> xs(x.data_ptr<double>(), x.data_ptr<double>() + T * F);
    net.reset();
    for (int64_t t = 0; t < T; ++t) {
      net.forward(&xs[t * F], /*learn=*/false);
      for (int64_t c = 0; c < H; ++c) {
        EXPECT_NEAR(net.cell_outputs()[c], out[t][0][c].item<double>(), 1e-12)
            << "cell " << (forget ? "standard" : "1997") << " t=" << t << " c=" << c;
      }
    }
    for (int64_t c = 0; c < H; ++c) {
      EXPECT_NEAR(net.cell_states()[c], std::get<1>(state)[0][0][c].item<double>(), 1e-12);
    }
  }
}

TEST(TrialNetTest, ForwardMatchesTorchLSTM) {
  torch::manual_seed(42);
  const int64_t F = 3, H = 4, T = 10;
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(F, H));
  lstm->to(torch::kDouble);
  LSTM ours = lstm_from_torch(lstm);
  NetSpec spec;
  spec.inputs = F;
  spec.outputs = 1;
  spec.blocks = H;
  spec.cells_per_block = 1;
  spec.forget_gate = true;
  spec.squash = Squash::kTanh;
  spec.recurrent_gates = false;
  spec.cell_bias = true;
  TrialNet net(spec, 1);
  copy_lstm(ours, net, /*forget=*/true);
  auto x = torch::randn({T, 1, F}, torch::kDouble);
  auto out = std::get<0>(lstm->forward(x));
  std::vector<double> xs(x.data_ptr<double>(), x.data_ptr<double>() + T * F);
  net.reset();
  for (int64_t t = 0; t < T; ++t) {
    net.forward(&xs[t * F], /*learn=*/false);
    for (int64_t c = 0; c < H; ++c) {
      EXPECT_NEAR(net.cell_outputs()[c], out[t][0][c].item<double>(), 1e-12);
    }
  }
}

}  // namespace
}  // namespace lstmnlp::paper
