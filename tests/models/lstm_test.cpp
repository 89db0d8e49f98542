#include "models/lstm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/state_dict.h"
#include "tests/test_util.h"

namespace lstmnlp {
namespace {

using torch::Tensor;
namespace rnn = torch::nn::utils::rnn;

// Small shapes keep the whole file fast on 2 cores.
constexpr int64_t kInput = 5;
constexpr int64_t kHidden = 6;
constexpr int64_t kSteps = 5;
constexpr int64_t kBatch = 3;

double tolerance(torch::Dtype dtype) { return dtype == torch::kDouble ? 1e-10 : 1e-5; }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a - b).abs().max().item<double>();
}

void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_TRUE(a.defined()) << what << " is undefined (custom)";
  ASSERT_TRUE(b.defined()) << what << " is undefined (torch)";
  EXPECT_LE(max_abs_diff(a, b), tol) << what;
}

// The configuration of one parity case.
struct Case {
  int64_t layers = 1;
  bool bidirectional = false;
  bool batch_first = false;
  bool with_state = false;
  bool with_lengths = false;
  bool fused = true;
  double dropout = 0.0;
  torch::Dtype dtype = torch::kFloat;

  std::string name() const {
    std::ostringstream s;
    s << "layers=" << layers << " bi=" << bidirectional << " batch_first=" << batch_first
      << " state=" << with_state << " lengths=" << with_lengths << " fused=" << fused
      << " dropout=" << dropout << " dtype=" << dtype;
    return s.str();
  }
};

// Runs torch::nn::LSTM (packed when the case has lengths) and lstmnlp::LSTM with the same
// weights and inputs, backpropagates the same random projection of all outputs, and compares
// outputs, final states and every gradient.
void check_parity(const Case& c, uint64_t seed) {
  SCOPED_TRACE(c.name());
  torch::manual_seed(seed);
  torch::nn::LSTM ref(torch::nn::LSTMOptions(kInput, kHidden)
                          .num_layers(c.layers)
                          .bidirectional(c.bidirectional)
                          .batch_first(c.batch_first)
                          .dropout(c.dropout));
  ref->to(c.dtype);
  LSTM ours = lstm_from_torch(ref);
  ours->options.fused_cpu_kernels(c.fused);
  ref->eval();
  ours->eval();

  const int64_t D = c.bidirectional ? 2 : 1;
  const auto opts = torch::TensorOptions().dtype(c.dtype);
  const std::vector<int64_t> in_shape = c.batch_first
                                            ? std::vector<int64_t>{kBatch, kSteps, kInput}
                                            : std::vector<int64_t>{kSteps, kBatch, kInput};
  Tensor x = torch::randn(in_shape, opts);
  Tensor h0 = torch::randn({c.layers * D, kBatch, kHidden}, opts);
  Tensor c0 = torch::randn({c.layers * D, kBatch, kHidden}, opts);
  // Unsorted lengths with one full-length sequence (pad_packed_sequence then restores T).
  Tensor lengths = torch::tensor({3, int(kSteps), 1}, torch::kLong);

  auto run = [&](bool custom) {
    Tensor xi = x.clone().requires_grad_(true);
    Tensor hi = h0.clone().requires_grad_(true);
    Tensor ci = c0.clone().requires_grad_(true);
    std::optional<std::tuple<Tensor, Tensor>> state;
    torch::optional<std::tuple<Tensor, Tensor>> torch_state;
    if (c.with_state) {
      state = std::make_tuple(hi, ci);
      torch_state = std::make_tuple(hi, ci);
    }
    Tensor out, hn, cn;
    if (custom) {
      std::optional<Tensor> l;
      if (c.with_lengths) l = lengths;
      auto result = ours->forward(xi, state, l);
      out = std::get<0>(result);
      std::tie(hn, cn) = std::get<1>(result);
    } else if (c.with_lengths) {
      auto packed = rnn::pack_padded_sequence(xi, lengths, c.batch_first,
                                              /*enforce_sorted=*/false);
      auto result = ref->forward_with_packed_input(packed, torch_state);
      std::tie(hn, cn) = std::get<1>(result);
      out = std::get<0>(rnn::pad_packed_sequence(std::get<0>(result), c.batch_first,
                                                 /*padding_value=*/0.0, kSteps));
    } else {
      auto result = ref->forward(xi, torch_state);
      out = std::get<0>(result);
      std::tie(hn, cn) = std::get<1>(result);
    }
    // Fixed random projections so that every output element gets a distinct gradient.
    torch::manual_seed(seed + 1);
    Tensor loss = (out * torch::randn(out.sizes(), opts)).sum() +
                  (hn * torch::randn(hn.sizes(), opts)).sum() +
                  (cn * torch::randn(cn.sizes(), opts)).sum();
    loss.backward();
    return std::vector<Tensor>{out, hn, cn, xi.grad(), hi.grad(), ci.grad()};
  };
  for (auto& p : ours->parameters()) p.mutable_grad() = Tensor();
  for (auto& p : ref->parameters()) p.mutable_grad() = Tensor();
  const auto expected = run(false);
  const auto actual = run(true);
  const double tol = tolerance(c.dtype);
  const char* names[] = {"output", "h_n", "c_n", "grad input", "grad h0", "grad c0"};
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!c.with_state && i >= 4) break;
    expect_close(actual[i], expected[i], tol, names[i]);
  }
  if (c.with_lengths) {
    // Outputs past each length are exactly zero.
    Tensor out = c.batch_first ? actual[0].transpose(0, 1) : actual[0];
    EXPECT_EQ(out.narrow(0, 1, kSteps - 1).select(1, 2).abs().max().item<double>(), 0.0);
  }
  const auto ref_params = ref->named_parameters();
  const auto our_params = ours->named_parameters();
  ASSERT_EQ(ref_params.size(), our_params.size());
  for (const auto& item : ref_params) {
    const Tensor* mine = our_params.find(item.key());
    ASSERT_NE(mine, nullptr) << item.key();
    expect_close(mine->grad(), item.value().grad(), tol, "grad " + item.key());
  }
}

TEST(LSTMTest, ParityWithTorchAcrossLayersDirectionsLayoutsAndState) {
  uint64_t seed = 100;
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (int64_t layers : {1, 2, 3}) {
      for (bool bi : {false, true}) {
        for (bool batch_first : {false, true}) {
          for (bool with_state : {false, true}) {
            Case c;
            c.dtype = dtype;
            c.layers = layers;
            c.bidirectional = bi;
            c.batch_first = batch_first;
            c.with_state = with_state;
            check_parity(c, ++seed);
          }
        }
      }
    }
  }
}

TEST(LSTMTest, ParityWithPackedTorchForVariableLengths) {
  uint64_t seed = 200;
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (int64_t layers : {1, 2}) {
      for (bool bi : {false, true}) {
        for (bool batch_first : {false, true}) {
          Case c;
          c.dtype = dtype;
          c.layers = layers;
          c.bidirectional = bi;
          c.batch_first = batch_first;
          c.with_state = layers == 2;
          c.with_lengths = true;
          check_parity(c, ++seed);
        }
      }
    }
  }
}

TEST(LSTMTest, GenericTensorPathMatchesTorch) {
  // The tensor-op path runs on CUDA; on the CPU it is selected with fused_cpu_kernels(false).
  uint64_t seed = 300;
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (bool lengths : {false, true}) {
      Case c;
      c.dtype = dtype;
      c.layers = 2;
      c.bidirectional = true;
      c.with_state = true;
      c.with_lengths = lengths;
      c.fused = false;
      check_parity(c, ++seed);
    }
  }
}

TEST(LSTMTest, DropoutInEvalModeMatchesTorch) {
  Case c;
  c.layers = 3;
  c.bidirectional = true;
  c.dropout = 0.4;
  check_parity(c, 400);
  c.dtype = torch::kDouble;
  check_parity(c, 401);
}

TEST(LSTMTest, DropoutInTrainingChangesOutputsBetweenLayersOnly) {
  torch::manual_seed(410);
  LSTM lstm(LSTMOptions(kInput, kHidden).num_layers(2).dropout(0.5));
  Tensor x = torch::randn({kSteps, kBatch, kInput});
  lstm->eval();
  Tensor eval_out = std::get<0>(lstm->forward(x));
  lstm->train();
  Tensor train_out = std::get<0>(lstm->forward(x));
  EXPECT_GT(max_abs_diff(eval_out, train_out), 1e-4);
  LSTM single(LSTMOptions(kInput, kHidden).dropout(0.5));  // one layer: dropout never applies
  Tensor single_train = std::get<0>(single->forward(x));
  single->eval();
  EXPECT_EQ(max_abs_diff(single_train, std::get<0>(single->forward(x))), 0.0);
}

TEST(LSTMTest, InferenceMatchesTorchWithoutGrad) {
  torch::manual_seed(500);
  torch::nn::LSTM ref(torch::nn::LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true));
  LSTM ours = lstm_from_torch(ref);
  Tensor x = torch::randn({kSteps, kBatch, kInput});
  Tensor lengths = torch::tensor({2, int(kSteps), 4}, torch::kLong);
  torch::NoGradGuard no_grad;
  auto [out, state] = ours->forward(x);
  auto [ref_out, ref_state] = ref->forward(x);
  expect_close(out, ref_out, 1e-5, "output");
  expect_close(std::get<0>(state), std::get<0>(ref_state), 1e-5, "h_n");
  expect_close(std::get<1>(state), std::get<1>(ref_state), 1e-5, "c_n");
  auto [lout, lstate] = ours->forward(x, std::nullopt, lengths);
  auto packed = rnn::pack_padded_sequence(x, lengths, false, /*enforce_sorted=*/false);
  auto [pout, pstate] = ref->forward_with_packed_input(packed);
  expect_close(lout, std::get<0>(rnn::pad_packed_sequence(pout, false, 0.0, kSteps)), 1e-5,
               "packed output");
  expect_close(std::get<0>(lstate), std::get<0>(pstate), 1e-5, "packed h_n");
  expect_close(std::get<1>(lstate), std::get<1>(pstate), 1e-5, "packed c_n");
}

// torch::nn::LSTM in C++ takes only batched input (Python's also takes (T, F)); compare with a
// batch of one.
TEST(LSTMTest, UnbatchedInputMatchesTorchWithBatchOfOne) {
  torch::manual_seed(510);
  torch::nn::LSTM ref(torch::nn::LSTMOptions(kInput, kHidden).num_layers(2));
  LSTM ours = lstm_from_torch(ref);
  Tensor x = torch::randn({kSteps, kInput});
  Tensor h0 = torch::randn({2, kHidden}), c0 = torch::randn({2, kHidden});
  auto [out, state] = ours->forward(x, std::make_tuple(h0, c0));
  auto [ref_out, ref_state] =
      ref->forward(x.unsqueeze(1), std::make_tuple(h0.unsqueeze(1), c0.unsqueeze(1)));
  expect_close(out, ref_out.squeeze(1), 1e-5, "output");
  expect_close(std::get<0>(state), std::get<0>(ref_state).squeeze(1), 1e-5, "h_n");
  expect_close(std::get<1>(state), std::get<1>(ref_state).squeeze(1), 1e-5, "c_n");
}

// The backward overwrites saved activations in place; a second backward through a retained
// graph must still give torch's gradients (accumulated twice).
TEST(LSTMTest, BackwardTwiceThroughARetainedGraphMatchesTorch) {
  torch::manual_seed(520);
  torch::nn::LSTM ref(torch::nn::LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true));
  LSTM ours = lstm_from_torch(ref);
  Tensor x = torch::randn({kSteps, kBatch, kInput});
  Tensor w = torch::randn({kSteps, kBatch, 2 * kHidden});
  for (bool custom : {false, true}) {
    Tensor out = custom ? std::get<0>(ours->forward(x)) : std::get<0>(ref->forward(x));
    Tensor loss = (out * w).sum();
    loss.backward({}, /*retain_graph=*/true);
    loss.backward();
  }
  const auto mine = ours->named_parameters();
  for (const auto& item : ref->named_parameters()) {
    expect_close(mine[item.key()].grad(), item.value().grad(), 2e-5, "grad " + item.key());
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-written reference cells for the variants torch lacks: a plain per-step loop.

std::tuple<Tensor, Tensor, Tensor> reference_layer(const Tensor& x, Tensor h, Tensor c,
                                                   const std::vector<Tensor>& p, LSTMCellType cell,
                                                   bool reverse) {
  const int64_t T = x.size(0);
  const int64_t H = h.size(1);
  std::vector<Tensor> outs(T);
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    Tensor z = torch::matmul(x[t], p[0].t()) + torch::matmul(h, p[1].t()) + p[2] + p[3];
    if (cell == LSTMCellType::k1997) {
      Tensor i = torch::sigmoid(z.narrow(1, 0, H));
      Tensor g = torch::tanh(z.narrow(1, H, H));
      Tensor o = torch::sigmoid(z.narrow(1, 2 * H, H));
      c = c + i * g;
      h = o * torch::tanh(c);
    } else {
      Tensor i = torch::sigmoid(z.narrow(1, 0, H) + p[4].narrow(0, 0, H) * c);
      Tensor f = torch::sigmoid(z.narrow(1, H, H) + p[4].narrow(0, H, H) * c);
      Tensor g = torch::tanh(z.narrow(1, 2 * H, H));
      c = f * c + i * g;
      Tensor o = torch::sigmoid(z.narrow(1, 3 * H, H) + p[4].narrow(0, 2 * H, H) * c);
      h = o * torch::tanh(c);
    }
    outs[t] = h;
  }
  return {torch::stack(outs), h, c};
}

TEST(LSTMTest, PeepholeAnd1997CellsMatchAHandWrittenReference) {
  uint64_t seed = 600;
  for (auto cell : {LSTMCellType::kPeephole, LSTMCellType::k1997}) {
    for (bool bi : {false, true}) {
      for (bool fused : {true, false}) {
        SCOPED_TRACE(to_string(cell) + (bi ? " bi" : " uni") + (fused ? " fused" : " generic"));
        torch::manual_seed(++seed);
        LSTM lstm(
            LSTMOptions(kInput, kHidden).cell(cell).bidirectional(bi).fused_cpu_kernels(fused));
        lstm->to(torch::kDouble);
        const int64_t D = bi ? 2 : 1;
        Tensor x = torch::randn({kSteps, kBatch, kInput}, torch::kDouble);
        Tensor h0 = torch::randn({D, kBatch, kHidden}, torch::kDouble);
        Tensor c0 = torch::randn({D, kBatch, kHidden}, torch::kDouble);
        Tensor weights_out = torch::randn({kSteps, kBatch, D * kHidden}, torch::kDouble);

        auto [out, state] = lstm->forward(x, std::make_tuple(h0, c0));
        (out * weights_out).sum().backward();
        std::vector<Tensor> outs, hs, cs;
        std::vector<std::vector<Tensor>> ref_params;
        for (int64_t d = 0; d < D; ++d) {
          std::vector<Tensor> p;
          for (const Tensor& t : lstm->layer_parameters(0, d)) {
            p.push_back(t.defined() ? t.detach().clone().requires_grad_(true) : Tensor());
          }
          auto [o, h, c] = reference_layer(x, h0[d], c0[d], p, cell, d == 1);
          outs.push_back(o);
          hs.push_back(h);
          cs.push_back(c);
          ref_params.push_back(p);
        }
        Tensor ref_out = torch::cat(outs, 2);
        (ref_out * weights_out).sum().backward();
        expect_close(out, ref_out, 1e-12, "output");
        expect_close(std::get<0>(state), torch::stack(hs), 1e-12, "h_n");
        expect_close(std::get<1>(state), torch::stack(cs), 1e-12, "c_n");
        for (int64_t d = 0; d < D; ++d) {
          const auto mine = lstm->layer_parameters(0, d);
          for (size_t k = 0; k < mine.size(); ++k) {
            if (!mine[k].defined()) continue;
            expect_close(mine[k].grad(), ref_params[d][k].grad(), 1e-10,
                         "grad of parameter " + std::to_string(k));
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Float64 central finite differences against the hand-written backward.

void check_finite_differences(LSTMCellType cell, bool bidirectional, bool lengths, bool fused,
                              uint64_t seed) {
  SCOPED_TRACE(to_string(cell) + (bidirectional ? " bi" : " uni") + (lengths ? " lengths" : "") +
               (fused ? " fused" : " generic"));
  constexpr int64_t kFdInput = 3, kFdHidden = 3, kFdSteps = 4, kFdBatch = 2;
  constexpr double kEps = 1e-6;
  torch::manual_seed(seed);
  LSTM lstm(LSTMOptions(kFdInput, kFdHidden)
                .num_layers(2)
                .bidirectional(bidirectional)
                .cell(cell)
                .fused_cpu_kernels(fused));
  lstm->to(torch::kDouble);
  const int64_t LD = 2 * (bidirectional ? 2 : 1);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  Tensor x = torch::randn({kFdSteps, kFdBatch, kFdInput}, opts).requires_grad_(true);
  Tensor h0 = torch::randn({LD, kFdBatch, kFdHidden}, opts).requires_grad_(true);
  Tensor c0 = torch::randn({LD, kFdBatch, kFdHidden}, opts).requires_grad_(true);
  std::optional<Tensor> len;
  if (lengths) len = torch::tensor({2, int(kFdSteps)}, torch::kLong);
  Tensor w_out = torch::randn({kFdSteps, kFdBatch, (LD / 2) * kFdHidden}, opts);
  Tensor w_h = torch::randn({LD, kFdBatch, kFdHidden}, opts);
  Tensor w_c = torch::randn({LD, kFdBatch, kFdHidden}, opts);
  auto loss = [&]() {
    auto [out, state] = lstm->forward(x, std::make_tuple(h0, c0), len);
    return (out * w_out).sum() + (std::get<0>(state) * w_h).sum() +
           (std::get<1>(state) * w_c).sum();
  };
  loss().backward();

  std::vector<std::pair<std::string, Tensor>> checked = {{"input", x}, {"h0", h0}, {"c0", c0}};
  for (const auto& item : lstm->named_parameters()) checked.emplace_back(item.key(), item.value());
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : checked) {
    Tensor flat = tensor.view(-1);
    Tensor grad = tensor.grad().view(-1);
    for (int64_t k = 0; k < flat.numel(); ++k) {
      const double saved = flat[k].item<double>();
      flat[k] = saved + kEps;
      const double plus = loss().item<double>();
      flat[k] = saved - kEps;
      const double minus = loss().item<double>();
      flat[k] = saved;
      const double numeric = (plus - minus) / (2 * kEps);
      ASSERT_NEAR(grad[k].item<double>(), numeric, 1e-7 * (1 + std::abs(numeric)))
          << name << "[" << k << "]";
    }
  }
}

TEST(LSTMTest, FiniteDifferenceGradientsForEveryCell) {
  uint64_t seed = 700;
  for (auto cell : {LSTMCellType::kStandard, LSTMCellType::kPeephole, LSTMCellType::k1997}) {
    for (bool bi : {false, true}) {
      check_finite_differences(cell, bi, /*lengths=*/bi, /*fused=*/true, ++seed);
    }
    check_finite_differences(cell, /*bidirectional=*/true, /*lengths=*/true, /*fused=*/false,
                             ++seed);
  }
}

// ---------------------------------------------------------------------------------------------

TEST(LSTMTest, ForgetBiasShiftsOnlyTheForgetSliceOfBiasIh) {
  torch::manual_seed(800);
  const int64_t H = 50;
  LSTM lstm(LSTMOptions(kInput, H).forget_bias(1.0).num_layers(2));
  const double bound = 1.0 / std::sqrt(double(H));
  for (int64_t layer = 0; layer < 2; ++layer) {
    const auto p = lstm->layer_parameters(layer, 0);
    Tensor forget = p[2].narrow(0, H, H);
    EXPECT_GE(forget.min().item<double>(), 1.0 - bound);
    EXPECT_LE(forget.max().item<double>(), 1.0 + bound);
    EXPECT_LE(p[2].narrow(0, 0, H).abs().max().item<double>(), bound);
    EXPECT_LE(p[3].abs().max().item<double>(), bound);
  }
}

TEST(LSTMTest, ParameterNamesAndShapesMatchTorch) {
  torch::nn::LSTM ref(torch::nn::LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true));
  LSTM ours(LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true));
  const auto a = ref->named_parameters(), b = ours->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key(), b[i].key());
    EXPECT_EQ(a[i].value().sizes(), b[i].value().sizes()) << a[i].key();
  }
  LSTM peep(LSTMOptions(kInput, kHidden).cell(LSTMCellType::kPeephole));
  EXPECT_EQ(peep->named_parameters()["weight_c_l0"].sizes(), torch::IntArrayRef({3 * kHidden}));
  LSTM old(LSTMOptions(kInput, kHidden).cell(LSTMCellType::k1997));
  EXPECT_EQ(old->named_parameters()["weight_hh_l0"].sizes(),
            torch::IntArrayRef({3 * kHidden, kHidden}));
}

TEST(LSTMTest, WeightsCopyBothWays) {
  torch::manual_seed(900);
  LSTM ours(LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true).bias(false));
  torch::nn::LSTM ref = lstm_to_torch(ours);
  Tensor x = torch::randn({kSteps, kBatch, kInput});
  expect_close(std::get<0>(ours->forward(x)), std::get<0>(ref->forward(x)), 1e-5, "output");
  LSTM other(LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true).bias(false));
  copy_weights_from_torch(ref, other);
  expect_close(std::get<0>(other->forward(x)), std::get<0>(ours->forward(x)), 0.0, "copy");
  LSTM mismatch(LSTMOptions(kInput, kHidden + 1).num_layers(2).bidirectional(true));
  EXPECT_THROW(copy_weights_from_torch(ref, mismatch), c10::Error);
  LSTM peep(LSTMOptions(kInput, kHidden).cell(LSTMCellType::kPeephole));
  EXPECT_THROW(lstm_to_torch(peep), c10::Error);
}

// Runs `body` and expects a c10::Error whose message contains `needle`.
void expect_error(const std::function<void()>& body, const std::string& needle) {
  try {
    body();
    ADD_FAILURE() << "expected an error mentioning '" << needle << "'";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// FORWARD_HAS_DEFAULT_ARGS: the optional state and lengths may be left out through AnyModule and
// torch::nn::Sequential, as with torch::nn::LSTM.
TEST(LSTMTest, WorksInsideSequentialAndAnyModule) {
  using Output = std::tuple<Tensor, std::tuple<Tensor, Tensor>>;
  using State = std::optional<std::tuple<Tensor, Tensor>>;
  torch::manual_seed(21);
  LSTM lstm(LSTMOptions(kInput, kHidden).num_layers(2));
  const Tensor x = torch::randn({kSteps, kBatch, kInput});
  const Output direct = lstm->forward(x);

  torch::nn::AnyModule any(lstm);
  const auto from_any = any.forward<Output>(x);
  EXPECT_TRUE(torch::equal(std::get<0>(from_any), std::get<0>(direct)));
  const State state = std::get<1>(direct);
  const auto with_state = any.forward<Output>(x, state);
  EXPECT_TRUE(torch::equal(std::get<0>(with_state), std::get<0>(lstm->forward(x, state))));

  torch::nn::Sequential sequential(lstm);
  const auto from_sequential = sequential->forward<Output>(x);
  EXPECT_TRUE(torch::equal(std::get<0>(from_sequential), std::get<0>(direct)));
  EXPECT_TRUE(
      torch::equal(std::get<0>(std::get<1>(from_sequential)), std::get<0>(std::get<1>(direct))));
}

TEST(LSTMTest, InvalidOptionsAndInputsGiveClearErrors) {
  expect_error([] { LSTM(LSTMOptions(kInput, 0)); }, "hidden_size must be positive");
  expect_error([] { LSTM(LSTMOptions(0, kHidden)); }, "input_size must be positive");
  expect_error([] { LSTM(LSTMOptions(kInput, kHidden).dropout(-0.1)); }, "dropout");
  expect_error([] { LSTM(LSTMOptions(kInput, kHidden).dropout(1.5)); }, "dropout");
  expect_error([] { LSTM(LSTMOptions(kInput, kHidden).cell(LSTMCellType::k1997).forget_bias(1)); },
               "forget gate");
  expect_error([] { parse_lstm_cell_type("lstm"); }, "unknown LSTM cell type");
  EXPECT_EQ(parse_lstm_cell_type("1997"), LSTMCellType::k1997);

  LSTM lstm(LSTMOptions(kInput, kHidden).num_layers(2));
  expect_error([&] { lstm->forward(torch::randn({kSteps, kBatch, kInput, 1})); }, "3-D input");
  expect_error([&] { lstm->forward(torch::randn({kInput})); }, "3-D input");
  expect_error(
      [&] {
        lstm->forward(torch::randn({kSteps, kBatch, kInput + 1}));
      },
      "input_size is 5");
  Tensor x = torch::randn({kSteps, kBatch, kInput});
  expect_error(
      [&] {
        lstm->forward(x, std::nullopt, torch::tensor({1, 2, 6}, torch::kLong));
      },
      "exceeds the 5 time steps");
  expect_error(
      [&] {
        lstm->forward(x, std::nullopt, torch::tensor({1, 0, 2}, torch::kLong));
      },
      "at least 1");
  expect_error(
      [&] {
        lstm->forward(x, std::nullopt, torch::tensor({1, 2}, torch::kLong));
      },
      "lengths must have shape");
  Tensor good = torch::zeros({2, kBatch, kHidden});
  Tensor bad = torch::zeros({1, kBatch, kHidden});
  expect_error([&] { lstm->forward(x, std::make_tuple(bad, good)); }, "h0 must have shape");
  expect_error(
      [&] {
        lstm->forward(x, std::make_tuple(good, bad.view({1, kBatch * kHidden})));
      },
      "c0 must have shape");
  expect_error([&] { lstm->forward(x.to(torch::kDouble)); }, "parameters are Float");
}

// Python's torch, when installed, must load the exported file into torch.nn.LSTM with a plain
// torch.load (and with weights_only=True, PyTorch 2.6's default) and reproduce our outputs.
TEST(LSTMTest, ExportedStateDictLoadsIntoPythonTorch) {
  const std::string python = test::python_with_torch();
  if (python.empty())
    GTEST_SKIP() << "python3 with torch is not importable (apt install python3-torch)";

  torch::manual_seed(1000);
  LSTM lstm(LSTMOptions(kInput, kHidden).num_layers(2).bidirectional(true));
  const test::TempDir tmp("export");
  const std::string weights = tmp / "lstm.pt";
  const std::string io = tmp / "io.pt";
  save_state_dict_for_python(lstm, weights);
  Tensor x = torch::randn({kSteps, kBatch, kInput});
  Tensor out = std::get<0>(lstm->forward(x)).detach();
  save_state_dict(io, {{"x", x}, {"out", out}});

  const std::string script =
      "import inspect, sys, torch\n"
      "sd = torch.load(sys.argv[1])\n"
      "if 'weights_only' in inspect.signature(torch.load).parameters:\n"
      "    torch.load(sys.argv[1], weights_only=True)\n"
      "m = torch.nn.LSTM(5, 6, num_layers=2, bidirectional=True)\n"
      "m.load_state_dict(sd)\n"
      "io = torch.load(sys.argv[2])\n"
      "diff = (m(io['x'])[0] - io['out']).abs().max().item()\n"
      "print('max difference', diff)\n"
      "sys.exit(0 if diff < 1e-5 else 1)\n";
  const auto run = test::run_python(python, tmp.path(), "check.py", script, {weights, io});
  EXPECT_EQ(run.status, 0) << run.output;
}

}  // namespace
}  // namespace lstmnlp
