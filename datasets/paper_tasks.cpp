#include "datasets/paper_tasks.h"

#include <c10/util/Exception.h>

#include <cmath>

#include "datasets/reber.h"

namespace lstmnlp::paper {
namespace {

// Uniform integer in [lo, hi].
int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// The adding and multiplication sequences differ only in the value range, the value a marked
// first pair takes, and how X1 and X2 combine into the target.
template <class Combine>
Sequence marked_pair_sequence(std::mt19937_64& rng, int64_t min_length, double low,
                              double first_marked_value, Combine combine) {
  TORCH_CHECK(min_length >= 22, "marked-pair sequences need min_length >= 22, got ", min_length);
  const int64_t length = uniform(rng, min_length, min_length + min_length / 10);
  Sequence s(length, /*num_inputs=*/2, /*num_outputs=*/1);
  std::uniform_real_distribution<double> value(low, 1.0);
  for (int64_t t = 0; t < length; ++t) s.input(t, 0) = value(rng);

  const int64_t first = uniform(rng, 0, 9);
  // The first T/2 - 1 pairs that are still unmarked.
  std::vector<int64_t> unmarked;
  for (int64_t t = 0; static_cast<int64_t>(unmarked.size()) < min_length / 2 - 1; ++t) {
    if (t != first) unmarked.push_back(t);
  }
  const int64_t second = unmarked[uniform(rng, 0, static_cast<int64_t>(unmarked.size()) - 1)];

  s.input(0, 1) = -1.0;
  s.input(length - 1, 1) = -1.0;
  s.input(first, 1) = 1.0;
  s.input(second, 1) = 1.0;
  if (first == 0 || second == 0) s.input(0, 0) = first_marked_value;
  s.has_target[length - 1] = 1;
  s.target(length - 1, 0) = combine(s.input(first, 0), s.input(second, 0));
  return s;
}

// Experiments 2a and 2b: the p + 1 `symbols` of one sequence (one-hot over p + 1), each but the
// last an input whose target is the next.
Sequence next_symbol_sequence(const std::vector<int64_t>& symbols, int64_t p) {
  Sequence s(p, p + 1, p + 1);
  for (int64_t t = 0; t < p; ++t) {
    s.input(t, symbols[t]) = 1.0;
    s.target(t, symbols[t + 1]) = 1.0;
    s.has_target[t] = 1;
  }
  return s;
}

// Experiments 2c and 6: the one-hot `symbols` over `num_symbols` as inputs, and class `cls` of
// `classes`, one-hot, as the one target, at the last step.
Sequence last_step_class_sequence(const std::vector<int64_t>& symbols, int64_t num_symbols,
                                  int64_t classes, int64_t cls) {
  const auto length = static_cast<int64_t>(symbols.size());
  Sequence s(length, num_symbols, classes);
  for (int64_t t = 0; t < length; ++t) s.input(t, symbols[t]) = 1.0;
  s.has_target[length - 1] = 1;
  s.target(length - 1, cls) = 1.0;
  return s;
}

}  // namespace

Sequence::Sequence(int64_t length, int64_t num_inputs, int64_t num_outputs)
    : length(length),
      num_inputs(num_inputs),
      num_outputs(num_outputs),
      inputs(length * num_inputs, 0.0),
      targets(length * num_outputs, 0.0),
      has_target(length, 0) {}

Sequence reber_sequence(const std::string& s, bool legal_targets) {
  const std::vector<int> symbols = reber::encode(s);
  const std::vector<uint8_t> legal =
      legal_targets ? reber::legal_next(s) : std::vector<uint8_t>(s.size(), 0);
  TORCH_CHECK(s.size() >= 2, "Reber string '", s, "' is too short");
  Sequence seq(static_cast<int64_t>(s.size()) - 1, reber::kNumSymbols, reber::kNumSymbols);
  for (int64_t t = 0; t < seq.length; ++t) {
    seq.input(t, symbols[t]) = 1.0;
    seq.has_target[t] = 1;
    if (legal_targets) {
      for (int k = 0; k < reber::kNumSymbols; ++k) seq.target(t, k) = legal[t] >> k & 1u;
    } else {
      seq.target(t, symbols[t + 1]) = 1.0;
    }
  }
  return seq;
}

Sequence adding_sequence(std::mt19937_64& rng, int64_t min_length) {
  return marked_pair_sequence(rng, min_length, /*low=*/-1.0, /*first_marked_value=*/0.0,
                              [](double x1, double x2) { return 0.5 + (x1 + x2) / 4.0; });
}

Sequence multiplication_sequence(std::mt19937_64& rng, int64_t min_length) {
  return marked_pair_sequence(rng, min_length, /*low=*/0.0, /*first_marked_value=*/1.0,
                              [](double x1, double x2) { return x1 * x2; });
}

Sequence temporal_order_sequence(std::mt19937_64& rng, int relevant, int* label) {
  TORCH_CHECK(relevant == 2 || relevant == 3, "temporal order needs 2 or 3 relevant symbols, got ",
              relevant);
  constexpr int kX = 4, kY = 5, kE = 6, kB = 7;  // a, b, c, d are 0..3
  const int64_t length = uniform(rng, 100, 110);
  std::vector<int64_t> symbol(length);
  for (int64_t t = 1; t + 1 < length; ++t) symbol[t] = uniform(rng, 0, 3);
  symbol[0] = kE;
  symbol[length - 1] = kB;
  // 1-based windows [lo, hi] of the relevant positions.
  const int64_t windows[2][3][2] = {{{10, 20}, {50, 60}, {0, 0}}, {{10, 20}, {33, 43}, {66, 76}}};
  int cls = 0;
  for (int r = 0; r < relevant; ++r) {
    const auto& w = windows[relevant - 2][r];
    const int64_t t = uniform(rng, w[0], w[1]) - 1;
    const int is_y = static_cast<int>(uniform(rng, 0, 1));
    symbol[t] = is_y ? kY : kX;
    cls = cls * 2 + is_y;
  }
  if (label) *label = cls;
  return last_step_class_sequence(symbol, kTemporalOrderSymbols, int64_t{1} << relevant, cls);
}

Sequence long_lag_sequence(int first, int64_t p) {
  TORCH_CHECK(first == 0 || first == 1, "long_lag_sequence: first must be 0 (x) or 1 (y)");
  TORCH_CHECK(p >= 2, "long_lag_sequence: p must be >= 2, got ", p);
  const int64_t edge = p - 1 + first;  // x = p - 1, y = p
  std::vector<int64_t> symbol;
  symbol.push_back(edge);
  for (int64_t i = 0; i < p - 1; ++i) symbol.push_back(i);
  symbol.push_back(edge);
  return next_symbol_sequence(symbol, p);
}

Sequence long_lag_random_sequence(std::mt19937_64& rng, int64_t p, int* first) {
  TORCH_CHECK(p >= 2, "long_lag_random_sequence: p must be >= 2, got ", p);
  const int key = static_cast<int>(uniform(rng, 0, 1));
  const int64_t edge = p - 1 + key;  // x = p - 1, y = p
  std::vector<int64_t> symbol;
  symbol.push_back(edge);
  for (int64_t i = 0; i < p - 1; ++i) symbol.push_back(uniform(rng, 0, p - 2));
  symbol.push_back(edge);
  if (first) *first = key;
  return next_symbol_sequence(symbol, p);
}

Sequence very_long_lag_sequence(std::mt19937_64& rng, int64_t q, int64_t p, int* key) {
  TORCH_CHECK(q >= 0 && p >= 1, "very_long_lag_sequence: need q >= 0 and p >= 1, got q=", q,
              ", p=", p);
  const int64_t e = p, b = p + 1, x = p + 2;
  const int k = static_cast<int>(uniform(rng, 0, 1));
  std::vector<int64_t> symbol = {b, x + k};
  for (int64_t i = 0; i < q; ++i) symbol.push_back(uniform(rng, 0, p - 1));
  std::bernoulli_distribution trigger(0.1);
  while (!trigger(rng)) symbol.push_back(uniform(rng, 0, p - 1));
  symbol.push_back(e);
  if (key) *key = k;
  // The closing key is the target of the step that sees e, so it is not an input.
  return last_step_class_sequence(symbol, p + 4, 2, k);
}

double two_sequence_target(TwoSequenceVariant variant, int label) {
  TORCH_CHECK(label == 0 || label == 1, "two_sequence_target: label must be 0 or 1");
  if (variant == TwoSequenceVariant::k3c) return label == 0 ? 0.2 : 0.8;
  return label == 0 ? 1.0 : 0.0;
}

Sequence two_sequence(std::mt19937_64& rng, TwoSequenceVariant variant, int64_t min_length,
                      int64_t info, int* label) {
  TORCH_CHECK(info >= 1 && info < min_length, "two_sequence: need 1 <= info < min_length, got ",
              info, " and ", min_length);
  const int64_t length = uniform(rng, min_length, min_length + min_length / 10);
  const int cls = static_cast<int>(uniform(rng, 0, 1));
  std::normal_distribution<double> noise(0.0, std::sqrt(0.2));
  Sequence s(length, /*num_inputs=*/1, /*num_outputs=*/1);
  for (int64_t t = 0; t < length; ++t) {
    if (t < info) {
      s.input(t, 0) = cls == 0 ? 1.0 : -1.0;
      if (variant == TwoSequenceVariant::k3b) s.input(t, 0) += noise(rng);
    } else {
      s.input(t, 0) = noise(rng);
    }
  }
  s.has_target[length - 1] = 1;
  s.target(length - 1, 0) = two_sequence_target(variant, cls);
  if (variant == TwoSequenceVariant::k3c) {
    s.target(length - 1, 0) += std::normal_distribution<double>(0.0, std::sqrt(0.1))(rng);
  }
  if (label) *label = cls;
  return s;
}

}  // namespace lstmnlp::paper
