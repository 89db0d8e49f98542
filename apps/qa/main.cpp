// lstm-qa: SQuAD-style extractive question answering on the shared LSTM core.
//
//   lstm-qa train --config configs/qa/squad.yaml --output-dir runs/squad
//   lstm-qa predict --checkpoint runs/squad --data dev-v1.1.json --output predictions.json
//   lstm-qa eval --data dev-v1.1.json --predictions predictions.json
//   lstm-qa answer --checkpoint runs/squad --context passage.txt --question "Who ...?"

#include "core/cli.h"
#include "models/qa/qa_commands.h"

int main(int argc, char** argv) {
  return lstmnlp::cli::run_app(argc, argv, "lstm-qa",
                               "Extractive question answering (SQuAD) with LSTM readers.",
                               lstmnlp::qa::commands());
}
