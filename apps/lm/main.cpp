// lstm-lm: train, evaluate and sample LSTM language models.
//
//   lstm-lm train --config configs/lm/zaremba-small.yaml --output-dir runs/ptb-small
//   lstm-lm eval --checkpoint runs/ptb-small/best.pt --file ${LSTM_NLP_DATA}/ptb/test.txt
//   lstm-lm generate --checkpoint runs/ptb-small/best.pt --prompt "the company" --top-k 40

#include "core/cli.h"
#include "models/lm/lm_commands.h"

int main(int argc, char** argv) {
  return lstmnlp::cli::run_app(argc, argv, "lstm-lm",
                               "Train, evaluate and sample LSTM language models.",
                               lstmnlp::lm::commands());
}
