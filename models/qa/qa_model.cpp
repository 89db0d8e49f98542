#include "models/qa/qa_model.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/model_size.h"

namespace lstmnlp::qa {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// (B, T) true at padded steps.
torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t steps, torch::Device device) {
  const auto l = lengths.to(device);
  return torch::arange(steps, l.options()).unsqueeze(0) >= l.unsqueeze(1);
}

}  // namespace

StackedBiLstmImpl::StackedBiLstmImpl(int64_t input_size, int64_t hidden_size, int64_t layers,
                                     bool use_torch, double dropout, bool concat_layers)
    : hidden_size_(hidden_size), concat_layers_(concat_layers), dropout_(dropout) {
  for (int64_t k = 0; k < layers; ++k) {
    const int64_t in = k == 0 ? input_size : 2 * hidden_size;
    const std::string name = "layer" + std::to_string(k);
    if (use_torch) {
      torch_.emplace_back(register_module(
          name, torch::nn::LSTM(torch::nn::LSTMOptions(in, hidden_size).bidirectional(true))));
    } else {
      custom_.emplace_back(
          register_module(name, LSTM(LSTMOptions(in, hidden_size).bidirectional(true))));
    }
  }
}

int64_t StackedBiLstmImpl::output_size() const {
  const auto layers = static_cast<int64_t>(std::max(custom_.size(), torch_.size()));
  return 2 * hidden_size_ * (concat_layers_ ? layers : 1);
}

torch::Tensor StackedBiLstmImpl::forward(const torch::Tensor& input, const torch::Tensor& lengths) {
  const auto layers = std::max(custom_.size(), torch_.size());
  std::vector<torch::Tensor> outputs;
  torch::Tensor x = input;
  for (size_t k = 0; k < layers; ++k) {
    x = torch::dropout(x, dropout_, is_training());
    if (!custom_.empty()) {
      x = std::get<0>(custom_[k]->forward(x, std::nullopt, lengths));
    } else {
      auto packed = torch::nn::utils::rnn::pack_padded_sequence(x, lengths, /*batch_first=*/false,
                                                                /*enforce_sorted=*/false);
      auto [packed_out, state] = torch_[k]->forward_with_packed_input(packed);
      x = std::get<0>(torch::nn::utils::rnn::pad_packed_sequence(
          packed_out, /*batch_first=*/false, /*padding_value=*/0.0, /*total_length=*/x.size(0)));
    }
    outputs.push_back(x);
  }
  return concat_layers_ ? torch::cat(outputs, /*dim=*/2) : outputs.back();
}

double reader_parameters(const QaModelConfig& cfg, int64_t vocab_size) {
  const double embedding = static_cast<double>(cfg.embedding_dim);
  const double hidden = static_cast<double>(cfg.hidden_size);
  double parameters = static_cast<double>(vocab_size) * embedding;
  double context_input = embedding;
  if (cfg.aligned_embedding) {
    parameters += embedding * embedding + embedding;  // align
    context_input += embedding;
  }
  if (cfg.match_features) context_input += kQaFeatures;
  // A StackedBiLstm's parameters and output width.
  const auto stack = [&](double input, int64_t layers) {
    for (int64_t k = 0; k < layers; ++k) {
      parameters += lstm_layer_parameters(k == 0 ? input : 2.0 * hidden, hidden, /*directions=*/2);
    }
    return 2.0 * hidden * static_cast<double>(cfg.concat_layers ? layers : 1);
  };
  const double p = stack(context_input, cfg.context_layers);
  const double q = stack(embedding, cfg.question_layers);
  return parameters + (q + 1.0) + 2.0 * (q * p + p);  // question_attention, start, end
}

void check_reader_size(const QaModelConfig& cfg, int64_t vocab_size, int copies) {
  check_parameter_memory(reader_parameters(cfg, vocab_size), copies,
                         "model.embedding_dim=" + std::to_string(cfg.embedding_dim) +
                             ", model.hidden_size=" + std::to_string(cfg.hidden_size) +
                             ", model.context_layers=" + std::to_string(cfg.context_layers) +
                             ", model.question_layers=" + std::to_string(cfg.question_layers) +
                             " (vocabulary " + std::to_string(vocab_size) + ")");
}

QaReaderImpl::QaReaderImpl(const QaModelConfig& cfg, int64_t vocab_size, int64_t pad_id)
    : cfg_(cfg) {
  TORCH_CHECK(vocab_size > 0, "vocab_size must be positive, got ", vocab_size);
  TORCH_CHECK(pad_id < vocab_size, "pad_id ", pad_id, " is outside the vocabulary of ", vocab_size);
  auto embedding_options = torch::nn::EmbeddingOptions(vocab_size, cfg.embedding_dim);
  if (pad_id >= 0) embedding_options.padding_idx(pad_id);
  embedding_ = register_module("embedding", torch::nn::Embedding(embedding_options));
  int64_t context_input = cfg.embedding_dim;
  if (cfg.aligned_embedding) {
    align_ = register_module("align", torch::nn::Linear(cfg.embedding_dim, cfg.embedding_dim));
    context_input += cfg.embedding_dim;
  }
  if (cfg.match_features) context_input += kQaFeatures;
  const bool use_torch = cfg.lstm == LstmBackend::kTorch;
  context_rnn_ = register_module(
      "context_rnn", StackedBiLstm(context_input, cfg.hidden_size, cfg.context_layers, use_torch,
                                   cfg.dropout, cfg.concat_layers));
  question_rnn_ = register_module(
      "question_rnn", StackedBiLstm(cfg.embedding_dim, cfg.hidden_size, cfg.question_layers,
                                    use_torch, cfg.dropout, cfg.concat_layers));
  const int64_t p = context_rnn_->output_size();
  const int64_t q = question_rnn_->output_size();
  question_attention_ = register_module("question_attention", torch::nn::Linear(q, 1));
  start_ = register_module("start", torch::nn::Linear(q, p));
  end_ = register_module("end", torch::nn::Linear(q, p));
}

QaReaderImpl::Embedded QaReaderImpl::embed(const QaBatch& batch) {
  const auto device = embedding_->weight.device();
  const double p = cfg_.embedding_dropout;
  return {torch::dropout(embedding_(batch.context.to(device)), p, is_training()),
          torch::dropout(embedding_(batch.question.to(device)), p, is_training())};
}

torch::Tensor QaReaderImpl::passage_input(const Embedded& embedded, const QaBatch& batch) {
  const auto device = embedded.context.device();
  std::vector<torch::Tensor> inputs{embedded.context};
  if (align_) {
    const auto question_pad =
        padding_mask(batch.question_lengths, embedded.question.size(0), device);  // (B, Tq)
    const auto c = torch::relu(align_(embedded.context)).transpose(0, 1);         // (B, T, E)
    const auto q = torch::relu(align_(embedded.question)).transpose(0, 1);        // (B, Tq, E)
    auto scores = torch::bmm(c, q.transpose(1, 2));                               // (B, T, Tq)
    scores = scores.masked_fill(question_pad.unsqueeze(1), kNegInf);
    const auto weights = torch::softmax(scores, /*dim=*/2);
    inputs.push_back(torch::bmm(weights, embedded.question.transpose(0, 1)).transpose(0, 1));
  }
  if (cfg_.match_features) inputs.push_back(batch.features.to(device));
  return torch::cat(inputs, /*dim=*/2);
}

std::pair<torch::Tensor, torch::Tensor> QaReaderImpl::pointers(const torch::Tensor& passage,
                                                               const torch::Tensor& questions,
                                                               const QaBatch& batch) {
  const auto device = passage.device();
  const auto context_pad = padding_mask(batch.context_lengths, passage.size(0), device);  // (B, T)
  const auto question_pad = padding_mask(batch.question_lengths, questions.size(0), device);
  auto attention = question_attention_(questions).squeeze(2).transpose(0, 1);  // (B, Tq)
  attention = torch::softmax(attention.masked_fill(question_pad, kNegInf), /*dim=*/1);
  const auto summary = torch::bmm(attention.unsqueeze(1), questions.transpose(0, 1)).squeeze(1);
  const auto passage_b = passage.transpose(0, 1);                               // (B, T, Dp)
  auto start = torch::bmm(passage_b, start_(summary).unsqueeze(2)).squeeze(2);  // (B, T)
  auto end = torch::bmm(passage_b, end_(summary).unsqueeze(2)).squeeze(2);
  return {start.masked_fill(context_pad, kNegInf), end.masked_fill(context_pad, kNegInf)};
}

std::pair<torch::Tensor, torch::Tensor> QaReaderImpl::forward(const QaBatch& batch) {
  const auto embedded = embed(batch);
  const auto passage = context_rnn_(passage_input(embedded, batch), batch.context_lengths);
  const auto questions = question_rnn_(embedded.question, batch.question_lengths);  // (Tq, B, Dq)
  return pointers(passage, questions, batch);
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

torch::Tensor leaf(const torch::Tensor& t) { return t.detach().requires_grad_(true); }

// Times f() (forward) and then the backward of the sum of its outputs weighted by fixed random
// gradients, as one training step would.
template <class F>
QaStageTime time_stage(const std::string& name, F&& f) {
  auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> outputs = f();
  QaStageTime t{name, seconds_since(start), 0};
  torch::Tensor total;
  for (const auto& out : outputs) {
    const auto term = (out.masked_fill(torch::isinf(out), 0) * torch::rand_like(out)).sum();
    total = total.defined() ? total + term : term;
  }
  start = std::chrono::steady_clock::now();
  total.backward();
  t.backward_s = seconds_since(start);
  return t;
}

}  // namespace

std::vector<QaStageTime> QaReaderImpl::profile(const QaBatch& batch) {
  std::vector<QaStageTime> times;
  Embedded embedded;
  times.push_back(time_stage("embedding", [&] {
    embedded = embed(batch);
    return std::vector<torch::Tensor>{embedded.context, embedded.question};
  }));
  const Embedded inputs{leaf(embedded.context), leaf(embedded.question)};
  torch::Tensor passage_in;
  times.push_back(time_stage("aligned question embedding and features", [&] {
    passage_in = passage_input(inputs, batch);
    return std::vector<torch::Tensor>{passage_in};
  }));
  torch::Tensor passage;
  times.push_back(time_stage("passage BiLSTM", [&] {
    passage = context_rnn_(leaf(passage_in), batch.context_lengths);
    return std::vector<torch::Tensor>{passage};
  }));
  torch::Tensor questions;
  times.push_back(time_stage("question BiLSTM", [&] {
    questions = question_rnn_(inputs.question, batch.question_lengths);
    return std::vector<torch::Tensor>{questions};
  }));
  times.push_back(time_stage("question summary and pointers", [&] {
    auto [start, end] = pointers(leaf(passage), leaf(questions), batch);
    return std::vector<torch::Tensor>{start, end};
  }));
  return times;
}

std::vector<QaSpan> best_spans(const float* log_start, const float* log_end, int64_t length,
                               int64_t max_tokens, int64_t nbest) {
  std::vector<QaSpan> spans;
  if (nbest <= 1) {
    QaSpan best{0, 0, -std::numeric_limits<double>::infinity()};
    for (int64_t i = 0; i < length; ++i) {
      const int64_t last = std::min(length, i + max_tokens);
      for (int64_t j = i; j < last; ++j) {
        const double score = static_cast<double>(log_start[i]) + log_end[j];
        if (score > best.score) best = {i, j, score};
      }
    }
    if (length > 0) spans.push_back(best);
    return spans;
  }
  for (int64_t i = 0; i < length; ++i) {
    const int64_t last = std::min(length, i + max_tokens);
    for (int64_t j = i; j < last; ++j) {
      spans.push_back({i, j, static_cast<double>(log_start[i]) + log_end[j]});
    }
  }
  const auto keep = std::min<size_t>(spans.size(), static_cast<size_t>(nbest));
  std::partial_sort(spans.begin(), spans.begin() + static_cast<std::ptrdiff_t>(keep), spans.end(),
                    [](const QaSpan& a, const QaSpan& b) { return a.score > b.score; });
  spans.resize(keep);
  return spans;
}

}  // namespace lstmnlp::qa
