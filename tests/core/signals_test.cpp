#include "core/signals.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "tests/test_util.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;

TEST(StopOnSignal, TheFirstSignalOnlyRequestsAStop) {
  {
    signals::StopOnSignal stop_on_signal;
    EXPECT_EQ(signals::stop_signal(), 0);
    ::raise(SIGHUP);  // would end the process by default
    EXPECT_EQ(signals::stop_signal(), SIGHUP);
  }
  signals::clear_stop();
  // The previous (default) handlers are back.
  struct sigaction current {};
  ASSERT_EQ(::sigaction(SIGTERM, nullptr, &current), 0);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
}

TEST(StopOnSignalDeathTest, ASecondSignalExitsAtOnceAndRemovesTemporaryFiles) {
  // "fast" forks without re-executing, so the child removes the file this process created; it
  // only calls sigaction, raise, unlink and _exit, which are safe after a fork.
  GTEST_FLAG_SET(death_test_style, "fast");
  const test::TempDir tmp("signals");
  const auto temp = tmp / "latest.pt.tmp-1";
  std::ofstream(temp) << "half";
  EXPECT_EXIT(
      {
        signals::StopOnSignal stop_on_signal;
        signals::register_temp_file(temp);
        ::raise(SIGINT);
        ::raise(SIGINT);
        std::exit(0);
      },
      ::testing::ExitedWithCode(128 + SIGINT), "");
  EXPECT_FALSE(fs::exists(temp));
}

TEST(Signals, Names) {
  EXPECT_EQ(signals::signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signals::signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signals::signal_name(SIGHUP), "SIGHUP");
}

}  // namespace
}  // namespace lstmnlp
