#pragma once

// The extractive reader of lstm-qa, after DrQA's document reader (Chen et al. 2017):
//
//   context piece i:  x_i = [E(p_i); Σ_j a_ij E(q_j); f_i]      a_ij ∝ exp(α(E p_i)·α(E q_j))
//   passage:          P = BiLSTM^L(x), the L layers' outputs concatenated
//   question:         Q = BiLSTM^L(E q), summarised as q = Σ_j b_j Q_j,  b_j ∝ exp(w·Q_j)
//   pointers:         start_i = P_i W_s q,  end_i = P_i W_e q
//
// E is a subword embedding trained from scratch, α a ReLU layer, f_i the exact-match and
// term-frequency features of datasets/squad_features.h. Padding never enters a recurrence (the
// custom LSTM takes lengths; torch::nn::LSTM runs on packed sequences) and gets -inf scores.
//
//   QaReader reader(cfg, /*vocab_size=*/16000, /*pad_id=*/0);
//   auto [start, end] = reader->forward(batch);   // each (B, T) logits

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "datasets/squad_features.h"
#include "models/lstm.h"
#include "models/qa/qa_config.h"

namespace lstmnlp::qa {

/// A stack of BiLSTM layers whose outputs can be concatenated (DrQA's StackedBRNN).
class StackedBiLstmImpl : public torch::nn::Module {
 public:
  StackedBiLstmImpl(int64_t input_size, int64_t hidden_size, int64_t layers, bool use_torch,
                    double dropout, bool concat_layers);

  /// input (T, B, F), lengths (B) int64 on the CPU. Returns (T, B, output_size()), zero at
  /// padded steps.
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& lengths);

  int64_t output_size() const;

 private:
  int64_t hidden_size_;
  bool concat_layers_;
  double dropout_;
  std::vector<LSTM> custom_;
  std::vector<torch::nn::LSTM> torch_;
};

TORCH_MODULE(StackedBiLstm);

/// The time of one stage of a training step (QaReaderImpl::profile).
struct QaStageTime {
  std::string name;
  double forward_s = 0;
  double backward_s = 0;
};

/// See the file comment.
class QaReaderImpl : public torch::nn::Module {
 public:
  QaReaderImpl(const QaModelConfig& cfg, int64_t vocab_size, int64_t pad_id);

  /// Start and end logits (B, T) of every context piece, -inf at padded steps.
  std::pair<torch::Tensor, torch::Tensor> forward(const QaBatch& batch);

  /// Runs one forward and backward of `batch` stage by stage (embedding, the aligned question
  /// embedding, each BiLSTM, the pointers), each stage on detached inputs, and times each.
  std::vector<QaStageTime> profile(const QaBatch& batch);

  const QaModelConfig& config() const { return cfg_; }

 private:
  struct Embedded {
    torch::Tensor context;   // (T, B, E)
    torch::Tensor question;  // (Tq, B, E)
  };
  Embedded embed(const QaBatch& batch);
  /// [E(p); aligned question embedding; features] (T, B, F).
  torch::Tensor passage_input(const Embedded& embedded, const QaBatch& batch);
  std::pair<torch::Tensor, torch::Tensor> pointers(const torch::Tensor& passage,
                                                   const torch::Tensor& questions,
                                                   const QaBatch& batch);

  QaModelConfig cfg_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Linear align_{nullptr};
  StackedBiLstm context_rnn_{nullptr};
  StackedBiLstm question_rnn_{nullptr};
  torch::nn::Linear question_attention_{nullptr};
  torch::nn::Linear start_{nullptr};
  torch::nn::Linear end_{nullptr};
};

TORCH_MODULE(QaReader);

/// The number of parameters of QaReader(cfg, vocab_size, ...), computed without building it.
double reader_parameters(const QaModelConfig& cfg, int64_t vocab_size);

/// Throws InputError naming the model keys when the reader's parameters, `copies` times over
/// (4 to train, 1 to predict), cannot fit in this machine's memory. Call it before building one.
void check_reader_size(const QaModelConfig& cfg, int64_t vocab_size, int copies);

/// One answer span in pieces, inclusive, with its score log p_start + log p_end.
struct QaSpan {
  int64_t start = 0;
  int64_t end = 0;
  double score = 0;
};

/// The `nbest` best spans of one example with start <= end < start + max_tokens, best first,
/// from start and end log-probabilities over its `length` real pieces.
std::vector<QaSpan> best_spans(const float* log_start, const float* log_end, int64_t length,
                               int64_t max_tokens, int64_t nbest);

}  // namespace lstmnlp::qa
