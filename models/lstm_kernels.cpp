#include "models/lstm_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "models/cpu_kernels.h"

namespace lstmnlp::kernels {
namespace {

template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_ALWAYS_INLINE void forward_rows_body(const ForwardStep<scalar_t>& s, int64_t b_begin,
                                             int64_t b_end) {
  using M = MathFor<scalar_t>;
  constexpr bool kForget = kCell != LSTMCellType::k1997;
  constexpr bool kPeep = kCell == LSTMCellType::kPeephole;
  const int64_t H = s.hidden;
  const int64_t G = kForget ? 4 : 3;
  for (int64_t b = b_begin; b < b_end; ++b) {
    const int64_t row = b * H;
    const scalar_t* hp = s.h_prev + row;
    const scalar_t* cp = s.c_prev + row;
    scalar_t* hn = s.h + row;
    scalar_t* cn = s.c + row;
    scalar_t* on = s.out + row;
    if (s.lengths != nullptr && s.t >= s.lengths[b]) {
      // Padding: the state passes through unchanged and the output is zero.
      LSTMNLP_IVDEP
      for (int64_t j = 0; j < H; ++j) {
        cn[j] = cp[j];
        hn[j] = hp[j];
        on[j] = scalar_t(0);
      }
      continue;
    }
    scalar_t* gi = s.gates + b * G * H;
    scalar_t* gf = kForget ? gi + H : nullptr;
    scalar_t* gg = kForget ? gi + 2 * H : gi + H;
    scalar_t* go = kForget ? gi + 3 * H : gi + 2 * H;
    const scalar_t* wci = kPeep ? s.w_c : nullptr;
    const scalar_t* wcf = kPeep ? s.w_c + H : nullptr;
    const scalar_t* wco = kPeep ? s.w_c + 2 * H : nullptr;
    LSTMNLP_IVDEP
    for (int64_t j = 0; j < H; ++j) {
      const scalar_t cpj = cp[j];
      scalar_t pi = gi[j];
      if constexpr (kPeep) pi += wci[j] * cpj;
      const scalar_t i = M::sigmoid(pi);
      const scalar_t g = M::tanh(gg[j]);
      scalar_t cv;
      if constexpr (kForget) {
        scalar_t pf = gf[j];
        if constexpr (kPeep) pf += wcf[j] * cpj;
        const scalar_t f = M::sigmoid(pf);
        gf[j] = f;
        cv = f * cpj + i * g;
      } else {
        cv = cpj + i * g;
      }
      scalar_t po = go[j];
      if constexpr (kPeep) po += wco[j] * cv;
      const scalar_t o = M::sigmoid(po);
      const scalar_t tcv = M::tanh(cv);
      const scalar_t hv = o * tcv;
      gi[j] = i;
      gg[j] = g;
      go[j] = o;
      cn[j] = cv;
      hn[j] = hv;
      on[j] = hv;
    }
  }
}

template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_ALWAYS_INLINE void backward_rows_body(const BackwardStep<scalar_t>& s, int64_t b_begin,
                                              int64_t b_end) {
  using M = MathFor<scalar_t>;
  constexpr bool kForget = kCell != LSTMCellType::k1997;
  constexpr bool kPeep = kCell == LSTMCellType::kPeephole;
  const int64_t H = s.hidden;
  const int64_t G = kForget ? 4 : 3;
  for (int64_t b = b_begin; b < b_end; ++b) {
    const int64_t row = b * H;
    scalar_t* dgi = s.dgates + b * G * H;
    if (s.lengths != nullptr && s.t >= s.lengths[b]) {
      // Padding: no gate gradient; dh and dc pass through to the previous step.
      std::fill(dgi, dgi + G * H, scalar_t(0));
      continue;
    }
    scalar_t* dgf = kForget ? dgi + H : nullptr;
    scalar_t* dgg = kForget ? dgi + 2 * H : dgi + H;
    scalar_t* dgo = kForget ? dgi + 3 * H : dgi + 2 * H;
    const scalar_t* gi = s.gates + b * G * H;
    const scalar_t* gf = kForget ? gi + H : nullptr;
    const scalar_t* gg = kForget ? gi + 2 * H : gi + H;
    const scalar_t* go = kForget ? gi + 3 * H : gi + 2 * H;
    const scalar_t* cp = s.c_prev + row;
    const scalar_t* cv = s.c + row;
    const scalar_t* gout = s.grad_out + b * s.grad_out_stride;
    scalar_t* dh = s.dh + row;
    scalar_t* dc = s.dc + row;
    const scalar_t* wci = kPeep ? s.w_c : nullptr;
    const scalar_t* wcf = kPeep ? s.w_c + H : nullptr;
    const scalar_t* wco = kPeep ? s.w_c + 2 * H : nullptr;
    LSTMNLP_IVDEP
    for (int64_t j = 0; j < H; ++j) {
      const scalar_t one(1);
      const scalar_t dhv = dh[j] + gout[j];
      // tanh(c) is recomputed rather than stored: one (T, B, H) buffer less per layer.
      const scalar_t i = gi[j], g = gg[j], o = go[j], t = M::tanh(cv[j]);
      const scalar_t dpo = dhv * t * o * (one - o);
      scalar_t dcv = dc[j] + dhv * o * (one - t * t);
      if constexpr (kPeep) dcv += dpo * wco[j];
      const scalar_t dpi = dcv * g * i * (one - i);
      const scalar_t dpg = dcv * i * (one - g * g);
      scalar_t dcp = dcv;
      if constexpr (kForget) {
        const scalar_t f = gf[j];
        const scalar_t dpf = dcv * cp[j] * f * (one - f);
        dgf[j] = dpf;
        dcp = dcv * f;
        if constexpr (kPeep) dcp += dpi * wci[j] + dpf * wcf[j];
      }
      dgi[j] = dpi;
      dgg[j] = dpg;
      dgo[j] = dpo;
      dc[j] = dcp;
      dh[j] = scalar_t(0);
    }
  }
}

template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_NOINLINE void forward_rows(const ForwardStep<scalar_t>& s, int64_t begin, int64_t end) {
  forward_rows_body<scalar_t, kCell>(s, begin, end);
}
template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_NOINLINE void backward_rows(const BackwardStep<scalar_t>& s, int64_t begin, int64_t end) {
  backward_rows_body<scalar_t, kCell>(s, begin, end);
}

#if LSTMNLP_HAVE_AVX2_KERNELS
template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_NOINLINE LSTMNLP_TARGET_AVX2 void forward_rows_avx2(const ForwardStep<scalar_t>& s,
                                                            int64_t begin, int64_t end) {
  forward_rows_body<scalar_t, kCell>(s, begin, end);
}
template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_NOINLINE LSTMNLP_TARGET_AVX2 void backward_rows_avx2(const BackwardStep<scalar_t>& s,
                                                             int64_t begin, int64_t end) {
  backward_rows_body<scalar_t, kCell>(s, begin, end);
}
#endif

#if LSTMNLP_HAVE_AVX512_KERNELS
template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_NOINLINE LSTMNLP_TARGET_AVX512 void forward_rows_avx512(const ForwardStep<scalar_t>& s,
                                                                int64_t begin, int64_t end) {
  forward_rows_body<scalar_t, kCell>(s, begin, end);
}
template <typename scalar_t, LSTMCellType kCell>
LSTMNLP_NOINLINE LSTMNLP_TARGET_AVX512 void backward_rows_avx512(const BackwardStep<scalar_t>& s,
                                                                 int64_t begin, int64_t end) {
  backward_rows_body<scalar_t, kCell>(s, begin, end);
}
#endif

template <typename Step>
using RowKernel = void (*)(const Step&, int64_t, int64_t);

template <typename scalar_t, LSTMCellType kCell>
RowKernel<ForwardStep<scalar_t>> forward_kernel() {
#if LSTMNLP_HAVE_AVX512_KERNELS
  if (cpu_has_avx512()) return &forward_rows_avx512<scalar_t, kCell>;
#endif
#if LSTMNLP_HAVE_AVX2_KERNELS
  if (cpu_has_avx2()) return &forward_rows_avx2<scalar_t, kCell>;
#endif
  return &forward_rows<scalar_t, kCell>;
}

template <typename scalar_t, LSTMCellType kCell>
RowKernel<BackwardStep<scalar_t>> backward_kernel() {
#if LSTMNLP_HAVE_AVX512_KERNELS
  if (cpu_has_avx512()) return &backward_rows_avx512<scalar_t, kCell>;
#endif
#if LSTMNLP_HAVE_AVX2_KERNELS
  if (cpu_has_avx2()) return &backward_rows_avx2<scalar_t, kCell>;
#endif
  return &backward_rows<scalar_t, kCell>;
}

// Rows per parallel chunk: enough gate elements per chunk to amortise the thread hand-off.
// (at::parallel_for runs in parallel because CMake compiles this file with OpenMP where
// libxsmm is found; elsewhere the rows run in turn.)
int64_t row_grain(int64_t gate_width) {
  constexpr int64_t kMinElementsPerChunk = 16384;
  return std::max<int64_t>(1, kMinElementsPerChunk / std::max<int64_t>(1, gate_width));
}

template <typename Step, typename Pick>
void run_rows(const Step& s, int64_t gate_width, Pick pick) {
  const auto kernel = pick();
  at::parallel_for(0, s.batch, row_grain(gate_width),
                   [&](int64_t begin, int64_t end) { kernel(s, begin, end); });
}

}  // namespace

template <typename scalar_t>
void fused_forward_step(const ForwardStep<scalar_t>& s, LSTMCellType cell) {
  const int64_t width = num_gates(cell) * s.hidden;
  switch (cell) {
    case LSTMCellType::kStandard:
      return run_rows(s, width, forward_kernel<scalar_t, LSTMCellType::kStandard>);
    case LSTMCellType::kPeephole:
      return run_rows(s, width, forward_kernel<scalar_t, LSTMCellType::kPeephole>);
    case LSTMCellType::k1997:
      return run_rows(s, width, forward_kernel<scalar_t, LSTMCellType::k1997>);
  }
}

template <typename scalar_t>
void fused_backward_step(const BackwardStep<scalar_t>& s, LSTMCellType cell) {
  const int64_t width = num_gates(cell) * s.hidden;
  switch (cell) {
    case LSTMCellType::kStandard:
      return run_rows(s, width, backward_kernel<scalar_t, LSTMCellType::kStandard>);
    case LSTMCellType::kPeephole:
      return run_rows(s, width, backward_kernel<scalar_t, LSTMCellType::kPeephole>);
    case LSTMCellType::k1997:
      return run_rows(s, width, backward_kernel<scalar_t, LSTMCellType::k1997>);
  }
}

template void fused_forward_step<float>(const ForwardStep<float>&, LSTMCellType);
template void fused_forward_step<double>(const ForwardStep<double>&, LSTMCellType);
template void fused_backward_step<float>(const BackwardStep<float>&, LSTMCellType);
template void fused_backward_step<double>(const BackwardStep<double>&, LSTMCellType);

}  // namespace lstmnlp::kernels
