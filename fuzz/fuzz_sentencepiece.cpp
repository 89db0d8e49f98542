// The SentencePiece model loader (a .model file, or the bytes a checkpoint stores), and what is
// done with a model once loaded: encoding with byte offsets and decoding.
//
// With LSTMNLP_FUZZ_WRITE_SEED=DIR the harness instead trains a small model and writes its bytes
// into DIR (scripts/fuzz.sh does this to seed the corpus), then exits.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz/fuzz_util.h"
#include "tokenization/sentencepiece_tokenizer.h"

namespace {

using namespace lstmnlp;

void write_seed(const std::filesystem::path& out) {
  const auto dir = fuzz::scratch_dir() / "seed";
  std::filesystem::create_directories(dir);
  {
    std::ofstream text(dir / "text.txt");
    for (int i = 0; i < 50; ++i) {
      text << "the quick brown fox jumps over the lazy dog " << i << "\n"
           << "ünïcödé wörds and ¿punctuation? 東京\n";
    }
  }
  TokenizerTrainOptions options;
  options.input_files = {(dir / "text.txt").string()};
  options.model_prefix = (dir / "spm").string();
  options.vocab_size = 52;  // this text needs 49 pieces (its characters) and allows 53
  options.character_coverage = 1.0;
  const auto tokenizer = SentencePieceTokenizer::train(options);
  std::filesystem::create_directories(out);
  tokenizer.save((out / "spm.model").string());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (const char* out = std::getenv("LSTMNLP_FUZZ_WRITE_SEED")) {
    write_seed(out);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::refuse_or_accept([&] {
    const auto tokenizer = SentencePieceTokenizer::load_from_serialized(
        std::string(reinterpret_cast<const char*>(data), size));
    const std::string text = "The quick fox, ünïcödé 東京 42.";
    const auto ids = tokenizer.encode(text);
    for (int id : ids) {
      fuzz::require(id >= 0 && id < tokenizer.vocab_size(), "ids are in the vocabulary");
    }
    size_t last = 0;
    for (const auto& span : tokenizer.encode_with_offsets(text)) {
      fuzz::require(span.byte_begin >= last && span.byte_end <= text.size(), "spans in order");
      last = span.byte_end;
    }
    tokenizer.decode(ids);
  });
  return 0;
}
