#pragma once

// Building blocks of the fused CPU kernels (the LSTM gates in models/lstm.cpp, the softmax of the
// language model's decoder): vectorisable float math and the macros that compile a row kernel a
// second time for AVX2+FMA, picked at run time. Internal to the library. A source file that uses
// these should be compiled with -fno-trapping-math (as LibTorch is), or GCC keeps its loops scalar.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

// Loops that read and write the same index of buffers that may alias exactly (in-place updates)
// are safe to vectorise; tell the compiler so.
#if defined(__clang__)
#define LSTMNLP_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define LSTMNLP_IVDEP _Pragma("GCC ivdep")
#else
#define LSTMNLP_IVDEP
#endif

// Row kernels stay out of line (inlined into the dispatch lambdas, GCC stops vectorising them),
// and on x86-64 each also exists compiled for AVX2+FMA.
#if defined(__GNUC__)
#define LSTMNLP_NOINLINE __attribute__((noinline))
#define LSTMNLP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define LSTMNLP_NOINLINE
#define LSTMNLP_ALWAYS_INLINE inline
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#define LSTMNLP_HAVE_AVX2_KERNELS 1
#define LSTMNLP_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define LSTMNLP_HAVE_AVX2_KERNELS 0
#endif
// GCC also compiles the LSTM's gate kernels a third time for AVX-512 with 512-bit vectors (its
// default for such a target is 256): on an AMD EPYC with AVX-512 (Zen 5) the gate passes took
// about half the AVX2 kernels' time (2026-12-06).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LSTMNLP_HAVE_AVX512_KERNELS 1
#define LSTMNLP_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,prefer-vector-width=512")))
#else
#define LSTMNLP_HAVE_AVX512_KERNELS 0
#endif

namespace lstmnlp::kernels {

#if LSTMNLP_HAVE_AVX2_KERNELS
/// Whether this CPU runs the AVX2+FMA versions of the row kernels.
inline bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

#if LSTMNLP_HAVE_AVX512_KERNELS
/// Whether this CPU runs the AVX-512 versions of the row kernels (LSTMNLP_AVX512=0 in the
/// environment keeps the AVX2 ones).
inline bool cpu_has_avx512() {
  static const bool yes = [] {
    const char* env = std::getenv("LSTMNLP_AVX512");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
  }();
  return yes;
}
#endif

/// Elementwise float math: branch-free Cephes-style approximations (about 1 ulp for exp, 2e-7
/// absolute for sigmoid and tanh), written so that the compiler vectorises the loops that call
/// them; libm calls would not be. NaN stays NaN.
struct FloatMath {
  static inline float exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    // n comes from a number: converting NaN to an integer is undefined (and on x86 gives
    // INT_MIN, whose shift below is undefined too). A NaN x still makes r, and so the result, NaN.
    const float fx = (x == x ? x : 0.0f) * 1.44269504088896341f;
    const int32_t n = static_cast<int32_t>(fx + (fx >= 0.0f ? 0.5f : -0.5f));
    const float nf = static_cast<float>(n);
    // Cody-Waite reduction: r = x - n*ln(2) in two parts.
    float r = x - nf * 0.693359375f;
    r = r + nf * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    const int32_t bits = (n + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  }
  static inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }
  // 1 - 2/(e^{2x} + 1): absolute error below 2e-7 everywhere and no branch, which would stop
  // the vectoriser.
  static inline float tanh(float x) { return 1.0f - 2.0f / (exp(2.0f * x) + 1.0f); }
};

/// The double versions are libm's.
struct DoubleMath {
  static inline double exp(double x) { return std::exp(x); }
  static inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
  static inline double tanh(double x) { return std::tanh(x); }
};

template <typename scalar_t>
using MathFor = std::conditional_t<std::is_same_v<scalar_t, float>, FloatMath, DoubleMath>;

}  // namespace lstmnlp::kernels
