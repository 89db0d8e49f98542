#include "models/lm/lm_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace lstmnlp::lm {
namespace {

LmConfig load_shipped(const std::string& name, const std::vector<std::string>& sets = {}) {
  // Only ${LSTM_NLP_DATA} is expanded here; no file is read.
  ::setenv("LSTM_NLP_DATA", "/data", /*overwrite=*/0);
  return config::load<LmConfig>(std::string(LSTMNLP_SOURCE_DIR) + "/configs/lm/" + name, sets);
}

TEST(LmConfig, ZarembaSmallIsThePapers) {
  const auto cfg = load_shipped("zaremba-small.yaml");
  EXPECT_EQ(cfg.data.dir, std::string(std::getenv("LSTM_NLP_DATA")) + "/ptb");
  EXPECT_EQ(cfg.data.batch_size, 20);
  EXPECT_EQ(cfg.data.bptt, 20);
  EXPECT_EQ(cfg.model.hidden_size, 200);
  EXPECT_EQ(cfg.model.num_layers, 2);
  EXPECT_EQ(cfg.model.dropout_output, 0.0);
  EXPECT_EQ(cfg.model.init_range, 0.1);
  const auto& opt = cfg.train.base.opt;
  EXPECT_EQ(opt.optimizer, Optimizer::kSgd);
  EXPECT_EQ(opt.lr, 1.0);
  // Epochs 1-4 at lr 1, then halved every epoch.
  EXPECT_DOUBLE_EQ(scheduled_lr(opt, /*epoch=*/3, 0, 0), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(opt, /*epoch=*/4, 0, 0), 0.5);
  EXPECT_EQ(cfg.train.base.loop.epochs, 13);
  EXPECT_EQ(cfg.train.base.loop.clip_norm, 5.0);
}

TEST(LmConfig, ZarembaMediumLargeAndTied) {
  const auto medium = load_shipped("zaremba-medium.yaml");
  EXPECT_EQ(medium.model.hidden_size, 650);
  EXPECT_EQ(medium.data.bptt, 35);
  EXPECT_EQ(medium.model.dropout_hidden, 0.5);
  EXPECT_EQ(medium.model.init_range, 0.05);
  EXPECT_DOUBLE_EQ(scheduled_lr(medium.train.base.opt, /*epoch=*/5, 0, 0), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(medium.train.base.opt, /*epoch=*/6, 0, 0), 0.8);
  EXPECT_EQ(medium.train.base.loop.epochs, 39);
  EXPECT_FALSE(medium.model.tie_weights);

  const auto tied = load_shipped("zaremba-medium-tied.yaml");
  EXPECT_TRUE(tied.model.tie_weights);
  EXPECT_EQ(tied.model.embedding_size, tied.model.hidden_size);

  const auto example = load_shipped("pytorch-example-tied.yaml");
  EXPECT_TRUE(example.model.tie_weights);
  EXPECT_EQ(example.model.hidden_size, 650);
  EXPECT_FALSE(example.model.init_lstm);
  EXPECT_EQ(example.train.base.opt.lr, 20.0);
  EXPECT_EQ(example.train.base.opt.lr_schedule, LrSchedule::kPlateau);
  EXPECT_EQ(example.train.base.opt.lr_decay, 0.25);
  EXPECT_EQ(example.train.base.loop.clip_norm, 0.25);
  EXPECT_EQ(example.train.loss_average, LossAverage::kToken);
  EXPECT_EQ(example.train.base.loop.epochs, 40);

  const auto large = load_shipped("zaremba-large.yaml");
  EXPECT_EQ(large.model.hidden_size, 1500);
  EXPECT_EQ(large.model.dropout_embedding, 0.65);
  EXPECT_EQ(large.model.init_range, 0.04);
  EXPECT_DOUBLE_EQ(scheduled_lr(large.train.base.opt, /*epoch=*/13, 0, 0), 1.0);
  EXPECT_NEAR(scheduled_lr(large.train.base.opt, /*epoch=*/14, 0, 0), 1 / 1.15, 1e-12);
  EXPECT_EQ(large.train.base.loop.epochs, 55);
  EXPECT_EQ(large.train.base.loop.clip_norm, 10.0);
}

TEST(LmConfig, TinyShakespeareUsesSentencePiece) {
  const auto cfg = load_shipped("tinyshakespeare-spm.yaml");
  EXPECT_EQ(cfg.vocab.type, VocabType::kSentencePiece);
  EXPECT_FALSE(cfg.data.file.empty());
}

TEST(LmConfig, RejectsUnknownKeysAndBadChoices) {
  EXPECT_THROW(load_shipped("zaremba-small.yaml", {"model.lstm=cudnn"}), InputError);
  EXPECT_THROW(load_shipped("zaremba-small.yaml", {"model.no_such_key=1"}), InputError);
  EXPECT_THROW(load_shipped("zaremba-small.yaml", {"data.bptt=0"}), InputError);
  EXPECT_EQ(load_shipped("zaremba-small.yaml", {"model.lstm=torch"}).model.lstm,
            LstmBackend::kTorch);
}

}  // namespace
}  // namespace lstmnlp::lm
