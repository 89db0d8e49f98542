#pragma once

// Shared pieces of the libFuzzer harnesses (see fuzz/README.md and scripts/fuzz.sh).
//
// Every harness feeds its input to one reader and accepts exactly two outcomes: success, or an
// InputError (the one-line, exit-2 error users see). Any other exception escapes
// LLVMFuzzerTestOneInput, ends in std::terminate, and libFuzzer reports it as a crash with the
// input that caused it, as it does for the sanitizers' findings.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace lstmnlp::fuzz {

/// A directory of this process's own under $TMPDIR (or /tmp), made on first use.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto path =
        std::filesystem::temp_directory_path() / ("lstmnlp-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path;
  }();
  return dir;
}

/// Writes `bytes` to scratch_dir()/name and returns the path.
inline std::string write_scratch(const std::string& name, std::string_view bytes) {
  const auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path.string();
}

/// The input split at NUL bytes (so one input can carry a file and, say, --set overrides).
inline std::vector<std::string> split_at_nul(std::string_view bytes) {
  std::vector<std::string> parts(1);
  for (char c : bytes) {
    if (c == '\0') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

/// Runs `f`, accepting an InputError as a correct refusal.
template <class F>
void refuse_or_accept(F&& f) {
  try {
    f();
  } catch (const InputError&) {
  }
}

/// Aborts with `what` when `ok` is false: a broken invariant is a finding too.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace lstmnlp::fuzz
