#pragma once

// Checkpoints of a run: model weights, optimizer state, step and epoch, the RNG state for an
// exact resume, the resolved config and the tokenizer model.
//
// Writes are atomic: the file is written beside its target under a temporary name, flushed
// to disk and renamed over the target, so a crash (even kill -9) mid-save leaves the previous
// checkpoint intact. Every stored tensor (weights, optimizer state, RNG state, averages and the
// metadata entries) carries an XXH3-64 checksum of its bytes, dtype and shape; loading verifies
// the checksum of each entry it reads and throws InputError naming the file and the tensor when
// one differs (format 1 checkpoints, written before checksums, load unchecked). Loading also
// checks every tensor's name and shape and throws InputError, naming the file and the key, when
// they do not match.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/io.h"

namespace lstmnlp {

/// Everything in a checkpoint besides tensors of the model and optimizer. Every member has a
/// default, so `{"lm", /*step=*/3}` is a complete initializer.
struct CheckpointMeta {
  std::string kind = {};             ///< which app wrote it, e.g. "lm"; checked on load when set
  int64_t step = 0;                  ///< optimizer steps taken
  int64_t epoch = 0;                 ///< epochs completed
  std::string config_yaml = {};      ///< the resolved config of the run
  std::string tokenizer_model = {};  ///< serialized SentencePiece model ("" when none)
  std::string extra = {};            ///< app-specific state (e.g. JSON: the vocabulary)
  std::string loop_state = {};       ///< the training loop's position and best score (JSON)
  /// The training loop's moving average of the parameters, in parameters() order (empty when
  /// train.ema_decay is off). Written and read by save_checkpoint and load_checkpoint only.
  std::vector<torch::Tensor> averaged = {};
};

/// Saves a checkpoint atomically. `optimizer` may be null. The CPU RNG state is stored too.
void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer, const CheckpointMeta& meta);

/// Reads only the metadata, e.g. to rebuild the model from `config_yaml` before loading it.
/// With `expected_kind`, a checkpoint of another app is an InputError that names its app.
CheckpointMeta read_checkpoint_meta(const std::string& path, const std::string& expected_kind = "");

/// Throws InputError ("PATH: this is a lstm-sentiment checkpoint, not a lstm-lm one") when `meta`
/// was written by another app than `expected_kind`.
void check_checkpoint_kind(const CheckpointMeta& meta, const std::string& path,
                           const std::string& expected_kind);

/// The checksum that checkpoints store for `tensor`: XXH3-64 of its bytes, seeded with its dtype
/// and shape.
uint64_t tensor_checksum(const torch::Tensor& tensor);

/// Loads weights (and optimizer state when `optimizer` is not null) into existing objects.
/// With `restore_rng`, the CPU RNG continues exactly where the saved run stopped.
/// Throws InputError for a missing or corrupt file, a different `expected_kind`, or a
/// parameter whose name or shape does not match the model.
CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer, bool restore_rng = true,
                               const std::string& expected_kind = "");

}  // namespace lstmnlp
