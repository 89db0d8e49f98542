#include "core/checkpoint.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/error.h"
#include "tests/test_util.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;

struct Net : torch::nn::Module {
  Net(int in, int out) : fc(register_module("fc", torch::nn::Linear(in, out))) {
    register_buffer("count", torch::zeros({1}));
  }
  torch::nn::Linear fc;
};

class CheckpointTest : public ::testing::Test {
 protected:
  const test::TempDir tmp_{"ckpt"};
  const fs::path dir_ = tmp_.path();
  const std::string path_ = (dir_ / "latest.pt").string();
};

TEST_F(CheckpointTest, RoundTripRestoresWeightsOptimizerMetaAndRng) {
  torch::manual_seed(7);
  Net net(4, 3);
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(0.01));
  auto loss = net.fc->forward(torch::randn({5, 4})).pow(2).sum();
  loss.backward();
  opt.step();

  CheckpointMeta meta{"lm", 42, 3, "train:\n  lr: 0.5\n", std::string("spm\0bytes", 9), "{}"};
  save_checkpoint(path_, net, &opt, meta);
  const auto expected_next = torch::rand({4});  // the draw right after saving

  torch::manual_seed(99);
  Net other(4, 3);
  torch::optim::Adam other_opt(other.parameters(), torch::optim::AdamOptions(0.01));
  const auto loaded = load_checkpoint(path_, other, &other_opt, /*restore_rng=*/true, "lm");

  EXPECT_EQ(loaded.step, 42);
  EXPECT_EQ(loaded.epoch, 3);
  EXPECT_EQ(loaded.config_yaml, meta.config_yaml);
  EXPECT_EQ(loaded.tokenizer_model, meta.tokenizer_model);
  EXPECT_TRUE(torch::equal(other.fc->weight, net.fc->weight));
  EXPECT_TRUE(torch::equal(other.fc->bias, net.fc->bias));
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected_next));

  // Same optimizer state: one more identical step gives identical weights.
  opt.zero_grad();
  other_opt.zero_grad();
  for (auto* pair : {&net, &other}) {
    auto l = pair->fc->forward(torch::ones({2, 4})).sum();
    l.backward();
  }
  opt.step();
  other_opt.step();
  EXPECT_TRUE(torch::allclose(other.fc->weight, net.fc->weight, 0, 0));
}

TEST_F(CheckpointTest, ShapeMismatchNamesTheTensor) {
  Net net(4, 3);
  save_checkpoint(path_, net, nullptr, {"lm"});
  Net bigger(4, 5);
  try {
    load_checkpoint(path_, bigger, nullptr);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("param:fc.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 4]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[5, 4]"), std::string::npos) << msg;
  }
}

TEST_F(CheckpointTest, WrongKindMissingAndCorruptFilesAreInputErrors) {
  Net net(2, 2);
  save_checkpoint(path_, net, nullptr, {"lm"});
  EXPECT_THROW(load_checkpoint(path_, net, nullptr, true, "sentiment"), InputError);
  EXPECT_THROW(load_checkpoint((dir_ / "missing.pt").string(), net, nullptr), InputError);

  const auto corrupt = (dir_ / "corrupt.pt").string();
  std::ofstream(corrupt) << "not a checkpoint";
  EXPECT_THROW(load_checkpoint(corrupt, net, nullptr), InputError);

  // A truncated copy of a real checkpoint.
  std::ifstream in(path_, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(corrupt, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THROW(read_checkpoint_meta(corrupt), InputError);
}

TEST_F(CheckpointTest, KillDuringSaveLeavesThePreviousCheckpointLoadable) {
  Net small(2, 2);
  torch::NoGradGuard no_grad;
  small.fc->weight.fill_(1.5);
  save_checkpoint(path_, small, nullptr, {"lm", 1});

  // A child keeps overwriting the checkpoint with a large model until it is killed mid-write.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Net big(2000, 2000);  // 16 MB per save
    for (int64_t step = 2;; ++step) save_checkpoint(path_, big, nullptr, {"lm", step});
  }
  // Wait until the child is writing a temporary file, then kill it.
  bool saw_tmp = false;
  for (int i = 0; i < 2000 && !saw_tmp; ++i) {
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().filename().string().find(".tmp-") != std::string::npos) saw_tmp = true;
    }
    if (!saw_tmp) ::usleep(1000);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(saw_tmp);

  // Whatever was interrupted, `latest.pt` is a complete checkpoint: the old one or a new one.
  const auto meta = read_checkpoint_meta(path_);
  if (meta.step == 1) {
    Net loaded(2, 2);
    load_checkpoint(path_, loaded, nullptr);
    EXPECT_TRUE(torch::equal(loaded.fc->weight, small.fc->weight));
  } else {
    Net loaded(2000, 2000);
    EXPECT_NO_THROW(load_checkpoint(path_, loaded, nullptr));
  }
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Flips one byte of the first occurrence of `pattern` in the file; false when it is absent.
bool flip_byte_in(const std::string& path, const std::string& pattern, size_t offset = 0) {
  std::string bytes = read_bytes(path);
  const size_t at = bytes.find(pattern);
  if (at == std::string::npos) return false;
  bytes[at + offset] = static_cast<char>(bytes[at + offset] ^ 0x5A);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return true;
}

// The bytes of a float tensor, to find it in a checkpoint file.
std::string bytes_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<float>()), c.numel() * 4);
}

TEST_F(CheckpointTest, AFlippedByteInATensorIsAnErrorNamingIt) {
  Net net(4, 3);
  torch::NoGradGuard no_grad;
  net.fc->weight.copy_(torch::arange(12, torch::kFloat32).reshape({3, 4}) * 0.37f + 1.0f);
  save_checkpoint(path_, net, nullptr, {"lm", 5});
  ASSERT_TRUE(flip_byte_in(path_, bytes_of(net.fc->weight), /*offset=*/21));
  Net other(4, 3);
  const auto before = other.fc->weight.clone();
  const auto msg = test::input_error_of([&] { load_checkpoint(path_, other, nullptr); });
  EXPECT_NE(msg.find(path_), std::string::npos) << msg;
  EXPECT_NE(msg.find("'param:fc.weight' does not match its checksum"), std::string::npos) << msg;
  // Nothing was copied into the model.
  EXPECT_TRUE(torch::equal(other.fc->weight, before));
}

TEST_F(CheckpointTest, AFlippedByteInTheMetadataIsAnErrorNamingIt) {
  Net net(2, 2);
  CheckpointMeta meta{"lm", 3, 1, "model:\n  hidden_size: 650\n"};
  save_checkpoint(path_, net, nullptr, meta);
  ASSERT_TRUE(flip_byte_in(path_, "hidden_size: 650", /*offset=*/14));
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_); });
  EXPECT_NE(msg.find("'config_yaml' does not match its checksum"), std::string::npos) << msg;
}

// Found by fuzz_checkpoint: one changed byte in the name of the archive's code entry made
// LibTorch's importer throw torch::jit::ErrorReport ("Unknown type name '__torch__.Module'"),
// which is no c10::Error and ended lstm-lm with "internal error" instead of exit 2.
TEST_F(CheckpointTest, ADamagedArchiveEntryNameIsAnInputError) {
  Net net(2, 2);
  save_checkpoint(path_, net, nullptr, {"lm", 1});
  std::string bytes = read_bytes(path_);
  const std::string name = "code/__torch__.py";
  size_t renamed = 0;
  for (size_t at = bytes.find(name); at != std::string::npos; at = bytes.find(name, at + 1)) {
    bytes[at + name.size() - 3] = '\xe0';  // "__torch__.py" -> "__torch__\xe0py"
    ++renamed;
  }
  ASSERT_GT(renamed, 0u) << "the archive has no entry " << name;
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_); });
  EXPECT_EQ(msg.rfind(path_ + ": not a readable checkpoint (", 0), 0u) << msg;
  Net other(2, 2);
  EXPECT_NE(test::input_error_of([&] { load_checkpoint(path_, other, nullptr); }), "no InputError");
}

// torch::load takes a tensor's pickled size as it is; a size beyond its stored bytes made the
// checksum table's copy read past its buffer (fuzz_checkpoint: heap-buffer-overflow).
TEST_F(CheckpointTest, ATensorLargerThanItsDataIsAnInputError) {
  Net net(2, 2);
  save_checkpoint(path_, net, nullptr, {"lm", 1});
  std::string bytes = read_bytes(path_);
  // In data.pkl, the table's entry: its name, its storage, then offset 0 (K\0) and the size
  // tuple, "(M" and the size as a little-endian uint16 (the table has 256 to 65,535 bytes).
  const size_t name = bytes.find("checksumsq");
  ASSERT_NE(name, std::string::npos);
  const size_t size = bytes.find(std::string("K\0(M", 4), name);
  ASSERT_NE(size, std::string::npos);
  ASSERT_LT(size - name, 64u);
  ++bytes[size + 4];  // one byte more than the storage holds
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_); });
  EXPECT_NE(msg.find("'checksums' has a shape of"), std::string::npos) << msg;
  EXPECT_NE(msg.find("but not the data for it"), std::string::npos) << msg;
}

// LibTorch sizes a storage by its pickled element count and fills it from the record its key
// names: the table pointed at the 8-byte record of checksums_hash read 576 bytes from 8
// (fuzz_checkpoint: heap-buffer-overflow).
TEST_F(CheckpointTest, ATensorOnAnotherTensorsSmallerRecordIsAnInputError) {
  Net net(2, 2);
  save_checkpoint(path_, net, nullptr, {"lm", 1});
  std::string bytes = read_bytes(path_);
  // data.pkl: "checksums", then its storage's persistent id holding the record key as a string
  // (X, a 4-byte length, the digits); then checksums_hash's, whose record holds one int64.
  const size_t table = bytes.find("checksumsq");
  const size_t hash = bytes.find("checksums_hashq");
  ASSERT_NE(table, std::string::npos);
  ASSERT_NE(hash, std::string::npos);
  auto key_after = [&](size_t from) {
    const size_t x = bytes.find('X', from);
    const auto length = static_cast<uint8_t>(bytes[x + 1]);
    return std::make_pair(x + 5, static_cast<size_t>(length));
  };
  const auto [table_key, table_length] = key_after(table);
  const auto [hash_key, hash_length] = key_after(hash);
  ASSERT_EQ(table_length, hash_length) << "the keys must have as many digits";
  bytes.replace(table_key, table_length, bytes.substr(hash_key, hash_length));
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_); });
  EXPECT_NE(msg.find("'checksums' has a shape of"), std::string::npos) << msg;
  EXPECT_NE(msg.find("but not the data for it"), std::string::npos) << msg;
}

// LibTorch's unpickler reserves the length that data.pkl states for a string before reading it:
// a damaged length made it reserve 4 GB (fuzz_checkpoint: out of memory).
TEST_F(CheckpointTest, APickledLengthBeyondTheFileIsAnInputError) {
  Net net(2, 2);
  save_checkpoint(path_, net, nullptr, {"lm", 1});
  std::string bytes = read_bytes(path_);
  // BINUNICODE: 'X', a little-endian uint32 length, the UTF-8 bytes.
  const std::string key = std::string("X\x09\0\0\0", 5) + "checksums";
  const size_t at = bytes.find(key);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at + 1, 4, std::string("\xf0\xff\xff\x7f", 4));  // 2 GB
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_); });
  EXPECT_NE(msg.find("data.pkl is damaged"), std::string::npos) << msg;
}

// A float storage turned quantized (QInt8Storage) sent LibTorch's rebuild of the tensor into a
// 26 GB allocation (fuzz_checkpoint); no checkpoint holds quantized tensors.
TEST_F(CheckpointTest, AQuantizedStorageIsAnInputError) {
  Net net(2, 2);
  save_checkpoint(path_, net, nullptr, {"lm", 1});
  std::string bytes = read_bytes(path_);
  const std::string global = "torch\nFloatStorage";
  const size_t at = bytes.find(global);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, global.size(), "torch\nQInt8Storage");
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_); });
  EXPECT_NE(msg.find("data.pkl is damaged"), std::string::npos) << msg;
}

// LibTorch's unpickler grows its memo table to the largest key a LONG_BINPUT names: a damaged
// data.pkl made it ask for 28 GB (fuzz_checkpoint). A pickler gives out keys 0, 1, 2, ...
TEST_F(CheckpointTest, AMemoKeyBeyondThoseGivenOutIsAnInputError) {
  {
    caffe2::serialize::PyTorchStreamWriter writer(path_);
    // PROTO 2, EMPTY_LIST, BINPUT 0, LONG_BINPUT 0x7fffffff, STOP.
    const std::string pickle("\x80\x02]q\x00r\xff\xff\xff\x7f.", 11);
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  }
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_); });
  EXPECT_NE(msg.find("data.pkl is damaged"), std::string::npos) << msg;
}

TEST_F(CheckpointTest, TheOptimizerStateIsChecksummedToo) {
  Net net(4, 3);
  torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  net.fc->forward(torch::ones({2, 4})).sum().backward();
  opt.step();
  save_checkpoint(path_, net, &opt, {"lm", 1});
  // The momentum buffer of the bias after one step is its gradient: 2 per output.
  const std::string momentum = bytes_of(torch::full({3}, 2.0f));
  ASSERT_TRUE(flip_byte_in(path_, momentum, /*offset=*/2));
  Net other(4, 3);
  torch::optim::SGD other_opt(other.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  EXPECT_NO_THROW(load_checkpoint(path_, other, nullptr));  // weights alone are intact
  const auto msg = test::input_error_of([&] { load_checkpoint(path_, other, &other_opt); });
  EXPECT_NE(msg.find("'optimizer state' does not match its checksum"), std::string::npos) << msg;
}

TEST_F(CheckpointTest, AnotherAppsCheckpointIsNamed) {
  Net net(2, 2);
  save_checkpoint(path_, net, nullptr, {"sentiment"});
  const auto msg = test::input_error_of([&] { read_checkpoint_meta(path_, "lm"); });
  EXPECT_NE(msg.find("this is a lstm-sentiment checkpoint, not a lstm-lm one"), std::string::npos)
      << msg;
  EXPECT_NE(test::input_error_of([&] {
              load_checkpoint(path_, net, nullptr, true, "lm");
            }).find("lstm-sentiment"),
            std::string::npos);
}

TEST_F(CheckpointTest, ADirectoryIsNotACheckpoint) {
  Net net(2, 2);
  const auto msg = test::input_error_of([&] { load_checkpoint(dir_.string(), net, nullptr); });
  EXPECT_NE(msg.find("is a directory, expected a checkpoint file"), std::string::npos) << msg;
}

torch::Tensor bytes_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}

// Writes a checkpoint as format 1 did, before checksums: the same entries, without "checksums",
// and the optimizer as a nested archive.
void save_format_one(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer& optimizer, const std::string& config_yaml) {
  torch::serialize::OutputArchive archive;
  archive.write("format_version", torch::tensor(int64_t{1}));
  archive.write("kind", bytes_tensor("lm"));
  archive.write("config_yaml", bytes_tensor(config_yaml));
  archive.write("tokenizer_model", bytes_tensor(""));
  archive.write("extra", bytes_tensor("{}"));
  archive.write("loop_state", bytes_tensor("{}"));
  archive.write("counters", torch::tensor({int64_t{9}, int64_t{2}}));
  std::string names;
  int64_t i = 0;
  for (const auto& p : model.named_parameters()) {
    archive.write("t" + std::to_string(i++), p.value().detach());
    names += "param:" + p.key() + "\n";
  }
  for (const auto& b : model.named_buffers()) {
    archive.write("t" + std::to_string(i++), b.value().detach());
    names += "buffer:" + b.key() + "\n";
  }
  archive.write("tensor_names", bytes_tensor(names));
  torch::serialize::OutputArchive opt_archive;
  optimizer.save(opt_archive);
  archive.write("optimizer", opt_archive);
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("averaged_count", torch::tensor(int64_t{0}));
  archive.save_to(path);
}

TEST_F(CheckpointTest, AFormatOneCheckpointLoadsWithoutChecksums) {
  torch::manual_seed(5);
  Net net(4, 3);
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(0.01));
  net.fc->forward(torch::ones({2, 4})).sum().backward();
  opt.step();
  save_format_one(path_, net, opt, "a: 1\n");

  Net other(4, 3);
  torch::optim::Adam other_opt(other.parameters(), torch::optim::AdamOptions(0.01));
  const auto meta = load_checkpoint(path_, other, &other_opt, /*restore_rng=*/true, "lm");
  EXPECT_EQ(meta.step, 9);
  EXPECT_EQ(meta.config_yaml, "a: 1\n");
  EXPECT_TRUE(torch::equal(other.fc->weight, net.fc->weight));
  // Re-saved, it gets checksums.
  save_checkpoint(path_, other, &other_opt, meta);
  ASSERT_TRUE(flip_byte_in(path_, "a: 1\n"));
  EXPECT_NE(test::input_error_of([&] { read_checkpoint_meta(path_); }), "no InputError");
}

// Not a check but a measurement: what checksums cost on a checkpoint of about 75 MB (the weights
// and Adam's state of a 6.3M-parameter model), against the same checkpoint in format 1. Run with
// --gtest_also_run_disabled_tests --gtest_filter='*ChecksumCost*'.
TEST_F(CheckpointTest, DISABLED_ChecksumCost) {
  struct Big : torch::nn::Module {
    Big() {
      for (int i = 0; i < 6; ++i) {
        layers.emplace_back(
            register_module("l" + std::to_string(i), torch::nn::Linear(1024, 1024)));
      }
    }
    std::vector<torch::nn::Linear> layers;
  };
  Big net;
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(0.01));
  for (auto& p : net.parameters()) p.mutable_grad() = torch::ones_like(p);
  opt.step();
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  constexpr int kRounds = 5;
  // The fastest of kRounds runs of f, in milliseconds.
  auto best_ms = [&](const auto& f) {
    double best = 1e30;
    for (int i = 0; i < kRounds; ++i) {
      const auto t = Clock::now();
      f();
      best = std::min(best, seconds(t) * 1e3);
    }
    return best;
  };
  const std::string old_path = (dir_ / "format1.pt").string();
  const double save_ms = best_ms([&] { save_checkpoint(path_, net, &opt, {"lm", 1}); });
  const double save_old_ms = best_ms([&] { save_format_one(old_path, net, opt, ""); });
  const double load_ms = best_ms([&] { load_checkpoint(path_, net, &opt); });
  const double load_old_ms = best_ms([&] { load_checkpoint(old_path, net, &opt); });
  const double meta_ms = best_ms([&] { read_checkpoint_meta(path_); });
  // Reading the zip archive alone, which every load does first.
  const double open_ms = best_ms([&] { torch::serialize::InputArchive().load_from(path_); });
  const double open_old_ms = best_ms([&] { torch::serialize::InputArchive().load_from(old_path); });
  const double weights_ms = best_ms([&] { load_checkpoint(path_, net, nullptr); });
  const double weights_old_ms = best_ms([&] { load_checkpoint(old_path, net, nullptr); });
  const auto bytes = read_bytes(path_);
  const auto all = torch::from_blob(const_cast<char*>(bytes.data()),
                                    {static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  const double hash_ms = best_ms([&] {
    volatile uint64_t sum = tensor_checksum(all);
    (void)sum;
  });
  // What save_checkpoint spends in its atomic write (temporary file, fsync, rename).
  const double write_ms = best_ms([&] { write_file_atomic((dir_ / "bytes.bin").string(), bytes); });
  std::cout << "checkpoint of " << static_cast<double>(fs::file_size(path_)) / 1e6
            << " MB (format 1: " << static_cast<double>(fs::file_size(old_path)) / 1e6
            << " MB), best of " << kRounds << ":\n"
            << "  XXH3 over all its bytes: " << hash_ms << " ms\n"
            << "  load_checkpoint with optimizer: " << load_ms
            << " ms (format 1, unchecked: " << load_old_ms << " ms)\n"
            << "  load_checkpoint without optimizer: " << weights_ms
            << " ms (format 1: " << weights_old_ms << " ms)\n"
            << "  read_checkpoint_meta: " << meta_ms << " ms\n"
            << "  InputArchive::load_from alone: " << open_ms << " ms (format 1: " << open_old_ms
            << " ms)\n"
            << "  save_checkpoint: " << save_ms << " ms, of which write_file_atomic of its bytes "
            << write_ms << " ms (format 1 through archive.save_to, no fsync: " << save_old_ms
            << " ms)\n";
}

TEST(WriteFileAtomic, ReplacesContentAndLeavesNoTemporaryFile) {
  const test::TempDir tmp("atomic");
  const auto& dir = tmp.path();
  const auto path = (dir / "config.yaml").string();
  write_file_atomic(path, "a: 1\n");
  write_file_atomic(path, "a: 2\n");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "a: 2\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace lstmnlp
