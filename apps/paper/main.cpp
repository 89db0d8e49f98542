// lstm-paper: reproduces the experiments of Hochreiter & Schmidhuber (1997), "Long Short-Term
// Memory", and prints our figures beside the paper's.
//
//   lstm-paper reber [--config configs/paper/reber.yaml] [--trials 30] [--json out.json]

#include "core/cli.h"
#include "models/paper/paper_commands.h"

int main(int argc, char** argv) {
  return lstmnlp::cli::run_app(argc, argv, "lstm-paper",
                               "Reproduces the experiments of Hochreiter & Schmidhuber (1997).",
                               lstmnlp::paper::commands());
}
