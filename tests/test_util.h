#pragma once

// Helpers shared by every test folder: temporary folders and the message of an InputError.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace lstmnlp::test {

/// A fresh temporary folder, removed when the object goes away. Its name holds `name`, the
/// process id and a counter, so that tests running in parallel processes (ctest -j) or twice in
/// one process never share one.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("lstmnlp_" + name + "_" + std::to_string(::getpid()) + "_" +
               std::to_string(counter()++))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// The path of `name` inside the folder.
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static std::atomic<int>& counter() {
    static std::atomic<int> n{0};
    return n;
  }
  std::filesystem::path path_;
};

/// The message of the InputError that `f` throws, or "no InputError".
template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no InputError";
}

}  // namespace lstmnlp::test
