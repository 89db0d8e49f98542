#include "core/line_reader.h"

#include <algorithm>
#include <cstring>

namespace lstmnlp {
namespace {

// A cut may split a multi-byte character; drop its leading bytes.
void drop_partial_character(std::string& line) {
  size_t i = line.size();
  size_t continuation = 0;
  while (i > 0 && (static_cast<unsigned char>(line[i - 1]) & 0xC0) == 0x80 && continuation < 3) {
    --i;
    ++continuation;
  }
  if (i == 0) return;
  const auto lead = static_cast<unsigned char>(line[i - 1]);
  const size_t expected = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (lead >= 0xC0 && continuation < expected) line.resize(i - 1);
}

}  // namespace

LineReader::LineReader(std::istream& in, size_t max_line_bytes)
    : in_(in), buffer_(1 << 20), max_line_bytes_(max_line_bytes) {}

bool LineReader::next(std::string& line, bool& truncated) {
  line.clear();
  truncated = false;
  bool any = false;
  while (true) {
    if (pos_ == end_ && !fill()) {
      if (!any) return false;
      break;  // the last line, without a newline
    }
    any = true;
    const char* start = buffer_.data() + pos_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    const size_t n = newline ? static_cast<size_t>(newline - start) : end_ - pos_;
    const size_t room = max_line_bytes_ - std::min(max_line_bytes_, line.size());
    if (n > room) truncated = true;
    line.append(start, std::min(n, room));
    if (newline) {
      pos_ += n + 1;
      break;
    }
    pos_ = end_;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (truncated) drop_partial_character(line);
  return true;
}

bool LineReader::fill() {
  if (eof_) return false;
  const auto got = in_.rdbuf()->sgetn(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  pos_ = 0;
  end_ = got > 0 ? static_cast<size_t>(got) : 0;
  if (end_ == 0) eof_ = true;
  return end_ > 0;
}

}  // namespace lstmnlp
