#pragma once

// Learners of `lstm-paper` built from LibTorch modules (model.impl torch, custom or rnn): one
// torch::nn::LSTM, lstmnlp::LSTM or torch::nn::RNN layer plus sigmoid output units per trial,
// trained by full backpropagation through time with one SGD step per sequence. Much slower than the
// fast TrialNet path (per-operation overhead), but it trains the project's real LSTM module.

#include <cstdint>
#include <memory>

#include "models/paper/paper_config.h"

namespace lstmnlp::paper {

class Learner;

/// A learner for model.impl "torch", "custom" or "rnn". LSTMs: every cell has its own gates
/// (block j's gate bias initialisation goes to its cells), squashing is tanh, only the cell
/// outputs recur, cells always have biases. rnn: blocks x cells_per_block tanh units, biased with
/// model.cell_bias. train.update/train.gradient are ignored (full BPTT, one SGD step per
/// sequence). Throws InputError for model.squash=paper, model.recurrent=cells_and_gates, and
/// impl torch with the 1997 cell.
std::unique_ptr<Learner> make_torch_learner(const ModelConfig& model, const TrialConfig& train,
                                            int64_t inputs, int64_t outputs, uint64_t seed);

}  // namespace lstmnlp::paper
