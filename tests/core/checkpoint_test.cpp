#include "core/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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
