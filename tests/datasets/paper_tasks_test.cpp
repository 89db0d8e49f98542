#include "datasets/paper_tasks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "datasets/reber.h"

namespace lstmnlp::paper {
namespace {

// Positions whose marker is 1, in order.
std::vector<int64_t> marked(Sequence& s) {
  std::vector<int64_t> out;
  for (int64_t t = 0; t < s.length; ++t) {
    if (s.input(t, 1) == 1.0) out.push_back(t);
  }
  return out;
}

TEST(PaperTasksTest, AddingSequencesFollowThePaper) {
  std::mt19937_64 rng(21);
  int first_pair_marked = 0;
  for (int i = 0; i < 3000; ++i) {
    Sequence s = adding_sequence(rng, /*min_length=*/100);
    ASSERT_GE(s.length, 100);
    ASSERT_LE(s.length, 110);
    ASSERT_EQ(s.num_inputs, 2);
    ASSERT_EQ(s.num_outputs, 1);
    const auto m = marked(s);
    ASSERT_EQ(m.size(), 2u);
    // One mark in the first ten pairs, the other among the first T/2 - 1 = 49 unmarked ones,
    // so no later than position 49 (0-based).
    EXPECT_LE(m[0], 9);
    EXPECT_LE(m[1], 49);
    for (int64_t t = 0; t < s.length; ++t) {
      const double marker = s.input(t, 1);
      const bool end = t == 0 || t == s.length - 1;
      if (marker != 1.0) {
        EXPECT_EQ(marker, end ? -1.0 : 0.0) << "t=" << t;
      }
      EXPECT_GE(s.input(t, 0), -1.0);
      EXPECT_LE(s.input(t, 0), 1.0);
      EXPECT_EQ(s.has_target[t], t == s.length - 1);
    }
    if (m[0] == 0) {
      ++first_pair_marked;
      EXPECT_EQ(s.input(0, 0), 0.0);  // X1 is set to zero
    }
    const double x1 = s.input(m[0], 0), x2 = s.input(m[1], 0);
    EXPECT_DOUBLE_EQ(s.target(s.length - 1, 0), 0.5 + (x1 + x2) / 4.0);
  }
  EXPECT_GT(first_pair_marked, 0);
}

TEST(PaperTasksTest, MultiplicationTargetIsTheProduct) {
  std::mt19937_64 rng(22);
  for (int i = 0; i < 1000; ++i) {
    Sequence s = multiplication_sequence(rng, /*min_length=*/100);
    const auto m = marked(s);
    ASSERT_EQ(m.size(), 2u);
    for (int64_t t = 0; t < s.length; ++t) {
      EXPECT_GE(s.input(t, 0), 0.0);
      EXPECT_LE(s.input(t, 0), 1.0);
    }
    if (m[0] == 0) {
      EXPECT_EQ(s.input(0, 0), 1.0);
    }
    EXPECT_DOUBLE_EQ(s.target(s.length - 1, 0), s.input(m[0], 0) * s.input(m[1], 0));
  }
}

TEST(PaperTasksTest, TemporalOrderClassesMatchTheRelevantSymbols) {
  constexpr int kX = 4, kY = 5, kE = 6, kB = 7;
  for (int relevant : {2, 3}) {
    std::mt19937_64 rng(23 + relevant);
    std::vector<int> counts(1 << relevant, 0);
    for (int i = 0; i < 2000; ++i) {
      int label = -1;
      Sequence s = temporal_order_sequence(rng, relevant, &label);
      ASSERT_GE(s.length, 100);
      ASSERT_LE(s.length, 110);
      ASSERT_EQ(s.num_outputs, 1 << relevant);
      std::vector<int> symbol(s.length);
      for (int64_t t = 0; t < s.length; ++t) {
        int hot = -1, ones = 0;
        for (int k = 0; k < kTemporalOrderSymbols; ++k) {
          if (s.input(t, k) == 1.0) {
            hot = k;
            ++ones;
          }
        }
        ASSERT_EQ(ones, 1);
        symbol[t] = hot;
      }
      EXPECT_EQ(symbol.front(), kE);
      EXPECT_EQ(symbol.back(), kB);
      // Decode the class by hand: X = 0, Y = 1, first relevant symbol most significant.
      int cls = 0, found = 0;
      std::vector<int64_t> where;
      for (int64_t t = 1; t + 1 < s.length; ++t) {
        if (symbol[t] == kX || symbol[t] == kY) {
          cls = cls * 2 + (symbol[t] == kY);
          where.push_back(t + 1);  // 1-based, as in the paper
          ++found;
        } else {
          EXPECT_LT(symbol[t], 4);  // a, b, c or d
        }
      }
      ASSERT_EQ(found, relevant);
      EXPECT_GE(where[0], 10);
      EXPECT_LE(where[0], 20);
      if (relevant == 2) {
        EXPECT_GE(where[1], 50);
        EXPECT_LE(where[1], 60);
      } else {
        EXPECT_GE(where[1], 33);
        EXPECT_LE(where[1], 43);
        EXPECT_GE(where[2], 66);
        EXPECT_LE(where[2], 76);
      }
      EXPECT_EQ(label, cls);
      for (int k = 0; k < s.num_outputs; ++k) {
        EXPECT_EQ(s.target(s.length - 1, k), k == cls ? 1.0 : 0.0);
      }
      EXPECT_EQ(s.has_target[s.length - 1], 1);
      EXPECT_EQ(s.has_target[s.length - 2], 0);
      ++counts[cls];
    }
    for (int c : counts) EXPECT_GT(c, 2000 / (1 << relevant) / 2);
  }
}

TEST(PaperTasksTest, LongLagSequencesEndWithTheirFirstSymbol) {
  const int64_t p = 100;
  for (int first : {0, 1}) {
    Sequence s = long_lag_sequence(first, p);
    ASSERT_EQ(s.length, p);
    ASSERT_EQ(s.num_inputs, p + 1);
    const int64_t edge = first == 0 ? p - 1 : p;  // x or y
    EXPECT_EQ(s.input(0, edge), 1.0);
    for (int64_t t = 1; t < p; ++t) EXPECT_EQ(s.input(t, t - 1), 1.0);   // a_1 .. a_{p-1}
    for (int64_t t = 0; t + 1 < p; ++t) EXPECT_EQ(s.target(t, t), 1.0);  // next is a_{t+1}
    EXPECT_EQ(s.target(p - 1, edge), 1.0);                               // the final x or y
    for (int64_t t = 0; t < p; ++t) {
      double row = 0.0;
      for (int64_t k = 0; k <= p; ++k) row += s.target(t, k);
      EXPECT_EQ(row, 1.0);
    }
  }
}

TEST(PaperTasksTest, ReberSequencePredictsTheNextSymbol) {
  Sequence s = reber_sequence("BTBPVVETE");
  ASSERT_EQ(s.length, 8);
  const std::string text = "BTBPVVETE";
  for (int64_t t = 0; t < s.length; ++t) {
    for (int k = 0; k < reber::kNumSymbols; ++k) {
      EXPECT_EQ(s.input(t, k), k == reber::symbol_index(text[t]) ? 1.0 : 0.0);
      EXPECT_EQ(s.target(t, k), k == reber::symbol_index(text[t + 1]) ? 1.0 : 0.0);
    }
  }
  Sequence legal = reber_sequence("BTBPVVETE", /*legal_targets=*/true);
  EXPECT_EQ(legal.target(0, reber::symbol_index('T')), 1.0);
  EXPECT_EQ(legal.target(0, reber::symbol_index('P')), 1.0);
  EXPECT_EQ(legal.target(0, reber::symbol_index('B')), 0.0);
}

}  // namespace
}  // namespace lstmnlp::paper
