#include "core/distributed.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "core/error.h"

// Debian's LibTorch is built with Gloo, but its headers only declare ProcessGroupGloo under
// USE_C10D_GLOO, and they include Gloo's own headers (libgloo-dev).
#if __has_include(<gloo/config.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#define LSTMNLP_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace lstmnlp::dist {
namespace {

using Clock = std::chrono::steady_clock;

// 1.13: a backend is a ProcessGroup; 2.x: a Backend, which a ProcessGroup wraps. Using the
// backend itself keeps one code path for both.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

int parse_int(const std::string& name, const std::string& value) {
  std::size_t end = 0;
  int out = 0;
  try {
    out = std::stoi(value, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end == 0 || end != value.size()) {
    throw InputError("environment variable " + name + "='" + value + "': not an integer");
  }
  return out;
}

// The first variable of `names` that is set, as an integer.
std::optional<int> int_var(const std::function<std::optional<std::string>(const std::string&)>& get,
                           std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto value = get(name)) return parse_int(name, *value);
  }
  return std::nullopt;
}

std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10 != nullptr ? c10->what_without_backtrace() : e.what();
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

LaunchEnv read_launch_env(
    const std::function<std::optional<std::string>(const std::string&)>& get) {
  LaunchEnv env;
  env.world_size = int_var(get, {"WORLD_SIZE", "SLURM_NTASKS"}).value_or(1);
  env.rank = int_var(get, {"RANK", "SLURM_PROCID"}).value_or(0);
  env.local_rank = int_var(get, {"LOCAL_RANK", "SLURM_LOCALID"}).value_or(0);
  env.local_world_size = int_var(get, {"LOCAL_WORLD_SIZE"}).value_or(env.world_size);
  if (env.world_size < 1) {
    throw InputError("WORLD_SIZE=" + std::to_string(env.world_size) + ": must be at least 1");
  }
  if (env.rank < 0 || env.rank >= env.world_size) {
    throw InputError("RANK=" + std::to_string(env.rank) + " is outside the world of " +
                     std::to_string(env.world_size) + " processes (0 to " +
                     std::to_string(env.world_size - 1) + ")");
  }
  if (env.local_world_size < 1 || env.local_rank < 0 || env.local_rank >= env.local_world_size) {
    throw InputError("LOCAL_RANK=" + std::to_string(env.local_rank) + " is outside the " +
                     std::to_string(env.local_world_size) + " local processes (LOCAL_WORLD_SIZE)");
  }
  if (auto addr = get("MASTER_ADDR")) env.master_addr = *addr;
  if (auto port = int_var(get, {"MASTER_PORT"})) env.master_port = *port;
  if (env.master_port < 1 || env.master_port > 65535) {
    throw InputError("MASTER_PORT=" + std::to_string(env.master_port) + ": not a TCP port");
  }
  if (env.world_size > 1 && env.master_addr.empty()) {
    throw InputError("WORLD_SIZE=" + std::to_string(env.world_size) +
                     " but MASTER_ADDR is not set: launch with torchrun, or set MASTER_ADDR and "
                     "MASTER_PORT to rank 0's host and a free port");
  }
  const auto agent = get("TORCHELASTIC_USE_AGENT_STORE");
  env.agent_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
  return env;
}

LaunchEnv read_launch_env() {
  return read_launch_env([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

class World::Impl {
 public:
  int rank = 0;
  int size = 1;
  int local_size = 1;
  torch::Device device = torch::kCPU;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<BackendBase> backend;
  double comm_seconds = 0;

  // Runs the collective that `start` begins and waits for it; failures name this rank.
  template <class Start>
  void run(const char* what, Start&& start) {
    const auto t0 = Clock::now();
    try {
      auto work = start();
      work->wait();
    } catch (const std::exception& e) {
      std::ostringstream message;
      message << "rank " << rank << " of " << size << ": " << what
              << " failed, so another rank died or did not answer within "
              << timeout.count() / 1000.0 << " s (--dist-timeout): " << first_line(e);
      throw DistributedError(message.str());
    }
    comm_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }
};

int World::rank() const { return impl_ ? impl_->rank : 0; }
int World::size() const { return impl_ ? impl_->size : 1; }
int World::local_size() const { return impl_ ? impl_->local_size : 1; }
double World::comm_seconds() const { return impl_ ? impl_->comm_seconds : 0.0; }

void World::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (!impl_) return;
  // One collective per tensor: c10d reads a list as one tensor per device, all of one size.
  for (auto& tensor : tensors) {
    std::vector<torch::Tensor> one{tensor};
    impl_->run("all-reduce", [&] { return impl_->backend->allreduce(one); });
  }
}

std::vector<double> World::all_reduce_sum(const std::vector<double>& values) {
  if (!impl_ || values.empty()) return values;
  auto sums = torch::tensor(values, torch::kFloat64).to(impl_->device);
  std::vector<torch::Tensor> tensors{sums};
  all_reduce_sum(tensors);
  sums = sums.cpu();
  return {sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel()};
}

void World::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  if (!impl_ || tensors.empty()) return;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (auto& tensor : tensors) {
    std::vector<torch::Tensor> one{tensor};
    impl_->run("broadcast", [&] { return impl_->backend->broadcast(one, options); });
  }
}

std::vector<torch::Tensor> World::all_gather(const torch::Tensor& tensor) {
  if (!impl_) return {tensor};
  std::vector<torch::Tensor> input{tensor.contiguous()};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int r = 0; r < impl_->size; ++r) output[0].push_back(torch::empty_like(input[0]));
  impl_->run("all-gather", [&] { return impl_->backend->allgather(output, input); });
  return output[0];
}

namespace {

bool contains(const std::vector<torch::Tensor>& tensors, const torch::Tensor& t) {
  for (const auto& u : tensors) {
    if (u.unsafeGetTensorImpl() == t.unsafeGetTensorImpl()) return true;
  }
  return false;
}

}  // namespace

std::vector<torch::Tensor> World::average_row_sparse(std::vector<torch::Tensor> grads) {
  // Each rank's count of non-zero rows per table, in one collective.
  std::vector<torch::Tensor> rows;
  std::vector<double> counts(grads.size() * impl_->size, 0.0);
  for (size_t i = 0; i < grads.size(); ++i) {
    rows.push_back(grads[i].ne(0).any(1).nonzero().reshape({-1}));
    counts[i * impl_->size + impl_->rank] = static_cast<double>(rows[i].numel());
  }
  counts = all_reduce_sum(counts);
  std::vector<torch::Tensor> dense;
  for (size_t i = 0; i < grads.size(); ++i) {
    auto& grad = grads[i];
    const auto first = counts.begin() + static_cast<std::ptrdiff_t>(i * impl_->size);
    const auto most = static_cast<int64_t>(*std::max_element(first, first + impl_->size));
    // Sent: `most` rows and their indices from each rank, against the table itself.
    if (most * impl_->size * (grad.size(1) + 2) >= grad.numel()) {
      dense.push_back(grad);
      continue;
    }
    if (most == 0) continue;  // zero on every rank (a frozen table): nothing to send
    const int64_t mine = rows[i].numel();
    auto index = torch::zeros({most}, rows[i].options());
    index.narrow(0, 0, mine).copy_(rows[i]);
    auto values = torch::zeros({most, grad.size(1)}, grad.options());
    values.narrow(0, 0, mine).copy_(grad.index_select(0, rows[i]));
    const auto indices = all_gather(index);
    const auto all_values = all_gather(values);
    // Summed in rank order on every rank: a row that no rank touched stays zero, as in the dense
    // all-reduce.
    grad.zero_();
    for (int r = 0; r < impl_->size; ++r) {
      const auto n = static_cast<int64_t>(first[r]);
      grad.index_add_(0, indices[r].narrow(0, 0, n), all_values[r].narrow(0, 0, n));
    }
    grad.mul_(1.0 / impl_->size);
  }
  return dense;
}

void World::average_gradients(const std::vector<torch::Tensor>& params,
                              const std::vector<torch::Tensor>& row_sparse, int64_t bucket_bytes) {
  if (!impl_) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads, sparse;
  for (const auto& p : params) {
    auto& grad = const_cast<torch::Tensor&>(p).mutable_grad();
    if (!grad.defined()) grad = torch::zeros_like(p);
    (grad.dim() == 2 && contains(row_sparse, p) ? sparse : grads).push_back(grad);
  }
  if (!sparse.empty()) {
    for (auto& grad : average_row_sparse(sparse)) grads.push_back(grad);
  }
  // Buckets of consecutive gradients of one dtype and device, flattened into one buffer each.
  std::vector<std::vector<torch::Tensor>> buckets;
  int64_t bytes = 0;
  for (const auto& grad : grads) {
    const int64_t size = grad.numel() * static_cast<int64_t>(grad.element_size());
    const bool fits = !buckets.empty() && bytes + size <= bucket_bytes &&
                      buckets.back().front().scalar_type() == grad.scalar_type() &&
                      buckets.back().front().device() == grad.device();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(grad);
    bytes += size;
  }
  const double scale = 1.0 / impl_->size;
  for (auto& bucket : buckets) {
    std::vector<torch::Tensor> flat_views;
    flat_views.reserve(bucket.size());
    for (const auto& g : bucket) flat_views.push_back(g.reshape({-1}));
    std::vector<torch::Tensor> flat{torch::cat(flat_views)};
    all_reduce_sum(flat);
    flat[0].mul_(scale);
    int64_t offset = 0;
    for (auto& g : bucket) {
      g.copy_(flat[0].narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
  }
}

void World::barrier() {
  if (!impl_) return;
  // A one-element all-reduce: Gloo's barrier() waits on the collectives in flight as well, and an
  // all-reduce fails the same way as the others when a rank is gone.
  std::vector<torch::Tensor> token{torch::zeros({1}, torch::TensorOptions(impl_->device))};
  impl_->run("barrier", [&] { return impl_->backend->allreduce(token); });
}

namespace {

World& default_world() {
  static World world;
  return world;
}

}  // namespace

World& world() { return default_world(); }

void init(const Options& options, torch::Device device) {
  static bool done = false;
  if (done) return;
  done = true;
  const LaunchEnv env = read_launch_env();
  if (env.world_size == 1) return;

  auto impl = std::make_shared<World::Impl>();
  impl->rank = env.rank;
  impl->size = env.world_size;
  impl->local_size = env.local_world_size;
  impl->device = device;
  impl->timeout = options.timeout;
  const std::string where = "the c10d store at " + env.master_addr + ":" +
                            std::to_string(env.master_port) + " (rank " + std::to_string(env.rank) +
                            " of " + std::to_string(env.world_size) + ")";
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0 && !env.agent_store;
    // Every rank counts itself in (LibTorch 2.x's server waits for that count, its own client
    // included); with torchrun's agent store, the agent has done the waiting.
    if (!env.agent_store) store_options.numWorkers = env.world_size;
    store_options.waitWorkers = !env.agent_store;
    store_options.timeout = options.timeout;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
    // 2.4 made libuv's store the default, which Debian's LibTorch is built without.
    store_options.useLibUV = false;
#endif
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
  } catch (const std::exception& e) {
    throw InputError("cannot " +
                     std::string(env.rank == 0 && !env.agent_store ? "serve" : "reach") + " " +
                     where + ": " + first_line(e));
  }

  const Backend backend = options.backend != Backend::kAuto
                              ? options.backend
                              : (device.is_cuda() ? Backend::kNccl : Backend::kGloo);
  try {
    if (backend == Backend::kNccl) {
#ifdef USE_C10D_NCCL
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = options.timeout;
      impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank,
                                                                  env.world_size, nccl_options);
#else
      throw InputError("--dist-backend nccl: this LibTorch was built without NCCL (use gloo)");
#endif
    } else {
#ifdef LSTMNLP_HAVE_GLOO
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (is_loopback(env.master_addr)) {
        gloo_options->devices.push_back(
            c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      impl->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank,
                                                                  env.world_size, gloo_options);
#else
      throw InputError("--dist-backend gloo: built without Gloo's headers (install libgloo-dev)");
#endif
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(env.rank) + " of " +
                           std::to_string(env.world_size) + ": cannot set up " +
                           kBackends.name(backend) + " through " + where + ": " + first_line(e));
  }
  default_world() = World(std::move(impl));
}

std::ostream& main_log() {
  static std::ostream null_stream(nullptr);
  return world().is_main() ? std::cerr : null_stream;
}

int default_threads(int hardware_threads, int local_world_size) {
  if (local_world_size <= 1) return 0;
  return std::max(1, hardware_threads / local_world_size);
}

}  // namespace lstmnlp::dist
