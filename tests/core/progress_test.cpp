#include "core/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace lstmnlp {
namespace {

TEST(Progress, ResumedRunCountsOnlyItsOwnUnitsInTheRate) {
  Progress progress("train", 2000, "steps", /*log_every_s=*/1e9);
  progress.start_from(1000);  // a run resumed at step 1000
  progress.update(1010);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // 10 steps in at least 50 ms: at most 200 steps/s. Counting the 1,000 resumed steps would give
  // more than 200 unless the sleep took over 5 s.
  EXPECT_GT(progress.rate(), 0.0);
  EXPECT_LE(progress.rate(), 200.0);
}

}  // namespace
}  // namespace lstmnlp
