#pragma once

// Sequence generators for the experiments of Hochreiter & Schmidhuber (1997), "Long Short-Term
// Memory", Neural Computation 9(8).
//
//   std::mt19937_64 rng(seed);
//   lstmnlp::paper::Sequence s = lstmnlp::paper::adding_sequence(rng, /*min_length=*/100);
//   // s.inputs is (s.length, 2); the target sits at the last step only.
//
// Every generator is deterministic given the state of `rng`. Positions in the comments are
// 1-based, as in the paper; the vectors are 0-based.
//
// Deviations from the paper, where its text leaves a choice open:
// - Temporal order: the one-hot input order is a, b, c, d, X, Y, E, B; class k is the binary
//   number of the relevant symbols (X = 0, Y = 1, first symbol most significant), so 6a's Q, R,
//   S, U are classes 0..3 and 6b's Q, R, S, U, V, A, B, C are classes 0..7.
// - Long time lag 2a: symbols a_1..a_{p-1} are indices 0..p-2, x is p-1 and y is p; the net
//   sees every symbol but the last and has a next-symbol target at every step (2b likewise).
// - Very long time lags 2c: the paper's formula bounds the distractor indices by q; its text
//   (a_1, ..., a_p are the distractors) is followed here, so they are uniform over all p.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lstmnlp::paper {

/// One sequence: `inputs` is (length, num_inputs) and `targets` (length, num_outputs), both
/// row-major; an error signal exists at step t only where has_target[t] is 1.
struct Sequence {
  int64_t length = 0;
  int64_t num_inputs = 0;
  int64_t num_outputs = 0;
  std::vector<double> inputs;
  std::vector<double> targets;
  std::vector<uint8_t> has_target;

  /// An all-zero sequence with no targets.
  Sequence(int64_t length, int64_t num_inputs, int64_t num_outputs);
  Sequence() = default;

  double& input(int64_t t, int64_t i) { return inputs[t * num_inputs + i]; }
  double& target(int64_t t, int64_t k) { return targets[t * num_outputs + k]; }
};

/// Embedded Reber string `s` as a next-symbol prediction sequence (experiment 1): s.size() - 1
/// steps, the one-hot input s[t] and the one-hot target s[t+1] at each. With `legal_targets`
/// the target is instead the set of legal next symbols (all 1), a variant the paper does not use.
Sequence reber_sequence(const std::string& s, bool legal_targets = false);

/// Adding problem (experiment 4). Each step is a pair (value in [-1, 1], marker in {-1, 0, 1}).
/// The length is uniform in [T, T + T/10]. One of the first ten pairs is marked (X1), then one
/// of the first T/2 - 1 still unmarked pairs (X2); the first and last pairs carry marker -1
/// unless marked; when the first pair is marked (the paper's X1 case), its value is 0. The single
/// target, at the last step, is 0.5 + (X1 + X2) / 4.
Sequence adding_sequence(std::mt19937_64& rng, int64_t min_length);

/// Multiplication problem (experiment 5): as adding_sequence, but the values are in [0, 1], the
/// target is X1 * X2, and a marked first pair gets the value 1.
Sequence multiplication_sequence(std::mt19937_64& rng, int64_t min_length);

/// Temporal order (experiment 6) with `relevant` = 2 (6a) or 3 (6b) relevant symbols. The
/// length is uniform in [100, 110]; the sequence starts with E and ends with B; the relevant X or
/// Y symbols sit at t1 in [10, 20] and t2 in [50, 60] (6a), or t1 in [10, 20], t2 in [33, 43],
/// t3 in [66, 76] (6b); all others are uniform over a, b, c, d. 8 one-hot inputs; 2^relevant
/// one-hot outputs with the class as the target at the last step. `label` receives the class.
Sequence temporal_order_sequence(std::mt19937_64& rng, int relevant, int* label = nullptr);

/// Noise-free long time lag (experiment 2a): the sequence (x, a_1, ..., a_{p-1}, x) when `first`
/// is 0 and (y, a_1, ..., a_{p-1}, y) when it is 1, with p + 1 one-hot inputs and outputs;
/// p steps, each with the next symbol as target.
Sequence long_lag_sequence(int first, int64_t p);

/// No local regularities (experiment 2b): as long_lag_sequence, but the p - 1 middle symbols
/// are drawn uniformly from a_1, ..., a_{p-1}, and the first (and last) symbol is x or y with
/// probability 0.5 each; `first` receives 0 (x) or 1 (y). Every step has the next symbol as
/// target, though only the last one is predictable.
Sequence long_lag_random_sequence(std::mt19937_64& rng, int64_t p, int* first = nullptr);

/// Very long time lags (experiment 2c): the symbols (b, k, a_i1, ..., a_i(q+m), e, k), where the
/// key k is x or y with probability 0.5 each, the first q distractors a_i are uniform over
/// a_1, ..., a_p, and then each further symbol is a distractor with probability 9/10 or e with
/// probability 1/10, after which the key closes the sequence. One-hot inputs over p + 4
/// symbols: a_1, ..., a_p are 0..p-1, then e = p, b = p + 1, x = p + 2 and y = p + 3. The net
/// sees every symbol but the last; its 2 outputs have a target at the last step only (the step
/// that sees e), the key one-hot (x: output 0, y: output 1). `key` receives 0 (x) or 1 (y).
Sequence very_long_lag_sequence(std::mt19937_64& rng, int64_t q, int64_t p, int* key = nullptr);

/// Experiment 3's variants: 3a, noise-free information; 3b, noise on the information too; 3c,
/// targets 0.2 and 0.8 with noise on the target.
enum class TwoSequenceVariant { k3a, k3b, k3c };

/// Noise and signal on the same channel (experiment 3, Bengio et al.'s 2-sequence problem): one
/// input line, the length uniform in [T, T + T/10]. Class 1 (`label` 0) and class 2 (`label` 1)
/// are equally likely; the first `info` elements are +1 (class 1) or -1 (class 2), plus Gaussian
/// noise of mean 0 and variance 0.2 in 3b; every later element is Gaussian noise of mean 0 and
/// variance 0.2. The one target, at the last step, is two_sequence_target() of the class, plus
/// Gaussian noise of mean 0 and variance 0.1 in 3c.
Sequence two_sequence(std::mt19937_64& rng, TwoSequenceVariant variant, int64_t min_length,
                      int64_t info, int* label = nullptr);

/// The noise-free target of class `label` (0 or 1): 1.0 and 0.0 in 3a and 3b, 0.2 and 0.8 in 3c.
double two_sequence_target(TwoSequenceVariant variant, int label);

/// Number of symbols of temporal_order_sequence's inputs.
inline constexpr int kTemporalOrderSymbols = 8;

}  // namespace lstmnlp::paper
