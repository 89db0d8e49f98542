#pragma once

// The (embedded) Reber grammar of Hochreiter & Schmidhuber (1997), experiment 1.
//
//   std::mt19937_64 rng(7);
//   std::string s = lstmnlp::reber::generate_embedded(rng);  // e.g. "BTBPVVETE"
//   std::vector<uint8_t> legal = lstmnlp::reber::legal_next(s);
//   // legal[i] has bit k set when symbol k may follow s[0..i]; legal.size() == s.size() - 1.
//
// Invariant: every string that generate_embedded() returns satisfies is_embedded_reber(), and
// for every i its symbol s[i+1] is in legal[i].
//
// The inner Reber grammar (Reber 1967, as drawn in the paper's figure 5):
//
//   0 -B-> 1;  1 -T-> 2 | -P-> 3;  2 -S-> 2 | -X-> 4;  3 -T-> 3 | -V-> 5;
//   4 -X-> 3 | -S-> 6;  5 -P-> 4 | -V-> 6;  6 -E-> accept
//
// The embedded grammar is B, T or P, an inner Reber string, the same T or P, E. Each branch is
// taken with probability 0.5.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lstmnlp::reber {

/// Number of symbols; inputs and outputs are one-hot vectors of this size.
inline constexpr int kNumSymbols = 7;
/// The symbols in one-hot order: B=0, T=1, P=2, S=3, X=4, V=5, E=6.
inline constexpr char kAlphabet[] = "BTPSXVE";

/// The one-hot index of `symbol`, or -1 when it is not in kAlphabet.
int symbol_index(char symbol);

/// The indices of `s`'s symbols. Throws InputError for a character outside kAlphabet.
std::vector<int> encode(const std::string& s);

/// A random inner Reber string (starts with B, ends with E).
std::string generate(std::mt19937_64& rng);

/// A random embedded Reber string.
std::string generate_embedded(std::mt19937_64& rng);

/// Whether `s` is a complete inner Reber string.
bool is_reber(const std::string& s);

/// Whether `s` is a complete embedded Reber string.
bool is_embedded_reber(const std::string& s);

/// Legal next symbols after each proper prefix of an embedded Reber string: element i is a
/// bit mask (bit k = symbol k) of the symbols that may follow s[0..i]; size s.size() - 1.
/// Throws InputError when `s` is not a grammatical embedded Reber string.
std::vector<uint8_t> legal_next(const std::string& s);

/// The paper's success criterion at every position of one string: for each row i of
/// `outputs` ((rows, kNumSymbols), row-major), the smallest output among the legal symbols of
/// legal[i] is greater than the largest output among the other symbols. `rows` is at most
/// legal.size().
bool legal_most_active(const double* outputs, int64_t rows, const std::vector<uint8_t>& legal);

}  // namespace lstmnlp::reber
