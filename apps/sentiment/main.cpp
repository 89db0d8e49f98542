// lstm-sentiment: train sentiment classifiers, evaluate them and label files of any size.
//
//   lstm-sentiment train --config configs/sentiment/sst2.yaml --output-dir runs/sst2
//   lstm-sentiment eval --checkpoint runs/sst2 --input data/sst2/dev.tsv
//   lstm-sentiment predict --checkpoint runs/sst2 --input reviews.txt --output labels.tsv

#include "core/cli.h"
#include "models/sentiment/sentiment_commands.h"

int main(int argc, char** argv) {
  return lstmnlp::cli::run_app(argc, argv, "lstm-sentiment",
                               "Train, evaluate and apply LSTM sentiment classifiers.",
                               lstmnlp::sentiment::commands());
}
