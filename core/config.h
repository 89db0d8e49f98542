#pragma once

// Typed YAML configuration.
//
// A config section is a plain struct whose members hold the defaults, plus one `visit` template
// that names each key once; reading, range checks and writing the resolved config all use it:
//
//   enum class Optimizer { kSgd, kAdam };
//   struct TrainConfig {
//     double lr = 1.0;
//     int epochs = 13;
//     Optimizer optimizer = Optimizer::kSgd;
//     template <class V> void visit(V& v) {
//       v("lr", lr, Range{0.0, 100.0});
//       v("epochs", epochs, Range{1, 100000});
//       v("optimizer", optimizer, Choices<Optimizer>{{"sgd", Optimizer::kSgd},
//                                                    {"adam", Optimizer::kAdam}});
//     }
//   };
//   struct AppConfig {
//     TrainConfig train;
//     template <class V> void visit(V& v) { v.section("train", train); }
//   };
//
//   AppConfig cfg = lstmnlp::config::load<AppConfig>("configs/x.yaml", {"train.lr=0.5"});
//   std::string resolved = lstmnlp::config::to_yaml(cfg);
//
// Choices map names to enum values at load time, so code compares enums, never strings.
// Unknown keys, wrong types, out-of-range values and unknown names throw InputError naming the
// file, the key path and the line. String values expand ${VAR} from the environment; an unset
// variable is an error. `--set a.b=c` overrides are applied before reading and are named "--set
// a.b" in errors.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace lstmnlp::config {

/// Inclusive numeric bounds for a key.
struct Range {
  double min;
  double max;
};

/// The allowed values of a key, by name. `Choices<E>` maps each name to a value of the enum E,
/// so the struct holds the enum and the resolved config still writes the name:
///
///   enum class Optimizer { kSgd, kAdam };
///   inline const config::Choices<Optimizer> kOptimizers{{"sgd", Optimizer::kSgd},
///                                                       {"adam", Optimizer::kAdam}};
///   v("optimizer", optimizer, kOptimizers);       // reads "adam" as Optimizer::kAdam
///   kOptimizers.name(Optimizer::kAdam)            // "adam"
///
/// `Choices<>` (`Choices{"a", "b"}`) restricts a std::string key to a list of names.
template <class E = void>
struct Choices {
  std::vector<std::pair<std::string, E>> values;
  Choices(std::initializer_list<std::pair<std::string, E>> v) : values(v) {}

  /// The value named `name`, or nullptr.
  const E* find(const std::string& name) const {
    for (const auto& [n, value] : values) {
      if (n == name) return &value;
    }
    return nullptr;
  }
  /// The name of `value`. Throws std::logic_error for a value the list lacks (a bug).
  const std::string& name(E value) const {
    for (const auto& [n, v] : values) {
      if (v == value) return n;
    }
    throw std::logic_error("config::Choices: a value without a name");
  }
  /// "a, b, c".
  std::string list() const {
    std::string out;
    for (const auto& item : values) out += (out.empty() ? "" : ", ") + item.first;
    return out;
  }
};

/// The allowed values of a string key.
template <>
struct Choices<void> {
  std::vector<std::string> values;
  Choices(std::initializer_list<std::string> v) : values(v) {}
};
Choices(std::initializer_list<const char*>)->Choices<void>;

/// Expands ${VAR} from the environment. Throws InputError (with `where`) for an unset variable.
std::string expand_env(const std::string& text, const std::string& where);

/// Reads one mapping node into a struct's members; rejects unknown keys.
class Reader {
 public:
  Reader(const YAML::Node& node, std::string file, std::string path);

  template <class T>
  void operator()(const char* key, T& out) {
    if (auto n = take(key)) read(*n, key, out);
  }
  template <class T>
  void operator()(const char* key, T& out, Range range) {
    if (auto n = take(key)) {
      read(*n, key, out);
      check_range(*n, key, static_cast<double>(out), range);
    }
  }
  void operator()(const char* key, std::string& out, const Choices<>& choices);
  template <class E>
  void operator()(const char* key, E& out, const Choices<E>& choices) {
    if (auto n = take(key)) {
      std::string name;
      read(*n, key, name);
      const E* value = choices.find(name);
      if (value == nullptr) fail(*n, key, "'" + name + "' is not one of: " + choices.list());
      out = *value;
    }
  }

  template <class S>
  void section(const char* key, S& out) {
    if (auto n = take(key)) {
      Reader sub(*n, file_, join(key));
      if (!n->IsMap()) sub.fail(*n, "expected a mapping");
      out.visit(sub);
      sub.finish();
    }
  }

  /// Throws InputError for keys that no visit() call consumed.
  void finish() const;

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const;
  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const;

 private:
  const YAML::Node* take(const char* key);
  std::string join(const std::string& key) const;
  void read(const YAML::Node& n, const char* key, bool& out);
  void read(const YAML::Node& n, const char* key, int& out);
  void read(const YAML::Node& n, const char* key, int64_t& out);
  void read(const YAML::Node& n, const char* key, double& out);
  void read(const YAML::Node& n, const char* key, std::string& out);
  void read(const YAML::Node& n, const char* key, std::vector<std::string>& out);
  void read(const YAML::Node& n, const char* key, std::vector<int64_t>& out);
  void check_range(const YAML::Node& n, const char* key, double value, Range range);

  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::set<std::string> seen_;
  std::deque<YAML::Node> taken_;  // keeps nodes returned by take() alive and in place
};

/// Writes a struct's members into a YAML emitter (the resolved config).
class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}
  template <class T, class... Check>
  void operator()(const char* key, const T& value, const Check&...) {
    out_ << YAML::Key << key << YAML::Value << value;
  }
  template <class E>
  void operator()(const char* key, const E& value, const Choices<E>& choices) {
    out_ << YAML::Key << key << YAML::Value << choices.name(value);
  }
  template <class S>
  void section(const char* key, S& value) {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    value.visit(*this);
    out_ << YAML::EndMap;
  }

 private:
  YAML::Emitter& out_;
};

/// Loads YAML from `file` ("" = empty config) and applies `sets` ("a.b=value" each).
/// Throws InputError for unreadable or malformed files and malformed overrides.
YAML::Node load_node(const std::string& file, const std::vector<std::string>& sets);

/// Reads a config struct from a YAML node; `file` is used in error messages.
template <class T>
T from_node(const YAML::Node& node, const std::string& file) {
  T cfg;
  Reader reader(node, file, "");
  if (node && !node.IsNull() && !node.IsMap()) reader.fail(node, "expected a mapping at the top");
  cfg.visit(reader);
  reader.finish();
  return cfg;
}

/// Loads, overrides and reads a config struct in one step.
template <class T>
T load(const std::string& file, const std::vector<std::string>& sets = {}) {
  return from_node<T>(load_node(file, sets), file.empty() ? "<defaults>" : file);
}

/// The resolved config as YAML text.
template <class T>
std::string to_yaml(T cfg) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  Writer writer(out);
  cfg.visit(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

/// Reads a config struct back from resolved YAML text (e.g. from a checkpoint).
template <class T>
T from_yaml_text(const std::string& text, const std::string& origin) {
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(origin + ": invalid YAML: " + e.what());
  }
  return from_node<T>(node, origin);
}

}  // namespace lstmnlp::config
