#pragma once

// Reads lines from a stream in large blocks, keeping at most `max_line_bytes` of each line, so
// that a file without newlines cannot exhaust memory (lstm-sentiment predict's input).
//
//   LineReader reader(std::cin, /*max_line_bytes=*/1 << 20);
//   std::string line;
//   bool truncated = false;
//   while (reader.next(line, truncated)) use(line);

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace lstmnlp {

/// See the file comment.
class LineReader {
 public:
  LineReader(std::istream& in, size_t max_line_bytes);

  /// Reads the next line without its '\n' (and one '\r' before it); false at the end of input.
  /// A line longer than max_line_bytes keeps its first bytes, cut before any partial UTF-8
  /// character, and sets `truncated`.
  bool next(std::string& line, bool& truncated);

 private:
  bool fill();

  std::istream& in_;
  std::vector<char> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  size_t max_line_bytes_;
};

}  // namespace lstmnlp
