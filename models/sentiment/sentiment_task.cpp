#include "models/sentiment/sentiment_task.h"

#include "core/distributed.h"

namespace lstmnlp::sentiment {

EncodedExamples encode_examples(const std::vector<LabeledExample>& examples,
                                const SentencePieceTokenizer& tokenizer, const LabelSet& labels,
                                int64_t max_tokens) {
  EncodedExamples out;
  out.tokens.reserve(examples.size());
  out.lengths.reserve(examples.size());
  out.labels.reserve(examples.size());
  for (const auto& e : examples) {
    out.labels.push_back(labels.index_of(e.label, e.source, e.line));
    out.tokens.push_back(encode_for_classifier(tokenizer, e.text, max_tokens));
    out.lengths.push_back(static_cast<int64_t>(out.tokens.back().size()));
  }
  return out;
}

torch::Tensor predict_probabilities(SentimentClassifier& model,
                                    const std::vector<std::vector<int>>& tokens, int64_t pad_id,
                                    int64_t batch_size, torch::Device device) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<int64_t> lengths(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) lengths[i] = static_cast<int64_t>(tokens[i].size());
  torch::Tensor probs;
  for (const auto& indices : plan_inference_batches(lengths, batch_size, /*max_batch_tokens=*/0)) {
    const auto batch = make_batch(tokens, indices, pad_id);
    const auto p = torch::softmax(model->forward(batch.tokens.to(device), batch.lengths), 1)
                       .to(torch::kCPU, torch::kFloat32);
    if (!probs.defined()) probs = torch::empty({static_cast<int64_t>(tokens.size()), p.size(1)});
    probs.index_copy_(0, torch::tensor(indices, torch::kInt64), p);
  }
  return probs.defined() ? probs : torch::empty({0, 0});
}

SentimentTask::SentimentTask(SentimentClassifier model, EncodedExamples train, EncodedExamples dev,
                             int64_t num_classes, const SentimentTrainConfig& cfg, int64_t pad_id,
                             uint64_t seed, torch::Device device)
    : model_(std::move(model)),
      train_(std::move(train)),
      dev_(std::move(dev)),
      num_classes_(num_classes),
      cfg_(cfg),
      pad_id_(pad_id),
      seed_(seed),
      device_(device) {
  TORCH_CHECK(!train_.tokens.empty(), "no training examples");
  TORCH_CHECK(!dev_.tokens.empty(), "no dev examples");
  if (cfg_.class_weights == ClassWeights::kBalanced) {
    std::vector<double> counts(num_classes_, 0.0);
    for (int64_t y : train_.labels) counts[y] += 1;
    std::vector<float> weights(num_classes_);
    const double n = static_cast<double>(train_.labels.size());
    for (int64_t c = 0; c < num_classes_; ++c) {
      weights[c] = counts[c] > 0 ? static_cast<float>(n / (num_classes_ * counts[c])) : 0.0f;
    }
    class_weights_ = torch::tensor(weights).to(device_);
  }
}

int64_t SentimentTask::batches_per_epoch() {
  const int64_t n = static_cast<int64_t>(train_.tokens.size());
  return sharded_batch_count(n, cfg_.batch_size, dist::world().size());
}

void SentimentTask::start_epoch(int64_t epoch, int64_t /*first_batch*/) {
  if (planned_epoch_ != epoch) {
    // With W processes, each takes its part of the batches of W times the batch size.
    const auto& world = dist::world();
    plan_ = shard_batches(
        plan_epoch_batches(train_.lengths, cfg_.batch_size * world.size(), seed_, epoch),
        world.rank(), world.size());
    planned_epoch_ = epoch;
  }
}

StepResult SentimentTask::train_step(int64_t epoch, int64_t index) {
  start_epoch(epoch, index);
  const auto& indices = plan_.at(index);
  const auto batch = make_batch(train_.tokens, indices, pad_id_);
  std::vector<int64_t> gold(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) gold[i] = train_.labels[indices[i]];
  const auto target = torch::tensor(gold, torch::kInt64).to(device_);
  const auto logits = model_->forward(batch.tokens.to(device_), batch.lengths);
  auto options = torch::nn::functional::CrossEntropyFuncOptions();
  if (class_weights_.defined()) options.weight(class_weights_);
  const auto loss = torch::nn::functional::cross_entropy(logits, target, options);
  loss.backward();
  const int64_t n = static_cast<int64_t>(indices.size());
  return {loss.item<double>() * n, n};
}

ClassificationReport SentimentTask::dev_report(double* mean_loss) {
  // With W processes, rank r scores its contiguous share of the dev set, and the per-class counts
  // and the summed loss are added up across the ranks: every rank gets the whole set's figures.
  auto& world = dist::world();
  const size_t n = dev_.tokens.size();
  const auto [begin, end] = share_of(static_cast<int64_t>(n), world.rank(), world.size());
  std::vector<std::vector<int>> share;
  if (world.size() > 1) share.assign(dev_.tokens.begin() + begin, dev_.tokens.begin() + end);
  const auto& tokens = world.size() > 1 ? share : dev_.tokens;

  const auto c = static_cast<size_t>(num_classes_);
  std::vector<double> sums(1 + c * c, 0.0);  // the summed loss, then confusion[gold][predicted]
  if (!tokens.empty()) {
    const auto probs =
        predict_probabilities(model_, tokens, pad_id_, cfg_.eval_batch_size, device_);
    const std::vector<int64_t> gold(dev_.labels.begin() + begin, dev_.labels.begin() + end);
    const auto gold_probs =
        probs.gather(1, torch::tensor(gold, torch::kInt64).unsqueeze(1)).clamp_min(1e-12);
    sums[0] = -gold_probs.log().to(torch::kFloat64).sum().item<double>();
    const auto predicted = probs.argmax(1).contiguous();
    const int64_t* pred = predicted.data_ptr<int64_t>();
    for (size_t i = 0; i < gold.size(); ++i) sums[1 + gold[i] * c + pred[i]] += 1;
  }
  if (world.size() > 1) sums = world.all_reduce_sum(sums);

  std::vector<std::vector<int64_t>> confusion(c, std::vector<int64_t>(c, 0));
  for (size_t g = 0; g < c; ++g) {
    for (size_t p = 0; p < c; ++p) confusion[g][p] = static_cast<int64_t>(sums[1 + g * c + p]);
  }
  if (mean_loss != nullptr) *mean_loss = sums[0] / static_cast<double>(n);
  return report_from_confusion(std::move(confusion));
}

EvalResult SentimentTask::evaluate() {
  double loss = 0;
  const auto report = dev_report(&loss);
  nlohmann::json metrics = {{"loss", loss},
                            {"accuracy", report.accuracy},
                            {"macro_f1", report.macro_f1},
                            {"confusion", report.confusion}};
  return {metrics, report.accuracy, /*higher_is_better=*/true};
}

}  // namespace lstmnlp::sentiment
