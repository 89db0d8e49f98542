#include "models/paper/trial_net.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <random>
#include <utility>

namespace lstmnlp::paper {
namespace {

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// a += alpha * b
inline void axpy(double* a, double alpha, const double* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] += alpha * b[i];
}

// The indices of the non-zero entries of v: one-hot inputs leave most of a source vector zero
// (p + 1 = 101 inputs in experiment 2a), so the products below skip the zeros.
inline void nonzeros(const std::vector<double>& v, std::vector<int32_t>& idx) {
  idx.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0.0) idx.push_back(static_cast<int32_t>(i));
  }
}

inline double dot(const double* w, const double* x, const std::vector<int32_t>& idx) {
  double sum = 0.0;
  for (int32_t i : idx) sum += w[i] * x[i];
  return sum;
}

inline void axpy(double* a, double alpha, const double* x, const std::vector<int32_t>& idx) {
  for (int32_t i : idx) a[i] += alpha * x[i];
}

}  // namespace

int64_t NetSpec::num_weights() const {
  int64_t n = hidden_units() * hidden_sources() + outputs * output_sources();
  if (!gate_bias) n -= gates();
  if (!cell_bias) n -= cells();
  if (!output_bias) n -= outputs;
  return n;
}

TrialNet::TrialNet(NetSpec spec, uint64_t seed) : spec_(spec) {
  TORCH_CHECK(spec_.inputs > 0 && spec_.outputs > 0, "TrialNet: inputs and outputs must be > 0");
  TORCH_CHECK(spec_.blocks > 0 && spec_.cells_per_block > 0,
              "TrialNet: blocks and cells_per_block must be > 0, got ", spec_.blocks, " and ",
              spec_.cells_per_block);
  TORCH_CHECK(spec_.init_range >= 0.0, "TrialNet: init_range must be >= 0");
  TORCH_CHECK(spec_.hidden_update == HiddenUpdate::kSimultaneous || !spec_.forget_gate,
              "TrialNet: HiddenUpdate::kInOrder is the 1997 cell's order; no forget gate");
  ns_ = spec_.hidden_sources();
  no_ = spec_.output_sources();
  const int64_t units = spec_.hidden_units();
  const int64_t cells = spec_.cells();
  w_.assign(units * ns_, 0.0);
  v_.assign(spec_.outputs * no_, 0.0);
  gw_.assign(w_.size(), 0.0);
  gv_.assign(v_.size(), 0.0);

  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-spec_.init_range, spec_.init_range);
  for (double& w : w_) w = uniform(rng);
  for (double& v : v_) v = uniform(rng);
  for (int64_t j = 0; j < spec_.blocks; ++j) {
    const double jd = static_cast<double>(j);
    if (!spec_.input_gate_bias_random) {
      w_[row_input_gate(j) * ns_] = spec_.input_gate_bias + jd * spec_.input_gate_bias_step;
    }
    if (spec_.output_gate && !spec_.output_gate_bias_random) {
      w_[row_output_gate(j) * ns_] = spec_.output_gate_bias + jd * spec_.output_gate_bias_step;
    }
    if (spec_.forget_gate) {
      w_[row_forget_gate(j) * ns_] = spec_.forget_gate_bias + jd * spec_.forget_gate_bias_step;
    }
  }
  zero_frozen();

  src_.assign(ns_, 0.0);
  osrc_.assign(no_, 0.0);
  act_.assign(units, 0.0);
  gdash_.assign(cells, 0.0);
  s_.assign(cells, 0.0);
  s_prev_.assign(cells, 0.0);
  h_.assign(cells, 0.0);
  yc_.assign(cells, 0.0);
  y_.assign(spec_.outputs, 0.0);
  pc_.assign(cells * ns_, 0.0);
  pi_.assign(cells * ns_, 0.0);
  pf_.assign(spec_.forget_gate ? cells * ns_ : 0, 0.0);
  dy_.assign(cells, 0.0);
  nz_src_.reserve(ns_);
  nz_osrc_.reserve(no_);
  in_order_ = spec_.hidden_update == HiddenUpdate::kInOrder && spec_.recurrent_gates;
  if (in_order_) {
    src_out_.assign(ns_, 0.0);
    src_cell_.assign(ns_, 0.0);
    nz_out_.reserve(ns_);
    nz_cell_.reserve(ns_);
  }
}

void TrialNet::set_cells_attached(bool attached) {
  if (attached == cells_attached_) return;
  // Detached, the stash holds the cells' output weights and v_ zeros; each change swaps them.
  const int64_t cells = spec_.cells();
  detached_cell_weights_.resize(spec_.outputs * cells, 0.0);
  for (int64_t k = 0; k < spec_.outputs; ++k) {
    for (int64_t c = 0; c < cells; ++c) {
      std::swap(v_[k * no_ + 1 + c], detached_cell_weights_[k * cells + c]);
    }
  }
  cells_attached_ = attached;
  zero_frozen();
}

void TrialNet::zero_frozen() {
  if (!cells_attached_) {
    for (int64_t k = 0; k < spec_.outputs; ++k) {
      for (int64_t c = 0; c < spec_.cells(); ++c) v_[k * no_ + 1 + c] = gv_[k * no_ + 1 + c] = 0.0;
    }
  }
  if (!spec_.gate_bias) {
    for (int64_t u = 0; u < spec_.gates(); ++u) w_[u * ns_] = gw_[u * ns_] = 0.0;
  }
  if (!spec_.cell_bias) {
    for (int64_t c = 0; c < spec_.cells(); ++c) w_[row_cell(c) * ns_] = gw_[row_cell(c) * ns_] = 0;
  }
  if (!spec_.output_bias) {
    for (int64_t k = 0; k < spec_.outputs; ++k) v_[k * no_] = gv_[k * no_] = 0.0;
  }
}

double TrialNet::squash_g(double net, double* g_dash) const {
  switch (spec_.squash) {
    case Squash::kPaper: {
      const double sg = sigmoid(net);
      *g_dash = 4.0 * sg * (1.0 - sg);
      return 4.0 * sg - 2.0;
    }
    case Squash::kTanh: {
      const double g = std::tanh(net);
      *g_dash = 1.0 - g * g;
      return g;
    }
    case Squash::kSigmoidIdentity: {
      const double sg = sigmoid(net);
      *g_dash = sg * (1.0 - sg);
      return sg;
    }
  }
  return 0.0;
}

double TrialNet::squash_h(double s) const {
  switch (spec_.squash) {
    case Squash::kPaper:
      return 2.0 * sigmoid(s) - 1.0;
    case Squash::kTanh:
      return std::tanh(s);
    case Squash::kSigmoidIdentity:
      return s;
  }
  return 0.0;
}

double TrialNet::squash_h_dash(double h) const {
  switch (spec_.squash) {
    case Squash::kPaper:
      return 0.5 * (1.0 - h * h);  // h = 2 sigmoid - 1: h' = 2 sigmoid (1 - sigmoid)
    case Squash::kTanh:
      return 1.0 - h * h;
    case Squash::kSigmoidIdentity:
      return 1.0;
  }
  return 0.0;
}

void TrialNet::reset() {
  std::fill(s_.begin(), s_.end(), 0.0);
  std::fill(yc_.begin(), yc_.end(), 0.0);
  std::fill(act_.begin(), act_.end(), 0.0);
  std::fill(pc_.begin(), pc_.end(), 0.0);
  std::fill(pi_.begin(), pi_.end(), 0.0);
  std::fill(pf_.begin(), pf_.end(), 0.0);
  std::fill(rt_r_.begin(), rt_r_.end(), 0.0);
  std::fill(rt_s_.begin(), rt_s_.end(), 0.0);
}

const double* TrialNet::forward(const double* x, bool learn) {
  const int64_t B = spec_.blocks, S = spec_.cells_per_block, C = spec_.cells();
  const int64_t G = spec_.gates();

  // The recurrent sources are the previous step's cell outputs and gate activations.
  src_[0] = 1.0;
  auto end = std::copy(x, x + spec_.inputs, src_.begin() + 1);
  if (spec_.recurrent_cells) end = std::copy(yc_.begin(), yc_.end(), end);
  if (spec_.recurrent_gates) std::copy(act_.begin(), act_.begin() + G, end);
  const double* src = src_.data();
  nonzeros(src_, nz_src_);

  if (!in_order_) {
    for (int64_t u = 0; u < G; ++u) act_[u] = sigmoid(dot(&w_[u * ns_], src, nz_src_));
  } else {
    // In the paper's order: input gates from src_; output gates from src_ with this step's
    // input gates; cells from that with this step's output gates too.
    const int64_t gate_col = 1 + spec_.inputs + (spec_.recurrent_cells ? C : 0);
    for (int64_t j = 0; j < B; ++j) act_[j] = sigmoid(dot(&w_[j * ns_], src, nz_src_));
    std::copy(src_.begin(), src_.end(), src_out_.begin());
    std::copy(act_.begin(), act_.begin() + B, src_out_.begin() + gate_col);
    nonzeros(src_out_, nz_out_);
    for (int64_t u = B; u < G; ++u) act_[u] = sigmoid(dot(&w_[u * ns_], src_out_.data(), nz_out_));
    std::copy(src_out_.begin(), src_out_.end(), src_cell_.begin());
    std::copy(act_.begin() + B, act_.begin() + G, src_cell_.begin() + gate_col + B);
    nonzeros(src_cell_, nz_cell_);
  }
  const double* csrc = cell_src().data();
  for (int64_t c = 0; c < C; ++c) {
    act_[G + c] = squash_g(dot(&w_[row_cell(c) * ns_], csrc, cell_nz()), &gdash_[c]);
  }

  for (int64_t j = 0; j < B; ++j) {
    const double in = act_[row_input_gate(j)];
    const double out = spec_.output_gate ? act_[row_output_gate(j)] : 1.0;
    const double f = spec_.forget_gate ? act_[row_forget_gate(j)] : 1.0;
    for (int64_t v = 0; v < S; ++v) {
      const int64_t c = j * S + v;
      const double g = act_[G + c];
      s_prev_[c] = s_[c];
      s_[c] = f * s_[c] + in * g;
      h_[c] = squash_h(s_[c]);
      yc_[c] = out * h_[c];

      if (learn) {
        // Truncated RTRL: ds_c(t)/dw = f ds_c(t-1)/dw + (immediate term) * src_m.
        double* pc = &pc_[c * ns_];
        double* pi = &pi_[c * ns_];
        const double a_c = in * gdash_[c];
        const double a_i = g * in * (1.0 - in);
        if (spec_.forget_gate) {
          double* pf = &pf_[c * ns_];
          const double a_f = s_prev_[c] * f * (1.0 - f);
          for (int64_t m = 0; m < ns_; ++m) {
            pc[m] = f * pc[m] + a_c * src[m];
            pi[m] = f * pi[m] + a_i * src[m];
            pf[m] = f * pf[m] + a_f * src[m];
          }
        } else {
          axpy(pc, a_c, csrc, cell_nz());
          axpy(pi, a_i, src, nz_src_);
        }
      }
    }
  }

  osrc_[0] = 1.0;
  std::copy(yc_.begin(), yc_.end(), osrc_.begin() + 1);
  if (spec_.input_to_output) std::copy(x, x + spec_.inputs, osrc_.begin() + 1 + C);
  nonzeros(osrc_, nz_osrc_);
  for (int64_t k = 0; k < spec_.outputs; ++k) {
    y_[k] = sigmoid(dot(&v_[k * no_], osrc_.data(), nz_osrc_));
  }
  return y_.data();
}

double TrialNet::output_error(const double* target) {
  const int64_t C = spec_.cells();
  double error = 0.0;
  std::fill(dy_.begin(), dy_.end(), 0.0);
  for (int64_t k = 0; k < spec_.outputs; ++k) {
    const double e = y_[k] - target[k];
    error += 0.5 * e * e;
    const double delta = spec_.cross_entropy ? e : e * y_[k] * (1.0 - y_[k]);
    if (delta == 0.0) continue;
    const double* vk = &v_[k * no_];
    for (int64_t c = 0; c < C; ++c) dy_[c] += vk[1 + c] * delta;
    axpy(&gv_[k * no_], delta, osrc_.data(), nz_osrc_);
  }
  return error;
}

double TrialNet::backward(const double* target) {
  const int64_t B = spec_.blocks, S = spec_.cells_per_block;
  const double error = output_error(target);
  for (int64_t j = 0; j < B; ++j) {
    const double out = spec_.output_gate ? act_[row_output_gate(j)] : 1.0;
    double d_out = 0.0;
    for (int64_t v = 0; v < S; ++v) {
      const int64_t c = j * S + v;
      d_out += dy_[c] * h_[c];
      const double ds = dy_[c] * out * squash_h_dash(h_[c]);
      axpy(&gw_[row_cell(c) * ns_], ds, &pc_[c * ns_], ns_);
      axpy(&gw_[row_input_gate(j) * ns_], ds, &pi_[c * ns_], ns_);
      if (spec_.forget_gate) axpy(&gw_[row_forget_gate(j) * ns_], ds, &pf_[c * ns_], ns_);
    }
    if (spec_.output_gate) {
      axpy(&gw_[row_output_gate(j) * ns_], d_out * out * (1.0 - out), out_src().data(), out_nz());
    }
  }
  return error;
}

double TrialNet::accumulate_full_gradient(const Sequence& seq, std::vector<double>* outputs) {
  const int64_t B = spec_.blocks, S = spec_.cells_per_block, C = spec_.cells();
  const int64_t G = spec_.gates(), U = spec_.hidden_units(), R = spec_.recurrent_sources();
  const int64_t K = spec_.outputs, T = seq.length;
  // Offset of the gate activations among the recurrent sources.
  const int64_t RC = spec_.recurrent_cells ? C : 0;
  TORCH_CHECK(!in_order_,
              "accumulate_full_gradient: needs HiddenUpdate::kSimultaneous, not kInOrder");
  hist_src_.resize(T * ns_);
  hist_osrc_.resize(T * no_);
  hist_act_.resize(T * U);
  hist_gdash_.resize(T * C);
  hist_s_.resize(T * C);
  hist_s_prev_.resize(T * C);
  hist_h_.resize(T * C);
  hist_y_.resize(T * K);
  if (outputs) outputs->resize(T * K);

  reset();
  for (int64_t t = 0; t < T; ++t) {
    forward(&seq.inputs[t * spec_.inputs], /*learn=*/false);
    std::copy(src_.begin(), src_.end(), hist_src_.begin() + t * ns_);
    std::copy(osrc_.begin(), osrc_.end(), hist_osrc_.begin() + t * no_);
    std::copy(act_.begin(), act_.end(), hist_act_.begin() + t * U);
    std::copy(gdash_.begin(), gdash_.end(), hist_gdash_.begin() + t * C);
    std::copy(s_.begin(), s_.end(), hist_s_.begin() + t * C);
    std::copy(s_prev_.begin(), s_prev_.end(), hist_s_prev_.begin() + t * C);
    std::copy(h_.begin(), h_.end(), hist_h_.begin() + t * C);
    std::copy(y_.begin(), y_.end(), hist_y_.begin() + t * K);
    if (outputs) std::copy(y_.begin(), y_.end(), outputs->begin() + t * K);
  }

  double error = 0.0;
  std::vector<double> drec(R, 0.0), drec_prev(R, 0.0);  // dE/dr(t), dE/dr(t-1)
  std::vector<double> ds_next(C, 0.0), ds(C, 0.0), f_next(B, 1.0), delta(U, 0.0);
  for (int64_t t = T - 1; t >= 0; --t) {
    const double* act = &hist_act_[t * U];
    const double* h = &hist_h_[t * C];
    const double* sp = &hist_s_prev_[t * C];
    const double* gd = &hist_gdash_[t * C];
    const double* src = &hist_src_[t * ns_];
    if (spec_.recurrent_cells) {
      std::copy(drec.begin(), drec.begin() + C, dy_.begin());
    } else {
      std::fill(dy_.begin(), dy_.end(), 0.0);
    }
    if (seq.has_target[t]) {
      const double* y = &hist_y_[t * K];
      const double* target = &seq.targets[t * K];
      for (int64_t k = 0; k < K; ++k) {
        const double e = y[k] - target[k];
        error += 0.5 * e * e;
        const double d = spec_.cross_entropy ? e : e * y[k] * (1.0 - y[k]);
        for (int64_t c = 0; c < C; ++c) dy_[c] += v_[k * no_ + 1 + c] * d;
        axpy(&gv_[k * no_], d, &hist_osrc_[t * no_], no_);
      }
    }
    auto gate_rec = [&](int64_t row) { return spec_.recurrent_gates ? drec[RC + row] : 0.0; };
    for (int64_t j = 0; j < B; ++j) {
      const double in = act[row_input_gate(j)];
      const double out = spec_.output_gate ? act[row_output_gate(j)] : 1.0;
      const double f = spec_.forget_gate ? act[row_forget_gate(j)] : 1.0;
      double d_out = spec_.output_gate ? gate_rec(row_output_gate(j)) : 0.0;
      double d_in = gate_rec(row_input_gate(j));
      double d_f = spec_.forget_gate ? gate_rec(row_forget_gate(j)) : 0.0;
      for (int64_t v = 0; v < S; ++v) {
        const int64_t c = j * S + v;
        d_out += dy_[c] * h[c];
        ds[c] = dy_[c] * out * squash_h_dash(h[c]) + ds_next[c] * f_next[j];
        d_in += ds[c] * act[G + c];
        d_f += ds[c] * sp[c];
        delta[row_cell(c)] = ds[c] * in * gd[c];
      }
      if (spec_.output_gate) delta[row_output_gate(j)] = d_out * out * (1.0 - out);
      delta[row_input_gate(j)] = d_in * in * (1.0 - in);
      if (spec_.forget_gate) delta[row_forget_gate(j)] = d_f * f * (1.0 - f);
      f_next[j] = f;
    }
    std::fill(drec_prev.begin(), drec_prev.end(), 0.0);
    for (int64_t u = 0; u < U; ++u) {
      if (delta[u] == 0.0) continue;
      axpy(&gw_[u * ns_], delta[u], src, ns_);
      if (R > 0) axpy(drec_prev.data(), delta[u], &w_[u * ns_ + 1 + spec_.inputs], R);
    }
    std::swap(drec, drec_prev);
    std::swap(ds, ds_next);
  }
  return error;
}

const double* TrialNet::forward_rtrl(const double* x) {
  TORCH_CHECK(!spec_.forget_gate && !in_order_,
              "forward_rtrl: needs the 1997 cell and HiddenUpdate::kSimultaneous");
  const int64_t B = spec_.blocks, S = spec_.cells_per_block, C = spec_.cells();
  const int64_t G = spec_.gates(), U = spec_.hidden_units(), R = spec_.recurrent_sources();
  const int64_t P = U * ns_, I = spec_.inputs;
  const int64_t RC = spec_.recurrent_cells ? C : 0;  // first gate among the recurrent sources
  if (rt_net_.empty()) {
    rt_r_.assign(R * P, 0.0);
    rt_s_.assign(C * P, 0.0);
    rt_gate_.assign(G * P, 0.0);
    rt_yc_.assign(C * P, 0.0);
    rt_net_.assign(U * P, 0.0);
  }
  const double* y = forward(x, /*learn=*/false);

  // d net_u / dw = [w in row u] src + sum_i W_u,i d r_i(t-1) / dw.
  for (int64_t u = 0; u < U; ++u) {
    double* dnet = &rt_net_[u * P];
    std::fill(dnet, dnet + P, 0.0);
    const double* wu = &w_[u * ns_ + 1 + I];
    for (int64_t i = 0; i < R; ++i) {
      if (wu[i] != 0.0) axpy(dnet, wu[i], &rt_r_[i * P], P);
    }
    axpy(dnet + u * ns_, 1.0, src_.data(), nz_src_);
  }
  for (int64_t u = 0; u < G; ++u) {
    const double a = act_[u];
    double* dg = &rt_gate_[u * P];
    const double* dnet = &rt_net_[u * P];
    for (int64_t p = 0; p < P; ++p) dg[p] = a * (1.0 - a) * dnet[p];
  }
  for (int64_t j = 0; j < B; ++j) {
    const double in = act_[row_input_gate(j)];
    const double out = spec_.output_gate ? act_[row_output_gate(j)] : 1.0;
    const double* din = &rt_gate_[row_input_gate(j) * P];
    const double* dout = spec_.output_gate ? &rt_gate_[row_output_gate(j) * P] : nullptr;
    for (int64_t v = 0; v < S; ++v) {
      const int64_t c = j * S + v;
      const double g = act_[G + c], a_c = in * gdash_[c], hd = squash_h_dash(h_[c]);
      const double* dnet = &rt_net_[row_cell(c) * P];
      double* ds = &rt_s_[c * P];
      double* dyc = &rt_yc_[c * P];
      for (int64_t p = 0; p < P; ++p) {
        ds[p] += g * din[p] + a_c * dnet[p];  // s(t) = s(t-1) + in g(net_c)
        dyc[p] = out * hd * ds[p] + (dout ? h_[c] * dout[p] : 0.0);
      }
    }
  }
  // The partials of r(t), for the next step.
  if (spec_.recurrent_cells) std::copy(rt_yc_.begin(), rt_yc_.end(), rt_r_.begin());
  if (spec_.recurrent_gates) {
    std::copy(rt_gate_.begin(), rt_gate_.end(), rt_r_.begin() + RC * P);
  }
  return y;
}

double TrialNet::backward_rtrl(const double* target) {
  TORCH_CHECK(!rt_net_.empty(), "backward_rtrl: needs forward_rtrl() first");
  const int64_t C = spec_.cells(), P = spec_.hidden_units() * ns_;
  const double error = output_error(target);
  for (int64_t c = 0; c < C; ++c) {
    if (dy_[c] != 0.0) axpy(gw_.data(), dy_[c], &rt_yc_[c * P], P);
  }
  return error;
}

void TrialNet::apply(double lr) {
  for (size_t i = 0; i < w_.size(); ++i) {
    w_[i] -= lr * gw_[i];
    gw_[i] = 0.0;
  }
  for (size_t i = 0; i < v_.size(); ++i) {
    v_[i] -= lr * gv_[i];
    gv_[i] = 0.0;
  }
  zero_frozen();
}

double train_sequence(TrialNet& net, const Sequence& seq, double lr, bool update_each_step,
                      std::vector<double>* outputs, Gradient gradient) {
  const NetSpec& spec = net.spec();
  TORCH_CHECK(seq.num_inputs == spec.inputs && seq.num_outputs == spec.outputs,
              "train_sequence: the net has ", spec.inputs, " inputs and ", spec.outputs,
              " outputs, the sequence ", seq.num_inputs, " and ", seq.num_outputs);
  if (gradient == Gradient::kFull) {
    TORCH_CHECK(!update_each_step, "train_sequence: the full gradient needs per-sequence updates");
    const double error = net.accumulate_full_gradient(seq, outputs);
    net.apply(lr);
    return error;
  }
  if (outputs) outputs->resize(seq.length * spec.outputs);
  net.reset();
  const bool rtrl = gradient == Gradient::kRtrl;
  double error = 0.0;
  bool pending = false;
  for (int64_t t = 0; t < seq.length; ++t) {
    const double* x = &seq.inputs[t * spec.inputs];
    const double* y = rtrl ? net.forward_rtrl(x) : net.forward(x, /*learn=*/true);
    if (outputs) std::copy(y, y + spec.outputs, outputs->begin() + t * spec.outputs);
    if (!seq.has_target[t]) continue;
    const double* target = &seq.targets[t * spec.outputs];
    error += rtrl ? net.backward_rtrl(target) : net.backward(target);
    pending = true;
    if (update_each_step) {
      net.apply(lr);
      pending = false;
    }
  }
  if (pending) net.apply(lr);
  return error;
}

void predict(TrialNet& net, const Sequence& seq, std::vector<double>& outputs) {
  const NetSpec& spec = net.spec();
  TORCH_CHECK(seq.num_inputs == spec.inputs && seq.num_outputs == spec.outputs,
              "predict: the net has ", spec.inputs, " inputs and ", spec.outputs,
              " outputs, the sequence ", seq.num_inputs, " and ", seq.num_outputs);
  outputs.resize(seq.length * spec.outputs);
  net.reset();
  for (int64_t t = 0; t < seq.length; ++t) {
    const double* y = net.forward(&seq.inputs[t * spec.inputs], /*learn=*/false);
    std::copy(y, y + spec.outputs, outputs.begin() + t * spec.outputs);
  }
}

}  // namespace lstmnlp::paper
