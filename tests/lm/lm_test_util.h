#pragma once

// Helpers shared by the tests of lm/: tiny corpora and configs (and, from tests/test_util.h,
// temporary folders).

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "models/lm/lm_config.h"
#include "tests/test_util.h"

namespace lstmnlp::lm::testing {

namespace fs = std::filesystem;

using lstmnlp::test::input_error_of;
using lstmnlp::test::TempDir;

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// `lines` lines of 3 to 8 words from the first `vocab` of a fixed word list: a seeded Markov
/// chain where each word is one or two places after the previous one, so a model can learn it.
inline std::string random_text(int lines, int vocab, unsigned seed) {
  static const std::vector<std::string> words = {"the", "cat", "sat", "on",  "a",   "mat", "dog",
                                                 "ran", "to",  "big", "red", "old", "new", "man"};
  std::mt19937 rng(seed);
  std::string text;
  for (int i = 0; i < lines; ++i) {
    const int n = 3 + static_cast<int>(rng() % 6);
    size_t w = rng() % vocab;
    for (int j = 0; j < n; ++j, w = (w + 1 + rng() % 2) % vocab) text += (j ? " " : "") + words[w];
    text += "\n";
  }
  return text;
}

/// Writes train/valid/test.txt of a tiny random corpus into `dir` and returns a small config
/// for it (2 layers of 16 units, batch 4, bptt 5, Adam).
inline LmConfig tiny_config(const TempDir& dir, unsigned seed = 1) {
  write_file(dir / "train.txt", random_text(60, 12, seed));
  write_file(dir / "valid.txt", random_text(10, 12, seed + 1));
  // One word of the test text is not in the training text.
  write_file(dir / "test.txt", random_text(10, 12, seed + 2) + "the zebra cat\n");
  LmConfig cfg;
  cfg.data.dir = dir.path().string();
  cfg.data.batch_size = 4;
  cfg.data.bptt = 5;
  cfg.data.eval_batch_size = 2;
  cfg.model.embedding_size = 16;
  cfg.model.hidden_size = 16;
  cfg.model.num_layers = 2;
  cfg.train.base.opt.optimizer = Optimizer::kAdam;
  cfg.train.base.opt.lr = 0.02;
  cfg.train.base.loop.epochs = 3;
  cfg.train.base.loop.clip_norm = 5;
  cfg.train.base.loop.log_every = 5;
  return cfg;
}

}  // namespace lstmnlp::lm::testing
