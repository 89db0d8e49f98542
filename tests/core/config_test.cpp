#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace lstmnlp::config {
namespace {

struct DataSection {
  std::string dir = "data";
  std::vector<std::string> files;
  template <class V>
  void visit(V& v) {
    v("dir", dir);
    v("files", files);
  }
};

enum class Schedule { kConstant, kLinear };

struct TrainSection {
  double lr = 1.0;
  int epochs = 13;
  bool shuffle = false;
  std::string optimizer = "sgd";
  Schedule schedule = Schedule::kConstant;
  template <class V>
  void visit(V& v) {
    v("lr", lr, Range{0.0, 100.0});
    v("epochs", epochs, Range{1, 1000});
    v("shuffle", shuffle);
    v("optimizer", optimizer, Choices{"sgd", "adam"});
    v("schedule", schedule,
      Choices<Schedule>{{"constant", Schedule::kConstant}, {"linear", Schedule::kLinear}});
  }
};

struct TestConfig {
  DataSection data;
  TrainSection train;
  template <class V>
  void visit(V& v) {
    v.section("data", data);
    v.section("train", train);
  }
};

class ConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("lstmnlp_config_test_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter++) + ".yaml"))
                .string();
    std::ofstream(path_) << text;
    written_.push_back(path_);
    return path_;
  }
  void TearDown() override {
    for (const auto& p : written_) std::filesystem::remove(p);
  }
  // The message of the InputError that loading `text` throws ("" when none is thrown).
  std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
    try {
      load<TestConfig>(write(text), sets);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
  std::string path_;
  std::vector<std::string> written_;
};

TEST_F(ConfigTest, ReadsValuesAndKeepsDefaults) {
  const auto cfg = load<TestConfig>(write("train:\n  lr: 0.5\n  shuffle: true\n"));
  EXPECT_DOUBLE_EQ(cfg.train.lr, 0.5);
  EXPECT_TRUE(cfg.train.shuffle);
  EXPECT_EQ(cfg.train.epochs, 13);
  EXPECT_EQ(cfg.data.dir, "data");
}

TEST_F(ConfigTest, RejectsUnknownKeyWithFileLineAndPath) {
  const std::string err = error_of("train:\n  lr: 0.5\n  lrr: 2\n");
  EXPECT_NE(err.find(path_ + ":3:"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key 'train.lrr'"), std::string::npos) << err;
}

TEST_F(ConfigTest, RejectsUnknownSection) {
  const std::string err = error_of("trian:\n  lr: 0.5\n");
  EXPECT_NE(err.find(":1:"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key 'trian'"), std::string::npos) << err;
}

TEST_F(ConfigTest, RejectsWrongType) {
  const std::string err = error_of("data:\n  dir: x\ntrain:\n  epochs: many\n");
  EXPECT_NE(err.find(path_ + ":4:"), std::string::npos) << err;
  EXPECT_NE(err.find("train.epochs"), std::string::npos) << err;
  EXPECT_NE(err.find("expected an integer, got 'many'"), std::string::npos) << err;

  const std::string list_err = error_of("data:\n  files: a.txt\n");
  EXPECT_NE(list_err.find("data.files"), std::string::npos) << list_err;
  EXPECT_NE(list_err.find("expected a list of strings"), std::string::npos) << list_err;
}

TEST_F(ConfigTest, RejectsDuplicateKeysNamingBothLines) {
  // yaml-cpp keeps the first value; the second would never be range-checked.
  const std::string err = error_of("train:\n  lr: 1.0\n  epochs: 2\n  lr: 5000\n");
  EXPECT_NE(err.find(path_ + ":4: duplicate key 'train.lr' (first at " + path_ + ":2)"),
            std::string::npos)
      << err;
  const std::string sections = error_of("train:\n  lr: 1.0\ndata:\n  dir: x\ntrain:\n  lr: 2\n");
  EXPECT_NE(sections.find(":5: duplicate key 'train' (first at " + path_ + ":1)"),
            std::string::npos)
      << sections;
  EXPECT_NE(error_of("", {"train={lr: 1, lr: 2}"}).find("--set train={lr: 1, lr: 2}: duplicate"),
            std::string::npos);
}

// Ten levels of ten aliases each: 10^6 values once expanded, from 100 bytes of YAML.
std::string alias_bomb() {
  std::string text = "[&a0 [x, x, x, x, x, x, x, x, x, x]";
  for (int level = 1; level < 6; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    text += ", &a" + std::to_string(level) + " [" + prev;
    for (int i = 1; i < 10; ++i) text += ", " + prev;
    text += "]";
  }
  return text + "]";
}

TEST_F(ConfigTest, RefusesAliasBombsInFilesAndOverrides) {
  const std::string in_file = error_of("data:\n  files: " + alias_bomb() + "\n");
  EXPECT_NE(in_file.find(path_ + ":"), std::string::npos) << in_file;
  EXPECT_NE(in_file.find("aliases are expanded; refused"), std::string::npos) << in_file;
  const std::string in_set = error_of("", {"data.files=" + alias_bomb()});
  EXPECT_NE(in_set.find("--set data.files="), std::string::npos) << in_set.substr(0, 200);
  EXPECT_NE(in_set.find("aliases are expanded; refused"), std::string::npos) << in_set;
}

TEST_F(ConfigTest, RefusesDeepNestingSayingSo) {
  const std::string deep(10000, '[');
  const std::string in_file = error_of("data:\n  files: " + deep + "\n");
  EXPECT_NE(in_file.find(path_ + ":2: nested deeper than 64 levels"), std::string::npos) << in_file;
  const std::string in_set = error_of("", {"data.files=" + deep});
  EXPECT_NE(in_set.find("nested deeper than 64 levels"), std::string::npos)
      << in_set.substr(0, 200);
  // Block nesting, which the flow-bracket scan does not see, is refused after parsing.
  std::string block = "data:\n";
  for (int i = 0; i < 80; ++i)
    block += std::string(2 * (i + 1), ' ') + "k" + std::to_string(i) + ":\n";
  EXPECT_NE(error_of(block).find("nested deeper than 64 levels"), std::string::npos);
}

TEST_F(ConfigTest, ADirectoryIsNotAConfig) {
  const auto dir = std::filesystem::temp_directory_path();
  try {
    load<TestConfig>(dir.string());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              dir.string() + ": is a directory, expected a YAML config file");
  }
}

TEST_F(ConfigTest, RejectsOutOfRange) {
  const std::string err = error_of("train:\n  lr: -1\n");
  EXPECT_NE(err.find(":2:"), std::string::npos) << err;
  EXPECT_NE(err.find("train.lr"), std::string::npos) << err;
  EXPECT_NE(err.find("out of range [0, 100]"), std::string::npos) << err;
}

TEST_F(ConfigTest, RejectsValueNotAmongChoices) {
  const std::string err = error_of("train:\n  optimizer: adagrad\n");
  EXPECT_NE(err.find("'adagrad' is not one of: sgd, adam"), std::string::npos) << err;
}

TEST_F(ConfigTest, ReadsEnumChoicesByName) {
  EXPECT_EQ(load<TestConfig>(write("train:\n  schedule: linear\n")).train.schedule,
            Schedule::kLinear);
  EXPECT_EQ(load<TestConfig>(write(""), {"train.schedule=linear"}).train.schedule,
            Schedule::kLinear);
  EXPECT_EQ(load<TestConfig>(write("")).train.schedule, Schedule::kConstant);
}

TEST_F(ConfigTest, RejectsUnknownEnumNameWithFileLineAndPath) {
  const std::string err = error_of("train:\n  lr: 0.5\n  schedule: cosine\n");
  EXPECT_NE(err.find(path_ + ":3:"), std::string::npos) << err;
  EXPECT_NE(err.find("train.schedule"), std::string::npos) << err;
  EXPECT_NE(err.find("'cosine' is not one of: constant, linear"), std::string::npos) << err;
  const std::string set_err = error_of("", {"train.schedule=Linear"});
  EXPECT_NE(set_err.find("--set train.schedule"), std::string::npos) << set_err;
}

TEST_F(ConfigTest, RejectsMalformedYamlWithLine) {
  const std::string err = error_of("train:\n  lr: [1, 2\n");
  EXPECT_NE(err.find(path_ + ":"), std::string::npos) << err;
  EXPECT_NE(err.find("invalid YAML"), std::string::npos) << err;
}

TEST_F(ConfigTest, SetOverridesFileValues) {
  const auto cfg = load<TestConfig>(write("train:\n  lr: 0.5\n"),
                                    {"train.lr=0.25", "data.files=[a, b]", "train.epochs=3"});
  EXPECT_DOUBLE_EQ(cfg.train.lr, 0.25);
  EXPECT_EQ(cfg.train.epochs, 3);
  EXPECT_EQ(cfg.data.files, (std::vector<std::string>{"a", "b"}));
}

TEST_F(ConfigTest, SetErrorsNameTheOverride) {
  EXPECT_NE(error_of("", {"train.epochs=0"}).find("--set train.epochs"), std::string::npos);
  EXPECT_NE(error_of("", {"train.nope=1"}).find("unknown key 'train.nope'"), std::string::npos);
  EXPECT_NE(error_of("", {"train.lr"}).find("expected section.key=value"), std::string::npos);
}

TEST_F(ConfigTest, ExpandsEnvironmentVariables) {
  ::setenv("LSTMNLP_TEST_DIR", "/tmp/corpus", 1);
  const auto cfg = load<TestConfig>(write("data:\n  dir: ${LSTMNLP_TEST_DIR}/ptb\n"));
  EXPECT_EQ(cfg.data.dir, "/tmp/corpus/ptb");

  ::unsetenv("LSTMNLP_TEST_UNSET");
  const std::string err = error_of("data:\n  dir: ${LSTMNLP_TEST_UNSET}/ptb\n");
  EXPECT_NE(err.find("${LSTMNLP_TEST_UNSET} is not set"), std::string::npos) << err;
  EXPECT_NE(err.find(":2:"), std::string::npos) << err;
}

TEST_F(ConfigTest, ResolvedYamlReadsBackToTheSameValues) {
  auto cfg = load<TestConfig>(write("train:\n  lr: 0.125\n  optimizer: adam\n  schedule: linear\n"),
                              {"data.files=[x]"});
  const std::string yaml = to_yaml(cfg);
  EXPECT_NE(yaml.find("schedule: linear"), std::string::npos) << yaml;
  const auto again = from_yaml_text<TestConfig>(yaml, "resolved");
  EXPECT_DOUBLE_EQ(again.train.lr, 0.125);
  EXPECT_EQ(again.train.optimizer, "adam");
  EXPECT_EQ(again.train.schedule, Schedule::kLinear);
  EXPECT_EQ(again.data.files, std::vector<std::string>{"x"});
}

TEST_F(ConfigTest, MissingFileIsAnInputError) {
  EXPECT_THROW(load<TestConfig>("/nonexistent/config.yaml"), InputError);
}

}  // namespace
}  // namespace lstmnlp::config
