#include "models/lm/lm_task.h"

#include <cmath>

#include "core/distributed.h"
#include "datasets/length_batching.h"

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
  auto data = batchify(corpus.ids, batch_size);
  const int64_t rows = data.size(0);
  // This rank's share of the streams.
  auto& world = dist::world();
  const auto share = share_of(batch_size, world.rank(), world.size());
  const int64_t streams = share.last - share.first;
  data = data.narrow(1, share.first, streams).contiguous().to(device);
  // Summing in double on the device avoids a host sync per batch.
  auto nll = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  if (streams > 0) {
    LmState state = model->initial_state(streams);
    const int64_t batches = num_batches(data, bptt);
    for (int64_t i = 0; i < batches; ++i) {
      auto [input, target] = get_batch(data, i, bptt);
      auto [features, next] = model->features(input, state);
      state = next;
      nll += model->nll(features, target).to(torch::kFloat64);
    }
  }
  model->train(was_training);
  Perplexity result;
  result.nll = world.all_reduce_sum({nll.item<double>()})[0];
  result.tokens = (rows - 1) * batch_size;
  const auto text_tokens = corpus.ids.size(0) - 1;  // every token after the leading <eos>
  result.words = static_cast<double>(corpus.words) * result.tokens / text_tokens;
  return result;
}

LmTask::LmTask(const LmConfig& cfg, const LmVocabulary& vocab, const Corpus& train,
               const Corpus& valid, torch::Device device)
    : cfg_(cfg), subword_(!vocab.is_words()), valid_(valid) {
  // With W processes the text is cut into W * batch_size streams and rank r trains streams
  // [r * batch_size, (r + 1) * batch_size): the streams of one process with W times the batch.
  const auto& world = dist::world();
  const int64_t batch = cfg.data.batch_size;
  module_ = LmTrainModule(cfg.model.options(vocab.size()), batch * world.size());
  module_->to(device);
  first_stream_ = batch * world.rank();
  train_data_ = batchify(train.ids, batch * world.size())
                    .narrow(1, first_stream_, batch)
                    .contiguous()
                    .to(device);
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
  const int64_t batch = cfg_.data.batch_size;
  auto state_h = module_->state_h.narrow(1, first_stream_, batch);
  auto state_c = module_->state_c.narrow(1, first_stream_, batch);
  auto [features, state] =
      model->features(input, LmState{state_h.contiguous(), state_c.contiguous()});
  auto loss_sum = model->nll(features, target);
  const int64_t tokens = target.numel();
  const double scale =
      cfg_.train.loss_average == LossAverage::kToken ? 1.0 / tokens : 1.0 / target.size(1);
  (loss_sum * scale).backward();
  {
    torch::NoGradGuard no_grad;
    state_h.copy_(std::get<0>(state));
    state_c.copy_(std::get<1>(state));
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

void LmTask::gather_state() {
  auto& world = dist::world();
  if (world.size() == 1) return;
  // Each rank holds only its own streams' state: a sum over ranks of that slice, zero elsewhere,
  // gives every rank the whole state.
  torch::NoGradGuard no_grad;
  const int64_t batch = cfg_.data.batch_size;
  std::vector<torch::Tensor> whole;
  for (auto* buffer : {&module_->state_h, &module_->state_c}) {
    auto mine = torch::zeros_like(*buffer);
    mine.narrow(1, first_stream_, batch).copy_(buffer->narrow(1, first_stream_, batch));
    whole.push_back(mine);
  }
  world.all_reduce_sum(whole);
  module_->state_h.copy_(whole[0]);
  module_->state_c.copy_(whole[1]);
}

void LmTask::describe_train(double mean_loss, nlohmann::json& record) {
  record["ppl"] = std::exp(mean_loss);
}

}  // namespace lstmnlp::lm
