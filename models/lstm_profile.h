#pragma once

// Where lstmnlp::LSTM's time goes: wall time per phase of its layer loops, summed while
// profiling is on (lstm-bench --profile). Off, a phase costs one relaxed atomic load.
//
//   profile::start();
//   lstm->forward(x);
//   profile::Totals t = profile::stop();  // t.seconds[Phase::kRecurrentProduct], ...
//
// The totals are plain sums: profile one thread that calls the module (LibTorch runs a CPU
// backward in the calling thread). A phase's time includes the wait for the thread pools it
// uses, so comparing 1 and 2 threads shows the hand-off cost.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>

namespace lstmnlp::profile {

/// The phases of one layer and direction; whatever is outside them (allocation, copies of
/// states, autograd's bookkeeping) is the round's time less their sum.
enum class Phase : size_t {
  kInputProjection,   ///< x·W_ih^T + b for all steps, one product
  kRecurrentProduct,  ///< W_hh·h per step (BLAS)
  kRecurrentAdd,      ///< adding it, transposed, into the step's gates
  kGates,             ///< the fused gate nonlinearities and state update per step
  kGatesBackward,     ///< the gates' backward per step
  kRecurrentGrad,     ///< dgates·W_hh per step and adding it into dh
  kWeightProducts,    ///< dx, dW_ih, dW_hh and the bias sums over all steps
  kOneDnnLayer,       ///< a whole layer's inference on oneDNN (models/onednn_layer.h)
  kCount
};

inline constexpr std::array<const char*, static_cast<size_t>(Phase::kCount)> kPhaseNames{
    "input projection",
    "recurrent product",
    "recurrent add (transposed)",
    "gates",
    "gates backward",
    "recurrent gradient",
    "weight and input gradient products",
    "oneDNN layer (inference)"};

struct Totals {
  std::array<double, static_cast<size_t>(Phase::kCount)> seconds{};
};

namespace detail {
inline std::atomic<bool> enabled{false};
inline Totals totals;
}  // namespace detail

/// Clears the totals and starts summing.
inline void start() {
  detail::totals = Totals();
  detail::enabled.store(true, std::memory_order_relaxed);
}

/// Stops summing and returns the totals since start().
inline Totals stop() {
  detail::enabled.store(false, std::memory_order_relaxed);
  return detail::totals;
}

/// Adds the wall time of its scope to `phase` while profiling is on.
class Scope {
 public:
  explicit Scope(Phase phase)
      : phase_(phase), on_(detail::enabled.load(std::memory_order_relaxed)) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (!on_) return;
    detail::totals.seconds[static_cast<size_t>(phase_)] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Phase phase_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace lstmnlp::profile
