#include "core/config.h"

#include <yaml-cpp/depthguard.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace lstmnlp::config {
namespace {

// Limits on a config document, so that an alias bomb or runaway nesting is refused before it
// costs memory or stack (real configs have a few hundred values, a few levels deep).
constexpr int kMaxDepth = 64;                // levels of sections and lists
constexpr int64_t kMaxNodes = 100000;        // nodes with every alias expanded
constexpr int64_t kMaxFileBytes = 16 << 20;  // a config file's size

// yaml-cpp marks are 0-based; -1 when the node did not come from a file (--set).
int line_of(const YAML::Node& node) {
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : 0;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "'" + node.Scalar() + "'";
  }
}

// Sets `path` (dotted) in `root` to `value`, creating mappings as needed. A fresh clone keeps
// the override from aliasing nodes of the loaded document.
void set_path(const YAML::Node& root, const std::string& path, const YAML::Node& value,
              const std::string& text) {
  std::vector<std::string> keys;
  std::stringstream ss(path);
  for (std::string key; std::getline(ss, key, '.');) {
    if (key.empty()) throw InputError("--set " + text + ": empty key in '" + path + "'");
    keys.push_back(key);
  }
  if (keys.empty()) throw InputError("--set " + text + ": missing key");
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = chain.back()[keys[i]];
    if (!next.IsDefined() || next.IsNull()) {
      next = YAML::Node(YAML::NodeType::Map);
      chain.back()[keys[i]] = next;
    } else if (!next.IsMap()) {
      throw InputError("--set " + text + ": '" + keys[i] + "' is not a section");
    }
    chain.push_back(next);
  }
  chain.back()[keys.back()] = value;
}

// A copy of `node` without source marks, so errors name "--set key" rather than a line.
YAML::Node without_marks(const YAML::Node& node) {
  if (node.IsScalar()) return YAML::Node(node.Scalar());
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : node) out.push_back(without_marks(item));
    return out;
  }
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& item : node) out[item.first.Scalar()] = without_marks(item.second);
    return out;
  }
  return YAML::Node();
}

// The deepest nesting of flow collections ('[', '{') in `text`, outside quotes and comments, and
// the (1-based) line where it first exceeds `limit` (0 when it does not).
int flow_depth_over(const std::string& text, int limit) {
  int depth = 0;
  int line = 1;
  char quote = 0;
  bool comment = false;
  char previous = '\n';
  for (const char c : text) {
    if (c == '\n') {
      ++line;
      comment = false;
      if (quote == 0) previous = c;
      continue;
    }
    if (comment) continue;
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '#' && (previous == ' ' || previous == '\t' || previous == '\n')) {
      comment = true;
    } else if ((c == '"' || c == '\'') && (previous == ' ' || previous == '\n' || previous == '[' ||
                                           previous == '{' || previous == ',' || previous == ':')) {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return line;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    previous = c;
  }
  return 0;
}

// Walks a loaded document: refuses nesting deeper than kMaxDepth, more than kMaxNodes nodes with
// aliases expanded, and duplicate keys in a mapping (yaml-cpp keeps the first silently).
class DocumentCheck {
 public:
  // `file` names a config file; "" means a --set override, named by `set_text`.
  DocumentCheck(std::string file, std::string set_text)
      : file_(std::move(file)), set_text_(std::move(set_text)) {}

  void walk(const YAML::Node& node, const std::string& path, int depth) {
    if (++nodes_ > kMaxNodes) {
      fail(node, "more than " + std::to_string(kMaxNodes) +
                     " values once its aliases are expanded; refused (an alias bomb?)");
    }
    if (depth > kMaxDepth) {
      fail(node, "nested deeper than " + std::to_string(kMaxDepth) + " levels; refused");
    }
    if (node.IsSequence()) {
      for (const auto& item : node) walk(item, path, depth + 1);
    } else if (node.IsMap()) {
      std::map<std::string, int> first_line;
      for (const auto& item : node) {
        const std::string key = item.first.IsScalar() ? item.first.Scalar() : "?";
        const std::string full = path.empty() ? key : path + "." + key;
        const auto [it, fresh] = first_line.emplace(key, line_of(item.first));
        if (!fresh) {
          fail(item.first, "duplicate key '" + full + "' (first at " +
                               (file_.empty() ? "--set " + set_text_
                                              : file_ + ":" + std::to_string(it->second)) +
                               ")");
        }
        walk(item.first, full, depth + 1);
        walk(item.second, full, depth + 1);
      }
    }
  }

 private:
  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    if (file_.empty()) throw InputError("--set " + set_text_ + ": " + message);
    throw InputError(at_location(file_, line_of(node), message));
  }

  std::string file_;
  std::string set_text_;
  int64_t nodes_ = 0;
};

// Parses YAML `text` and checks it (DocumentCheck); `file` "" means the --set `set_text`.
YAML::Node parse_checked(const std::string& text, const std::string& file,
                         const std::string& set_text) {
  const std::string where = file.empty() ? "--set " + set_text : file;
  if (const int line = flow_depth_over(text, kMaxDepth); line > 0) {
    throw InputError(
        file.empty()
            ? where + ": nested deeper than " + std::to_string(kMaxDepth) + " levels; refused"
            : at_location(file, line,
                          "nested deeper than " + std::to_string(kMaxDepth) + " levels; refused"));
  }
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::DeepRecursion&) {
    throw InputError(where + ": nested too deeply for the YAML parser; refused");
  } catch (const YAML::ParserException& e) {
    if (file.empty()) throw InputError(where + ": invalid value: " + e.msg);
    throw InputError(at_location(file, e.mark.line + 1, "invalid YAML: " + e.msg));
  }
  DocumentCheck(file, set_text).walk(node, "", 0);
  return node;
}

std::string read_config_file(const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw InputError(file + ": is a directory, expected a YAML config file");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file + ": cannot open config file");
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (static_cast<int64_t>(text.size()) > kMaxFileBytes) {
      throw InputError(file + ": larger than " + std::to_string(kMaxFileBytes >> 20) +
                       " MB, not a config file");
    }
  }
  if (in.bad()) throw InputError(file + ": cannot read config file");
  return text;
}

}  // namespace

std::string expand_env(const std::string& text, const std::string& where) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = text.find("${", pos);
    if (start == std::string::npos) break;
    const size_t end = text.find('}', start + 2);
    if (end == std::string::npos) throw InputError(where + ": unterminated '${' in '" + text + "'");
    const std::string name = text.substr(start + 2, end - start - 2);
    const char* value = std::getenv(name.c_str());
    if (name.empty() || value == nullptr) {
      throw InputError(where + ": environment variable ${" + name + "} is not set");
    }
    out += text.substr(pos, start - pos);
    out += value;
    pos = end + 1;
  }
  out += text.substr(pos);
  return out;
}

Reader::Reader(const YAML::Node& node, std::string file, std::string path)
    : node_(node), file_(std::move(file)), path_(std::move(path)) {}

std::string Reader::join(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

const YAML::Node* Reader::take(const char* key) {
  if (!node_.IsDefined() || !node_.IsMap()) return nullptr;
  YAML::Node child = node_[key];
  if (!child.IsDefined()) return nullptr;
  seen_.insert(key);
  taken_.push_back(child);
  return &taken_.back();
}

void Reader::fail(const YAML::Node& node, const std::string& key,
                  const std::string& message) const {
  const std::string where =
      line_of(node) > 0 ? at_location(file_, line_of(node), "") : "--set " + join(key) + ": ";
  const std::string prefix = line_of(node) > 0 ? where + "key '" + join(key) + "': " : where;
  throw InputError(prefix + message);
}

void Reader::fail(const YAML::Node& node, const std::string& message) const {
  const std::string key = path_.empty() ? "<top>" : path_;
  if (line_of(node) > 0) throw InputError(at_location(file_, line_of(node), key + ": " + message));
  throw InputError("--set " + key + ": " + message);
}

void Reader::finish() const {
  if (!node_.IsDefined() || !node_.IsMap()) return;
  for (const auto& item : node_) {
    const std::string key = item.first.Scalar();
    if (seen_.count(key) == 0) {
      const int line = line_of(item.first);
      const std::string message = "unknown key '" + join(key) + "'";
      if (line > 0) throw InputError(at_location(file_, line, message));
      throw InputError("--set " + join(key) + ": " + message);
    }
  }
}

void Reader::read(const YAML::Node& n, const char* key, bool& out) {
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, out)) {
    fail(n, key, "expected true or false, got " + describe(n));
  }
}

void Reader::read(const YAML::Node& n, const char* key, int64_t& out) {
  long long value = 0;
  if (!n.IsScalar() || !YAML::convert<long long>::decode(n, value)) {
    fail(n, key, "expected an integer, got " + describe(n));
  }
  out = value;
}

void Reader::read(const YAML::Node& n, const char* key, int& out) {
  int64_t value = 0;
  read(n, key, value);
  if (value < INT32_MIN || value > INT32_MAX) fail(n, key, "integer out of range");
  out = static_cast<int>(value);
}

void Reader::read(const YAML::Node& n, const char* key, double& out) {
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, out) || !std::isfinite(out)) {
    fail(n, key, "expected a number, got " + describe(n));
  }
}

void Reader::read(const YAML::Node& n, const char* key, std::string& out) {
  if (!n.IsScalar()) fail(n, key, "expected a string, got " + describe(n));
  const std::string where = line_of(n) > 0
                                ? at_location(file_, line_of(n), "key '" + join(key) + "'")
                                : "--set " + join(key);
  out = expand_env(n.Scalar(), where);
}

void Reader::read(const YAML::Node& n, const char* key, std::vector<std::string>& out) {
  if (!n.IsSequence()) fail(n, key, "expected a list of strings, got " + describe(n));
  out.clear();
  for (const auto& item : n) {
    std::string value;
    read(item, key, value);
    out.push_back(value);
  }
}

void Reader::read(const YAML::Node& n, const char* key, std::vector<int64_t>& out) {
  if (!n.IsSequence()) fail(n, key, "expected a list of integers, got " + describe(n));
  out.clear();
  for (const auto& item : n) {
    int64_t value = 0;
    read(item, key, value);
    out.push_back(value);
  }
}

void Reader::check_range(const YAML::Node& n, const char* key, double value, Range range) {
  if (value < range.min || value > range.max) {
    std::ostringstream msg;
    msg << "value " << n.Scalar() << " out of range [" << range.min << ", " << range.max << "]";
    fail(n, key, msg.str());
  }
}

void Reader::operator()(const char* key, std::string& out, const Choices<>& choices) {
  const YAML::Node* n = take(key);
  if (!n) return;
  read(*n, key, out);
  for (const auto& c : choices.values) {
    if (out == c) return;
  }
  std::string list;
  for (const auto& c : choices.values) list += (list.empty() ? "" : ", ") + c;
  fail(*n, key, "'" + out + "' is not one of: " + list);
}

YAML::Node load_node(const std::string& file, const std::vector<std::string>& sets) {
  YAML::Node root(YAML::NodeType::Map);
  if (!file.empty()) {
    root = parse_checked(read_config_file(file), file, "");
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) throw InputError(file + ": expected a mapping at the top of the config");
  }
  for (const auto& text : sets) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos) throw InputError("--set " + text + ": expected section.key=value");
    YAML::Node value = parse_checked(text.substr(eq + 1), "", text);
    // An empty right-hand side means an empty string, not null.
    if (value.IsNull()) value = YAML::Node(std::string());
    set_path(root, text.substr(0, eq), without_marks(value), text);
  }
  return root;
}

}  // namespace lstmnlp::config
