// The labelled-text readers of lstm-sentiment: TSV, CSV, JSONL and class files.
//
// Input: one byte choosing the format, then the file. For class files the rest is split at NUL
// bytes into the files class0.txt, class1.txt, ... of one directory. Whatever is read must then
// map to class indices, as training does.

#include <filesystem>

#include "datasets/labelled_text.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lstmnlp;
  if (size == 0) return 0;
  static const char* const kFormats[] = {"tsv", "csv", "jsonl", "class_files"};
  const std::string format = kFormats[data[0] % 4];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string path;
  if (format == "class_files") {
    const auto dir = fuzz::scratch_dir() / "classes";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto files = fuzz::split_at_nul(body);
    for (size_t i = 0; i < files.size() && i < 8; ++i) {
      fuzz::write_scratch("classes/class" + std::to_string(i) + ".txt", files[i]);
    }
    path = dir.string();
  } else {
    path = fuzz::write_scratch("data." + format, body);
  }
  LabeledDataFormat options;
  options.format = format;
  fuzz::refuse_or_accept([&] {
    ReadStats stats;
    const auto examples = read_labeled_data(path, options, &stats);
    fuzz::require(stats.records == static_cast<int64_t>(examples.size()), "records counted");
    for (const auto& e : examples) {
      fuzz::require(is_valid_utf8(e.text), "an accepted text is valid UTF-8");
      fuzz::require(!is_blank(e.text), "an accepted text is not blank");
      fuzz::require(e.line >= 1, "examples name their line");
    }
    const auto labels = LabelSet::from_examples(examples);
    for (const auto& e : examples) {
      const int64_t y = labels.index_of(e.label, e.source, e.line);
      fuzz::require(y >= 0 && y < labels.size(), "a label maps to a class");
    }
  });
  return 0;
}
