#include "core/checkpoint.h"

#include <c10/core/CPUAllocator.h>
#include <caffe2/serialize/inline_container.h>
#include <malloc.h>
#include <xxhash.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include "core/error.h"

namespace lstmnlp {
namespace {

// 1: no checksums, the optimizer as a nested archive. 2: a checksum of every entry in
// "checksums" and the optimizer state as the bytes of its own archive, so that it is checked too.
constexpr int64_t kFormatVersion = 2;
constexpr int64_t kOldestFormat = 1;

torch::Tensor bytes_to_tensor(const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_to_bytes(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

// Whether a pickle's length-prefixed arguments (strings, bytes, long integers) fit in it, its memo
// keys count up as a pickler writes them, and it names no quantized storage. LibTorch's unpickler
// reserves the length a damaged data.pkl states before it reads the bytes (fuzz_checkpoint: 4 GB
// for one string), and grows its memo table to the largest key it is given (28 GB for one
// LONG_BINPUT); this walks the opcodes of pickle protocols 0 to 5.
bool pickle_is_plausible(const char* data, size_t size) {
  size_t pos = 0;
  uint64_t memo_size = 0;  // the keys a pickler would have given out so far
  auto length = [&](size_t width, uint64_t& n) {
    if (width > size - pos) return false;
    n = 0;
    for (size_t i = 0; i < width; ++i) n |= uint64_t{static_cast<uint8_t>(data[pos + i])} << 8 * i;
    pos += width;
    return true;
  };
  auto skip_line = [&]() {
    const void* end = std::memchr(data + pos, '\n', size - pos);
    if (end == nullptr) return false;
    pos = static_cast<size_t>(static_cast<const char*>(end) - data) + 1;
    return true;
  };
  while (pos < size) {
    const auto op = static_cast<uint8_t>(data[pos++]);
    uint64_t n = 0;
    size_t prefix = 0, fixed = 0;
    switch (op) {
      case '.':  // STOP
        return true;
      case 'X':
      case 'B':
      case 'T':
      case 0x8b:  // BINUNICODE, BINBYTES, BINSTRING, LONG4
        prefix = 4;
        break;
      case 'C':
      case 'U':
      case 0x8c:
      case 0x8a:  // SHORT_BINBYTES, SHORT_BINSTRING, ..., LONG1
        prefix = 1;
        break;
      case 0x8d:
      case 0x8e:
      case 0x96:  // BINUNICODE8, BINBYTES8, BYTEARRAY8
        prefix = 8;
        break;
      case 'q':
      case 'r': {  // BINPUT, LONG_BINPUT: a memo key, 1 or 4 bytes
        uint64_t key = 0;
        if (!length(op == 'q' ? 1 : 4, key) || key > memo_size) return false;
        if (key == memo_size) ++memo_size;
        continue;
      }
      case 0x94:  // MEMOIZE
        ++memo_size;
        continue;
      case 'K':
      case 'h':
      case 0x80:
      case 0x82:  // BININT1, BINGET, PROTO, EXT1
        fixed = 1;
        break;
      case 'M':
      case 0x83:  // BININT2, EXT2
        fixed = 2;
        break;
      case 'J':
      case 'j':
      case 0x84:  // BININT, LONG_BINGET, EXT4
        fixed = 4;
        break;
      case 'G':
      case 0x95:  // BINFLOAT, FRAME
        fixed = 8;
        break;
      case 'c': {  // GLOBAL: module and name, each on a line
        const size_t module = pos;
        if (!skip_line()) return false;
        const size_t name = pos;
        if (!skip_line()) return false;
        // A quantized storage, which no checkpoint holds, sent LibTorch's rebuild of a damaged
        // tensor into a 26 GB allocation (fuzz_checkpoint).
        if (name - module == 6 && std::memcmp(data + module, "torch\n", 6) == 0 &&
            data[name] == 'Q') {
          return false;
        }
        continue;
      }
      case 'i':  // INST: two lines
        if (!skip_line() || !skip_line()) return false;
        continue;
      case 'I':
      case 'L':
      case 'F':
      case 'S':
      case 'V':
      case 'P':
      case 'g':
      case 'p':
        if (!skip_line()) return false;
        continue;
      default:
        if ((op == 0 || std::strchr("()]}tldaesuRbNQ012o", op) == nullptr) &&
            (op < 0x81 || op > 0x98)) {
          return false;  // no pickle opcode
        }
        continue;
    }
    if (prefix > 0 && !length(prefix, n)) return false;
    if (prefix == 0) n = fixed;
    if (n > size - pos) return false;
    pos += n;
  }
  return false;  // no STOP
}

// Whether the buffer behind `storage` holds the bytes the storage claims. LibTorch 1.13's loader
// sizes a storage by the element count in data.pkl but fills it from the record the key names,
// whatever that record's size (fuzz_checkpoint: a table of 576 bytes over an 8-byte record). The
// record's buffer comes from the default CPU allocator, whose blocks malloc_usable_size() measures;
// a buffer from anywhere else is not measured.
bool buffer_holds_storage(const c10::Storage& storage) {
  if (storage.nbytes() == 0) return true;
  const c10::DataPtr& data = storage.data_ptr();
  if (data.get() == nullptr) return false;
  if (data.get_deleter() != c10::GetDefaultCPUAllocator()->raw_deleter() ||
      data.get_context() != data.get()) {
    return true;
  }
  return malloc_usable_size(data.get()) >= storage.nbytes();
}

// Whether every element of `t` lies inside its storage. torch::load takes the sizes, strides and
// offset of a damaged file as they are, so reading such a tensor would run past its buffer
// (fuzz_checkpoint: a heap-buffer-overflow copying the checksum table).
bool within_storage(const torch::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return true;
  if (t.storage_offset() < 0 || !t.has_storage()) return false;
  int64_t last = t.storage_offset(), step = 0, bytes = 0;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.stride(d) < 0 || __builtin_mul_overflow(t.size(d) - 1, t.stride(d), &step) ||
        __builtin_add_overflow(last, step, &last)) {
      return false;
    }
  }
  if (__builtin_add_overflow(last, 1, &last) ||
      __builtin_mul_overflow(last, static_cast<int64_t>(t.element_size()), &bytes)) {
    return false;
  }
  return static_cast<size_t>(bytes) <= t.storage().nbytes() && buffer_holds_storage(t.storage());
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

uint64_t string_checksum(const std::string& text) { return XXH3_64bits(text.data(), text.size()); }

// Every tensor of the module (parameters, then buffers) under a stable name.
std::vector<std::pair<std::string, torch::Tensor>> module_tensors(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back("param:" + p.key(), p.value());
  for (const auto& b : m.named_buffers()) out.emplace_back("buffer:" + b.key(), b.value());
  return out;
}

// Writes entries and the checksum of each.
class CheckedWriter {
 public:
  void write(const std::string& key, const torch::Tensor& tensor) {
    archive_.write(key, tensor);
    table_ += key + " " + hex(tensor_checksum(tensor)) + "\n";
  }
  // Adds the checksum table (and its own checksum) and writes everything to `path` atomically.
  void save(const std::string& path) {
    archive_.write("checksums", bytes_to_tensor(table_));
    archive_.write("checksums_hash", torch::tensor(static_cast<int64_t>(string_checksum(table_))));
    write_file_atomic(path, [&](const WriteBytes& write) {
      archive_.save_to([&](const void* data, size_t size) {
        write(data, size);
        return size;
      });
    });
  }

 private:
  torch::serialize::OutputArchive archive_;
  std::string table_;
};

// What LibTorch says went wrong reading a damaged archive, in at most 200 characters. Its zip and
// pickle readers throw c10::Error, but also torch::jit::ErrorReport and other std::exceptions
// (found by fuzz/fuzz_checkpoint), so every one of them is a damaged file.
std::string archive_error(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  return std::string(c10_error ? c10_error->what_without_backtrace() : e.what()).substr(0, 200);
}

// Throws InputError when a pickle of the archive at `path` fails pickle_is_plausible().
void check_pickles(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    for (const std::string& name : reader.getAllRecords()) {
      if (name.size() < 4 || name.compare(name.size() - 4, 4, ".pkl") != 0) continue;
      const auto [bytes, size] = reader.getRecord(name);
      if (!pickle_is_plausible(static_cast<const char*>(bytes.get()), size)) {
        throw InputError(path + ": its " + name + " is damaged (the checkpoint is damaged)");
      }
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(path + ": not a readable checkpoint (" + archive_error(e) + ")");
  }
}

// Reads entries of a checkpoint file, verifying the checksum of each one it reads when the file
// has checksums (format 2).
class CheckedReader {
 public:
  explicit CheckedReader(const std::string& path) : path_(path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      throw InputError(path + ": is a directory, expected a checkpoint file (e.g. " +
                       (std::filesystem::path(path) / "latest.pt").string() + ")");
    }
    if (!std::filesystem::exists(path, ec)) throw InputError(path + ": checkpoint not found");
    check_pickles(path);
    try {
      archive_.load_from(path);
    } catch (const std::exception& e) {
      throw InputError(path + ": not a readable checkpoint (" + archive_error(e) + ")");
    }
    torch::Tensor table;
    if (try_read_raw("checksums", table)) {
      const std::string text = bytes_of("checksums", table);
      torch::Tensor stored;
      if (!try_read_raw("checksums_hash", stored) || stored.numel() != 1 ||
          static_cast<uint64_t>(stored.item<int64_t>()) != string_checksum(text)) {
        throw InputError(path + ": the checksum table is corrupt (the checkpoint is damaged)");
      }
      std::istringstream lines(text);
      for (std::string key, value; lines >> key >> value;) {
        checksums_[key] = std::strtoull(value.c_str(), nullptr, 16);
      }
      checked_ = true;
    }
    torch::Tensor version;
    if (!try_read("format_version", version)) {
      throw InputError(path + ": not an lstm-nlp checkpoint (no format_version)");
    }
    const int64_t format = version.item<int64_t>();
    if (format < kOldestFormat || format > kFormatVersion) {
      throw InputError(path + ": checkpoint format " + std::to_string(format) +
                       " is not supported (expected " + std::to_string(kOldestFormat) + " to " +
                       std::to_string(kFormatVersion) + ")");
    }
    if (format >= 2 && !checked_) {
      throw InputError(path + ": checkpoint format 2 without its checksum table (damaged)");
    }
  }

  /// Reads `key`, naming it `what` in errors; false when absent.
  bool try_read(const std::string& key, torch::Tensor& out, const std::string& what = "") {
    if (!try_read_raw(key, out)) return false;
    verify(key, out, what.empty() ? key : what);
    return true;
  }
  torch::Tensor read(const std::string& key, const std::string& what = "") {
    torch::Tensor out;
    if (!try_read(key, out, what)) {
      throw InputError(path_ + ": checkpoint lacks '" + (what.empty() ? key : what) + "'");
    }
    return out;
  }
  std::string read_string(const std::string& key) { return bytes_of(key, read(key)); }
  /// The nested archive of format 1 (unchecked).
  bool try_read_archive(const std::string& key, torch::serialize::InputArchive& out) {
    try {
      return archive_.try_read(key, out);
    } catch (const std::exception& e) {
      throw InputError(path_ + ": cannot read '" + key + "' (" + archive_error(e) +
                       "; the checkpoint is damaged)");
    }
  }

 private:
  bool try_read_raw(const std::string& key, torch::Tensor& out) {
    bool found = false;
    try {
      found = archive_.try_read(key, out);
    } catch (const std::exception& e) {
      throw InputError(path_ + ": cannot read '" + key + "' (" + archive_error(e) +
                       "; the checkpoint is damaged)");
    }
    if (found && !within_storage(out)) {
      throw InputError(path_ + ": '" + key + "' has a shape of " + shape_of(out) +
                       " but not the data for it (the checkpoint is damaged)");
    }
    return found;
  }
  std::string bytes_of(const std::string& key, const torch::Tensor& t) const {
    if (t.scalar_type() != torch::kUInt8 || t.dim() != 1) {
      throw InputError(path_ + ": '" + key + "' is not a byte string (the checkpoint is damaged)");
    }
    return tensor_to_bytes(t);
  }
  void verify(const std::string& key, const torch::Tensor& tensor, const std::string& what) {
    if (!checked_) return;
    const auto it = checksums_.find(key);
    if (it == checksums_.end()) {
      throw InputError(path_ + ": '" + what + "' has no checksum (the checkpoint is damaged)");
    }
    if (tensor_checksum(tensor) != it->second) {
      throw InputError(path_ + ": '" + what +
                       "' does not match its checksum (the checkpoint is corrupt)");
    }
  }

  std::string path_;
  torch::serialize::InputArchive archive_;
  std::map<std::string, uint64_t> checksums_;
  bool checked_ = false;
};

CheckpointMeta read_meta(CheckedReader& reader, const std::string& path) {
  CheckpointMeta meta;
  meta.kind = reader.read_string("kind");
  meta.config_yaml = reader.read_string("config_yaml");
  meta.tokenizer_model = reader.read_string("tokenizer_model");
  meta.extra = reader.read_string("extra");
  meta.loop_state = reader.read_string("loop_state");
  const torch::Tensor counters = reader.read("counters");
  if (counters.numel() != 2) throw InputError(path + ": checkpoint's counters are malformed");
  meta.step = counters[0].item<int64_t>();
  meta.epoch = counters[1].item<int64_t>();
  return meta;
}

}  // namespace

uint64_t tensor_checksum(const torch::Tensor& tensor) {
  const torch::Tensor c = tensor.detach().to(torch::kCPU).contiguous();
  std::vector<int64_t> header{static_cast<int64_t>(c.scalar_type())};
  header.insert(header.end(), c.sizes().begin(), c.sizes().end());
  const uint64_t seed = XXH3_64bits(header.data(), header.size() * sizeof(int64_t));
  return XXH3_64bits_withSeed(c.data_ptr(), c.nbytes(), seed);
}

void check_checkpoint_kind(const CheckpointMeta& meta, const std::string& path,
                           const std::string& expected_kind) {
  if (expected_kind.empty() || meta.kind == expected_kind) return;
  const std::string what =
      meta.kind.empty() ? "a checkpoint of no app" : "a lstm-" + meta.kind + " checkpoint";
  throw InputError(path + ": this is " + what + ", not a lstm-" + expected_kind + " one");
}

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer, const CheckpointMeta& meta) {
  CheckedWriter archive;
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

  std::string optimizer_bytes;
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive opt_archive;
    optimizer->save(opt_archive);
    opt_archive.save_to([&](const void* data, size_t size) {
      optimizer_bytes.append(static_cast<const char*>(data), size);
      return size;
    });
    // A view of the bytes, which outlive the archive's serialization below.
    archive.write("optimizer_state",
                  torch::from_blob(optimizer_bytes.data(),
                                   {static_cast<int64_t>(optimizer_bytes.size())}, torch::kUInt8));
  }
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("averaged_count", torch::tensor(static_cast<int64_t>(meta.averaged.size())));
  for (size_t i = 0; i < meta.averaged.size(); ++i) {
    archive.write("a" + std::to_string(i), meta.averaged[i].detach().to(torch::kCPU));
  }
  archive.save(path);
}

CheckpointMeta read_checkpoint_meta(const std::string& path, const std::string& expected_kind) {
  CheckedReader reader(path);
  CheckpointMeta meta = read_meta(reader, path);
  check_checkpoint_kind(meta, path, expected_kind);
  return meta;
}

CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer, bool restore_rng,
                               const std::string& expected_kind) {
  CheckedReader reader(path);
  CheckpointMeta meta = read_meta(reader, path);
  check_checkpoint_kind(meta, path, expected_kind);

  std::vector<std::string> saved_names;
  std::istringstream names(reader.read_string("tensor_names"));
  for (std::string line; std::getline(names, line);) saved_names.push_back(line);

  const auto tensors = module_tensors(model);
  for (const auto& [name, _] : tensors) {
    if (std::find(saved_names.begin(), saved_names.end(), name) == saved_names.end()) {
      throw InputError(path + ": checkpoint has no '" + name + "' for this model");
    }
  }
  // Everything is read and verified before the model changes, so that a damaged checkpoint
  // leaves the model as it was.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  for (size_t i = 0; i < saved_names.size(); ++i) {
    auto it = std::find_if(tensors.begin(), tensors.end(),
                           [&](const auto& p) { return p.first == saved_names[i]; });
    if (it == tensors.end()) {
      throw InputError(path + ": checkpoint's '" + saved_names[i] + "' is not in this model");
    }
    torch::Tensor saved = reader.read("t" + std::to_string(i), saved_names[i]);
    if (saved.sizes() != it->second.sizes()) {
      throw InputError(path + ": '" + saved_names[i] + "' has shape " + shape_of(saved) +
                       " in the checkpoint but " + shape_of(it->second) + " in the model");
    }
    copies.emplace_back(it->second, saved);
  }

  // A pointer, not a std::optional: InputArchive's copy constructor takes a non-const reference,
  // which clang rejects inside std::optional.
  std::unique_ptr<torch::serialize::InputArchive> opt_archive;
  torch::Tensor state;  // the bytes opt_archive was loaded from
  if (optimizer != nullptr) {
    opt_archive = std::make_unique<torch::serialize::InputArchive>();
    if (reader.try_read("optimizer_state", state, "optimizer state")) {
      state = state.contiguous();
      const auto& bytes = state;
      try {
        opt_archive->load_from(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                               static_cast<size_t>(bytes.numel()));
      } catch (const std::exception& e) {
        throw InputError(path + ": unreadable optimizer state (" + archive_error(e) + ")");
      }
    } else if (!reader.try_read_archive("optimizer", *opt_archive)) {
      throw InputError(path + ": checkpoint has no optimizer state");
    }
  }
  // Checkpoints written before weight averaging existed have no average: training starts one.
  torch::Tensor averaged_count;
  if (reader.try_read("averaged_count", averaged_count)) {
    const auto params = model.parameters();
    const int64_t count = averaged_count.item<int64_t>();
    if (count != 0 && count != static_cast<int64_t>(params.size())) {
      throw InputError(path + ": checkpoint averages " + std::to_string(count) +
                       " parameters, the model has " + std::to_string(params.size()));
    }
    for (int64_t i = 0; i < count; ++i) {
      torch::Tensor average =
          reader.read("a" + std::to_string(i), "average of parameter " + std::to_string(i));
      if (average.sizes() != params[i].sizes()) {
        throw InputError(path + ": averaged parameter " + std::to_string(i) + " has shape " +
                         shape_of(average) + " in the checkpoint but " + shape_of(params[i]) +
                         " in the model");
      }
      meta.averaged.push_back(average.to(params[i].device()));
    }
  }
  torch::Tensor rng;
  const bool has_rng = restore_rng && reader.try_read("rng_cpu", rng, "RNG state");

  {
    torch::NoGradGuard no_grad;
    for (auto& [target, saved] : copies) target.copy_(saved);
  }
  if (optimizer != nullptr) {
    try {
      optimizer->load(*opt_archive);
    } catch (const std::exception& e) {
      throw InputError(path + ": optimizer state does not match (" + archive_error(e) + ")");
    }
  }
  if (has_rng) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the global one
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  }
  return meta;
}

}  // namespace lstmnlp
