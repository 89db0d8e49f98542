#pragma once

// File helpers shared by the apps: atomic writes, outputs that may not overwrite an input, run
// directories that may not be trained into twice by accident, and leftover temporary files.
//
// Every temporary file is named TARGET.tmp-PID, beside its target: a failed write removes its
// own, and check_run_dir() removes those whose process no longer exists.

#include <cstddef>
#include <fstream>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace lstmnlp {

/// Writes `text` to `path` (created or truncated, bytes as given). Throws InputError naming the
/// path when the file cannot be written. For files that must survive a crash mid-write, use
/// write_file_atomic.
void write_text(const std::string& path, const std::string& text);

/// Writes `bytes` to `path` atomically: to PATH.tmp-PID, fsync, rename over `path`, fsync of the
/// folder. A failed write removes the temporary file and throws InputError naming the path and
/// the reason (e.g. "No space left on device").
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Appends `size` bytes to the file being written (see below).
using WriteBytes = std::function<void(const void* data, size_t size)>;

/// write_file_atomic for bytes that `produce` hands to its argument piece by piece (e.g. an
/// archive's save_to), so that a large file is never held in memory whole.
void write_file_atomic(const std::string& path,
                       const std::function<void(const WriteBytes&)>& produce);

/// Whether `a` and `b` are the same existing file (same device and inode), so that symlinks,
/// hard links and spellings such as ./x.txt compare equal. False when either does not exist.
bool same_file(const std::string& a, const std::string& b);

/// Throws InputError when `output` is the same file as one of `inputs` ("-", stdin/stdout, is
/// skipped): writing it would destroy the input. `option` names the output in the message.
void refuse_output_over_inputs(const std::string& output, const std::vector<std::string>& inputs,
                               const std::string& option = "--output");

/// An output file written under PATH.tmp-PID and renamed over PATH by commit(), so that a failed
/// or interrupted run never leaves a half-written file under the final name. Destroying it
/// without commit() removes the temporary file. "-" writes standard output, and an existing
/// path that is not a regular file (/dev/null, /dev/full, a FIFO) is written in place.
class AtomicOutput {
 public:
  explicit AtomicOutput(std::string path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  /// Where to write.
  std::ostream& stream() { return *out_; }
  /// Throws InputError naming the path when a write has failed (e.g. the disk is full).
  void check();
  /// Flushes, checks, syncs and renames the file into place.
  void commit();
  /// The final path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string target_;  // the file renamed over: path_, or where a symlink at path_ points
  std::string tmp_;     // "" when written in place
  std::ofstream file_;
  std::ostream* out_;
  bool committed_ = false;
};

/// The files whose presence means that a folder holds a training run.
inline const std::vector<std::string> kRunFiles = {"latest.pt", "best.pt", "metrics.jsonl"};

/// Checks a run directory before a train writes anything into it: removes stale temporary files
/// (NAME.tmp-PID of processes that no longer exist), then throws InputError when it already
/// holds a run (one of `run_files`) unless `resume` or `overwrite`. Writes nothing.
void check_run_dir(const std::string& dir, bool resume, bool overwrite,
                   const std::vector<std::string>& run_files = kRunFiles);

/// Removes `run_files` from `dir` (the earlier run that --overwrite replaces).
void remove_run_files(const std::string& dir,
                      const std::vector<std::string>& run_files = kRunFiles);

/// Removes the files NAME.tmp-PID in `dir` whose process PID no longer exists; returns how many.
int remove_stale_temp_files(const std::string& dir);

}  // namespace lstmnlp
