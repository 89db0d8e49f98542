// lstm-sentiment predict's line reader.
//
// Input: one byte (the line limit, 1-64 bytes), then the stream. Every line comes back without
// its newline; a line over the limit is cut to at most the limit and marked truncated; and when
// nothing is truncated the lines joined by newlines give back the stream (less one '\r' per line
// ending and the last newline).

#include <sstream>

#include "core/line_reader.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lstmnlp;
  if (size == 0) return 0;
  const size_t limit = 1 + data[0] % 64;
  const std::string stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::istringstream in(stream);
  LineReader reader(in, limit);
  std::string line;
  bool truncated = false;
  bool any_truncated = false;
  std::string joined;
  size_t lines = 0;
  while (reader.next(line, truncated)) {
    fuzz::require(line.find('\n') == std::string::npos, "a line holds no newline");
    fuzz::require(line.size() <= limit, "a line keeps at most the limit");
    any_truncated |= truncated;
    if (lines++ > 0) joined += '\n';
    joined += line;
    fuzz::require(lines <= stream.size() + 1, "no more lines than bytes");
  }
  if (!any_truncated) {
    std::string expected;
    std::istringstream again(stream);
    size_t expected_lines = 0;
    for (std::string l; std::getline(again, l);) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
      if (expected_lines++ > 0) expected += '\n';
      expected += l;
    }
    fuzz::require(expected_lines == lines, "as many lines as std::getline");
    fuzz::require(joined == expected, "the lines give back the stream");
  }
  return 0;
}
