#pragma once

// Settings that the libraries read once, as they load, before main() runs, so that a process can
// only change them by re-executing itself. Every executable calls reexec_with_fast_runtime()
// first (cli::run_app does), so that users get the fast settings without knowing about them:
//
//   - OPENBLAS_CORETYPE. OpenBLAS picks its kernels from the CPU's model number, and a version
//     older than the CPU falls back to its SSE3 "Prescott" kernels: Debian 12's OpenBLAS 0.3.21 on
//     an Intel Xeon of family 6, model 207 ran SGEMM at 8-11 GFLOP/s with them and at 34-59 with
//     its SkylakeX kernels (one thread, 512x32x128 and 512x5280x260). When it is unset and
//     OpenBLAS reports Prescott on a CPU with AVX-512 (AVX2), it becomes SkylakeX (Haswell).
//   - OMP_WAIT_POLICY. Unset, LibTorch's idle OpenMP threads spin after every parallel region and
//     starve OpenBLAS's own threads on the same cores; it becomes PASSIVE.
//   - GOMP_SPINCOUNT. PASSIVE alone puts an OpenMP thread to sleep at once, and the LSTM's
//     per-step products (a parallel region of well under a millisecond) then pay for waking it
//     every step; 30000 spins first for a few microseconds. With OPENBLAS_THREAD_TIMEOUT below,
//     lstm-bench 650 with 2 threads went from 8,337-8,801 to 9,150-10,069 tokens/s in
//     forward+backward and from 27,369-28,792 to 31,720-34,912 in inference (2026-12-05).
//   - OPENBLAS_THREAD_TIMEOUT. OpenBLAS's own threads otherwise spin for about 2^28 cycles after
//     each product, holding the cores that LibTorch's threads need next; 4 (the least) makes
//     them sleep at once. Set when the BLAS is OpenBLAS.
//
// A variable the user set is never changed. LSTMNLP_NO_REEXEC=1 turns the re-execution off.

#include <string>
#include <utility>
#include <vector>

namespace lstmnlp::runtime {

/// What this process runs with, as far as reexec_with_fast_runtime() looks.
struct RuntimeFacts {
  const char* openblas_coretype = nullptr;        ///< getenv("OPENBLAS_CORETYPE")
  const char* omp_wait_policy = nullptr;          ///< getenv("OMP_WAIT_POLICY")
  const char* gomp_spincount = nullptr;           ///< getenv("GOMP_SPINCOUNT")
  const char* openblas_thread_timeout = nullptr;  ///< getenv("OPENBLAS_THREAD_TIMEOUT")
  std::string openblas_core;                      ///< openblas_get_corename() ("" without OpenBLAS)
  bool avx512 = false;                            ///< the CPU has AVX-512F (and BW, DQ, VL)
  bool avx2 = false;                              ///< the CPU has AVX2 and FMA
};

/// The variables to set (name, value) for `facts`; empty when nothing needs to change.
std::vector<std::pair<std::string, std::string>> fast_runtime_settings(const RuntimeFacts& facts);

/// This process's facts.
RuntimeFacts current_runtime();

/// The OpenBLAS core type in use ("" when the BLAS is not OpenBLAS).
std::string openblas_core_name();

/// Sets fast_runtime_settings(current_runtime()) and re-executes /proc/self/exe with `argv`, once
/// (LSTMNLP_REEXEC marks the second start). Returns when nothing needs to change, when
/// LSTMNLP_NO_REEXEC is set, or when exec fails (the process then goes on as it is).
void reexec_with_fast_runtime(char** argv);

}  // namespace lstmnlp::runtime
