// lstm-tokenizer: train a SentencePiece model, and encode or decode text with it.
//
//   lstm-tokenizer train --input data/train.txt --model-prefix runs/tok/spm --vocab-size 8000
//   lstm-tokenizer encode --model runs/tok/spm.model --input text.txt --format pieces
//   lstm-tokenizer encode --model runs/tok/spm.model < text.txt | lstm-tokenizer decode
//       --model runs/tok/spm.model

#include "core/cli.h"
#include "models/tokenizer/tokenizer_commands.h"

int main(int argc, char** argv) {
  return lstmnlp::cli::run_app(argc, argv, "lstm-tokenizer",
                               "Train SentencePiece tokenizers and encode or decode text.",
                               lstmnlp::tokenizer::commands());
}
