#pragma once

// A check before a model is built: whether its parameters can fit in this machine's memory, so
// that a config asking for too much is refused naming its keys rather than failing deep inside
// LibTorch's allocator ("can't allocate memory: you tried to allocate 16000000000000 bytes").

#include <cstdint>
#include <string>

namespace lstmnlp {

/// The parameters of one LSTM layer as lstmnlp::LSTM and torch::nn::LSTM hold them: per
/// direction, four gates' input and recurrent weights and two bias vectors.
double lstm_layer_parameters(double input_size, double hidden_size, int directions = 1);

/// This machine's physical memory in bytes (0 when unknown).
double physical_memory_bytes();

/// Throws InputError when `parameters` float32 values, `copies` times over (training keeps about
/// 4: the weights, their gradients and Adam's two moments; inference 1), need more than this
/// machine's physical memory. `keys` names the config keys that set the size, e.g.
/// "model.hidden_size=1000000, model.num_layers=2".
void check_parameter_memory(double parameters, int copies, const std::string& keys);

}  // namespace lstmnlp
