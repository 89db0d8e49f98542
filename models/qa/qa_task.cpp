#include "models/qa/qa_task.h"

#include "core/distributed.h"
#include "datasets/length_batching.h"

namespace lstmnlp::qa {
namespace {

std::vector<int64_t> context_lengths(const SquadEncoding& data, int64_t max_context) {
  std::vector<int64_t> lengths;
  lengths.reserve(data.questions.size());
  for (const auto& q : data.questions) {
    const auto n = static_cast<int64_t>(data.contexts[q.context].ids.size());
    lengths.push_back(max_context > 0 ? std::min(n, max_context) : n);
  }
  return lengths;
}

}  // namespace

std::vector<QaPrediction> predict_spans(QaReader& reader, const SquadEncoding& data, int64_t pad_id,
                                        int64_t batch_size, int64_t max_answer_tokens,
                                        int64_t nbest, Share share, const AfterBatch& after_batch) {
  torch::NoGradGuard no_grad;
  reader->eval();
  const auto [first, last] =
      share_of(static_cast<int64_t>(data.questions.size()), share.index, share.parts);
  std::vector<QaPrediction> out(static_cast<size_t>(last - first));
  const auto lengths = context_lengths(data, /*max_context=*/0);
  const std::vector<int64_t> share_lengths(lengths.begin() + first, lengths.begin() + last);
  int64_t answered = 0;
  for (auto indices : plan_inference_batches(share_lengths, batch_size, /*max_batch_tokens=*/0)) {
    for (auto& i : indices) i += first;
    const auto batch = make_qa_batch(data, indices, pad_id, /*max_context=*/0);
    auto [start, end] = reader->forward(batch);
    const auto log_start =
        torch::log_softmax(start, 1).to(torch::kCPU, torch::kFloat32).contiguous();
    const auto log_end = torch::log_softmax(end, 1).to(torch::kCPU, torch::kFloat32).contiguous();
    const int64_t steps = log_start.size(1);
    for (size_t b = 0; b < indices.size(); ++b) {
      const int64_t q = indices[b];
      QaPrediction& prediction = out[static_cast<size_t>(q - first)];
      prediction.id = data.questions[static_cast<size_t>(q)].id;
      prediction.spans =
          best_spans(log_start.data_ptr<float>() + b * steps, log_end.data_ptr<float>() + b * steps,
                     lengths[q], max_answer_tokens, nbest);
      for (const auto& span : prediction.spans) {
        prediction.texts.push_back(answer_text(data, q, span.start, span.end));
      }
    }
    answered += static_cast<int64_t>(indices.size());
    if (after_batch) after_batch(answered);
  }
  return out;
}

std::map<std::string, std::string> best_answers(const std::vector<QaPrediction>& predictions) {
  std::map<std::string, std::string> answers;
  for (const auto& p : predictions) answers[p.id] = p.texts.empty() ? "" : p.texts.front();
  return answers;
}

SquadDataset first_questions(const SquadDataset& data, int64_t questions) {
  if (questions <= 0) return data;
  SquadDataset out;
  out.file = data.file;
  out.version = data.version;
  for (const auto& paragraph : data.paragraphs) {
    if (out.questions >= questions) break;
    SquadParagraph kept = paragraph;
    kept.questions.clear();
    for (const auto& q : paragraph.questions) {
      if (out.questions >= questions) break;
      kept.questions.push_back(q);
      ++out.questions;
    }
    out.paragraphs.push_back(std::move(kept));
  }
  return out;
}

QaTask::QaTask(QaReader reader, SquadEncoding train, SquadEncoding dev, SquadDataset dev_data,
               const QaConfig& cfg, int64_t pad_id, uint64_t seed, torch::Device device)
    : reader_(std::move(reader)),
      train_(std::move(train)),
      dev_(std::move(dev)),
      dev_data_(std::move(dev_data)),
      cfg_(cfg),
      pad_id_(pad_id),
      seed_(seed),
      device_(device) {
  TORCH_CHECK(!train_.questions.empty(), "no training questions");
  TORCH_CHECK(!dev_.questions.empty(), "no dev questions");
  train_lengths_ = context_lengths(train_, cfg_.data.max_context_tokens);
}

int64_t QaTask::batches_per_epoch() {
  const auto n = static_cast<int64_t>(train_.questions.size());
  return sharded_batch_count(n, cfg_.train.batch_size, dist::world().size());
}

void QaTask::start_epoch(int64_t epoch, int64_t /*first_batch*/) {
  if (planned_epoch_ != epoch) {
    // With W processes, each takes its part of the batches of W times the batch size.
    const auto& world = dist::world();
    plan_ = shard_batches(
        plan_epoch_batches(train_lengths_, cfg_.train.batch_size * world.size(), seed_, epoch),
        world.rank(), world.size());
    planned_epoch_ = epoch;
  }
}

StepResult QaTask::train_step(int64_t epoch, int64_t index) {
  start_epoch(epoch, index);
  reader_->train();
  const auto& indices = plan_.at(static_cast<size_t>(index));
  const auto batch = make_qa_batch(train_, indices, pad_id_, cfg_.data.max_context_tokens);
  auto [start, end] = reader_->forward(batch);
  // Questions whose answer was cut off with the context have target -1 and no loss.
  const auto options =
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1).reduction(torch::kSum);
  const auto start_target = batch.start.to(device_);
  const auto end_target = batch.end.to(device_);
  const int64_t n = (batch.start >= 0).sum().item<int64_t>();
  const auto loss = (torch::nn::functional::cross_entropy(start, start_target, options) +
                     torch::nn::functional::cross_entropy(end, end_target, options)) /
                    static_cast<double>(std::max<int64_t>(1, n));
  loss.backward();
  return {loss.item<double>() * static_cast<double>(n), n};
}

EvalResult QaTask::evaluate() {
  // With W processes, rank r answers its contiguous share of the dev questions; the per-question
  // scores (0 where a rank has no answer) are added up across the ranks, and every rank then sums
  // them in the file's order, as one process does, so the figures agree to the last bit.
  auto& world = dist::world();
  const auto predictions =
      predict_spans(reader_, dev_, pad_id_, cfg_.train.eval_batch_size,
                    cfg_.decode.max_answer_tokens, /*nbest=*/1, {world.rank(), world.size()});
  auto scores = score_questions(dev_data_, best_answers(predictions));
  if (world.size() > 1) {
    const size_t n = scores.exact.size();
    std::vector<double> all(scores.exact);
    all.insert(all.end(), scores.f1.begin(), scores.f1.end());
    all.insert(all.end(), scores.answered.begin(), scores.answered.end());
    all = world.all_reduce_sum(all);
    scores.exact.assign(all.begin(), all.begin() + n);
    scores.f1.assign(all.begin() + n, all.begin() + 2 * n);
    scores.answered.assign(all.begin() + 2 * n, all.end());
  }
  const auto score = total_score(scores);
  EvalResult result;
  result.metrics = {
      {"exact_match", score.exact_match}, {"f1", score.f1}, {"questions", score.questions}};
  result.score = score.f1;
  result.higher_is_better = true;
  return result;
}

}  // namespace lstmnlp::qa
