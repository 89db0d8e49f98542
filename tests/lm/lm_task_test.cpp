#include "models/lm/lm_task.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "core/trainer.h"
#include "lm_test_util.h"
#include "models/lm/lm_app.h"

namespace lstmnlp::lm {
namespace {

using testing::TempDir;
using testing::tiny_config;

TEST(LmTask, CarriesTheHiddenStateFromBatchToBatch) {
  TempDir dir("lm_task_state");
  const auto cfg = tiny_config(dir);
  const auto data = load_lm_data(cfg, dir.path().string());
  torch::manual_seed(5);
  LmTask task(cfg, data.vocab, data.train, data.valid);
  auto& model = task.module()->model;
  const auto streams = batchify(data.train.ids, cfg.data.batch_size);

  task.start_epoch(0, 0);
  EXPECT_EQ(task.module()->state_h.abs().sum().item<float>(), 0.0f);
  // No optimizer step runs here, so the weights stay fixed and the state can be recomputed.
  LmState expected = model->initial_state(cfg.data.batch_size);
  for (int64_t i = 0; i < 3; ++i) {
    task.train_step(0, i);
    torch::NoGradGuard no_grad;
    auto [input, target] = get_batch(streams, i, cfg.data.bptt);
    std::tie(std::ignore, expected) = model->forward(input, expected);
    // The no-grad forward may run on oneDNN (models/onednn_layer.h) and the training forward on
    // the module's own kernels: the same states up to float32 rounding (about 1e-7 here).
    EXPECT_TRUE(torch::allclose(task.module()->state_h, std::get<0>(expected), 1e-5, 1e-6))
        << "batch " << i;
    EXPECT_TRUE(torch::allclose(task.module()->state_c, std::get<1>(expected), 1e-5, 1e-6))
        << "batch " << i;
  }
  // The state after batch 2 differs from what batch 2 alone would give from zeros.
  {
    torch::NoGradGuard no_grad;
    auto [input, target] = get_batch(streams, 2, cfg.data.bptt);
    auto [logits, fresh] = model->forward(input);
    EXPECT_FALSE(torch::allclose(std::get<0>(fresh), task.module()->state_h));
  }
  // A resumed epoch keeps the state; a new epoch starts from zeros.
  const auto kept = task.module()->state_h.clone();
  task.start_epoch(0, 3);
  EXPECT_TRUE(torch::equal(task.module()->state_h, kept));
  task.start_epoch(1, 0);
  EXPECT_EQ(task.module()->state_h.abs().sum().item<float>(), 0.0f);
}

TEST(LmTask, StepReportsSummedLossAndTokens) {
  TempDir dir("lm_task_step");
  auto cfg = tiny_config(dir);
  const auto data = load_lm_data(cfg, dir.path().string());
  torch::manual_seed(6);
  LmTask task(cfg, data.vocab, data.train, data.valid);
  task.start_epoch(0, 0);
  const auto result = task.train_step(0, 0);
  EXPECT_EQ(result.units, cfg.data.bptt * cfg.data.batch_size);
  // An untrained model is close to uniform over the vocabulary.
  EXPECT_NEAR(result.loss_sum / result.units, std::log(data.vocab.size()), 0.2);
  const auto eval = task.evaluate();
  EXPECT_FALSE(eval.higher_is_better);
  EXPECT_DOUBLE_EQ(eval.score, eval.metrics["ppl"].get<double>());
}

// Dropout makes the losses depend on the RNG too, so an exact match needs the weights, the
// optimizer, the carried state, the data position and the RNG all restored.
TEST(LmTask, ResumeReproducesTheSameLosses) {
  TempDir dir("lm_task_resume");
  auto cfg = tiny_config(dir);
  cfg.model.dropout_embedding = 0.2;
  cfg.model.dropout_hidden = 0.2;
  cfg.model.dropout_output = 0.2;
  const auto data = load_lm_data(cfg, dir.path().string());
  auto options = [&](const std::string& sub, int64_t max_steps, const std::string& resume) {
    TrainerOptions o;
    o.run_dir = dir / sub;
    o.train = cfg.train.base;
    o.train.loop.max_steps = max_steps;
    o.kind = "lm";
    o.extra = data.vocab.to_json();
    o.resume = resume;
    return o;
  };

  torch::manual_seed(7);
  LmTask straight(cfg, data.vocab, data.train, data.valid);
  const auto full = Trainer(straight, options("straight", 0, "")).run();
  const int64_t per_epoch = straight.batches_per_epoch();
  ASSERT_GE(per_epoch, 4);
  ASSERT_EQ(full.steps, 3 * per_epoch);

  // Stop in the middle of the second epoch, then resume in a fresh task with another seed.
  const int64_t split = per_epoch + 2;
  torch::manual_seed(7);
  LmTask first(cfg, data.vocab, data.train, data.valid);
  Trainer(first, options("split", split, "")).run();
  torch::manual_seed(999);
  LmTask second(cfg, data.vocab, data.train, data.valid);
  Trainer(second, options("split", 0, dir / "split/latest.pt")).run();

  std::vector<double> joined = first.losses();
  joined.insert(joined.end(), second.losses().begin(), second.losses().end());
  ASSERT_EQ(joined.size(), straight.losses().size());
  for (size_t i = 0; i < joined.size(); ++i) {
    EXPECT_EQ(joined[i], straight.losses()[i]) << "step " << i + 1;
  }
  const auto a = straight.model().named_parameters();
  const auto b = second.model().named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

}  // namespace
}  // namespace lstmnlp::lm
