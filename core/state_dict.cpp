#include "core/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/io.h"

namespace lstmnlp {
namespace {

// The storage classes of Python's torch and the dtypes they hold.
struct StorageType {
  c10::ScalarType dtype;
  const char* name;
};
constexpr StorageType kStorageTypes[] = {
    {c10::ScalarType::Float, "FloatStorage"}, {c10::ScalarType::Double, "DoubleStorage"},
    {c10::ScalarType::Half, "HalfStorage"},   {c10::ScalarType::BFloat16, "BFloat16Storage"},
    {c10::ScalarType::Long, "LongStorage"},   {c10::ScalarType::Int, "IntStorage"},
    {c10::ScalarType::Short, "ShortStorage"}, {c10::ScalarType::Char, "CharStorage"},
    {c10::ScalarType::Byte, "ByteStorage"},   {c10::ScalarType::Bool, "BoolStorage"},
};

const char* storage_name(c10::ScalarType dtype) {
  for (const auto& type : kStorageTypes) {
    if (type.dtype == dtype) return type.name;
  }
  return nullptr;
}

std::string c10_reason(const c10::Error& e) {
  std::string what = e.what_without_backtrace();
  const auto newline = what.find('\n');
  if (newline != std::string::npos) what.resize(newline);
  return what.substr(0, 200);
}

// The few pickle opcodes (protocol 2) that a dict of tensors needs.
class Pickler {
 public:
  void op(char code) { out_.push_back(code); }
  void global(const std::string& module, const std::string& name) {
    op('c');
    out_ += module + "\n" + name + "\n";
  }
  void string(const std::string& text) {
    op('X');
    uint32(static_cast<uint32_t>(text.size()));
    out_ += text;
  }
  void integer(int64_t value) {
    if (value >= 0 && value < 256) {
      op('K');
      out_.push_back(static_cast<char>(value));
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
      op('J');
      uint32(static_cast<uint32_t>(static_cast<int32_t>(value)));
    } else {
      op('\x8a');  // LONG1: 8 bytes of little-endian two's complement
      out_.push_back(8);
      for (int i = 0; i < 8; ++i) {
        out_.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff));
      }
    }
  }
  void int_tuple(c10::IntArrayRef values) {
    op('(');
    for (int64_t v : values) integer(v);
    op('t');
  }
  const std::string& bytes() const { return out_; }

 private:
  void uint32(uint32_t value) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// A Python value of the subset a state_dict's pickle holds.
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor
  };
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  int64_t integer = 0;
  double number = 0;
  std::string text;  // a string, a global's "module.name" or a storage's key
  std::vector<std::shared_ptr<Value>> items;  // tuple or list; a dict as key, value, key, ...
  torch::Tensor tensor;                       // a tensor, or a storage as a 1-D tensor
};
using ValuePtr = std::shared_ptr<Value>;

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return "a bool";
    case Value::Kind::kInt:
      return "an int";
    case Value::Kind::kFloat:
      return "a float";
    case Value::Kind::kString:
      return "a string";
    case Value::Kind::kTuple:
      return "a tuple";
    case Value::Kind::kList:
      return "a list";
    case Value::Kind::kDict:
      return "a dict";
    case Value::Kind::kGlobal:
      return "a Python class or function";
    case Value::Kind::kStorage:
      return "a storage";
    case Value::Kind::kTensor:
      return "a tensor";
  }
  return "a value";
}

// Runs `data.pkl` of a torch.save archive, refusing every opcode and global that a dict of tensors
// does not need: no Python code runs, and nothing outside the archive is read.
class Unpickler {
 public:
  Unpickler(std::string path, caffe2::serialize::PyTorchStreamReader& reader, const char* data,
            size_t size)
      : path_(std::move(path)), reader_(reader), data_(data), size_(size) {}

  ValuePtr run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t code = byte();
      switch (code) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          take(8);
          break;   // FRAME (protocol 4)
        case '.':  // STOP
          if (stack_.size() != 1 || !marks_.empty()) fail("data.pkl ends with an unbalanced stack");
          return stack_.back();
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case '0':
          pop();
          break;  // POP
        case '1':
          pop_mark();
          break;  // POP_MARK
        case 'N':
          push(Value::Kind::kNone);
          break;
        case 0x88:
          push_bool(true);
          break;  // NEWTRUE
        case 0x89:
          push_bool(false);
          break;  // NEWFALSE
        case 'K':
          push_int(byte());
          break;  // BININT1
        case 'M':
          push_int(uint16());
          break;  // BININT2
        case 'J':
          push_int(static_cast<int32_t>(uint32()));
          break;  // BININT
        case 0x8a:
          push_int(long1());
          break;  // LONG1
        case 'G':
          push_float();
          break;  // BINFLOAT
        case 'X':
          push_string(take(uint32()));
          break;  // BINUNICODE
        case 0x8c:
          push_string(take(byte()));
          break;  // SHORT_BINUNICODE
        case ')':
          push(Value::Kind::kTuple);
          break;  // EMPTY_TUPLE
        case 't':
          push_tuple(pop_mark());
          break;  // TUPLE
        case 0x85:
          push_tuple(pop_n(1));
          break;  // TUPLE1
        case 0x86:
          push_tuple(pop_n(2));
          break;  // TUPLE2
        case 0x87:
          push_tuple(pop_n(3));
          break;  // TUPLE3
        case ']':
          push(Value::Kind::kList);
          break;  // EMPTY_LIST
        case 'a':
          append(pop_n(1));
          break;  // APPEND
        case 'e':
          append(pop_mark());
          break;  // APPENDS
        case '}':
          push(Value::Kind::kDict);
          break;  // EMPTY_DICT
        case 's':
          set_items(pop_n(2));
          break;  // SETITEM
        case 'u':
          set_items(pop_mark());
          break;     // SETITEMS
        case 'c': {  // GLOBAL
          std::string module = line();
          push_global(module, line());
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto names = pop_n(2);
          push_global(as_string(names[0], "a global's module"), as_string(names[1], "a name"));
          break;
        }
        case 'R':
          reduce();
          break;  // REDUCE
        case 'b':
          build();
          break;  // BUILD
        case 'q':
          memo_put(byte());
          break;  // BINPUT
        case 'r':
          memo_put(uint32());
          break;  // LONG_BINPUT
        case 0x94:
          memo_put(memo_.size());
          break;  // MEMOIZE
        case 'h':
          memo_get(byte());
          break;  // BINGET
        case 'j':
          memo_get(uint32());
          break;  // LONG_BINGET
        case 'Q':
          persistent_load();
          break;  // BINPERSID
        default: {
          std::ostringstream what;
          what << "data.pkl has pickle opcode 0x" << std::hex << static_cast<int>(code) << std::dec
               << " at byte " << at << ", which a state_dict of tensors does not use";
          fail(what.str());
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InputError(path_ + ": " + what); }

  std::string take(size_t n) {
    if (n > size_ - pos_) fail("data.pkl is truncated");
    std::string out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  uint8_t byte() { return static_cast<uint8_t>(take(1)[0]); }
  uint64_t little_endian(size_t n) {
    const std::string b = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(b[i])) << (8 * i);
    return v;
  }
  uint16_t uint16() { return static_cast<uint16_t>(little_endian(2)); }
  uint32_t uint32() { return static_cast<uint32_t>(little_endian(4)); }
  int64_t long1() {
    const size_t n = byte();
    if (n == 0) return 0;
    if (n > 8) fail("data.pkl holds an integer wider than 64 bits");
    uint64_t v = little_endian(n);
    if (n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string line() {
    const void* end = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (end == nullptr) fail("data.pkl is truncated");
    const size_t n = static_cast<const char*>(end) - (data_ + pos_);
    std::string out = take(n);
    take(1);
    return out;
  }

  void push(Value::Kind kind) { stack_.push_back(std::make_shared<Value>(kind)); }
  void push_bool(bool b) {
    push(Value::Kind::kBool);
    stack_.back()->integer = b ? 1 : 0;
  }
  void push_int(int64_t i) {
    push(Value::Kind::kInt);
    stack_.back()->integer = i;
  }
  void push_float() {
    const std::string b = take(8);  // big-endian IEEE 754
    uint64_t bits = 0;
    for (char c : b) bits = (bits << 8) | static_cast<uint8_t>(c);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    push(Value::Kind::kFloat);
    stack_.back()->number = d;
  }
  void push_string(std::string s) {
    push(Value::Kind::kString);
    stack_.back()->text = std::move(s);
  }
  void push_tuple(std::vector<ValuePtr> items) {
    push(Value::Kind::kTuple);
    stack_.back()->items = std::move(items);
  }
  ValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("data.pkl pops an empty stack");
    ValuePtr v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::vector<ValuePtr> pop_n(size_t n) {
    std::vector<ValuePtr> out(n);
    for (size_t i = n; i-- > 0;) out[i] = pop();
    return out;
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("data.pkl closes a mark it never opened");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return out;
  }
  ValuePtr& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back()))
      fail("data.pkl reads an empty stack");
    return stack_.back();
  }
  void append(std::vector<ValuePtr> items) {
    ValuePtr& list = top();
    if (list->kind != Value::Kind::kList)
      fail("data.pkl appends to " + std::string(kind_name(list->kind)));
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  void set_items(std::vector<ValuePtr> items) {
    ValuePtr& dict = top();
    if (dict->kind != Value::Kind::kDict || items.size() % 2 != 0) {
      fail("data.pkl sets items of " + std::string(kind_name(dict->kind)));
    }
    for (size_t i = 0; i < items.size(); i += 2) {
      bool replaced = false;
      for (size_t j = 0; j < dict->items.size(); j += 2) {
        const auto& key = dict->items[j];
        if (key->kind == Value::Kind::kString && items[i]->kind == Value::Kind::kString &&
            key->text == items[i]->text) {
          dict->items[j + 1] = items[i + 1];
          replaced = true;
        }
      }
      if (!replaced) {
        dict->items.push_back(items[i]);
        dict->items.push_back(items[i + 1]);
      }
    }
  }
  void memo_put(size_t index) { memo_[index] = top(); }
  void memo_get(size_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end())
      fail("data.pkl refers to memo entry " + std::to_string(index) + " before setting it");
    stack_.push_back(it->second);
  }

  void push_global(const std::string& module, const std::string& name) {
    static const std::set<std::string> kAllowed = {"collections.OrderedDict",
                                                   "torch._utils._rebuild_tensor_v2",
                                                   "torch._utils._rebuild_parameter"};
    const std::string full = module + "." + name;
    if (!kAllowed.count(full) && !(module == "torch" && storage_dtype(name))) {
      fail("data.pkl refers to the Python object '" + full +
           "', which a state_dict of tensors does not hold");
    }
    push(Value::Kind::kGlobal);
    stack_.back()->text = full;
  }
  static std::optional<c10::ScalarType> storage_dtype(const std::string& name) {
    for (const auto& type : kStorageTypes) {
      if (name == type.name) return type.dtype;
    }
    return std::nullopt;
  }

  std::string as_string(const ValuePtr& v, const std::string& what) const {
    if (v->kind != Value::Kind::kString)
      fail("data.pkl has " + std::string(kind_name(v->kind)) + " as " + what);
    return v->text;
  }
  int64_t as_int(const ValuePtr& v, const std::string& what) const {
    if (v->kind != Value::Kind::kInt)
      fail("data.pkl has " + std::string(kind_name(v->kind)) + " as " + what);
    return v->integer;
  }
  std::vector<int64_t> as_ints(const ValuePtr& v, const std::string& what) const {
    if (v->kind != Value::Kind::kTuple)
      fail("data.pkl has " + std::string(kind_name(v->kind)) + " as " + what);
    std::vector<int64_t> out;
    for (const auto& item : v->items) {
      out.push_back(as_int(item, what));
      if (out.back() < 0) fail("data.pkl has a negative value in " + what);
    }
    return out;
  }

  // ('storage', torch.FloatStorage, key, location, numel) -> the storage's record data/<key>.
  void persistent_load() {
    const ValuePtr pid = pop();
    if (pid->kind != Value::Kind::kTuple || pid->items.size() != 5 ||
        pid->items[0]->kind != Value::Kind::kString || pid->items[0]->text != "storage" ||
        pid->items[1]->kind != Value::Kind::kGlobal) {
      fail("data.pkl has a persistent id that is not a tensor storage");
    }
    const std::string& type = pid->items[1]->text;
    const auto dtype = type.rfind("torch.", 0) == 0 ? storage_dtype(type.substr(6)) : std::nullopt;
    if (!dtype) fail("data.pkl has storage type '" + type + "'");
    const std::string key = as_string(pid->items[2], "a storage key");
    const int64_t numel = as_int(pid->items[4], "a storage size");
    const std::string record = "data/" + key;
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      if (!reader_.hasRecord(record)) fail("the archive lacks the record '" + record + "'");
      auto [bytes, size] = reader_.getRecord(record);
      const size_t item = c10::elementSize(*dtype);
      if (numel < 0 || size % item != 0 || size / item != static_cast<size_t>(numel)) {
        fail("record '" + record + "' holds " + std::to_string(size) + " bytes, not the " +
             std::to_string(numel) + " " + c10::toString(*dtype) + " values data.pkl says");
      }
      torch::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(*dtype));
      if (size > 0) std::memcpy(storage.data_ptr(), bytes.get(), size);
      it = storages_.emplace(key, storage).first;
    }
    if (it->second.scalar_type() != *dtype || it->second.numel() != numel) {
      fail("storage '" + key + "' is used with two types or sizes");
    }
    push(Value::Kind::kStorage);
    stack_.back()->text = key;
    stack_.back()->tensor = it->second;
  }

  torch::Tensor rebuild_tensor(const std::vector<ValuePtr>& args) {
    if (args.size() < 6 || args[0]->kind != Value::Kind::kStorage) {
      fail("data.pkl calls _rebuild_tensor_v2 with arguments it does not take");
    }
    const torch::Tensor& storage = args[0]->tensor;
    const int64_t offset = as_int(args[1], "a storage offset");
    const auto sizes = as_ints(args[2], "a tensor's size");
    const auto strides = as_ints(args[3], "a tensor's stride");
    if (sizes.size() != strides.size() || offset < 0) {
      fail("data.pkl has a tensor whose size, stride and offset do not agree");
    }
    // The last element addressed must lie inside the storage (checked without overflow).
    int64_t last = offset;
    bool empty = false;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] == 0) empty = true;
      int64_t reach = 0;
      if (sizes[i] > 0 && (__builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) ||
                           __builtin_add_overflow(last, reach, &last))) {
        fail("data.pkl has a tensor too large to address");
      }
    }
    if (empty) return torch::empty(sizes, storage.options());
    if (last >= storage.numel()) {
      fail("data.pkl has a tensor of size " + c10::str(c10::IntArrayRef(sizes)) +
           " that reaches past its storage '" + args[0]->text + "' of " +
           std::to_string(storage.numel()) + " values");
    }
    return storage.as_strided(sizes, strides, offset).clone(at::MemoryFormat::Contiguous);
  }

  void reduce() {
    const ValuePtr args = pop();
    const ValuePtr callable = pop();
    if (callable->kind != Value::Kind::kGlobal || args->kind != Value::Kind::kTuple) {
      fail("data.pkl calls " + std::string(kind_name(callable->kind)));
    }
    if (callable->text == "collections.OrderedDict" && args->items.empty()) {
      push(Value::Kind::kDict);
    } else if (callable->text == "torch._utils._rebuild_tensor_v2") {
      push(Value::Kind::kTensor);
      stack_.back()->tensor = rebuild_tensor(args->items);
    } else if (callable->text == "torch._utils._rebuild_parameter" && !args->items.empty() &&
               args->items[0]->kind == Value::Kind::kTensor) {
      stack_.push_back(args->items[0]);
    } else {
      fail("data.pkl calls '" + callable->text + "' with arguments it does not take");
    }
  }

  // A state_dict's OrderedDict carries `_metadata` (module versions) as its state: not needed.
  void build() {
    pop();
    const ValuePtr& object = top();
    if (object->kind != Value::Kind::kDict && object->kind != Value::Kind::kTensor) {
      fail("data.pkl sets the state of " + std::string(kind_name(object->kind)));
    }
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<size_t, ValuePtr> memo_;
  std::map<std::string, torch::Tensor> storages_;
};

// Whether the file starts like a pickle, i.e. is the legacy (pre-1.6) torch.save format.
bool starts_with_pickle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[2] = {0, 0};
  in.read(head, 2);
  return in && static_cast<uint8_t>(head[0]) == 0x80 && head[1] >= 2 && head[1] <= 5;
}

}  // namespace

void save_state_dict(const std::string& path, const StateDict& tensors) {
  static_assert(sizeof(float) == 4, "float must be IEEE single precision");
  const uint16_t probe = 1;
  TORCH_CHECK(*reinterpret_cast<const uint8_t*>(&probe) == 1,
              "save_state_dict writes little-endian files and needs a little-endian machine");

  // One storage per distinct CPU storage, keyed "0", "1", ... in order of first use.
  std::vector<torch::Tensor> cpu;
  std::vector<std::string> keys;
  std::vector<torch::Tensor> storages;  // a tensor owning each storage, in key order
  std::map<const void*, std::string> key_of;
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    if (!names.insert(name).second) {
      throw InputError(path + ": the state_dict names '" + name + "' twice");
    }
    TORCH_CHECK(tensor.defined(), "save_state_dict: '", name, "' is an undefined tensor");
    TORCH_CHECK(storage_name(tensor.scalar_type()) != nullptr, "save_state_dict: '", name,
                "' has dtype ", tensor.scalar_type(), ", which has no Python storage type here");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const void* impl = t.storage().unsafeGetStorageImpl();
    auto it = key_of.find(impl);
    if (it == key_of.end()) {
      it = key_of.emplace(impl, std::to_string(storages.size())).first;
      storages.push_back(t);
    }
    keys.push_back(it->second);
    cpu.push_back(t);
  }

  Pickler p;
  p.op('\x80');
  p.op('\x02');
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.op('(');
  for (size_t i = 0; i < cpu.size(); ++i) {
    const torch::Tensor& t = cpu[i];
    p.string(tensors[i].first);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // the persistent id of the storage
    p.string("storage");
    p.global("torch", storage_name(t.scalar_type()));
    p.string(keys[i]);
    p.string("cpu");
    p.integer(static_cast<int64_t>(t.storage().nbytes() / t.element_size()));
    p.op('t');
    p.op('Q');
    p.integer(t.storage_offset());
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op('\x89');                            // requires_grad=False
    p.global("collections", "OrderedDict");  // no backward hooks
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
  }
  p.op('u');
  p.op('.');

  write_file_atomic(path, [&](const WriteBytes& write) {
    try {
      caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
        write(data, size);
        return size;
      });
      writer.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
      writer.writeRecord("byteorder", "little", 6);
      for (size_t k = 0; k < storages.size(); ++k) {
        const auto& storage = storages[k].storage();
        writer.writeRecord("data/" + std::to_string(k), storage.data(), storage.nbytes());
      }
      writer.writeEndOfFile();
    } catch (const c10::Error& e) {
      throw InputError(path + ": cannot write the state_dict (" + c10_reason(e) + ")");
    }
  });
}

StateDict load_state_dict(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(path + ": is a directory, expected a state_dict file (torch.save)");
  }
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": state_dict file not found");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    if (starts_with_pickle(path)) {
      throw InputError(path +
                       ": a legacy (pre-1.6, non-zip) torch.save file; save it again with "
                       "torch.save(state_dict, path) in PyTorch 1.6 or later");
    }
    throw InputError(path + ": not a PyTorch file written by torch.save (" + c10_reason(e) + ")");
  }
  try {
    if (!reader->hasRecord("data.pkl")) {
      throw InputError(path +
                       ": not a torch.save file (no data.pkl; a TorchScript or lstm-nlp "
                       "checkpoint?)");
    }
    if (reader->hasRecord("byteorder")) {
      auto [bytes, size] = reader->getRecord("byteorder");
      const std::string order(static_cast<const char*>(bytes.get()), size);
      if (order != "little") {
        throw InputError(path + ": written with byte order '" + order + "'; only little is read");
      }
    }
    auto [bytes, size] = reader->getRecord("data.pkl");
    Unpickler unpickler(path, *reader, static_cast<const char*>(bytes.get()), size);
    const ValuePtr root = unpickler.run();
    if (root->kind != Value::Kind::kDict) {
      throw InputError(path + ": holds " + kind_name(root->kind) + ", not a dict of tensors");
    }
    StateDict out;
    for (size_t i = 0; i < root->items.size(); i += 2) {
      const auto& key = root->items[i];
      const auto& value = root->items[i + 1];
      if (key->kind != Value::Kind::kString) {
        throw InputError(path + ": a key of the dict is " + kind_name(key->kind) +
                         ", not a string");
      }
      if (value->kind != Value::Kind::kTensor) {
        throw InputError(path + ": '" + key->text + "' is " + kind_name(value->kind) +
                         ", not a tensor");
      }
      out.emplace_back(key->text, value->tensor);
    }
    return out;
  } catch (const c10::Error& e) {
    throw InputError(path + ": unreadable torch.save archive (" + c10_reason(e) + ")");
  }
}

}  // namespace lstmnlp
