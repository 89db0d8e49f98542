#include "models/bench/onednn_lstm.h"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#if defined(LSTMNLP_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#if DNNL_VERSION_MAJOR != 2
#undef LSTMNLP_HAVE_DNNL
#define LSTMNLP_DNNL_OTHER_VERSION 1
#endif
#endif

namespace lstmnlp::bench {

using torch::Tensor;

#if defined(LSTMNLP_HAVE_DNNL)

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dims = memory::dims;
using Clock = std::chrono::steady_clock;
constexpr auto kF32 = memory::data_type::f32;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Shape {
  int64_t T, B, F, H, L, D;
};

Shape shape_of(const torch::nn::LSTM& lstm, int64_t steps, int64_t batch) {
  const auto& o = lstm->options;
  return {steps, batch, o.input_size(), o.hidden_size(), o.num_layers(), o.bidirectional() ? 2 : 1};
}

std::string param_name(const char* kind, int64_t layer, int64_t direction) {
  return std::string(kind) + "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
}

}  // namespace

std::string onednn_unavailable_reason(const torch::nn::LSTM& lstm) {
  const auto& o = lstm->options;
  if (!o.bias()) return "oneDNN column: LSTM without biases not supported";
  if (o.proj_size() > 0) return "oneDNN column: proj_size not supported";
  // A stack would be one primitive with every layer as wide as the first; not needed for the
  // benchmark's shapes, so not built.
  if (o.num_layers() > 1) return "oneDNN column: one layer only";
  return "";
}

struct OneDnnLstm::Impl {
  Shape s;
  bool training = false, backward = false;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // Torch's weights in oneDNN's user layouts: ldgoi (physically torch's (4H, F) per layer and
  // direction) and ldgo for the summed biases.
  Tensor w_layer, w_iter, bias;  // (L, D, 4, H, F), (L, D, 4, H, H), (L, D, 4, H)
  memory::desc w_layer_user, w_iter_user, bias_md, src_md, dst_md, state_md, diff_src_md;
  dnnl::lstm_forward::primitive_desc fwd_pd;
  dnnl::lstm_backward::primitive_desc bwd_pd;
  memory w_layer_fwd, w_iter_fwd;  // inference: reordered once

  memory wrap(const memory::desc& md, const Tensor& t) {
    return memory(md, engine, t.data_ptr<float>());
  }
  // `from` into a new memory of `md`, or `from` itself when the layouts agree.
  memory reordered(memory from, const memory::desc& md) {
    if (from.get_desc() == md) return from;
    memory to(md, engine);
    dnnl::reorder(from, to).execute(stream, from, to);
    return to;
  }
};

OneDnnLstm::OneDnnLstm(const torch::nn::LSTM& source, const std::string& mode, int64_t steps,
                       int64_t batch)
    : impl_(std::make_unique<Impl>()) {
  const std::string why = onednn_unavailable_reason(source);
  if (!why.empty()) throw std::invalid_argument(why);
  Impl& m = *impl_;
  m.s = shape_of(source, steps, batch);
  m.training = mode != "inference";
  m.backward = mode == "forward_backward";
  const auto [T, B, F, H, L, D] = m.s;

  m.w_layer = torch::empty({L, D, 4, H, F});
  m.w_iter = torch::empty({L, D, 4, H, H});
  m.bias = torch::empty({L, D, 4, H});
  {
    torch::NoGradGuard no_grad;
    const auto params = source->named_parameters();
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t d = 0; d < D; ++d) {
        m.w_layer[l][d].copy_(params[param_name("weight_ih", l, d)].view({4, H, F}));
        m.w_iter[l][d].copy_(params[param_name("weight_hh", l, d)].view({4, H, H}));
        m.bias[l][d].copy_(
            (params[param_name("bias_ih", l, d)] + params[param_name("bias_hh", l, d)])
                .view({4, H}));
      }
    }
  }
  m.w_layer_user = memory::desc(Dims{L, D, F, 4, H}, kF32, Tag::ldgoi);
  m.w_iter_user = memory::desc(Dims{L, D, H, 4, H}, kF32, Tag::ldgoi);
  m.bias_md = memory::desc(Dims{L, D, 4, H}, kF32, Tag::ldgo);
  m.src_md = memory::desc(Dims{T, B, F}, kF32, Tag::tnc);
  m.dst_md = memory::desc(Dims{T, B, D * H}, kF32, Tag::tnc);
  m.state_md = memory::desc(Dims{L, D, B, H}, kF32, Tag::ldnc);
  m.diff_src_md = m.src_md;
  const memory::desc any_layer(Dims{L, D, F, 4, H}, kF32, Tag::any);
  const memory::desc any_iter(Dims{L, D, H, 4, H}, kF32, Tag::any);
  const memory::desc zero;  // the initial state is zero, as in the benchmark's other columns
  const auto direction = D == 2 ? dnnl::rnn_direction::bidirectional_concat
                                : dnnl::rnn_direction::unidirectional_left2right;
  const auto prop =
      m.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::lstm_forward::desc fwd(prop, direction, m.src_md, zero, zero, any_layer, any_iter,
                               m.bias_md, m.dst_md, m.state_md, m.state_md);
  m.fwd_pd = dnnl::lstm_forward::primitive_desc(fwd, m.engine);
  if (m.backward) {
    dnnl::lstm_backward::desc bwd(dnnl::prop_kind::backward, direction, m.src_md, zero, zero,
                                  any_layer, any_iter, m.bias_md, m.dst_md, m.state_md, m.state_md,
                                  m.diff_src_md, zero, zero, any_layer, any_iter, m.bias_md,
                                  m.dst_md, m.state_md, m.state_md);
    m.bwd_pd = dnnl::lstm_backward::primitive_desc(bwd, m.engine, m.fwd_pd);
  }
  if (!m.training) {
    m.w_layer_fwd = m.reordered(m.wrap(m.w_layer_user, m.w_layer), m.fwd_pd.weights_layer_desc());
    m.w_iter_fwd = m.reordered(m.wrap(m.w_iter_user, m.w_iter), m.fwd_pd.weights_iter_desc());
    m.stream.wait();
  }
}

OneDnnLstm::~OneDnnLstm() = default;
OneDnnLstm::OneDnnLstm(OneDnnLstm&&) noexcept = default;

OneDnnResult OneDnnLstm::run(const Tensor& x_in, const Tensor& grad_out_in) {
  Impl& m = *impl_;
  const auto [T, B, F, H, L, D] = m.s;
  TORCH_CHECK(x_in.dim() == 3 && x_in.size(0) == T && x_in.size(1) == B && x_in.size(2) == F,
              "oneDNN column: x must be (", T, ", ", B, ", ", F, ")");
  const Tensor x = x_in.contiguous();
  OneDnnResult r;
  r.output = torch::empty({T, B, D * H});
  Tensor h_n = torch::empty({L, D, B, H}), c_n = torch::empty({L, D, B, H});
  memory w_layer = m.w_layer_fwd, w_iter = m.w_iter_fwd;
  const memory w_layer_user = m.wrap(m.w_layer_user, m.w_layer);
  const memory w_iter_user = m.wrap(m.w_iter_user, m.w_iter);
  auto start = Clock::now();
  if (m.training) {  // the weights change between training steps
    w_layer = m.reordered(w_layer_user, m.fwd_pd.weights_layer_desc());
    w_iter = m.reordered(w_iter_user, m.fwd_pd.weights_iter_desc());
    m.stream.wait();
  }
  r.reorder_seconds = seconds_since(start);
  const memory src = m.wrap(m.src_md, x), dst = m.wrap(m.dst_md, r.output);
  const memory dst_iter = m.wrap(m.state_md, h_n), dst_iter_c = m.wrap(m.state_md, c_n);
  const memory bias = m.wrap(m.bias_md, m.bias);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, src},        {DNNL_ARG_WEIGHTS_LAYER, w_layer},
      {DNNL_ARG_WEIGHTS_ITER, w_iter},  {DNNL_ARG_BIAS, bias},
      {DNNL_ARG_DST_LAYER, dst},        {DNNL_ARG_DST_ITER, dst_iter},
      {DNNL_ARG_DST_ITER_C, dst_iter_c}};
  memory workspace;
  if (m.training) {
    workspace = memory(m.fwd_pd.workspace_desc(), m.engine);
    args[DNNL_ARG_WORKSPACE] = workspace;
  }
  start = Clock::now();
  dnnl::lstm_forward(m.fwd_pd).execute(m.stream, args);
  m.stream.wait();
  r.forward_seconds = seconds_since(start);

  if (m.backward) {
    const Tensor grad_out = grad_out_in.contiguous();
    r.input_grad = torch::empty({T, B, F});
    // Two buffers: the primitive may write into them.
    const Tensor zero_h = torch::zeros({L, D, B, H}), zero_c = torch::zeros({L, D, B, H});
    start = Clock::now();
    const memory w_layer_bwd = m.reordered(w_layer_user, m.bwd_pd.weights_layer_desc());
    const memory w_iter_bwd = m.reordered(w_iter_user, m.bwd_pd.weights_iter_desc());
    m.stream.wait();
    r.reorder_seconds += seconds_since(start);
    start = Clock::now();
    memory diff_layer(m.bwd_pd.diff_weights_layer_desc(), m.engine);
    memory diff_iter(m.bwd_pd.diff_weights_iter_desc(), m.engine);
    Tensor diff_bias = torch::zeros({L, D, 4, H});
    // The primitive accumulates into the weight gradients.
    std::memset(diff_layer.get_data_handle(), 0, m.bwd_pd.diff_weights_layer_desc().get_size());
    std::memset(diff_iter.get_data_handle(), 0, m.bwd_pd.diff_weights_iter_desc().get_size());
    std::unordered_map<int, memory> bargs{
        {DNNL_ARG_SRC_LAYER, src},
        {DNNL_ARG_WEIGHTS_LAYER, w_layer_bwd},
        {DNNL_ARG_WEIGHTS_ITER, w_iter_bwd},
        {DNNL_ARG_BIAS, bias},
        {DNNL_ARG_DST_LAYER, dst},
        {DNNL_ARG_DST_ITER, dst_iter},
        {DNNL_ARG_DST_ITER_C, dst_iter_c},
        {DNNL_ARG_DIFF_DST_LAYER, m.wrap(m.dst_md, grad_out)},
        {DNNL_ARG_DIFF_DST_ITER, m.wrap(m.state_md, zero_h)},
        {DNNL_ARG_DIFF_DST_ITER_C, m.wrap(m.state_md, zero_c)},
        {DNNL_ARG_DIFF_SRC_LAYER, m.wrap(m.diff_src_md, r.input_grad)},
        {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_layer},
        {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_iter},
        {DNNL_ARG_DIFF_BIAS, m.wrap(m.bias_md, diff_bias)},
        {DNNL_ARG_WORKSPACE, workspace}};
    dnnl::lstm_backward(m.bwd_pd).execute(m.stream, bargs);
    m.stream.wait();
    r.backward_seconds = seconds_since(start);

    // Back to torch's layout and parameter order.
    start = Clock::now();
    Tensor g_layer = torch::empty({L, D, 4, H, F}), g_iter = torch::empty({L, D, 4, H, H});
    memory g_layer_user = m.wrap(m.w_layer_user, g_layer),
           g_iter_user = m.wrap(m.w_iter_user, g_iter);
    dnnl::reorder(diff_layer, g_layer_user).execute(m.stream, diff_layer, g_layer_user);
    dnnl::reorder(diff_iter, g_iter_user).execute(m.stream, diff_iter, g_iter_user);
    m.stream.wait();
    r.reorder_seconds += seconds_since(start);
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t d = 0; d < D; ++d) {
        r.param_grads.push_back(g_layer[l][d].view({4 * H, F}));
        r.param_grads.push_back(g_iter[l][d].view({4 * H, H}));
        r.param_grads.push_back(diff_bias[l][d].view({4 * H}));
        r.param_grads.push_back(diff_bias[l][d].view({4 * H}));
      }
    }
  }
  r.h_n = h_n.view({L * D, B, H});
  r.c_n = c_n.view({L * D, B, H});
  return r;
}

#else  // no oneDNN 2.x

struct OneDnnLstm::Impl {};

std::string onednn_unavailable_reason(const torch::nn::LSTM&) {
#if defined(LSTMNLP_DNNL_OTHER_VERSION)
  return "oneDNN column: needs oneDNN 2.x (torch::nn::LSTM itself runs on oneDNN here)";
#else
  return "oneDNN column: built without oneDNN (Debian's libdnnl-dev)";
#endif
}

OneDnnLstm::OneDnnLstm(const torch::nn::LSTM& source, const std::string&, int64_t, int64_t) {
  throw std::invalid_argument(onednn_unavailable_reason(source));
}
OneDnnLstm::~OneDnnLstm() = default;
OneDnnLstm::OneDnnLstm(OneDnnLstm&&) noexcept = default;
OneDnnResult OneDnnLstm::run(const Tensor&, const Tensor&) { return {}; }

#endif

}  // namespace lstmnlp::bench
