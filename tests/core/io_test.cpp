#include "core/io.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tests/test_util.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;
using test::input_error_of;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

size_t files_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// A process id that no longer exists: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST(SameFile, CatchesSymlinksHardLinksAndOtherSpellings) {
  const test::TempDir tmp("same_file");
  const auto x = tmp / "x.txt";
  std::ofstream(x) << "data\n";
  fs::create_symlink(x, tmp / "link.txt");
  fs::create_hard_link(x, tmp / "hard.txt");
  std::ofstream(tmp / "other.txt") << "data\n";
  EXPECT_TRUE(same_file(x, tmp / "link.txt"));
  EXPECT_TRUE(same_file(x, tmp / "hard.txt"));
  EXPECT_TRUE(same_file(x, (tmp.path() / "." / "x.txt").string()));
  EXPECT_FALSE(same_file(x, tmp / "other.txt"));
  EXPECT_FALSE(same_file(x, tmp / "missing.txt"));

  const auto msg = input_error_of([&] { refuse_output_over_inputs(tmp / "link.txt", {"-", x}); });
  EXPECT_NE(msg.find("same file as the input " + x), std::string::npos) << msg;
  EXPECT_EQ(input_error_of([&] { refuse_output_over_inputs(tmp / "new.txt", {x}); }),
            "no InputError");
}

TEST(AtomicOutput, OnlyCommitReplacesTheTarget) {
  const test::TempDir tmp("atomic_output");
  const auto path = tmp / "out.tsv";
  std::ofstream(path) << "old\n";
  {
    AtomicOutput out(path);
    out.stream() << "half-written";
    EXPECT_EQ(read_all(path), "old\n");
  }  // not committed: the temporary file goes, the target stays
  EXPECT_EQ(read_all(path), "old\n");
  EXPECT_EQ(files_in(tmp.path()), 1u);
  {
    AtomicOutput out(path);
    out.stream() << "new\n";
    EXPECT_EQ(read_all(path), "old\n");
    out.commit();
  }
  EXPECT_EQ(read_all(path), "new\n");
  EXPECT_EQ(files_in(tmp.path()), 1u);
}

TEST(AtomicOutput, FullDiskNamesThePath) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const auto msg = input_error_of([] {
    AtomicOutput out("/dev/full");
    out.stream() << std::string(1 << 20, 'x');
    out.commit();
  });
  EXPECT_NE(msg.find("/dev/full"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No space left"), std::string::npos) << msg;
}

TEST(WriteFileAtomic, AFailedWriteRemovesItsTemporaryFile) {
  const test::TempDir tmp("atomic_fail");
  const auto path = tmp / "latest.pt";
  std::ofstream(path) << "previous";
  // A file size limit makes write() fail with EFBIG, as a full disk fails it with ENOSPC.
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const auto msg = input_error_of([&] { write_file_atomic(path, std::string(1 << 16, 'x')); });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find(path + ": write failed"), std::string::npos) << msg;
  EXPECT_EQ(read_all(path), "previous");
  EXPECT_EQ(files_in(tmp.path()), 1u) << "the temporary file was left behind";
}

TEST(RunDir, StaleTemporaryFilesOfDeadProcessesAreRemoved) {
  const test::TempDir tmp("stale");
  const auto stale = tmp / ("latest.pt.tmp-" + std::to_string(dead_pid()));
  const auto own = tmp / ("config.yaml.tmp-" + std::to_string(::getpid()));
  const auto living = tmp / "best.pt.tmp-1";  // init never exits
  for (const auto& p : {stale, own, living}) std::ofstream(p) << "x";
  EXPECT_EQ(remove_stale_temp_files(tmp.path().string()), 1);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(own));
  EXPECT_TRUE(fs::exists(living));
}

TEST(RunDir, AnExistingRunNeedsResumeOrOverwrite) {
  const test::TempDir tmp("run_dir");
  const auto dir = tmp.path().string();
  EXPECT_EQ(input_error_of([&] { check_run_dir(tmp / "fresh", false, false); }), "no InputError");
  std::ofstream(tmp / "config.yaml") << "a: 1\n";
  EXPECT_EQ(input_error_of([&] { check_run_dir(dir, false, false); }), "no InputError");
  for (const auto& name : kRunFiles) {
    std::ofstream(tmp / name) << "x";
    const auto msg = input_error_of([&] { check_run_dir(dir, false, false); });
    EXPECT_NE(msg.find("already holds a run (" + name + ")"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--overwrite"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--resume " + (tmp / "latest.pt")), std::string::npos) << msg;
    fs::remove(tmp / name);
  }
  std::ofstream(tmp / "metrics.jsonl") << "{}\n";
  EXPECT_EQ(input_error_of([&] { check_run_dir(dir, true, false); }), "no InputError");
  EXPECT_EQ(input_error_of([&] { check_run_dir(dir, false, true); }), "no InputError");
  EXPECT_NE(input_error_of([&] { check_run_dir(dir, true, true); }), "no InputError");
  remove_run_files(dir);
  EXPECT_FALSE(fs::exists(tmp / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(tmp / "config.yaml"));
}

}  // namespace
}  // namespace lstmnlp
