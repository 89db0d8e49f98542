#include "core/line_reader.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace lstmnlp {
namespace {

struct Line {
  std::string text;
  bool truncated;
};

std::vector<Line> read_lines(const std::string& stream, size_t limit) {
  std::istringstream in(stream);
  LineReader reader(in, limit);
  std::vector<Line> lines;
  std::string line;
  bool truncated = false;
  while (reader.next(line, truncated)) lines.push_back({line, truncated});
  return lines;
}

TEST(LineReader, SplitsAtNewlinesAndDropsOneCarriageReturn) {
  const auto lines = read_lines("a good film\r\n\nan awful plot\r\r\nlast", 64);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text, "a good film");
  EXPECT_EQ(lines[1].text, "");
  EXPECT_EQ(lines[2].text, "an awful plot\r");
  EXPECT_EQ(lines[3].text, "last");
  for (const auto& line : lines) EXPECT_FALSE(line.truncated);
  EXPECT_TRUE(read_lines("", 64).empty());
}

TEST(LineReader, CutsLongLinesBeforeAPartialCharacter) {
  // "café" is 5 bytes; a limit of 4 would cut the two-byte é in half.
  const auto lines = read_lines("caf\xC3\xA9 au lait\nok\n", 4);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "caf");
  EXPECT_TRUE(lines[0].truncated);
  EXPECT_EQ(lines[1].text, "ok");
  EXPECT_FALSE(lines[1].truncated);
}

// Found by fuzz_line_reader: the last line of a stream without a final newline kept its '\r',
// and when cut, kept the leading bytes of a partial character (which predict then reported as
// invalid UTF-8 rather than truncated).
TEST(LineReader, TheLastLineWithoutANewlineIsTreatedAsAnyOther) {
  auto lines = read_lines(std::string("l,st\x88ul plo\xa7\x07\x7f\0\0lm \nnt\r", 23), 43);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, std::string("l,st\x88ul plo\xa7\x07\x7f\0\0lm ", 19));
  EXPECT_EQ(lines[1].text, "nt");
  lines = read_lines("caf\xC3\xA9", 4);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "caf");
  EXPECT_TRUE(lines[0].truncated);
}

}  // namespace
}  // namespace lstmnlp
