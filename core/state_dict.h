#pragma once

// Python state_dicts: the files that PyTorch's `torch.save(model.state_dict(), path)` writes and
// `torch.load(path)` reads, written and read without Python.
//
//   lstmnlp::save_state_dict("model.pt", {{"encoder.weight", w}, {"decoder.bias", b}});
//   lstmnlp::StateDict sd = lstmnlp::load_state_dict("model.pt");  // same names, same order
//
// The file is the zip archive of Python's torch.save (format version 3, as PyTorch 1.13 and 2.x
// write it): `data.pkl`, a protocol-2 pickle of an OrderedDict whose values are
// `torch._utils._rebuild_tensor_v2` calls on persistent storages ('storage', torch.FloatStorage,
// key, 'cpu', numel), one raw little-endian record `data/<key>` per storage, `byteorder` and
// `version`. It names no global outside those that PyTorch's `weights_only=True` unpickler allows,
// so a plain `torch.load(path)` accepts it in PyTorch 1.13 and 2.6+ alike (2.6 made weights_only
// the default), unlike torch::pickle_save's TorchScript type tags.
//
// Invariant: load_state_dict(p) after save_state_dict(p, sd) gives sd's names, shapes, dtypes and
// values, in order.

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace lstmnlp {

/// Named tensors in order, as a Python state_dict holds them.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Writes `tensors` (any device; saved as CPU tensors) to `path` atomically, as Python's
/// torch.save writes an OrderedDict of tensors. Entries that share storage (tied weights) share
/// it in the file too. Dtypes: float, double, half, bfloat16, int64, int32, int16, int8, uint8,
/// bool. Throws InputError naming the file when it cannot be written, or a name is repeated.
void save_state_dict(const std::string& path, const StateDict& tensors);

/// Reads a dict of tensors written by Python's torch.save (PyTorch 1.6 or later, zip format; an
/// OrderedDict state_dict, a plain dict, or nn.Parameter values) or by save_state_dict(). Tensors
/// come back on the CPU, contiguous, each with its own storage. Only the pickle opcodes and
/// globals that such a file uses are accepted; anything else (another Python object, a legacy
/// non-zip file, a truncated record) is an InputError naming the file and, where there is one,
/// the key.
StateDict load_state_dict(const std::string& path);

}  // namespace lstmnlp
