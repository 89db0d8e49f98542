#include "models/onednn_layer.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#if defined(LSTMNLP_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#if DNNL_VERSION_MAJOR != 2
#undef LSTMNLP_HAVE_DNNL
#endif
#endif

namespace lstmnlp::kernels {

using torch::Tensor;

#if defined(LSTMNLP_HAVE_DNNL)

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dims = memory::dims;
constexpr auto kF32 = memory::data_type::f32;

// What the cached weights were made from: each parameter's storage and version.
struct WeightKey {
  std::array<const void*, 4> data{};
  std::array<int64_t, 4> version{};

  static WeightKey of(const std::array<const Tensor*, 4>& params) {
    WeightKey k;
    for (size_t i = 0; i < params.size(); ++i) {
      if (!params[i]->defined()) continue;
      k.data[i] = params[i]->data_ptr();
      k.version[i] = params[i]->_version();
    }
    return k;
  }
  bool operator==(const WeightKey& o) const { return data == o.data && version == o.version; }
};

float* float_data(const Tensor& t) { return t.data_ptr<float>(); }

}  // namespace

struct OneDnnLayer::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // The primitive of the last shape run.
  std::array<int64_t, 4> shape{-1, -1, -1, -1};  // T, B, F, H
  bool reverse = false;
  dnnl::lstm_forward::primitive_desc pd;
  dnnl::lstm_forward primitive;
  memory::desc src_md, dst_md, state_md;
  // The weights in the primitive's layout, and what they were made from.
  bool cached = false;
  WeightKey key;
  memory w_layer, w_iter, bias;
  Tensor w_layer_owner, w_iter_owner, bias_sum;  // keep the buffers the memories point into

  void make_primitive(int64_t T, int64_t B, int64_t F, int64_t H, bool rev) {
    src_md = memory::desc(Dims{T, B, F}, kF32, Tag::tnc);
    dst_md = memory::desc(Dims{T, B, H}, kF32, Tag::tnc);
    state_md = memory::desc(Dims{1, 1, B, H}, kF32, Tag::ldnc);
    const memory::desc any_layer(Dims{1, 1, F, 4, H}, kF32, Tag::any);
    const memory::desc any_iter(Dims{1, 1, H, 4, H}, kF32, Tag::any);
    const memory::desc bias_md(Dims{1, 1, 4, H}, kF32, Tag::ldgo);
    const auto direction = rev ? dnnl::rnn_direction::unidirectional_right2left
                               : dnnl::rnn_direction::unidirectional_left2right;
    dnnl::lstm_forward::desc d(dnnl::prop_kind::forward_inference, direction, src_md, state_md,
                               state_md, any_layer, any_iter, bias_md, dst_md, state_md, state_md);
    pd = dnnl::lstm_forward::primitive_desc(d, engine);
    primitive = dnnl::lstm_forward(pd);
    shape = {T, B, F, H};
    reverse = rev;
  }

  // `user` (torch's row-major (4H, I) weight, oneDNN's ldgoi) in the layout `md`.
  memory to_layout(const Tensor& weight, const memory::desc& md, Tensor& owner) {
    const int64_t I = weight.size(1), H = weight.size(0) / 4;
    memory user(memory::desc(Dims{1, 1, I, 4, H}, kF32, Tag::ldgoi), engine, float_data(weight));
    if (user.get_desc() == md) {
      owner = Tensor();
      return user;
    }
    owner = torch::empty({static_cast<int64_t>(md.get_size() / sizeof(float))}, torch::kFloat);
    memory packed(md, engine, float_data(owner));
    dnnl::reorder(user, packed).execute(stream, user, packed);
    return packed;
  }

  void cache_weights(const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                     const WeightKey& k) {
    const int64_t H = w_hh.size(1);
    w_layer = to_layout(w_ih, pd.weights_layer_desc(), w_layer_owner);
    w_iter = to_layout(w_hh, pd.weights_iter_desc(), w_iter_owner);
    bias_sum = b_ih.defined() ? (b_ih + b_hh).contiguous() : torch::zeros({4 * H}, torch::kFloat);
    bias = memory(memory::desc(Dims{1, 1, 4, H}, kF32, Tag::ldgo), engine, float_data(bias_sum));
    stream.wait();
    key = k;
    cached = true;
  }
};

OneDnnLayer::OneDnnLayer() = default;
OneDnnLayer::~OneDnnLayer() = default;

bool OneDnnLayer::available() {
  static const bool on = [] {
    const char* env = std::getenv("LSTMNLP_ONEDNN");
    return env == nullptr || std::strcmp(env, "0") != 0;
  }();
  return on;
}

bool OneDnnLayer::run(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                      const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool reverse,
                      const Tensor& out, const Tensor& h_n, const Tensor& c_n) {
  if (!available()) return false;
  const int64_t T = x.size(0), B = x.size(1), F = x.size(2), H = w_hh.size(1);
  if (w_hh.size(0) != 4 * H || !w_ih.is_contiguous() || !w_hh.is_contiguous() ||
      b_ih.defined() != b_hh.defined()) {
    return false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    if (!impl_) impl_ = std::make_unique<Impl>();
    Impl& m = *impl_;
    const std::array<int64_t, 4> shape{T, B, F, H};
    bool new_layout = false;
    if (m.shape != shape || m.reverse != reverse) {
      const memory::desc old_layer = m.cached ? m.pd.weights_layer_desc() : memory::desc();
      const memory::desc old_iter = m.cached ? m.pd.weights_iter_desc() : memory::desc();
      m.make_primitive(T, B, F, H, reverse);
      new_layout = old_layer != m.pd.weights_layer_desc() || old_iter != m.pd.weights_iter_desc();
    }
    const WeightKey key = WeightKey::of({&w_ih, &w_hh, &b_ih, &b_hh});
    if (!m.cached || new_layout || !(key == m.key)) m.cache_weights(w_ih, w_hh, b_ih, b_hh, key);

    const std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC_LAYER, memory(m.src_md, m.engine, float_data(x))},
        {DNNL_ARG_SRC_ITER, memory(m.state_md, m.engine, float_data(h0))},
        {DNNL_ARG_SRC_ITER_C, memory(m.state_md, m.engine, float_data(c0))},
        {DNNL_ARG_WEIGHTS_LAYER, m.w_layer},
        {DNNL_ARG_WEIGHTS_ITER, m.w_iter},
        {DNNL_ARG_BIAS, m.bias},
        {DNNL_ARG_DST_LAYER, memory(m.dst_md, m.engine, float_data(out))},
        {DNNL_ARG_DST_ITER, memory(m.state_md, m.engine, float_data(h_n))},
        {DNNL_ARG_DST_ITER_C, memory(m.state_md, m.engine, float_data(c_n))}};
    m.primitive.execute(m.stream, args);
    m.stream.wait();
    return true;
  } catch (const dnnl::error&) {
    // A shape or machine the primitive does not cover: the caller's own kernels run it.
    impl_.reset();
    return false;
  }
}

#else  // no oneDNN 2.x

struct OneDnnLayer::Impl {};

OneDnnLayer::OneDnnLayer() = default;
OneDnnLayer::~OneDnnLayer() = default;

bool OneDnnLayer::available() { return false; }

bool OneDnnLayer::run(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                      const Tensor&, const Tensor&, bool, const Tensor&, const Tensor&,
                      const Tensor&) {
  return false;
}

#endif

}  // namespace lstmnlp::kernels
