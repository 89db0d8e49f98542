#pragma once

// Helpers shared by every test folder: temporary folders, the message of an InputError, the
// data folder and a Python with torch for the interop tests.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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

/// The datasets folder: $LSTM_NLP_DATA, else ../shared/data beside the source tree.
inline std::filesystem::path data_dir() {
  const char* env = std::getenv("LSTM_NLP_DATA");
  return env && *env ? std::filesystem::path(env)
                     : std::filesystem::path(LSTMNLP_SOURCE_DIR) / ".." / "shared" / "data";
}

/// A Python 3 that imports torch ($LSTMNLP_PYTHON, python3 or /usr/bin/python3), or "" when
/// there is none (the interop tests then skip: apt install python3-torch).
inline std::string python_with_torch() {
  static const std::string found = [] {
    for (const char* candidate :
         std::vector<const char*>{std::getenv("LSTMNLP_PYTHON"), "python3", "/usr/bin/python3"}) {
      if (candidate == nullptr || *candidate == '\0') continue;
      const std::string probe = std::string(candidate) + " -c 'import torch' > /dev/null 2>&1";
      if (std::system(probe.c_str()) == 0) return std::string(candidate);
    }
    return std::string();
  }();
  return found;
}

/// What a Python script printed (stdout and stderr together) and its exit status.
struct PythonRun {
  int status = -1;
  std::string output;
};

/// Writes `script` to `dir`/`name` and runs it with `python` and `args` (one shell word each),
/// in `dir`, on one thread.
inline PythonRun run_python(const std::string& python, const std::filesystem::path& dir,
                            const std::string& name, const std::string& script,
                            const std::vector<std::string>& args = {}) {
  const auto script_path = dir / name;
  std::ofstream(script_path) << script;
  const auto log = dir / (name + ".log");
  std::string command = "cd '" + dir.string() + "' && OMP_NUM_THREADS=1 " + python + " '" +
                        script_path.string() + "'";
  for (const auto& arg : args) command += " '" + arg + "'";
  command += " > '" + log.string() + "' 2>&1";
  const int raw = std::system(command.c_str());
  PythonRun run;
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(log);
  run.output.assign(std::istreambuf_iterator<char>(in), {});
  return run;
}

}  // namespace lstmnlp::test
