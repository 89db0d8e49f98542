#include "core/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <string>

#include "core/checkpoint.h"
#include "tests/test_util.h"

namespace lstmnlp {
namespace {

using test::input_error_of;
using test::TempDir;

// Writes a torch.save-style archive with our own data.pkl and storage records, to feed the
// reader files that no torch.save writes.
void write_archive(const std::string& path, const std::string& pickle,
                   const std::vector<std::pair<std::string, std::string>>& records = {}) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

// Pieces of protocol-2 pickles.
std::string proto() { return std::string("\x80\x02", 2); }
std::string byte(int n) { return std::string(1, static_cast<char>(n)); }
std::string str(const std::string& s) {
  std::string out = "X";
  for (int i = 0; i < 4; ++i) out += byte((s.size() >> (8 * i)) & 0xff);
  return out + s;
}
std::string int_tuple(const std::vector<int>& values) {
  std::string out = "(";
  for (int v : values) out += "K" + byte(v);
  return out + "t";
}

// {"w": a FloatStorage of `numel` values viewed with `size` and `stride`}.
std::string one_tensor_pickle(int numel, const std::vector<int>& size,
                              const std::vector<int>& stride) {
  return proto() + "}(" + str("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" + str("storage") +
         "ctorch\nFloatStorage\n" + str("0") + str("cpu") + "K" + byte(numel) + "tQK" + byte(0) +
         int_tuple(size) + int_tuple(stride) + "\x89" + "ccollections\nOrderedDict\n)RtRu.";
}

TEST(StateDictTest, RoundTripKeepsNamesOrderDtypesAndValues) {
  torch::manual_seed(3);
  const TempDir tmp("state_dict");
  const torch::Tensor w = torch::randn({4, 3});
  const StateDict saved = {
      {"z.first", torch::randn({2, 5})},
      {"a.weight", w},
      {"a.tied", w},                 // shares w's storage
      {"view", w.t()},               // not contiguous
      {"slice", w.narrow(0, 1, 2)},  // an offset into a storage
      {"double", torch::randn({3}, torch::kDouble)},
      {"half", torch::randn({2, 2}).to(torch::kHalf)},
      {"long", torch::tensor({int64_t{-5}, int64_t{1} << 40, int64_t{7}})},
      {"int", torch::tensor({-3, 300, 70000}, torch::kInt)},
      {"byte", torch::tensor({0, 255}, torch::kUInt8)},
      {"bool", torch::tensor({true, false})},
      {"scalar", torch::tensor(2.5)},
      {"empty", torch::empty({0, 4})},
  };
  const std::string path = tmp / "sd.pt";
  save_state_dict(path, saved);
  const StateDict loaded = load_state_dict(path);
  ASSERT_EQ(loaded.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    SCOPED_TRACE(saved[i].first);
    EXPECT_EQ(loaded[i].first, saved[i].first);
    EXPECT_EQ(loaded[i].second.scalar_type(), saved[i].second.scalar_type());
    EXPECT_EQ(loaded[i].second.sizes(), saved[i].second.sizes());
    EXPECT_TRUE(torch::equal(loaded[i].second, saved[i].second));
  }

  // Tied tensors are one storage record, as Python writes them.
  caffe2::serialize::PyTorchStreamReader reader(path);
  int storages = 0;
  for (const auto& name : reader.getAllRecords()) storages += name.rfind("data/", 0) == 0;
  EXPECT_EQ(storages, 11);  // w, a.tied and slice share one
  EXPECT_TRUE(reader.hasRecord("byteorder"));
}

TEST(StateDictTest, RepeatedNameIsRefused) {
  const TempDir tmp("state_dict");
  const StateDict twice = {{"a", torch::ones(1)}, {"a", torch::ones(1)}};
  const auto message = input_error_of([&] { save_state_dict(tmp / "sd.pt", twice); });
  EXPECT_NE(message.find("names 'a' twice"), std::string::npos) << message;
}

// Each malformed file is an InputError naming the file, never a crash.
TEST(StateDictTest, BadFilesAreInputErrorsNamingTheFile) {
  const TempDir tmp("state_dict");
  auto error_of = [&](const std::string& path) {
    return input_error_of([&] { load_state_dict(path); });
  };
  auto expect_error = [&](const std::string& path, const std::string& part) {
    const auto message = error_of(path);
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << message;
  };

  expect_error(tmp / "missing.pt", "not found");
  expect_error(tmp.path().string(), "is a directory");

  const std::string text = tmp / "text.pt";
  std::ofstream(text) << "this is not a pickle\n";
  expect_error(text, "not a PyTorch file written by torch.save");

  const std::string empty = tmp / "empty.pt";
  std::ofstream(empty).close();
  expect_error(empty, "not a PyTorch file");

  const std::string legacy = tmp / "legacy.pt";
  std::ofstream(legacy, std::ios::binary) << "\x80\x02\x8a\x0a";
  expect_error(legacy, "legacy (pre-1.6, non-zip)");

  // A good file cut short.
  const std::string good = tmp / "good.pt";
  save_state_dict(good, {{"w", torch::randn({64, 64})}});
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string truncated = tmp / "truncated.pt";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error(truncated, "not a PyTorch file");

  // An lstm-nlp checkpoint is a TorchScript archive, not a state_dict.
  const std::string checkpoint = tmp / "checkpoint.pt";
  torch::nn::Linear linear(2, 2);
  save_checkpoint(checkpoint, *linear, nullptr, {"lm"});
  EXPECT_NE(error_of(checkpoint).find(checkpoint), std::string::npos) << error_of(checkpoint);

  const std::string storage(16, '\0');  // 4 floats
  const std::string ok = tmp / "ok.pt";
  write_archive(ok, one_tensor_pickle(4, {2, 2}, {2, 1}), {{"data/0", storage}});
  EXPECT_EQ(load_state_dict(ok).at(0).second.sizes(), (std::vector<int64_t>{2, 2}));

  const std::string code = tmp / "code.pt";
  write_archive(code, proto() + "cos\nsystem\n" + str("ls") + "\x85R.");
  expect_error(code, "refers to the Python object 'os.system'");

  const std::string opcode = tmp / "opcode.pt";
  write_archive(opcode, proto() + "I1\n.");
  expect_error(opcode, "opcode 0x49");

  const std::string cut = tmp / "cut.pt";
  write_archive(cut, proto() + "}(X" + byte(16) + byte(0) + byte(0) + byte(0) + "w");
  expect_error(cut, "truncated");

  const std::string no_record = tmp / "no_record.pt";
  write_archive(no_record, one_tensor_pickle(4, {2, 2}, {2, 1}));
  expect_error(no_record, "lacks the record 'data/0'");

  const std::string short_record = tmp / "short_record.pt";
  write_archive(short_record, one_tensor_pickle(4, {2, 2}, {2, 1}), {{"data/0", "abc"}});
  expect_error(short_record, "holds 3 bytes");

  const std::string too_big = tmp / "too_big.pt";
  write_archive(too_big, one_tensor_pickle(4, {3, 2}, {2, 1}), {{"data/0", storage}});
  expect_error(too_big, "reaches past its storage");

  const std::string not_dict = tmp / "not_dict.pt";
  write_archive(not_dict, proto() + "K" + byte(5) + ".");
  expect_error(not_dict, "holds an int, not a dict of tensors");

  const std::string not_tensor = tmp / "not_tensor.pt";
  write_archive(not_tensor, proto() + "}(" + str("k") + "K" + byte(5) + "u.");
  expect_error(not_tensor, "'k' is an int, not a tensor");

  const std::string unbalanced = tmp / "unbalanced.pt";
  write_archive(unbalanced, proto() + ")t.");
  expect_error(unbalanced, "closes a mark it never opened");
}

// Python's torch reads what we write with a plain torch.load and with weights_only=True (the
// default of PyTorch 2.6+); we read what Python's torch.save writes: a module's state_dict with
// its _metadata, nn.Parameter values, protocol 4 and tensors of a shared storage.
TEST(StateDictTest, PythonTorchReadsOursAndWeReadPythons) {
  const std::string python = test::python_with_torch();
  if (python.empty())
    GTEST_SKIP() << "python3 with torch is not importable (apt install python3-torch)";
  const TempDir tmp("state_dict_python");
  const torch::Tensor w = torch::arange(12, torch::kFloat).view({3, 4});
  save_state_dict(tmp / "ours.pt", {{"w", w},
                                    {"w_tied", w},
                                    {"wt", w.t()},
                                    {"ids", torch::tensor({int64_t{-1}, int64_t{1} << 40})},
                                    {"half", torch::full({2}, 0.5).to(torch::kHalf)}});
  const std::string script = R"(import collections, inspect, sys, torch
sd = torch.load('ours.pt')
if 'weights_only' in inspect.signature(torch.load).parameters:
    sd = torch.load('ours.pt', weights_only=True)
assert list(sd) == ['w', 'w_tied', 'wt', 'ids', 'half'], list(sd)
assert torch.equal(sd['w'], torch.arange(12.).view(3, 4))
assert sd['w_tied'].data_ptr() == sd['w'].data_ptr()
assert torch.equal(sd['wt'], sd['w'].t())
assert sd['ids'].tolist() == [-1, 1 << 40] and sd['ids'].dtype == torch.int64
assert sd['half'].dtype == torch.float16 and sd['half'].tolist() == [0.5, 0.5]
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LSTM(2, 4, num_layers=2))
torch.save(m.state_dict(), 'module.pt')
with torch.no_grad():
    m[0].weight.copy_(torch.arange(6.).view(2, 3))
torch.save(m.state_dict(), 'module.pt')
big = torch.arange(10.)
torch.save({'param': torch.nn.Parameter(torch.ones(2, 2)), 'a': big[2:5], 'b': big[::3],
            'i': torch.tensor([3], dtype=torch.int32)}, 'mixed.pt', pickle_protocol=4)
print('ok')
)";
  const auto run = test::run_python(python, tmp.path(), "check.py", script);
  ASSERT_EQ(run.status, 0) << run.output;

  const StateDict module = load_state_dict(tmp / "module.pt");
  ASSERT_EQ(module.size(), 10u);
  EXPECT_EQ(module[0].first, "0.weight");
  EXPECT_TRUE(torch::equal(module[0].second, torch::arange(6, torch::kFloat).view({2, 3})));
  EXPECT_EQ(module[9].first, "1.bias_hh_l1");
  EXPECT_EQ(module[9].second.sizes(), (std::vector<int64_t>{16}));

  const StateDict mixed = load_state_dict(tmp / "mixed.pt");
  ASSERT_EQ(mixed.size(), 4u);
  EXPECT_TRUE(torch::equal(mixed[0].second, torch::ones({2, 2})));
  EXPECT_TRUE(torch::equal(mixed[1].second, torch::tensor({2.0f, 3.0f, 4.0f})));
  EXPECT_TRUE(torch::equal(mixed[2].second, torch::tensor({0.0f, 3.0f, 6.0f, 9.0f})));
  EXPECT_EQ(mixed[3].second.scalar_type(), torch::kInt);
}

}  // namespace
}  // namespace lstmnlp
