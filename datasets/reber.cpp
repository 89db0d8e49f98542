#include "datasets/reber.h"

#include <c10/util/Exception.h>

#include <array>
#include <limits>

#include "core/error.h"

namespace lstmnlp::reber {
namespace {

constexpr int kAccept = 7;  // state after the inner E
constexpr int kReject = -1;

// One transition of the inner grammar: the state after reading `symbol` in `state`.
int inner_step(int state, char symbol) {
  switch (state) {
    case 0:
      return symbol == 'B' ? 1 : kReject;
    case 1:
      return symbol == 'T' ? 2 : symbol == 'P' ? 3 : kReject;
    case 2:
      return symbol == 'S' ? 2 : symbol == 'X' ? 4 : kReject;
    case 3:
      return symbol == 'T' ? 3 : symbol == 'V' ? 5 : kReject;
    case 4:
      return symbol == 'X' ? 3 : symbol == 'S' ? 6 : kReject;
    case 5:
      return symbol == 'P' ? 4 : symbol == 'V' ? 6 : kReject;
    case 6:
      return symbol == 'E' ? kAccept : kReject;
    default:
      return kReject;
  }
}

// The two symbols that may leave each non-final state (one for states 0 and 6).
constexpr std::array<const char*, 7> kInnerChoices = {"B", "TP", "SX", "TV", "XS", "PV", "E"};

uint8_t mask_of(const char* symbols) {
  uint8_t mask = 0;
  for (const char* c = symbols; *c; ++c) mask |= static_cast<uint8_t>(1u << symbol_index(*c));
  return mask;
}

}  // namespace

int symbol_index(char symbol) {
  for (int k = 0; k < kNumSymbols; ++k) {
    if (kAlphabet[k] == symbol) return k;
  }
  return -1;
}

std::vector<int> encode(const std::string& s) {
  std::vector<int> out;
  out.reserve(s.size());
  for (char c : s) {
    const int k = symbol_index(c);
    if (k < 0) throw InputError("Reber string '" + s + "': symbol '" + c + "' is not in BTPSXVE");
    out.push_back(k);
  }
  return out;
}

std::string generate(std::mt19937_64& rng) {
  std::bernoulli_distribution coin(0.5);
  std::string s;
  int state = 0;
  while (state != kAccept) {
    const char* choices = kInnerChoices[state];
    const char symbol = choices[1] != '\0' && coin(rng) ? choices[1] : choices[0];
    s.push_back(symbol);
    state = inner_step(state, symbol);
  }
  return s;
}

std::string generate_embedded(std::mt19937_64& rng) {
  std::bernoulli_distribution coin(0.5);
  const char branch = coin(rng) ? 'P' : 'T';
  return std::string("B") + branch + generate(rng) + branch + "E";
}

bool is_reber(const std::string& s) {
  int state = 0;
  for (char c : s) {
    state = inner_step(state, c);
    if (state == kReject) return false;
  }
  return state == kAccept;
}

bool is_embedded_reber(const std::string& s) {
  if (s.size() < 4 || s[0] != 'B' || s.back() != 'E') return false;
  const char branch = s[1];
  if ((branch != 'T' && branch != 'P') || s[s.size() - 2] != branch) return false;
  return is_reber(s.substr(2, s.size() - 4));
}

std::vector<uint8_t> legal_next(const std::string& s) {
  if (!is_embedded_reber(s)) throw InputError("'" + s + "' is not an embedded Reber string");
  std::vector<uint8_t> legal;
  legal.reserve(s.size() - 1);
  legal.push_back(mask_of("TP"));  // after the outer B
  legal.push_back(mask_of("B"));   // after the outer T or P
  int state = 0;
  for (size_t i = 2; i + 2 < s.size(); ++i) {
    state = inner_step(state, s[i]);
    legal.push_back(state == kAccept ? mask_of(std::string(1, s[1]).c_str())
                                     : mask_of(kInnerChoices[state]));
  }
  legal.push_back(mask_of("E"));  // after the repeated T or P
  return legal;
}

bool legal_most_active(const double* outputs, int64_t rows, const std::vector<uint8_t>& legal) {
  TORCH_CHECK(rows >= 0 && rows <= static_cast<int64_t>(legal.size()), "legal_most_active: ", rows,
              " rows but ", legal.size(), " legal-next masks");
  for (int64_t i = 0; i < rows; ++i) {
    double min_legal = std::numeric_limits<double>::infinity();
    double max_illegal = -std::numeric_limits<double>::infinity();
    for (int k = 0; k < kNumSymbols; ++k) {
      const double y = outputs[i * kNumSymbols + k];
      if (legal[i] >> k & 1u) {
        min_legal = std::min(min_legal, y);
      } else {
        max_illegal = std::max(max_illegal, y);
      }
    }
    if (!(min_legal > max_illegal)) return false;
  }
  return true;
}

}  // namespace lstmnlp::reber
