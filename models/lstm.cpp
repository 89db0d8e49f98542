#include "models/lstm.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <ostream>
#include <sstream>

#include "core/error.h"
#include "core/state_dict.h"
#include "models/dense_gemm.h"
#include "models/lstm_kernels.h"
#include "models/lstm_profile.h"
#include "models/onednn_layer.h"
#include "models/small_gemm.h"

namespace lstmnlp {

LSTMCellType parse_lstm_cell_type(const std::string& name) {
  if (name == "standard") return LSTMCellType::kStandard;
  if (name == "peephole") return LSTMCellType::kPeephole;
  if (name == "1997") return LSTMCellType::k1997;
  TORCH_CHECK(false, "unknown LSTM cell type '", name,
              "' (expected 'standard', 'peephole' or '1997')");
}

std::string to_string(LSTMCellType type) {
  switch (type) {
    case LSTMCellType::kStandard:
      return "standard";
    case LSTMCellType::kPeephole:
      return "peephole";
    case LSTMCellType::k1997:
      return "1997";
  }
  return "?";
}

LSTMOptions::LSTMOptions(int64_t input_size, int64_t hidden_size)
    : input_size_(input_size), hidden_size_(hidden_size) {}

namespace {

using kernels::BackwardStep;
using kernels::ForwardStep;
using kernels::fused_backward_step;
using kernels::fused_forward_step;
using kernels::num_gates;
using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ----------------------------------------------------------------------------------------------
// The same step as tensor operations, for CUDA and any dtype the fused kernels do not cover.

struct GateViews {
  Tensor i, f, g, o;  // f undefined for k1997
};

GateViews split_gates(const Tensor& gates, LSTMCellType cell) {
  auto chunks = gates.chunk(num_gates(cell), /*dim=*/1);
  if (cell == LSTMCellType::k1997) return {chunks[0], Tensor(), chunks[1], chunks[2]};
  return {chunks[0], chunks[1], chunks[2], chunks[3]};
}

// Arguments are (B, ...) slices of one step; `active` is a (B, 1) bool mask or undefined.
void generic_forward_step(const Tensor& gates, const Tensor& h_prev, const Tensor& c_prev,
                          const Tensor& h, const Tensor& c, const Tensor& out, const Tensor& w_c,
                          const Tensor& active, LSTMCellType cell) {
  GateViews v = split_gates(gates, cell);
  const bool peep = cell == LSTMCellType::kPeephole;
  const int64_t H = h.size(1);
  if (peep) {
    v.i.addcmul_(w_c.narrow(0, 0, H), c_prev);
    v.f.addcmul_(w_c.narrow(0, H, H), c_prev);
  }
  v.i.sigmoid_();
  v.g.tanh_();
  Tensor c_new;
  if (v.f.defined()) {
    v.f.sigmoid_();
    c_new = v.f * c_prev + v.i * v.g;
  } else {
    c_new = c_prev + v.i * v.g;
  }
  if (peep) v.o.addcmul_(w_c.narrow(0, 2 * H, H), c_new);
  v.o.sigmoid_();
  Tensor tc = c_new.tanh();
  Tensor h_new = v.o * tc;
  if (active.defined()) {
    h_new = torch::where(active, h_new, h_prev);
    c_new = torch::where(active, c_new, c_prev);
  }
  c.copy_(c_new);
  h.copy_(h_new);
  if (active.defined()) out.copy_(h_new.masked_fill(active.logical_not(), 0));
}

void generic_backward_step(const Tensor& gates, const Tensor& c_prev, const Tensor& c,
                           const Tensor& grad_out, const Tensor& dh, const Tensor& dc,
                           const Tensor& dgates, const Tensor& w_c, const Tensor& active,
                           LSTMCellType cell) {
  const GateViews v = split_gates(gates, cell);
  const GateViews d = split_gates(dgates, cell);
  const bool peep = cell == LSTMCellType::kPeephole;
  const int64_t H = dh.size(1);
  const Tensor tanh_c = c.tanh();
  Tensor dh_total = dh + grad_out;
  Tensor dpo = dh_total * tanh_c * v.o * (1 - v.o);
  Tensor dc_total = dc + dh_total * v.o * (1 - tanh_c * tanh_c);
  if (peep) dc_total = dc_total + dpo * w_c.narrow(0, 2 * H, H);
  Tensor dpi = dc_total * v.g * v.i * (1 - v.i);
  Tensor dpg = dc_total * v.i * (1 - v.g * v.g);
  Tensor dc_prev = dc_total;
  if (v.f.defined()) {
    Tensor dpf = dc_total * c_prev * v.f * (1 - v.f);
    dc_prev = dc_total * v.f;
    if (peep) dc_prev = dc_prev + dpi * w_c.narrow(0, 0, H) + dpf * w_c.narrow(0, H, H);
    d.f.copy_(dpf);
  }
  d.i.copy_(dpi);
  d.g.copy_(dpg);
  d.o.copy_(dpo);
  if (active.defined()) {
    dgates.masked_fill_(active.logical_not(), 0);
    dc.copy_(torch::where(active, dc_prev, dc));
    dh.masked_fill_(active, 0);
  } else {
    dc.copy_(dc_prev);
    dh.zero_();
  }
}

// ----------------------------------------------------------------------------------------------
// One layer and direction over the whole sequence.

struct LayerInputs {
  Tensor x;       // (T, B, F) contiguous
  Tensor h0, c0;  // (B, H) contiguous
  Tensor w_ih, w_hh, b_ih, b_hh, w_c;
  Tensor lengths;  // (B) int64 on the CPU, or undefined
  Tensor active;   // (T, B, 1) bool on the input's device, or undefined
};

struct LayerConfig {
  LSTMCellType cell = LSTMCellType::kStandard;
  bool reverse = false;
  bool fused = true;  // use the fused CPU kernels
};

struct LayerResult {
  Tensor out;       // (T, B, H), zero on padding
  Tensor h_n, c_n;  // (B, H)
  // Kept for the backward (only when `keep` was requested):
  Tensor gates;   // (T, B, G*H) activations
  Tensor hs, cs;  // (T, B, H) states after each step (hs is `out` without lengths)
};

bool use_fused(const Tensor& x, const LayerConfig& cfg) {
  return cfg.fused && x.device().is_cpu() &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
}

// Time index of processing step s.
inline int64_t time_at(int64_t s, int64_t T, bool reverse) { return reverse ? T - 1 - s : s; }

// Inference (`keep` false) of the standard cell in float32 without lengths runs on oneDNN's
// LSTM primitive when `onednn` is given and can (models/onednn_layer.h).
LayerResult layer_forward(const LayerInputs& in, const LayerConfig& cfg, bool keep,
                          kernels::OneDnnLayer* onednn = nullptr) {
  const int64_t T = in.x.size(0), B = in.x.size(1), F = in.x.size(2);
  const int64_t H = in.w_hh.size(1), GH = in.w_hh.size(0);
  const bool has_lengths = in.lengths.defined();
  const bool fused = use_fused(in.x, cfg);
  const auto opts = in.x.options();

  if (onednn != nullptr && !keep && !has_lengths && fused && B >= kernels::OneDnnLayer::kMinBatch &&
      cfg.cell == LSTMCellType::kStandard && in.x.scalar_type() == torch::kFloat) {
    profile::Scope scope(profile::Phase::kOneDnnLayer);
    LayerResult r;
    r.out = torch::empty({T, B, H}, opts);
    r.h_n = torch::empty({B, H}, opts);
    r.c_n = torch::empty({B, H}, opts);
    if (onednn->run(in.x, in.h0, in.c0, in.w_ih, in.w_hh, in.b_ih, in.b_hh, cfg.reverse, r.out,
                    r.h_n, r.c_n)) {
      return r;
    }
  }

  // Input projection for all steps as one product; the recurrence adds h·W_hh^T in place.
  Tensor x2 = in.x.view({T * B, F});
  Tensor gates;
  {
    profile::Scope scope(profile::Phase::kInputProjection);
    gates = torch::empty({T * B, GH}, opts);
    if (in.b_ih.defined()) gates.copy_((in.b_ih + in.b_hh).expand({T * B, GH}));
    kernels::gemm_into(gates, x2, in.w_ih.t(), /*accumulate=*/in.b_ih.defined());
  }
  gates = gates.view({T, B, GH});
  // The recurrent product is computed as W_hh·h^T, (G*H, B), and added transposed: with B
  // small, OpenBLAS runs this orientation about 25% faster than h·W_hh^T.
  Tensor recurrent = torch::empty({GH, B}, opts);
  // float32: libxsmm's kernels accumulate h·W_hh^T straight into the step's gates, reading
  // W_hh packed once for all steps.
  const kernels::SmallGemm small =
      fused && in.x.scalar_type() == torch::kFloat
          ? kernels::SmallGemm::accumulating(GH, B, H, /*ldb=*/H, /*ldc=*/GH)
          : kernels::SmallGemm();
  const Tensor w_hh_packed = small ? small.pack(in.w_hh) : Tensor();

  LayerResult r;
  // Without lengths the state h is the output; with lengths the output is zero on padding
  // while the state passes through, so they need separate storage.
  const bool full_h = keep || !has_lengths;
  Tensor hs = full_h ? torch::empty({T, B, H}, opts) : in.h0.clone();
  Tensor out = has_lengths ? torch::empty({T, B, H}, opts) : hs;
  Tensor cs = keep ? torch::empty({T, B, H}, opts) : in.c0.clone();
  auto slot = [](const Tensor& buf, int64_t t, bool full) { return full ? buf[t] : buf; };

  int64_t last_t = 0;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = time_at(s, T, cfg.reverse);
    const int64_t prev_t = time_at(s - 1, T, cfg.reverse);
    Tensor h_prev = s == 0 ? in.h0 : slot(hs, prev_t, full_h);
    Tensor c_prev = s == 0 ? in.c0 : slot(cs, prev_t, keep);
    Tensor g_t = gates[t];
    if (small && h_prev.is_contiguous()) {
      profile::Scope scope(profile::Phase::kRecurrentProduct);
      small.run(w_hh_packed.data_ptr<float>(), h_prev.data_ptr<float>(), g_t.data_ptr<float>());
    } else {
      {
        profile::Scope scope(profile::Phase::kRecurrentProduct);
        torch::mm_out(recurrent, in.w_hh, h_prev.t());
      }
      profile::Scope scope(profile::Phase::kRecurrentAdd);
      g_t.add_(recurrent.t());
    }
    Tensor h_t = slot(hs, t, full_h), c_t = slot(cs, t, keep);
    Tensor out_t = out[t];
    profile::Scope gate_scope(profile::Phase::kGates);
    if (fused) {
      AT_DISPATCH_FLOATING_TYPES(in.x.scalar_type(), "lstm_forward_step", [&] {
        ForwardStep<scalar_t> st{g_t.data_ptr<scalar_t>(),
                                 h_prev.data_ptr<scalar_t>(),
                                 c_prev.data_ptr<scalar_t>(),
                                 h_t.data_ptr<scalar_t>(),
                                 c_t.data_ptr<scalar_t>(),
                                 out_t.data_ptr<scalar_t>(),
                                 in.w_c.defined() ? in.w_c.data_ptr<scalar_t>() : nullptr,
                                 has_lengths ? in.lengths.data_ptr<int64_t>() : nullptr,
                                 t,
                                 B,
                                 H};
        fused_forward_step(st, cfg.cell);
      });
    } else {
      generic_forward_step(g_t, h_prev, c_prev, h_t, c_t, out_t, in.w_c,
                           has_lengths ? in.active[t] : Tensor(), cfg.cell);
    }
    last_t = t;
  }
  r.out = out;
  r.h_n = full_h ? hs[last_t].clone() : hs;
  r.c_n = keep ? cs[last_t].clone() : cs;
  if (keep) {
    r.gates = gates;
    r.hs = hs;
    r.cs = cs;
  }
  return r;
}

// Tensor inputs of LSTMLayerFunction, in order; needs_input_grad() uses these indices.
enum InputIndex : size_t { kX = 0, kH0, kC0, kWIh, kWHh, kBIh, kBHh, kWC, kNumInputs };

// The non-differentiable arguments of LSTMLayerFunction.
struct LayerAux {
  Tensor lengths, active;  // see LayerInputs
  LayerConfig cfg;
};

// LibTorch 1.13 rejects undefined tensors as custom-function inputs, so absent biases and
// peepholes travel as empty tensors.
Tensor or_empty(const Tensor& t, const Tensor& like) {
  return t.defined() ? t : torch::empty({0}, like.options());
}
Tensor or_undefined(const Tensor& t) { return t.numel() > 0 ? t : Tensor(); }

class LSTMLayerFunction : public torch::autograd::Function<LSTMLayerFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0,
                               const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                               const Tensor& b_ih, const Tensor& b_hh, const Tensor& w_c,
                               const LayerAux& aux) {
    LayerResult r = layer_forward({x, h0, c0, w_ih, w_hh, or_undefined(b_ih), or_undefined(b_hh),
                                   or_undefined(w_c), aux.lengths, aux.active},
                                  aux.cfg, /*keep=*/true);
    ctx->save_for_backward({x, h0, c0, w_ih, w_hh, or_undefined(b_ih), or_undefined(b_hh),
                            or_undefined(w_c), r.gates, r.hs, r.cs, aux.lengths, aux.active});
    ctx->saved_data["cell"] = static_cast<int64_t>(aux.cfg.cell);
    ctx->saved_data["reverse"] = aux.cfg.reverse;
    ctx->saved_data["fused"] = aux.cfg.fused;
    return {r.out, r.h_n, r.c_n};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &h0 = saved[1], &c0 = saved[2], &w_ih = saved[3], &w_hh = saved[4],
                 &b_ih = saved[5], &b_hh = saved[6], &w_c = saved[7];
    Tensor gates = saved[8], hs = saved[9], cs = saved[10];
    const Tensor &lengths = saved[11], &active = saved[12];
    const auto cell = static_cast<LSTMCellType>(ctx->saved_data["cell"].toInt());
    const bool reverse = ctx->saved_data["reverse"].toBool();
    const LayerConfig cfg{cell, reverse, ctx->saved_data["fused"].toBool()};
    const bool has_bias = b_ih.defined();
    const bool has_lengths = lengths.defined();
    const bool fused = use_fused(x, cfg);
    // The gate gradients overwrite the saved activations in place, which saves a (T, B, G*H)
    // buffer. A second backward through a retained graph therefore recomputes the forward.
    if (ctx->saved_data.count("gates_consumed") > 0) {
      LayerResult r = layer_forward({x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_c, lengths, active}, cfg,
                                    /*keep=*/true);
      gates = r.gates;
      hs = r.hs;
      cs = r.cs;
    }
    ctx->saved_data["gates_consumed"] = true;

    const int64_t T = x.size(0), B = x.size(1), F = x.size(2);
    const int64_t H = w_hh.size(1), GH = w_hh.size(0);
    Tensor dh = grads[1].defined() ? grads[1].clone() : torch::zeros({B, H}, x.options());
    Tensor dc = grads[2].defined() ? grads[2].clone() : torch::zeros({B, H}, x.options());
    // The output gradient of one direction of a bidirectional layer is a strided slice of the
    // concatenated gradient; the fused kernel reads it in place.
    Tensor grad_out = grads[0];
    if (grad_out.defined() && grad_out.stride(2) != 1) grad_out = grad_out.contiguous();
    Tensor zero_row = grad_out.defined() ? Tensor() : torch::zeros({B, H}, x.options());
    Tensor dgates = gates;
    Tensor w_hh_t = w_hh.t();
    Tensor recurrent_grad = torch::empty({H, B}, x.options());
    // float32: dgates_t·W_hh accumulated straight into dh by libxsmm's kernels, reading W_hh^T
    // packed once for all steps.
    const kernels::SmallGemm small =
        fused && x.scalar_type() == torch::kFloat && dh.is_contiguous()
            ? kernels::SmallGemm::accumulating(H, B, GH, /*ldb=*/GH, /*ldc=*/H)
            : kernels::SmallGemm();
    const Tensor w_hh_t_packed = small ? small.pack(w_hh.t()) : Tensor();

    // Walk the steps in the opposite order of the forward pass.
    for (int64_t s = T - 1; s >= 0; --s) {
      const int64_t t = time_at(s, T, reverse);
      Tensor c_prev = s == 0 ? c0 : cs[time_at(s - 1, T, reverse)];
      Tensor g_t = gates[t], dg_t = dgates[t], c_t = cs[t];
      Tensor go_t = grad_out.defined() ? grad_out[t] : zero_row;
      {
        profile::Scope gate_scope(profile::Phase::kGatesBackward);
        if (fused) {
          AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstm_backward_step", [&] {
            BackwardStep<scalar_t> st{g_t.data_ptr<scalar_t>(),
                                      c_prev.data_ptr<scalar_t>(),
                                      c_t.data_ptr<scalar_t>(),
                                      go_t.data_ptr<scalar_t>(),
                                      go_t.stride(0),
                                      dh.data_ptr<scalar_t>(),
                                      dc.data_ptr<scalar_t>(),
                                      dg_t.data_ptr<scalar_t>(),
                                      w_c.defined() ? w_c.data_ptr<scalar_t>() : nullptr,
                                      has_lengths ? lengths.data_ptr<int64_t>() : nullptr,
                                      t,
                                      B,
                                      H};
            fused_backward_step(st, cell);
          });
        } else {
          generic_backward_step(g_t, c_prev, c_t, go_t, dh, dc, dg_t, w_c,
                                has_lengths ? active[t] : Tensor(), cell);
        }
      }
      // dh += dgates_t·W_hh, computed transposed as in the forward.
      profile::Scope grad_scope(profile::Phase::kRecurrentGrad);
      if (small) {
        small.run(w_hh_t_packed.data_ptr<float>(), dg_t.data_ptr<float>(), dh.data_ptr<float>());
      } else {
        torch::mm_out(recurrent_grad, w_hh_t, dg_t.t());
        dh.add_(recurrent_grad.t());
      }
    }

    // All weight and input gradients as single products over every step.
    profile::Scope products_scope(profile::Phase::kWeightProducts);
    Tensor dg2 = dgates.view({T * B, GH});
    variable_list result(kNumInputs + 1);  // the tensor inputs, then `aux`
    if (ctx->needs_input_grad(kX)) result[kX] = kernels::gemm(dg2, w_ih).view({T, B, F});
    result[kH0] = dh;
    result[kC0] = dc;
    if (ctx->needs_input_grad(kWIh)) result[kWIh] = kernels::gemm(dg2.t(), x.view({T * B, F}));
    if (ctx->needs_input_grad(kWHh)) {
      // Step t used h_prev = hs at the previously processed step, or h0 at the first step.
      const int64_t first_t = time_at(0, T, reverse);
      Tensor dw_hh = kernels::gemm(dgates[first_t].t(), h0);
      if (T > 1) {
        Tensor hs2 = hs.view({T * B, H});
        const int64_t rows = (T - 1) * B;
        kernels::gemm_into(dw_hh, dg2.narrow(0, reverse ? 0 : B, rows).t(),
                           hs2.narrow(0, reverse ? B : 0, rows), /*accumulate=*/true);
      }
      result[kWHh] = dw_hh;
    }
    if (has_bias) {
      Tensor db = dg2.sum(0);
      result[kBHh] = db.clone();
      result[kBIh] = db;
    }
    if (w_c.defined()) {
      Tensor c_prevs = reverse ? torch::cat({cs.narrow(0, 1, T - 1), c0.unsqueeze(0)})
                               : torch::cat({c0.unsqueeze(0), cs.narrow(0, 0, T - 1)});
      result[kWC] = torch::cat({(dgates.narrow(2, 0, H) * c_prevs).sum(std::vector<int64_t>{0, 1}),
                                (dgates.narrow(2, H, H) * c_prevs).sum(std::vector<int64_t>{0, 1}),
                                (dgates.narrow(2, 3 * H, H) * cs).sum(std::vector<int64_t>{0, 1})});
    }
    return result;
  }
};

std::string layer_suffix(int64_t layer, int64_t direction) {
  return "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
}

std::string shape_string(const Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

}  // namespace

// ------------------------------------------------------------------------------------------------

LSTMImpl::LSTMImpl(const LSTMOptions& options_) : options(options_) { reset(); }

void LSTMImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.input_size() > 0, "LSTM: input_size must be positive, got ", o.input_size());
  TORCH_CHECK(o.hidden_size() > 0, "LSTM: hidden_size must be positive, got ", o.hidden_size());
  TORCH_CHECK(o.num_layers() > 0, "LSTM: num_layers must be positive, got ", o.num_layers());
  TORCH_CHECK(o.dropout() >= 0.0 && o.dropout() <= 1.0,
              "LSTM: dropout must be a probability in [0, 1], got ", o.dropout());
  TORCH_CHECK(std::isfinite(o.forget_bias()), "LSTM: forget_bias must be finite");
  if (o.forget_bias() != 0.0) {
    TORCH_CHECK(o.bias(), "LSTM: forget_bias = ", o.forget_bias(), " needs bias(true)");
    TORCH_CHECK(o.cell() != LSTMCellType::k1997,
                "LSTM: forget_bias is meaningless for the 1997 cell, which has no forget gate");
  }
  const int64_t D = o.bidirectional() ? 2 : 1;
  const int64_t H = o.hidden_size();
  const int64_t GH = num_gates(o.cell()) * H;
  layers_.clear();
  onednn_.clear();
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    const int64_t in = layer == 0 ? o.input_size() : D * H;
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = layer_suffix(layer, d);
      LayerWeights w;
      w.w_ih = register_parameter("weight_ih" + sfx, torch::empty({GH, in}));
      w.w_hh = register_parameter("weight_hh" + sfx, torch::empty({GH, H}));
      if (o.bias()) {
        w.b_ih = register_parameter("bias_ih" + sfx, torch::empty({GH}));
        w.b_hh = register_parameter("bias_hh" + sfx, torch::empty({GH}));
      }
      if (o.cell() == LSTMCellType::kPeephole) {
        w.w_c = register_parameter("weight_c" + sfx, torch::empty({3 * H}));
      }
      layers_.push_back(w);
      onednn_.push_back(std::make_shared<kernels::OneDnnLayer>());
    }
  }
  reset_parameters();
}

void LSTMImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.hidden_size()));
  for (auto& p : parameters()) p.uniform_(-bound, bound);
  if (options.forget_bias() != 0.0) {
    const int64_t H = options.hidden_size();
    for (auto& w : layers_) w.b_ih.narrow(0, H, H).add_(options.forget_bias());
  }
}

std::vector<torch::Tensor> LSTMImpl::layer_parameters(int64_t layer, int64_t direction) const {
  const int64_t D = options.bidirectional() ? 2 : 1;
  TORCH_CHECK(layer >= 0 && layer < options.num_layers() && direction >= 0 && direction < D,
              "LSTM: no layer ", layer, " direction ", direction);
  const LayerWeights& w = layers_[layer * D + direction];
  return {w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_c};
}

void LSTMImpl::pretty_print(std::ostream& stream) const {
  stream << "lstmnlp::LSTM(input_size=" << options.input_size()
         << ", hidden_size=" << options.hidden_size() << ", num_layers=" << options.num_layers();
  if (!options.bias()) stream << ", bias=false";
  if (options.batch_first()) stream << ", batch_first=true";
  if (options.dropout() > 0) stream << ", dropout=" << options.dropout();
  if (options.bidirectional()) stream << ", bidirectional=true";
  stream << ", cell=" << to_string(options.cell());
  if (options.forget_bias() != 0) stream << ", forget_bias=" << options.forget_bias();
  stream << ")";
}

void LSTMImpl::check_forward_args(
    const torch::Tensor& input,
    const std::optional<std::tuple<torch::Tensor, torch::Tensor>>& state,
    const std::optional<torch::Tensor>& lengths) const {
  const auto& o = options;
  TORCH_CHECK(input.defined(), "LSTM: input is undefined");
  TORCH_CHECK(input.dim() == 3 || input.dim() == 2,
              "LSTM: expected a 3-D input (T, B, F) (or (B, T, F) with batch_first, or an "
              "unbatched 2-D (T, F)), got ",
              input.dim(), "-D input of shape ", input.sizes());
  TORCH_CHECK(input.size(-1) == o.input_size(), "LSTM: input has ", input.size(-1),
              " features in its last dimension but input_size is ", o.input_size(),
              " (input shape ", input.sizes(), ")");
  const Tensor& w0 = layers_.front().w_ih;
  TORCH_CHECK(input.scalar_type() == w0.scalar_type() && input.device() == w0.device(),
              "LSTM: input is ", input.scalar_type(), " on ", input.device(),
              " but the parameters are ", w0.scalar_type(), " on ", w0.device());
  const bool unbatched = input.dim() == 2;
  const int64_t T = input.size(unbatched || !o.batch_first() ? 0 : 1);
  const int64_t B = unbatched ? 1 : input.size(o.batch_first() ? 0 : 1);
  TORCH_CHECK(T > 0 && B > 0, "LSTM: input has an empty time or batch dimension: ", input.sizes());
  const int64_t LD = o.num_layers() * (o.bidirectional() ? 2 : 1);
  if (state) {
    const std::vector<int64_t> expected = unbatched ? std::vector<int64_t>{LD, o.hidden_size()}
                                                    : std::vector<int64_t>{LD, B, o.hidden_size()};
    const Tensor* states[2] = {&std::get<0>(*state), &std::get<1>(*state)};
    for (const Tensor* s : states) {
      const char* name = s == states[0] ? "h0" : "c0";
      TORCH_CHECK(s->defined(), "LSTM: initial state ", name, " is undefined");
      TORCH_CHECK(s->sizes() == torch::IntArrayRef(expected), "LSTM: initial state ", name,
                  " must have shape ", torch::IntArrayRef(expected),
                  " (num_layers*num_directions, batch, hidden_size), got ", s->sizes());
      TORCH_CHECK(s->scalar_type() == input.scalar_type() && s->device() == input.device(),
                  "LSTM: initial state ", name, " is ", s->scalar_type(), " on ", s->device(),
                  " but the input is ", input.scalar_type(), " on ", input.device());
    }
  }
  if (lengths && lengths->defined()) {
    const Tensor& l = *lengths;
    TORCH_CHECK(l.dim() == 1 && l.size(0) == B, "LSTM: lengths must have shape (", B,
                "), one per sequence, got ", l.sizes());
    TORCH_CHECK(!l.is_floating_point() && !l.is_complex(),
                "LSTM: lengths must be an integer tensor, got ", l.scalar_type());
  }
}

std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>> LSTMImpl::forward(
    const torch::Tensor& input, std::optional<std::tuple<torch::Tensor, torch::Tensor>> state,
    std::optional<torch::Tensor> lengths) {
  check_forward_args(input, state, lengths);
  const auto& o = options;
  const bool unbatched = input.dim() == 2;
  Tensor x = unbatched ? input.unsqueeze(1) : (o.batch_first() ? input.transpose(0, 1) : input);
  x = x.contiguous();
  const int64_t T = x.size(0), B = x.size(1), H = o.hidden_size();
  const int64_t D = o.bidirectional() ? 2 : 1;
  const int64_t LD = o.num_layers() * D;

  Tensor h0, c0;
  if (state) {
    std::tie(h0, c0) = *state;
    if (unbatched) {
      h0 = h0.unsqueeze(1);
      c0 = c0.unsqueeze(1);
    }
  } else {
    h0 = torch::zeros({LD, B, H}, x.options());
    c0 = torch::zeros({LD, B, H}, x.options());
  }

  Tensor lengths_cpu, active;
  if (lengths && lengths->defined()) {
    lengths_cpu = lengths->to(torch::kCPU, torch::kLong).contiguous();
    const int64_t min_len = lengths_cpu.min().item<int64_t>();
    const int64_t max_len = lengths_cpu.max().item<int64_t>();
    TORCH_CHECK(min_len >= 1, "LSTM: every length must be at least 1, got ", min_len);
    TORCH_CHECK(max_len <= T, "LSTM: a length of ", max_len, " exceeds the ", T,
                " time steps of the input");
    if (max_len == T && min_len == T) {
      lengths_cpu = Tensor();  // all full: the plain path is the same computation
    } else {
      active = (torch::arange(T, lengths_cpu.options()).unsqueeze(1) < lengths_cpu.unsqueeze(0))
                   .unsqueeze(2)
                   .to(x.device());
    }
  }

  const bool grad = torch::GradMode::is_enabled();
  Tensor layer_input = x;
  std::vector<Tensor> h_n, c_n;
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    std::vector<Tensor> outs;
    for (int64_t d = 0; d < D; ++d) {
      const LayerWeights& w = layers_[layer * D + d];
      const int64_t k = layer * D + d;
      LayerInputs in{layer_input,
                     h0[k].contiguous(),
                     c0[k].contiguous(),
                     w.w_ih,
                     w.w_hh,
                     w.b_ih,
                     w.b_hh,
                     w.w_c,
                     lengths_cpu,
                     active};
      const LayerConfig cfg{o.cell(), d == 1, o.fused_cpu_kernels()};
      bool needs_grad = false;
      if (grad) {
        for (const Tensor* t :
             {&in.x, &in.h0, &in.c0, &in.w_ih, &in.w_hh, &in.b_ih, &in.b_hh, &in.w_c}) {
          needs_grad = needs_grad || (t->defined() && t->requires_grad());
        }
      }
      if (needs_grad) {
        auto r = LSTMLayerFunction::apply(
            in.x, in.h0, in.c0, in.w_ih, in.w_hh, or_empty(in.b_ih, in.x), or_empty(in.b_hh, in.x),
            or_empty(in.w_c, in.x), LayerAux{in.lengths, in.active, cfg});
        outs.push_back(r[0]);
        h_n.push_back(r[1]);
        c_n.push_back(r[2]);
      } else {
        torch::NoGradGuard no_grad;
        LayerResult r = layer_forward(in, cfg, /*keep=*/false, onednn_[k].get());
        outs.push_back(r.out);
        h_n.push_back(r.h_n);
        c_n.push_back(r.c_n);
      }
    }
    layer_input = D == 1 ? outs[0] : torch::cat(outs, /*dim=*/2);
    if (o.dropout() > 0 && is_training() && layer + 1 < o.num_layers()) {
      layer_input = torch::dropout(layer_input, o.dropout(), /*train=*/true);
    }
  }
  Tensor output = layer_input;
  Tensor hn = torch::stack(h_n), cn = torch::stack(c_n);
  if (unbatched) {
    return {output.squeeze(1), {hn.squeeze(1), cn.squeeze(1)}};
  }
  if (o.batch_first()) output = output.transpose(0, 1);
  return {output, {hn, cn}};
}

// ------------------------------------------------------------------------------------------------

namespace {

void check_compatible(const torch::nn::LSTMOptions& t, const LSTMOptions& o) {
  TORCH_CHECK(o.cell() == LSTMCellType::kStandard,
              "LSTM: only the standard cell has torch::nn::LSTM weights, this one is ",
              to_string(o.cell()));
  TORCH_CHECK(t.proj_size() == 0, "LSTM: torch::nn::LSTM with proj_size is not supported");
  TORCH_CHECK(t.input_size() == o.input_size() && t.hidden_size() == o.hidden_size() &&
                  t.num_layers() == o.num_layers() && t.bias() == o.bias() &&
                  t.bidirectional() == o.bidirectional(),
              "LSTM: torch::nn::LSTM(input_size=", t.input_size(),
              ", hidden_size=", t.hidden_size(), ", num_layers=", t.num_layers(),
              ", bias=", t.bias(), ", bidirectional=", t.bidirectional(),
              ") does not match lstmnlp::LSTM(input_size=", o.input_size(),
              ", hidden_size=", o.hidden_size(), ", num_layers=", o.num_layers(),
              ", bias=", o.bias(), ", bidirectional=", o.bidirectional(), ")");
}

void copy_named(const torch::OrderedDict<std::string, Tensor>& from,
                torch::OrderedDict<std::string, Tensor>& to) {
  torch::NoGradGuard no_grad;
  for (auto& item : to) {
    const Tensor* src = from.find(item.key());
    TORCH_CHECK(src != nullptr, "LSTM: parameter ", item.key(), " is missing in the source");
    TORCH_CHECK(src->sizes() == item.value().sizes(), "LSTM: parameter ", item.key(), " is ",
                shape_string(*src), " in the source but ", shape_string(item.value()),
                " in the target");
    item.value().copy_(*src);
  }
}

LSTMOptions options_from_torch(const torch::nn::LSTMOptions& t) {
  return LSTMOptions(t.input_size(), t.hidden_size())
      .num_layers(t.num_layers())
      .bias(t.bias())
      .batch_first(t.batch_first())
      .dropout(t.dropout())
      .bidirectional(t.bidirectional());
}

}  // namespace

void copy_weights_from_torch(const torch::nn::LSTM& source, LSTM& target) {
  check_compatible(source->options, target->options);
  auto to = target->named_parameters();
  copy_named(source->named_parameters(), to);
}

void copy_weights_to_torch(const LSTM& source, torch::nn::LSTM& target) {
  check_compatible(target->options, source->options);
  auto to = target->named_parameters();
  copy_named(source->named_parameters(), to);
}

LSTM lstm_from_torch(const torch::nn::LSTM& source) {
  TORCH_CHECK(source->options.proj_size() == 0,
              "LSTM: torch::nn::LSTM with proj_size is not supported");
  LSTM lstm(options_from_torch(source->options));
  const Tensor w = source->named_parameters()["weight_ih_l0"];
  lstm->to(w.device(), w.scalar_type());
  copy_weights_from_torch(source, lstm);
  return lstm;
}

torch::nn::LSTM lstm_to_torch(const LSTM& source) {
  const auto& o = source->options;
  TORCH_CHECK(o.cell() == LSTMCellType::kStandard,
              "LSTM: only the standard cell converts to torch::nn::LSTM, this one is ",
              to_string(o.cell()));
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(o.input_size(), o.hidden_size())
                           .num_layers(o.num_layers())
                           .bias(o.bias())
                           .batch_first(o.batch_first())
                           .dropout(o.dropout())
                           .bidirectional(o.bidirectional()));
  const Tensor w = source->layer_parameters(0, 0)[0];
  lstm->to(w.device(), w.scalar_type());
  copy_weights_to_torch(source, lstm);
  return lstm;
}

void save_state_dict_for_python(const LSTM& lstm, const std::string& path) {
  StateDict tensors;
  for (const auto& item : lstm->named_parameters()) tensors.emplace_back(item.key(), item.value());
  save_state_dict(path, tensors);
}

}  // namespace lstmnlp
