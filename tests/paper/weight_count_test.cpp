// The weight counts of the paper-exact configs (configs/paper/*-paper.yaml, reber-paper.yaml and
// adding.yaml) against the counts Hochreiter & Schmidhuber (1997) print in Tables 1, 2, 7, 8
// and 9, and derives in the text of experiments 2b, 2c and 3.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "models/paper/experiment.h"

namespace lstmnlp::paper {
namespace {

template <class Config>
int64_t weights_of_config(const std::string& name, const std::vector<std::string>& sets = {}) {
  const std::string path = std::string(LSTMNLP_SOURCE_DIR) + "/configs/paper/" + name;
  return net_weights(config::load<Config>(path, sets));
}

TEST(PaperWeightCount, Reber3x2Is276) {  // Table 1, 3 blocks of size 2
  EXPECT_EQ(weights_of_config<ReberConfig>("reber-paper.yaml"), 276);
}

TEST(PaperWeightCount, Reber4x1Is264) {  // Table 1, 4 blocks of size 1
  EXPECT_EQ(weights_of_config<ReberConfig>("reber-4x1-paper.yaml"), 264);
}

TEST(PaperWeightCount, LongLag2aIs10504) {  // Table 2, LSTM at p = 100
  EXPECT_EQ(weights_of_config<LongLagConfig>("long-lag-2a-paper.yaml"), 10504);
}

TEST(PaperWeightCount, LongLag2bIs10504) {  // section 5.2: as 2a
  EXPECT_EQ(weights_of_config<LongLagConfig>("long-lag-2b-paper.yaml"), 10504);
}

TEST(PaperWeightCount, VeryLongLag2cFollowsTable3) {  // 364 ... 6,064 as p grows
  const std::string name = "very-long-lag-2c-paper.yaml";
  EXPECT_EQ(weights_of_config<VeryLongLagConfig>(name), 364);
  for (auto [p, weights] : {std::pair{100, 664}, {200, 1264}, {500, 3064}, {1000, 6064}}) {
    EXPECT_EQ(weights_of_config<VeryLongLagConfig>(
                  name, {"very_long_lag.p=" + std::to_string(p), "very_long_lag.q=1000"}),
              weights)
        << "p = " << p;
  }
}

TEST(PaperWeightCount, TwoSequenceIs102) {  // experiment 3, Table 10
  for (const char* variant : {"3a", "3b", "3c"}) {
    EXPECT_EQ(weights_of_config<TwoSequenceConfig>("two-sequence-" + std::string(variant) +
                                                   "-paper.yaml"),
              102)
        << variant;
  }
}

TEST(PaperWeightCount, LongLag2aRnnBaselineIs10404) {  // Table 2, RTRL and BPTT at p = 100
  EXPECT_EQ(weights_of_config<LongLagConfig>("long-lag-2a-rnn.yaml"), 10404);
  // 12 tanh units with biases: 7 x 12 + 12 x 12 + 12 + 7 x 12 + 7.
  EXPECT_EQ(weights_of_config<ReberConfig>("reber-rnn.yaml"), 331);
}

TEST(PaperWeightCount, AddingIs93) {  // Table 7
  EXPECT_EQ(weights_of_config<AddingConfig>("adding.yaml"), 93);
}

TEST(PaperWeightCount, MultiplicationIs93) {  // experiment 5: the adding net
  EXPECT_EQ(weights_of_config<MultiplicationConfig>("multiplication-paper.yaml"), 93);
}

TEST(PaperWeightCount, TemporalOrder6aIs156) {  // Table 9
  EXPECT_EQ(weights_of_config<TemporalOrderConfig>("temporal-order-6a-paper.yaml"), 156);
}

TEST(PaperWeightCount, TemporalOrder6bIs308) {  // Table 9
  EXPECT_EQ(weights_of_config<TemporalOrderConfig>("temporal-order-6b-paper.yaml"), 308);
}

}  // namespace
}  // namespace lstmnlp::paper
