#include "datasets/reber.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "core/error.h"

namespace lstmnlp::reber {
namespace {

// The embedded grammar written out as its own automaton, independently of reber.cpp: states
// of the outer frame (O0 O1 / O6 O7) wrap a copy of the inner automaton per branch.
//   O0 -B-> O1;  O1 -T-> T0 | -P-> P0;  X0 ... X7 is the inner automaton of branch X,
//   T7 -T-> O6, P7 -P-> O6;  O6 -E-> ACC.
std::map<std::string, std::map<char, std::string>> embedded_automaton() {
  std::map<std::string, std::map<char, std::string>> a;
  a["O0"] = {{'B', "O1"}};
  a["O1"] = {{'T', "T0"}, {'P', "P0"}};
  for (const std::string x : {"T", "P"}) {
    a[x + "0"] = {{'B', x + "1"}};
    a[x + "1"] = {{'T', x + "2"}, {'P', x + "3"}};
    a[x + "2"] = {{'S', x + "2"}, {'X', x + "4"}};
    a[x + "3"] = {{'T', x + "3"}, {'V', x + "5"}};
    a[x + "4"] = {{'X', x + "3"}, {'S', x + "6"}};
    a[x + "5"] = {{'P', x + "4"}, {'V', x + "6"}};
    a[x + "6"] = {{'E', x + "7"}};
    a[x + "7"] = {{x[0], "O6"}};
  }
  a["O6"] = {{'E', "ACC"}};
  return a;
}

// Walks the hand-written automaton; returns the legal-next masks, or false when rejected.
bool walk(const std::string& s, std::vector<uint8_t>* legal) {
  static const auto a = embedded_automaton();
  std::string state = "O0";
  legal->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    auto it = a.find(state);
    if (it == a.end()) return false;
    auto next = it->second.find(s[i]);
    if (next == it->second.end()) return false;
    state = next->second;
    if (i + 1 < s.size() && state != "ACC") {
      uint8_t mask = 0;
      for (const auto& [symbol, _] : a.at(state)) mask |= uint8_t(1u << symbol_index(symbol));
      legal->push_back(mask);
    }
  }
  return state == "ACC";
}

TEST(ReberTest, GeneratorEmitsOnlyGrammaticalStrings) {
  std::mt19937_64 rng(11);
  std::set<std::string> distinct;
  for (int i = 0; i < 2000; ++i) {
    const std::string s = generate_embedded(rng);
    std::vector<uint8_t> expected;
    ASSERT_TRUE(walk(s, &expected)) << s;
    ASSERT_TRUE(is_embedded_reber(s)) << s;
    ASSERT_TRUE(is_reber(s.substr(2, s.size() - 4))) << s;
    distinct.insert(s);
  }
  EXPECT_GT(distinct.size(), 300u);  // a rich sample, not a few repeated strings
}

TEST(ReberTest, BranchesAreBalanced) {
  std::mt19937_64 rng(12);
  int t_branch = 0;
  for (int i = 0; i < 4000; ++i) t_branch += generate_embedded(rng)[1] == 'T';
  EXPECT_NEAR(t_branch / 4000.0, 0.5, 0.03);
}

TEST(ReberTest, LegalNextMatchesHandWrittenAutomaton) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 1000; ++i) {
    const std::string s = generate_embedded(rng);
    std::vector<uint8_t> expected;
    ASSERT_TRUE(walk(s, &expected));
    const std::vector<uint8_t> legal = legal_next(s);
    ASSERT_EQ(legal.size(), s.size() - 1) << s;
    EXPECT_EQ(legal, expected) << s;
    for (size_t t = 0; t + 1 < s.size(); ++t) {
      EXPECT_TRUE(legal[t] >> symbol_index(s[t + 1]) & 1u) << s << " at " << t;
    }
  }
}

TEST(ReberTest, LegalNextOfAKnownString) {
  // B T B P V V E T E: after B {T,P}; after T {B}; inner B {T,P}; P {T,V}; V {P,V}; V {E};
  // inner E {T}; T {E}.
  const auto m = [](const char* symbols) {
    uint8_t mask = 0;
    for (const char* c = symbols; *c; ++c) mask |= uint8_t(1u << symbol_index(*c));
    return mask;
  };
  const std::vector<uint8_t> expected = {m("TP"), m("B"), m("TP"), m("TV"),
                                         m("PV"), m("E"), m("T"),  m("E")};
  EXPECT_EQ(legal_next("BTBPVVETE"), expected);
}

TEST(ReberTest, RejectsUngrammaticalStrings) {
  for (const std::string s :
       {"", "BTBTXSETE", "BTBPVVEPE", "BTBTSSXSET", "TBTXSETE", "BTBTXSEPE", "BPBTXXVVEPEE",
        "BTBTSXSETEX", "BTBTQSETE", "BTBTXETE", "BTTXSETE", "BBTXSEBE"}) {
    const bool expected_ok = s == "BTBTXSETE";
    std::vector<uint8_t> unused;
    EXPECT_EQ(is_embedded_reber(s), expected_ok) << s;
    EXPECT_EQ(walk(s, &unused), expected_ok) << s;
    if (!expected_ok) {
      EXPECT_THROW(legal_next(s), InputError) << s;
    }
  }
  EXPECT_TRUE(is_reber("BTSSXXTVPSE"));
  EXPECT_FALSE(is_reber("BTSSXXVPXE"));  // X leads back to state 3, which cannot end
  EXPECT_FALSE(is_reber("BTSSXXTVPS"));  // no final E
  EXPECT_THROW(encode("BTQ"), InputError);
}

TEST(ReberTest, SuccessCriterionOnCraftedPredictions) {
  // Two positions: legal {T, P}, then legal {B}.
  const std::vector<uint8_t> legal = {0b0000110, 0b0000001};
  // B     T     P     S     X     V     E
  std::vector<double> good = {0.1, 0.6, 0.4, 0.2, 0.0, 0.0, 0.3,   // both legal above the rest
                              0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};  // B alone on top
  EXPECT_TRUE(legal_most_active(good.data(), 2, legal));

  std::vector<double> one_legal_low = good;
  one_legal_low[2] = 0.25;  // P (legal) below E (illegal, 0.3)
  EXPECT_FALSE(legal_most_active(one_legal_low.data(), 2, legal));

  std::vector<double> tie = good;
  tie[7 + 0] = 0.1;  // B ties with the illegal outputs
  EXPECT_FALSE(legal_most_active(tie.data(), 2, legal));

  std::vector<double> second_row_wrong = good;
  second_row_wrong[7 + 6] = 0.95;  // E above B
  EXPECT_FALSE(legal_most_active(second_row_wrong.data(), 2, legal));
  EXPECT_TRUE(legal_most_active(second_row_wrong.data(), 1, legal));  // only row 0 checked

  // Absolute size does not matter, only the ordering: tiny activations still pass.
  std::vector<double> small = {0.0, 0.02, 0.03, 0.01, 0.0, 0.0, 0.0, 0.002, 0, 0, 0, 0, 0, 0.001};
  EXPECT_TRUE(legal_most_active(small.data(), 2, legal));
}

}  // namespace
}  // namespace lstmnlp::reber
