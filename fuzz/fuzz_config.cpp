// The YAML config loader of every app, and the --set parser.
//
// Input: a config file's text, then optionally NUL and one --set override per NUL-separated
// part. The file goes through load_node (duplicate keys, alias bombs, nesting, ${ENV}), the
// overrides through the --set parser, and the result through each app's config reader, as
// `lstm-* train --config FILE --set ...` does; the file's text also goes through
// from_yaml_text, as a checkpoint's stored config does.

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/config.h"
#include "fuzz/fuzz_util.h"
#include "models/bench/bench_config.h"
#include "models/lm/lm_config.h"
#include "models/paper/paper_config.h"
#include "models/qa/qa_config.h"
#include "models/sentiment/sentiment_config.h"

namespace {

using namespace lstmnlp;

template <class T>
void read_as(const YAML::Node& node, const std::string& file) {
  std::optional<T> cfg;
  try {
    cfg = config::from_node<T>(node, file);
  } catch (const InputError&) {
    return;
  }
  // What was accepted must read back from the resolved YAML that runs and checkpoints store.
  try {
    config::from_yaml_text<T>(config::to_yaml(*cfg), "resolved");
  } catch (const InputError& e) {
    std::fprintf(stderr, "an accepted config does not read back: %s\n", e.what());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_at_nul({reinterpret_cast<const char*>(data), size});
  const std::string file = fuzz::write_scratch("config.yaml", parts[0]);
  const std::vector<std::string> sets(parts.begin() + 1, parts.end());
  YAML::Node node;
  try {
    node = config::load_node(file, sets);
  } catch (const InputError&) {
    return 0;
  }
  read_as<lm::LmConfig>(node, file);
  read_as<sentiment::SentimentConfig>(node, file);
  read_as<qa::QaConfig>(node, file);
  read_as<bench::BenchConfig>(node, file);
  read_as<paper::ReberConfig>(node, file);
  read_as<paper::AddingConfig>(node, file);
  fuzz::refuse_or_accept([&] { config::from_yaml_text<lm::LmConfig>(parts[0], "checkpoint"); });
  return 0;
}
