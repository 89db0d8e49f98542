#pragma once

// Data-parallel training over processes and machines on PyTorch's own engine, c10d: Gloo on CPU,
// NCCL on CUDA. The processes meet as torchrun (or Slurm's srun) describes them in the
// environment: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and a
// c10d TCPStore at MASTER_ADDR:MASTER_PORT.
//
//   dist::init({dist::Backend::kAuto, std::chrono::seconds(300)}, device);  // once, at start-up
//   dist::World& world = dist::world();       // a world of one without those variables
//   ... forward and backward on this rank's shard (world.rank() of world.size()) ...
//   world.average_gradients(model.parameters());   // before clipping: the global norm
//
// In a single process (no variables, or WORLD_SIZE=1) nothing is created: no store, no threads,
// and every collective returns at once, so the code path is today's. Every difference between
// LibTorch 1.13 (ProcessGroupGloo is a ProcessGroup) and 2.x (it is a Backend, which a
// ProcessGroup wraps) is kept inside distributed.cpp.

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace lstmnlp::dist {

/// The c10d backend of `--dist-backend`.
enum class Backend { kAuto, kGloo, kNccl };
/// Their names on the command line; auto is NCCL for a CUDA model and Gloo otherwise.
inline const config::Choices<Backend> kBackends{
    {"auto", Backend::kAuto}, {"gloo", Backend::kGloo}, {"nccl", Backend::kNccl}};

/// Where this process stands among the others, as the launcher's environment says.
struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr;
  int master_port = 29500;
  /// torchrun 2.x hosts the store itself (TORCHELASTIC_USE_AGENT_STORE=True): every rank is then
  /// a client; otherwise rank 0 serves it.
  bool agent_store = false;
};

/// Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT (or Slurm's
/// SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID where those are absent) through `get`, which returns
/// nullopt for an unset variable. InputError for values that are not numbers, RANK >= WORLD_SIZE,
/// or a world of more than one without MASTER_ADDR.
LaunchEnv read_launch_env(const std::function<std::optional<std::string>(const std::string&)>& get);
/// The same, from this process's environment.
LaunchEnv read_launch_env();

/// How init() joins the others.
struct Options {
  Backend backend = Backend::kAuto;
  /// How long a collective waits for the other ranks before it fails (c10d's timeout).
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
};

/// The processes of one training. Collectives fail with DistributedError (a rank died, or did
/// not answer within the timeout).
class World {
 public:
  class Impl;
  /// A world of one process.
  World() = default;
  explicit World(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  int rank() const;
  int size() const;
  /// Whether this is rank 0, the one that writes checkpoints, metrics and progress.
  bool is_main() const { return rank() == 0; }
  /// LOCAL_WORLD_SIZE: the processes on this machine.
  int local_size() const;

  /// Sums each of `tensors` in place across the ranks (one collective each).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  /// Every rank's `tensor`, in rank order; each rank's must have the same shape.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor);
  /// Sums `values` across the ranks, in float64.
  std::vector<double> all_reduce_sum(const std::vector<double>& values);
  /// Replaces every rank's `tensors` with rank `root`'s.
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  /// Averages the gradients of `params` across the ranks, in flattened buckets of about
  /// `bucket_bytes` (PyTorch's DDP uses 25 MB). A parameter without a gradient counts as zeros.
  /// The gradients of those of `params` that are also in `row_sparse` (embedding tables, of which
  /// a step touches few rows) travel as their non-zero rows and the rows' indices, gathered from
  /// every rank, when that is smaller than the whole table; the sums are the same.
  void average_gradients(const std::vector<torch::Tensor>& params,
                         const std::vector<torch::Tensor>& row_sparse = {},
                         int64_t bucket_bytes = int64_t{25} << 20);
  /// Waits until every rank has arrived.
  void barrier();
  /// Seconds spent in collectives so far (for the communication share of a step).
  double comm_seconds() const;

 private:
  /// Averages the row-sparse `grads` that are smaller sent as rows; returns the others.
  std::vector<torch::Tensor> average_row_sparse(std::vector<torch::Tensor> grads);

  std::shared_ptr<Impl> impl_;
};

/// Joins the processes that the environment describes, once per process; without them (or with
/// WORLD_SIZE=1) it does nothing. `device` picks the backend for Backend::kAuto. InputError for a
/// bad environment, a backend this LibTorch lacks, or a store that cannot be reached or bound.
void init(const Options& options, torch::Device device);

/// This process's world: a world of one until init() joined others.
World& world();

/// std::cerr on rank 0; a stream that drops everything on the other ranks.
std::ostream& main_log();

/// The default thread count of each process: the cores divided among the processes on this
/// machine (at least 1), or 0 (the libraries' defaults) in a single process.
int default_threads(int hardware_threads, int local_world_size);

}  // namespace lstmnlp::dist
