#pragma once

// A LanguageModel's weights under the names of the RNNModel of PyTorch's word_language_model
// example (pytorch/examples, word_language_model/model.py), built as
// `RNNModel('LSTM', ntoken, ninp, nhid, nlayers, dropout, tie_weights)`:
//
//   ours                                   RNNModel
//   embedding.weight (V, E)                encoder.weight
//   rnn.weight_ih_l{k} ... (one LSTM), or  rnn.weight_ih_l{k}, rnn.weight_hh_l{k},
//   rnn{k}.weight_ih_l0 ... (per layer)    rnn.bias_ih_l{k}, rnn.bias_hh_l{k}
//   decoder_weight (V, H), or tied         decoder.weight (the encoder's tensor when tied)
//   decoder_bias (V)                       decoder.bias
//
//   StateDict sd = lm::to_rnn_model_state_dict(model);  // then save_state_dict("model.pt", sd)
//   lm::load_rnn_model_state_dict(load_state_dict("model.pt"), model, "model.pt");
//
// Both networks compute the same function: Embedding -> LSTM -> Linear, with dropout only in
// training (the example has one dropout rate where ours has three, and no variational masks).

#include <string>

#include "core/state_dict.h"
#include "models/lm/language_model.h"

namespace lstmnlp::lm {

/// The parameters of `model` under RNNModel's names, in RNNModel's order (encoder, rnn, decoder).
/// With tied weights decoder.weight shares encoder.weight's tensor, as in Python.
StateDict to_rnn_model_state_dict(const LanguageModel& model);

/// Copies an RNNModel state_dict into `model`, whose options (vocabulary, sizes, layers, tying)
/// must fit it. Throws InputError naming `origin` and the tensor for a missing or unexpected key,
/// a wrong shape, a non-float dtype, or, when `model` ties its weights, a decoder.weight that
/// differs from encoder.weight. `model` is changed only when every tensor fits.
void load_rnn_model_state_dict(const StateDict& state_dict, LanguageModel& model,
                               const std::string& origin);

}  // namespace lstmnlp::lm
