#pragma once

#include <stdexcept>
#include <string>

namespace lstmnlp {

/// An error in what the user gave us: a config, a data file, a checkpoint or the command line.
/// The message names the file, line and key where they are known. `main()` maps it to exit 2;
/// every other exception is an internal error (exit 1).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A collective of a multi-process training failed: another rank died or did not answer in time.
/// `main()` maps it to exit 1 with its one-line message.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Formats "file:line: message" (line omitted when 0).
std::string at_location(const std::string& file, int line, const std::string& message);

}  // namespace lstmnlp
