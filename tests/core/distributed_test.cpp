// Multi-process training on c10d (core/distributed.h): the launcher's environment, and real runs
// of 2 processes of the built executables on 127.0.0.1, checked against one process with twice
// the batch.

#include "core/distributed.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/checkpoint.h"
#include "core/config.h"
#include "datasets/length_batching.h"
#include "models/lm/lm_app.h"
#include "models/qa/qa_config.h"
#include "models/sentiment/sentiment_app.h"
#include "tests/lm/lm_test_util.h"
#include "tests/qa/qa_test_util.h"

namespace lstmnlp {
namespace {

namespace fs = std::filesystem;
using lstmnlp::test::input_error_of;
using lstmnlp::test::TempDir;

// ---------------------------------------------------------------------------------------------
// The environment

dist::LaunchEnv env_of(const std::map<std::string, std::string>& vars) {
  return dist::read_launch_env([&](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

TEST(LaunchEnv, NoVariablesIsOneProcess) {
  const auto env = env_of({});
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.local_world_size, 1);
}

TEST(LaunchEnv, ReadsTorchrunsVariables) {
  const auto env = env_of({{"RANK", "3"},
                           {"WORLD_SIZE", "4"},
                           {"LOCAL_RANK", "1"},
                           {"LOCAL_WORLD_SIZE", "2"},
                           {"MASTER_ADDR", "10.0.0.7"},
                           {"MASTER_PORT", "29511"},
                           {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
  EXPECT_EQ(env.master_addr, "10.0.0.7");
  EXPECT_EQ(env.master_port, 29511);
  EXPECT_TRUE(env.agent_store);
}

TEST(LaunchEnv, FallsBackToSlurm) {
  const auto env = env_of({{"SLURM_PROCID", "5"},
                           {"SLURM_NTASKS", "8"},
                           {"SLURM_LOCALID", "1"},
                           {"MASTER_ADDR", "n1"}});
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  // RANK wins over SLURM_PROCID.
  EXPECT_EQ(
      env_of({{"RANK", "1"}, {"SLURM_PROCID", "5"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}})
          .rank,
      1);
}

TEST(LaunchEnv, BadValuesAreInputErrors) {
  auto error = [](const std::map<std::string, std::string>& vars) {
    return input_error_of([&] { env_of(vars); });
  };
  EXPECT_NE(error({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("RANK=2"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "-1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("RANK=-1"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "one"}, {"WORLD_SIZE", "2"}}).find("RANK='one'"), std::string::npos);
  EXPECT_NE(error({{"WORLD_SIZE", "2x"}}).find("WORLD_SIZE='2x'"), std::string::npos);
  EXPECT_NE(error({{"WORLD_SIZE", "0"}}).find("WORLD_SIZE=0"), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(
      error({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}).find("70000"),
      std::string::npos);
  EXPECT_NE(error({{"WORLD_SIZE", "4"},
                   {"MASTER_ADDR", "h"},
                   {"LOCAL_RANK", "2"},
                   {"LOCAL_WORLD_SIZE", "2"}})
                .find("LOCAL_RANK=2"),
            std::string::npos);
}

TEST(LaunchEnv, DefaultThreadsShareTheCores) {
  EXPECT_EQ(dist::default_threads(16, 1), 0);
  EXPECT_EQ(dist::default_threads(16, 4), 4);
  EXPECT_EQ(dist::default_threads(2, 2), 1);
  EXPECT_EQ(dist::default_threads(2, 8), 1);
}

TEST(LocalWorld, CollectivesOfOneProcessAreIdentities) {
  dist::World world;
  EXPECT_EQ(world.size(), 1);
  EXPECT_TRUE(world.is_main());
  EXPECT_EQ(world.all_reduce_sum(std::vector<double>{1.5, 2}), (std::vector<double>{1.5, 2}));
  auto p = torch::ones({3}, torch::requires_grad());
  p.mutable_grad() = torch::full({3}, 2.0);
  world.average_gradients({p});
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({3}, 2.0)));
}

// ---------------------------------------------------------------------------------------------
// Sharding

TEST(ShardBatches, RanksSplitEachBatchOfTheLargerPlan) {
  std::vector<int64_t> lengths(23);
  for (size_t i = 0; i < lengths.size(); ++i) lengths[i] = static_cast<int64_t>(i % 7);
  const auto plan = plan_epoch_batches(lengths, 2 * 4, /*seed=*/9, /*epoch=*/1);
  const auto r0 = shard_batches(plan, 0, 2);
  const auto r1 = shard_batches(plan, 1, 2);
  ASSERT_EQ(r0.size(), plan.size());  // the short batch holds 7 >= 2 examples
  ASSERT_EQ(static_cast<int64_t>(r0.size()), sharded_batch_count(23, 4, 2));
  ASSERT_EQ(r1.size(), r0.size());
  for (size_t b = 0; b < plan.size(); ++b) {
    auto joined = r0[b];
    joined.insert(joined.end(), r1[b].begin(), r1[b].end());
    EXPECT_EQ(joined, plan[b]) << "batch " << b;
  }
  // 25 examples in batches of 8: the short batch of 1 cannot be split over 2 ranks.
  std::vector<int64_t> more(25, 3);
  EXPECT_EQ(static_cast<int64_t>(shard_batches(plan_epoch_batches(more, 8, 1, 0), 1, 2).size()),
            sharded_batch_count(25, 4, 2));
  EXPECT_EQ(sharded_batch_count(25, 4, 2), 3);
  EXPECT_EQ(sharded_batch_count(25, 8, 1), 4);
}

// ---------------------------------------------------------------------------------------------
// Real processes

std::string bin(const std::string& app) {
  const char* env = std::getenv("LSTM_NLP_BIN");
  return std::string(env ? env : LSTMNLP_BINARY_DIR "/bin") + "/" + app;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  // Port 0 always binds; a failure shows as port 0 below, which the runs then fail to use.
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

pid_t spawn(const std::string& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int raw = 0;
  ::waitpid(pid, &raw, 0);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The environment of rank `rank` of `world` on 127.0.0.1:`port`.
std::string rank_env(int rank, int world, int port) {
  return "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
         " LOCAL_RANK=" + std::to_string(rank) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " ";
}

// Runs `args` as `world` processes; returns their exit statuses. Rank r's stderr goes to
// `log_prefix` + r.
std::vector<int> run_ranks(int world, const std::string& args, const std::string& log_prefix) {
  const int port = free_port();
  std::vector<pid_t> pids;
  pids.reserve(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) {
    pids.push_back(
        spawn(rank_env(r, world, port) + args + " >/dev/null 2>" + log_prefix + std::to_string(r)));
  }
  std::vector<int> statuses;
  statuses.reserve(pids.size());
  for (pid_t pid : pids) statuses.push_back(wait_status(pid));
  return statuses;
}

std::vector<nlohmann::json> records(const std::string& metrics, const std::string& split) {
  std::vector<nlohmann::json> out;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["split"] == split) out.push_back(j);
  }
  return out;
}

// The train records of a run on one process (`one`) and on two (`two`): `steps` each, written by
// rank 0 alone, with the same losses (1e-5), the second's marked with its world size.
void expect_same_train_losses(const std::string& one, const std::string& two, size_t steps) {
  const auto train_one = records(one + "/metrics.jsonl", "train");
  const auto train_two = records(two + "/metrics.jsonl", "train");
  ASSERT_EQ(train_one.size(), steps);
  ASSERT_EQ(train_two.size(), steps);
  for (size_t i = 0; i < steps; ++i) {
    EXPECT_NEAR(train_two[i]["loss"].get<double>(), train_one[i]["loss"].get<double>(), 1e-5);
    EXPECT_EQ(train_two[i]["world_size"], 2);
    EXPECT_FALSE(train_one[i].contains("world_size"));
  }
}

class DistributedLmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(bin("lstm-lm"))) GTEST_SKIP() << bin("lstm-lm") << " is not built";
    auto cfg = lm::testing::tiny_config(data_);
    // 200 more words, so that a step touches few rows of the embedding table and its gradient
    // travels as rows (dist::World::average_gradients).
    std::ofstream train(data_ / "train.txt", std::ios::app);
    for (int i = 0; i < 200; ++i) train << "w" << i << (i % 10 == 9 ? "\n" : " ");
    // No dropout (tiny_config has none): the ranks' masks would differ from one process's.
    cfg.train.base.opt.optimizer = Optimizer::kSgd;
    cfg.train.base.opt.lr = 0.5;
    cfg.train.base.loop.log_every = 1;
    cfg.train.base.loop.eval_every = 3;
    cfg.train.base.loop.max_steps = 6;
    config_ = data_ / "lm.yaml";
    std::ofstream(config_) << config::to_yaml(cfg);
  }

  // lstm-lm train of `config_` with batch `batch` into `run`, on `world` processes.
  std::vector<int> train(int world, int batch, const std::string& run, const std::string& extra) {
    const std::string args = bin("lstm-lm") + " train --config " + config_ +
                             " --threads 1 --set data.batch_size=" + std::to_string(batch) +
                             " --output-dir " + run + " " + extra;
    return run_ranks(world, args, run + ".log");
  }

  TempDir data_{"dist_lm"};
  std::string config_;
};

void expect_same_weights(const std::string& a, const std::string& b) {
  const auto x = lm::load_lm(a, torch::kCPU);
  const auto y = lm::load_lm(b, torch::kCPU);
  const auto px = x.module->named_parameters();
  const auto py = y.module->named_parameters();
  ASSERT_EQ(px.size(), py.size());
  for (const auto& item : px) {
    EXPECT_TRUE(torch::allclose(item.value(), py[item.key()], 1e-5, 1e-5)) << item.key();
  }
  // The hidden state of all the streams, each rank's part gathered into the checkpoint.
  const auto bx = x.module->named_buffers();
  const auto by = y.module->named_buffers();
  for (const auto& name : {"state_h", "state_c"}) {
    ASSERT_TRUE(bx.contains(name) && by.contains(name));
    EXPECT_TRUE(torch::allclose(bx[name], by[name], 1e-5, 1e-5)) << name;
  }
}

TEST_F(DistributedLmTest, TwoRanksOfBatchBEqualOneOfBatchTwoB) {
  TempDir runs("dist_lm_runs");
  const auto one = runs / "one";
  const auto two = runs / "two";
  ASSERT_EQ(train(1, 8, one, ""), std::vector<int>({0})) << slurp(one + ".log0");
  ASSERT_EQ(train(2, 4, two, ""), std::vector<int>({0, 0}))
      << slurp(two + ".log0") << slurp(two + ".log1");

  // The same losses step by step, the same evaluations, the same weights and state.
  expect_same_train_losses(one, two, 6);
  const auto valid_one = records(one + "/metrics.jsonl", "valid");
  const auto valid_two = records(two + "/metrics.jsonl", "valid");
  ASSERT_EQ(valid_one.size(), 2u);
  ASSERT_EQ(valid_two.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(valid_two[i]["loss"].get<double>(), valid_one[i]["loss"].get<double>(), 1e-6);
    EXPECT_EQ(valid_two[i]["tokens"], valid_one[i]["tokens"]);
  }
  expect_same_weights(one + "/latest.pt", two + "/latest.pt");

  // Only rank 0 wrote, and nothing was left half-written.
  for (const auto& entry : fs::directory_iterator(two)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  EXPECT_EQ(slurp(two + ".log1").find("eval after"), std::string::npos) << slurp(two + ".log1");
}

TEST_F(DistributedLmTest, ResumeOnTwoRanksContinuesTheSameRun) {
  TempDir runs("dist_lm_resume");
  const auto whole = runs / "whole";
  const auto parts = runs / "parts";
  ASSERT_EQ(train(2, 4, whole, ""), std::vector<int>({0, 0})) << slurp(whole + ".log0");
  ASSERT_EQ(train(2, 4, parts, "--set train.max_steps=4"), std::vector<int>({0, 0}))
      << slurp(parts + ".log0");
  ASSERT_EQ(train(2, 4, parts, "--resume " + parts + "/latest.pt"), std::vector<int>({0, 0}))
      << slurp(parts + ".log0") << slurp(parts + ".log1");
  const auto a = records(whole + "/metrics.jsonl", "train");
  const auto b = records(parts + "/metrics.jsonl", "train");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["loss"].get<double>(), b[i]["loss"].get<double>()) << "step " << i + 1;
  }
  expect_same_weights(whole + "/latest.pt", parts + "/latest.pt");

  // A checkpoint of 2 processes is not resumed by 1.
  const auto statuses = train(1, 4, parts, "--resume " + parts + "/latest.pt");
  EXPECT_EQ(statuses, std::vector<int>({2}));
  EXPECT_NE(slurp(parts + ".log0").find("resume it with 2"), std::string::npos)
      << slurp(parts + ".log0");
}

TEST_F(DistributedLmTest, WhenARankDiesTheOtherStopsWithAMessage) {
  TempDir runs("dist_lm_fault");
  const auto run = runs / "run";
  const int port = free_port();
  const std::string args = bin("lstm-lm") + " train --config " + config_ +
                           " --threads 1 --set train.max_steps=0 --set train.epochs=100000" +
                           " --dist-timeout 30 --output-dir " + run;
  const pid_t rank0 = spawn(rank_env(0, 2, port) + args + " >/dev/null 2>" + run + ".log0");
  // exec, so that the pid is the trainer's own and SIGKILL reaches it.
  const pid_t rank1 = spawn("exec env " + rank_env(1, 2, port) + args + " >/dev/null 2>/dev/null");
  // Kill rank 1 once training is under way (rank 0 has written train records).
  for (int i = 0; i < 600 && records(run + "/metrics.jsonl", "train").size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(rank1, SIGKILL);
  wait_status(rank1);
  const int status = wait_status(rank0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  const auto log = slurp(run + ".log0");
  EXPECT_NE(status, 0) << log;
  EXPECT_LT(seconds, 60) << log;
  EXPECT_NE(log.find("rank 0 of 2"), std::string::npos) << log;
  // The run can resume from its last checkpoint.
  EXPECT_TRUE(fs::exists(run + "/config.yaml"));
}

TEST_F(DistributedLmTest, BadEnvironmentExitsTwoWithOneLine) {
  TempDir runs("dist_lm_env");
  const std::string args =
      bin("lstm-lm") + " train --config " + config_ + " --output-dir " + (runs / "run");
  for (const std::string& env : {std::string("RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 "),
                                 std::string("RANK=0 WORLD_SIZE=2 "),
                                 std::string("RANK=x WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 ")}) {
    const pid_t pid = spawn("env -u MASTER_ADDR " + env + args + " >/dev/null 2>" + (runs / "err"));
    EXPECT_EQ(wait_status(pid), 2) << env << slurp(runs / "err");
    const auto err = slurp(runs / "err");
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
  // A store port that is taken cannot be served.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const pid_t pid =
      spawn(rank_env(0, 2, ntohs(addr.sin_port)) + args + " >/dev/null 2>" + (runs / "err"));
  const int status = wait_status(pid);
  ::close(fd);
  const auto err = slurp(runs / "err");
  EXPECT_EQ(status, 2) << err;
  EXPECT_NE(err.find("c10d store at 127.0.0.1"), std::string::npos) << err;
}

// lstm-sentiment on synthetic reviews of varied length: 2 ranks of batch B against one of 2B.
class DistributedSentimentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(bin("lstm-sentiment")))
      GTEST_SKIP() << bin("lstm-sentiment") << " is not built";
    // 192 training examples: every batch of 16 is full, so each rank's mean loss weighs the same.
    // 101 dev examples: the ranks' shares of the evaluation differ in size.
    write_reviews(data_ / "train.tsv", 192, 1);
    write_reviews(data_ / "dev.tsv", 101, 2);
    sentiment::SentimentConfig cfg;
    cfg.data.train = data_ / "train.tsv";
    cfg.data.dev = data_ / "dev.tsv";
    cfg.tokenizer.vocab_size = 30;
    cfg.tokenizer.character_coverage = 1.0;
    cfg.model.embedding_dim = 8;
    cfg.model.hidden_size = 8;
    cfg.model.dropout = 0;  // the ranks' masks would differ from one process's
    cfg.train.base.opt.optimizer = Optimizer::kSgd;
    cfg.train.base.opt.lr = 0.5;
    cfg.train.base.loop.log_every = 1;
    cfg.train.base.loop.eval_every = 3;
    cfg.train.base.loop.max_steps = 6;
    config_ = data_ / "sentiment.yaml";
    std::ofstream(config_) << config::to_yaml(cfg);
  }

  static void write_reviews(const std::string& path, int n, unsigned seed) {
    std::mt19937 rng(seed);
    const std::vector<std::string> pos = {"good", "great", "wonderful", "fine", "superb"};
    const std::vector<std::string> neg = {"bad", "awful", "dull", "boring", "poor"};
    const std::vector<std::string> nouns = {"film", "movie", "acting", "plot", "story"};
    std::ofstream out(path);
    out << "sentence\tlabel\n";
    for (int i = 0; i < n; ++i) {
      const auto& words = i % 2 ? neg : pos;
      out << "a";
      for (unsigned k = 0; k <= rng() % 4; ++k) out << " " << words[rng() % words.size()];
      out << " " << nouns[rng() % nouns.size()] << "\t" << (i % 2 ? "neg" : "pos") << "\n";
    }
  }

  std::vector<int> train(int world, int batch, const std::string& run) {
    const std::string args = bin("lstm-sentiment") + " train --config " + config_ +
                             " --threads 1 --set train.batch_size=" + std::to_string(batch) +
                             " --output-dir " + run;
    return run_ranks(world, args, run + ".log");
  }

  TempDir data_{"dist_sentiment"};
  std::string config_;
};

TEST_F(DistributedSentimentTest, TwoRanksOfBatchBEqualOneOfBatchTwoB) {
  TempDir runs("dist_sentiment_runs");
  const auto one = runs / "one";
  const auto two = runs / "two";
  ASSERT_EQ(train(1, 16, one), std::vector<int>({0})) << slurp(one + ".log0");
  ASSERT_EQ(train(2, 8, two), std::vector<int>({0, 0}))
      << slurp(two + ".log0") << slurp(two + ".log1");

  expect_same_train_losses(one, two, 6);
  // Each rank scored its share of dev; the sums are the whole set's.
  const auto valid_one = records(one + "/metrics.jsonl", "valid");
  const auto valid_two = records(two + "/metrics.jsonl", "valid");
  ASSERT_EQ(valid_one.size(), 2u);
  ASSERT_EQ(valid_two.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(valid_two[i]["loss"].get<double>(), valid_one[i]["loss"].get<double>(), 1e-6);
    EXPECT_EQ(valid_two[i]["accuracy"], valid_one[i]["accuracy"]);
    EXPECT_EQ(valid_two[i]["confusion"], valid_one[i]["confusion"]);
  }
  int64_t examples = 0;
  for (const auto& row : valid_two[1]["confusion"]) {
    for (const auto& count : row) examples += count.get<int64_t>();
  }
  EXPECT_EQ(examples, 101);

  const auto x = sentiment::SentimentCheckpoint::load(one + "/latest.pt", torch::kCPU);
  const auto y = sentiment::SentimentCheckpoint::load(two + "/latest.pt", torch::kCPU);
  const auto px = x.model->named_parameters();
  const auto py = y.model->named_parameters();
  ASSERT_EQ(px.size(), py.size());
  for (const auto& item : px) {
    EXPECT_TRUE(torch::allclose(item.value(), py[item.key()], 1e-5, 1e-5)) << item.key();
  }
  // The final report on best.pt, scored in shares too, equals one process's.
  std::ifstream in_one(one + "/dev_metrics.json");
  std::ifstream in_two(two + "/dev_metrics.json");
  const auto dev_one = nlohmann::json::parse(in_one);
  const auto dev_two = nlohmann::json::parse(in_two);
  EXPECT_EQ(dev_two["accuracy"], dev_one["accuracy"]);
  EXPECT_EQ(dev_two["confusion"], dev_one["confusion"]);
  EXPECT_EQ(slurp(two + ".log1").find("dev ("), std::string::npos) << slurp(two + ".log1");
}

// lstm-qa on slices of the SQuAD dev file: 2 ranks of batch B against one of 2B; each rank
// answers its share of the dev questions and the official figures agree to the last bit.
TEST(DistributedQaTest, TwoRanksOfBatchBEqualOneOfBatchTwoB) {
  const std::string squad = qa::testing::squad_dir() + "/dev-v1.1.json";
  if (!fs::exists(bin("lstm-qa"))) GTEST_SKIP() << bin("lstm-qa") << " is not built";
  if (!fs::exists(squad)) GTEST_SKIP() << squad << " not found (set LSTM_NLP_DATA)";
  TempDir dir("dist_qa");
  const auto data = read_squad(squad);
  // 128 training questions, every batch of 16 full; 75 dev questions, shares of 37 and 38.
  qa::testing::write_slice(data, 128, dir / "train.json");
  qa::testing::write_slice(data, 75, dir / "dev.json");
  qa::QaConfig cfg;
  cfg.data.train = dir / "train.json";
  cfg.data.dev = dir / "dev.json";
  cfg.data.max_context_tokens = 0;  // no answer cut off: each rank's mean loss weighs the same
  cfg.tokenizer.vocab_size = 400;
  cfg.model.embedding_dim = 16;
  cfg.model.hidden_size = 8;
  cfg.model.context_layers = 1;
  cfg.model.question_layers = 1;
  cfg.model.dropout = 0;  // the ranks' masks would differ from one process's
  cfg.model.embedding_dropout = 0;
  cfg.train.base.opt.optimizer = Optimizer::kSgd;
  cfg.train.base.opt.lr = 0.5;
  cfg.train.base.loop.log_every = 1;
  cfg.train.base.loop.eval_every = 2;
  cfg.train.base.loop.max_steps = 4;
  cfg.train.eval_batch_size = 16;
  const std::string config_path = dir / "qa.yaml";
  std::ofstream(config_path) << config::to_yaml(cfg);
  const auto train = [&](int world, int batch, const std::string& run) {
    return run_ranks(world,
                     bin("lstm-qa") + " train --config " + config_path +
                         " --threads 1 --set train.batch_size=" + std::to_string(batch) +
                         " --output-dir " + run,
                     run + ".log");
  };
  const auto one = dir / "one";
  const auto two = dir / "two";
  ASSERT_EQ(train(1, 16, one), std::vector<int>({0})) << slurp(one + ".log0");
  ASSERT_EQ(train(2, 8, two), std::vector<int>({0, 0}))
      << slurp(two + ".log0") << slurp(two + ".log1");

  expect_same_train_losses(one, two, 4);
  const auto valid_one = records(one + "/metrics.jsonl", "valid");
  const auto valid_two = records(two + "/metrics.jsonl", "valid");
  ASSERT_EQ(valid_one.size(), 2u);
  ASSERT_EQ(valid_two.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(valid_two[i]["questions"], 75);
    EXPECT_EQ(valid_two[i]["exact_match"], valid_one[i]["exact_match"]);
    EXPECT_EQ(valid_two[i]["f1"], valid_one[i]["f1"]);
  }
  // Some answers were right, so the figures compared are not both 0.
  EXPECT_GT(valid_one[1]["f1"].get<double>(), 0.0);
  std::cerr << "dev F1 after 2 and 4 steps: " << valid_one[0]["f1"] << ", " << valid_one[1]["f1"]
            << "\n";
}

}  // namespace
}  // namespace lstmnlp
