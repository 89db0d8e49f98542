#include "models/bench/bench_app.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "core/io.h"
#include "core/runtime_env.h"
#include "models/lstm.h"

namespace lstmnlp::bench {
namespace {

using torch::Tensor;

// ------------------------------------------------------------------------------------------------
// Peak CPU tensor memory: a wrapper around LibTorch's CPU allocator that counts the bytes of the
// allocations it made while tracking was on, until they are freed.

// LibTorch 2.3 made Allocator::allocate non-const and added copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define LSTMNLP_ALLOCATE_CONST
#define LSTMNLP_ALLOCATOR_HAS_COPY_DATA 1
#else
#define LSTMNLP_ALLOCATE_CONST const
#define LSTMNLP_ALLOCATOR_HAS_COPY_DATA 0
#endif

// Counts the bytes of live CPU tensors. The allocations keep the base allocator's "raw" form
// (context == data, one deleter for every pointer) and the allocator exports that deleter as
// raw_deleter(): oneDNN's RNN (LibTorch 2.x) frees through raw_deallocate(), which asserts on an
// allocator without one.
class CountingCPUAllocator final : public c10::Allocator {
 public:
  explicit CountingCPUAllocator(c10::Allocator* base) : base_(base) { instance_ = this; }

  c10::DataPtr allocate(size_t n) LSTMNLP_ALLOCATE_CONST override {
    c10::DataPtr inner = base_->allocate(n);
    void* data = inner.get();
    if (base_->raw_deleter() == nullptr || inner.get_context() != data ||
        inner.get_deleter() != base_->raw_deleter()) {
      return inner;  // not a raw allocation: leave it uncounted
    }
    const c10::Device device = inner.device();
    (void)inner.release_context();  // ownership passes to the DataPtr below
    if (tracking_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[data] = static_cast<int64_t>(n);
      const int64_t now = current_ += static_cast<int64_t>(n);
      peak_ = std::max(peak_, now);
    }
    return {data, data, &CountingCPUAllocator::release, device};
  }

  c10::DeleterFnPtr raw_deleter() const override {
    return base_->raw_deleter() ? &CountingCPUAllocator::release : nullptr;
  }

#if LSTMNLP_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#endif

  /// Starts counting from zero.
  void start() {
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_.clear();
    current_ = 0;
    peak_ = 0;
    tracking_ = true;
  }
  /// Stops counting new allocations and returns the peak since start().
  int64_t stop() {
    tracking_ = false;
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }

 private:
  static void release(void* data) {
    CountingCPUAllocator* self = instance_;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      const auto it = self->sizes_.find(data);
      if (it != self->sizes_.end()) {
        self->current_ -= it->second;
        self->sizes_.erase(it);
      }
    }
    self->base_->raw_deleter()(data);
  }

  static inline CountingCPUAllocator* instance_ = nullptr;
  c10::Allocator* base_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, int64_t> sizes_;
  mutable int64_t current_ = 0;
  mutable int64_t peak_ = 0;
  std::atomic<bool> tracking_{false};
};

CountingCPUAllocator& counting_allocator() {
  // Installed once, above the default allocator's priority; it never goes away.
  static CountingCPUAllocator* allocator = [] {
    auto* a = new CountingCPUAllocator(c10::GetCPUAllocator());
    c10::SetCPUAllocator(a, /*priority=*/100);
    return a;
  }();
  return *allocator;
}

// ------------------------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double max_diff(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined() ? 0.0 : INFINITY;
  return (a.detach() - b.detach()).abs().max().item<double>();
}

// What one round of one implementation produced, for the comparison.
struct RoundResult {
  Tensor output, h_n, c_n, input_grad;
  std::vector<Tensor> param_grads;
};

// One implementation under test: runs a round of `mode` and returns its results.
using RoundFn = std::function<RoundResult()>;

template <typename Module>
RoundFn make_round(Module module, const std::string& mode, const Tensor& x,
                   const Tensor& grad_out) {
  return [module, mode, x, grad_out]() mutable {
    RoundResult r;
    if (mode == "inference") {
      torch::NoGradGuard no_grad;
      module->eval();
      auto [out, state] = module->forward(x);
      r.output = out;
      std::tie(r.h_n, r.c_n) = state;
      return r;
    }
    module->train();
    for (auto& p : module->parameters()) p.mutable_grad() = Tensor();
    Tensor xi = x.detach().requires_grad_(true);
    auto [out, state] = module->forward(xi);
    r.output = out;
    std::tie(r.h_n, r.c_n) = state;
    if (mode == "forward_backward") {
      out.backward(grad_out);
      r.input_grad = xi.grad();
      for (auto& p : module->parameters()) r.param_grads.push_back(p.grad());
    }
    return r;
  };
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

BenchRow bench_one(const BenchConfig& config, int64_t hidden, const std::string& mode,
                   const torch::Device& device) {
  const int64_t input = config.input_size > 0 ? config.input_size : hidden;
  torch::manual_seed(config.seed);
  // dropout stays 0 so that both implementations compute the same function in training mode.
  torch::nn::LSTM reference(torch::nn::LSTMOptions(input, hidden)
                                .num_layers(config.layers)
                                .bidirectional(config.bidirectional));
  reference->to(device);
  LSTM custom = lstm_from_torch(reference);
  const int64_t D = config.bidirectional ? 2 : 1;
  const auto opts = torch::TensorOptions().device(device);
  Tensor x = torch::randn({config.steps, config.batch, input}, opts);
  Tensor grad_out = torch::randn({config.steps, config.batch, D * hidden}, opts);

  RoundFn rounds[2] = {make_round(reference, mode, x, grad_out),
                       make_round(custom, mode, x, grad_out)};
  std::vector<double> seconds[2];
  RoundResult last[2];
  for (int64_t rep = 0; rep < config.warmup + config.repetitions; ++rep) {
    for (int k = 0; k < 2; ++k) {
      const int which = (rep % 2 == 0) ? k : 1 - k;  // alternate who goes first
      synchronize(device);
      const auto start = Clock::now();
      last[which] = rounds[which]();
      synchronize(device);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (rep >= config.warmup) seconds[which].push_back(elapsed);
    }
  }

  BenchRow row;
  row.mode = mode;
  row.steps = config.steps;
  row.batch = config.batch;
  row.input_size = input;
  row.hidden_size = hidden;
  row.layers = config.layers;
  row.bidirectional = config.bidirectional;
  row.device = device.str();
  const double tokens = static_cast<double>(config.steps * config.batch);
  row.torch_tokens_per_s = tokens / median(seconds[0]);
  row.custom_tokens_per_s = tokens / median(seconds[1]);
  row.speedup = row.custom_tokens_per_s / row.torch_tokens_per_s;

  const RoundResult &a = last[0], &b = last[1];
  double diff = std::max({max_diff(a.output, b.output), max_diff(a.h_n, b.h_n),
                          max_diff(a.c_n, b.c_n), max_diff(a.input_grad, b.input_grad)});
  // Both modules list their parameters in torch's order with torch's names.
  for (size_t i = 0; i < a.param_grads.size() && i < b.param_grads.size(); ++i) {
    diff = std::max(diff, max_diff(a.param_grads[i], b.param_grads[i]));
  }
  row.max_abs_diff = diff;

  if (device.is_cpu()) {
    last[0] = last[1] = RoundResult();  // release before measuring
    int64_t* peaks[2] = {&row.torch_peak_bytes, &row.custom_peak_bytes};
    for (int k = 0; k < 2; ++k) {
      counting_allocator().start();
      rounds[k]();
      *peaks[k] = counting_allocator().stop();
    }
  }
  return row;
}

const std::vector<std::string>& known_modes() {
  static const std::vector<std::string> modes{"forward_backward", "forward", "inference"};
  return modes;
}

std::string format_double(double value, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string format_mib(int64_t bytes) {
  return bytes < 0 ? "n/a" : format_double(static_cast<double>(bytes) / (1024.0 * 1024.0), "%.1f");
}

}  // namespace

std::vector<BenchRow> run_lstm_bench(const BenchConfig& config) {
  TORCH_CHECK(config.steps > 0, "T must be positive, got ", config.steps);
  TORCH_CHECK(config.batch > 0, "B must be positive, got ", config.batch);
  TORCH_CHECK(!config.hidden_sizes.empty(), "no hidden size given");
  for (int64_t h : config.hidden_sizes) {
    TORCH_CHECK(h > 0, "hidden sizes must be positive, got ", h);
  }
  TORCH_CHECK(config.input_size >= 0, "input size must be >= 0, got ", config.input_size);
  TORCH_CHECK(config.layers > 0, "layers must be positive, got ", config.layers);
  TORCH_CHECK(config.warmup >= 0, "warm-up must be >= 0, got ", config.warmup);
  TORCH_CHECK(config.repetitions > 0, "repetitions must be positive, got ", config.repetitions);
  TORCH_CHECK(!config.modes.empty(), "no mode given");
  for (const auto& mode : config.modes) {
    TORCH_CHECK(std::find(known_modes().begin(), known_modes().end(), mode) != known_modes().end(),
                "unknown mode '", mode, "' (expected forward_backward, forward or inference)");
  }
  const torch::Device device(config.device);
  if (device.is_cpu()) counting_allocator();  // install before any benchmark tensor exists

  std::vector<BenchRow> rows;
  for (int64_t hidden : config.hidden_sizes) {
    for (const auto& mode : config.modes) rows.push_back(bench_one(config, hidden, mode, device));
  }
  return rows;
}

std::string lstm_bench_markdown(const std::vector<BenchRow>& rows) {
  std::ostringstream s;
  s << "lstmnlp::LSTM vs torch::nn::LSTM: median tokens/s (T*B per second) over interleaved "
       "rounds; peak = max bytes of LibTorch CPU tensors allocated during one round\n\n";
  s << "| mode | T | B | input | hidden | layers | bi | device | torch tok/s | custom tok/s | "
       "speedup | max abs diff | torch peak MiB | custom peak MiB |\n";
  s << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    s << "| " << r.mode << " | " << r.steps << " | " << r.batch << " | " << r.input_size << " | "
      << r.hidden_size << " | " << r.layers << " | " << (r.bidirectional ? "yes" : "no") << " | "
      << r.device << " | " << format_double(r.torch_tokens_per_s, "%.0f") << " | "
      << format_double(r.custom_tokens_per_s, "%.0f") << " | " << format_double(r.speedup, "%.2fx")
      << " | " << format_double(r.max_abs_diff, "%.1e") << " | " << format_mib(r.torch_peak_bytes)
      << " | " << format_mib(r.custom_peak_bytes) << " |\n";
  }
  return s.str();
}

nlohmann::json lstm_bench_json(const std::vector<BenchRow>& rows) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& r : rows) {
    array.push_back({{"mode", r.mode},
                     {"T", r.steps},
                     {"B", r.batch},
                     {"input_size", r.input_size},
                     {"hidden_size", r.hidden_size},
                     {"layers", r.layers},
                     {"bidirectional", r.bidirectional},
                     {"device", r.device},
                     {"torch_tokens_per_s", r.torch_tokens_per_s},
                     {"custom_tokens_per_s", r.custom_tokens_per_s},
                     {"speedup", r.speedup},
                     {"max_abs_diff", r.max_abs_diff},
                     {"torch_peak_bytes", r.torch_peak_bytes},
                     {"custom_peak_bytes", r.custom_peak_bytes}});
  }
  return array;
}

void run_lstm_bench_report(const BenchConfig& config, const std::string& json_path,
                           std::ostream& out) {
  const auto rows = run_lstm_bench(config);
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  out << "threads: LibTorch " << at::get_num_threads() << "; BLAS core "
      << (runtime::openblas_core_name().empty() ? "(not OpenBLAS)" : runtime::openblas_core_name())
      << "; OMP_WAIT_POLICY " << (wait_policy ? wait_policy : "(unset)") << "\n\n"
      << lstm_bench_markdown(rows) << std::flush;
  if (!json_path.empty()) write_text(json_path, lstm_bench_json(rows).dump(2) + "\n");
}

}  // namespace lstmnlp::bench
