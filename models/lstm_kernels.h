#pragma once

// The fused CPU kernels of lstmnlp::LSTM (models/lstm.cpp): one time step of one layer and
// direction over raw (B, ...) row-major buffers, the gate math vectorised, with an AVX2+FMA copy
// picked at run time. Internal to the library. lstm_kernels.cpp is compiled with
// -fno-trapping-math (models/CMakeLists.txt), without which GCC keeps the loops scalar.

#include <cstdint>

#include "models/lstm.h"

namespace lstmnlp::kernels {

/// Gate blocks of a cell: i, f, g, o (i, g, o for k1997).
inline int64_t num_gates(LSTMCellType cell) { return cell == LSTMCellType::k1997 ? 3 : 4; }

template <typename scalar_t>
struct ForwardStep {
  scalar_t* gates;         // (B, G*H): pre-activations in, activations out
  const scalar_t* h_prev;  // (B, H)
  const scalar_t* c_prev;  // (B, H)
  scalar_t* h;             // (B, H) state after the step; may alias h_prev
  scalar_t* c;             // (B, H); may alias c_prev
  scalar_t* out;           // (B, H) output (zero on padding); may equal h
  const scalar_t* w_c;     // (3H) peepholes or nullptr
  const int64_t* lengths;  // (B) or nullptr
  int64_t t, batch, hidden;
};

template <typename scalar_t>
struct BackwardStep {
  const scalar_t* gates;     // (B, G*H) activations
  const scalar_t* c_prev;    // (B, H)
  const scalar_t* c;         // (B, H)
  const scalar_t* grad_out;  // (B, H), rows `grad_out_stride` apart
  int64_t grad_out_stride;
  scalar_t* dh;      // (B, H) in: dL/dh_t from later steps; out: 0 on real rows, kept on padding
  scalar_t* dc;      // (B, H) in: dL/dc_t; out: dL/dc_{t-1}
  scalar_t* dgates;  // (B, G*H) gradient w.r.t. the gate pre-activations
  const scalar_t* w_c;
  const int64_t* lengths;
  int64_t t, batch, hidden;
};

/// Runs one forward step of `cell` over all rows of `s` (in parallel chunks); float or double.
template <typename scalar_t>
void fused_forward_step(const ForwardStep<scalar_t>& s, LSTMCellType cell);

/// Runs one backward step of `cell` over all rows of `s`; float or double.
template <typename scalar_t>
void fused_backward_step(const BackwardStep<scalar_t>& s, LSTMCellType cell);

}  // namespace lstmnlp::kernels
