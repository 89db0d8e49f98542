#include "datasets/paper_tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

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

// The one symbol of row t of a one-hot matrix with `n` columns (-1 if not exactly one).
int64_t symbol_at(const std::vector<double>& m, int64_t n, int64_t t) {
  int64_t found = -1;
  for (int64_t k = 0; k < n; ++k) {
    if (m[t * n + k] == 1.0) {
      if (found >= 0) return -1;
      found = k;
    } else if (m[t * n + k] != 0.0) {
      return -1;
    }
  }
  return found;
}

TEST(PaperTasksTest, LongLag2bHasARandomMiddleBetweenEqualEnds) {
  std::mt19937_64 rng(24);
  const int64_t p = 20;
  int keys[2] = {0, 0};
  std::vector<int> seen_middle(p - 1, 0);
  for (int i = 0; i < 400; ++i) {
    int first = -1;
    Sequence s = long_lag_random_sequence(rng, p, &first);
    ASSERT_TRUE(first == 0 || first == 1);
    ++keys[first];
    ASSERT_EQ(s.length, p);
    ASSERT_EQ(s.num_inputs, p + 1);
    ASSERT_EQ(s.num_outputs, p + 1);
    EXPECT_EQ(symbol_at(s.inputs, p + 1, 0), p - 1 + first);       // x = p - 1, y = p
    EXPECT_EQ(symbol_at(s.targets, p + 1, p - 1), p - 1 + first);  // the same at the end
    for (int64_t t = 1; t < p; ++t) {
      const int64_t a = symbol_at(s.inputs, p + 1, t);
      ASSERT_GE(a, 0);
      ASSERT_LT(a, p - 1);  // a_1 .. a_{p-1} only
      ++seen_middle[a];
      EXPECT_EQ(symbol_at(s.targets, p + 1, t - 1), a);  // the target is the next input
    }
    for (int64_t t = 0; t < p; ++t) EXPECT_EQ(s.has_target[t], 1);
  }
  EXPECT_GT(keys[0], 150);
  EXPECT_GT(keys[1], 150);
  for (int count : seen_middle) EXPECT_GT(count, 0);  // every a_i occurs: a random middle
}

TEST(PaperTasksTest, VeryLongLag2cFollowsThePaper) {
  std::mt19937_64 rng(25);
  const int64_t q = 30, p = 10;
  const int64_t e = p, b = p + 1, x = p + 2;
  double extra = 0.0;
  const int n = 3000;
  int64_t shortest = 1 << 30;
  for (int i = 0; i < n; ++i) {
    int key = -1;
    Sequence s = very_long_lag_sequence(rng, q, p, &key);
    ASSERT_TRUE(key == 0 || key == 1);
    ASSERT_EQ(s.num_inputs, p + 4);
    ASSERT_EQ(s.num_outputs, 2);
    // b, the key, at least q distractors, e: the closing key is the last step's target.
    ASSERT_GE(s.length, q + 3);
    shortest = std::min(shortest, s.length);
    EXPECT_EQ(symbol_at(s.inputs, p + 4, 0), b);
    EXPECT_EQ(symbol_at(s.inputs, p + 4, 1), x + key);
    EXPECT_EQ(symbol_at(s.inputs, p + 4, s.length - 1), e);
    for (int64_t t = 2; t + 1 < s.length; ++t) {
      const int64_t a = symbol_at(s.inputs, p + 4, t);
      ASSERT_GE(a, 0);
      ASSERT_LT(a, p);  // distractors only between the key and e
    }
    for (int64_t t = 0; t < s.length; ++t) EXPECT_EQ(s.has_target[t], t == s.length - 1);
    EXPECT_EQ(s.target(s.length - 1, key), 1.0);
    EXPECT_EQ(s.target(s.length - 1, 1 - key), 0.0);
    extra += static_cast<double>(s.length - (q + 3));
  }
  EXPECT_EQ(shortest, q + 3);  // no extra distractor happens (probability 1/10 each time)
  // Extra distractors: each is followed by another with probability 9/10, so 9 on average
  // (standard error 0.17 here).
  EXPECT_NEAR(extra / n, 9.0, 0.7);
}

TEST(PaperTasksTest, TwoSequenceNoiseAndTargetsFollowThePaper) {
  for (auto variant : {TwoSequenceVariant::k3a, TwoSequenceVariant::k3b, TwoSequenceVariant::k3c}) {
    std::mt19937_64 rng(26);
    const int64_t T = 100, N = 3;
    double noise_sum = 0, noise_sq = 0, info_sq = 0, target_sq[2] = {0, 0};
    int64_t noise_n = 0, info_n = 0, class_n[2] = {0, 0};
    for (int i = 0; i < 2000; ++i) {
      int label = -1;
      Sequence s = two_sequence(rng, variant, T, N, &label);
      ASSERT_TRUE(label == 0 || label == 1);
      ++class_n[label];
      ASSERT_GE(s.length, T);
      ASSERT_LE(s.length, T + T / 10);
      ASSERT_EQ(s.num_inputs, 1);
      ASSERT_EQ(s.num_outputs, 1);
      const double sign = label == 0 ? 1.0 : -1.0;
      for (int64_t t = 0; t < s.length; ++t) {
        EXPECT_EQ(s.has_target[t], t == s.length - 1);
        const double v = s.input(t, 0);
        if (t < N) {
          if (variant == TwoSequenceVariant::k3b) {
            info_sq += (v - sign) * (v - sign);
            ++info_n;
          } else {
            ASSERT_EQ(v, sign);  // noise-free information in 3a and 3c
          }
        } else {
          noise_sum += v;
          noise_sq += v * v;
          ++noise_n;
        }
      }
      const double clean = two_sequence_target(variant, label);
      const double dt = s.target(s.length - 1, 0) - clean;
      if (variant == TwoSequenceVariant::k3c) {
        target_sq[label] += dt * dt;
      } else {
        EXPECT_EQ(dt, 0.0);
      }
    }
    EXPECT_GT(class_n[0], 850);
    EXPECT_GT(class_n[1], 850);
    EXPECT_NEAR(noise_sum / noise_n, 0.0, 0.01);
    EXPECT_NEAR(noise_sq / noise_n, 0.2, 0.01);  // variance 0.2
    if (variant == TwoSequenceVariant::k3b) {
      EXPECT_NEAR(info_sq / info_n, 0.2, 0.02);
    }
    if (variant == TwoSequenceVariant::k3c) {
      EXPECT_NEAR((target_sq[0] + target_sq[1]) / 2000.0, 0.1, 0.01);  // variance 0.1
    }
  }
  EXPECT_EQ(two_sequence_target(TwoSequenceVariant::k3a, 0), 1.0);
  EXPECT_EQ(two_sequence_target(TwoSequenceVariant::k3b, 1), 0.0);
  EXPECT_EQ(two_sequence_target(TwoSequenceVariant::k3c, 0), 0.2);
  EXPECT_EQ(two_sequence_target(TwoSequenceVariant::k3c, 1), 0.8);
}

}  // namespace
}  // namespace lstmnlp::paper
