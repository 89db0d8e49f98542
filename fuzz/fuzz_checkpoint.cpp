// The checkpoint loader, as `lstm-lm eval --checkpoint FILE` uses it: the zip container, the
// metadata, the stored config (which sizes the model), the vocabulary and every tensor's
// checksum and shape. Mutations of a real small checkpoint are the seeds.
//
// With LSTMNLP_FUZZ_WRITE_SEED=DIR the harness instead trains a tiny LM for a few steps and
// writes its latest.pt into DIR (scripts/fuzz.sh does this to seed the corpus), then exits.

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fuzz/fuzz_util.h"
#include "models/lm/lm_app.h"

namespace {

using namespace lstmnlp;

void write_seed(const std::filesystem::path& out) {
  const auto dir = fuzz::scratch_dir() / "seed";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "train.txt") << "the cat sat on the mat\na dog ate the cat\nthe end\n";
  std::ofstream(dir / "valid.txt") << "the dog sat\n";
  std::ofstream(dir / "test.txt") << "a cat ate\n";
  lm::LmConfig cfg;
  cfg.data.dir = dir.string();
  cfg.data.batch_size = 2;
  cfg.data.bptt = 3;
  cfg.data.eval_batch_size = 1;
  cfg.model.embedding_size = 4;
  cfg.model.hidden_size = 4;
  cfg.train.base.loop.max_steps = 2;
  lm::LmTrainOptions options;
  options.run_dir = (dir / "run").string();
  options.test_after = false;
  std::ostringstream log;
  lm::run_lm_train(cfg, options, log);
  std::filesystem::create_directories(out);
  std::filesystem::copy_file(dir / "run" / "latest.pt", out / "latest.pt",
                             std::filesystem::copy_options::overwrite_existing);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  torch::set_num_threads(1);
  if (const char* out = std::getenv("LSTMNLP_FUZZ_WRITE_SEED")) {
    write_seed(out);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      fuzz::write_scratch("checkpoint.pt", {reinterpret_cast<const char*>(data), size});
  fuzz::refuse_or_accept([&] {
    auto loaded = lm::load_lm(path);
    fuzz::require(loaded.vocab.size() >= 2, "a loaded vocabulary has <eos> and <unk>");
  });
  return 0;
}
