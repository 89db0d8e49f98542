#include "models/lm/lm_task.h"

#include <cmath>

namespace lstmnlp::lm {

LmTrainModuleImpl::LmTrainModuleImpl(const LanguageModelOptions& options, int64_t batch_size) {
  model = register_module("model", LanguageModel(options));
  const auto [h, c] = model->initial_state(batch_size);
  state_h = register_buffer("state_h", h);
  state_c = register_buffer("state_c", c);
}

double Perplexity::token_ppl() const { return std::exp(nll / static_cast<double>(tokens)); }

double Perplexity::word_ppl() const { return std::exp(nll / words); }

nlohmann::json Perplexity::to_json(bool subword) const {
  nlohmann::json out = {{"loss", loss()}, {"ppl", token_ppl()}, {"tokens", tokens}};
  if (subword) {
    out["word_ppl"] = word_ppl();
    out["words"] = words;
  }
  return out;
}

Perplexity evaluate_perplexity(LanguageModel& model, const Corpus& corpus, int64_t batch_size,
                               int64_t bptt) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const auto device = model->decoder_weight().device();
  const auto data = batchify(corpus.ids, batch_size).to(device);
  LmState state = model->initial_state(batch_size);
  // Summing in double on the device avoids a host sync per batch.
  auto nll = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  const int64_t batches = num_batches(data, bptt);
  for (int64_t i = 0; i < batches; ++i) {
    auto [input, target] = get_batch(data, i, bptt);
    auto [features, next] = model->features(input, state);
    state = next;
    nll += model->nll(features, target).to(torch::kFloat64);
  }
  model->train(was_training);
  Perplexity result;
  result.nll = nll.item<double>();
  result.tokens = (data.size(0) - 1) * batch_size;
  const auto text_tokens = corpus.ids.size(0) - 1;  // every token after the leading <eos>
  result.words = static_cast<double>(corpus.words) * result.tokens / text_tokens;
  return result;
}

LmTask::LmTask(const LmConfig& cfg, const LmVocabulary& vocab, const Corpus& train,
               const Corpus& valid, torch::Device device)
    : cfg_(cfg), subword_(!vocab.is_words()), valid_(valid) {
  module_ = LmTrainModule(cfg.model.options(vocab.size()), cfg.data.batch_size);
  module_->to(device);
  train_data_ = batchify(train.ids, cfg.data.batch_size).to(device);
}

int64_t LmTask::batches_per_epoch() { return num_batches(train_data_, cfg_.data.bptt); }

void LmTask::start_epoch(int64_t /*epoch*/, int64_t first_batch) {
  // A fresh epoch starts from a zero state; a resumed one keeps the state in the checkpoint.
  if (first_batch == 0) {
    torch::NoGradGuard no_grad;
    module_->state_h.zero_();
    module_->state_c.zero_();
  }
}

StepResult LmTask::train_step(int64_t /*epoch*/, int64_t index) {
  auto [input, target] = get_batch(train_data_, index, cfg_.data.bptt);
  auto& model = module_->model;
  auto [features, state] = model->features(input, LmState{module_->state_h, module_->state_c});
  auto loss_sum = model->nll(features, target);
  const int64_t tokens = target.numel();
  const double scale =
      cfg_.train.loss_average == LossAverage::kToken ? 1.0 / tokens : 1.0 / target.size(1);
  (loss_sum * scale).backward();
  {
    torch::NoGradGuard no_grad;
    module_->state_h.copy_(std::get<0>(state));
    module_->state_c.copy_(std::get<1>(state));
  }
  const double sum = loss_sum.item<double>();
  losses_.push_back(sum / tokens);
  return {sum, tokens};
}

EvalResult LmTask::evaluate() {
  const auto result =
      evaluate_perplexity(module_->model, valid_, cfg_.data.eval_batch_size, cfg_.data.bptt);
  const double score = subword_ ? result.word_ppl() : result.token_ppl();
  return {result.to_json(subword_), score, /*higher_is_better=*/false};
}

void LmTask::describe_train(double mean_loss, nlohmann::json& record) {
  record["ppl"] = std::exp(mean_loss);
}

}  // namespace lstmnlp::lm
