#include "core/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace lstmnlp {
namespace {

constexpr int64_t kFormatVersion = 1;

torch::Tensor bytes_to_tensor(const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_to_bytes(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Every tensor of the module (parameters, then buffers) under a stable name.
std::vector<std::pair<std::string, torch::Tensor>> module_tensors(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back("param:" + p.key(), p.value());
  for (const auto& b : m.named_buffers()) out.emplace_back("buffer:" + b.key(), b.value());
  return out;
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError(path + ": checkpoint not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw InputError(path + ": not a readable checkpoint (" +
                     std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
  return archive;
}

std::string read_string(torch::serialize::InputArchive& archive, const std::string& path,
                        const std::string& key) {
  torch::Tensor t;
  if (!archive.try_read(key, t)) throw InputError(path + ": checkpoint lacks '" + key + "'");
  return tensor_to_bytes(t);
}

CheckpointMeta read_meta(torch::serialize::InputArchive& archive, const std::string& path) {
  torch::Tensor version;
  if (!archive.try_read("format_version", version)) {
    throw InputError(path + ": not an lstm-nlp checkpoint (no format_version)");
  }
  if (version.item<int64_t>() != kFormatVersion) {
    throw InputError(path + ": checkpoint format " + std::to_string(version.item<int64_t>()) +
                     " is not supported (expected " + std::to_string(kFormatVersion) + ")");
  }
  CheckpointMeta meta;
  meta.kind = read_string(archive, path, "kind");
  meta.config_yaml = read_string(archive, path, "config_yaml");
  meta.tokenizer_model = read_string(archive, path, "tokenizer_model");
  meta.extra = read_string(archive, path, "extra");
  meta.loop_state = read_string(archive, path, "loop_state");
  torch::Tensor counters;
  if (!archive.try_read("counters", counters))
    throw InputError(path + ": checkpoint lacks counters");
  meta.step = counters[0].item<int64_t>();
  meta.epoch = counters[1].item<int64_t>();
  return meta;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::filesystem::path target(path);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(tmp + ": cannot write");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw InputError(tmp + ": write failed (disk full?)");
  }
  fsync_path(tmp, O_RDONLY);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot rename the temporary file into place");
  }
  const auto dir = target.has_parent_path() ? target.parent_path().string() : ".";
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer, const CheckpointMeta& meta) {
  torch::serialize::OutputArchive archive;
  archive.write("format_version", torch::tensor(kFormatVersion));
  archive.write("kind", bytes_to_tensor(meta.kind));
  archive.write("config_yaml", bytes_to_tensor(meta.config_yaml));
  archive.write("tokenizer_model", bytes_to_tensor(meta.tokenizer_model));
  archive.write("extra", bytes_to_tensor(meta.extra));
  archive.write("loop_state", bytes_to_tensor(meta.loop_state));
  archive.write("counters", torch::tensor({meta.step, meta.epoch}));

  const auto tensors = module_tensors(model);
  std::string names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    names += tensors[i].first + "\n";
    archive.write("t" + std::to_string(i), tensors[i].second.detach().to(torch::kCPU));
  }
  archive.write("tensor_names", bytes_to_tensor(names));

  if (optimizer != nullptr) {
    torch::serialize::OutputArchive opt_archive;
    optimizer->save(opt_archive);
    archive.write("optimizer", opt_archive);
  }
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("averaged_count", torch::tensor(static_cast<int64_t>(meta.averaged.size())));
  for (size_t i = 0; i < meta.averaged.size(); ++i) {
    archive.write("a" + std::to_string(i), meta.averaged[i].detach().to(torch::kCPU));
  }

  std::ostringstream buffer;
  archive.save_to(buffer);
  write_file_atomic(path, buffer.str());
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  auto archive = open_archive(path);
  return read_meta(archive, path);
}

CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer, bool restore_rng,
                               const std::string& expected_kind) {
  auto archive = open_archive(path);
  CheckpointMeta meta = read_meta(archive, path);
  if (!expected_kind.empty() && meta.kind != expected_kind) {
    throw InputError(path + ": checkpoint of '" + meta.kind + "', expected '" + expected_kind +
                     "'");
  }

  std::vector<std::string> saved_names;
  std::istringstream names(read_string(archive, path, "tensor_names"));
  for (std::string line; std::getline(names, line);) saved_names.push_back(line);

  const auto tensors = module_tensors(model);
  for (const auto& [name, _] : tensors) {
    if (std::find(saved_names.begin(), saved_names.end(), name) == saved_names.end()) {
      throw InputError(path + ": checkpoint has no '" + name + "' for this model");
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < saved_names.size(); ++i) {
    auto it = std::find_if(tensors.begin(), tensors.end(),
                           [&](const auto& p) { return p.first == saved_names[i]; });
    if (it == tensors.end()) {
      throw InputError(path + ": checkpoint's '" + saved_names[i] + "' is not in this model");
    }
    torch::Tensor saved;
    archive.read("t" + std::to_string(i), saved);
    if (saved.sizes() != it->second.sizes()) {
      throw InputError(path + ": '" + saved_names[i] + "' has shape " + shape_of(saved) +
                       " in the checkpoint but " + shape_of(it->second) + " in the model");
    }
    it->second.copy_(saved);
  }

  if (optimizer != nullptr) {
    torch::serialize::InputArchive opt_archive;
    if (!archive.try_read("optimizer", opt_archive)) {
      throw InputError(path + ": checkpoint has no optimizer state");
    }
    try {
      optimizer->load(opt_archive);
    } catch (const c10::Error& e) {
      throw InputError(path + ": optimizer state does not match (" +
                       std::string(e.what_without_backtrace()).substr(0, 200) + ")");
    }
  }
  // Checkpoints written before weight averaging existed have no average: training starts one.
  torch::Tensor averaged_count;
  if (archive.try_read("averaged_count", averaged_count)) {
    const auto params = model.parameters();
    const int64_t count = averaged_count.item<int64_t>();
    if (count != 0 && count != static_cast<int64_t>(params.size())) {
      throw InputError(path + ": checkpoint averages " + std::to_string(count) +
                       " parameters, the model has " + std::to_string(params.size()));
    }
    for (int64_t i = 0; i < count; ++i) {
      torch::Tensor average;
      archive.read("a" + std::to_string(i), average);
      if (average.sizes() != params[i].sizes()) {
        throw InputError(path + ": averaged parameter " + std::to_string(i) + " has shape " +
                         shape_of(average) + " in the checkpoint but " + shape_of(params[i]) +
                         " in the model");
      }
      meta.averaged.push_back(average.to(params[i].device()));
    }
  }
  if (restore_rng) {
    torch::Tensor rng;
    if (archive.try_read("rng_cpu", rng)) {
      at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the global one
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
  }
  return meta;
}

}  // namespace lstmnlp
