#include "core/runtime_env.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace lstmnlp::runtime {

std::vector<std::pair<std::string, std::string>> fast_runtime_settings(const RuntimeFacts& facts) {
  std::vector<std::pair<std::string, std::string>> settings;
  if (facts.openblas_coretype == nullptr && facts.openblas_core == "Prescott") {
    if (facts.avx512) {
      settings.emplace_back("OPENBLAS_CORETYPE", "SkylakeX");
    } else if (facts.avx2) {
      settings.emplace_back("OPENBLAS_CORETYPE", "Haswell");
    }
  }
  if (facts.omp_wait_policy == nullptr) {
    settings.emplace_back("OMP_WAIT_POLICY", "PASSIVE");
    if (facts.gomp_spincount == nullptr) settings.emplace_back("GOMP_SPINCOUNT", "30000");
  }
  if (!facts.openblas_core.empty() && facts.openblas_thread_timeout == nullptr) {
    settings.emplace_back("OPENBLAS_THREAD_TIMEOUT", "4");
  }
  return settings;
}

std::string openblas_core_name() {
  using CoreName = char* (*)();
  auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (core_name == nullptr) return "";
  const char* name = core_name();
  return name ? name : "";
}

RuntimeFacts current_runtime() {
  RuntimeFacts facts;
  facts.openblas_coretype = std::getenv("OPENBLAS_CORETYPE");
  facts.omp_wait_policy = std::getenv("OMP_WAIT_POLICY");
  facts.gomp_spincount = std::getenv("GOMP_SPINCOUNT");
  facts.openblas_thread_timeout = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  facts.openblas_core = openblas_core_name();
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  facts.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  facts.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return facts;
}

void reexec_with_fast_runtime(char** argv) {
  if (std::getenv("LSTMNLP_NO_REEXEC") != nullptr || std::getenv("LSTMNLP_REEXEC") != nullptr) {
    return;
  }
  const auto settings = fast_runtime_settings(current_runtime());
  if (settings.empty()) return;
  for (const auto& [name, value] : settings) setenv(name.c_str(), value.c_str(), /*overwrite=*/0);
  setenv("LSTMNLP_REEXEC", "1", /*overwrite=*/1);
  execv("/proc/self/exe", argv);
  // exec failed: go on with the settings this process started with.
  unsetenv("LSTMNLP_REEXEC");
}

}  // namespace lstmnlp::runtime
