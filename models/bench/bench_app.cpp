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
#include "models/bench/onednn_lstm.h"
#include "models/lstm.h"
#include "models/lstm_profile.h"

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

// Floating-point operations per token of one round in `mode`: the input and recurrent products
// of every layer and direction (2·4H·(F+H) each); a backward costs twice the forward.
double flops_per_token(const BenchConfig& config, int64_t hidden, const std::string& mode) {
  const int64_t D = config.bidirectional ? 2 : 1;
  const int64_t input = config.input_size > 0 ? config.input_size : hidden;
  double forward = 0;
  for (int64_t l = 0; l < config.layers; ++l) {
    const int64_t features = l == 0 ? input : D * hidden;
    forward += static_cast<double>(D) * 2.0 * 4.0 * hidden * (features + hidden);
  }
  return mode == "forward_backward" ? 3.0 * forward : forward;
}

// The machine's SGEMM rate at the current thread setting: the median of a few N³ products.
double sgemm_ceiling_flops(const torch::Device& device, int64_t n) {
  constexpr int kRounds = 5;
  const auto opts = torch::TensorOptions().device(device);
  Tensor a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  Tensor c = torch::empty({n, n}, opts);
  std::vector<double> seconds;
  for (int i = 0; i < kRounds + 1; ++i) {
    synchronize(device);
    const auto start = Clock::now();
    torch::mm_out(c, a, b);
    synchronize(device);
    if (i > 0) seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return 2.0 * n * n * n / median(seconds);
}

double max_diff(const RoundResult& a, const RoundResult& b) {
  double diff = std::max({max_diff(a.output, b.output), max_diff(a.h_n, b.h_n),
                          max_diff(a.c_n, b.c_n), max_diff(a.input_grad, b.input_grad)});
  // Every implementation lists its parameters in torch's order.
  for (size_t i = 0; i < a.param_grads.size() && i < b.param_grads.size(); ++i) {
    diff = std::max(diff, max_diff(a.param_grads[i], b.param_grads[i]));
  }
  return diff;
}

// oneDNN's round, or an empty function when it cannot run here.
RoundFn make_onednn_round(const torch::nn::LSTM& reference, const std::string& mode,
                          const Tensor& x, const Tensor& grad_out, std::string* why) {
  *why = x.device().is_cpu() ? onednn_unavailable_reason(reference) : "oneDNN column: CPU only";
  if (!why->empty()) return {};
  auto lstm = std::make_shared<OneDnnLstm>(reference, mode, x.size(0), x.size(1));
  return [lstm, x, grad_out]() {
    OneDnnResult o = lstm->run(x, grad_out);
    RoundResult r;
    r.output = o.output;
    r.h_n = o.h_n;
    r.c_n = o.c_n;
    r.input_grad = o.input_grad;
    r.param_grads = o.param_grads;
    return r;
  };
}

// The modules and inputs of one shape: torch's LSTM, the custom one with its weights, x and the
// output gradient, all from config.seed.
struct Shape {
  torch::nn::LSTM reference{nullptr};
  LSTM custom{nullptr};
  Tensor x, grad_out;
};

Shape make_shape(const BenchConfig& config, int64_t hidden, const torch::Device& device) {
  const int64_t input = config.input_size > 0 ? config.input_size : hidden;
  torch::manual_seed(config.seed);
  Shape shape;
  // dropout stays 0 so that both implementations compute the same function in training mode.
  shape.reference = torch::nn::LSTM(torch::nn::LSTMOptions(input, hidden)
                                        .num_layers(config.layers)
                                        .bidirectional(config.bidirectional));
  shape.reference->to(device);
  shape.custom = lstm_from_torch(shape.reference);
  const int64_t D = config.bidirectional ? 2 : 1;
  const auto opts = torch::TensorOptions().device(device);
  shape.x = torch::randn({config.steps, config.batch, input}, opts);
  shape.grad_out = torch::randn({config.steps, config.batch, D * hidden}, opts);
  return shape;
}

BenchRow bench_one(const BenchConfig& config, int64_t hidden, const std::string& mode,
                   const torch::Device& device, double ceiling_flops) {
  const int64_t input = config.input_size > 0 ? config.input_size : hidden;
  auto [reference, custom, x, grad_out] = make_shape(config, hidden, device);

  BenchRow row;
  std::vector<RoundFn> rounds = {make_round(reference, mode, x, grad_out),
                                 make_round(custom, mode, x, grad_out),
                                 make_onednn_round(reference, mode, x, grad_out, &row.onednn_note)};
  if (!rounds.back()) rounds.pop_back();
  const size_t n = rounds.size();
  std::vector<std::vector<double>> seconds(n);
  std::vector<RoundResult> last(n);
  for (int64_t rep = 0; rep < config.warmup + config.repetitions; ++rep) {
    for (size_t k = 0; k < n; ++k) {
      const size_t which = (k + static_cast<size_t>(rep)) % n;  // rotate who goes first
      synchronize(device);
      const auto start = Clock::now();
      last[which] = rounds[which]();
      synchronize(device);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (rep >= config.warmup) seconds[which].push_back(elapsed);
    }
  }

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
  row.max_abs_diff = max_diff(last[0], last[1]);
  if (n == 3) {
    row.onednn_tokens_per_s = tokens / median(seconds[2]);
    row.speedup_vs_onednn = row.custom_tokens_per_s / row.onednn_tokens_per_s;
    row.onednn_max_abs_diff = max_diff(last[0], last[2]);
  }
  if (ceiling_flops > 0) {
    row.ceiling_tokens_per_s = ceiling_flops / flops_per_token(config, hidden, mode);
    row.fraction_of_ceiling = row.custom_tokens_per_s / row.ceiling_tokens_per_s;
  }

  if (device.is_cpu()) {
    last.assign(n, RoundResult());  // release before measuring
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

  const double ceiling = config.ceiling ? sgemm_ceiling_flops(device, config.ceiling_size) : 0.0;
  std::vector<BenchRow> rows;
  for (int64_t hidden : config.hidden_sizes) {
    for (const auto& mode : config.modes) {
      rows.push_back(bench_one(config, hidden, mode, device, ceiling));
      rows.back().ceiling_gflops = ceiling / 1e9;
    }
  }
  return rows;
}

// Beyond this the oneDNN column did not compute torch's function (see the table's note).
constexpr double kOneDnnTolerance = 1e-3;

std::string lstm_bench_markdown(const std::vector<BenchRow>& rows) {
  std::ostringstream s;
  s << "lstmnlp::LSTM (custom) vs torch::nn::LSTM and oneDNN's LSTM primitive: median tokens/s "
       "(T*B per second) over interleaved rounds; ceiling = tokens/s at the SGEMM rate "
       "measured in this run";
  if (!rows.empty() && rows.front().ceiling_gflops > 0) {
    s << " (" << format_double(rows.front().ceiling_gflops, "%.1f") << " GFLOP/s)";
  }
  s << "; peak = max bytes of LibTorch CPU tensors allocated during one round\n\n";
  s << "| mode | T | B | input | hidden | layers | bi | device | torch tok/s | custom tok/s | "
       "oneDNN tok/s | custom/torch | custom/oneDNN | custom % of ceiling | max abs diff | "
       "oneDNN diff | torch peak MiB | custom peak MiB |\n";
  s << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::string note;
  for (const auto& r : rows) {
    const bool dnnl = r.onednn_tokens_per_s > 0;
    if (!dnnl && note.empty()) note = r.onednn_note;
    s << "| " << r.mode << " | " << r.steps << " | " << r.batch << " | " << r.input_size << " | "
      << r.hidden_size << " | " << r.layers << " | " << (r.bidirectional ? "yes" : "no") << " | "
      << r.device << " | " << format_double(r.torch_tokens_per_s, "%.0f") << " | "
      << format_double(r.custom_tokens_per_s, "%.0f") << " | "
      << (dnnl ? format_double(r.onednn_tokens_per_s, "%.0f") : "n/a") << " | "
      << format_double(r.speedup, "%.2fx") << " | "
      << (dnnl ? format_double(r.speedup_vs_onednn, "%.2fx") : "n/a") << " | "
      << (r.fraction_of_ceiling > 0 ? format_double(100.0 * r.fraction_of_ceiling, "%.0f%%")
                                    : "n/a")
      << " | " << format_double(r.max_abs_diff, "%.1e") << " | "
      << (dnnl ? format_double(r.onednn_max_abs_diff, "%.1e") : "n/a") << " | "
      << format_mib(r.torch_peak_bytes) << " | " << format_mib(r.custom_peak_bytes) << " |\n";
  }
  if (!note.empty()) s << "\n" << note << "\n";
  for (const auto& r : rows) {
    if (r.onednn_tokens_per_s > 0 && r.onednn_max_abs_diff > kOneDnnTolerance) {
      s << "\noneDNN " << r.mode << " at hidden " << r.hidden_size
        << ": its results differ from torch's by " << format_double(r.onednn_max_abs_diff, "%.1e")
        << " (oneDNN 2.6's unidirectional backward gives a wrong dW_hh); its time is that of the "
           "same work, but not of a correct result\n";
    }
  }
  return s.str();
}

nlohmann::json lstm_bench_json(const std::vector<BenchRow>& rows) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& r : rows) {
    const bool dnnl = r.onednn_tokens_per_s > 0;
    array.push_back(
        {{"mode", r.mode},
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
         {"custom_peak_bytes", r.custom_peak_bytes},
         {"onednn_tokens_per_s", dnnl ? nlohmann::json(r.onednn_tokens_per_s) : nullptr},
         {"speedup_vs_onednn", dnnl ? nlohmann::json(r.speedup_vs_onednn) : nullptr},
         {"onednn_max_abs_diff", dnnl ? nlohmann::json(r.onednn_max_abs_diff) : nullptr},
         {"ceiling_gflops", r.ceiling_gflops},
         {"ceiling_tokens_per_s", r.ceiling_tokens_per_s},
         {"fraction_of_ceiling", r.fraction_of_ceiling}});
  }
  return array;
}

std::string lstm_profile_markdown(const BenchConfig& config) {
  const torch::Device device(config.device);
  std::ostringstream s;
  s << "Where a round's time goes (ms per round, mean of " << config.repetitions << " rounds after "
    << config.warmup
    << " untimed; \"other\" is the round less its phases: allocation, copies of states, "
       "autograd)\n\n";
  s << "| hidden | mode | implementation | part | ms | share |\n|---|---|---|---|---|---|\n";
  for (int64_t hidden : config.hidden_sizes) {
    for (const auto& mode : config.modes) {
      auto [reference, custom, x, grad_out] = make_shape(config, hidden, device);
      const double reps = static_cast<double>(config.repetitions);
      auto row = [&](const char* impl, const std::string& part, double seconds, double total) {
        s << "| " << hidden << " | " << mode << " | " << impl << " | " << part << " | "
          << format_double(1e3 * seconds / reps, "%.3f") << " | "
          << format_double(100.0 * seconds / total, "%.1f%%") << " |\n";
      };

      RoundFn round = make_round(custom, mode, x, grad_out);
      for (int64_t i = 0; i < config.warmup; ++i) round();
      profile::start();
      auto start = Clock::now();
      for (int64_t i = 0; i < config.repetitions; ++i) round();
      synchronize(device);
      const double total = std::chrono::duration<double>(Clock::now() - start).count();
      const profile::Totals totals = profile::stop();
      double phases = 0;
      for (size_t p = 0; p < totals.seconds.size(); ++p) {
        if (totals.seconds[p] == 0) continue;
        row("custom", profile::kPhaseNames[p], totals.seconds[p], total);
        phases += totals.seconds[p];
      }
      row("custom", "other", total - phases, total);
      row("custom", "round", total, total);

      if (!device.is_cpu() || !onednn_unavailable_reason(reference).empty()) continue;
      OneDnnLstm dnnl(reference, mode, x.size(0), x.size(1));
      for (int64_t i = 0; i < config.warmup; ++i) dnnl.run(x, grad_out);
      OneDnnResult sum;
      start = Clock::now();
      for (int64_t i = 0; i < config.repetitions; ++i) {
        const OneDnnResult r = dnnl.run(x, grad_out);
        sum.reorder_seconds += r.reorder_seconds;
        sum.forward_seconds += r.forward_seconds;
        sum.backward_seconds += r.backward_seconds;
      }
      const double dnnl_total = std::chrono::duration<double>(Clock::now() - start).count();
      row("oneDNN", "weight and gradient reorders", sum.reorder_seconds, dnnl_total);
      row("oneDNN", "forward primitive", sum.forward_seconds, dnnl_total);
      if (mode == "forward_backward") {
        row("oneDNN", "backward primitive", sum.backward_seconds, dnnl_total);
      }
      row("oneDNN", "other",
          dnnl_total - sum.reorder_seconds - sum.forward_seconds - sum.backward_seconds,
          dnnl_total);
      row("oneDNN", "round", dnnl_total, dnnl_total);
    }
  }
  return s.str();
}

void run_lstm_bench_report(const BenchConfig& config, const std::string& json_path,
                           std::ostream& out) {
  const auto rows = run_lstm_bench(config);
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string("; ") + name + " " + (value ? value : "(unset)");
  };
  out << "threads: LibTorch " << at::get_num_threads() << "; BLAS core "
      << (runtime::openblas_core_name().empty() ? "(not OpenBLAS)" : runtime::openblas_core_name())
      << env("OMP_WAIT_POLICY") << env("GOMP_SPINCOUNT") << env("OPENBLAS_THREAD_TIMEOUT") << "\n\n"
      << lstm_bench_markdown(rows) << std::flush;
  if (!json_path.empty()) write_text(json_path, lstm_bench_json(rows).dump(2) + "\n");
  if (config.profile) out << "\n" << lstm_profile_markdown(config) << std::flush;
}

}  // namespace lstmnlp::bench
