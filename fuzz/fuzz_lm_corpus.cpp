// The LM corpus reader and word vocabulary of lstm-lm.
//
// Input: one byte (the minimum word count, and whether the rest is a checkpoint's stored
// vocabulary rather than a text), then the bytes. A text goes through read_text, the
// vocabulary, encoding, batching and the split of a single file into train/valid/test; its
// vocabulary must survive the checkpoint's JSON round trip and map every text word to the same
// id. A stored vocabulary goes through LmVocabulary::from_checkpoint, as `lstm-lm eval` does.

#include <torch/torch.h>

#include "datasets/lm_corpus.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lstmnlp;
  using namespace lstmnlp::lm;
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 0x80) {
    fuzz::refuse_or_accept([&] {
      const auto vocab = LmVocabulary::from_checkpoint(std::string(body), "", "fuzz.pt");
      fuzz::require(vocab.size() >= 2, "a stored vocabulary has <eos> and <unk>");
      vocab.encode_line("the cat sat");
    });
    return 0;
  }
  const std::string path = fuzz::write_scratch("text.txt", body);
  fuzz::refuse_or_accept([&] {
    const Text text = read_text(path);
    const auto vocab = LmVocabulary::build_words(text, /*min_count=*/1 + data[0] % 3);
    const auto restored = LmVocabulary::from_checkpoint(vocab.to_json(), "", "fuzz.pt");
    fuzz::require(restored.same_as(vocab), "the vocabulary survives its checkpoint JSON");
    const Corpus corpus = encode_corpus(text, vocab);
    fuzz::require(corpus.ids.numel() >= 2, "a corpus has a token after its leading <eos>");
    fuzz::require(corpus.ids.max().item<int64_t>() < vocab.size(), "ids are in the vocabulary");
    const auto batches = batchify(corpus.ids, 2);
    num_batches(batches, 3);
    split_text(text, 0.2, 0.2);
  });
  return 0;
}
