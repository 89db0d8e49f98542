#include "core/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/signals.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;

std::string temp_name(const std::string& path) {
  return path + ".tmp-" + std::to_string(::getpid());
}

std::string reason(int err) { return std::strerror(err); }

// The reason of the last failed write, where errno plausibly holds it.
std::string write_failure_reason() {
  const int err = errno;
  if (err == ENOSPC || err == EDQUOT || err == EIO || err == EFBIG || err == EPIPE ||
      err == EBADF || err == EROFS) {
    return reason(err);
  }
  return "disk full or closed output?";
}

// fsync() of a path; folders and special files that cannot be synced are not an error.
int fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return 0;
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 || err == EINVAL || err == EROFS ? 0 : err;
}

void fsync_folder_of(const std::string& path) {
  const fs::path target(path);
  fsync_path(target.has_parent_path() ? target.parent_path().string() : ".",
             O_RDONLY | O_DIRECTORY);
}

// Whether `name` ends in ".tmp-" and digits; sets `pid` to them.
bool temp_file_pid(const std::string& name, long& pid) {
  const size_t at = name.rfind(".tmp-");
  if (at == std::string::npos || at + 5 >= name.size() || at == 0) return false;
  const std::string digits = name.substr(at + 5);
  if (digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  pid = std::stol(digits);
  return pid > 0;
}

}  // namespace

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError(path + ": cannot open for writing (" + reason(errno) + ")");
  out << text;
  out.flush();
  if (!out) throw InputError(path + ": cannot write file (" + write_failure_reason() + ")");
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, [&](const WriteBytes& write) { write(bytes.data(), bytes.size()); });
}

void write_file_atomic(const std::string& path,
                       const std::function<void(const WriteBytes&)>& produce) {
  const std::string tmp = temp_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(tmp + ": cannot create (" + reason(errno) + ")");
  signals::register_temp_file(tmp);
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    signals::unregister_temp_file(tmp);
    throw InputError(path + ": " + what + " (" + reason(err) + ")");
  };
  // The first error is kept and later pieces are dropped: `produce` may be C code (an archive's
  // zip writer) that an exception must not unwind through.
  int write_error = 0;
  const WriteBytes write = [&](const void* data, size_t size) {
    const char* bytes = static_cast<const char*>(data);
    size_t done = 0;
    while (write_error == 0 && done < size) {
      const ssize_t n = ::write(fd, bytes + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        write_error = n < 0 ? errno : ENOSPC;
        break;
      }
      done += static_cast<size_t>(n);
    }
  };
  try {
    produce(write);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    signals::unregister_temp_file(tmp);
    throw;
  }
  if (write_error != 0) {
    ::close(fd);
    fail("write failed", write_error);
  }
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    const int err = errno;
    ::close(fd);
    fail("write failed", err);
  }
  if (::close(fd) != 0) fail("write failed", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    fail("cannot rename " + tmp + " into place", errno);
  }
  signals::unregister_temp_file(tmp);
  fsync_folder_of(path);
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void refuse_output_over_inputs(const std::string& output, const std::vector<std::string>& inputs,
                               const std::string& option) {
  if (output == "-") return;
  for (const auto& input : inputs) {
    if (input == "-" || !same_file(output, input)) continue;
    throw InputError(output + ": is the same file as the input " + input +
                     "; writing it would destroy the input (choose another " + option + ")");
  }
}

AtomicOutput::AtomicOutput(std::string path) : path_(std::move(path)), out_(&std::cout) {
  if (path_ == "-") return;
  std::error_code ec;
  const auto status = fs::status(path_, ec);
  std::string target = path_;
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    if (fs::is_directory(status)) throw InputError(path_ + ": is a directory, expected a file");
    // A device or FIFO is written in place: it cannot be replaced by renaming.
    file_.open(path_, std::ios::binary);
  } else {
    // Through a symlink the file it points to is replaced, not the link.
    if (fs::is_symlink(fs::symlink_status(path_, ec))) target = fs::canonical(path_, ec).string();
    if (target.empty()) target = path_;
    tmp_ = temp_name(target);
    file_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (file_) signals::register_temp_file(tmp_);
  }
  if (!file_) {
    throw InputError(path_ + ": cannot open for writing (" + reason(errno) + ")");
  }
  target_ = target;
  out_ = &file_;
}

AtomicOutput::~AtomicOutput() {
  if (committed_ || tmp_.empty()) return;
  file_.close();
  ::unlink(tmp_.c_str());
  signals::unregister_temp_file(tmp_);
}

void AtomicOutput::check() {
  if (!*out_) {
    throw InputError((path_ == "-" ? std::string("standard output") : path_) +
                     ": cannot write the output (" + write_failure_reason() + ")");
  }
}

void AtomicOutput::commit() {
  out_->flush();
  check();
  if (tmp_.empty()) {
    committed_ = true;
    return;
  }
  file_.close();
  if (!file_)
    throw InputError(path_ + ": cannot write the output (" + write_failure_reason() + ")");
  if (const int err = fsync_path(tmp_, O_RDONLY); err != 0) {
    throw InputError(path_ + ": cannot write the output (" + reason(err) + ")");
  }
  if (std::rename(tmp_.c_str(), target_.c_str()) != 0) {
    throw InputError(path_ + ": cannot rename " + tmp_ + " into place (" + reason(errno) + ")");
  }
  committed_ = true;
  signals::unregister_temp_file(tmp_);
  fsync_folder_of(target_);
}

int remove_stale_temp_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    long pid = 0;
    if (!temp_file_pid(entry.path().filename().string(), pid) || pid == ::getpid()) continue;
    // kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it exists).
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code remove_ec;
    if (fs::remove(entry.path(), remove_ec)) {
      ++removed;
      std::cerr << "removed the stale temporary file " << entry.path().string() << "\n";
    }
  }
  return removed;
}

void check_run_dir(const std::string& dir, bool resume, bool overwrite,
                   const std::vector<std::string>& run_files) {
  if (resume && overwrite) throw InputError("--resume and --overwrite exclude each other");
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec)) throw InputError(dir + ": is not a directory");
  remove_stale_temp_files(dir);
  if (resume || overwrite) return;
  for (const auto& name : run_files) {
    if (!fs::exists(fs::path(dir) / name, ec)) continue;
    const bool resumable =
        std::find(run_files.begin(), run_files.end(), "latest.pt") != run_files.end();
    throw InputError(dir + ": already holds a run (" + name + "); " +
                     (resumable
                          ? "--resume " + (fs::path(dir) / "latest.pt").string() + " continues it, "
                          : std::string()) +
                     "--overwrite replaces it, or choose another --output-dir");
  }
}

void remove_run_files(const std::string& dir, const std::vector<std::string>& run_files) {
  for (const auto& name : run_files) {
    std::error_code ec;
    fs::remove(fs::path(dir) / name, ec);
    if (ec)
      throw InputError((fs::path(dir) / name).string() + ": cannot remove (" + ec.message() + ")");
  }
}

}  // namespace lstmnlp
